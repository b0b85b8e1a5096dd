// THE pass list from graph IR to loop kernels, in one place. TCC_DEBUG=1 lists the passes
// run (with times), TCC_DEBUG=2 also dumps the IR after each one, on stderr;
// TCC_DUMP_AFTER=PASS[,PASS] (or `tcc ... --dump-after PASS`) dumps only those.
#pragma once
#include "ir/kernel/kernel_spec.h"
#include "ir/graph/canonicalize.h"
#include "ir/graph/graph_ir.h"
#include "ir/graph/plan_paths.h"
#include "ir/loop/loop_ir.h"
#include "ir/schedule/schedule.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcc::ir {

struct LoweredKernel {
  std::string name;        // the kernel's symbol: a hash of the descriptor and the schedule
  std::vector<std::pair<std::string, std::string>> descriptor_fields;  // KernelSpec::descriptor_fields()
  std::string descriptor;  // KernelSpec::descriptor(): identical kernels are shared
  sched::Schedule schedule;
  KernelSpec spec;  // of the first step that runs this kernel
  // The loop nest, built on demand (kernel_loops): a kernel found in a cache never needs it.
  std::optional<loop::LoopKernel> loops;
  // What identifies the kernel's code on one target: descriptor and schedule.
  std::string identity() const { return descriptor + " schedule=" + schedule.str(); }
};

struct LoweredProgram {
  std::vector<PlannedContraction> paths;  // of each contraction of three or more operands
  KernelProgram program;
  std::vector<LoweredKernel> kernels;  // distinct kernels
  std::vector<int> step_kernel;        // program.steps[i] runs kernels[step_kernel[i]]
};

// Graph passes, schedules and (when `build_loops`) the loop nests of every kernel.
LoweredProgram lower(const GraphIR& g, const std::vector<int>& outputs, const sched::TargetModel& target,
                     bool build_loops = true);
// The kernel's loop nest: lower_to_loops + verify_kernel the first time, then the same one.
const loop::LoopKernel& kernel_loops(LoweredKernel& k);

// Every pass, in the order they run.
const std::vector<std::string_view>& pass_names();
// Also dump the IR after these passes, each entry a name or a comma-separated list of names
// (ArgumentError for a name not in pass_names()).
void set_dump_after(const std::vector<std::string>& lists);

// "tcc_<16 hex digits>" from a descriptor (FNV-1a 64).
std::string kernel_name(const std::string& descriptor);

}  // namespace tcc::ir
