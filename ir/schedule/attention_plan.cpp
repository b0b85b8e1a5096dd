// The flash-attention planner: register tiles of the two products and the block sizes.
#include "ir/schedule/schedule.h"

#include <fmt/format.h>

#include <algorithm>

namespace tcc::ir::sched {

std::string AttentionPlan::str() const {
  return fmt::format("attention(blocks={}x{} score_tile={}x{} value_tile={}x{} lanes={}{} k_steps={} unroll_k<={})",
                     block_rows, block_cols, score_mr, score_nr, value_mr, value_nr, lanes, parallel ? " parallel" : "",
                     k_steps, full_unroll_max_k);
}

AttentionPlan plan_attention(const KernelSpec& c, const TargetModel& target) {
  const Tuning& tune = target.tuning;
  const AttentionDims a = c.attention_dims();
  const int64_t elem = dtype_size(c.out_dtype);
  AttentionPlan p;
  p.lanes = std::max<int>(1, target.hw.vector_bits / 8 / static_cast<int>(elem));
  // Scores, transposed: rows are k rows, columns q rows (a block of them: two vectors).
  const int score_vectors = 2;
  p.score_nr = score_vectors * p.lanes;
  p.score_mr = register_tile_rows(score_vectors, target);
  p.block_rows = std::max<int64_t>(p.score_nr, tune.attention_block_rows / p.score_nr * p.score_nr);
  // Never a block of q rows much longer than q.
  const int64_t q_rows = c.dims[a.i].extent;
  while (p.block_rows > p.score_nr && p.block_rows / 2 >= q_rows) p.block_rows /= 2;
  // k rows per block: as many as fill the scores' block, in blocks of equal size (the last
  // may be shorter), so that no block is a small remainder.
  const int64_t keys = c.dims[a.j].extent;
  const int64_t most = std::max<int64_t>(p.score_mr, tune.attention_scores_block_bytes / (p.block_rows * elem));
  const int64_t blocks = (keys + most - 1) / most;
  p.block_cols = std::min(most, (keys + blocks - 1) / blocks);
  // out += P v: rows are q rows, columns v's (up to two vectors).
  const int value_vectors = static_cast<int>(std::clamp<int64_t>((c.dims[a.d].extent + p.lanes - 1) / p.lanes, 1, 2));
  p.value_nr = value_vectors * p.lanes;
  p.value_mr = register_tile_rows(value_vectors, target);
  p.k_steps = tune.k_steps;
  p.full_unroll_max_k = tune.full_unroll_max_k;
  int64_t tasks = (q_rows + p.block_rows - 1) / p.block_rows;
  for (int d = 0; d < a.i; ++d) tasks *= c.dims[d].extent;
  p.parallel = tasks >= 2 && enough_work_for_threads(target, c.flops(), c.out_dtype);
  return p;
}

}  // namespace tcc::ir::sched
