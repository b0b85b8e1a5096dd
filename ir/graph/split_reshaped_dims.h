// Graph pass: a contraction that reads a reshape merging axes of its operand indexes those
// axes instead, as finer loop dims, and its result is reshaped back. The "reshape to 2-D,
// matmul, reshape back" idiom then becomes a chain of contractions with no reshape between
// them, which merge_contraction_chains folds and plan_contraction_paths orders:
//   t = reshape(matmul(reshape(x, [24, 13824]), c, transpose_a=true), [24, 24, 24, 24])
// reads x's four axes directly, and a reshape of one contraction's result by the next one
// disappears. Only reshapes that merge whole runs of axes, with no extent of 1, are split.
#pragma once
#include "ir/graph/graph_ir.h"

#include <vector>

namespace tcc::ir {

struct SplitGraph {
  GraphIR graph;
  std::vector<int> outputs;
  std::vector<int> origin;  // for each node: the original node it computes (or helps compute)
};

SplitGraph split_reshaped_dims(const GraphIR& g, const std::vector<int>& outputs);

}  // namespace tcc::ir
