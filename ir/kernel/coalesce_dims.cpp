#include "ir/kernel/coalesce_dims.h"

#include <algorithm>

namespace tcc::ir {

namespace {

// Removes dim `d`: its strides and its place in the output.
void erase_dim(KernelSpec& c, int d) {
  c.dims.erase(c.dims.begin() + d);
  c.for_each_read([&](StridedOperand& op) { op.strides.erase(op.strides.begin() + d); });
  c.out_axes.erase(std::remove(c.out_axes.begin(), c.out_axes.end(), d), c.out_axes.end());
  for (int& a : c.out_axes)
    if (a > d) --a;
}

// Whether `outer` and `inner` can be walked as one dim of extent outer * inner.
bool mergeable(const KernelSpec& c, const std::vector<int64_t>& out_strides, int outer, int inner) {
  const KernelDim &o = c.dims[outer], &i = c.dims[inner];
  if (o.role != i.role || o.symbolic() || i.symbolic()) return false;
  // In the output, adjacent and in this order (dense row-major makes the stride test enough
  // for output dims; summed dims have stride 0 in both), and likewise in every operand.
  if (out_strides[outer] != out_strides[inner] * i.extent) return false;
  bool same = true;
  c.for_each_read([&](const StridedOperand& op) { same = same && op.strides[outer] == op.strides[inner] * i.extent; });
  return same;
}

}  // namespace

KernelSpec coalesce_dims(KernelSpec c) {
  for (const KernelDim& d : c.dims)
    if (d.extent == 0) return c;  // nothing runs; keep the spec as written
  // An attention step's last four dims have fixed places (attention_dims): only its batch
  // dims merge.
  const size_t fixed = c.kind == StepKind::attention ? 4 : 0;
  for (int d = static_cast<int>(c.dims.size() - fixed) - 1; d >= 0; --d)
    if (c.dims[d].extent == 1 && !c.dims[d].symbolic() && c.dims.size() > 1) erase_dim(c, d);
  for (bool changed = true; changed;) {
    changed = false;
    const std::vector<int64_t> out_strides = c.out_strides();
    for (size_t outer = 0; outer + fixed < c.dims.size() && !changed; ++outer)
      for (size_t inner = 0; inner + fixed < c.dims.size() && !changed; ++inner) {
        if (outer == inner || !mergeable(c, out_strides, static_cast<int>(outer), static_cast<int>(inner))) continue;
        c.dims[inner].extent *= c.dims[outer].extent;
        erase_dim(c, static_cast<int>(outer));
        changed = true;
      }
  }
  return c;
}

KernelProgram coalesce_dims(KernelProgram p) {
  for (KernelSpec& c : p.steps) c = coalesce_dims(std::move(c));
  return p;
}

}  // namespace tcc::ir
