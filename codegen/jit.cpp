// The process-wide ORC LLJIT that links kernel objects and hands out their entry points.
#include "codegen/llvm_internal.h"

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <mutex>
#include <vector>

namespace tcc::codegen {

namespace {

struct RuntimeSymbol {
  std::string name;
  void* address;
};

// What generated code may call: libc functions LLVM turns zero-fill and copy loops into, the C
// library's math functions element-wise kernels call (emit_elementwise.cpp, and what LLVM lowers
// llvm.log and llvm.pow to), and the runtime's own functions registered with
// define_runtime_symbol.
std::mutex g_symbols_mutex;
std::vector<RuntimeSymbol>& runtime_symbols() {
  static std::vector<RuntimeSymbol> symbols{
      {"memset", reinterpret_cast<void*>(&std::memset)},
      {"memcpy", reinterpret_cast<void*>(&std::memcpy)},
      {"memmove", reinterpret_cast<void*>(&std::memmove)},
      {"tanhf", reinterpret_cast<void*>(static_cast<float (*)(float)>(&::tanhf))},
      {"tanh", reinterpret_cast<void*>(static_cast<double (*)(double)>(&::tanh))},
      {"erff", reinterpret_cast<void*>(static_cast<float (*)(float)>(&::erff))},
      {"erf", reinterpret_cast<void*>(static_cast<double (*)(double)>(&::erf))},
      {"log1pf", reinterpret_cast<void*>(static_cast<float (*)(float)>(&::log1pf))},
      {"log1p", reinterpret_cast<void*>(static_cast<double (*)(double)>(&::log1p))},
      {"expf", reinterpret_cast<void*>(static_cast<float (*)(float)>(&::expf))},
      {"exp", reinterpret_cast<void*>(static_cast<double (*)(double)>(&::exp))},
      {"logf", reinterpret_cast<void*>(static_cast<float (*)(float)>(&::logf))},
      {"log", reinterpret_cast<void*>(static_cast<double (*)(double)>(&::log))},
      {"powf", reinterpret_cast<void*>(static_cast<float (*)(float, float)>(&::powf))},
      {"pow", reinterpret_cast<void*>(static_cast<double (*)(double, double)>(&::pow))},
  };
  return symbols;
}

// The JIT links objects compile_object made; it never compiles IR itself, so it needs no
// TargetMachine of its own (LLJIT's default compiler makes one, a millisecond per process).
class NoIrCompiler : public llvm::orc::IRCompileLayer::IRCompiler {
 public:
  NoIrCompiler() : IRCompiler(llvm::orc::IRSymbolMapper::ManglingOptions()) {}
  llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> operator()(llvm::Module&) override {
    return llvm::make_error<llvm::StringError>("tcc's JIT links objects only", llvm::inconvertibleErrorCode());
  }
};

class Jit {
 public:
  static Jit& instance() {
    static Jit jit;
    return jit;
  }

  KernelEntry link(const std::string& object, const std::string& symbol) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = linked_.find(symbol); it != linked_.end()) return it->second;
    auto buffer = llvm::MemoryBuffer::getMemBufferCopy(object, symbol);
    if (auto err = jit_->addObjectFile(std::move(buffer)))
      throw CompileError("cannot link kernel " + symbol + ": " + error_text(std::move(err)));
    auto address = unwrap(jit_->lookup(symbol), "cannot find the compiled kernel");
    auto entry = address.toPtr<KernelEntry>();
    linked_.emplace(symbol, entry);
    return entry;
  }

 private:
  Jit() {
    initialize_llvm();
    auto builder = unwrap(llvm::orc::JITTargetMachineBuilder::detectHost(), "cannot detect the host CPU");
    // Kernels see only the symbols we export below, not the whole process: a kernel that
    // needs something else fails to link here, loudly, instead of binding to whatever is there.
    jit_ = unwrap(llvm::orc::LLJITBuilder()
                      .setJITTargetMachineBuilder(std::move(builder))
                      // This thread's warm machine's (LLJIT would make a TargetMachine to ask).
                      .setDataLayout(machine_for({}).tm->createDataLayout())
                      .setLinkProcessSymbolsByDefault(false)
                      .setCompileFunctionCreator([](llvm::orc::JITTargetMachineBuilder)
                                                     -> llvm::Expected<std::unique_ptr<llvm::orc::IRCompileLayer::IRCompiler>> {
                        return std::make_unique<NoIrCompiler>();
                      })
                      // No ORC runtime platform: kernels need no static initialisers or TLS.
                      .setPlatformSetUp(llvm::orc::setUpInactivePlatform)
                      .create(),
                  "cannot create the JIT");
    llvm::orc::SymbolMap symbols;
    auto flags = llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable;
    std::lock_guard<std::mutex> lock(g_symbols_mutex);
    for (const RuntimeSymbol& s : runtime_symbols())
      symbols[jit_->mangleAndIntern(s.name)] = {llvm::orc::ExecutorAddr::fromPtr(s.address), flags};
    if (auto err = jit_->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(symbols))))
      throw CompileError("cannot export runtime symbols to the JIT: " + error_text(std::move(err)));
  }
  std::mutex mutex_;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  std::map<std::string, KernelEntry> linked_;
};

}  // namespace

void define_runtime_symbol(const std::string& name, void* address) {
  std::lock_guard<std::mutex> lock(g_symbols_mutex);
  for (RuntimeSymbol& s : runtime_symbols())
    if (s.name == name) {
      s.address = address;
      return;
    }
  runtime_symbols().push_back({name, address});
}

KernelEntry link_object(const std::string& object, const std::string& symbol) {
  return Jit::instance().link(object, symbol);
}

}  // namespace tcc::codegen
