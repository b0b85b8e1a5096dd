// The O3 pipeline and object/assembly emission, for the JIT and ahead-of-time alike.
#include "codegen/emit_llvm.h"

namespace tcc::codegen {

void optimize(llvm::Module& m, llvm::TargetMachine& tm) {
  llvm::PipelineTuningOptions pto;
  pto.LoopVectorization = pto.SLPVectorization = true;
  pto.LoopInterleaving = true;
  pto.LoopUnrolling = false;  // micro-kernels are unrolled by construction; unrolling the rest costs compile time
  // Declared in this order so that they are destroyed in the reverse one.
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm, pto);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(m, mam);
}

llvm::SmallVector<char, 0> emit_machine_code(llvm::Module& m, llvm::TargetMachine& tm, llvm::CodeGenFileType type) {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, type)) throw CompileError("LLVM cannot emit code for this target");
  pm.run(m);
  return buffer;
}

namespace {

// The kernel's module, verified, and optimised unless asked not to.
std::unique_ptr<llvm::Module> kernel_module(const ir::loop::LoopKernel& k, llvm::LLVMContext& ctx,
                                            llvm::TargetMachine& tm, const CompileOptions& options,
                                            bool optimized = true) {
  auto m = new_module(k.name, ctx, tm);
  emit_kernel(k, *m, target_info(tm), options.aligned_buffers, /*with_entry=*/true);
  verify(*m);
  if (optimized) optimize(*m, tm);
  return m;
}

}  // namespace

std::string compile_object(const ir::loop::LoopKernel& k, const CompileOptions& options) {
  auto tm = make_machine(options);
  llvm::LLVMContext ctx;
  auto m = kernel_module(k, ctx, *tm, options);
  llvm::SmallVector<char, 0> object = emit_machine_code(*m, *tm, llvm::CodeGenFileType::ObjectFile);
  return std::string(object.data(), object.size());
}

std::string emit_text(const ir::loop::LoopKernel& k, TextStage stage, const CompileOptions& options) {
  auto tm = make_machine(options);
  llvm::LLVMContext ctx;
  auto m = kernel_module(k, ctx, *tm, options, stage != TextStage::llvm_ir_unoptimized);
  if (stage != TextStage::assembly) {
    std::string s;
    llvm::raw_string_ostream os(s);
    m->print(os, nullptr);
    return os.str();
  }
  llvm::SmallVector<char, 0> text = emit_machine_code(*m, *tm, llvm::CodeGenFileType::AssemblyFile);
  return std::string(text.data(), text.size());
}

}  // namespace tcc::codegen
