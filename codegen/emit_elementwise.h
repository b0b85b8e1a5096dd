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

// x of dtype `from` as dtype `to` (ElemOp::cast): integers wrap (truncate or sign-extend),
// floats round to nearest, floats to integers truncate toward zero and saturate (NaN: 0).
llvm::Value* emit_convert(llvm::IRBuilder<>& b, llvm::Value* x, DType from, DType to, llvm::Type* to_type);

// op(a, b) of values (scalars or vectors) of dtype `type` (b null for a unary op).
llvm::Value* emit_elementwise(llvm::IRBuilder<>& b, ir::ElemOp op, DType type, llvm::Value* x, llvm::Value* y);

}  // namespace tcc::codegen
