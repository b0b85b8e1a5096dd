#include "ir/loop/prefetch.h"

#include "ir/loop/index_math.h"

#include <tcc/error.h>

namespace tcc::ir::loop {

namespace {

class Prefetcher : public IRMutator {
 public:
  Prefetcher(const LoopKernel& k, const KernelSpec& c, const sched::GemmPlan& p)
      : c_(c), p_(p), a_(k.params.at(1 + p.a)), b_(k.params.at(1 + p.b)) {
    const sched::GemmSizes sizes = sched::gemm_sizes(c, p);
    M_ = sizes.M, N_ = sizes.N, K_ = sizes.K;
  }

  using IRMutator::mutate;
  Stmt mutate(const Stmt& s) override {
    if (s->kind != StmtKind::micro_kernel) return IRMutator::mutate(s);
    MicroKernel mk = *s->micro;
    if (p_.pack) {
      mk.prefetch_c = p_.prefetch_c;
      if (p_.prefetch_next) next_b_share(mk);
    } else if (p_.prefetch_next) {
      next_operands(mk);
    }
    return micro_kernel(std::move(mk));
  }

 private:
  int64_t stride(int operand, int dim) const { return sched::plan_stride(c_, operand, dim); }

  // The outer dim whose next iteration is the next matrix of a batch: the innermost that moves.
  int next_matrix_dim() const {
    if (p_.outer.empty()) throw InternalError("prefetch: prefetch_next without a batch");
    int next = p_.outer.back();
    for (int d : p_.outer)
      if (c_.dims[d].extent > 1) next = d;
    return next;
  }

  // In place: the next outer iteration's operands, asked for while this tile computes: the A
  // rows the same tile will read, and this row block's share of the B column strip (the row
  // blocks split B's K rows between them, so each line is asked for once). Operands that do
  // not move with the outer loop (a broadcast B) are not prefetched.
  void next_operands(MicroKernel& mk) const {
    const int next = next_matrix_dim();
    const int64_t a_next = stride(p_.a, next), b_next = stride(p_.b, next);
    const int64_t rs_a = stride(p_.a, p_.m), ks_a = stride(p_.a, p_.k), ks_b = stride(p_.b, p_.k);
    if (a_next != 0) {
      if (ks_a == 1) mk.prefetch.push_back({a_, plus(mk.a.offset, c64(a_next)), mk.rows, rs_a, K_});
      else if (rs_a == 1) mk.prefetch.push_back({a_, plus(mk.a.offset, c64(a_next)), K_, ks_a, mk.rows});
    }
    if (b_next != 0) {
      const int64_t row_blocks = (M_ + p_.mr - 1) / p_.mr, share = (K_ + row_blocks - 1) / row_blocks;
      Expr first = plus(mk.b.offset, plus(c64(b_next), times(mk.place.tile_row, share * ks_b)));
      mk.prefetch.push_back({b_, std::move(first), share, ks_b, mk.cols});
    }
  }

  // Packed, one block per matrix: tile (row, col) asks for its share of the next matrix's B,
  // which is one contiguous run of lines (GemmPlan::prefetch_next), while it computes.
  void next_b_share(MicroKernel& mk) const {
    const int64_t b_next = stride(p_.b, next_matrix_dim());
    if (b_next == 0) return;
    const int64_t line = 64 / static_cast<int64_t>(dtype_size(c_.acc_dtype));
    const int64_t lines = (K_ * N_ + line - 1) / line;
    const int64_t col_panels = (N_ + p_.nr - 1) / p_.nr, tiles = (M_ + p_.mr - 1) / p_.mr * col_panels;
    const int64_t share = (lines + tiles - 1) / tiles;
    Expr tile_index = plus(times(mk.place.tile_row, col_panels), mk.place.tile_col);
    mk.kc = c64(K_);  // one K block: a constant, which the prefetch streams need
    mk.prefetch.push_back({b_, plus(mk.place.b_matrix, plus(c64(b_next), times(tile_index, share * line))), share, line, line});
  }

  const KernelSpec& c_;
  const sched::GemmPlan& p_;
  Buffer a_, b_;
  int64_t M_ = 1, N_ = 1, K_ = 1;
};

}  // namespace

LoopKernel add_prefetches(LoopKernel k, const KernelSpec& c, const sched::GemmPlan& plan) {
  if (!plan.prefetch_c && !plan.prefetch_next) return k;
  k.body = Prefetcher(k, c, plan).mutate(k.body);
  return k;
}

}  // namespace tcc::ir::loop
