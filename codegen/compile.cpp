// The optimisation pipeline and object/assembly emission, for the JIT and ahead-of-time alike.
#include "codegen/emit_llvm.h"

#include <llvm/IR/PassTimingInfo.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Pass.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace tcc::codegen {

namespace {

// Pass timing (set_pass_timing): LLVM's own timers, one handler for the optimisation pipeline
// across every kernel, and the legacy pass manager's timers for code generation. LLVM's timers
// are not thread-safe: while timing is on, compiles run one at a time under this mutex.
std::mutex g_timing_mutex;
std::unique_ptr<llvm::TimePassesHandler> g_timing;

std::mutex g_totals_mutex;
LlvmTimes g_totals;

}  // namespace

void set_pass_timing(bool on) {
  std::lock_guard<std::mutex> lock(g_timing_mutex);
  llvm::TimePassesIsEnabled = on;
  g_timing = on ? std::make_unique<llvm::TimePassesHandler>(true) : nullptr;
}

std::string pass_timing_report() {
  std::string text;
  llvm::raw_string_ostream os(text);
  std::lock_guard<std::mutex> lock(g_timing_mutex);
  if (g_timing) {
    g_timing->setOutStream(os);
    g_timing->print();
  }
  llvm::reportAndResetTimings(&os);
  return os.str();
}

LlvmTimes llvm_times() {
  std::lock_guard<std::mutex> lock(g_totals_mutex);
  return g_totals;
}

namespace {

// The passes tcc's kernels need, in order. Micro-kernels arrive as explicit vector code and
// loops are never unrolled (by construction where it pays), so LLVM's job is to clean up
// index arithmetic, hoist what is loop-invariant, turn fill and copy loops into memset and
// memcpy, vectorise the loops the loop IR marks `vectorized` (copies, packs, reductions), and
// combine what those leave in straight-line code. `vectorizers`: whether any kernel left a loop
// to vectorise (kNeedsVectorizers); a GEMM's or attention's, whose short loops codegen writes
// in vectors itself, does not, and then needs no loop idioms or canonical induction variables
// either. `instcombine`: whether there is more than index arithmetic to combine
// (kNeedsInstCombine).
llvm::ModulePassManager kernel_pipeline(bool vectorizers, bool instcombine) {
  llvm::FunctionPassManager simplify;
  simplify.addPass(llvm::SROAPass(llvm::SROAOptions::ModifyCFG));  // scalars out of allocas
  simplify.addPass(llvm::EarlyCSEPass(/*UseMemorySSA=*/false));
  if (instcombine) simplify.addPass(llvm::InstCombinePass());
  simplify.addPass(llvm::SimplifyCFGPass());
  llvm::LoopPassManager hoist;  // with MemorySSA: LICM needs it
  hoist.addPass(llvm::LoopRotatePass());
  hoist.addPass(llvm::LICMPass(llvm::LICMOptions()));
  simplify.addPass(llvm::createFunctionToLoopPassAdaptor(std::move(hoist), /*UseMemorySSA=*/true));
  llvm::LoopPassManager canonicalize;
  if (vectorizers) canonicalize.addPass(llvm::LoopIdiomRecognizePass());  // fills and copies to memset/memcpy
  // Loop exits as `i != n` after the increment; micro-kernel modules' loops differ only in the
  // branch's condition code without it.
  if (vectorizers) canonicalize.addPass(llvm::IndVarSimplifyPass());
  canonicalize.addPass(llvm::LoopDeletionPass());
  simplify.addPass(llvm::createFunctionToLoopPassAdaptor(std::move(canonicalize), /*UseMemorySSA=*/false));
  // The vectorisers and a second clean-up after the loop vectoriser; a module of micro-kernels
  // (explicit vector code) needs none of them, nor loop idioms.
  if (vectorizers) {
    simplify.addPass(llvm::LoopVectorizePass(llvm::LoopVectorizeOptions()));
    simplify.addPass(llvm::EarlyCSEPass(/*UseMemorySSA=*/false));
    simplify.addPass(llvm::InstCombinePass());
    simplify.addPass(llvm::SLPVectorizerPass());  // e.g. a row block's reductions stored as one vector
    simplify.addPass(llvm::VectorCombinePass());
  }
  simplify.addPass(llvm::SimplifyCFGPass(llvm::SimplifyCFGOptions().hoistCommonInsts(true).sinkCommonInsts(true)));
  llvm::ModulePassManager pipeline;
  pipeline.addPass(llvm::AlwaysInlinerPass());  // each entry takes its kernel's body
  pipeline.addPass(llvm::createModuleToFunctionPassAdaptor(std::move(simplify)));
  return pipeline;
}

}  // namespace

void optimize(llvm::Module& m, llvm::TargetMachine& tm) {
  // Declared in this order so that they are destroyed in the reverse one.
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassInstrumentationCallbacks instrumentation;
  if (g_timing) g_timing->registerCallbacks(instrumentation);
  llvm::PassBuilder pb(&tm, llvm::PipelineTuningOptions(), std::nullopt, &instrumentation);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  kernel_pipeline(m.getNamedMetadata(kNeedsVectorizers) != nullptr, m.getNamedMetadata(kNeedsInstCombine) != nullptr).run(m, mam);
}

namespace {

// LLVM's -disable-lsr, read when a code generation pipeline is built; null if LLVM has none.
llvm::cl::opt<bool>* disable_lsr_option() {
  static llvm::cl::opt<bool>* option = [] {
    auto& options = llvm::cl::getRegisteredOptions();
    auto it = options.find("disable-lsr");
    return it == options.end() ? nullptr : static_cast<llvm::cl::opt<bool>*>(it->second);
  }();
  return option;
}
std::mutex g_pipeline_options_mutex;

}  // namespace

llvm::SmallVector<char, 0> emit_machine_code(llvm::Module& m, llvm::TargetMachine& tm, llvm::CodeGenFileType type) {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  {
    // A module of micro-kernels (no vectorisers) gets no Loop Strength Reduction: its k loops
    // arrive with pointer induction variables, and the rest is loop nests around them. The
    // option is global: set it under a lock for the time the pipeline takes to build.
    const bool lsr = m.getNamedMetadata(kNeedsVectorizers) != nullptr;
    std::lock_guard<std::mutex> lock(g_pipeline_options_mutex);
    llvm::cl::opt<bool>* disable_lsr = disable_lsr_option();
    const bool was = disable_lsr && disable_lsr->getValue();
    if (disable_lsr) disable_lsr->setValue(!lsr);
    const bool failed = tm.addPassesToEmitFile(pm, os, nullptr, type);
    if (disable_lsr) disable_lsr->setValue(was);
    if (failed) throw CompileError("LLVM cannot emit code for this target");
  }
  pm.run(m);
  return buffer;
}

namespace {

// The kernel's module, verified, and optimised unless asked not to.
std::unique_ptr<llvm::Module> kernel_module(const ir::loop::LoopKernel& k, llvm::LLVMContext& ctx,
                                            const Machine& machine, const CompileOptions& options,
                                            bool optimized = true) {
  auto m = new_module(k.name, ctx, *machine.tm);
  emit_kernel(k, *m, machine.info, /*with_entry=*/true);
  verify(*m);
  if (optimized) optimize(*m, *machine.tm);
  return m;
}

}  // namespace

std::string compile_object(const ir::loop::LoopKernel& k, const CompileOptions& options) {
  // TCC_DEBUG=1 (as for the passes): where LLVM's time goes, per kernel.
  const char* debug = std::getenv("TCC_DEBUG");
  const bool timed = debug && std::atoi(debug) > 0;
  using clock = std::chrono::steady_clock;
  auto ms = [](clock::time_point a, clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  std::unique_lock<std::mutex> timing_lock(g_timing_mutex, std::defer_lock);
  if (llvm::TimePassesIsEnabled) timing_lock.lock();
  const clock::time_point t0 = clock::now();
  const Machine& machine = machine_for(options);
  llvm::TargetMachine& tm = *machine.tm;
  llvm::LLVMContext ctx;
  auto m = kernel_module(k, ctx, machine, options, /*optimized=*/false);
  const clock::time_point t1 = clock::now();
  optimize(*m, tm);
  const clock::time_point t2 = clock::now();
  llvm::SmallVector<char, 0> object = emit_machine_code(*m, tm, llvm::CodeGenFileType::ObjectFile);
  const clock::time_point t3 = clock::now();
  {
    std::lock_guard<std::mutex> lock(g_totals_mutex);
    g_totals.kernels += 1;
    g_totals.ir_ms += ms(t0, t1);
    g_totals.optimise_ms += ms(t1, t2);
    g_totals.codegen_ms += ms(t2, t3);
  }
  if (timed)
    std::fprintf(stderr, "[tcc] llvm %s: ir %.3f ms, optimise %.3f ms, codegen %.3f ms\n", k.name.c_str(), ms(t0, t1),
                 ms(t1, t2), ms(t2, t3));
  return std::string(object.data(), object.size());
}

std::string emit_text(const ir::loop::LoopKernel& k, TextStage stage, const CompileOptions& options) {
  const Machine& machine = machine_for(options);
  llvm::TargetMachine& tm = *machine.tm;
  llvm::LLVMContext ctx;
  auto m = kernel_module(k, ctx, machine, options, stage != TextStage::llvm_ir_unoptimized);
  if (stage != TextStage::assembly) {
    std::string s;
    llvm::raw_string_ostream os(s);
    m->print(os, nullptr);
    return os.str();
  }
  llvm::SmallVector<char, 0> text = emit_machine_code(*m, tm, llvm::CodeGenFileType::AssemblyFile);
  return std::string(text.data(), text.size());
}

}  // namespace tcc::codegen
