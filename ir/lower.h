// THE pass list from graph IR to loop kernels, in one place. TCC_DEBUG=1 lists the passes
// run (with times), TCC_DEBUG=2 also dumps the IR after each one, on stderr.
#pragma once
#include "ir/graph/contraction.h"
#include "ir/graph/graph_ir.h"
#include "ir/loop/loop_ir.h"
#include "ir/loop/schedule.h"

#include <string>
#include <vector>

namespace tcc::ir {

struct LoweredKernel {
  std::vector<std::pair<std::string, std::string>> descriptor_fields;  // Contraction::descriptor_fields()
  std::string descriptor;  // Contraction::descriptor(): identical kernels are shared
  loop::Schedule schedule;
  loop::LoopKernel kernel;
};

struct LoweredProgram {
  ContractionProgram program;
  std::vector<LoweredKernel> kernels;  // distinct kernels
  std::vector<int> step_kernel;        // program.steps[i] runs kernels[step_kernel[i]]
};

LoweredProgram lower(const GraphIR& g, const std::vector<int>& outputs);

// "tcc_<16 hex digits>" from a descriptor (FNV-1a 64).
std::string kernel_name(const std::string& descriptor);

}  // namespace tcc::ir
