#include "ir/graph/split_reshaped_dims.h"

#include "ir/graph/contraction_path.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace tcc::ir {

namespace {

// Runs of axes a row-major reshape maps onto each other: from[from0, from1) and to[to0, to1)
// hold the same elements. None when an extent of 0 or 1 makes the runs ambiguous.
struct AxisRun {
  size_t from0, from1, to0, to1;
};

std::optional<std::vector<AxisRun>> axis_runs(const Shape& from, const Shape& to) {
  auto has_unit = [](const Shape& s) { return std::any_of(s.begin(), s.end(), [](int64_t e) { return e <= 1; }); };
  if (has_unit(from) || has_unit(to)) return std::nullopt;
  std::vector<AxisRun> runs;
  size_t i = 0, j = 0;
  while (i < from.size() && j < to.size()) {
    AxisRun r{i, 0, j, 0};
    int64_t p = from[i++], q = to[j++];
    while (p != q) {
      if (p < q) {
        if (i == from.size()) return std::nullopt;
        p *= from[i++];
      } else {
        if (j == to.size()) return std::nullopt;
        q *= to[j++];
      }
    }
    r.from1 = i, r.to1 = j;
    runs.push_back(r);
  }
  if (i != from.size() || j != to.size()) return std::nullopt;
  return runs;
}

class Splitter {
 public:
  Splitter(const GraphIR& g, const std::vector<int>& outputs)
      : g_(g), outputs_(outputs), output_set_(outputs.begin(), outputs.end()) {}

  SplitGraph run() {
    for (int id : reachable_nodes(g_, outputs_)) {
      Node n = g_.node(id);
      for (int& in : n.inputs) in = new_id_.at(in);
      if (n.op == OpKind::reshape) {
        new_id_[id] = reshape_of(n.inputs[0], n.shape, id);
        continue;
      }
      if (!is_product(n)) {
        new_id_[id] = add(std::move(n), id);
        continue;
      }
      const Shape shape = n.shape;
      for (size_t slot = 0; slot < n.inputs.size(); ++slot) split_operand(n, slot, id);
      if (n.shape == shape) {
        new_id_[id] = add(std::move(n), id);
        continue;
      }
      // Finer output axes: the user sees the original shape, a reshape a later user folds.
      const int product = add(std::move(n), id);
      new_id_[id] = reshape_of(product, shape, id);
    }
    for (int o : outputs_) out_.outputs.push_back(new_id_.at(o));
    return std::move(out_);
  }

 private:
  int add(Node n, int origin) {
    const int id = out_.graph.add(std::move(n));
    if (static_cast<int>(out_.origin.size()) <= id) out_.origin.resize(id + 1, -1);
    if (out_.origin[id] < 0) out_.origin[id] = origin;
    return id;
  }

  // `x` (a node of the new graph) reshaped: a reshape of a reshape reads the first one's input,
  // and a contraction's result reshaped to its own shape is the contraction.
  int reshape_of(int x, const Shape& shape, int origin) {
    if (out_.graph.node(x).op == OpKind::reshape) x = out_.graph.node(x).inputs[0];
    const Node& in = out_.graph.node(x);
    if (in.shape == shape && is_contraction(in.op)) return x;
    Node n;
    n.op = OpKind::reshape;
    n.inputs = {x};
    n.dtype = in.dtype;
    n.shape = shape;
    n.attrs = "shape=" + shape_str(shape);
    return add(std::move(n), origin);
  }

  // Whether loop dim d indexes at most one axis of each operand and of the output, always at
  // its full extent (no diagonal, no broadcast size-1 axis).
  bool plain_dim(const Node& n, int d) const {
    auto once = [&](const std::vector<int>& axes, const Shape& shape) {
      int seen = 0;
      for (size_t a = 0; a < axes.size(); ++a)
        if (axes[a] == d) {
          if (++seen > 1 || shape[a] != n.spec.extents[d]) return false;
        }
      return true;
    };
    for (size_t i = 0; i < n.inputs.size(); ++i)
      if (!once(n.spec.operands[i], out_.graph.node(n.inputs[i]).shape)) return false;
    return once(n.spec.out, n.shape);
  }

  // Operand `slot` of product n is reshape(t) merging runs of t's axes: n reads t, each merged
  // dim becomes one dim per axis of its run, in every operand (the others reshaped to match,
  // a view of dense data) and in the output. Left as it is when the reshape splits an axis.
  void split_operand(Node& n, size_t slot, int origin) {
    const Node& r = out_.graph.node(n.inputs[slot]);
    if (r.op != OpKind::reshape) return;
    const int t = r.inputs[0];
    const Shape t_shape = out_.graph.node(t).shape;
    const std::optional<std::vector<AxisRun>> runs = axis_runs(t_shape, r.shape);
    if (!runs) return;
    bool merges = false;
    for (const AxisRun& run : *runs) {
      if (run.to1 - run.to0 != 1) return;
      if (run.from1 - run.from0 > 1) {
        merges = true;
        const int d = n.spec.operands[slot][run.to0];
        if (d == IndexSpec::kBroadcast || !plain_dim(n, d)) return;
        // A graph output keeps its own axes (a reshaped result would be copied into it).
        if (output_set_.count(origin) && std::count(n.spec.out.begin(), n.spec.out.end(), d)) return;
      }
    }
    if (!merges) return;
    std::vector<int> slot_axes;
    for (const AxisRun& run : *runs) {
      const int d = n.spec.operands[slot][run.to0];
      if (run.from1 - run.from0 == 1) {
        slot_axes.push_back(d);
        continue;
      }
      const Shape parts(t_shape.begin() + static_cast<std::ptrdiff_t>(run.from0),
                        t_shape.begin() + static_cast<std::ptrdiff_t>(run.from1));
      const std::vector<int> dims = split_dim(n, slot, d, parts, origin);
      slot_axes.insert(slot_axes.end(), dims.begin(), dims.end());
    }
    n.inputs[slot] = t;
    n.spec.operands[slot] = std::move(slot_axes);
    n.op = OpKind::einsum;
    n.shape = n.spec.out_shape();
    n.attrs = fmt::format("\"{}\"", einsum_text(n.spec));
  }

  // Loop dim d of n becomes parts.size() dims (d first, then new ones) in every operand but
  // `slot` and in the output; returns them in order.
  std::vector<int> split_dim(Node& n, size_t slot, int d, const Shape& parts, int origin) {
    std::vector<int> dims{d};
    n.spec.extents[d] = parts[0];
    for (size_t p = 1; p < parts.size(); ++p) {
      dims.push_back(static_cast<int>(n.spec.extents.size()));
      n.spec.extents.push_back(parts[p]);
    }
    auto expand = [&](std::vector<int>& axes, Shape* shape) {
      const auto at = std::find(axes.begin(), axes.end(), d);
      if (at == axes.end()) return false;
      const auto pos = at - axes.begin();
      axes.erase(at);
      axes.insert(axes.begin() + pos, dims.begin(), dims.end());
      if (shape) {
        shape->erase(shape->begin() + pos);
        shape->insert(shape->begin() + pos, parts.begin(), parts.end());
      }
      return true;
    };
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (i == slot) continue;
      Shape shape = out_.graph.node(n.inputs[i]).shape;
      if (expand(n.spec.operands[i], &shape)) n.inputs[i] = reshape_of(n.inputs[i], shape, origin);
    }
    expand(n.spec.out, nullptr);
    return dims;
  }

  const GraphIR& g_;
  const std::vector<int>& outputs_;
  const std::unordered_set<int> output_set_;
  SplitGraph out_;
  std::unordered_map<int, int> new_id_;
};

}  // namespace

SplitGraph split_reshaped_dims(const GraphIR& g, const std::vector<int>& outputs) {
  return Splitter(g, outputs).run();
}

}  // namespace tcc::ir
