// Pass: a KernelSpec with a GemmPlan -> LoopKernel around MicroKernel statements.
#pragma once
#include "ir/kernel/kernel_spec.h"
#include "ir/loop/loop_ir.h"
#include "ir/schedule/schedule.h"

namespace tcc::ir::loop {

LoopKernel lower_gemm(const KernelSpec& c, const sched::GemmPlan& plan, const std::string& name);

}  // namespace tcc::ir::loop
