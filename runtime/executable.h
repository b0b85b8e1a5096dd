// A compiled graph as the runtime runs it: the program's buffers and outputs, and for each
// step the kernel entry and its argument buffers. Built by the driver (driver/jit.cpp), run
// by the public CompiledGraph (frontend/compiled_graph.cpp).
#pragma once
#include <tcc/graph.h>

#include "ir/graph/shape_constraints.h"
#include "ir/kernel/kernel_spec.h"

#include <cstddef>
#include <set>
#include <string>
#include <vector>

namespace tcc::runtime {

// Every kernel's ABI: args[0] the output buffer, then the operands (KernelSpec::arg_buffers:
// the epilogue's last), then the values of its
// symbols (each slot holds the int64 itself), then (when the kernel needs one) the scratch block.
using KernelEntry = void (*)(void* const* args);

struct Executable {
  struct Step {
    static constexpr std::size_t kMaxArgs = 16;
    KernelEntry entry = nullptr;
    std::vector<int> args;     // buffer ids in the kernel's argument order (KernelSpec::arg_buffers)
    std::vector<int> symbols;  // then these symbols' values (indices into Executable::symbols)
    bool scratch = false;      // the scratch block follows
    // Arithmetic of one call: `flops` times the value of each symbol in `flop_symbols` (one
    // entry per symbolic dim of the kernel).
    double flops = 0;
    std::vector<int> flop_symbols;
  };
  struct InputSlot {
    int buffer = -1;
    InputInfo info;
    Shape feed_shape;  // info.feed_shape()
    int64_t origin_bytes = 0;  // where the kernels are pointed in the feed (a view with negative strides)
  };
  ir::KernelProgram program;       // buffers, steps' operands, outputs
  std::vector<Step> steps;
  std::vector<InputSlot> input_slots;   // sorted by name
  std::vector<InputInfo> inputs;        // the inputs the outputs depend on, in declaration order
  std::set<std::string> graph_inputs;   // every input name of the graph
  int64_t scratch_bytes = 0;            // the largest scratch block a step needs
  // The symbols (tcc::dim codes) of the inputs and the program's buffers: every call binds
  // each from the inputs, then checks the constraints the shape rules left. Empty for a graph
  // of static shapes.
  std::vector<int64_t> symbols;
  std::vector<ir::ShapeConstraint> constraints;

  // The index of a symbol (a tcc::dim code) in `symbols`, or -1.
  int symbol_slot(int64_t code) const {
    for (size_t s = 0; s < symbols.size(); ++s)
      if (symbols[s] == code) return static_cast<int>(s);
    return -1;
  }
  CompileStats stats;
};

}  // namespace tcc::runtime
