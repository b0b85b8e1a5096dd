// Pass: expands each pack_panels statement of a GEMM kernel into the copy the plan chose:
// panels wholly inside the operand as plain contiguous copies (vectorised where rows are
// contiguous), the panel that crosses the edge checked and zero-padded, and a B stored
// transposed by lanes x lanes transposes in registers (GemmPlan::pack_b).
#include "ir/loop/pack.h"

#include "ir/loop/index_math.h"

namespace tcc::ir::loop {

namespace {

using sched::GemmPlan;

class Packer : public IRMutator {
 public:
  Packer(const KernelSpec& c, const GemmPlan& p) : c_(c), p_(p), dtype_(c.acc_dtype) {
    const sched::GemmSizes sizes = sched::gemm_sizes(c, p);
    M_ = sizes.M, N_ = sizes.N, K_ = sizes.K;
  }

  using IRMutator::mutate;
  Stmt mutate(const Stmt& s) override {
    if (s->kind != StmtKind::pack_panels) return IRMutator::mutate(s);
    const PackPanels& p = *s->pack;
    if (p.operand == PackPanels::Operand::b) return pack_b(p.dst, p.src, p.src_offset, p.first_panel, p.k_block, p.kc, p.panels);
    return pack_a(p.dst, p.src, p.src_offset, p.first_panel, p.k_block, p.kc, p.panels);
  }

 private:
  int64_t stride(int operand, int dim) const { return sched::plan_stride(c_, operand, dim); }

  // Copies a kc x nc block of B into nr-wide panels, k-major. Panels wholly inside B are
  // plain contiguous copies (vectorised); only the panel that crosses N checks each column and
  // pads with zeros. `block0` is the first panel of the block, `panels` how many it has.
  Stmt pack_b(const Buffer& dst, const Buffer& src, const Expr& b0, const Expr& block0, const Expr& pc, const Expr& kc,
              const Expr& panels) const {
    const int64_t full_panels = N_ / p_.nr;
    Expr full = min(panels, sub(c64(full_panels), block0));  // >= 0: blocks start at panel multiples
    auto copy = [&](const Expr& first, const Expr& count, bool checked) {
      Var jt = new_var(checked ? "pb_edge" : "pb_jt"), kk = new_var("pb_k"), col = new_var("pb_c");
      Expr panel = plus(first, v(jt));  // within the block
      Expr n = plus(times(plus(block0, panel), p_.nr), v(col));  // global column
      Expr k = plus(times(pc, p_.kc), v(kk));
      Expr column = checked ? min(n, c64(N_ - 1)) : n;
      Expr value = load(src, plus(b0, plus(times(k, stride(p_.b, p_.k)), times(column, stride(p_.b, p_.n)))));
      if (checked) value = select_lt(n, c64(N_), value, zero(dtype_));
      Expr at = plus(times(panel, p_.kc * p_.nr), plus(times(v(kk), p_.nr), v(col)));
      // Unit-stride rows copy as vectors. Otherwise (a transposed B) scalar: the nr columns
      // are read side by side, each line reused over the next k steps, and written in order;
      // vectorising would gather.
      const bool rows_contiguous = stride(p_.b, p_.n) == 1 && !checked;
      if (!checked && p_.pack_b == GemmPlan::PackB::transpose) return for_loop(jt, count, packing_kind(), pack_b_transposed(dst, src, b0, block0, panel, pc, kc));
      Stmt st = for_loop(col, c64(p_.nr), rows_contiguous ? ForKind::vectorized : ForKind::scalar, store(dst, at, value));
      st = for_loop(kk, kc, rows_contiguous ? ForKind::serial : ForKind::scalar, st);
      return for_loop(jt, count, checked ? ForKind::serial : packing_kind(), st);
    };
    if (N_ % p_.nr == 0) return copy(c64(0), panels, false);  // no panel crosses N
    return block({copy(c64(0), full, false), copy(full, sub(panels, full), true)});
  }

  // One panel (kc x nr, k-major) of a transposed B, `panel` within the block that starts at
  // panel `block0`: the K block in whole lanes x lanes blocks, then its last kc % lanes rows one
  // element at a time. K blocks are equal but for the last (GemmPlan), so the count of whole
  // lane blocks is one of two constants.
  Stmt pack_b_transposed(const Buffer& dst, const Buffer& src, const Expr& b0, const Expr& block0, const Expr& panel,
                         const Expr& pc, const Expr& kc) const {
    const int64_t L = p_.lanes, ld = stride(p_.b, p_.n);
    const int64_t last_block = (K_ - 1) / p_.kc, last_kc = K_ - last_block * p_.kc;
    Expr k_blocks = p_.kc / L == last_kc / L ? c64(p_.kc / L)
                                             : select_lt(pc, c64(last_block), c64(p_.kc / L), c64(last_kc / L));
    Var kb = new_var("pt_k"), cb = new_var("pt_c"), kk = new_var("pt_kr"), col = new_var("pt_cr");
    Expr n0 = times(plus(block0, panel), p_.nr);  // the panel's first column
    Expr k0 = times(pc, p_.kc);
    Expr dst_panel = times(panel, p_.kc * p_.nr);
    Stmt blocks = transpose_block(dst, plus(dst_panel, plus(times(v(kb), L * p_.nr), times(v(cb), L))), p_.nr, src,
                                  plus(b0, plus(plus(k0, times(v(kb), L)), times(plus(n0, times(v(cb), L)), ld))), ld,
                                  static_cast<int>(L));
    blocks = for_loop(kb, k_blocks, ForKind::serial, for_loop(cb, c64(p_.nr / L), ForKind::serial, blocks));
    Expr k_rest0 = times(k_blocks, L);
    Expr value = load(src, plus(b0, plus(plus(k0, plus(k_rest0, v(kk))), times(plus(n0, v(col)), ld))));
    Stmt rest = store(dst, plus(dst_panel, plus(times(plus(k_rest0, v(kk)), p_.nr), v(col))), value);
    rest = for_loop(kk, sub(kc, k_rest0), ForKind::scalar, for_loop(col, c64(p_.nr), ForKind::scalar, rest));
    return block({blocks, rest});
  }

  // Copies an mc x kc block of A into mr-tall panels, k-major, the same way: plain copies for
  // panels inside A, checked and zero-padded for the one that crosses M.
  Stmt pack_a(const Buffer& dst, const Buffer& src, const Expr& a0, const Expr& block0, const Expr& pc, const Expr& kc,
              const Expr& panels) const {
    const int64_t full_panels = M_ / p_.mr;
    Expr full = min(panels, sub(c64(full_panels), block0));
    auto copy = [&](const Expr& first, const Expr& count, bool checked) {
      Var it = new_var(checked ? "pa_edge" : "pa_it"), kk = new_var("pa_k"), row = new_var("pa_r");
      Expr panel = plus(first, v(it));
      Expr m = plus(times(plus(block0, panel), p_.mr), v(row));
      Expr k = plus(times(pc, p_.kc), v(kk));
      Expr r = checked ? min(m, c64(M_ - 1)) : m;
      Expr value = load(src, plus(a0, plus(times(r, stride(p_.a, p_.m)), times(k, stride(p_.a, p_.k)))));
      if (checked) value = select_lt(m, c64(M_), value, zero(dtype_));
      Expr at = plus(times(panel, p_.kc * p_.mr), plus(times(v(kk), p_.mr), v(row)));
      // Only an A strided along k is packed (GemmPlan::pack_a): the row loop innermost.
      const ForKind inner = checked ? ForKind::scalar : ForKind::serial;
      Stmt st = for_loop(row, c64(p_.mr), inner, store(dst, at, value));
      st = for_loop(kk, kc, inner, st);
      return for_loop(it, count, checked ? ForKind::serial : packing_kind(), st);
    };
    if (M_ % p_.mr == 0) return copy(c64(0), panels, false);  // no panel crosses M
    return block({copy(c64(0), full, false), copy(full, sub(panels, full), true)});
  }

  // Panels are independent: when the tiles run on threads, so does packing.
  ForKind packing_kind() const {
    return p_.parallel == GemmPlan::Parallel::row_panels || p_.parallel == GemmPlan::Parallel::column_panels ? ForKind::parallel
                                                                                                             : ForKind::serial;
  }

  const KernelSpec& c_;
  const GemmPlan& p_;
  const DType dtype_;
  int64_t M_ = 1, N_ = 1, K_ = 1;
};

}  // namespace

LoopKernel expand_packing(LoopKernel k, const KernelSpec& c, const sched::GemmPlan& plan) {
  if (!plan.pack) return k;
  k.body = Packer(c, plan).mutate(k.body);
  return k;
}

}  // namespace tcc::ir::loop
