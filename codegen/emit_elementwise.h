// The element-wise functions (ir/elementwise.h) as LLVM IR on scalars of a dtype, which the
// loop vectoriser widens, or on vectors of them (a micro-kernel's epilogue). exp is tcc's own
// vector code; what else LLVM has an intrinsic for uses it (log and pow become C library
// calls); tanh and erf are calls to the C library's functions, one per lane.
// The JIT exports those to kernels (jit.cpp's runtime symbols); an AOT object leaves them to the
// program's -lm.
#pragma once
#include "codegen/llvm_internal.h"
#include "ir/elementwise.h"

namespace tcc::codegen {

// op(a, b) of values (scalars or vectors) of dtype `type` (b null for a unary op).
llvm::Value* emit_elementwise(llvm::IRBuilder<>& b, ir::ElemOp op, DType type, llvm::Value* x, llvm::Value* y);

}  // namespace tcc::codegen
