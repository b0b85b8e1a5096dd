// codegen: loop IR -> LLVM IR -> machine code. This header is LLVM-free; every LLVM type
// stays inside codegen/*.cpp and every llvm::Error becomes a tcc::CompileError here.
#pragma once
#include "ir/loop/loop_ir.h"
#include "ir/lower.h"

#include <string>
#include <vector>

namespace tcc::codegen {

// One instruction set an ahead-of-time object checks for: its LLVM name, where cpuid reports
// it, and the register state the OS must save for it (XCR0 bits; 0: none beyond SSE).
struct CpuidFeature {
  const char* name;        // LLVM's feature name
  uint32_t leaf, subleaf;  // cpuid inputs (eax, ecx)
  int reg;                 // 0 eax, 1 ebx, 2 ecx, 3 edx
  int bit;
  uint32_t xcr0 = 0;       // 0x6: SSE and AVX state; 0xE6: also the AVX-512 opmask and ZMM state
};
// Every feature an entry point can check, one table (x86-64).
const std::vector<CpuidFeature>& cpuid_features();

struct TargetInfo {
  std::string triple;
  std::string cpu;       // e.g. znver5, x86-64-v3
  std::string features;  // LLVM feature string, e.g. +avx512f,+fma,...
  int vector_bits = 128; // widest vector the kernels use
  int vector_registers = 16;
  bool fma = true;       // fused multiply-add instructions (x86-64 and x86-64-v2 have none)
  // The target's instruction sets that an ahead-of-time entry point checks before running
  // (those of cpuid_features() it has), e.g. avx2, fma, avx512f.
  std::vector<CpuidFeature> checked_features;
  int64_t l2_bytes = 1 << 20;  // per core: the host's own, or the named CPU's (ir/schedule's CPU table)
};

// What to compile for. An empty cpu means the host (its CPU name and exact features).
struct CompileOptions {
  std::string cpu;
};

// The host CPU as LLVM sees it. Throws CompileError when LLVM cannot target it.
const TargetInfo& host_target();
// The target `options` selects; throws CompileError for a CPU name LLVM does not know.
TargetInfo target_for(const CompileOptions& options);

// Every kernel's entry point: args[0] the output buffer, then the operands, then each i64
// scalar parameter (the slot holds the value), then the scratch block if the kernel has one.
using KernelEntry = void (*)(void* const* args);

// A relocatable object holding kernel `k` (exported as k.name), optimised by the kernel pipeline
// (compile.cpp).
std::string compile_object(const ir::loop::LoopKernel& k, const CompileOptions& options = {});
// Links an object from compile_object into the process-wide JIT and returns `symbol`. An
// object whose symbol is already linked is not linked again. Thread-safe.
KernelEntry link_object(const std::string& object, const std::string& symbol);

// Where LLVM's time went, summed over every compile_object call of this process: building and
// verifying the module (with the target machine), the optimisation pipeline, code generation.
struct LlvmTimes {
  int kernels = 0;
  double ir_ms = 0, optimise_ms = 0, codegen_ms = 0;
};
LlvmTimes llvm_times();
// LLVM's per-pass timers (its -time-passes) for every compile_object while on, and their
// report (LLVM's tables: the optimisation passes, then the code generation passes), which
// resets them. For bench/compile_time; compiles run one at a time while it is on.
void set_pass_timing(bool on);
std::string pass_timing_report();

enum class TextStage { llvm_ir_unoptimized, llvm_ir, assembly };
// The LLVM IR as emitted (before the optimisation pipeline), the optimised LLVM IR, or the
// assembly, of one kernel.
std::string emit_text(const ir::loop::LoopKernel& k, TextStage stage, const CompileOptions& options = {});

// The symbolic dimensions of an ahead-of-time entry point: its first parameters (tcc::dim
// codes, in order), and pairs (a, b) that must be equal (each a symbol or a size).
struct AotSymbols {
  std::vector<int64_t> params;
  std::vector<std::pair<int64_t, int64_t>> equal;
};

// One object for a whole graph, for ahead-of-time use: every kernel plus
//   int NAME(int64_t symbol0, ..., const T* input0, ..., T* output0, ...)
// which allocates its intermediates with aligned_alloc, runs the steps and returns 0 (1 when out of
// memory, 3 for a negative symbol value or symbols that break `symbols.equal`). `inputs` are the
// program's input buffer ids in parameter order. No LLVM or tcc library is needed to link or run
// it; libc is.
std::string compile_graph_object(const ir::LoweredProgram& program, const std::vector<int>& inputs,
                                 const AotSymbols& symbols, const std::string& name, const CompileOptions& options);

std::string llvm_version();

// Makes a runtime function callable from JIT-compiled code under `name` (e.g. the thread
// pool's tcc_parallel_for). Call before the first kernel is linked.
void define_runtime_symbol(const std::string& name, void* address);

}  // namespace tcc::codegen
