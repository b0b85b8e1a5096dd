#include "ir/schedule/schedule.h"

#include <fmt/format.h>

#include <algorithm>

namespace tcc::ir::sched {

std::string TransposeCopy::str() const { return fmt::format(" transpose(rows=d{} cols=d{} lanes={} tile={})", rows, cols, lanes, tile); }

std::optional<TransposeCopy> plan_transpose_copy(const KernelSpec& c, const TargetModel& target) {
  if (c.kind != StepKind::copy || c.operands.size() != 1 || !c.uniform_dtype() || c.out_axes.empty()) return std::nullopt;
  TransposeCopy t;
  t.lanes = std::max(1, target.hw.vector_bits / 8 / static_cast<int>(dtype_size(c.out_dtype)));
  const std::vector<int64_t>& in = c.operands[0].strides;
  t.cols = c.out_axes.back();
  if (in[t.cols] == 1 || in[t.cols] == 0 || c.dims[t.cols].extent < t.lanes || t.lanes < 2) return std::nullopt;
  for (size_t d = 0; d < c.dims.size(); ++d)
    if (in[d] == 1 && static_cast<int>(d) != t.cols && c.dims[d].extent >= t.lanes && !c.dims[d].symbolic()) t.rows = static_cast<int>(d);
  if (t.rows < 0 || c.dims[t.cols].symbolic()) return std::nullopt;
  t.tile = std::max<int64_t>(1, target.tuning.transpose_tile_bytes / (t.lanes * static_cast<int64_t>(dtype_size(c.out_dtype))));
  return t;
}

std::string Schedule::str() const {
  if (gemm) return gemm->str();
  if (attention) return attention->str();
  if (transpose)
    return fmt::format("order(d{}){}", fmt::join(loop_order, ",d"), transpose->str());
  return fmt::format("order(d{}){}{}{}{}", fmt::join(loop_order, ",d"), accumulate_in_register ? " accumulate=register" : "",
                     vectorize_innermost ? " vectorize=innermost" : "",
                     dot_rows > 1 ? fmt::format(" rows={}{}", dot_rows, parallel_rows ? " parallel=rows" : "") : "",
                     parallel_outer ? (parallel_block > 0 ? fmt::format(" parallel=blocks({})", parallel_block) : std::string(" parallel=outer"))
                                    : "") +
         (stream_stores ? " stores=streaming" : "");
}

namespace {

int contiguous_accesses(const KernelSpec& c, int d, bool output_contiguous) {
  int n = output_contiguous ? 1 : 0;
  for (const StridedOperand& op : c.operands)
    if (op.strides[d] == 0 || op.strides[d] == 1) ++n;
  return n;
}

bool has_unit_stride(const KernelSpec& c, int d, const std::vector<int64_t>& out_strides) {
  if (out_strides[d] == 1) return true;
  return std::any_of(c.operands.begin(), c.operands.end(), [&](const StridedOperand& op) { return op.strides[d] == 1; });
}

}  // namespace

Schedule plan_simple_schedule(const KernelSpec& c, const TargetModel& target) {
  std::vector<int> out_dims = c.out_axes, k_dims;
  for (size_t d = 0; d < c.dims.size(); ++d)
    if (c.dims[d].role == DimRole::K) k_dims.push_back(static_cast<int>(d));

  // The innermost output candidate: the last output axis longer than 1 (its out stride is 1).
  // A symbolic dim is the outermost axis of its arrays: innermost only when nothing else is.
  int inner_out = -1;
  for (int a = static_cast<int>(out_dims.size()) - 1; a >= 0 && inner_out < 0; --a)
    if (c.dims[out_dims[a]].extent > 1) inner_out = out_dims[a];
  // The best K candidate, ties going to the later (usually more contiguous) dim; a symbolic
  // one only when no K dim is static.
  int inner_k = -1, k_score = -1;
  for (bool symbolic : {false, true}) {
    for (int d : k_dims)
      if (int s = contiguous_accesses(c, d, false); c.dims[d].symbolic() == symbolic && s >= k_score) inner_k = d, k_score = s;
    if (inner_k >= 0) break;
  }
  Schedule s;
  // logsumexp sweeps each output's elements twice (max, then sum): its K loops innermost.
  const bool reduce_inner = !k_dims.empty() && (c.combine == ElemOp::logaddexp || inner_out < 0 ||
                                                k_score >= contiguous_accesses(c, inner_out, true));
  if (reduce_inner) {
    s.accumulate_in_register = true;
    s.loop_order = out_dims;
    for (int d : k_dims)
      if (d != inner_k) s.loop_order.push_back(d);
    s.loop_order.push_back(inner_k);
  } else {
    for (int d : out_dims)
      if (d != inner_out) s.loop_order.push_back(d);
    for (int d : k_dims) s.loop_order.push_back(d);
    if (inner_out >= 0) s.loop_order.push_back(inner_out);
  }
  if (!s.loop_order.empty()) s.vectorize_innermost = has_unit_stride(c, s.loop_order.back(), c.out_strides());
  // Dot products over a contiguous K: rows summed side by side.
  if (s.accumulate_in_register && s.vectorize_innermost && !out_dims.empty()) {
    const int row = s.loop_order[out_dims.size() - 1];
    if (c.dims[row].extent >= target.tuning.dot_product_rows && !c.dims[row].symbolic())
      s.dot_rows = target.tuning.dot_product_rows;
    // Threads over blocks of rows when there is enough work (every output on one thread: the
    // same sums for every thread count).
    double points = 1;
    for (const KernelDim& d : c.dims) points *= static_cast<double>(d.extent);
    s.parallel_rows = s.dot_rows > 1 && enough_work_for_threads(target, 2 * points, c.acc_dtype) &&
                      c.dims[row].extent / s.dot_rows >= 2;
  }
  // Streams (nothing summed) on threads once they move enough memory: the outermost loop, or
  // a single loop in blocks.
  if (k_dims.empty() && !s.loop_order.empty() && target.threads && target.pool_threads > 1 &&
      c.bytes() >= static_cast<double>(target.tuning.stream_parallel_min_bytes)) {
    const KernelDim& outer = c.dims[s.loop_order.front()];
    if (s.loop_order.size() == 1 && outer.extent >= 2 * target.tuning.stream_block_elements) {
      s.parallel_outer = true;
      s.parallel_block = target.tuning.stream_block_elements;
    } else if (s.loop_order.size() > 1 && (outer.symbolic() || outer.extent >= 2)) {
      s.parallel_outer = true;
    }
  }
  double out_bytes = static_cast<double>(dtype_size(c.out_dtype));
  for (int d : c.out_axes) out_bytes *= static_cast<double>(c.dims[d].extent);
  s.stream_stores = target.stream_stores && k_dims.empty() && s.vectorize_innermost &&
                    out_bytes >= static_cast<double>(target.tuning.stream_store_min_bytes);
  return s;
}

}  // namespace tcc::ir::sched
