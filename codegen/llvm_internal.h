// Helpers shared by the codegen/*.cpp files; LLVM types allowed (this is codegen/).
#pragma once
#include "codegen/codegen.h"
#include "codegen/llvm_headers.h"

#include <tcc/error.h>

namespace tcc::codegen {

std::string error_text(llvm::Error err);

template <typename T>
T unwrap(llvm::Expected<T> value, const char* what) {
  if (!value) throw CompileError(std::string(what) + ": " + error_text(value.takeError()));
  return std::move(*value);
}

// Initialises LLVM's native target once.
void initialize_llvm();
// A fresh TargetMachine for `options` (they are not safe to share between concurrent emissions).
std::unique_ptr<llvm::TargetMachine> make_machine(const CompileOptions& options);
// This thread's TargetMachine for `options`, made once and kept warm, and its TargetInfo.
struct Machine {
  std::unique_ptr<llvm::TargetMachine> tm;
  TargetInfo info;
};
const Machine& machine_for(const CompileOptions& options);
TargetInfo target_info(const llvm::TargetMachine& tm);

// Named metadata present in a module some of whose kernels need LLVM's loop and SLP
// vectorisers (emit_kernel); optimize() runs them only then.
inline constexpr const char* kNeedsVectorizers = "tcc.needs_vectorizers";
// Likewise for InstCombine (KernelEmitter::needs_instcombine).
inline constexpr const char* kNeedsInstCombine = "tcc.needs_instcombine";
void optimize(llvm::Module& m, llvm::TargetMachine& tm);
llvm::SmallVector<char, 0> emit_machine_code(llvm::Module& m, llvm::TargetMachine& tm, llvm::CodeGenFileType type);

}  // namespace tcc::codegen
