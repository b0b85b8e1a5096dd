// Internal entry points of the executor, for tools and tests.
#pragma once
#include <tcc/graph.h>

#include "ir/loop/schedule.h"

namespace tcc::runtime {

// Graph::compile with the schedules planned for `target` instead of the host's model (the
// code still runs on the host, so the model must describe a subset of it).
CompiledGraph compile_for_model(const Graph& g, const std::vector<Value>& outputs, const ir::loop::TargetModel& target);

}  // namespace tcc::runtime
