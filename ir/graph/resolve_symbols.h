// Graph pass: the shape rules' constraints (shape_constraints.h) applied to the graph the middle
// end lowers. A symbol constrained equal to a size becomes that size, symbols constrained equal
// to each other become one (the first), so that every later pass sees one extent per loop dim:
// with `a: f32[4, N]` and `dot(a, b)` for `b: f32[5, 8]` (N == 5), `a` is lowered as f32[4,5].
// The constraints themselves are checked by the runtime when the inputs arrive.
#pragma once
#include "ir/graph/graph_ir.h"

#include <vector>

namespace tcc::ir {

struct ResolvedGraph {
  GraphIR graph;
  std::vector<int> outputs;
  std::vector<int> origin;  // for each node: the original node
};

// nullopt-like: `changed` is false (and the graph empty) when no constraint applies.
struct ResolvedSymbols {
  bool changed = false;
  ResolvedGraph resolved;
};
ResolvedSymbols resolve_symbols(const GraphIR& g, const std::vector<int>& outputs);

}  // namespace tcc::ir
