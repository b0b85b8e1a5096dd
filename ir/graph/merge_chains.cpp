#include "ir/graph/merge_chains.h"

#include "ir/graph/contraction_path.h"
#include "ir/symbolic_extents.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

namespace tcc::ir {

namespace {

// `user` with its operand `slot` (the result of `inner`) replaced by inner's operands: one
// index spec over user's dims plus inner's summed dims.
Node inline_operand(const Node& user, size_t slot, const Node& inner) {
  const IndexSpec& us = user.spec;
  const IndexSpec& is = inner.spec;
  IndexSpec merged;
  merged.extents = us.extents;
  merged.out = us.out;
  // Inner's dims in the merged spec: its output dims are the user's dims that index those
  // axes of the operand; a size-1 axis the user does not index (kBroadcast) and every summed
  // dim get fresh dims.
  std::vector<int> dim_of(is.extents.size(), -1);  // -1 (also kBroadcast): not yet a merged dim
  for (size_t a = 0; a < is.out.size(); ++a) dim_of[is.out[a]] = us.operands[slot][a];
  for (size_t d = 0; d < is.extents.size(); ++d)
    if (dim_of[d] < 0) {
      dim_of[d] = static_cast<int>(merged.extents.size());
      merged.extents.push_back(is.extents[d]);
    }
  Node n;
  n.op = OpKind::einsum;
  n.dtype = user.dtype;
  n.shape = user.shape;
  for (size_t i = 0; i < user.inputs.size(); ++i) {
    if (i != slot) {
      n.inputs.push_back(user.inputs[i]);
      merged.operands.push_back(us.operands[i]);
      continue;
    }
    for (size_t j = 0; j < inner.inputs.size(); ++j) {
      n.inputs.push_back(inner.inputs[j]);
      std::vector<int> axes;
      for (int d : is.operands[j]) axes.push_back(d == IndexSpec::kBroadcast ? d : dim_of[d]);
      merged.operands.push_back(std::move(axes));
    }
  }
  n.spec = std::move(merged);
  n.attrs = fmt::format("\"{}\"", einsum_text(n.spec));
  return n;
}

}  // namespace

MergedGraph merge_contraction_chains(const GraphIR& g, const std::vector<int>& outputs, int max_operands) {
  const std::vector<int> order = reachable_nodes(g, outputs);
  std::unordered_map<int, int> uses;
  for (int id : order)
    for (int in : g.node(id).inputs) ++uses[in];
  for (int o : outputs) uses[o] += 2;  // an output is never folded away

  MergedGraph out;
  std::unordered_map<int, int> new_id;
  auto add = [&](Node n, int origin, int64_t folded) {
    const int id = out.graph.add(std::move(n));
    if (static_cast<int>(out.origin.size()) <= id) out.origin.resize(id + 1, -1), out.folded_bytes.resize(id + 1, 0);
    if (out.origin[id] < 0) out.origin[id] = origin;
    out.folded_bytes[id] = std::max(out.folded_bytes[id], folded);
    return id;
  };
  for (int id : order) {
    const Node& old = g.node(id);
    Node n = old;
    for (int& in : n.inputs) in = new_id.at(in);
    int64_t folded = 0;
    if (is_product(old)) {
      // Fold in each operand that is a product used only here, last slot first so that the
      // slots still to visit keep their positions.
      for (size_t slot = old.inputs.size(); slot-- > 0;) {
        const int producer = old.inputs[slot];
        if (uses[producer] != 1 || !is_product(g.node(producer))) continue;
        const Node& inner = out.graph.node(n.inputs[slot]);
        if (n.inputs.size() + inner.inputs.size() - 1 > static_cast<size_t>(max_operands)) continue;
        folded = std::max({folded, out.folded_bytes.at(n.inputs[slot]),
                           static_cast<int64_t>(planning_numel(inner.shape)) * static_cast<int64_t>(dtype_size(inner.dtype))});
        n = inline_operand(n, slot, inner);
      }
    }
    new_id[id] = add(std::move(n), id, folded);
  }
  for (int o : outputs) out.outputs.push_back(new_id.at(o));
  return out;
}

}  // namespace tcc::ir
