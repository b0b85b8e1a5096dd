#include "ir/schedule/cost_model.h"

#include <algorithm>

namespace tcc::ir::sched {

CostEstimate estimate_cost(const TargetModel& target, KernelForm form, DType dtype, double flops, double bytes) {
  const Tuning& t = target.tuning;
  const double lanes = std::max(1.0, target.hw.vector_bits / 8.0 / static_cast<double>(dtype_size(dtype)));
  const double peak = 2.0 * lanes * target.hw.fma_units;  // flops per cycle: FMA = 2
  const double rate = form == KernelForm::gemm     ? peak * t.gemm_peak_fraction
                      : form == KernelForm::stream ? peak * t.stream_peak_fraction
                                                   : t.generic_flops_per_cycle;
  CostEstimate e{flops, bytes, 0};
  e.cycles = std::max(flops / rate, bytes / t.stream_bytes_per_cycle) + t.kernel_call_cycles;
  return e;
}

}  // namespace tcc::ir::sched
