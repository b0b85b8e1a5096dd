// The op table: every fact about a graph op in one row (its kind, its name in the graph IR
// and in .tc files, how users spell it in messages, whether it is a contraction, and its
// signature in the .tc language). The lexer, sema and the graph IR all read it. A new row is
// not a contraction unless it says so.
#pragma once
#include <string_view>
#include <vector>

namespace tcc::ir {

enum class OpKind {
  input,      // a named placeholder
  constant,   // data held by the node
  dot,        // every contraction op carries an IndexSpec
  batch_dot,
  matmul,
  np_matmul,  // NumPy's `a @ b`
  tensordot,
  einsum,
  transpose,
  reshape,    // carries only the target shape
  elementwise,  // an ElemOp (ir/elementwise.h) of operands broadcast NumPy-style (an IndexSpec)
  reduce,       // sum, max or min (an ElemOp combining elements) over the summed dims of an IndexSpec
};

// source: input, constant. contraction: carries an IndexSpec (canonicalize_contractions).
// view: a new shape of the same data. elementwise: one function per element, operands
// broadcast (an IndexSpec that sums nothing). other: the default for a new op.
enum class OpClass { other, source, contraction, view, elementwise, reduction };

// The value kinds of attributes in the .tc language.
enum class AttrKind { axes_or_none, axes, boolean, perm, shape, dtype };

struct AttrSpec {
  std::string_view name;
  AttrKind kind;
  std::string_view default_text;  // empty: required
};

struct OpInfo {
  OpKind kind;
  std::string_view name;      // in the graph IR, and the .tc function name when `callable`
  std::string_view spelling;  // how messages name it (`@` for np_matmul); empty: `name`
  OpClass op_class = OpClass::other;
  bool callable = false;                  // a function of the .tc language
  std::vector<std::string_view> tensors;  // leading positional tensor parameters
  std::vector<AttrSpec> attrs;            // then attributes, positionally or by keyword
  bool variadic = false;                  // einsum("spec", x, ...): a spec, then any tensors
};

const std::vector<OpInfo>& op_table();
const OpInfo& op_info(OpKind op);
// The callable op of this .tc name, or null.
const OpInfo* find_callable_op(std::string_view name);
std::string_view op_name(OpKind op);
std::string_view op_spelling(OpKind op);
bool is_contraction(OpKind op);
bool is_elementwise(OpKind op);
bool is_reduction(OpKind op);

}  // namespace tcc::ir
