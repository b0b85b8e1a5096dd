#include "driver/jit.h"

#include "driver/kernel_cache.h"
#include "runtime/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <mutex>

namespace tcc::driver {

namespace {

// Finds or compiles every kernel, concurrently on the runtime's pool: its threads live as long
// as the process, and so does each one's warm LLVM TargetMachine. The first failure is rethrown.
std::vector<KernelLookup> lookup_kernels(std::vector<ir::LoweredKernel>& kernels) {
  struct Work {
    std::vector<ir::LoweredKernel>& kernels;
    std::vector<KernelLookup> found;
    std::vector<std::exception_ptr> errors;
  } work{kernels, std::vector<KernelLookup>(kernels.size()), std::vector<std::exception_ptr>(kernels.size())};
  auto task = [](void* closure, int64_t i) -> int {
    auto& w = *static_cast<Work*>(closure);
    try {
      w.found[i] = lookup_kernel(w.kernels[i]);
      return 0;
    } catch (...) {  // no exception may cross the pool's C ABI
      w.errors[i] = std::current_exception();
      return 1;
    }
  };
  tcc_parallel_for(task, &work, static_cast<int64_t>(kernels.size()));
  for (const std::exception_ptr& e : work.errors)
    if (e) std::rethrow_exception(e);
  return std::move(work.found);
}

// The index of a symbol in exe.symbols, added if new.
int symbol_index(runtime::Executable& exe, int64_t code) {
  if (const int slot = exe.symbol_slot(code); slot >= 0) return slot;
  exe.symbols.push_back(code);
  return static_cast<int>(exe.symbols.size()) - 1;
}

runtime::Executable link_plan(Plan plan, const ir::GraphIR& graph, const std::vector<int>& outputs,
                              std::chrono::steady_clock::time_point t0) {
  static std::once_flag runtime_symbols;
  std::call_once(runtime_symbols, [] {
    codegen::define_runtime_symbol("tcc_parallel_for", reinterpret_cast<void*>(&tcc_parallel_for));
  });
  runtime::Executable exe;
  CompileStats& stats = exe.stats;
  stats.disk_cache = disk_cache_enabled();
  ir::LoweredProgram& lowered = plan.lowered;
  std::vector<runtime::KernelEntry> entries;  // per distinct kernel
  for (const KernelLookup& found : lookup_kernels(lowered.kernels)) {
    entries.push_back(found.entry);
    switch (found.outcome) {
      case CacheOutcome::memory_hit: ++stats.memory_hits; break;
      case CacheOutcome::disk_hit: ++stats.disk_hits; break;
      case CacheOutcome::compiled: ++stats.compiled; break;
    }
  }
  const ir::KernelProgram& p = lowered.program;
  for (const ir::BufferInfo& b : p.buffers)
    if (b.symbol) symbol_index(exe, b.symbol);
  // Inputs as declared (their buffers may have a size where the constraints fixed a symbol).
  for (size_t b = 0; b < p.buffers.size(); ++b)
    if (p.buffers[b].kind == ir::BufferInfo::Kind::input) {
      const ir::Node& n = graph.node(graph.find_input(p.buffers[b].name));
      exe.inputs.push_back({n.name, n.dtype, n.shape, n.strides});
      exe.input_slots.push_back({static_cast<int>(b), exe.inputs.back(), exe.inputs.back().feed_shape(),
                                 p.buffers[b].origin * static_cast<int64_t>(dtype_size(n.dtype))});
      for (int64_t e : n.shape)
        if (is_symbol(e)) symbol_index(exe, e);
    }
  exe.constraints = ir::collect_constraints(graph, outputs);
  std::sort(exe.input_slots.begin(), exe.input_slots.end(),
            [](const auto& x, const auto& y) { return x.info.name < y.info.name; });
  for (size_t s = 0; s < p.steps.size(); ++s) {
    const ir::KernelSpec& c = p.steps[s];
    stats.flops += c.flops();
    const ir::LoweredKernel& k = lowered.kernels[lowered.step_kernel[s]];
    runtime::Executable::Step step{entries[lowered.step_kernel[s]], c.arg_buffers(), {}, false};
    for (const std::string& name : c.scalar_params()) step.symbols.push_back(symbol_index(exe, tcc::dim(name)));
    step.flops = c.flops();
    for (const ir::KernelDim& d : c.dims)
      if (d.symbolic()) {
        step.flops /= static_cast<double>(d.extent);
        step.flop_symbols.push_back(symbol_index(exe, d.shape_extent()));
      }
    const int64_t scratch = k.schedule.scratch_bytes();
    step.scratch = scratch > 0;
    if (step.args.size() + step.symbols.size() + 1 > runtime::Executable::Step::kMaxArgs)
      throw InternalError("compile: a kernel with more operands than the runtime passes");
    exe.scratch_bytes = std::max(exe.scratch_bytes, scratch);
    exe.steps.push_back(std::move(step));
  }
  for (int id = 0; id < graph.size(); ++id)
    if (graph.node(id).op == ir::OpKind::input) exe.graph_inputs.insert(graph.node(id).name);
  stats.kernels = static_cast<int>(lowered.kernels.size());
  exe.program = std::move(lowered.program);
  stats.compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return exe;
}

}  // namespace

runtime::Executable compile_jit(const ir::GraphIR& graph, const std::vector<int>& outputs, const Options& options) {
  auto t0 = std::chrono::steady_clock::now();
  return link_plan(plan(graph, outputs, options, /*build_loops=*/false), graph, outputs, t0);
}

runtime::Executable compile_jit_for_model(const ir::GraphIR& graph, const std::vector<int>& outputs,
                                          const ir::sched::TargetModel& model) {
  auto t0 = std::chrono::steady_clock::now();
  return link_plan(plan_for_model(graph, outputs, model, /*build_loops=*/false), graph, outputs, t0);
}

}  // namespace tcc::driver
