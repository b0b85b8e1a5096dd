#include "ir/graph/resolve_symbols.h"

#include <tcc/dim.h>
#include <tcc/error.h>

#include <fmt/format.h>

#include <unordered_map>

namespace tcc::ir {

namespace {

// Union-find over extents: each symbol's class, whose root is a size when the class has one.
class Classes {
 public:
  int64_t root(int64_t e) {
    if (!is_symbol(e)) return e;
    auto it = parent_.find(e);
    if (it == parent_.end() || it->second == e) return e;
    return it->second = root(it->second);
  }
  // False when the two classes hold different sizes: no value of their symbols meets both.
  bool join(int64_t a, int64_t b) {
    a = root(a), b = root(b);
    if (a == b) return true;
    if (!is_symbol(a) && !is_symbol(b)) return false;
    // A size wins; between symbols, the one seen first.
    if (!is_symbol(a) || (is_symbol(b) && seen(a) < seen(b))) std::swap(a, b);
    parent_[a] = b;
    return true;
  }

 private:
  int seen(int64_t symbol) {
    auto [it, fresh] = order_.emplace(symbol, static_cast<int>(order_.size()));
    return it->second;
  }
  std::unordered_map<int64_t, int64_t> parent_;
  std::unordered_map<int64_t, int> order_;
};

}  // namespace

ResolvedSymbols resolve_symbols(const GraphIR& g, const std::vector<int>& outputs) {
  ResolvedSymbols out;
  const std::vector<ShapeConstraint> constraints = collect_constraints(g, outputs);
  if (constraints.empty()) return out;
  Classes classes;
  for (const ShapeConstraint& c : constraints)
    if (!classes.join(c.a, c.b))
      throw ShapeError(fmt::format("no size of {} meets every requirement of this graph: {}", dim_str(c.a), c.message));
  auto resolve = [&](std::vector<int64_t>& extents) {
    for (int64_t& e : extents) e = classes.root(e);
  };
  std::unordered_map<int, int> new_id;
  for (int id : reachable_nodes(g, outputs)) {
    Node n = g.node(id);
    for (int& in : n.inputs) in = new_id.at(in);
    resolve(n.shape);
    resolve(n.spec.extents);
    n.constraints.clear();  // applied; the runtime checks the original graph's
    const int made = out.resolved.graph.add(std::move(n));
    new_id[id] = made;
    out.resolved.origin.resize(out.resolved.graph.size(), id);
  }
  for (int o : outputs) out.resolved.outputs.push_back(new_id.at(o));
  out.changed = true;
  return out;
}

}  // namespace tcc::ir
