#include "ir/graph/plan_paths.h"

#include <fmt/format.h>

#include <unordered_map>

namespace tcc::ir {

PlannedGraph plan_contraction_paths(const GraphIR& g, const std::vector<int>& outputs, const sched::TargetModel& target,
                                    const std::vector<int64_t>& min_cap_bytes) {
  PlannedGraph out;
  std::unordered_map<int, int> new_id;
  // Adds a node computing (part of) input node `source`.
  auto add = [&](Node n, int source) {
    const int id = out.graph.add(std::move(n));
    if (id == static_cast<int>(out.origin.size())) out.origin.push_back(source);
    return id;
  };
  for (int id : reachable_nodes(g, outputs)) {
    Node n = g.node(id);
    for (int& in : n.inputs) in = new_id.at(in);
    if (!is_contraction(n.op) || n.inputs.size() < 3) {
      new_id[id] = add(std::move(n), id);
      continue;
    }
    std::vector<Shape> shapes;
    for (int in : n.inputs) shapes.push_back(out.graph.node(in).shape);
    const int64_t min_cap = id < static_cast<int>(min_cap_bytes.size()) ? min_cap_bytes[id] : 0;
    PlannedContraction planned{id, -1, plan_contraction_path(n.spec, shapes, n.dtype, target, min_cap)};
    if (planned.path.steps.empty()) {
      new_id[id] = add(std::move(n), id);
    } else {
      std::vector<int> made = n.inputs;  // operands, then each step's result
      for (const PathStep& s : planned.path.steps) {
        Node step;
        step.op = OpKind::einsum;
        step.inputs = {made.at(s.lhs), made.at(s.rhs)};
        step.dtype = n.dtype;
        step.shape = s.shape;
        step.attrs = fmt::format("\"{}\"", s.einsum);
        step.spec = s.spec;
        made.push_back(add(std::move(step), id));
      }
      new_id[id] = made.back();
    }
    planned.result = new_id[id];
    out.paths.push_back(std::move(planned));
  }
  for (int o : outputs) out.outputs.push_back(new_id.at(o));
  return out;
}

std::string PlannedGraph::str() const {
  std::string s = print_graph(graph, outputs);
  for (const PlannedContraction& p : paths) {
    s += fmt::format("path to %{}: {} {}", p.result, p.path.method, p.path.einsum);
    for (const PathStep& step : p.path.steps) s += fmt::format(" | {}", step.einsum);
    if (!p.path.why_single.empty()) s += " (" + p.path.why_single + ")";
    s += "\n";
  }
  return s;
}

}  // namespace tcc::ir
