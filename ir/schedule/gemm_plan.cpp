// The GEMM planner: recognises a (batched) GEMM inside a KernelSpec and picks its register
// tile and cache blocks from the target model.
#include "ir/schedule/schedule.h"

#include <fmt/format.h>

#include <algorithm>

namespace tcc::ir::sched {

std::string GemmPlan::str() const {
  static const char* parallel_names[] = {"", " parallel=outer", " parallel=row_tiles", " parallel=column_tiles",
                                         " parallel=row_panels", " parallel=column_panels"};
  return fmt::format("gemm(a=in{} b=in{} m=d{} n=d{} k=d{} outer=[{}]{}) tile={}x{} lanes={} blocks(mc={} kc={} nc={}) {}{}{}{}{}",
                     a, b, m, n, k, fmt::join(outer, ","), outer_reduction ? " outer_sum" : "", mr, nr, lanes, mc, kc,
                     nc, pack ? (pack_a ? "packed" : "packed_b") : columns_outer ? "in_place columns_outer" : "in_place", sweep_kc ? fmt::format(" sweep_kc={}", sweep_kc) : "",
                     parallel_names[static_cast<int>(parallel)],
                     min_parallel ? fmt::format(" from={}", min_parallel) : "", prefetch_next ? " prefetch_next" : "") +
         fmt::format(" code(k_steps={} edge_k_steps={}{} unroll_k<={}{}{} locality={})", k_steps, edge_k_steps,
                     shift_edge_rows ? " edge_rows=shifted" : "",
                     full_unroll_max_k, pack_b == PackB::transpose ? " pack_b=transpose" : pack_b == PackB::copy ? " pack_b=copy" : "",
                     prefetch_c ? " prefetch_c" : "", prefetch_locality) +
         (scratch.bytes ? fmt::format(" scratch={}", scratch.bytes) : packs_on_stack ? " packs_on_stack" : "");
}

int register_tile_rows(int nr_vectors, const TargetModel& target) {
  const int registers = target.hw.vector_registers;
  int rows = (registers - nr_vectors - 1) / nr_vectors;
  const auto& caps = registers >= 32 ? target.tuning.max_tile_rows_32_registers : target.tuning.max_tile_rows_16_registers;
  int cap = caps[std::min(nr_vectors, 4) - 1];
  return std::max(1, std::min(rows, cap));
}

namespace {

int64_t round_down(int64_t v, int64_t multiple) { return std::max(multiple, v / multiple * multiple); }

// The fewest iterations (at least 2) of `flops_each` that are enough work for threads.
int64_t fewest_worth_threads(const TargetModel& target, double flops_each, DType dtype) {
  int64_t lo = 1, hi = int64_t{1} << 40;  // not enough at lo, enough at hi
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (enough_work_for_threads(target, flops_each * static_cast<double>(mid), dtype) ? hi : lo) = mid;
  }
  return hi;
}

// plan_gemm, with or without M's rows taken from a symbolic dim (when no static one is there).
std::optional<GemmPlan> plan_gemm_rows(const KernelSpec& c, const TargetModel& target, std::string* why_not,
                                       bool symbolic_rows) {
  auto fail = [&](const std::string& why) -> std::optional<GemmPlan> {
    if (why_not) *why_not = why;
    return std::nullopt;
  };
  if (c.kind != StepKind::contraction) return fail("not a contraction (a copy or an element-wise step)");
  if (c.combine != ElemOp::add) return fail("a max or min reduction, not a sum");
  if (std::string why = unsupported_by_lowering(c); !why.empty()) return fail(why);
  if (c.operands.size() != 2) return fail("not two operands");
  const std::vector<int64_t> out_strides = c.out_strides();
  GemmPlan p;
  // The GEMM's n and k are tiled at compile time: never symbolic dims, which run as outer
  // loops. Rows (m) may be symbolic: full tiles in a runtime loop, the edge in runtime tiles.
  auto tileable = [&](size_t d) { return !c.dims[d].symbolic(); };
  // n: the output's unit-stride column dim.
  for (int a = static_cast<int>(c.out_axes.size()) - 1; a >= 0 && p.n < 0; --a)
    if (c.dims[c.out_axes[a]].extent > 1) p.n = c.out_axes[a];
  if (p.n < 0) return fail("no output dim longer than 1");
  if (!tileable(p.n)) return fail("the output's column dim is symbolic");
  const bool in0 = c.operands[0].strides[p.n] != 0, in1 = c.operands[1].strides[p.n] != 0;
  if (in0 == in1) return fail("the output's column dim is read by both operands or by neither");
  p.b = in1 ? 1 : 0;
  p.a = 1 - p.b;
  const std::vector<int64_t>& sa = c.operands[p.a].strides;
  const std::vector<int64_t>& sb = c.operands[p.b].strides;
  // k: the longest dim summed over both operands.
  for (size_t d = 0; d < c.dims.size(); ++d)
    if (c.dims[d].role == DimRole::K && sa[d] != 0 && sb[d] != 0 && tileable(d) &&
        (p.k < 0 || c.dims[d].extent > c.dims[p.k].extent))
      p.k = static_cast<int>(d);
  if (p.k < 0) return fail("no static dim is summed over both operands");
  // m: the output dim read by A only with the smallest output stride (C's rows).
  for (bool symbolic : {false, true})
    for (size_t d = 0; d < c.dims.size() && (p.m < 0 || !symbolic) && (symbolic_rows || !symbolic); ++d)
      if (static_cast<int>(d) != p.n && c.dims[d].role != DimRole::K && sa[d] != 0 && sb[d] == 0 &&
          c.dims[d].extent > 1 && c.dims[d].symbolic() == symbolic && (p.m < 0 || out_strides[d] < out_strides[p.m]))
        p.m = static_cast<int>(d);
  const bool symbolic_m = p.m >= 0 && c.dims[p.m].symbolic();
  for (size_t d = 0; d < c.dims.size(); ++d) {
    int di = static_cast<int>(d);
    if (di == p.m || di == p.n || di == p.k) continue;
    p.outer.push_back(di);
    if (c.dims[d].role == DimRole::K && c.dims[d].extent > 1) p.outer_reduction = true;
  }

  const auto [M, N, K] = gemm_sizes(c, p);
  for (const KernelDim& d : c.dims)
    if (d.extent == 0) return fail("a dim has extent 0 (nothing to tile)");
  // One row times a B contiguous along k (a @ v): each B element is used once, so packing B
  // would read it twice; dot products along B's rows stream it once (the simple schedule).
  if (M == 1 && sb[p.k] == 1 && sb[p.n] != 1)
    return fail("one row times a B contiguous along k: dot products along B's rows");
  const int elem = static_cast<int>(dtype_size(c.acc_dtype));
  const HardwareFacts& hw = target.hw;
  const Tuning& tune = target.tuning;
  const PlanLimits& limits = target.limits;
  p.lanes = std::max(1, hw.vector_bits / 8 / elem);
  // Narrow outputs (N below a full vector): the narrowest vector, of at least 128 bits, that
  // holds a row, so that N = 8 f32 runs unmasked in ymm rather than half-masked in zmm.
  const int min_lanes = std::max(1, 16 / elem);
  while (p.lanes / 2 >= std::max<int64_t>(N, min_lanes)) p.lanes /= 2;
  const int64_t row_vectors = (N + p.lanes - 1) / p.lanes;
  // Read A and B in place (no packing, LIBXSMM style) when B stays in L2 between the row
  // tiles that reuse it, or when there are too few rows to pay for packing B (GEMV-like);
  // in place needs unit-stride B rows. But B rows a page apart are packed from many rows on:
  // every k step of a tile would read a new page, which the prefetchers do not follow.
  const bool paged_b_rows = M >= tune.paged_b_min_rows && N * elem >= tune.paged_b_row_bytes;
  // Few rows (A small enough to stay in L2) with a B that is not: in place with the column
  // tiles outermost, each B panel read once (bench/TUNING.md#few-rows).
  const bool b_in_l2 = K * N * elem <= hw.l2_bytes / tune.in_place_b_l2_divisor;
  const bool few_rows = M > 1 && !symbolic_m && M <= tune.columns_outer_max_rows &&
                        M * K * elem <= hw.l2_bytes / tune.in_place_b_l2_divisor;
  const bool in_place = (b_in_l2 && !paged_b_rows) || M <= tune.in_place_max_rows || few_rows;
  p.pack = limits.force_packing || !(in_place && sb[p.n] == 1);
  p.columns_outer = !p.pack && few_rows && !b_in_l2;
  p.pack_a = p.pack && sa[p.k] != 1;
  // Packing A's panels needs their count: plan symbolic rows as an outer loop instead.
  if (symbolic_m && p.pack_a) return plan_gemm_rows(c, target, why_not, false);
  // One row (GEMV-like): nothing to reuse across rows, so a wide tile streams long runs of
  // each B row with most registers as accumulators.
  int max_vectors = M == 1 ? std::min(tune.gemv_max_vectors, hw.vector_registers - tune.gemv_spare_registers)
                   : hw.vector_registers >= 32 ? tune.tile_vectors_32_registers
                                              : tune.tile_vectors_16_registers;
  // On 32 registers, a 4-vector tile (6 rows): packed, its A micro-panel is the smaller one to
  // keep in L1 and the tile row streams whole cache lines of B; in place, when it covers the
  // row exactly and the 3-vector one would leave a narrow edge tile (N = 64, 128, 256 ...).
  const int wide = tune.wide_tile_vectors;
  if (M > 1 && hw.vector_registers >= 32 &&
      (p.pack || (row_vectors % tune.tile_vectors_32_registers != 0 && row_vectors % wide == 0)))
    max_vectors = wide;
  // In place with B past L1 (it then streams from L2 once per row tile): a 2-vector tile of
  // 12 rows halves the B bytes per FMA. With B in L1 the wider tiles win (fewer broadcasts).
  const int narrow = tune.narrow_tile_vectors;
  if (M > 1 && !p.pack && hw.vector_registers >= 32 && row_vectors % narrow == 0 && K * N * elem >= tune.narrow_tile_min_b_bytes)
    max_vectors = narrow;
  const int nr_vectors = static_cast<int>(std::min<int64_t>(max_vectors, row_vectors));
  p.nr = nr_vectors * p.lanes;
  p.mr = M == 1 ? 1 : static_cast<int>(std::min<int64_t>(register_tile_rows(nr_vectors, target), M));
  // In place, a row tile height that divides M, if it costs at most one more row tile: every
  // row block is then the same tile in one loop, with no edge tile of another height
  // (bench/TUNING.md#tiles).
  if (!p.pack && !symbolic_m && M > p.mr && M % p.mr != 0) {
    const int64_t tiles = (M + p.mr - 1) / p.mr;
    for (int rows = p.mr - 1; rows > 1 && M / rows <= tiles + 1; --rows)
      if (M % rows == 0) {
        p.mr = rows;
        break;
      }
  }
  // Blocks (BLIS with the roles of A and B exchanged, since C's rows are the vectors): an A
  // micro-panel mr x kc stays in L1, a packed B block kc x nc in part of L2, a packed A block
  // mc x kc in an L3 share. Tiles then walk along C's rows, so C streams too.
  auto cap = [](int64_t limit, int64_t value) { return limit > 0 ? std::min(limit, value) : value; };
  const int64_t max_kc = cap(limits.max_kc, elem == 4 ? tune.max_kc_4_byte : tune.max_kc_8_byte);
  p.kc = std::min<int64_t>(K, max_kc);
  // K blocks of equal length: a short last block reads and writes all of C for a few k steps.
  const int64_t k_blocks = (K + p.kc - 1) / p.kc;
  p.kc = (K + k_blocks - 1) / k_blocks;
  // When k_steps divides K, blocks that are multiples of it too need no k loop of single steps
  // after the unrolled one: less code to compile, the same blocking within a few k. (A cap
  // below k_steps leaves kc as it is.)
  if (k_blocks > 1 && K % tune.k_steps == 0 && p.kc % tune.k_steps != 0) {
    const int64_t up = (p.kc + tune.k_steps - 1) / tune.k_steps * tune.k_steps, down = p.kc / tune.k_steps * tune.k_steps;
    if (up <= max_kc) p.kc = up;
    else if (down > 0) p.kc = down;
  }
  const int64_t rows_padded = (M + p.mr - 1) / p.mr * p.mr, cols_padded = (N + p.nr - 1) / p.nr * p.nr;
  // Symbolic rows: blocks as tall as the L3 share allows (the planned M says nothing about the
  // rows that will come, and a block shorter than them packs B again for each).
  const int64_t block_rows = symbolic_m ? tune.l3_share_bytes / (p.kc * elem) : std::min(tune.l3_share_bytes / (p.kc * elem), rows_padded);
  p.mc = round_down(cap(limits.max_mc, block_rows), p.mr);
  p.nc = round_down(cap(limits.max_nc, std::min(hw.l2_bytes / tune.packed_b_l2_divisor / (p.kc * elem), cols_padded)), p.nr);
  if (!p.pack && M == 1 && K > tune.gemv_sweep_kc && N > p.nr) p.sweep_kc = tune.gemv_sweep_kc;
  if (p.columns_outer && K > tune.columns_outer_kc) p.sweep_kc = tune.columns_outer_kc;
  p.packs_on_stack = p.pack && (p.kc * p.nc + (p.pack_a ? p.mc * p.kc : 0)) * elem <= tune.max_stack_pack_bytes;

  // Threads only for enough work, over independent output tiles, so that every thread count
  // computes every element in the same order (identical results).
  int64_t batch = 1;  // iterations of the outer loops
  for (int d : p.outer) batch *= c.dims[d].extent;
  const double flops =
      2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) * static_cast<double>(batch);
  // A symbolic outer batch may be any size. When one matrix is too little work for threads,
  // they take the batch from the smallest size that is enough (decided at run time); when one
  // matrix is enough, they share each matrix, as for a batch of one.
  const bool symbolic_batch = !p.outer.empty() && c.dims[p.outer[0]].symbolic() && c.dims[p.outer[0]].role != DimRole::K;
  const double per_outer = symbolic_batch ? flops / static_cast<double>(c.dims[p.outer[0]].extent) : flops;
  if (symbolic_batch && target.threads && (!p.pack || p.packs_on_stack) &&
      !enough_work_for_threads(target, per_outer, c.acc_dtype)) {
    p.parallel = GemmPlan::Parallel::outer;
    p.min_parallel = fewest_worth_threads(target, per_outer, c.acc_dtype);
  } else if (symbolic_m && !symbolic_batch && target.threads && !p.pack &&
             !enough_work_for_threads(target, flops, c.acc_dtype)) {
    // Symbolic rows: the row tiles on threads from the number of them that is enough work.
    p.parallel = GemmPlan::Parallel::row_tiles;
    p.min_parallel = fewest_worth_threads(target, flops / static_cast<double>(M) * p.mr, c.acc_dtype);
  } else if (enough_work_for_threads(target, per_outer, c.acc_dtype)) {
    // Packed kernels share one scratch block, so their outer iterations cannot run at once,
    // unless the packed blocks are small enough to live on each task's stack.
    if ((!p.pack || p.packs_on_stack) && !symbolic_batch && !p.outer.empty() && c.dims[p.outer[0]].role != DimRole::K &&
        c.dims[p.outer[0]].extent >= 2)
      p.parallel = GemmPlan::Parallel::outer;
    else if (p.pack)
      // Few rows: each thread takes column panels, reading the B panels it packed itself from
      // its own L2, and every row of A's K block, which fits there too.
      p.parallel = !symbolic_m && M * p.kc * elem <= hw.l2_bytes / tune.column_panels_a_l2_divisor &&
                           N / p.nr >= 2 * static_cast<int64_t>(std::max(1, target.pool_threads))
                       ? GemmPlan::Parallel::column_panels
                       : GemmPlan::Parallel::row_panels;
    else if (p.columns_outer && N / p.nr >= 2)
      p.parallel = GemmPlan::Parallel::column_tiles;
    else if (M / p.mr >= 2)
      p.parallel = GemmPlan::Parallel::row_tiles;
    else if (N / p.nr >= 2)
      p.parallel = GemmPlan::Parallel::column_tiles;
  }
  if (p.parallel != GemmPlan::Parallel::outer) p.packs_on_stack = false;
  // Each K block of a sweep is one hand-off to the threads: on threads, blocks long enough to
  // amortise it.
  if (p.sweep_kc > 0 && p.parallel != GemmPlan::Parallel::none && target.pool_threads > 1)
    p.sweep_kc = std::max(p.sweep_kc, tune.gemv_parallel_sweep_kc);
  // Batches of page-sized or smaller matrices streaming from beyond L2: each matrix is too
  // short a run for the hardware prefetchers to ramp up, so tiles ask for the next one's A and
  // B themselves. What must pass L2 is one thread's share of the batch.
  // In doubles: a batch of small matrices may hold more bytes than an int64_t counts (planning
  // never allocates them).
  const double a_bytes = static_cast<double>(M) * static_cast<double>(K) * elem,
               b_bytes = static_cast<double>(K) * static_cast<double>(N) * elem,
               c_bytes = static_cast<double>(M) * static_cast<double>(N) * elem;
  int64_t batch_share = batch;  // the matrices one thread streams through its L2
  if (p.parallel == GemmPlan::Parallel::outer) {
    const int64_t sharers = std::min<int64_t>(std::max(1, target.pool_threads), c.dims[p.outer[0]].extent);
    batch_share = (batch + sharers - 1) / sharers;
  }
  const bool streams_past_l2 = batch > 1 && (a_bytes + b_bytes + c_bytes) * static_cast<double>(batch_share) > static_cast<double>(hw.l2_bytes) &&
                               (p.parallel == GemmPlan::Parallel::none || p.parallel == GemmPlan::Parallel::outer);
  const bool small_in_place = !p.pack && p.sweep_kc == 0 && a_bytes <= tune.prefetch_next_max_bytes &&
                              b_bytes <= tune.prefetch_next_max_bytes;
  // Packed, each matrix one block (one K block, one B block; a batch of transposed B): B is
  // packed in a burst before its tiles run, read from beyond L2 with no work to overlap. The
  // tiles of the matrix before ask for its lines instead, a share each (B must be one
  // contiguous run).
  const bool b_contiguous = (sb[p.k] == 1 && sb[p.n] == K) || (sb[p.n] == 1 && sb[p.k] == N);
  const bool packed_one_block = p.pack && !p.pack_a && b_contiguous && p.kc == K && p.nc >= N && p.mc >= M;
  // (Not over symbolic rows: the tiles' shares of the next matrix assume the planned M.)
  p.prefetch_next = streams_past_l2 && (small_in_place || packed_one_block) && !symbolic_m;

  // The micro-kernel's code.
  if (p.pack) {
    // A B stored transposed (contiguous along k, not n) is packed by lanes x lanes transposes
    // in registers, when a K block holds at least one such block; otherwise copied.
    const bool transposed_b = sb[p.k] == 1 && sb[p.n] != 1 && p.lanes > 1;
    p.pack_b = transposed_b && p.kc >= p.lanes ? GemmPlan::PackB::transpose : GemmPlan::PackB::copy;
  }
  p.k_steps = tune.k_steps;
  p.edge_k_steps = tune.edge_k_steps;
  p.shift_edge_rows = p.pack && !p.pack_a && !symbolic_m && M > p.mr && M % p.mr != 0;
  p.full_unroll_max_k = tune.full_unroll_max_k;
  p.prefetch_c = p.pack && p.kc >= tune.prefetch_c_min_kc;  // C is large, and a K block outlasts a miss
  p.prefetch_locality = tune.prefetch_locality;
  // The packed blocks in the caller's scratch, in the order lowering allocates them.
  if (p.pack && !p.packs_on_stack) {
    auto rounded = [&](int64_t elements) { return (elements * elem + 63) / 64 * 64; };
    p.scratch.packed_a_offset = 0;
    p.scratch.packed_b_offset = p.pack_a ? rounded(p.mc * p.kc) : 0;
    p.scratch.bytes = p.scratch.packed_b_offset + rounded(p.kc * p.nc);
  }
  if (why_not) why_not->clear();
  return p;
}

}  // namespace

std::optional<GemmPlan> plan_gemm(const KernelSpec& c, const TargetModel& target, std::string* why_not) {
  return plan_gemm_rows(c, target, why_not, true);
}

GemmSizes gemm_sizes(const KernelSpec& c, const GemmPlan& p) {
  return {p.m < 0 ? 1 : c.dims[p.m].extent, c.dims[p.n].extent, c.dims[p.k].extent};
}

Schedule plan_schedule(const KernelSpec& c, const TargetModel& target) {
  if (c.kind == StepKind::attention) {
    Schedule s;
    s.attention = plan_attention(c, target);
    return s;
  }
  Schedule s = plan_simple_schedule(c, target);
  s.gemm = plan_gemm(c, target);
  s.transpose = plan_transpose_copy(c, target);
  return s;
}

}  // namespace tcc::ir::sched
