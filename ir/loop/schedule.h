// The schedule of one contraction kernel, kept as data apart from the algorithm (the
// Contraction). Two families:
//  - the simple schedule: a loop nest in a chosen order (any contraction);
//  - the GEMM schedule: a batched GEMM C[m,n] (+)= A[m,k] B[k,n] around an explicit
//    register-tiled micro-kernel, with BLIS packing and cache blocking for large problems and
//    operands read in place for small ones (LIBXSMM style).
#pragma once
#include "ir/graph/contraction.h"

#include <optional>
#include <string>
#include <vector>

namespace tcc::ir::loop {

// What the planner needs to know about the machine (from codegen's target).
struct TargetModel {
  int vector_bits = 128;       // 512 for AVX-512, 256 for AVX2
  int vector_registers = 16;   // 32 with AVX-512
  int64_t l2_bytes = 1 << 20;  // sizes the packed B block (nc) and the in-place threshold
  int64_t l3_bytes = 8 << 20;  // the share of L3 the packed A block (mc) may fill
  // Caps on the K, M and N cache blocks (0: from the caches); tests shrink them to reach
  // every blocking edge at small sizes.
  int64_t max_kc = 0, max_mc = 0, max_nc = 0;
  bool force_packing = false;  // tests: pack even where reading in place would be chosen
  // Whether kernels may run loops on the runtime's thread pool (not in ahead-of-time objects).
  bool threads = true;
  // How many threads will share a kernel's parallel loops: the pool's size when it is compiled
  // (it may change later; only tuning depends on it). Sizes each thread's share of a batch.
  int pool_threads = 1;
  // The largest A or B matrix of an in-place batch whose tiles prefetch the next matrix
  // themselves (GemmPlan::prefetch_next): below it the hardware prefetchers do not ramp up
  // within one matrix. A property of the core, measured: Intel (Golden Cove) gains up to a
  // page (256 x 32^3 f32 137 -> 152 GFLOP/s); Zen 5 gains on 1 KiB matrices (1024 x 16^3
  // 143 -> 156) but loses 2-4% on page-sized ones, whose runs its L2 prefetcher follows.
  int64_t prefetch_next_max_bytes = 4096;
  // Work (multiply-adds x 2, f64 counting double as it runs at half the rate) below which a
  // kernel stays on one thread: about 5 us of one core, where handing half to a spinning
  // worker starts to pay (measured, medians of 5 runs: f64 64^3 5.6 -> 3.9 us and f32 96^3
  // gain; f32 64^3, 2.7 us, gains nothing and lost up to 8% in some runs). Zen 5 starts at
  // 1.25 MFLOP: its f64 64^3 (exactly 1 MFLOP) ran 0.94-1.02x as fast on 2 threads, while
  // f64 72^3 (1.4 MFLOP) gains 22%.
  double parallel_min_flops = double(1 << 20);
  std::string str() const;
};

struct GemmPlan {
  int a = 0, b = 1;          // the operands playing A (rows m, depth k) and B (depth k, columns n)
  int m = -1, n = -1, k = -1;  // the primary dims; m == -1: a single row (GEMV-like)
  std::vector<int> outer;    // every other dim, outermost first: loops around the GEMM
  bool outer_reduction = false;  // an outer dim is summed: C is zeroed first, tiles accumulate
  int mr = 1, nr = 1, lanes = 1;  // register tile (rows x columns) and vector width
  // Cache blocks (packed), multiples of mr / nr: an A block of mc rows x kc stays in L3 while
  // B blocks of kc x nc columns pass through L2; one mr x kc A micro-panel stays in L1 while
  // the tiles of its row sweep the B block.
  int64_t mc = 0, kc = 0, nc = 0;
  bool pack = false;         // pack B (and maybe A) for large problems, or read both in place
  // Packed, with A's rows contiguous along k: A micro-panels are read in place (broadcasts
  // need no layout) and only B is packed.
  bool pack_a = false;
  // In place with one row (GEMV-like): K is swept in blocks of this many, all column tiles per
  // block, so that B streams row pieces side by side (0: the whole K per tile).
  int64_t sweep_kc = 0;
  // Batched, streaming from beyond L2: each tile prefetches its share of the next outer
  // iteration's operands while it computes. In place (small matrices): A's rows and B;
  // packed with one block per matrix: B, which is otherwise read in one burst when packed.
  bool prefetch_next = false;
  // Which loop runs on the thread pool: none (small work), the outermost outer dim (batch),
  // the row or column tiles (in place), or the packing and the row panels ir (packed: threads
  // share A~ and B~ and write disjoint rows of C).
  enum class Parallel { none, outer, row_tiles, column_tiles, row_panels };
  Parallel parallel = Parallel::none;
  // Packed and parallel over the batch: each task packs into its own blocks on its stack
  // (allocated per task), so they must be small; otherwise they sit in the caller's scratch,
  // and the threads split each matrix's row panels. On 2 threads, f32 A·Bᵀ: 96 x
  // 128x64·(128x64)ᵀ 156 -> 347 GFLOP/s, 256 x 32³ 24 -> 279 (one 32³ matrix per parallel
  // loop had made 2 threads 5x slower than 1).
  static constexpr int64_t kMaxStackPackBytes = 64 << 10;
  bool packs_on_stack(int64_t elem_bytes) const;
  std::string str() const;
};

struct Schedule {
  std::vector<int> loop_order;          // simple schedule: contraction dims, outermost first
  // True: every K dim is innermost and the sum lives in a scalar, stored once per output.
  // False: the output is zero-filled, then `out += product` in loop_order (i-k-j style).
  bool accumulate_in_register = false;
  bool vectorize_innermost = false;     // the innermost loop has unit-stride accesses
  std::optional<GemmPlan> gemm;         // set: the GEMM schedule replaces the simple one
  std::string str() const;
};

// Bytes of scratch a kernel with this schedule needs from its caller (the packing buffers),
// laid out as scratch_layout() lays out its heap allocations; 0 for none.
int64_t scratch_bytes(const Schedule& s, DType dtype);

// The simple schedule: chooses the innermost loop by how many accesses it walks
// contiguously (stride 0 or 1): the last output axis or a K dim (dot products).
Schedule plan_simple_schedule(const Contraction& c);
// The GEMM schedule when the contraction is a (batched) GEMM with unit-stride output
// columns, else nullopt with the reason (TACO style).
std::optional<GemmPlan> plan_gemm(const Contraction& c, const TargetModel& target, std::string* why_not = nullptr);
// The GEMM schedule where it applies, else the simple one.
Schedule plan_schedule(const Contraction& c, const TargetModel& target = {});

}  // namespace tcc::ir::loop
