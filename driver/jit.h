// The JIT side of the compile path: graph -> plans -> kernels from the cache (compiled and
// linked on a miss) -> an Executable.
#pragma once
#include "driver/driver.h"
#include "runtime/executable.h"

namespace tcc::driver {

// Graph::compile: plans for the host (Options{} with the pool's thread count).
runtime::Executable compile_jit(const ir::GraphIR& graph, const std::vector<int>& outputs, const Options& options = {});
// The same with the caller's planner model (tests).
runtime::Executable compile_jit_for_model(const ir::GraphIR& graph, const std::vector<int>& outputs,
                                          const ir::sched::TargetModel& model);

}  // namespace tcc::driver
