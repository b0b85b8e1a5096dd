// What the planners know about the machine a kernel is compiled for, in three parts kept apart:
//  - HardwareFacts: facts about the *target* CPU (vector width, registers, L2), never the
//    host's under --target-cpu;
//  - Tuning: the one table of tuning constants, each with a one-line provenance (the
//    measurements behind them are in bench/TUNING.md);
//  - PlanLimits: knobs only tests set, to reach every blocking edge at small sizes.
// The driver alone builds a TargetModel (driver/driver.cpp).
#pragma once
#include <tcc/dtype.h>

#include "ir/kernel/kernel_spec.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tcc::ir::sched {

struct HardwareFacts {
  std::string cpu;             // LLVM's CPU name (znver5, sapphirerapids, x86-64-v3 ...)
  int vector_bits = 128;       // 512 for AVX-512, 256 for AVX2
  int vector_registers = 16;   // 32 with AVX-512
  int64_t l2_bytes = 1 << 20;  // per core
  int fma_units = 2;           // vector FMAs issued per cycle (every x86-64 CPU with FMA has 2)
  std::string str() const;
};

// The L2 size of a CPU LLVM names (cpu_facts.cpp's table); 1 MiB for a CPU it does not list.
int64_t l2_bytes_of_cpu(std::string_view cpu);

struct Tuning {
  // -- register tiles --
  // Rows of a tile of 1, 2, 3, 4+ vectors per row with 32 / 16 vector registers: all
  // accumulators, the B row and one broadcast fit; caps where FMA latency is long covered.
  std::array<int, 4> max_tile_rows_32_registers{16, 12, 8, 6};
  std::array<int, 4> max_tile_rows_16_registers{12, 6, 12, 12};
  // Vectors per tile row: 3 on 32 registers, 2 on 16; 4 on 32 registers when packed (the A
  // micro-panel is the smaller one to keep in L1) or when it covers an in-place row exactly.
  int tile_vectors_32_registers = 3;
  int tile_vectors_16_registers = 2;
  int wide_tile_vectors = 4;
  int narrow_tile_vectors = 2;      // in place with B past L1 (narrow_tile_min_b_bytes)
  int gemv_max_vectors = 16;        // one-row tiles: 16 accumulators stream B as fast as more (TUNING.md#gemv)
  int gemv_spare_registers = 4;     // registers a one-row tile leaves for B and the broadcast
  // In place with B past L1, the 2-vector 12-row tile halves B bytes per FMA (TUNING.md#tiles).
  int64_t narrow_tile_min_b_bytes = 64 << 10;

  // -- cache blocks --
  int64_t max_kc_4_byte = 768;      // K block for 4-byte elements (TUNING.md#blocks)
  int64_t max_kc_8_byte = 256;      // K block for 8-byte elements
  int64_t l3_share_bytes = 8 << 20;  // the L3 a packed A block (mc x kc) may fill
  int64_t packed_b_l2_divisor = 2;  // a packed B block (kc x nc) fills L2 / this
  // Packed on threads: column panels, not row panels, while a K block of A (M x kc) fits
  // L2 / this (TUNING.md#column-panels).
  int64_t column_panels_a_l2_divisor = 4;

  // -- packing --
  int64_t in_place_b_l2_divisor = 2;  // B read in place while it fits L2 / this
  int64_t in_place_max_rows = 16;     // or while M is this small (too few rows to pay for packing)
  int64_t columns_outer_max_rows = 64;  // or, column tiles outermost, while A fits L2 (TUNING.md#few-rows)
  int64_t columns_outer_kc = 256;       // their K blocks: B panel rows that stay in L2 (TUNING.md#few-rows)
  // B rows this far apart, from this many rows on, are packed: each k step would read a new
  // page the prefetchers do not follow (TUNING.md#paged-b).
  int64_t paged_b_min_rows = 1024;
  int64_t paged_b_row_bytes = 8192;
  int64_t max_stack_pack_bytes = 64 << 10;  // packed blocks per batch task on its stack (TUNING.md#batch-pack)
  int64_t gemv_sweep_kc = 64;               // one-row kernels sweep K in blocks of this (TUNING.md#gemv)
  int64_t gemv_parallel_sweep_kc = 64;      // at least this on threads: a block is one hand-off (TUNING.md#gemv)

  // -- dot products --
  int dot_product_rows = 8;  // rows a dot-product kernel sums side by side (TUNING.md#dot-products)

  // -- element-wise steps and copies --
  // Bytes moved (read and written) from which an element-wise step or a plain copy runs its
  // outermost loop on threads (a one-dim loop in blocks of stream_block_elements).
  int64_t stream_parallel_min_bytes = 1 << 20;
  int64_t stream_block_elements = 1 << 15;
  // Outputs from this size are written past the caches (non-temporal stores): no read for
  // ownership of each line (TUNING.md#streaming-stores).
  int64_t stream_store_min_bytes = 16 << 20;
  int64_t transpose_tile_bytes = 512;  // a transposing copy's tile side (TUNING.md#transpose)
  // A GEMM whose operand no GEMM dim is contiguous in gets that operand copied into a GEMM
  // layout when it does at least this many flops per element copied (TUNING.md#layout-copies).
  double layout_copy_min_flops_per_element = 8;

  // -- attention (flash) --
  int64_t attention_block_rows = 64;           // q rows per task (TUNING.md#attention)
  int64_t attention_scores_block_bytes = 32 << 10;  // a task's block of scores (q rows x k rows), in L1

  // -- micro-kernel code --
  int k_steps = 4;        // k steps per k-loop iteration (TUNING.md#k-steps)
  int edge_k_steps = 1;   // for edge tiles: a small share of the work, each step costs compile time
  int64_t full_unroll_max_k = 16;  // a constant K up to this is straight-line code, no loop
  int64_t prefetch_c_min_kc = 128;  // packed tiles prefetch C when a K block outlasts a miss (TUNING.md#prefetch-c)
  int prefetch_locality = 3;        // T0: asking for L2 only lost the batched 32^3 gain (TUNING.md#prefetch-next)

  // -- batches and threads --
  // The largest A or B of an in-place batch whose tiles prefetch the next matrix (TUNING.md#prefetch-next).
  int64_t prefetch_next_max_bytes = 4096;
  // Work (2 x multiply-adds, f64 counted double) below which a kernel stays on one thread (TUNING.md#threads).
  double parallel_min_flops = double(1 << 20);

  // -- the speed model of tcc's kernels (cost_model.h; TUNING.md#cost-model) --
  double gemm_peak_fraction = 0.8;     // of the FMA peak, GEMM-form kernels at sizes worth planning
  double stream_peak_fraction = 0.25;  // outer and element-wise products: one FMA per loaded vector
  double generic_flops_per_cycle = 2;  // a loop nest over three or more operands, no GEMM form
  double stream_bytes_per_cycle = 5;   // one core streaming from beyond L2
  double kernel_call_cycles = 500;     // a kernel call, its loop set-up and its first misses

  // -- contraction paths --
  int path_exhaustive_max_operands = 8;  // optimal (dynamic programming) search up to this many; greedy beyond
  int path_max_merged_operands = 16;     // a chain of contractions is merged up to this many operands

  std::string str() const;  // the entries that differ from the defaults
};

// The defaults, with the overrides of the CPU's family (Zen: prefetch_next_max_bytes, gemv_sweep_kc,
// parallel_min_flops; TUNING.md).
Tuning tuning_for_cpu(std::string_view cpu);

// Test knobs: caps on the K, M and N cache blocks (0: from the caches) and packing forced
// where reading in place would be chosen.
struct PlanLimits {
  int64_t max_kc = 0, max_mc = 0, max_nc = 0;
  bool force_packing = false;
};

struct TargetModel {
  HardwareFacts hw;
  Tuning tuning;
  PlanLimits limits;
  // Whether kernels may run loops on the runtime's thread pool (not in ahead-of-time objects
  // unless asked for).
  bool threads = true;
  // How many threads will share a kernel's parallel loops (the pool's size when it is
  // compiled; only tuning depends on it): sizes each thread's share of a batch.
  int pool_threads = 1;
  // The largest intermediate a contraction path may create, in bytes; 0: the largest operand
  // or result of the contraction being planned (NumPy's einsum_path rule).
  int64_t max_intermediate_bytes = 0;
  // The most operands one contraction kernel takes; a contraction with more is always split
  // into a path.
  int max_kernel_operands = 6;
  // What canonicalize fuses (off: the unfused forms, for A/B measurements;
  // TCC_FUSE_EPILOGUES=0, TCC_FUSE_ATTENTION=0).
  Fusion fusion;
  // Whether outputs past the caches are written with non-temporal stores (off: for A/B runs;
  // TCC_STREAM_STORES=0).
  bool stream_stores = true;
  std::string str() const;
};

// Whether a kernel of this much work (2 per multiply-add) in this dtype goes on the threads:
// threads allowed and the work, f64 counted double, at least Tuning::parallel_min_flops.
bool enough_work_for_threads(const TargetModel& target, double flops, DType dtype);

}  // namespace tcc::ir::sched
