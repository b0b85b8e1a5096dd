// The functions a .tc file may call and the operators it may write, read from the two op
// tables: the graph op table's callable rows (ir/graph/ops.h: dot, matmul, ...) and one row per
// element-wise function (ir/elementwise.h: add, relu, gelu, ...), the latter in the op table's
// row type so that sema checks every call's arguments and keywords alike. Nothing here lists
// functions by hand except keyword_variants().
#pragma once
#include <tcc/graph.h>

#include "ir/elementwise.h"
#include "ir/graph/ops.h"

#include <optional>
#include <string_view>
#include <vector>

namespace tcc::lang {

// An element-wise function that .tc spells as another one with a boolean keyword:
// gelu(x, approximate=true) is the table's gelu_tanh. `when_true` has no .tc name of its own.
struct KeywordVariant {
  ir::ElemOp base;
  std::string_view keyword;
  ir::ElemOp when_true;
};
const std::vector<KeywordVariant>& keyword_variants();

// A function the C++ API builds from graph ops (the reductions, softmax, bias_add): its .tc
// signature (tensors, then `axis`, `keepdims` or `dtype` where it takes them) and its builder,
// which gets the tensors and those attributes as written (nullopt: left out, the builder's
// default).
struct LibraryArgs {
  std::optional<Axes> axis;
  bool keepdims = false;
  std::optional<DType> dtype;
};
struct LibraryFunction {
  ir::OpInfo row;
  Value (*build)(const std::vector<Value>& tensors, const LibraryArgs& args);
};
const std::vector<LibraryFunction>& library_functions();
const LibraryFunction* find_library_function(std::string_view name);

// Every function of the language, in table order (graph ops, element-wise functions, library
// functions).
const std::vector<ir::OpInfo>& tc_functions();
const ir::OpInfo* find_tc_function(std::string_view name);

// The element-wise function a call of `fn` (an OpKind::elementwise row) computes, given which
// of its boolean keywords are true (flags[j] for fn.attrs[j]).
ir::ElemOp elem_op_of_call(const ir::OpInfo& fn, const std::vector<bool>& flags);

// The element-wise function an operator spells: ("+", 2) is add, ("-", 1) is neg; nullopt
// for '@' (a contraction: np::matmul) and anything else.
std::optional<ir::ElemOp> elem_operator(std::string_view spelling, int arity);

}  // namespace tcc::lang
