// Pass: a Contraction with a GemmPlan -> LoopKernel around MicroKernel statements.
#pragma once
#include "ir/graph/contraction.h"
#include "ir/loop/loop_ir.h"
#include "ir/schedule/schedule.h"

namespace tcc::ir::loop {

LoopKernel lower_gemm(const Contraction& c, const sched::GemmPlan& plan, const std::string& name);

}  // namespace tcc::ir::loop
