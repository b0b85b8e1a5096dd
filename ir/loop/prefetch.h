// Pass: the software prefetches a GEMM plan asks for, added to the micro-kernels that
// lower_gemm placed (MicroKernel::place): the C tile before the k loop (prefetch_c), and the
// next batch matrix's operands during it (prefetch_next).
#pragma once
#include "ir/kernel/kernel_spec.h"
#include "ir/loop/loop_ir.h"
#include "ir/schedule/schedule.h"

namespace tcc::ir::loop {

LoopKernel add_prefetches(LoopKernel k, const KernelSpec& c, const sched::GemmPlan& plan);

}  // namespace tcc::ir::loop
