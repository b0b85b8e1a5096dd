#include "ir/kernel/kernel_spec.h"

#include "ir/graph/graph_ir.h"
#include "ir/symbolic_extents.h"

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

int64_t KernelDim::shape_extent() const { return symbolic() ? tcc::dim(symbol) : extent; }

int64_t BufferInfo::planned_numel() const { return symbol ? numel * kSymbolPlanningExtent : numel; }

Shape KernelSpec::out_shape() const {
  Shape s;
  for (int d : out_axes) s.push_back(dims.at(d).shape_extent());
  return s;
}

std::vector<int64_t> KernelSpec::out_strides() const {
  std::vector<int64_t> strides(dims.size(), 0);
  int64_t stride = 1;
  for (int a = static_cast<int>(out_axes.size()) - 1; a >= 0; --a) {
    strides[out_axes[a]] = stride;
    stride *= dims[out_axes[a]].extent;
  }
  return strides;
}

double KernelSpec::flops() const {
  if (kind == StepKind::copy) return 0;
  double points = 1;
  bool sums = false;
  for (const KernelDim& d : dims) {
    points *= static_cast<double>(d.extent);
    sums = sums || d.role == DimRole::K;
  }
  if (kind == StepKind::elementwise) return points * static_cast<double>(function_count(program));
  if (kind == StepKind::attention) {
    // Both products (a multiply and an add each), the score expression and the softmax's max,
    // subtract, exp and sum per score.
    const AttentionDims a = attention_dims();
    const double scores = points / static_cast<double>(dims[a.e].extent * dims[a.d].extent);
    return 2 * scores * static_cast<double>(dims[a.e].extent + dims[a.d].extent) +
           scores * static_cast<double>(function_count(program) + 4);
  }
  double per_output = 1;
  for (int d : out_axes) per_output *= static_cast<double>(dims[d].extent);
  return points * static_cast<double>(operands.size() - 1 + (sums ? 1 : 0)) +
         per_output * static_cast<double>(function_count(epilogue));
}

double KernelSpec::bytes() const {
  double out = static_cast<double>(dtype_size(out_dtype));
  for (int d : out_axes) out *= static_cast<double>(dims[d].extent);
  for_each_read([&](const StridedOperand& op) {
    double elems = 1;
    for (size_t d = 0; d < dims.size(); ++d)
      if (op.strides[d] != 0) elems *= static_cast<double>(dims[d].extent);
    out += elems * static_cast<double>(dtype_size(op.dtype));
  });
  return out;
}

std::optional<DType> KernelSpec::uniform_dtype() const {
  bool uniform = true;
  for_each_read([&](const StridedOperand& op) { uniform = uniform && op.dtype == out_dtype; });
  if (!uniform) return std::nullopt;
  if (kind != StepKind::elementwise && acc_dtype != out_dtype) return std::nullopt;
  return out_dtype;
}

std::string unsupported_by_lowering(const KernelSpec& c) {
  // An element-wise expression converts where it says (cast), and so does a contraction's
  // epilogue, with an accumulator buffer when the output's dtype is not the sums'. Otherwise
  // operands, accumulator and output have one dtype.
  if (c.kind == StepKind::elementwise) return "";
  const bool operands_uniform =
      std::all_of(c.operands.begin(), c.operands.end(), [&](const StridedOperand& op) { return op.dtype == c.acc_dtype; });
  const bool converts = c.kind == StepKind::contraction && !c.epilogue.empty() && c.acc_buffer >= 0;
  if (!operands_uniform || (c.out_dtype != c.acc_dtype && !converts))
    return "operands, accumulator and output of different dtypes";
  return "";
}

std::vector<int> KernelSpec::arg_buffers() const {
  std::vector<int> buffers{out_buffer};
  for_each_read([&](const StridedOperand& op) { buffers.push_back(op.buffer); });
  if (acc_buffer >= 0) buffers.push_back(acc_buffer);
  return buffers;
}

std::vector<std::string> KernelSpec::scalar_params() const {
  std::vector<std::string> names;
  for (const KernelDim& d : dims)
    if (d.symbolic() && std::find(names.begin(), names.end(), d.symbol) == names.end()) names.push_back(d.symbol);
  return names;
}

// Fields appear only where a spec uses the wider form (a copy, mixed dtypes, a symbol, an
// epilogue): today's kernels keep the descriptors, hence the cache keys, they had.
std::vector<std::pair<std::string, std::string>> KernelSpec::descriptor_fields() const {
  std::string roles, extents, strides;
  for (size_t d = 0; d < dims.size(); ++d) {
    roles += role_letter(dims[d].role);
    extents += fmt::format("{}{}", d ? "," : "", dims[d].symbolic() ? dims[d].symbol : std::to_string(dims[d].extent));
  }
  for (const StridedOperand& op : operands) strides += fmt::format("{}[{}]", strides.empty() ? "" : " ", fmt::join(op.strides, ","));
  std::vector<std::pair<std::string, std::string>> fields;
  if (kind == StepKind::copy) fields.emplace_back("kind", "copy");
  if (kind == StepKind::elementwise) fields.emplace_back("kind", "elementwise");
  if (kind == StepKind::attention) fields.emplace_back("kind", "attention");
  if (std::optional<DType> one = uniform_dtype()) {
    fields.emplace_back("dtype", std::string(dtype_name(*one)));
  } else {
    std::string in;
    for (const StridedOperand& op : operands) in += fmt::format("{}{}", in.empty() ? "" : ",", dtype_name(op.dtype));
    fields.emplace_back("dtype", fmt::format("in({}) acc({}) out({})", in, dtype_name(acc_dtype), dtype_name(out_dtype)));
  }
  fields.emplace_back("roles", roles);
  fields.emplace_back("extents", extents);
  fields.emplace_back("out", fmt::format("{}", fmt::join(out_axes, ",")));
  fields.emplace_back("strides", strides);
  if (kind == StepKind::elementwise) fields.emplace_back("expr", elem_program_str(program));
  if (kind == StepKind::attention) fields.emplace_back("score", elem_program_str(program));
  if (combine != ElemOp::add) fields.emplace_back("combine", std::string(reduction_name(combine)));
  if (!epilogue.empty()) {
    std::string reads;
    for (const StridedOperand& op : epilogue_operands) reads += fmt::format(" [{}]", fmt::join(op.strides, ","));
    fields.emplace_back("epilogue", elem_program_str(epilogue) + reads);
  }
  return fields;
}

std::string join_descriptor(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string s;
  for (const auto& [name, value] : fields) s += fmt::format("{}{}={}", s.empty() ? "" : " ", name, value);
  return s;
}

std::string KernelSpec::descriptor() const { return join_descriptor(descriptor_fields()); }

std::string KernelProgram::str() const {
  std::string s;
  for (size_t b = 0; b < buffers.size(); ++b) {
    const BufferInfo& info = buffers[b];
    if (info.kind == BufferInfo::Kind::temp) continue;
    s += fmt::format("%b{} = {}{} : {}[{}{}]\n", b, info.kind == BufferInfo::Kind::input ? "input" : "constant",
                     info.name.empty() ? "" : " \"" + info.name + "\"", dtype_name(info.dtype),
                     info.symbol ? dim_str(info.symbol) + "x" : "", info.numel);
  }
  for (const KernelSpec& c : steps) {
    const char* kind = c.kind == StepKind::copy          ? "copy"
                       : c.kind == StepKind::elementwise ? "elementwise"
                       : c.kind == StepKind::attention   ? "attention"
                                                         : "contraction";
    s += fmt::format("%b{} = {} {} dims(", c.out_buffer, kind, dtype_name(c.out_dtype));
    for (size_t d = 0; d < c.dims.size(); ++d)
      s += fmt::format("{}d{}:{}{}", d ? ", " : "", d, role_letter(c.dims[d].role), dim_str(c.dims[d].shape_extent()));
    std::vector<std::string> outs;
    for (int d : c.out_axes) outs.push_back(fmt::format("d{}", d));
    s += fmt::format(") out({})", fmt::join(outs, ","));
    for (const StridedOperand& op : c.operands)
      s += fmt::format(" %b{}[strides {}]", op.buffer, fmt::join(op.strides, ","));
    if (c.kind == StepKind::elementwise) s += fmt::format(" {}", elem_program_str(c.program));
    if (c.kind == StepKind::attention) s += fmt::format(" score({})", elem_program_str(c.program));
    if (c.combine != ElemOp::add) s += fmt::format(" combine={}", reduction_name(c.combine));
    if (!c.epilogue.empty()) {
      s += fmt::format(" epilogue({}", elem_program_str(c.epilogue));
      for (const StridedOperand& op : c.epilogue_operands) s += fmt::format(" %b{}[strides {}]", op.buffer, fmt::join(op.strides, ","));
      s += ")";
    }
    if (c.acc_buffer >= 0) s += fmt::format(" acc(%b{})", c.acc_buffer);
    s += "\n";
  }
  for (size_t o = 0; o < outputs.size(); ++o)
    s += fmt::format("output {} = %b{} as {}\n", o, outputs[o].buffer,
                     type_str(buffers[outputs[o].buffer].dtype, outputs[o].shape));
  return s;
}

namespace {

// Whether a dense array of `shape` is exactly the buffer (the same elements, the same symbol).
bool fits(const Shape& shape, const BufferInfo& b) {
  const int64_t symbol = has_symbols(shape) ? outer_symbol(shape, "a step's result") : 0;
  return checked_static_numel(shape) == b.numel && symbol == b.symbol;
}

}  // namespace

void verify_program(const KernelProgram& p) {
  std::vector<bool> written(p.buffers.size(), false);
  for (size_t b = 0; b < p.buffers.size(); ++b) written[b] = p.buffers[b].kind != BufferInfo::Kind::temp;
  auto fail = [](const std::string& why) { throw InternalError("verify_program: " + why); };
  for (const KernelSpec& c : p.steps) {
    c.for_each_read([&](const StridedOperand& op) {
      if (op.buffer < 0 || op.buffer >= static_cast<int>(p.buffers.size())) fail("operand buffer out of range");
      if (!written[op.buffer]) fail(fmt::format("%b{} read before written", op.buffer));
      if (op.strides.size() != c.dims.size()) fail("stride count differs from dim count");
      if (p.buffers[op.buffer].dtype != op.dtype) fail("operand dtype differs from its buffer's");
      // The offsets the loops can reach, from the buffer's origin, must lie inside the buffer.
      int64_t first = 0, last = 0;
      bool any_empty = false;
      const int64_t origin = p.buffers[op.buffer].origin;
      for (size_t d = 0; d < c.dims.size(); ++d) {
        if (op.strides[d] < 0 && origin == 0) fail("negative stride");
        if (c.dims[d].extent == 0) any_empty = true;
        else (op.strides[d] < 0 ? first : last) += (c.dims[d].extent - 1) * op.strides[d];
      }
      // Symbolic dims at their planning extent, which buffers are sized for too.
      if (!any_empty && (origin + first < 0 || origin + last >= p.buffers[op.buffer].planned_numel()))
        fail(fmt::format("%b{} accessed from {} to {} but holds {}", op.buffer, origin + first, origin + last,
                         p.buffers[op.buffer].planned_numel()));
    });
    if (written[c.out_buffer]) fail(fmt::format("%b{} written twice", c.out_buffer));
    if (p.buffers[c.out_buffer].dtype != c.out_dtype) fail("output dtype differs from its buffer's");
    const bool sums = std::any_of(c.dims.begin(), c.dims.end(), [](const KernelDim& d) { return d.role == DimRole::K; });
    if (c.kind == StepKind::copy && (c.operands.size() != 1 || sums)) fail("a copy has one operand and sums nothing");
    if (c.combine != ElemOp::add && (c.kind != StepKind::contraction || c.operands.size() != 1 || reduction_name(c.combine).empty()))
      fail("only a one-operand contraction combines by max or min");
    // Each step of an expression reads an operand below `operands` or earlier steps.
    auto check_expression = [&](const std::vector<ElemInstr>& program, size_t operands) {
      for (size_t i = 0; i < program.size(); ++i) {
        const ElemInstr& in = program[i];
        const bool bad_operand = in.operand >= static_cast<int>(operands);
        const bool bad_args = in.operand < 0 && (static_cast<int>(in.args.size()) != elem_op_info(in.op).arity ||
                                                 std::any_of(in.args.begin(), in.args.end(), [&](int a) { return a < 0 || a >= static_cast<int>(i); }));
        if (bad_operand || bad_args) fail(fmt::format("a malformed element-wise expression: {}", elem_program_str(program)));
      }
    };
    if (c.kind == StepKind::elementwise) {
      if (sums) fail("an element-wise step sums nothing");
      if (c.program.empty()) fail("an element-wise step without an expression");
      check_expression(c.program, c.operands.size());
    }
    if (c.kind == StepKind::attention) {
      static constexpr DimRole roles[] = {DimRole::M, DimRole::K, DimRole::K, DimRole::N};
      if (c.dims.size() < 4 || c.operands.size() < 3 || c.program.empty())
        fail("an attention step has dims i, j, e, d, operands q, k, v and a score expression");
      for (size_t t = 0; t < c.dims.size(); ++t)
        if (c.dims[t].role != (t + 4 < c.dims.size() ? DimRole::B : roles[t + 4 - c.dims.size()]))
          fail("an attention step's dims are the batch dims, then i, j, e, d");
      check_expression(c.program, c.operands.size() - 2);
    }
    if (!c.epilogue.empty() || !c.epilogue_operands.empty()) {
      if (c.kind != StepKind::contraction) fail("only a contraction has an epilogue");
      if (c.epilogue.empty()) fail("epilogue operands without an epilogue");
      check_expression(c.epilogue, c.epilogue_operands.size() + 1);
      for (const StridedOperand& op : c.epilogue_operands)
        for (size_t d = 0; d < c.dims.size(); ++d)
          if (c.dims[d].role == DimRole::K && op.strides[d] != 0) fail("an epilogue operand indexed by a summed dim");
    }
    if (!fits(c.out_shape(), p.buffers[c.out_buffer])) fail("output size differs from its buffer");
    written[c.out_buffer] = true;
    if (c.acc_buffer >= 0) {
      if (c.kind != StepKind::contraction || c.epilogue.empty() || c.acc_dtype == c.out_dtype)
        fail("only a contraction whose epilogue converts its sums has an accumulator buffer");
      if (written[c.acc_buffer]) fail(fmt::format("%b{} written twice", c.acc_buffer));
      if (p.buffers[c.acc_buffer].dtype != c.acc_dtype) fail("accumulator dtype differs from its buffer's");
      if (!fits(c.out_shape(), p.buffers[c.acc_buffer])) fail("accumulator size differs from the output's");
      written[c.acc_buffer] = true;
    }
  }
  for (const OutputView& o : p.outputs)
    if (!written[o.buffer] || !fits(o.shape, p.buffers[o.buffer])) fail("bad output view");
}

}  // namespace tcc::ir
