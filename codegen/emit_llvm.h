// Loop IR -> LLVM functions: each kernel an internal function plus its exported
// `void NAME(ptr args)` entry.
#pragma once
#include "codegen/llvm_internal.h"

namespace tcc::codegen {

// Adds kernel `k` to `m`; returns its internal function `void NAME.impl(ptr out, ptr in...)`.
// The exported `void NAME(ptr args)` entry is added too when `with_entry`.
llvm::Function* emit_kernel(const ir::loop::LoopKernel& k, llvm::Module& m, const TargetInfo& target,
                            bool with_entry);
// Stamps the target CPU, features and vector width on a function.
void set_target_attributes(llvm::Function* f, const TargetInfo& target);
// A new module for `tm`, verified by the caller once filled.
std::unique_ptr<llvm::Module> new_module(const std::string& name, llvm::LLVMContext& ctx, llvm::TargetMachine& tm);
// Throws InternalError when `m` is not valid IR.
void verify(const llvm::Module& m);

}  // namespace tcc::codegen
