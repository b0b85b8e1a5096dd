#include "functions.h"

#include <tcc/error.h>

#include <string>

namespace tcc::lang {

const std::vector<KeywordVariant>& keyword_variants() {
  static const std::vector<KeywordVariant> variants = {{ir::ElemOp::gelu, "approximate", ir::ElemOp::gelu_tanh}};
  return variants;
}

namespace {

bool is_variant_target(ir::ElemOp op) {
  for (const KeywordVariant& v : keyword_variants())
    if (v.when_true == op) return true;
  return false;
}

// An element-wise function as a .tc signature: f(x) or f(x, y), plus its variants' keywords.
ir::OpInfo elementwise_row(const ir::ElemOpInfo& info) {
  ir::OpInfo row{.kind = ir::OpKind::elementwise, .name = info.name, .op_class = ir::OpClass::elementwise, .callable = true};
  row.tensors = info.arity == 1 ? std::vector<std::string_view>{"x"} : std::vector<std::string_view>{"x", "y"};
  for (const KeywordVariant& v : keyword_variants())
    if (v.base == info.op) row.attrs.push_back({v.keyword, ir::AttrKind::boolean, "false"});
  return row;
}

}  // namespace

const std::vector<ir::OpInfo>& tc_functions() {
  static const std::vector<ir::OpInfo> functions = [] {
    std::vector<ir::OpInfo> f;
    for (const ir::OpInfo& op : ir::op_table())
      if (op.callable) f.push_back(op);
    for (const ir::ElemOpInfo& info : ir::elem_op_table())
      if (!is_variant_target(info.op)) f.push_back(elementwise_row(info));
    return f;
  }();
  return functions;
}

const ir::OpInfo* find_tc_function(std::string_view name) {
  for (const ir::OpInfo& fn : tc_functions())
    if (fn.name == name) return &fn;
  return nullptr;
}

ir::ElemOp elem_op_of_call(const ir::OpInfo& fn, const std::vector<bool>& flags) {
  std::optional<ir::ElemOp> op = ir::find_elem_op(fn.name);
  if (!op) throw InternalError("tc language: '" + std::string(fn.name) + "' is not an element-wise function");
  for (std::size_t j = 0; j < fn.attrs.size() && j < flags.size(); ++j) {
    if (!flags[j]) continue;
    for (const KeywordVariant& v : keyword_variants())
      if (v.base == *op && v.keyword == fn.attrs[j].name) op = v.when_true;
  }
  return *op;
}

std::optional<ir::ElemOp> elem_operator(std::string_view spelling, int arity) {
  for (const ir::ElemOpInfo& info : ir::elem_op_table())
    if (info.arity == arity && info.spelling == spelling) return info.op;
  return std::nullopt;
}

}  // namespace tcc::lang
