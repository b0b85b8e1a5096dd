// Symbolic extents in the middle end (docs/design/symbolic-dims.md): what planners assume for a
// size known only at run time, and the layouts whose strides stay compile-time constants.
#pragma once
#include <tcc/dim.h>
#include <tcc/tensor.h>

#include <cstdint>
#include <string>

namespace tcc::ir {

// The size cost models and planners assume for a symbol: a batch that is worth tiling and
// threading, small enough that a plan made for it suits a single matrix too.
inline constexpr int64_t kSymbolPlanningExtent = 64;

inline int64_t planning_extent(int64_t extent) { return is_symbol(extent) ? kSymbolPlanningExtent : extent; }
inline double planning_numel(const Shape& shape) {
  double n = 1;
  for (int64_t e : shape) n *= static_cast<double>(planning_extent(e));
  return n;
}

// The one symbol of a dense row-major shape whose strides are all compile-time constants (0
// for none): a symbol may only be the outermost axis that is not 1, since every stride outside
// it would be a multiple of it. Throws CompileError naming `what` for another layout.
int64_t outer_symbol(const Shape& shape, const std::string& what);

}  // namespace tcc::ir
