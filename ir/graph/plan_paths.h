// Graph pass: every contraction of three or more operands is replaced by the pairwise
// einsums of its contraction path (contraction_path.h); the rest of the graph is copied.
#pragma once
#include "ir/graph/contraction_path.h"
#include "ir/graph/graph_ir.h"
#include "ir/schedule/target_model.h"

#include <vector>

namespace tcc::ir {

struct PlannedContraction {
  int node = -1;    // the contraction planned (lower() gives the caller's node, before chains merged)
  int result = -1;  // the node computing it in the planned graph (the last step's)
  ContractionPath path;
};

struct PlannedGraph {
  GraphIR graph;
  std::vector<int> outputs;
  std::vector<PlannedContraction> paths;  // one per contraction of three or more operands
  std::vector<int> origin;                 // for each node: the node of the input graph it computes (or helps compute)
  std::string str() const;                // the graph, then each path
};

// `min_cap_bytes` (indexed by node, may be shorter or empty): a memory cap no lower than this
// for that node's path (merge_contraction_chains' folded intermediates).
PlannedGraph plan_contraction_paths(const GraphIR& g, const std::vector<int>& outputs, const sched::TargetModel& target,
                                    const std::vector<int64_t>& min_cap_bytes = {});

}  // namespace tcc::ir
