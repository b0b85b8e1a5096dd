// Graph pass: every contraction op becomes one KernelSpec step over dense buffers; transposes,
// diagonals and reshapes of dense data fold into strides; only what must be materialised (a
// reshape of a strided view, a strided graph output) becomes a copy step. A chain of
// element-wise ops becomes one elementwise step: an element-wise node used once, by another
// element-wise node that does not stretch it (broadcast it over more elements), is computed
// inside its user's expression, with no buffer of its own. An element-wise expression of a
// contraction's result, the only use of it, becomes the contraction's epilogue (the bias and
// activation of a Dense layer run in the GEMM's store).
#include "ir/graph/canonicalize.h"

#include "ir/graph/match_attention.h"
#include "ir/symbolic_extents.h"

#include <tcc/error.h>

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace tcc::ir {

namespace {

// What a graph value is after canonicalisation: a strided view of one buffer. A symbolic
// axis's extent is its tcc::dim code; strides are always sizes (outer_symbol).
struct View {
  int buffer = -1;
  Shape shape;
  std::vector<int64_t> strides;  // elements, per axis
};

// Row-major strides; those of axes outside a symbol are never used (they are 1 long), and are
// left at the static part.
std::vector<int64_t> dense_strides(const Shape& shape) {
  std::vector<int64_t> s(shape.size());
  int64_t stride = 1;
  for (int a = static_cast<int>(shape.size()) - 1; a >= 0; --a) {
    s[a] = stride;
    if (!is_symbol(shape[a])) stride *= shape[a];
  }
  return s;
}

bool is_dense(const View& v) {
  if (checked_static_numel(v.shape) == 0) return true;
  std::vector<int64_t> dense = dense_strides(v.shape);
  for (size_t a = 0; a < v.shape.size(); ++a)
    if (v.shape[a] != 1 && v.strides[a] != dense[a]) return false;
  return true;
}

KernelDim kernel_dim(int64_t extent, DimRole role) {
  if (is_symbol(extent)) return {kSymbolPlanningExtent, role, symbol_name(extent)};
  return {extent, role, {}};
}

// The most buffers one fused expression reads (the runtime's argument block holds them with
// the output, a contraction's two operands and the symbols).
constexpr int kMaxFusedOperands = 8;

class Canonicalizer {
 public:
  Canonicalizer(const GraphIR& g, const Fusion& fusion) : g_(g), fusion_(fusion) {}

  KernelProgram run(const std::vector<int>& outputs) {
    const std::vector<int> order = reachable_nodes(g_, outputs);
    std::unordered_map<int, int> uses;
    for (int o : outputs) uses[o] += 2;  // an output is a use the program cannot fuse away
    for (int id : order)
      for (int in : g_.node(id).inputs) ++uses[in];
    find_attention(order, uses);
    find_inlined(order, uses, outputs);
    for (int id : order)
      if (!inlined_.count(id) && !absorbed_.count(id)) {
        node_ = id;
        views_[id] = lower_node(g_.node(id));
        // A view of another node's result (a transpose, a sum over no axis, a reshape) is one
        // more reader of that buffer: the result can no longer take an epilogue.
        if (auto it = emitted_by_.find(views_[id].buffer); it != emitted_by_.end() && it->second != id)
          fusable_buffers_.erase(views_[id].buffer);
      }
    node_ = -1;
    for (int o : outputs) {
      View v = views_.at(o);
      const BufferInfo& b = p_.buffers[v.buffer];
      bool whole = checked_static_numel(v.shape) == b.numel && has_symbols(v.shape) == (b.symbol != 0);
      // Outputs are dense and never alias an input the caller owns.
      if (!is_dense(v) || !whole || p_.buffers[v.buffer].kind != BufferInfo::Kind::temp) v = copy(v, g_.node(o).dtype);
      p_.outputs.push_back({v.buffer, v.shape});
    }
    return std::move(p_);
  }

 private:
  // A buffer holding a dense array of `shape`.
  // `what()` names the array in an error (made only for a shape with symbols).
  template <typename What>
  int new_buffer(BufferInfo info, const Shape& shape, What&& what) {
    info.symbol = has_symbols(shape) ? outer_symbol(shape, what()) : 0;
    info.numel = checked_static_numel(shape);
    p_.buffers.push_back(std::move(info));
    return static_cast<int>(p_.buffers.size()) - 1;
  }

  View dense_view(int buffer, const Shape& shape) { return {buffer, shape, dense_strides(shape)}; }

  View lower_node(const Node& n) {
    switch (n.op) {
      case OpKind::input:
        if (!n.strides.empty()) {  // a view of the run of elements it is fed: its strides are the operand's
          const int b = new_buffer({BufferInfo::Kind::input, n.dtype, 0, n.name, {}}, Shape{checked_span(n.shape, n.strides)},
                                   [] { return std::string(); });
          p_.buffers[b].origin = strided_origin(n.shape, n.strides);
          return {b, n.shape, n.strides};
        }
        return dense_view(new_buffer({BufferInfo::Kind::input, n.dtype, 0, n.name, {}}, n.shape,
                                     [&] { return fmt::format("input '{}'", n.name); }),
                          n.shape);
      case OpKind::constant:
        return dense_view(new_buffer({BufferInfo::Kind::constant, n.dtype, 0, "", n.data}, n.shape,
                                     [] { return std::string("a constant"); }),
                          n.shape);
      case OpKind::reshape: {
        View in = views_.at(n.inputs[0]);
        if (!is_dense(in)) in = copy(in, n.dtype);
        return dense_view(in.buffer, n.shape);
      }
      case OpKind::elementwise:
        return lower_elementwise(n);
      case OpKind::reduce:
        return lower_contraction(n);
      default:
        if (auto m = attention_.find(n.id); m != attention_.end()) return lower_attention(m->second);
        if (is_contraction(n.op)) return lower_contraction(n);
        throw InternalError(fmt::format("canonicalize_contractions: no lowering for op {}", op_name(n.op)));
    }
  }

  // Strides of each loop dim for an operand view indexed by `axes` (IndexSpec::operands[i]).
  static std::vector<int64_t> loop_strides(const View& v, const std::vector<int>& axes, size_t num_dims) {
    std::vector<int64_t> strides(num_dims, 0);
    // A size-1 axis is only ever read at index 0, also when it is stretched over a longer dim.
    for (size_t a = 0; a < axes.size(); ++a)
      if (axes[a] != IndexSpec::kBroadcast && v.shape[a] != 1) strides[axes[a]] += v.strides[a];
    return strides;
  }

  View lower_contraction(const Node& n) {
    const IndexSpec& spec = n.spec;
    const size_t D = spec.extents.size();
    std::vector<View> in;
    for (int id : n.inputs) in.push_back(views_.at(id));

    // A unary op that sums nothing (transpose, einsum "ij->ji" or "ii->i") is just a new view.
    if (in.size() == 1 && spec.out.size() == D) {
      std::vector<int64_t> s = loop_strides(in[0], spec.operands[0], D);
      View v{in[0].buffer, spec.out_shape(), {}};
      for (int d : spec.out) v.strides.push_back(s[d]);
      return v;
    }

    KernelSpec c;
    c.acc_dtype = c.out_dtype = n.dtype;
    c.out_axes = spec.out;
    if (is_reduction(n.op)) c.combine = n.elem;
    std::vector<bool> in_out(D, false);
    for (int d : spec.out) in_out[d] = true;
    for (size_t d = 0; d < D; ++d) {
      std::vector<bool> used(in.size(), false);
      for (size_t i = 0; i < in.size(); ++i)
        for (int ax : spec.operands[i])
          if (ax == static_cast<int>(d)) used[i] = true;
      DimRole role = DimRole::K;
      if (in_out[d]) {
        bool all = std::all_of(used.begin(), used.end(), [](bool u) { return u; });
        bool only_first = used[0] && std::none_of(used.begin() + 1, used.end(), [](bool u) { return u; });
        role = (all && in.size() > 1) ? DimRole::B : only_first ? DimRole::M : DimRole::N;
      }
      c.dims.push_back(kernel_dim(spec.extents[d], role));
    }
    for (size_t i = 0; i < in.size(); ++i)
      c.operands.push_back({in[i].buffer, loop_strides(in[i], spec.operands[i], D), g_.node(n.inputs[i]).dtype});
    return emit(std::move(c));
  }

  // The element-wise nodes computed inside their one user's expression (fusion), as long as
  // an expression reads at most kMaxFusedOperands values; the nodes used once (candidates for
  // an epilogue).
  void find_inlined(const std::vector<int>& order, std::unordered_map<int, int>& uses, const std::vector<int>& outputs) {
    std::unordered_map<int, int> leaves;  // values an element-wise node's expression reads (at most)
    for (int id : order) {
      const Node& user = g_.node(id);
      if (uses[id] == 1) used_once_.insert(id);
      if (!is_elementwise(user.op) || absorbed_.count(id)) continue;
      int reads = static_cast<int>(user.inputs.size());
      for (size_t k = 0; k < user.inputs.size(); ++k) {
        const Node& p = g_.node(user.inputs[k]);
        if (!is_elementwise(p.op)) continue;
        bool stretched = false;
        for (size_t a = 0; a < p.shape.size(); ++a) {
          const int d = user.spec.operands[k][a];
          stretched = stretched || d == IndexSpec::kBroadcast || user.spec.extents[d] != p.shape[a];
        }
        std::string why_not;
        if (uses[p.id] > 1) why_not = std::count(outputs.begin(), outputs.end(), p.id) ? "is an output" : "is read by several nodes";
        else if (stretched) why_not = "is broadcast by its reader (computed once, not per element)";
        else if (reads - 1 + leaves[p.id] > kMaxFusedOperands) why_not = fmt::format("would make one expression read more than {} buffers", kMaxFusedOperands);
        if (!why_not.empty()) {
          note(p.id, "is not computed inside its reader's expression: it " + why_not);
          continue;
        }
        inlined_.insert(p.id);
        note(p.id, "is computed inside the expression of", id);
        reads += leaves[p.id] - 1;
      }
      leaves[id] = reads;
    }
  }

  // The value of node `id` in element-wise program `c`: each axis a of the node is indexed by
  // loop dim axis_dims[a] of c (or read at 0: kBroadcast). Inlined nodes add their function,
  // others an operand (one per distinct buffer and strides).
  int elementwise_value(int id, const std::vector<int>& axis_dims, KernelSpec& c, bool root = false) {
    const Node& n = g_.node(id);
    if (!root && !inlined_.count(id)) {
      const View& v = views_.at(id);
      std::vector<int64_t> strides = loop_strides(v, axis_dims, c.dims.size());
      for (size_t i = 0; i < c.program.size(); ++i) {
        const int o = c.program[i].operand;
        if (o >= 0 && c.operands[o].buffer == v.buffer && c.operands[o].strides == strides) return static_cast<int>(i);
      }
      c.operands.push_back({v.buffer, std::move(strides), n.dtype});
      c.program.push_back({static_cast<int>(c.operands.size()) - 1, {}, {}});
      return static_cast<int>(c.program.size()) - 1;
    }
    // The node's loop dims are its output axes: dim spec.out[a] is axis a.
    std::vector<int> dim_axis(n.spec.extents.size(), -1);
    for (size_t a = 0; a < n.spec.out.size(); ++a) dim_axis[n.spec.out[a]] = static_cast<int>(a);
    ElemInstr instr{-1, n.elem, {}, n.dtype};
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      std::vector<int> input_dims;
      for (int e : n.spec.operands[k]) input_dims.push_back(e == IndexSpec::kBroadcast ? e : axis_dims[dim_axis[e]]);
      instr.args.push_back(elementwise_value(n.inputs[k], input_dims, c));
    }
    c.program.push_back(std::move(instr));
    return static_cast<int>(c.program.size()) - 1;
  }

  // The products of a softmax that become one attention step (flash attention), and the
  // nodes that step computes inside.
  void find_attention(const std::vector<int>& order, const std::unordered_map<int, int>& uses) {
    for (int id : order) {
      std::string why_not;
      std::optional<AttentionMatch> m = match_attention(g_, id, uses, &why_not);
      if (m && !fusion_.attention) why_not = "attention fusion is off (TCC_FUSE_ATTENTION=0)";
      if (!why_not.empty()) {
        note(id, "is not one attention step with its softmax and scores: " + why_not);
        continue;
      }
      if (!m) continue;
      note(m->scores, "is computed block by block inside the attention step of", id);
      note(g_.node(id).inputs[0], "is a softmax, computed online (a running max and sum per row) inside the attention step of", id);
      absorbed_.insert(m->absorbed.begin(), m->absorbed.end());
      attention_.emplace(id, std::move(*m));
    }
  }

  // The attention step of a match: dims batch.., i, j, e, d (KernelSpec::attention_dims).
  View lower_attention(const AttentionMatch& m) {
    const Node &s = g_.node(m.scores), &o = g_.node(m.output);
    const size_t nb = m.batch.size();
    KernelSpec c;
    c.kind = StepKind::attention;
    c.acc_dtype = c.out_dtype = o.dtype;
    // Each graph dim's attention dim, for the scores' spec and the result's.
    std::vector<int> from_scores(s.spec.extents.size(), -1), from_out(o.spec.extents.size(), -1);
    for (size_t t = 0; t < nb; ++t) {
      c.dims.push_back(kernel_dim(o.spec.extents[m.out_batch[t]], DimRole::B));
      from_scores[m.batch[t]] = from_out[m.out_batch[t]] = static_cast<int>(t);
    }
    c.dims.push_back(kernel_dim(s.spec.extents[m.i], DimRole::M));
    c.dims.push_back(kernel_dim(s.spec.extents[m.j], DimRole::K));
    c.dims.push_back(kernel_dim(s.spec.extents[m.e], DimRole::K));
    c.dims.push_back(kernel_dim(o.spec.extents[m.out_d], DimRole::N));
    const AttentionDims a = c.attention_dims();
    from_scores[m.i] = from_out[m.out_i] = a.i;
    from_scores[m.j] = from_out[m.out_j] = a.j;
    from_scores[m.e] = a.e;
    from_out[m.out_d] = a.d;
    for (int d : o.spec.out) c.out_axes.push_back(from_out[d]);
    auto operand = [&](const View& v, const std::vector<int>& axes, const std::vector<int>& to) {
      const std::vector<int64_t> graph_strides = loop_strides(v, axes, to.size());
      StridedOperand op{v.buffer, std::vector<int64_t>(c.dims.size(), 0), o.dtype};
      for (size_t d = 0; d < to.size(); ++d)
        if (graph_strides[d] != 0) op.strides[to[d]] += graph_strides[d];
      return op;
    };
    c.operands = {operand(views_.at(m.q), s.spec.operands[0], from_scores),
                  operand(views_.at(m.k), s.spec.operands[1], from_scores),
                  operand(views_.at(m.v), o.spec.operands[1], from_out)};
    // The step reads rows of v as vectors: a v strided along them is copied dense first.
    if (c.operands[2].strides[a.d] != 1 && c.dims[a.d].extent > 1) c.operands[2] = operand(copy(views_.at(m.v), o.dtype), o.spec.operands[1], from_out);
    // score(): operand 0 the dot product, the chain's functions, its other operands (scalars,
    // masks, biases: broadcast to the scores, aligned on the right) as operands 1...
    std::unordered_map<int, int> value{{m.scores, 0}};
    c.program.push_back({0, {}, {}});
    for (int id : m.score_chain) {
      const Node& n = g_.node(id);
      ElemInstr instr{-1, n.elem, {}, n.dtype};
      for (int in : n.inputs) {
        if (!value.count(in)) {
          const View& v = views_.at(in);
          StridedOperand op{v.buffer, std::vector<int64_t>(c.dims.size(), 0), g_.node(in).dtype};
          const size_t lead = s.spec.out.size() - v.shape.size();
          for (size_t ax = 0; ax < v.shape.size(); ++ax)
            if (v.shape[ax] != 1) op.strides[from_scores[s.spec.out[lead + ax]]] += v.strides[ax];
          c.operands.push_back(std::move(op));
          c.program.push_back({static_cast<int>(c.operands.size()) - 3, {}, {}});
          value[in] = static_cast<int>(c.program.size()) - 1;
        }
        instr.args.push_back(value.at(in));
      }
      c.program.push_back(std::move(instr));
      value[id] = static_cast<int>(c.program.size()) - 1;
    }
    return emit(std::move(c));
  }

  View lower_elementwise(const Node& n) {
    KernelSpec c;
    c.kind = StepKind::elementwise;
    c.acc_dtype = c.out_dtype = n.dtype;
    for (int64_t e : n.spec.extents) c.dims.push_back(kernel_dim(e, DimRole::M));
    c.out_axes = n.spec.out;
    elementwise_value(n.id, n.spec.out, c, /*root=*/true);
    if (fusion_.epilogues)
      if (std::optional<View> fused = fuse_as_epilogue(c)) return *fused;
    return emit(std::move(c));
  }

  // Makes element-wise step `e` the epilogue of the contraction whose result it reads, when
  // that result is read nowhere else, element for element (not broadcast, not transposed).
  // The contraction moves to the end of the steps so far: every buffer the epilogue reads is
  // written before it. An epilogue that converts the sums to another dtype (a cast) stores
  // into a new buffer of that dtype; the contraction's own buffer holds the partial sums.
  std::optional<View> fuse_as_epilogue(const KernelSpec& e) {
    const std::vector<int64_t> dense = e.out_strides();
    for (size_t o = 0; o < e.operands.size(); ++o) {
      const int buffer = e.operands[o].buffer;
      auto producer = std::find_if(p_.steps.begin(), p_.steps.end(), [&](const KernelSpec& s) { return s.out_buffer == buffer; });
      // A contraction with an epilogue already holds that expression's value, not its own.
      if (producer == p_.steps.end() || producer->kind != StepKind::contraction || !producer->epilogue.empty()) continue;
      // Element for element: e's strides are the dense ones (a size-1 dim's does not matter).
      bool elementwise_read = true;
      for (size_t d = 0; d < e.dims.size(); ++d)
        elementwise_read = elementwise_read && (e.dims[d].extent == 1 || e.operands[o].strides[d] == dense[d]);
      const bool read_twice = std::count_if(e.operands.begin(), e.operands.end(), [&](const StridedOperand& op) { return op.buffer == buffer; }) > 1;
      std::string why_not;
      if (!fusable_buffers_.count(buffer)) why_not = "is read by another node too, or is an output";
      else if (!elementwise_read || producer->out_shape() != e.out_shape()) why_not = "is read broadcast or transposed, not element for element";
      else if (read_twice) why_not = "is read twice by the expression";
      else if (e.operands.size() > kMaxFusedOperands + 1) why_not = fmt::format("would take more than {} epilogue operands", kMaxFusedOperands);
      const auto by = emitted_by_.find(buffer);
      const int contraction = by == emitted_by_.end() ? -1 : by->second;
      if (!why_not.empty()) {
        if (contraction >= 0) note(contraction, "takes no epilogue: its result " + why_not);
        continue;
      }
      if (contraction >= 0) note(node_, "is the epilogue (computed in its kernel, see above) of", contraction);
      KernelSpec c = std::move(*producer);
      p_.steps.erase(producer);
      // Operand i of e becomes epilogue operand 0 (the result) or the next one; each loop dim of
      // e is the contraction's dim of the same output axis.
      std::vector<int> renumbered(e.operands.size());
      for (size_t i = 0; i < e.operands.size(); ++i) {
        if (i == o) continue;
        StridedOperand op{e.operands[i].buffer, std::vector<int64_t>(c.dims.size(), 0), e.operands[i].dtype};
        for (size_t a = 0; a < e.out_axes.size(); ++a) op.strides[c.out_axes[a]] = e.operands[i].strides[e.out_axes[a]];
        c.epilogue_operands.push_back(std::move(op));
        renumbered[i] = static_cast<int>(c.epilogue_operands.size());
      }
      c.epilogue = e.program;
      for (ElemInstr& in : c.epilogue)
        if (in.operand >= 0) in.operand = renumbered[in.operand];
      // The buffer now holds the epilogue's value (or partial sums): no other contraction may
      // reuse it.
      for (auto it = computed_.begin(); it != computed_.end();)
        it = it->second == buffer ? computed_.erase(it) : std::next(it);
      int result = buffer;
      if (e.out_dtype != c.acc_dtype) {
        const Shape shape = e.out_shape();
        result = new_result_buffer(e.out_dtype, shape);
        c.acc_buffer = buffer;
        c.out_buffer = result;
        c.out_dtype = e.out_dtype;
        emitted_by_[result] = node_;
      }
      p_.steps.push_back(std::move(c));
      return dense_view(result, e.out_shape());
    }
    return std::nullopt;
  }

  void note(int node, std::string text, int other = -1) {
    for (const FusionNote& n : p_.fusion)
      if (n.node == node && n.text == text && n.other == other) return;
    p_.fusion.push_back({node, std::move(text), other});
  }

  // A temp buffer for a step's result of `dtype` and `shape`.
  int new_result_buffer(DType dtype, const Shape& shape) {
    return new_buffer({BufferInfo::Kind::temp, dtype, 0, "", {}}, shape,
                      [&] { return fmt::format("a result of type {}", type_str(dtype, shape)); });
  }

  // Adds a step, or reuses the buffer of an identical one (same kernel, same operands): graph
  // nodes that differ only in how they were spelled (matmul vs batch_dot) compute once.
  View emit(KernelSpec c) {
    Shape shape = c.out_shape();
    std::string key = c.descriptor();
    for (const StridedOperand& op : c.operands) key += fmt::format(" %b{}", op.buffer);
    if (auto it = computed_.find(key); it != computed_.end()) {
      fusable_buffers_.erase(it->second);  // read by two nodes now
      return dense_view(it->second, shape);
    }
    c.out_buffer = new_result_buffer(c.out_dtype, shape);
    computed_.emplace(std::move(key), c.out_buffer);
    int buffer = c.out_buffer;
    if (node_ >= 0 && used_once_.count(node_)) fusable_buffers_.insert(buffer);
    emitted_by_[buffer] = node_;
    p_.steps.push_back(std::move(c));
    return dense_view(buffer, shape);
  }

  // Materialises a strided view into a dense buffer (a copy step).
  View copy(const View& v, DType dtype) {
    KernelSpec c;
    c.kind = StepKind::copy;
    c.acc_dtype = c.out_dtype = dtype;
    for (size_t a = 0; a < v.shape.size(); ++a) {
      c.dims.push_back(kernel_dim(v.shape[a], DimRole::M));
      c.out_axes.push_back(static_cast<int>(a));
    }
    c.operands.push_back({v.buffer, v.strides, dtype});
    return emit(std::move(c));
  }

  const GraphIR& g_;
  const Fusion fusion_;
  KernelProgram p_;
  std::unordered_map<int, View> views_;
  std::unordered_map<std::string, int> computed_;  // step key -> its buffer
  std::unordered_set<int> inlined_;                 // element-wise nodes fused into their user
  std::unordered_map<int, AttentionMatch> attention_;  // product node -> its attention step
  std::unordered_set<int> absorbed_;                // nodes an attention step computes inside
  std::unordered_set<int> used_once_;               // nodes one other node reads, not outputs
  std::unordered_set<int> fusable_buffers_;         // results of steps of such nodes, read by no other
  std::unordered_map<int, int> emitted_by_;         // buffer -> the node whose step wrote it
  int node_ = -1;                                   // the node being lowered
};

}  // namespace

KernelProgram canonicalize_contractions(const GraphIR& g, const std::vector<int>& outputs, const Fusion& fusion) {
  return Canonicalizer(g, fusion).run(outputs);
}

}  // namespace tcc::ir
