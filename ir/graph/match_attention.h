// Recognises attention in the graph IR: `softmax(score(q @ kᵀ)) @ v`, where softmax is the
// graph tcc::softmax builds (exp(x - lse) + (lse - lse), lse = logsumexp(x, axis, keepdims))
// along the axis the second contraction sums, and score() an element-wise expression of the
// scores and values that broadcast to them (a scale, a mask, a bias). canonicalize_contractions makes a match one attention step.
#pragma once
#include "ir/graph/graph_ir.h"

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace tcc::ir {

struct AttentionMatch {
  int output = -1;  // the second contraction: softmax(...) @ v
  int scores = -1;  // the first: q @ kᵀ
  int q = -1, k = -1, v = -1;
  // The nodes computed inside the attention step, never stored: the scores, the score
  // expression, the softmax's nodes.
  std::vector<int> absorbed;
  // The score expression's element-wise nodes, inputs first (the last one is softmax's x);
  // their other operands broadcast to the scores' shape.
  std::vector<int> score_chain;
  // Loop dims of the scores' IndexSpec: the batch dims (in the scores' axis order), i (q's
  // rows), j (k's rows, the softmax axis), e (summed).
  std::vector<int> batch;
  int i = -1, j = -1, e = -1;
  // Loop dims of the output's IndexSpec: the batch dims (as `batch`), i, j (summed), d (v's
  // columns).
  std::vector<int> out_batch;
  int out_i = -1, out_j = -1, out_d = -1;
};

// The attention `node` computes, or nullopt. `uses`: how many nodes read each node (outputs
// counted as uses too). `why_not` is set when node is a contraction of a softmax that cannot
// be made one attention step, and says why.
std::optional<AttentionMatch> match_attention(const GraphIR& g, int node, const std::unordered_map<int, int>& uses,
                                              std::string* why_not);

}  // namespace tcc::ir
