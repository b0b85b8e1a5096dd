// Graph pass: a chain of contractions written as one expression (matmul(matmul(a, b), c),
// dot(dot(a, b), c), a @ b @ c, tensordot chains, or einsums whose intermediate is used once)
// becomes one multi-operand contraction, so that plan_contraction_paths chooses the order
// rather than the way it was written: an intermediate used only by the next contraction, and
// not a graph output, is folded into it.
#pragma once
#include "ir/graph/graph_ir.h"

#include <vector>

namespace tcc::ir {

struct MergedGraph {
  GraphIR graph;
  std::vector<int> outputs;
  std::vector<int> origin;  // for each node: the original node it computes
  // For each node: the bytes of the largest intermediate folded into it (0: none). Its
  // contraction path may use intermediates this large: the user's order already did.
  std::vector<int64_t> folded_bytes;
};

MergedGraph merge_contraction_chains(const GraphIR& g, const std::vector<int>& outputs, int max_operands);

}  // namespace tcc::ir
