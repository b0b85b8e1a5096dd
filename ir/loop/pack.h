// Pass: pack_panels statements (lower_gemm) -> the copy loops or register transposes that
// fill the micro-kernel's panels, as the GEMM plan says (GemmPlan::pack_b, pack_a).
#pragma once
#include "ir/kernel/kernel_spec.h"
#include "ir/loop/loop_ir.h"
#include "ir/schedule/schedule.h"

namespace tcc::ir::loop {

LoopKernel expand_packing(LoopKernel k, const KernelSpec& c, const sched::GemmPlan& plan);

}  // namespace tcc::ir::loop
