#include "ir/graph/ops.h"

#include <tcc/error.h>

#include <string>

namespace tcc::ir {

const std::vector<OpInfo>& op_table() {
  static const std::vector<OpInfo> table = [] {
    using C = OpClass;
    using A = AttrKind;
    std::vector<OpInfo> t{
        {.kind = OpKind::input, .name = "input", .op_class = C::source},
        {.kind = OpKind::constant, .name = "constant", .op_class = C::source},
        {.kind = OpKind::dot, .name = "dot", .op_class = C::contraction, .callable = true, .tensors = {"x", "y"}},
        {.kind = OpKind::batch_dot,
         .name = "batch_dot",
         .op_class = C::contraction,
         .callable = true,
         .tensors = {"x", "y"},
         .attrs = {{"axes", A::axes_or_none, "none"}, {"legacy", A::boolean, "false"}}},
        {.kind = OpKind::matmul,
         .name = "matmul",
         .op_class = C::contraction,
         .callable = true,
         .tensors = {"a", "b"},
         .attrs = {{"transpose_a", A::boolean, "false"},
                   {"transpose_b", A::boolean, "false"},
                   {"adjoint_a", A::boolean, "false"},
                   {"adjoint_b", A::boolean, "false"}}},
        {.kind = OpKind::np_matmul, .name = "np_matmul", .spelling = "@", .op_class = C::contraction},
        {.kind = OpKind::tensordot,
         .name = "tensordot",
         .op_class = C::contraction,
         .callable = true,
         .tensors = {"x", "y"},
         .attrs = {{"axes", A::axes, "2"}}},
        {.kind = OpKind::einsum, .name = "einsum", .op_class = C::contraction, .callable = true, .variadic = true},
        {.kind = OpKind::transpose,
         .name = "transpose",
         .op_class = C::contraction,
         .callable = true,
         .tensors = {"x"},
         .attrs = {{"perm", A::perm, "none"}}},
        {.kind = OpKind::reshape,
         .name = "reshape",
         .op_class = C::view,
         .callable = true,
         .tensors = {"x"},
         .attrs = {{"shape", A::shape, ""}}},
        // Its functions, and their .tc names, are elem_op_table()'s rows.
        {.kind = OpKind::elementwise, .name = "elementwise", .op_class = C::elementwise},
        {.kind = OpKind::reduce, .name = "reduce", .op_class = C::reduction},
    };
    for (std::size_t i = 0; i < t.size(); ++i)
      if (static_cast<std::size_t>(t[i].kind) != i) throw InternalError("op table rows are not in OpKind order");
    return t;
  }();
  return table;
}

const OpInfo& op_info(OpKind op) { return op_table().at(static_cast<std::size_t>(op)); }

const OpInfo* find_callable_op(std::string_view name) {
  for (const OpInfo& info : op_table())
    if (info.callable && info.name == name) return &info;
  return nullptr;
}

std::string_view op_name(OpKind op) { return op_info(op).name; }
std::string_view op_spelling(OpKind op) {
  const OpInfo& info = op_info(op);
  return info.spelling.empty() ? info.name : info.spelling;
}
bool is_contraction(OpKind op) { return op_info(op).op_class == OpClass::contraction; }
bool is_elementwise(OpKind op) { return op_info(op).op_class == OpClass::elementwise; }
bool is_reduction(OpKind op) { return op_info(op).op_class == OpClass::reduction; }

}  // namespace tcc::ir
