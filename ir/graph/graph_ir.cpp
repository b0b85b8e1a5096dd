#include "ir/graph/graph_ir.h"

#include <tcc/error.h>

#include <fmt/format.h>

namespace tcc::ir {

std::string_view node_op_name(const Node& n) {
  if (is_elementwise(n.op)) return elem_op_name(n.elem);
  if (is_reduction(n.op)) return reduction_name(n.elem);
  return op_name(n.op);
}

int GraphIR::add(Node node) {
  // Constants are never merged: their identity is their data, which we do not hash.
  std::string key;
  if (node.op != OpKind::constant) {
    key = fmt::format("{}|{}|{}|{}|{}", node_op_name(node), node.name, node.attrs, fmt::join(node.inputs, ","),
                      type_str(node.dtype, node.shape));
    if (auto it = interned_.find(key); it != interned_.end()) return it->second;
  }
  node.id = size();
  nodes_.push_back(std::move(node));
  if (!key.empty()) interned_.emplace(std::move(key), nodes_.back().id);
  if (nodes_.back().op == OpKind::input) inputs_.emplace(nodes_.back().name, nodes_.back().id);
  return nodes_.back().id;
}

int GraphIR::find_input(const std::string& name) const {
  auto it = inputs_.find(name);
  return it == inputs_.end() ? -1 : it->second;
}

std::vector<int> reachable_nodes(const GraphIR& g, const std::vector<int>& outputs) {
  // Node ids are already topological (a node only refers to earlier ones).
  std::vector<bool> live(g.size(), false);
  for (int o : outputs) live.at(o) = true;
  for (int id = g.size() - 1; id >= 0; --id)
    if (live[id])
      for (int in : g.node(id).inputs) live.at(in) = true;
  std::vector<int> order;
  for (int id = 0; id < g.size(); ++id)
    if (live[id]) order.push_back(id);
  return order;
}

namespace {

std::string constraints_str(const std::vector<ShapeConstraint>& constraints) {
  std::vector<std::string> parts;
  for (const ShapeConstraint& c : constraints) parts.push_back(constraint_str(c));
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

std::string print_graph(const GraphIR& g, const std::vector<int>& outputs) {
  std::string s;
  for (int id : reachable_nodes(g, outputs)) {
    const Node& n = g.node(id);
    std::vector<std::string> args;
    if (n.op == OpKind::input) args.push_back(fmt::format("\"{}\"", n.name));
    for (int in : n.inputs) args.push_back(fmt::format("%{}", in));
    s += fmt::format("%{} = {}({})", id, node_op_name(n), fmt::join(args, ", "));
    if (!n.attrs.empty()) s += " " + n.attrs;
    s += " : " + type_str(n.dtype, n.shape);
    if (is_contraction(n.op) || is_elementwise(n.op) || is_reduction(n.op)) s += "  " + n.spec.str();
    if (!n.constraints.empty()) s += "  requires " + constraints_str(n.constraints);
    s += "\n";
  }
  std::vector<std::string> outs;
  for (int o : outputs) outs.push_back(fmt::format("%{}", o));
  return s + fmt::format("outputs {}\n", fmt::join(outs, ", "));
}

void verify_graph(const GraphIR& g, const std::vector<int>& outputs) {
  for (int id : reachable_nodes(g, outputs)) {
    const Node& n = g.node(id);
    auto fail = [&](const std::string& why) {
      throw InternalError(fmt::format("verify_graph: node %{} ({}): {}", id, op_name(n.op), why));
    };
    std::vector<Shape> in_shapes;
    for (int in : n.inputs) {
      if (in < 0 || in >= id) fail("input does not precede its user");
      const bool cast = is_elementwise(n.op) && n.elem == ElemOp::cast;
      if (g.node(in).dtype != n.dtype && !cast) fail("operand dtype differs from result dtype");
      in_shapes.push_back(g.node(in).shape);
    }
    if (is_elementwise(n.op) && n.spec.out.size() != n.spec.extents.size()) fail("an element-wise node sums a dim");
    if (is_elementwise(n.op) && static_cast<int>(n.inputs.size()) != elem_op_info(n.elem).arity) fail("wrong arity");
    if (is_reduction(n.op) && (n.inputs.size() != 1 || reduction_name(n.elem).empty())) fail("a reduction of one operand by add, maximum or minimum");
    if (is_contraction(n.op) || is_elementwise(n.op) || is_reduction(n.op)) {
      n.spec.verify(in_shapes, n.constraints);
      if (n.spec.out_shape() != n.shape) fail("index spec does not give the node's shape");
    } else if (n.op == OpKind::reshape) {
      if (n.inputs.size() != 1 || checked_numel(in_shapes[0]) != checked_numel(n.shape)) fail("bad reshape");
    } else if (n.op == OpKind::constant) {
      if (n.data.shape() != n.shape || n.data.dtype() != n.dtype) fail("constant data does not match its type");
    }
  }
}

}  // namespace tcc::ir
