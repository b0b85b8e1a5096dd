// Kernel-program pass: a contraction whose layouts leave no good GEMM (the output's
// unit-stride dim is a batch dim; an operand contiguous only along a batch dim; K dims the
// operands walk in different orders) gets copies: the operands into [batch, rows, depth] /
// [batch, depth, columns], or the result computed into [batch, rows, columns] and then
// transposed into place. Copies are transposing copies (register blocks), linear in the data;
// the GEMM they enable is not.
#pragma once
#include "ir/kernel/kernel_spec.h"
#include "ir/schedule/target_model.h"

namespace tcc::ir::sched {

KernelProgram layout_copies(KernelProgram p, const TargetModel& target);

}  // namespace tcc::ir::sched
