// Graph, Value and the op wrappers: check dtypes, apply the shape rule, intern the node.
#include <tcc/graph.h>

#include "frontend/graph_access.h"
#include "frontend/shape_rules.h"
#include "ir/graph/graph_ir.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

namespace tcc {

using ir::Node;
using ir::OpKind;

Graph::Graph() : ir_(std::make_unique<ir::GraphIR>()) {}
Graph::~Graph() = default;

Value Graph::value(int node_id) {
  if (node_id < 0 || node_id >= ir_->size()) throw ArgumentError(fmt::format("no node %{} in this graph", node_id));
  return Value(this, node_id);
}

void Graph::warn(int node_id, std::string message) { warnings_.push_back({node_id, std::move(message)}); }

std::vector<Warning> Graph::take_warnings() { return std::exchange(warnings_, {}); }

Value Graph::input(const std::string& name, DType dtype, Shape shape) { return input(name, dtype, std::move(shape), {}); }

Value Graph::input(const std::string& name, DType dtype, Shape shape, std::vector<int64_t> strides) {
  if (name.empty()) throw ArgumentError("input: the name must not be empty");
  if (ir_->find_input(name) >= 0) throw ArgumentError(fmt::format("input: '{}' is already defined", name));
  checked_static_numel(shape);
  Node n;
  n.op = OpKind::input;
  n.name = name;
  n.dtype = dtype;
  if (!strides.empty()) {
    if (has_symbols(shape))
      throw ArgumentError(fmt::format("input '{}': a strided input has a static shape, not {}", name, shape_str(shape)));
    checked_span(shape, strides);
    n.attrs = fmt::format("strides=({})", fmt::join(strides, ", "));
    n.strides = std::move(strides);
  }
  n.shape = std::move(shape);
  return Value(this, ir_->add(std::move(n)));
}

Shape InputInfo::feed_shape() const { return strides.empty() ? shape : Shape{checked_span(shape, strides)}; }

Value Graph::constant(const Tensor& value) {
  if (!value.defined()) throw ArgumentError("constant: the tensor is empty (default-constructed)");
  Node n;
  n.op = OpKind::constant;
  n.dtype = value.dtype();
  n.shape = value.shape();
  n.data = value.clone();
  return Value(this, ir_->add(std::move(n)));
}

std::vector<InputInfo> Graph::inputs() const {
  std::vector<InputInfo> out;
  for (int id = 0; id < ir_->size(); ++id) {
    const Node& n = ir_->node(id);
    if (n.op == OpKind::input) out.push_back({n.name, n.dtype, n.shape, n.strides});
  }
  return out;
}

DType Value::dtype() const { return detail::graph_ir(graph()).node(id_).dtype; }
const Shape& Value::shape() const { return detail::graph_ir(graph()).node(id_).shape; }
Graph& Value::graph() const {
  if (!graph_) throw ArgumentError("use of an empty tcc::Value");
  return *graph_;
}

namespace {

// Common checks of every op: same graph, same dtype; returns that graph.
Graph& operands_graph(std::string_view op, const std::vector<Value>& operands,
                      const std::vector<std::string_view>& names) {
  if (operands.empty()) throw ArgumentError(fmt::format("{}: needs at least one operand", op));
  for (const Value& v : operands)
    if (!v.valid()) throw ArgumentError(fmt::format("{}: an operand is an empty tcc::Value", op));
  Graph& g = operands[0].graph();
  for (const Value& v : operands)
    if (&v.graph() != &g) throw ArgumentError(fmt::format("{}: operands come from different graphs", op));
  for (size_t i = 1; i < operands.size(); ++i)
    if (operands[i].dtype() != operands[0].dtype())
      throw DTypeError(fmt::format("{}: operands must have the same dtype, but are {} ({}) and {} ({})", op,
                                   dtype_name(operands[0].dtype()), names[0], dtype_name(operands[i].dtype()),
                                   names[std::min(i, names.size() - 1)]));
  return g;
}

Value add_contraction(OpKind op, const std::vector<Value>& operands, std::vector<std::string_view> names,
                      std::string attrs, const std::function<rules::RuleResult(const std::vector<Shape>&)>& rule) {
  const std::string_view op_label = ir::op_spelling(op);
  Graph& g = operands_graph(op_label, operands, names);
  std::vector<Shape> shapes;
  for (const Value& v : operands) shapes.push_back(v.shape());
  rules::RuleResult r = rule(shapes);
  try {
    checked_static_numel(r.shape);
  } catch (const ShapeError& e) {
    throw ShapeError(fmt::format("{}: the result {}", op_label, e.what()));
  }
  Node n;
  n.op = op;
  for (const Value& v : operands) n.inputs.push_back(v.id());
  n.dtype = operands[0].dtype();
  n.shape = r.shape;
  n.attrs = std::move(attrs);
  n.spec = std::move(r.spec);
  n.constraints = std::move(r.constraints);
  Value out = g.value(detail::graph_ir(g).add(std::move(n)));
  for (std::string& w : r.warnings) detail::GraphAccess::warn(g, out.id(), std::move(w));
  return out;
}

std::string matmul_attrs(const MatmulFlags& f) {
  std::vector<std::string> s;
  if (f.transpose_a) s.push_back("transpose_a");
  if (f.transpose_b) s.push_back("transpose_b");
  if (f.adjoint_a) s.push_back("adjoint_a");
  if (f.adjoint_b) s.push_back("adjoint_b");
  return fmt::format("{}", fmt::join(s, " "));
}

}  // namespace

Value dot(const Value& x, const Value& y) {
  return add_contraction(OpKind::dot, {x, y}, {"x", "y"}, "",
                         [](const auto& s) { return rules::dot_rule(s[0], s[1]); });
}

Value batch_dot(const Value& x, const Value& y, const Axes& axes, std::optional<BatchDotConvention> chosen) {
  const BatchDotConvention convention = chosen.value_or(BatchDotConvention::modern);
  const bool legacy = convention == BatchDotConvention::legacy;
  std::string attrs = "axes=" + axes.str() + (legacy ? " legacy" : "");
  Value out = add_contraction(OpKind::batch_dot, {x, y}, {"x", "y"}, attrs,
                              [&](const auto& s) { return rules::batch_dot_rule(s[0], s[1], axes, convention); });
  if (!chosen)
    if (auto w = rules::batch_dot_convention_warning(x.shape(), y.shape(), axes))
      detail::GraphAccess::warn(out.graph(), out.id(), *w);
  return out;
}

Value matmul(const Value& a, const Value& b, MatmulFlags flags) {
  return add_contraction(OpKind::matmul, {a, b}, {"a", "b"}, matmul_attrs(flags),
                         [&](const auto& s) { return rules::matmul_rule(s[0], s[1], flags); });
}

Value np::matmul(const Value& a, const Value& b) {
  return add_contraction(OpKind::np_matmul, {a, b}, {"a", "b"}, "",
                         [](const auto& s) { return rules::np_matmul_rule(s[0], s[1]); });
}

Value tensordot(const Value& x, const Value& y, const Axes& axes) {
  return add_contraction(OpKind::tensordot, {x, y}, {"x", "y"}, "axes=" + axes.str(),
                         [&](const auto& s) { return rules::tensordot_rule(s[0], s[1], axes); });
}

Value einsum(const std::string& spec, const std::vector<Value>& operands) {
  std::vector<std::string> labels;
  for (size_t i = 0; i < operands.size(); ++i) labels.push_back(fmt::format("operand {}", i));
  std::vector<std::string_view> names(labels.begin(), labels.end());
  if (operands.empty()) throw ArgumentError("einsum: needs at least one operand");
  return add_contraction(OpKind::einsum, operands, names, fmt::format("\"{}\"", spec),
                         [&](const auto& s) { return rules::einsum_rule(spec, s); });
}

Value transpose(const Value& x, std::optional<std::vector<int64_t>> perm) {
  std::string attrs = perm ? fmt::format("perm=({})", fmt::join(*perm, ", ")) : "perm=None";
  return add_contraction(OpKind::transpose, {x}, {"x"}, attrs,
                         [&](const auto& s) { return rules::transpose_rule(s[0], perm); });
}

namespace {

// `result`: the result's dtype when it is not the operands' (cast).
Value add_elementwise(ir::ElemOp op, const std::vector<Value>& operands, std::optional<DType> result = std::nullopt) {
  const ir::ElemOpInfo& info = ir::elem_op_info(op);
  const std::string label(ir::elem_op_spelling(op));
  const std::vector<std::string> names = info.arity == 1 ? std::vector<std::string>{"x"} : std::vector<std::string>{"x", "y"};
  Graph& g = operands_graph(label, operands, {names.begin(), names.end()});
  const DType dtype = operands[0].dtype();
  if (!info.integers && !is_float(dtype))
    throw DTypeError(fmt::format("{}: takes float tensors (f32, f64), not {}{}; cast first", label, dtype_name(dtype),
                                 op == ir::ElemOp::div ? " (NumPy's true division would give f64)" : ""));
  std::vector<Shape> shapes;
  for (const Value& v : operands) shapes.push_back(v.shape());
  rules::RuleResult r = rules::elementwise_rule(label, names, shapes);
  Node n;
  n.op = OpKind::elementwise;
  n.elem = op;
  for (const Value& v : operands) n.inputs.push_back(v.id());
  n.dtype = result.value_or(dtype);
  if (result) n.attrs = fmt::format("to={}", dtype_name(*result));
  n.shape = r.shape;
  n.spec = std::move(r.spec);
  n.constraints = std::move(r.constraints);
  return g.value(detail::graph_ir(g).add(std::move(n)));
}

}  // namespace

namespace {

// Per axis of a reduction's operand, whether it is reduced (its loop dim is no output dim).
std::vector<bool> reduced_axes(const ir::IndexSpec& spec) {
  std::vector<bool> reduced;
  for (int d : spec.operands[0]) reduced.push_back(std::find(spec.out.begin(), spec.out.end(), d) == spec.out.end());
  return reduced;
}

Value add_reduction(ir::ElemOp combine, const Value& x, const Axes& axis, bool keepdims) {
  const std::string label(ir::reduction_name(combine));
  Graph& g = operands_graph(label, {x}, {"x"});
  rules::RuleResult r = rules::reduce_rule(label, x.shape(), axis, keepdims);
  const std::vector<bool> reduced = reduced_axes(r.spec);
  if (combine == ir::ElemOp::maximum || combine == ir::ElemOp::minimum)
    for (size_t a = 0; a < x.shape().size(); ++a) {
      if (reduced[a] && x.shape()[a] == 0)
        throw ShapeError(fmt::format("{}: x axis {} has size 0, and the {} of no elements has no value (NumPy: a "
                                     "zero-size reduction has no identity); x: {}",
                                     label, a, label, shape_str(x.shape())));
    }
  Node n;
  n.op = OpKind::reduce;
  n.elem = combine;
  n.inputs = {x.id()};
  n.dtype = x.dtype();
  n.shape = r.shape;
  n.attrs = fmt::format("axis={}{}", axis.str(), keepdims ? " keepdims" : "");
  n.spec = std::move(r.spec);
  n.constraints = std::move(r.constraints);
  return g.value(detail::graph_ir(g).add(std::move(n)));
}

}  // namespace

Value sum(const Value& x, const Axes& axis, bool keepdims) { return add_reduction(ir::ElemOp::add, x, axis, keepdims); }
Value max(const Value& x, const Axes& axis, bool keepdims) { return add_reduction(ir::ElemOp::maximum, x, axis, keepdims); }
Value min(const Value& x, const Axes& axis, bool keepdims) { return add_reduction(ir::ElemOp::minimum, x, axis, keepdims); }

Value mean(const Value& x, const Axes& axis, bool keepdims) {
  if (!is_float(x.dtype()))
    throw DTypeError(fmt::format("mean: takes float tensors (f32, f64), not {} (NumPy's mean of integers is a float); "
                                 "cast first", dtype_name(x.dtype())));
  Value total = sum(x, axis, keepdims);
  const std::vector<bool> reduced = reduced_axes(detail::graph_ir(total.graph()).node(total.id()).spec);
  double count = 1;  // the elements each sum adds up
  for (size_t a = 0; a < x.shape().size(); ++a) {
    if (!reduced[a]) continue;
    if (is_symbol(x.shape()[a]))
      throw ShapeError(fmt::format("mean: the symbolic x axis {} ({}) is reduced, and a mean over a size known only at "
                                   "run time is not supported; x: {}", a, dim_str(x.shape()[a]), shape_str(x.shape())));
    count *= static_cast<double>(x.shape()[a]);
  }
  return total / count;
}

Value softmax(const Value& x, int64_t axis) {
  if (!is_float(x.dtype()))
    throw DTypeError(fmt::format("softmax: takes float tensors (f32, f64), not {}; cast first", dtype_name(x.dtype())));
  // Two sweeps over x: logsumexp per row (its max, then the sum from cache), then e^(x - lse).
  // lse - lse adds 0, or NaN where lse is not finite: a row holding inf (or only -inf) is NaN
  // throughout, as Keras' exp(x - max) / sum gives it.
  Value lse = logsumexp(x, Axes(axis), /*keepdims=*/true);
  return exp(x - lse) + (lse - lse);
}

Value logsumexp(const Value& x, const Axes& axis, bool keepdims) {
  if (!is_float(x.dtype()))
    throw DTypeError(fmt::format("logsumexp: takes float tensors (f32, f64), not {}; cast first", dtype_name(x.dtype())));
  return add_reduction(ir::ElemOp::logaddexp, x, axis, keepdims);
}

Value bias_add(const Value& x, const Value& bias) {
  const Shape& xs = x.shape();
  const Shape& bs = bias.shape();
  const bool channels = bs.size() == 1 && !xs.empty() && bs[0] == xs.back();
  const bool trailing = !xs.empty() && bs.size() + 1 == xs.size() && bs.size() > 1 && std::equal(bs.begin(), bs.end(), xs.begin() + 1);
  if (!channels && !trailing)
    throw ShapeError(fmt::format("bias_add: the bias must have shape (C,) for x's last dim C, or x's shape without its "
                                 "first axis, but is {}; x: {}", shape_str(bs), shape_str(xs)));
  return x + bias;
}

Value detail::elementwise(ir::ElemOp op, const std::vector<Value>& operands) {
  if (operands.size() != static_cast<size_t>(ir::elem_op_info(op).arity))
    throw InternalError(fmt::format("elementwise: {} takes {} operands, got {}", ir::elem_op_name(op),
                                    ir::elem_op_info(op).arity, operands.size()));
  return add_elementwise(op, operands);
}

Value scalar_like(const Value& x, double value) {
  const DType dtype = x.dtype();
  Tensor t(dtype, {});
  visit_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_integral_v<T>) {
      // -min is 2^31 or 2^63 exactly, as a double; max is not (2^63 - 1 rounds up to 2^63).
      if (!(value == std::trunc(value) && value >= double(std::numeric_limits<T>::min()) &&
            value < -double(std::numeric_limits<T>::min())))
        throw ArgumentError(fmt::format("the scalar {} is not a whole {} value; cast the tensor to a float dtype first", value,
                                        dtype_name(dtype)));
    }
    *t.data_as<T>() = static_cast<T>(value);
  });
  return x.graph().constant(t);
}

Value elementwise(const std::string& name, const std::vector<Value>& operands) {
  std::optional<ir::ElemOp> op = ir::find_elem_op(name);
  if (!op) throw ArgumentError(fmt::format("unknown element-wise function '{}'", name));
  const int arity = ir::elem_op_info(*op).arity;
  if (static_cast<int>(operands.size()) != arity)
    throw ArgumentError(fmt::format("{}: takes {} operand{}, not {}", name, arity, arity == 1 ? "" : "s", operands.size()));
  return detail::elementwise(*op, operands);
}

Value operator+(const Value& x, const Value& y) { return add_elementwise(ir::ElemOp::add, {x, y}); }
Value operator-(const Value& x, const Value& y) { return add_elementwise(ir::ElemOp::sub, {x, y}); }
Value operator*(const Value& x, const Value& y) { return add_elementwise(ir::ElemOp::mul, {x, y}); }
Value operator/(const Value& x, const Value& y) { return add_elementwise(ir::ElemOp::div, {x, y}); }
Value operator+(const Value& x, double y) { return x + scalar_like(x, y); }
Value operator-(const Value& x, double y) { return x - scalar_like(x, y); }
Value operator*(const Value& x, double y) { return x * scalar_like(x, y); }
Value operator/(const Value& x, double y) { return x / scalar_like(x, y); }
Value operator+(double x, const Value& y) { return scalar_like(y, x) + y; }
Value operator-(double x, const Value& y) { return scalar_like(y, x) - y; }
Value operator*(double x, const Value& y) { return scalar_like(y, x) * y; }
Value operator/(double x, const Value& y) { return scalar_like(y, x) / y; }
Value operator-(const Value& x) { return neg(x); }
Value maximum(const Value& x, const Value& y) { return add_elementwise(ir::ElemOp::maximum, {x, y}); }
Value minimum(const Value& x, const Value& y) { return add_elementwise(ir::ElemOp::minimum, {x, y}); }
Value pow(const Value& x, const Value& y) { return add_elementwise(ir::ElemOp::pow, {x, y}); }
Value pow(const Value& x, double y) { return pow(x, scalar_like(x, y)); }
Value cast(const Value& x, DType dtype) {
  if (dtype == x.dtype()) return x;  // NumPy's astype copies; a graph value need not
  return add_elementwise(ir::ElemOp::cast, {x}, dtype);
}

Value logaddexp(const Value& x, const Value& y) { return add_elementwise(ir::ElemOp::logaddexp, {x, y}); }
Value neg(const Value& x) { return add_elementwise(ir::ElemOp::neg, {x}); }
Value abs(const Value& x) { return add_elementwise(ir::ElemOp::abs, {x}); }
Value square(const Value& x) { return add_elementwise(ir::ElemOp::square, {x}); }
Value sqrt(const Value& x) { return add_elementwise(ir::ElemOp::sqrt, {x}); }
Value rsqrt(const Value& x) { return add_elementwise(ir::ElemOp::rsqrt, {x}); }
Value exp(const Value& x) { return add_elementwise(ir::ElemOp::exp, {x}); }
Value log(const Value& x) { return add_elementwise(ir::ElemOp::log, {x}); }
Value tanh(const Value& x) { return add_elementwise(ir::ElemOp::tanh, {x}); }
Value sigmoid(const Value& x) { return add_elementwise(ir::ElemOp::sigmoid, {x}); }
Value relu(const Value& x) { return add_elementwise(ir::ElemOp::relu, {x}); }
Value gelu(const Value& x, bool approximate) {
  return add_elementwise(approximate ? ir::ElemOp::gelu_tanh : ir::ElemOp::gelu, {x});
}

Value reshape(const Value& x, const Shape& shape) {
  Graph& g = operands_graph("reshape", {x}, {"x"});
  Node n;
  n.op = OpKind::reshape;
  n.inputs = {x.id()};
  n.dtype = x.dtype();
  n.shape = rules::reshape_rule(x.shape(), shape);
  n.attrs = "shape=" + shape_str(n.shape);
  return g.value(detail::graph_ir(g).add(std::move(n)));
}

}  // namespace tcc
