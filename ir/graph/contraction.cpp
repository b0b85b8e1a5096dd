#include "ir/graph/contraction.h"

#include <tcc/error.h>

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

namespace tcc::ir {

char role_letter(DimRole r) {
  switch (r) {
    case DimRole::B: return 'B';
    case DimRole::M: return 'M';
    case DimRole::N: return 'N';
    case DimRole::K: return 'K';
  }
  return '?';
}

Shape Contraction::out_shape() const {
  Shape s;
  for (int d : out_axes) s.push_back(dims.at(d).extent);
  return s;
}

std::vector<int64_t> Contraction::out_strides() const {
  std::vector<int64_t> strides(dims.size(), 0);
  int64_t stride = 1;
  for (int a = static_cast<int>(out_axes.size()) - 1; a >= 0; --a) {
    strides[out_axes[a]] = stride;
    stride *= dims[out_axes[a]].extent;
  }
  return strides;
}

std::vector<std::pair<std::string, std::string>> Contraction::descriptor_fields() const {
  std::string roles, extents, strides;
  for (size_t d = 0; d < dims.size(); ++d) {
    roles += role_letter(dims[d].role);
    extents += fmt::format("{}{}", d ? "," : "", dims[d].extent);
  }
  for (const StridedOperand& op : operands) strides += fmt::format("{}[{}]", strides.empty() ? "" : " ", fmt::join(op.strides, ","));
  return {{"dtype", std::string(dtype_name(dtype))},
          {"roles", roles},
          {"extents", extents},
          {"out", fmt::format("{}", fmt::join(out_axes, ","))},
          {"strides", strides}};
}

std::string join_descriptor(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string s;
  for (const auto& [name, value] : fields) s += fmt::format("{}{}={}", s.empty() ? "" : " ", name, value);
  return s;
}

std::string Contraction::descriptor() const { return join_descriptor(descriptor_fields()); }

std::string ContractionProgram::str() const {
  std::string s;
  for (size_t b = 0; b < buffers.size(); ++b) {
    const BufferInfo& info = buffers[b];
    if (info.kind == BufferInfo::Kind::temp) continue;
    s += fmt::format("%b{} = {}{} : {}[{}]\n", b, info.kind == BufferInfo::Kind::input ? "input" : "constant",
                     info.name.empty() ? "" : " \"" + info.name + "\"", dtype_name(info.dtype), info.numel);
  }
  for (const Contraction& c : steps) {
    s += fmt::format("%b{} = contraction {} dims(", c.out_buffer, dtype_name(c.dtype));
    for (size_t d = 0; d < c.dims.size(); ++d)
      s += fmt::format("{}d{}:{}{}", d ? ", " : "", d, role_letter(c.dims[d].role), c.dims[d].extent);
    std::vector<std::string> outs;
    for (int d : c.out_axes) outs.push_back(fmt::format("d{}", d));
    s += fmt::format(") out({})", fmt::join(outs, ","));
    for (const StridedOperand& op : c.operands)
      s += fmt::format(" %b{}[strides {}]", op.buffer, fmt::join(op.strides, ","));
    s += "\n";
  }
  for (size_t o = 0; o < outputs.size(); ++o)
    s += fmt::format("output {} = %b{} as {}\n", o, outputs[o].buffer,
                     type_str(buffers[outputs[o].buffer].dtype, outputs[o].shape));
  return s;
}

namespace {

// What a graph value is after canonicalisation: a strided view of one buffer.
struct View {
  int buffer = -1;
  Shape shape;
  std::vector<int64_t> strides;  // elements, per axis
};

std::vector<int64_t> dense_strides(const Shape& shape) {
  std::vector<int64_t> s(shape.size());
  int64_t stride = 1;
  for (int a = static_cast<int>(shape.size()) - 1; a >= 0; --a) {
    s[a] = stride;
    stride *= shape[a];
  }
  return s;
}

bool is_dense(const View& v) {
  if (checked_numel(v.shape) == 0) return true;
  std::vector<int64_t> dense = dense_strides(v.shape);
  for (size_t a = 0; a < v.shape.size(); ++a)
    if (v.shape[a] != 1 && v.strides[a] != dense[a]) return false;
  return true;
}

class Canonicalizer {
 public:
  explicit Canonicalizer(const GraphIR& g) : g_(g) {}

  ContractionProgram run(const std::vector<int>& outputs) {
    for (int id : reachable_nodes(g_, outputs)) views_[id] = lower_node(g_.node(id));
    for (int o : outputs) {
      View v = views_.at(o);
      bool whole = checked_numel(v.shape) == p_.buffers[v.buffer].numel;
      // Outputs are dense and never alias an input the caller owns.
      if (!is_dense(v) || !whole || p_.buffers[v.buffer].kind != BufferInfo::Kind::temp) v = copy(v, g_.node(o).dtype);
      p_.outputs.push_back({v.buffer, v.shape});
    }
    return std::move(p_);
  }

 private:
  int new_buffer(BufferInfo info) {
    p_.buffers.push_back(std::move(info));
    return static_cast<int>(p_.buffers.size()) - 1;
  }

  View dense_view(int buffer, const Shape& shape) { return {buffer, shape, dense_strides(shape)}; }

  View lower_node(const Node& n) {
    switch (n.op) {
      case OpKind::input:
        return dense_view(new_buffer({BufferInfo::Kind::input, n.dtype, checked_numel(n.shape), n.name, {}}), n.shape);
      case OpKind::constant:
        return dense_view(new_buffer({BufferInfo::Kind::constant, n.dtype, checked_numel(n.shape), "", n.data}),
                          n.shape);
      case OpKind::reshape: {
        View in = views_.at(n.inputs[0]);
        if (!is_dense(in)) in = copy(in, n.dtype);
        return dense_view(in.buffer, n.shape);
      }
      default:
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

    Contraction c;
    c.dtype = n.dtype;
    c.out_axes = spec.out;
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
      c.dims.push_back({spec.extents[d], role});
    }
    for (size_t i = 0; i < in.size(); ++i) c.operands.push_back({in[i].buffer, loop_strides(in[i], spec.operands[i], D)});
    return emit(std::move(c));
  }

  // Adds a step, or reuses the buffer of an identical one (same kernel, same operands): graph
  // nodes that differ only in how they were spelled (matmul vs batch_dot) compute once.
  View emit(Contraction c) {
    Shape shape = c.out_shape();
    std::string key = c.descriptor();
    for (const StridedOperand& op : c.operands) key += fmt::format(" %b{}", op.buffer);
    if (auto it = computed_.find(key); it != computed_.end()) return dense_view(it->second, shape);
    c.out_buffer = new_buffer({BufferInfo::Kind::temp, c.dtype, checked_numel(shape), "", {}});
    computed_.emplace(std::move(key), c.out_buffer);
    int buffer = c.out_buffer;
    p_.steps.push_back(std::move(c));
    return dense_view(buffer, shape);
  }

  // Materialises a strided view into a dense buffer (a contraction with one operand, no K).
  View copy(const View& v, DType dtype) {
    Contraction c;
    c.dtype = dtype;
    for (size_t a = 0; a < v.shape.size(); ++a) {
      c.dims.push_back({v.shape[a], DimRole::M});
      c.out_axes.push_back(static_cast<int>(a));
    }
    c.operands.push_back({v.buffer, v.strides});
    return emit(std::move(c));
  }

  const GraphIR& g_;
  ContractionProgram p_;
  std::unordered_map<int, View> views_;
  std::unordered_map<std::string, int> computed_;  // step key -> its buffer
};

}  // namespace

ContractionProgram canonicalize_contractions(const GraphIR& g, const std::vector<int>& outputs) {
  return Canonicalizer(g).run(outputs);
}

void verify_program(const ContractionProgram& p) {
  std::vector<bool> written(p.buffers.size(), false);
  for (size_t b = 0; b < p.buffers.size(); ++b) written[b] = p.buffers[b].kind != BufferInfo::Kind::temp;
  auto fail = [](const std::string& why) { throw InternalError("verify_program: " + why); };
  for (const Contraction& c : p.steps) {
    for (const StridedOperand& op : c.operands) {
      if (op.buffer < 0 || op.buffer >= static_cast<int>(p.buffers.size())) fail("operand buffer out of range");
      if (!written[op.buffer]) fail(fmt::format("%b{} read before written", op.buffer));
      if (op.strides.size() != c.dims.size()) fail("stride count differs from dim count");
      if (p.buffers[op.buffer].dtype != c.dtype) fail("operand dtype differs");
      // The largest offset the loops can reach must lie inside the buffer.
      int64_t last = 0;
      bool any_empty = false;
      for (size_t d = 0; d < c.dims.size(); ++d) {
        if (op.strides[d] < 0) fail("negative stride");
        if (c.dims[d].extent == 0) any_empty = true;
        else last += (c.dims[d].extent - 1) * op.strides[d];
      }
      if (!any_empty && last >= p.buffers[op.buffer].numel)
        fail(fmt::format("%b{} accessed at {} but holds {}", op.buffer, last, p.buffers[op.buffer].numel));
    }
    if (written[c.out_buffer]) fail(fmt::format("%b{} written twice", c.out_buffer));
    if (checked_numel(c.out_shape()) != p.buffers[c.out_buffer].numel) fail("output size differs from its buffer");
    written[c.out_buffer] = true;
  }
  for (const OutputView& o : p.outputs)
    if (!written[o.buffer] || checked_numel(o.shape) != p.buffers[o.buffer].numel) fail("bad output view");
}

}  // namespace tcc::ir
