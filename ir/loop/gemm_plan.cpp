// The GEMM planner: recognises a (batched) GEMM inside a Contraction and picks its register
// tile and cache blocks from the target model.
#include "ir/loop/schedule.h"

#include <fmt/format.h>

#include <algorithm>

namespace tcc::ir::loop {

std::string TargetModel::str() const { return fmt::format("vector_bits={} registers={}", vector_bits, vector_registers); }

std::string GemmPlan::str() const {
  static const char* parallel_names[] = {"", " parallel=outer", " parallel=row_tiles", " parallel=column_tiles",
                                         " parallel=row_panels"};
  return fmt::format("gemm(a=in{} b=in{} m=d{} n=d{} k=d{} outer=[{}]{}) tile={}x{} lanes={} blocks(mc={} kc={} nc={}) {}{}{}{}",
                     a, b, m, n, k, fmt::join(outer, ","), outer_reduction ? " outer_sum" : "", mr, nr, lanes, mc, kc,
                     nc, pack ? (pack_a ? "packed" : "packed_b") : "in_place", sweep_kc ? fmt::format(" sweep_kc={}", sweep_kc) : "",
                     parallel_names[static_cast<int>(parallel)], prefetch_next ? " prefetch_next" : "");
}

namespace {

// Register tile for `nr_vectors` vectors per row: rows that keep every accumulator, the B
// row and one broadcast in registers, capped where FMA latency is long covered.
int rows_for(int nr_vectors, int registers) {
  int rows = (registers - nr_vectors - 1) / nr_vectors;
  int cap = registers >= 32 ? (nr_vectors >= 4 ? 6 : nr_vectors == 3 ? 8 : nr_vectors == 2 ? 12 : 16)
                            : (nr_vectors == 2 ? 6 : 12);
  return std::max(1, std::min(rows, cap));
}

int64_t round_down(int64_t v, int64_t multiple) { return std::max(multiple, v / multiple * multiple); }

}  // namespace

std::optional<GemmPlan> plan_gemm(const Contraction& c, const TargetModel& target, std::string* why_not) {
  auto fail = [&](const std::string& why) -> std::optional<GemmPlan> {
    if (why_not) *why_not = why;
    return std::nullopt;
  };
  if (c.operands.size() != 2) return fail("not two operands");
  const std::vector<int64_t> out_strides = c.out_strides();
  GemmPlan p;
  // n: the output's unit-stride column dim.
  for (int a = static_cast<int>(c.out_axes.size()) - 1; a >= 0 && p.n < 0; --a)
    if (c.dims[c.out_axes[a]].extent > 1) p.n = c.out_axes[a];
  if (p.n < 0) return fail("no output dim longer than 1");
  const bool in0 = c.operands[0].strides[p.n] != 0, in1 = c.operands[1].strides[p.n] != 0;
  if (in0 == in1) return fail("the output's column dim is read by both operands or by neither");
  p.b = in1 ? 1 : 0;
  p.a = 1 - p.b;
  const std::vector<int64_t>& sa = c.operands[p.a].strides;
  const std::vector<int64_t>& sb = c.operands[p.b].strides;
  // k: the longest dim summed over both operands.
  for (size_t d = 0; d < c.dims.size(); ++d)
    if (c.dims[d].role == DimRole::K && sa[d] != 0 && sb[d] != 0 && (p.k < 0 || c.dims[d].extent > c.dims[p.k].extent))
      p.k = static_cast<int>(d);
  if (p.k < 0) return fail("no dim is summed over both operands");
  // m: the output dim read by A only with the smallest output stride (C's rows).
  for (size_t d = 0; d < c.dims.size(); ++d)
    if (static_cast<int>(d) != p.n && c.dims[d].role != DimRole::K && sa[d] != 0 && sb[d] == 0 &&
        c.dims[d].extent > 1 && (p.m < 0 || out_strides[d] < out_strides[p.m]))
      p.m = static_cast<int>(d);
  for (size_t d = 0; d < c.dims.size(); ++d) {
    int di = static_cast<int>(d);
    if (di == p.m || di == p.n || di == p.k) continue;
    p.outer.push_back(di);
    if (c.dims[d].role == DimRole::K && c.dims[d].extent > 1) p.outer_reduction = true;
  }

  const int64_t M = p.m < 0 ? 1 : c.dims[p.m].extent, N = c.dims[p.n].extent, K = c.dims[p.k].extent;
  for (const ContractionDim& d : c.dims)
    if (d.extent == 0) return fail("a dim has extent 0 (nothing to tile)");
  const int elem = static_cast<int>(dtype_size(c.dtype));
  p.lanes = std::max(1, target.vector_bits / 8 / elem);
  // Narrow outputs (N below a full vector): the narrowest vector, of at least 128 bits, that
  // holds a row, so that N = 8 f32 runs unmasked in ymm rather than half-masked in zmm.
  const int min_lanes = std::max(1, 16 / elem);
  while (p.lanes / 2 >= std::max<int64_t>(N, min_lanes)) p.lanes /= 2;
  // One row (GEMV-like): nothing to reuse across rows, so a wide tile streams long runs of
  // each B row (fewer, longer memory streams) with most registers as accumulators.
  const int64_t row_vectors = (N + p.lanes - 1) / p.lanes;
  // Read A and B in place (no packing, LIBXSMM style) when B stays in L2 between the row
  // tiles that reuse it, or when there are too few rows to pay for packing B (GEMV-like).
  // In place needs unit-stride B rows.
  // But with B rows 8 KiB or more apart every k step of a tile reads a new page, which the
  // prefetchers do not follow; from 1024 rows on, packing B costs under 3% of the FMAs and
  // turns that into one stream (measured: 4096x64.64x4096 f32 160 -> 176 GFLOP/s).
  const bool paged_b_rows = M >= 1024 && N * elem >= 8192;
  const bool in_place = (K * N * elem <= target.l2_bytes / 2 && !paged_b_rows) || M <= 16;
  p.pack = target.force_packing || !(in_place && sb[p.n] == 1);
  p.pack_a = p.pack && sa[p.k] != 1;
  // One row: 16 accumulators (12 on 16 registers) stream B as fast as more would, and make
  // tiles that split evenly between threads at power-of-two N.
  int max_vectors = M == 1 ? std::min(16, target.vector_registers - 4) : target.vector_registers >= 32 ? 3 : 2;
  // On 32 registers, a 4-vector tile (6 rows): packed, its A micro-panel is the smaller one to
  // keep in L1 and the tile row streams whole cache lines of B; in place, when it covers the
  // row exactly and the 3-vector one would leave a narrow edge tile (N = 64, 128, 256 ...).
  if (M > 1 && target.vector_registers >= 32 && (p.pack || (row_vectors % 3 != 0 && row_vectors % 4 == 0)))
    max_vectors = 4;
  // In place with B past L1 (it then streams from L2 once per row tile): a 2-vector tile of
  // 12 rows halves the B bytes per FMA. With B in L1 the wider tiles win (fewer broadcasts).
  // Measured, medians of 5: f32 128^3 185 -> 189, f64 256^3 88 -> 93; f32 64^3 196 -> 190.
  if (M > 1 && !p.pack && target.vector_registers >= 32 && row_vectors % 2 == 0 && K * N * elem >= (64 << 10))
    max_vectors = 2;
  const int nr_vectors = static_cast<int>(std::min<int64_t>(max_vectors, row_vectors));
  p.nr = nr_vectors * p.lanes;
  p.mr = M == 1 ? 1 : static_cast<int>(std::min<int64_t>(rows_for(nr_vectors, target.vector_registers), M));
  // In place, a row tile height that divides M, if it costs at most one more row tile: every
  // row block is then the same tile in one loop, with no edge tile of another height.
  // Measured on Zen 5, medians of 100 interleaved blocks: 256 x 32^3 f32 in 8-row tiles
  // instead of 12, 12, 8: +2-3%, 1.01 -> 1.03-1.04 x LIBXSMM; 32^3 alone equal. Where it
  // takes many more tiles it loses (attention's 128 rows in 4-row tiles instead of 6: -2%).
  if (!p.pack && M > p.mr && M % p.mr != 0) {
    const int64_t tiles = (M + p.mr - 1) / p.mr;
    for (int rows = p.mr - 1; rows > 1 && M / rows <= tiles + 1; --rows)
      if (M % rows == 0) {
        p.mr = rows;
        break;
      }
  }
  // Blocks (BLIS with the roles of A and B exchanged, since C's rows are the vectors): an A
  // micro-panel mr x kc stays in L1, a packed B block kc x nc in half of L2, a packed A block
  // mc x kc in L3. Tiles then walk along C's rows, so C streams too.
  auto cap = [](int64_t limit, int64_t value) { return limit > 0 ? std::min(limit, value) : value; };
  p.kc = std::min<int64_t>(K, cap(target.max_kc, elem == 4 ? 384 : 256));
  // K blocks of equal length: a short last block reads and writes all of C for a few k steps
  // (512 = 384 + 128 -> 256 + 256: the transposed-B 512^3 f32 case 179-181 -> 181-188 GFLOP/s).
  const int64_t k_blocks = (K + p.kc - 1) / p.kc;
  p.kc = (K + k_blocks - 1) / k_blocks;
  const int64_t rows_padded = (M + p.mr - 1) / p.mr * p.mr, cols_padded = (N + p.nr - 1) / p.nr * p.nr;
  p.mc = round_down(cap(target.max_mc, std::min(target.l3_bytes / (p.kc * elem), rows_padded)), p.mr);
  p.nc = round_down(cap(target.max_nc, std::min(target.l2_bytes / 2 / (p.kc * elem), cols_padded)), p.nr);
  if (!p.pack && M == 1 && K > 64 && N > p.nr) p.sweep_kc = 64;

  // Threads only for enough work, over independent output tiles, so that every thread count
  // computes every element in the same order (identical results).
  int64_t batch = 1;  // iterations of the outer loops
  for (int d : p.outer) batch *= c.dims[d].extent;
  const double flops =
      2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) * static_cast<double>(batch);
  if (target.threads && flops * elem / 4 >= target.parallel_min_flops) {
    // Packed kernels share one scratch block, so their outer iterations cannot run at once,
    // unless the packed blocks are small enough to live on each task's stack.
    if ((!p.pack || p.packs_on_stack(elem)) && !p.outer.empty() && c.dims[p.outer[0]].role != DimRole::K &&
        c.dims[p.outer[0]].extent >= 2)
      p.parallel = GemmPlan::Parallel::outer;
    else if (p.pack)
      p.parallel = GemmPlan::Parallel::row_panels;
    else if (M / p.mr >= 2)
      p.parallel = GemmPlan::Parallel::row_tiles;
    else if (N / p.nr >= 2)
      p.parallel = GemmPlan::Parallel::column_tiles;
  }
  // Batches of page-sized or smaller matrices streaming from beyond L2: each matrix is too
  // short a run for the hardware prefetchers to ramp up, so tiles ask for the next one's A and
  // B themselves. Measured, 1 thread, medians of 5: 256 x 32^3 f32 137 -> 152 GFLOP/s,
  // 1024 x 16^3 88 -> 90; larger matrices lost (64 x 64^3 167 -> 160, attention 168 -> 157,
  // 256 x 32^3 f64 69 -> 68), and so did batches that stay in cache (the seed's). What must
  // pass L2 is one thread's share: on 2 threads 256 x 32^3 (1.5 MB each) lost 363 -> 405
  // GFLOP/s with it, while 512 x 32^3 (3 MB each) gained 306 -> 345.
  const int64_t a_bytes = M * K * elem, b_bytes = K * N * elem, c_bytes = M * N * elem;
  int64_t batch_share = batch;  // the matrices one thread streams through its L2
  if (p.parallel == GemmPlan::Parallel::outer) {
    const int64_t sharers = std::min<int64_t>(std::max(1, target.pool_threads), c.dims[p.outer[0]].extent);
    batch_share = (batch + sharers - 1) / sharers;
  }
  const bool streams_past_l2 = batch > 1 && (a_bytes + b_bytes + c_bytes) * batch_share > target.l2_bytes &&
                               (p.parallel == GemmPlan::Parallel::none || p.parallel == GemmPlan::Parallel::outer);
  const bool small_in_place = !p.pack && p.sweep_kc == 0 && a_bytes <= target.prefetch_next_max_bytes &&
                              b_bytes <= target.prefetch_next_max_bytes;
  // Packed, each matrix one block (one K block, one B block; a batch of transposed B): B is
  // packed in a burst before its tiles run, read from beyond L2 with no work to overlap. The
  // tiles of the matrix before ask for its lines instead, a share each (B must be one
  // contiguous run). Measured on Zen 5, in-process A/B, 1 thread: 96 x 128x64·(128x64)ᵀ +8-9%
  // (+7% on 2 threads), 256 x 32³ᵀ +6%, 1024 x 16³ᵀ +9%, 32 x 256x64·(256x64)ᵀ +7%.
  const bool b_contiguous = (sb[p.k] == 1 && sb[p.n] == K) || (sb[p.n] == 1 && sb[p.k] == N);
  const bool packed_one_block = p.pack && !p.pack_a && b_contiguous && p.kc == K && p.nc >= N && p.mc >= M;
  p.prefetch_next = streams_past_l2 && (small_in_place || packed_one_block);
  if (why_not) why_not->clear();
  return p;
}

bool GemmPlan::packs_on_stack(int64_t elem_bytes) const {
  return pack && (kc * nc + (pack_a ? mc * kc : 0)) * elem_bytes <= kMaxStackPackBytes;
}

int64_t scratch_bytes(const Schedule& s, DType dtype) {
  if (!s.gemm || !s.gemm->pack || s.gemm->parallel == GemmPlan::Parallel::outer) return 0;
  auto rounded = [&](int64_t elements) { return (elements * static_cast<int64_t>(dtype_size(dtype)) + 63) / 64 * 64; };
  return (s.gemm->pack_a ? rounded(s.gemm->mc * s.gemm->kc) : 0) + rounded(s.gemm->kc * s.gemm->nc);
}

Schedule plan_schedule(const Contraction& c, const TargetModel& target) {
  Schedule s = plan_simple_schedule(c);
  s.gemm = plan_gemm(c, target);
  return s;
}

}  // namespace tcc::ir::loop
