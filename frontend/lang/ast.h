// The syntax tree of one .tc statement.
//
// Tensor expressions and attribute values share one Expr type because a parenthesis means
// either grouping `(a @ b)` or a tuple `(2, -1)`, and a call's positional arguments may be
// either; semantic analysis decides what each position needs. A minus sign before a number is
// part of the literal (`-1` is the integer -1, as an attribute value needs it).
#pragma once
#include "source.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tcc::lang {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Keyword {
  std::string name;
  Span name_span;
  ExprPtr value;
};

enum class ExprKind {
  name,           // text = the name
  call,           // text = op name (maybe unknown), name_span, items = positional, keywords
  chain,          // operators of one precedence level, left-associative: items = operands
                  // (>= 2), ops[i] = the spelling ("@", "*", "+", ...) between items i and i+1,
                  // op_spans[i] its token. `a @ b * c` is one flat node.
  negate,         // unary minus of a non-literal: items[0]; name_span = the '-'
  integer,        // integer
  floating,       // number
  boolean,        // boolean
  none,
  string,         // text = contents
  tuple,          // items
  list,           // items
};

struct Expr {
  ExprKind kind = ExprKind::none;
  Span span;  // the whole expression (for a call: from the op name to the ')')
  std::string text;
  int64_t integer = 0;
  double number = 0;
  bool boolean = false;
  Span name_span;
  std::vector<ExprPtr> items;
  std::vector<Keyword> keywords;
  std::vector<std::string> ops;
  std::vector<Span> op_spans;

  // Whether the expression denotes a tensor (a name, call or operator expression), as opposed
  // to a literal value.
  bool is_tensor_syntax() const {
    return kind == ExprKind::name || kind == ExprKind::call || kind == ExprKind::chain || kind == ExprKind::negate;
  }
  bool is_number() const { return kind == ExprKind::integer || kind == ExprKind::floating; }
};

// One entry of `DTYPE[...]`: an integer or (not supported yet) a symbolic name.
struct DimEntry {
  bool is_integer = true;
  int64_t value = 0;
  std::string name;
  Span span;
};

struct NameRef {
  std::string name;
  Span span;
};

enum class StmtKind { input, binding, output };

struct Stmt {
  StmtKind kind = StmtKind::binding;
  Span span;                   // the whole statement
  NameRef name;                // input / binding
  NameRef dtype;               // input
  std::vector<DimEntry> dims;  // input
  Span shape_span;             // input: from the dtype to ']'
  ExprPtr value;               // binding
  std::vector<NameRef> outputs;  // output
};

}  // namespace tcc::lang
