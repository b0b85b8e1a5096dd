// Graph pass: graph IR -> KernelProgram (the canonical kernel form). After it no pass knows Keras.
#pragma once
#include "ir/graph/graph_ir.h"
#include "ir/kernel/kernel_spec.h"

#include <vector>

namespace tcc::ir {

// Contraction ops -> KernelSpec steps; transposes, diagonals and reshapes of dense data fold
// into strides; only what must be materialised (a reshape of a strided view, a strided graph
// output) becomes a copy step. Dead nodes are dropped.
KernelProgram canonicalize_contractions(const GraphIR& g, const std::vector<int>& outputs, const Fusion& fusion = {});

}  // namespace tcc::ir
