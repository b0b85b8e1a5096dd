#include "ir/schedule/layout_copies.h"

#include "ir/kernel/coalesce_dims.h"
#include "ir/schedule/schedule.h"

#include <fmt/format.h>

#include <algorithm>

namespace tcc::ir::sched {

namespace {

bool indexes(const StridedOperand& op, int d) { return op.strides[d] != 0; }

// Whether every dim is indexed exactly as its role says (no broadcast, no dim summed over one
// operand only): the contractions a canonical GEMM layout exists for.
bool plain_roles(const KernelSpec& c) {
  for (size_t d = 0; d < c.dims.size(); ++d) {
    const bool a = indexes(c.operands[0], static_cast<int>(d)), b = indexes(c.operands[1], static_cast<int>(d));
    switch (c.dims[d].role) {
      case DimRole::B:
      case DimRole::K:
        if (!a || !b) return false;
        break;
      case DimRole::M:
        if (!a || b) return false;
        break;
      case DimRole::N:
        if (a || !b) return false;
        break;
    }
  }
  return true;
}

// An operand no GEMM dim of which is unit-stride (its only contiguous dim is a batch dim, or
// none is): every tile would gather it.
bool scattered(const KernelSpec& c, int i) {
  for (size_t d = 0; d < c.dims.size(); ++d)
    if (c.dims[d].role != DimRole::B && c.operands[i].strides[d] == 1) return false;
  return true;
}

// How many elements operand i holds (the extents of the dims it indexes).
double operand_elements(const KernelSpec& c, int i) {
  double e = 1;
  for (size_t d = 0; d < c.dims.size(); ++d)
    if (indexes(c.operands[i], static_cast<int>(d))) e *= static_cast<double>(c.dims[d].extent);
  return e;
}

// The K dims in the order an operand walks them (outermost first).
std::vector<int> k_order(const KernelSpec& c, int i) {
  std::vector<int> ks;
  for (size_t d = 0; d < c.dims.size(); ++d)
    if (c.dims[d].role == DimRole::K) ks.push_back(static_cast<int>(d));
  std::stable_sort(ks.begin(), ks.end(),
                   [&](int x, int y) { return c.operands[i].strides[x] > c.operands[i].strides[y]; });
  return ks;
}

std::vector<int> dims_of(const KernelSpec& c, DimRole role, const std::vector<int>& order) {
  std::vector<int> r;
  for (int d : order)
    if (c.dims[d].role == role) r.push_back(d);
  return r;
}

// Dense row-major strides of a layout (dims outermost first), per dim of c (0 elsewhere).
std::vector<int64_t> dense_strides(const KernelSpec& c, const std::vector<int>& layout) {
  std::vector<int64_t> s(c.dims.size(), 0);
  int64_t stride = 1;
  for (size_t a = layout.size(); a-- > 0;) {
    s[layout[a]] = stride;
    stride *= c.dims[layout[a]].extent;
  }
  return s;
}

// Whether the layouts below keep every symbol outermost (outer_symbol): at most one symbolic
// dim, a batch dim, the output's first (batch dims lead every layout, in output order).
bool symbols_lead(const KernelSpec& c) {
  int symbolic = 0;
  for (const KernelDim& d : c.dims) symbolic += d.symbolic() ? 1 : 0;
  if (symbolic == 0) return true;
  if (c.out_axes.empty()) return false;  // a scalar result: the symbols are summed
  const KernelDim& first = c.dims[c.out_axes.front()];
  return symbolic == 1 && first.symbolic() && first.role == DimRole::B;
}

class LayoutPass {
 public:
  LayoutPass(KernelProgram& p, const TargetModel& target) : p_(p), target_(target) {}

  void run() {
    std::vector<KernelSpec> steps;
    for (KernelSpec& c : p_.steps) {
      for (KernelSpec& s : rewrite(std::move(c))) steps.push_back(std::move(s));
    }
    p_.steps = std::move(steps);
  }

 private:
  // A dense temp holding c's dims in `layout` order (a symbolic dim is the first, see rewrite).
  int new_temp(const KernelSpec& c, DType dtype, const std::vector<int>& layout) {
    BufferInfo info{BufferInfo::Kind::temp, dtype, 1, "", {}};
    for (int d : layout) {
      if (c.dims[d].symbolic()) info.symbol = c.dims[d].shape_extent();
      else info.numel *= c.dims[d].extent;
    }
    p_.buffers.push_back(std::move(info));
    return static_cast<int>(p_.buffers.size()) - 1;
  }

  // A copy step of `from` (strides per dim of c) into a fresh dense buffer in `layout` order.
  KernelSpec copy_step(const KernelSpec& c, const StridedOperand& from, const std::vector<int>& layout, int out_buffer) {
    KernelSpec k;
    k.kind = StepKind::copy;
    k.acc_dtype = k.out_dtype = from.dtype;
    StridedOperand op{from.buffer, {}, from.dtype};
    for (size_t a = 0; a < layout.size(); ++a) {
      k.dims.push_back({c.dims[layout[a]].extent, DimRole::M, c.dims[layout[a]].symbol});
      k.out_axes.push_back(static_cast<int>(a));
      op.strides.push_back(from.strides[layout[a]]);
    }
    k.operands.push_back(std::move(op));
    k.out_buffer = out_buffer;
    return coalesce_dims(std::move(k));
  }

  std::vector<KernelSpec> rewrite(KernelSpec c) {
    if (c.kind != StepKind::contraction || c.operands.size() != 2 || !unsupported_by_lowering(c).empty() ||
        !plain_roles(c) || !symbols_lead(c))
      return {std::move(c)};
    // A GEMM form needs a dim summed over both operands and a dim of rows or columns (dot
    // products, batch and K only, are already their own kernel).
    bool has_k = false, has_free = false;
    for (const KernelDim& d : c.dims) {
      has_k = has_k || d.role == DimRole::K;
      has_free = has_free || d.role == DimRole::M || d.role == DimRole::N;
    }
    if (!has_k || !has_free) return {std::move(c)};
    const std::optional<GemmPlan> plan = plan_gemm(c, target_);
    const bool gemm = plan.has_value();
    // The output's unit-stride dim is a batch dim (read by both operands): no GEMM writes it.
    const bool copy_out = !gemm && !c.out_axes.empty() && c.dims[c.out_axes.back()].role == DimRole::B;
    bool copy_in[2] = {scattered(c, 0), scattered(c, 1)};
    // An A the plan would pack transposed (contiguous along its rows, not k) element by
    // element: a transposing copy into [batch, rows, depth] is faster, and the GEMM then reads
    // it in place.
    if (plan && plan->pack_a) copy_in[plan->a] = true;
    // K dims the operands walk in different orders cannot merge into one K: copy the smaller
    // operand into the other's order.
    const std::vector<int> k0 = k_order(c, 0), k1 = k_order(c, 1);
    if (k0.size() >= 2 && k0 != k1 && !copy_in[0] && !copy_in[1])
      copy_in[operand_elements(c, 0) <= operand_elements(c, 1) ? 0 : 1] = true;
    if (!copy_out && !copy_in[0] && !copy_in[1]) return {std::move(c)};
    // With a GEMM plan already, copies must pay: a few flops per element copied.
    if (gemm) {
      double copied = 0;
      for (int i = 0; i < 2; ++i)
        if (copy_in[i]) copied += operand_elements(c, i);
      if (c.flops() < target_.tuning.layout_copy_min_flops_per_element * copied) return {std::move(c)};
    }

    const std::vector<int> b = dims_of(c, DimRole::B, c.out_axes), m = dims_of(c, DimRole::M, c.out_axes),
                           n = dims_of(c, DimRole::N, c.out_axes);
    const std::vector<int> k = copy_in[1] ? k0 : k1;  // the order of the operand that stays
    auto concat = [](std::initializer_list<const std::vector<int>*> parts) {
      std::vector<int> r;
      for (const std::vector<int>* p : parts) r.insert(r.end(), p->begin(), p->end());
      return r;
    };
    // The operand that reads the output's unit-stride dim plays B, [batch, depth, columns];
    // the other plays A, [batch, rows, depth].
    const int b_side = copy_out || c.out_axes.empty() || indexes(c.operands[1], c.out_axes.back()) ? 1 : 0;
    std::vector<KernelSpec> steps;
    std::vector<int> layouts[2];
    for (int i = 0; i < 2; ++i) {
      const std::vector<int>& free = i == 0 ? m : n;
      layouts[i] = i == b_side ? concat({&b, &k, &free}) : concat({&b, &free, &k});
    }
    for (int i = 0; i < 2; ++i) {
      if (!copy_in[i]) continue;
      const int buffer = new_temp(c, c.operands[i].dtype, layouts[i]);
      steps.push_back(copy_step(c, c.operands[i], layouts[i], buffer));
      c.operands[i] = {buffer, dense_strides(c, layouts[i]), c.operands[i].dtype};
    }
    if (!copy_out) {
      steps.push_back(coalesce_dims(std::move(c)));
      return steps;
    }
    // Computed into a temp laid out [batch, rows, columns], then transposed into place.
    const std::vector<int> canonical = concat({&b, &m, &n});
    const int temp = new_temp(c, c.out_dtype, canonical);
    const int final_out = c.out_buffer;
    const std::vector<int> original = c.out_axes;
    KernelSpec gemm_step = c;
    gemm_step.out_axes = canonical;
    gemm_step.out_buffer = temp;
    steps.push_back(coalesce_dims(std::move(gemm_step)));
    steps.push_back(copy_step(c, {temp, dense_strides(c, canonical), c.out_dtype}, original, final_out));
    return steps;
  }

  KernelProgram& p_;
  const TargetModel& target_;
};

}  // namespace

KernelProgram layout_copies(KernelProgram p, const TargetModel& target) {
  LayoutPass(p, target).run();
  return p;
}

}  // namespace tcc::ir::sched
