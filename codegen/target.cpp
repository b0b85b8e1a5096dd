// Which machine the kernels are compiled for: the host, or a named x86-64 CPU.
#include "codegen/llvm_internal.h"

#include <unistd.h>

#include <map>
#include <mutex>

namespace tcc::codegen {

std::string error_text(llvm::Error err) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << err;
  return os.str();
}

void initialize_llvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

std::unique_ptr<llvm::TargetMachine> make_machine(const CompileOptions& options) {
  initialize_llvm();
  auto builder = unwrap(llvm::orc::JITTargetMachineBuilder::detectHost(), "cannot detect the host CPU");
  builder.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  // Position-independent code links into both the JIT and users' executables.
  builder.setRelocationModel(llvm::Reloc::PIC_);
  if (!options.cpu.empty()) {
    // Another CPU: its own feature set, nothing inherited from the host.
    std::string error;
    const llvm::Target* target = llvm::TargetRegistry::lookupTarget(builder.getTargetTriple().str(), error);
    if (!target) throw CompileError("cannot target " + builder.getTargetTriple().str() + ": " + error);
    // Probe with the generic CPU: asking for an unknown one makes LLVM print its own warning.
    auto probe = std::unique_ptr<llvm::MCSubtargetInfo>(
        target->createMCSubtargetInfo(builder.getTargetTriple().str(), "", ""));
    if (!probe || !probe->isCPUStringValid(options.cpu))
      throw CompileError("unknown target CPU '" + options.cpu + "' (try e.g. x86-64-v3, skylake-avx512, znver4)");
    builder.setCPU(options.cpu);
    builder.getFeatures() = llvm::SubtargetFeatures();
  }
  return unwrap(builder.createTargetMachine(), "cannot create a target machine");
}

const Machine& machine_for(const CompileOptions& options) {
  // A TargetMachine caches its subtargets (building one costs milliseconds), and reading the
  // TargetInfo off it costs about one; one per thread, since concurrent emissions must not
  // share one.
  thread_local std::map<std::string, Machine> machines;
  Machine& m = machines[options.cpu];
  if (!m.tm) {
    m.tm = make_machine(options);
    m.info = options.cpu.empty() ? host_target() : target_info(*m.tm);
  }
  return m;
}

const std::vector<CpuidFeature>& cpuid_features() {
  // Intel SDM vol. 2A, CPUID: leaf 1 ECX, leaf 7.0 EBX/ECX/EDX, leaf 7.1 EAX, 0x80000001 ECX.
  constexpr uint32_t kAvx = 0x6, kAvx512 = 0xE6;
  static const std::vector<CpuidFeature> table{
      {"sse3", 1, 0, 2, 0},
      {"ssse3", 1, 0, 2, 9},
      {"fma", 1, 0, 2, 12, kAvx},
      {"sse4.1", 1, 0, 2, 19},
      {"sse4.2", 1, 0, 2, 20},
      {"movbe", 1, 0, 2, 22},
      {"popcnt", 1, 0, 2, 23},
      {"avx", 1, 0, 2, 28, kAvx},
      {"f16c", 1, 0, 2, 29, kAvx},
      {"bmi", 7, 0, 1, 3},
      {"avx2", 7, 0, 1, 5, kAvx},
      {"bmi2", 7, 0, 1, 8},
      {"avx512f", 7, 0, 1, 16, kAvx512},
      {"avx512dq", 7, 0, 1, 17, kAvx512},
      {"avx512ifma", 7, 0, 1, 21, kAvx512},
      {"avx512cd", 7, 0, 1, 28, kAvx512},
      {"avx512bw", 7, 0, 1, 30, kAvx512},
      {"avx512vl", 7, 0, 1, 31, kAvx512},
      {"avx512vbmi", 7, 0, 2, 1, kAvx512},
      {"avx512vbmi2", 7, 0, 2, 6, kAvx512},
      {"gfni", 7, 0, 2, 8},
      {"vaes", 7, 0, 2, 9, kAvx},
      {"vpclmulqdq", 7, 0, 2, 10, kAvx},
      {"avx512vnni", 7, 0, 2, 11, kAvx512},
      {"avx512bitalg", 7, 0, 2, 12, kAvx512},
      {"avx512vpopcntdq", 7, 0, 2, 14, kAvx512},
      {"avx512vp2intersect", 7, 0, 3, 8, kAvx512},
      {"avx512fp16", 7, 0, 3, 23, kAvx512},
      {"avxvnni", 7, 1, 0, 4, kAvx},
      {"avx512bf16", 7, 1, 0, 5, kAvx512},
      {"lzcnt", 0x80000001u, 0, 2, 5}};
  return table;
}

namespace {

// `sti`: the subtarget of a CPU given by name, whose features are implicit; null for the host,
// whose feature string lists every feature.
TargetInfo target_info(std::string triple, std::string cpu, std::string features, const llvm::MCSubtargetInfo* sti) {
  TargetInfo t;
  t.triple = std::move(triple);
  t.cpu = std::move(cpu);
  t.features = std::move(features);
  auto has = [&](const char* f) {
    if (("," + t.features + ",").find(std::string(",+") + f + ",") != std::string::npos) return true;
    return sti && sti->checkFeatures(std::string("+") + f);
  };
  t.vector_bits = has("avx512f") ? 512 : has("avx") ? 256 : 128;
  t.vector_registers = has("avx512f") ? 32 : 16;
  t.fma = has("fma") || has("avx512f");
  for (const CpuidFeature& f : cpuid_features())
    if (has(f.name)) t.checked_features.push_back(f);
  t.l2_bytes = ir::sched::l2_bytes_of_cpu(t.cpu);
  return t;
}

}  // namespace

TargetInfo target_info(const llvm::TargetMachine& tm) {
  return target_info(tm.getTargetTriple().str(), tm.getTargetCPU().str(), tm.getTargetFeatureString().str(),
                     tm.getMCSubtargetInfo());
}

const TargetInfo& host_target() {
  static const TargetInfo info = [] {
    // What make_machine({}) would be made for, without making it (a TargetMachine costs about a
    // millisecond, before the first kernel of a process).
    initialize_llvm();
    auto host = unwrap(llvm::orc::JITTargetMachineBuilder::detectHost(), "cannot detect the host CPU");
    TargetInfo t = target_info(host.getTargetTriple().str(), host.getCPU(), host.getFeatures().getString(), nullptr);
    // The host's own L2, where the OS tells it (only the host's: never under --target-cpu).
    if (long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE); l2 > 0) t.l2_bytes = l2;
    return t;
  }();
  return info;
}

TargetInfo target_for(const CompileOptions& options) {
  if (options.cpu.empty()) return host_target();
  return target_info(*make_machine(options));
}

std::string llvm_version() { return LLVM_VERSION_STRING; }

}  // namespace tcc::codegen
