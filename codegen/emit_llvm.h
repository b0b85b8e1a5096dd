// Loop IR -> an LLVM module holding the kernel and its `void name(ptr args)` entry point.
#pragma once
#include "codegen/codegen.h"
#include "codegen/llvm_headers.h"

namespace tcc::codegen {

// The target a TargetMachine compiles for, as stamped on every function.
TargetInfo target_info(const llvm::TargetMachine& tm);

std::unique_ptr<llvm::Module> emit_module(const ir::loop::LoopKernel& k, llvm::LLVMContext& ctx,
                                          llvm::TargetMachine& tm);

}  // namespace tcc::codegen
