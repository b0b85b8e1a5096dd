// tcc's speed model of its own kernels: a roofline of the arithmetic rate a kernel form
// reaches and the bytes it streams, plus a fixed cost per kernel call, in cycles of one core.
// The contraction-path planner ranks paths with it; the rates are Tuning entries
// (bench/TUNING.md#cost-model).
#pragma once
#include "ir/schedule/target_model.h"

#include <tcc/dtype.h>

namespace tcc::ir::sched {

enum class KernelForm {
  gemm,     // a dim summed over both operands: the register-tiled GEMM/GEMV kernels
  stream,   // nothing summed over both operands (outer or element-wise products, copies)
  generic,  // a loop nest of three or more operands (an unplanned multi-operand einsum)
};

struct CostEstimate {
  double flops = 0;  // 2 per multiply-add
  double bytes = 0;  // operands read once and the result written once
  double cycles = 0;
};

CostEstimate estimate_cost(const TargetModel& target, KernelForm form, DType dtype, double flops, double bytes);

}  // namespace tcc::ir::sched
