// Pass: KernelSpec + Schedule -> LoopKernel (a naive loop nest in the scheduled order).
#pragma once
#include "ir/kernel/kernel_spec.h"
#include "ir/loop/loop_ir.h"
#include "ir/schedule/schedule.h"

namespace tcc::ir::loop {

LoopKernel lower_to_loops(const KernelSpec& c, const sched::Schedule& s, const std::string& name);

}  // namespace tcc::ir::loop
