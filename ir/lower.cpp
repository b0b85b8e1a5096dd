#include "ir/lower.h"

#include "ir/loop/lower_gemm.h"
#include "ir/loop/lower_to_loops.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>

namespace tcc::ir {

namespace {

int debug_level() {
  const char* v = std::getenv("TCC_DEBUG");
  return v ? std::atoi(v) : 0;
}

// Runs one pass, timing it and dumping what it produced when asked.
template <typename F, typename Dump>
auto run_pass(const char* name, F&& pass, Dump&& dump) {
  auto t0 = std::chrono::steady_clock::now();
  auto result = pass();
  if (int level = debug_level(); level > 0) {
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "[tcc] pass %s: %.3f ms\n", name, ms);
    if (level > 1) std::fprintf(stderr, "%s\n", dump(result).c_str());
  }
  return result;
}

}  // namespace

std::string kernel_name(const std::string& descriptor) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : descriptor) h = (h ^ ch) * 1099511628211ull;
  return fmt::format("tcc_{:016x}", h);
}

LoweredProgram lower(const GraphIR& g, const std::vector<int>& outputs, const sched::TargetModel& target,
                     bool build_loops) {
  LoweredProgram out;
  run_pass("verify_graph", [&] { verify_graph(g, outputs); return 0; },
           [&](int) { return print_graph(g, outputs); });
  out.program = run_pass("canonicalize_contractions", [&] { return canonicalize_contractions(g, outputs); },
                         [](const KernelProgram& p) { return p.str(); });
  run_pass("verify_program", [&] { verify_program(out.program); return 0; }, [](int) { return std::string(); });

  std::map<std::string, int> by_descriptor;
  for (const KernelSpec& c : out.program.steps) {
    LoweredKernel k;
    k.descriptor_fields = c.descriptor_fields();
    k.descriptor = join_descriptor(k.descriptor_fields);
    auto [it, fresh] = by_descriptor.emplace(k.descriptor, static_cast<int>(out.kernels.size()));
    out.step_kernel.push_back(it->second);
    if (!fresh) continue;
    k.schedule = run_pass("plan_schedule", [&] { return sched::plan_schedule(c, target); },
                          [](const sched::Schedule& s) { return s.str(); });
    k.name = kernel_name(k.identity());
    k.contraction = c;
    out.kernels.push_back(std::move(k));
  }
  if (build_loops)
    for (LoweredKernel& k : out.kernels) kernel_loops(k);
  return out;
}

const loop::LoopKernel& kernel_loops(LoweredKernel& k) {
  if (!k.loops) {
    if (std::string why = unsupported_by_lowering(k.contraction); !why.empty())
      throw InternalError("cannot lower kernel " + k.name + ": " + why);
    if (k.schedule.gemm)
      k.loops = run_pass("lower_gemm", [&] { return loop::lower_gemm(k.contraction, *k.schedule.gemm, k.name); },
                         [](const loop::LoopKernel& lk) { return loop::print_kernel(lk); });
    else
      k.loops = run_pass("lower_to_loops", [&] { return loop::lower_to_loops(k.contraction, k.schedule, k.name); },
                         [](const loop::LoopKernel& lk) { return loop::print_kernel(lk); });
    run_pass("verify_kernel", [&] { loop::verify_kernel(*k.loops); return 0; }, [](int) { return std::string(); });
  }
  return *k.loops;
}

}  // namespace tcc::ir
