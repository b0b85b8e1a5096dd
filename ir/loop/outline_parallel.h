// Pass: every `for.parallel` loop becomes a parallel_task that names what its body captures
// (the vars and buffers it uses from around it, in order of first use), so that codegen only
// packs a closure and the runtime runs the task on its threads.
#pragma once
#include "ir/loop/loop_ir.h"

namespace tcc::ir::loop {

LoopKernel outline_parallel(LoopKernel k);

}  // namespace tcc::ir::loop
