// The element-wise functions (ir/elementwise.h) as LLVM IR on scalars of a dtype, which the
// loop vectoriser widens. What LLVM has an intrinsic for uses it; tanh and erf are calls to the C
// library's functions, which the JIT exports to kernels (jit.cpp) and an AOT object leaves to
// the program's -lm.
#pragma once
#include "codegen/llvm_internal.h"
#include "ir/elementwise.h"

namespace tcc::codegen {

// op(a, b) of values of dtype `type` (b null for a unary op).
llvm::Value* emit_elementwise(llvm::IRBuilder<>& b, ir::ElemOp op, DType type, llvm::Value* x, llvm::Value* y);

// The C library's functions an element-wise kernel may call, by name (the JIT's symbol table).
struct LibmSymbol {
  const char* name;
  void* address;
};
const std::vector<LibmSymbol>& libm_symbols();

}  // namespace tcc::codegen
