// The schedule of one contraction kernel, kept as data apart from the algorithm (the
// Contraction): which loop nest order to emit and where the sum is accumulated.
// This is the simple correct schedule; the packed, register-tiled one comes later.
#pragma once
#include "ir/graph/contraction.h"

#include <string>
#include <vector>

namespace tcc::ir::loop {

struct Schedule {
  std::vector<int> loop_order;          // contraction dims, outermost first
  // True: every K dim is innermost and the sum lives in a scalar, stored once per output.
  // False: the output is zero-filled, then `out += product` in loop_order (i-k-j style).
  bool accumulate_in_register = false;
  bool vectorize_innermost = false;     // the innermost loop has unit-stride accesses
  std::string str() const;
};

// Chooses the innermost loop by how many accesses it walks contiguously (stride 0 or 1):
// the last output axis (GEMM's N: out and B rows contiguous) or a K dim (dot products).
Schedule plan_schedule(const Contraction& c);

}  // namespace tcc::ir::loop
