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

// A reduction's row: f(x, axis=none, keepdims=false).
ir::OpInfo reduction_row(std::string_view name) {
  return {.kind = ir::OpKind::reduce, .name = name, .op_class = ir::OpClass::reduction, .callable = true, .tensors = {"x"},
          .attrs = {{"axis", ir::AttrKind::axes_or_none, "none"}, {"keepdims", ir::AttrKind::boolean, "false"}}};
}

}  // namespace

const std::vector<LibraryFunction>& library_functions() {
  static const std::vector<LibraryFunction> functions = [] {
    std::vector<LibraryFunction> f;
    // The reductions by the table's combining functions (sum, max, min, logsumexp), and mean.
    for (const ir::ElemOpInfo& info : ir::elem_op_table()) {
      if (ir::reduction_name(info.op).empty()) continue;
      Value (*build)(const std::vector<Value>&, const LibraryArgs&) = nullptr;
      switch (info.op) {
        case ir::ElemOp::add: build = [](const std::vector<Value>& t, const LibraryArgs& a) { return tcc::sum(t[0], a.axis.value_or(Axes()), a.keepdims); }; break;
        case ir::ElemOp::maximum: build = [](const std::vector<Value>& t, const LibraryArgs& a) { return tcc::max(t[0], a.axis.value_or(Axes()), a.keepdims); }; break;
        case ir::ElemOp::minimum: build = [](const std::vector<Value>& t, const LibraryArgs& a) { return tcc::min(t[0], a.axis.value_or(Axes()), a.keepdims); }; break;
        case ir::ElemOp::logaddexp:
          build = [](const std::vector<Value>& t, const LibraryArgs& a) { return tcc::logsumexp(t[0], a.axis.value_or(Axes()), a.keepdims); };
          break;
        default: throw InternalError("tc language: no builder for the reduction " + std::string(ir::reduction_name(info.op)));
      }
      f.push_back({reduction_row(ir::reduction_name(info.op)), build});
    }
    f.push_back({reduction_row("mean"), [](const std::vector<Value>& t, const LibraryArgs& a) { return tcc::mean(t[0], a.axis.value_or(Axes()), a.keepdims); }});
    ir::OpInfo softmax{.kind = ir::OpKind::reduce, .name = "softmax", .op_class = ir::OpClass::reduction, .callable = true,
                       .tensors = {"x"}, .attrs = {{"axis", ir::AttrKind::axes, "-1"}}};
    f.push_back({softmax, [](const std::vector<Value>& t, const LibraryArgs& a) {
                   if (a.axis && !a.axis->is_int()) throw ArgumentError("softmax: axis must be an integer, got " + a.axis->str());
                   return tcc::softmax(t[0], a.axis ? a.axis->value() : -1);
                 }});
    ir::OpInfo bias_add{.kind = ir::OpKind::elementwise, .name = "bias_add", .op_class = ir::OpClass::other,
                        .callable = true, .tensors = {"x", "b"}};
    f.push_back({bias_add, [](const std::vector<Value>& t, const LibraryArgs&) { return tcc::bias_add(t[0], t[1]); }});
    ir::OpInfo cast{.kind = ir::OpKind::elementwise, .name = "cast", .op_class = ir::OpClass::other, .callable = true,
                    .tensors = {"x"}, .attrs = {{"dtype", ir::AttrKind::dtype, ""}}};
    f.push_back({cast, [](const std::vector<Value>& t, const LibraryArgs& a) { return tcc::cast(t[0], *a.dtype); }});
    return f;
  }();
  return functions;
}

const LibraryFunction* find_library_function(std::string_view name) {
  for (const LibraryFunction& fn : library_functions())
    if (fn.row.name == name) return &fn;
  return nullptr;
}

const std::vector<ir::OpInfo>& tc_functions() {
  static const std::vector<ir::OpInfo> functions = [] {
    std::vector<ir::OpInfo> f;
    for (const ir::OpInfo& op : ir::op_table())
      if (op.callable) f.push_back(op);
    // cast takes a dtype, which the language has no attribute kind for yet.
    for (const ir::ElemOpInfo& info : ir::elem_op_table())
      if (!is_variant_target(info.op) && info.op != ir::ElemOp::cast) f.push_back(elementwise_row(info));
    for (const LibraryFunction& fn : library_functions()) f.push_back(fn.row);
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
