// Host target, the O3 pipeline, object/assembly emission and the process-wide LLJIT.
#include "codegen/codegen.h"
#include "codegen/emit_llvm.h"

#include <tcc/error.h>

#include <cstring>
#include <map>
#include <vector>
#include <mutex>

namespace tcc::codegen {

namespace {

std::string to_string(llvm::Error err) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << err;
  return os.str();
}

template <typename T>
T unwrap(llvm::Expected<T> value, const char* what) {
  if (!value) throw CompileError(std::string(what) + ": " + to_string(value.takeError()));
  return std::move(*value);
}

void initialize_llvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

llvm::orc::JITTargetMachineBuilder host_builder() {
  initialize_llvm();
  auto jtmb = unwrap(llvm::orc::JITTargetMachineBuilder::detectHost(), "cannot detect the host CPU");
  jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  return jtmb;
}

// A fresh TargetMachine: they are not safe to share between concurrent emissions.
std::unique_ptr<llvm::TargetMachine> host_machine() {
  return unwrap(host_builder().createTargetMachine(), "cannot create a target machine for the host");
}

void optimize(llvm::Module& m, llvm::TargetMachine& tm) {
  llvm::PipelineTuningOptions pto;
  pto.LoopVectorization = pto.SLPVectorization = true;
  pto.LoopInterleaving = pto.LoopUnrolling = true;
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

// Builds, verifies and optimises the kernel's module in `ctx`.
std::unique_ptr<llvm::Module> optimized_module(const ir::loop::LoopKernel& k, llvm::LLVMContext& ctx,
                                               llvm::TargetMachine& tm) {
  auto m = emit_module(k, ctx, tm);
  optimize(*m, tm);
  return m;
}

struct RuntimeSymbol {
  const char* name;
  void* address;
};

// What generated code may call. LLVM turns zero-fill and copy loops into these libc calls.
const std::vector<RuntimeSymbol>& runtime_symbols() {
  static const std::vector<RuntimeSymbol> symbols{
      {"memset", reinterpret_cast<void*>(&std::memset)},
      {"memcpy", reinterpret_cast<void*>(&std::memcpy)},
      {"memmove", reinterpret_cast<void*>(&std::memmove)},
  };
  return symbols;
}

class Jit {
 public:
  static Jit& instance() {
    static Jit jit;
    return jit;
  }

  KernelEntry get_or_compile(const ir::loop::LoopKernel& k) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = compiled_.find(k.name); it != compiled_.end()) return it->second;
    auto tm = host_machine();
    llvm::LLVMContext ctx;
    auto m = optimized_module(k, ctx, *tm);
    llvm::SmallVector<char, 0> object = emit_machine_code(*m, *tm, llvm::CodeGenFileType::ObjectFile);
    auto buffer = llvm::MemoryBuffer::getMemBufferCopy(llvm::StringRef(object.data(), object.size()), k.name);
    if (auto err = jit_->addObjectFile(std::move(buffer))) throw CompileError("cannot link kernel: " + to_string(std::move(err)));
    auto address = unwrap(jit_->lookup(k.name), "cannot find the compiled kernel");
    auto entry = address.toPtr<KernelEntry>();
    compiled_.emplace(k.name, entry);
    return entry;
  }

 private:
  Jit() {
    // Kernels see only the symbols we export below, not the whole process: a kernel that
    // needs something else fails to link here, loudly, instead of binding to whatever is there.
    jit_ = unwrap(llvm::orc::LLJITBuilder()
                      .setJITTargetMachineBuilder(host_builder())
                      .setLinkProcessSymbolsByDefault(false)
                      // No ORC runtime platform: kernels need no static initialisers or TLS.
                      .setPlatformSetUp(llvm::orc::setUpInactivePlatform)
                      .create(),
                  "cannot create the JIT");
    llvm::orc::SymbolMap symbols;
    auto flags = llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable;
    for (const RuntimeSymbol& s : runtime_symbols())
      symbols[jit_->mangleAndIntern(s.name)] = {llvm::orc::ExecutorAddr::fromPtr(s.address), flags};
    if (auto err = jit_->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(symbols))))
      throw CompileError("cannot export runtime symbols to the JIT: " + to_string(std::move(err)));
  }
  std::mutex mutex_;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  std::map<std::string, KernelEntry> compiled_;
};

}  // namespace

TargetInfo target_info(const llvm::TargetMachine& tm) {
  TargetInfo t;
  t.triple = tm.getTargetTriple().str();
  t.cpu = tm.getTargetCPU().str();
  t.features = tm.getTargetFeatureString().str();
  auto has = [&](const char* f) { return ("," + t.features + ",").find(std::string(",") + f + ",") != std::string::npos; };
  t.vector_bits = has("+avx512f") ? 512 : has("+avx") ? 256 : 128;
  return t;
}

const TargetInfo& host_target() {
  static const TargetInfo info = target_info(*host_machine());
  return info;
}

KernelEntry jit_kernel(const ir::loop::LoopKernel& k) { return Jit::instance().get_or_compile(k); }

std::string emit_text(const ir::loop::LoopKernel& k, TextStage stage) {
  auto tm = host_machine();
  llvm::LLVMContext ctx;
  auto m = optimized_module(k, ctx, *tm);
  if (stage == TextStage::llvm_ir) {
    std::string s;
    llvm::raw_string_ostream os(s);
    m->print(os, nullptr);
    return os.str();
  }
  llvm::SmallVector<char, 0> text = emit_machine_code(*m, *tm, llvm::CodeGenFileType::AssemblyFile);
  return std::string(text.data(), text.size());
}

std::string llvm_version() { return LLVM_VERSION_STRING; }

}  // namespace tcc::codegen
