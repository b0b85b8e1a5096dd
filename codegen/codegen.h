// codegen: loop IR -> LLVM IR -> host machine code. This header is LLVM-free; every LLVM type
// stays inside codegen/*.cpp and every llvm::Error becomes a tcc::CompileError here.
#pragma once
#include "ir/loop/loop_ir.h"

#include <string>

namespace tcc::codegen {

struct TargetInfo {
  std::string triple;
  std::string cpu;       // e.g. znver5
  std::string features;  // LLVM feature string, e.g. +avx512f,+fma,...
  int vector_bits = 128; // widest vector the kernels use
};

// The host CPU as LLVM sees it. Throws CompileError when LLVM cannot target it.
const TargetInfo& host_target();

// Every kernel's entry point: args[0] the output buffer, args[1..] the operands.
using KernelEntry = void (*)(void* const* args);

// JIT-compiles `k` for the host (or returns the code already compiled under k.name in this
// process). Thread-safe.
KernelEntry jit_kernel(const ir::loop::LoopKernel& k);

enum class TextStage { llvm_ir, assembly };
// The optimised LLVM IR, or the host assembly, of one kernel.
std::string emit_text(const ir::loop::LoopKernel& k, TextStage stage);

std::string llvm_version();

}  // namespace tcc::codegen
