// Pass: a KernelSpec with a GemmPlan -> LoopKernel around MicroKernel statements.
#pragma once
#include "ir/kernel/kernel_spec.h"
#include "ir/loop/loop_ir.h"
#include "ir/schedule/schedule.h"

namespace tcc::ir::loop {

LoopKernel lower_gemm(const KernelSpec& c, const sched::GemmPlan& plan, const std::string& name);

// Whether c's epilogue runs in the micro-kernel's store (else in a pass over C after the GEMM):
// no summed outer dim, and every epilogue operand per row or contiguous along C's rows.
bool epilogue_in_store(const KernelSpec& c, const sched::GemmPlan& plan);

}  // namespace tcc::ir::loop
