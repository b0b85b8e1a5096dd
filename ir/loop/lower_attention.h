// Pass: an attention step (StepKind::attention) with its AttentionPlan -> the flash-attention
// loop nest around two micro-kernels (sched::AttentionPlan says how).
#pragma once
#include "ir/kernel/kernel_spec.h"
#include "ir/loop/loop_ir.h"
#include "ir/schedule/schedule.h"

namespace tcc::ir::loop {

LoopKernel lower_attention(const KernelSpec& c, const sched::AttentionPlan& plan, const std::string& name);

}  // namespace tcc::ir::loop
