// The O3 pipeline and object/assembly emission, for the JIT and ahead-of-time alike.
#include "codegen/emit_llvm.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

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
  // TCC_DEBUG=1 (as for the passes): where LLVM's time goes, per kernel.
  const char* debug = std::getenv("TCC_DEBUG");
  const bool timed = debug && std::atoi(debug) > 0;
  using clock = std::chrono::steady_clock;
  auto ms = [](clock::time_point a, clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  const clock::time_point t0 = clock::now();
  auto tm = make_machine(options);
  llvm::LLVMContext ctx;
  auto m = kernel_module(k, ctx, *tm, options, /*optimized=*/false);
  const clock::time_point t1 = clock::now();
  optimize(*m, *tm);
  const clock::time_point t2 = clock::now();
  llvm::SmallVector<char, 0> object = emit_machine_code(*m, *tm, llvm::CodeGenFileType::ObjectFile);
  const clock::time_point t3 = clock::now();
  if (timed)
    std::fprintf(stderr, "[tcc] llvm %s: ir %.3f ms, optimise %.3f ms, codegen %.3f ms\n", k.name.c_str(), ms(t0, t1),
                 ms(t1, t2), ms(t2, t3));
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
