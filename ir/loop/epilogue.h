// A contraction's epilogue (KernelSpec::epilogue) in loop IR, shared by both lowerings: its
// operands as kernel parameters, its value at a point of the loops, and the fallback pass
// over the finished output where a lowering cannot apply it as it stores.
#pragma once
#include "ir/kernel/kernel_spec.h"
#include "ir/loop/extents.h"
#include "ir/loop/loop_ir.h"

#include <functional>
#include <vector>

namespace tcc::ir::loop {

// Declares k's parameters for c's epilogue operands (after the operands'), in their order.
std::vector<Buffer> add_epilogue_params(const KernelSpec& c, LoopKernel& k);

// Declares k's parameter for c's accumulator buffer (after the epilogue operands'), or returns
// null when c has none: its sums are stored in the output's dtype.
Buffer add_accumulator_param(const KernelSpec& c, LoopKernel& k);

// The epilogue of `value`, operand i read at offset_of(its strides per loop dim).
Expr epilogue_value(const KernelSpec& c, const std::vector<Buffer>& params, Expr value,
                    const std::function<Expr(const std::vector<int64_t>&)>& offset_of);

// out[p] = epilogue(sums[p]) for every output point p, row-major, the innermost axis
// vectorised (sums: the output itself, or the accumulator buffer).
Stmt epilogue_over_output(const KernelSpec& c, const Buffer& sums, const Buffer& out, const DimExtents& extent,
                          const std::vector<Buffer>& params);

}  // namespace tcc::ir::loop
