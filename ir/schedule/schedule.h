// The schedule of one contraction kernel, kept as data apart from the algorithm (the
// KernelSpec). Two families:
//  - the simple schedule: a loop nest in a chosen order (any contraction);
//  - the GEMM schedule: a batched GEMM C[m,n] (+)= A[m,k] B[k,n] around an explicit
//    register-tiled micro-kernel, with BLIS packing and cache blocking for large problems and
//    operands read in place for small ones (LIBXSMM style).
#pragma once
#include "ir/kernel/kernel_spec.h"
#include "ir/schedule/target_model.h"

#include <optional>
#include <string>
#include <vector>

namespace tcc::ir::sched {

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
  // In place with few rows and a B past L2: the column tiles outermost, so that each B panel
  // (K x nr) comes from memory once and every row tile reuses it from L2 (A, small, stays
  // there); else the row tiles outermost.
  bool columns_outer = false;
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
  enum class Parallel { none, outer, row_tiles, column_tiles, row_panels, column_panels };
  Parallel parallel = Parallel::none;
  // Parallel over a symbolic extent (the outer batch, or M's row tiles): below this many
  // iterations (known only at run time) there is not enough work for threads, and the loop
  // runs serially. 0: a static extent, decided here.
  int64_t min_parallel = 0;
  // Packed and parallel over the batch: each task packs into its own blocks on its stack
  // when they fit Tuning::max_stack_pack_bytes; otherwise they sit in the caller's scratch,
  // and the threads split each matrix's row panels.
  bool packs_on_stack = false;
  // How B's panels are packed: copied element by element (unit-stride rows copy as vectors),
  // or, for a B stored transposed (contiguous along k), by lanes x lanes transposes in registers.
  enum class PackB { none, copy, transpose };
  PackB pack_b = PackB::none;
  // The micro-kernel's code: k steps per k-loop iteration (main tiles; edge tiles take
  // edge_k_steps), the largest constant K emitted without a loop, whether packed tiles
  // prefetch their C tile before the k loop, and the locality hint of every prefetch.
  int k_steps = 1, edge_k_steps = 1;
  // Packed with A read in place and a static M of at least one tile that tiles do not divide:
  // the last row panel is a full tile moved up to end at row M, which stores only the rows the
  // panel above did not (MicroKernel::skip_rows). Every row panel is then one micro-kernel,
  // and no edge tile is compiled.
  bool shift_edge_rows = false;
  int64_t full_unroll_max_k = 0;
  bool prefetch_c = false;
  int prefetch_locality = 3;
  // Where the packed blocks live in the caller's scratch block (bytes, 64-byte aligned);
  // bytes == 0 when the kernel needs none (in place, or packing on each task's stack).
  struct Scratch {
    int64_t packed_a_offset = 0, packed_b_offset = 0, bytes = 0;
  } scratch;
  std::string str() const;
};

// The GEMM's sizes (M = 1 for a single row) and an operand's stride along a plan dim (0 for
// the absent m of a single row), as every GEMM pass reads them.
struct GemmSizes {
  int64_t M = 1, N = 1, K = 1;
};
GemmSizes gemm_sizes(const KernelSpec& c, const GemmPlan& p);
inline int64_t plan_stride(const KernelSpec& c, int operand, int dim) {
  return dim < 0 ? 0 : c.operands[operand].strides[dim];
}

// A copy whose output rows run along a dim the input strides (a transpose): lanes x lanes
// blocks transposed in registers, so both sides move whole vectors. `rows`: the dim the input
// walks contiguously; `cols`: the output's unit-stride dim.
struct TransposeCopy {
  int rows = -1, cols = -1;
  int lanes = 1;
  int64_t tile = 1;  // blocks per side of a tile (Tuning::transpose_tile_bytes)
  std::string str() const;
};

// An attention step (StepKind::attention) as flash attention: each task takes `block_rows` q
// rows of one batch matrix (q's block copied transposed to its stack) and sweeps k and v in
// blocks of `block_cols` rows: the scores' block, transposed (k rows x q rows, micro-kernel
// tile score_mr x score_nr, the score expression in its store), the online softmax over it
// (a running max and sum per q row, vectorised along q rows), then out += P v (tile value_mr
// x value_nr, accumulating in the output, divided by the sum on the last block).
struct AttentionPlan {
  int lanes = 1;
  int score_mr = 1, score_nr = 1;
  int value_mr = 1, value_nr = 1;
  int64_t block_rows = 1, block_cols = 1;
  bool parallel = false;  // the (batch, q block) tasks on the thread pool
  int k_steps = 1;
  int64_t full_unroll_max_k = 0;
  std::string str() const;
};

// Register tile rows for `nr_vectors` vectors per row: every accumulator, the B row and one
// broadcast in registers, capped (Tuning::max_tile_rows_*).
int register_tile_rows(int nr_vectors, const TargetModel& target);

struct Schedule {
  std::vector<int> loop_order;          // simple schedule: contraction dims, outermost first
  // True: every K dim is innermost and the sum lives in a scalar, stored once per output.
  // False: the output is zero-filled, then `out += product` in loop_order (i-k-j style).
  bool accumulate_in_register = false;
  bool vectorize_innermost = false;     // the innermost loop has unit-stride accesses
  // Dot products (accumulate_in_register, vectorised): outputs of the innermost output dim
  // summed side by side (Tuning::dot_product_rows); 1: one at a time.
  int dot_rows = 1;
  bool parallel_rows = false;  // dot products: the blocks of dot_rows rows on threads
  // Nothing summed: the outermost loop on threads; a single loop in blocks of this many
  // elements (0: the outermost of several loops as it is).
  bool parallel_outer = false;
  int64_t parallel_block = 0;
  // Nothing summed, an output past the caches (Tuning::stream_store_min_bytes): the innermost
  // loop's stores bypass them (ForKind::streaming).
  bool stream_stores = false;
  std::optional<GemmPlan> gemm;         // set: the GEMM schedule replaces the simple one
  std::optional<TransposeCopy> transpose;  // set: a copy by register transposes (the rest of loop_order outside)
  std::optional<AttentionPlan> attention;  // set: an attention step
  // Bytes of scratch the kernel needs from its caller (GemmPlan::scratch), 0 for none.
  int64_t scratch_bytes() const { return gemm ? gemm->scratch.bytes : 0; }
  std::string str() const;
};

// The simple schedule: chooses the innermost loop by how many accesses it walks
// contiguously (stride 0 or 1): the last output axis or a K dim (dot products).
Schedule plan_simple_schedule(const KernelSpec& c, const TargetModel& target = {});
// The GEMM schedule when the contraction is a (batched) GEMM with unit-stride output
// columns, else nullopt with the reason (TACO style).
std::optional<GemmPlan> plan_gemm(const KernelSpec& c, const TargetModel& target, std::string* why_not = nullptr);
// The transposing copy when the step is a copy whose output's unit-stride dim the input
// strides and another dim the input walks contiguously, both at least a vector long.
std::optional<TransposeCopy> plan_transpose_copy(const KernelSpec& c, const TargetModel& target);
// The flash-attention schedule of an attention step.
AttentionPlan plan_attention(const KernelSpec& c, const TargetModel& target);
// The GEMM schedule where it applies, else the simple one.
Schedule plan_schedule(const KernelSpec& c, const TargetModel& target = {});

}  // namespace tcc::ir::sched
