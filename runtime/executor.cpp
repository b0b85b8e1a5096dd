// Graph::compile and CompiledGraph: lower the graph, JIT its kernels, run them in order.
#include <tcc/graph.h>

#include "codegen/codegen.h"
#include "ir/lower.h"
#include "runtime/executor.h"
#include "runtime/kernel_cache.h"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace tcc {

struct CompiledGraph::Impl {
  ir::LoweredProgram lowered;
  std::vector<codegen::KernelEntry> entries;  // per distinct kernel
  std::vector<InputInfo> inputs;              // the inputs the outputs depend on
  std::set<std::string> graph_inputs;         // every input name of the graph
  CompileStats stats;
};

namespace {

// Refuses, before allocating anything, a run whose intermediate and output buffers together
// exceed the machine's memory: otherwise the kernel's OOM killer, not tcc, would report it.
void check_memory_budget(const ir::ContractionProgram& p) {
  long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return;
  const long double memory = static_cast<long double>(pages) * page_size;
  long double needed = 0;
  for (const ir::BufferInfo& b : p.buffers)
    if (b.kind == ir::BufferInfo::Kind::temp) needed += static_cast<long double>(b.numel) * dtype_size(b.dtype);
  if (needed > memory)
    throw InputError(fmt::format("running this graph needs {:.3g} GB for its results and intermediates, more than "
                                 "this machine's {:.3g} GB of memory",
                                 static_cast<double>(needed / 1e9), static_cast<double>(memory / 1e9)));
}

}  // namespace

CompiledGraph::CompiledGraph() = default;
CompiledGraph::~CompiledGraph() = default;
CompiledGraph::CompiledGraph(CompiledGraph&&) noexcept = default;
CompiledGraph& CompiledGraph::operator=(CompiledGraph&&) noexcept = default;
CompiledGraph::CompiledGraph(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

const std::vector<InputInfo>& CompiledGraph::inputs() const { return impl_->inputs; }
const CompileStats& CompiledGraph::stats() const { return impl_->stats; }

CompiledGraph Graph::compile(const std::vector<Value>& outputs) const {
  return runtime::compile_for_model(*this, outputs, codegen::target_model(codegen::host_target()));
}

CompiledGraph runtime::compile_for_model(const Graph& g, const std::vector<Value>& outputs,
                                         const ir::loop::TargetModel& target) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<int> ids;
  for (const Value& v : outputs) {
    if (!v.valid() || &v.graph() != &g) throw ArgumentError("compile: an output does not belong to this graph");
    ids.push_back(v.id());
  }
  if (ids.empty()) throw ArgumentError("compile: no outputs");
  const ir::GraphIR& graph_ir = g.ir();
  auto impl = std::make_unique<CompiledGraph::Impl>();
  impl->lowered = ir::lower(graph_ir, ids, target, /*build_loops=*/false);
  CompileStats& stats = impl->stats;
  stats.disk_cache = runtime::disk_cache_enabled();
  for (ir::LoweredKernel& k : impl->lowered.kernels) {
    runtime::KernelLookup found = runtime::lookup_kernel(k);
    impl->entries.push_back(found.entry);
    switch (found.outcome) {
      case runtime::CacheOutcome::memory_hit: ++stats.memory_hits; break;
      case runtime::CacheOutcome::disk_hit: ++stats.disk_hits; break;
      case runtime::CacheOutcome::compiled: ++stats.compiled; break;
    }
  }
  for (const ir::BufferInfo& b : impl->lowered.program.buffers)
    if (b.kind == ir::BufferInfo::Kind::input) {
      const ir::Node& n = graph_ir.node(graph_ir.find_input(b.name));
      impl->inputs.push_back({n.name, n.dtype, n.shape});
    }
  for (const InputInfo& in : g.inputs()) impl->graph_inputs.insert(in.name);
  stats.kernels = static_cast<int>(impl->lowered.kernels.size());
  stats.compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return CompiledGraph(std::move(impl));
}

std::vector<Tensor> Graph::eval(const std::vector<Value>& outputs, const Feeds& feeds) const {
  return compile(outputs)(feeds);
}

std::vector<Tensor> CompiledGraph::operator()(const Feeds& feeds) const {
  if (!impl_) throw ArgumentError("CompiledGraph: empty (default-constructed or moved from)");
  const ir::ContractionProgram& p = impl_->lowered.program;
  for (const auto& [name, tensor] : feeds)
    if (!impl_->graph_inputs.count(name)) throw InputError(fmt::format("unknown input '{}'", name));

  check_memory_budget(p);
  std::vector<Tensor> buffers(p.buffers.size());
  for (size_t b = 0; b < p.buffers.size(); ++b) {
    const ir::BufferInfo& info = p.buffers[b];
    if (info.kind == ir::BufferInfo::Kind::constant) buffers[b] = info.data;
    if (info.kind != ir::BufferInfo::Kind::input) continue;
    auto it = feeds.find(info.name);
    const InputInfo* decl = nullptr;
    for (const InputInfo& in : impl_->inputs)
      if (in.name == info.name) decl = &in;
    if (it == feeds.end()) throw InputError(fmt::format("input '{}' was not given", info.name));
    const Tensor& t = it->second;
    if (!t.defined()) throw InputError(fmt::format("input '{}' is an empty tensor", info.name));
    if (t.dtype() != decl->dtype || t.shape() != decl->shape)
      throw InputError(fmt::format("input '{}': expected {}, got {}", info.name, ir::type_str(decl->dtype, decl->shape),
                                   ir::type_str(t.dtype(), t.shape())));
    buffers[b] = t;
  }
  // One scratch block serves every step in turn (packing buffers).
  int64_t scratch_bytes = 0;
  for (const ir::LoweredKernel& k : impl_->lowered.kernels)
    scratch_bytes = std::max(scratch_bytes, ir::loop::scratch_bytes(k.schedule, k.contraction.dtype));
  Tensor scratch = scratch_bytes > 0 ? Tensor(DType::f32, {(scratch_bytes + 3) / 4}) : Tensor();
  for (size_t s = 0; s < p.steps.size(); ++s) {
    const ir::Contraction& c = p.steps[s];
    buffers[c.out_buffer] = Tensor(c.dtype, c.out_shape());
    std::vector<void*> args{buffers[c.out_buffer].data()};
    for (const ir::StridedOperand& op : c.operands) args.push_back(const_cast<void*>(buffers[op.buffer].data()));
    if (ir::loop::scratch_bytes(impl_->lowered.kernels[impl_->lowered.step_kernel[s]].schedule, c.dtype) > 0)
      args.push_back(scratch.data());
    impl_->entries[impl_->lowered.step_kernel[s]](args.data());
  }
  std::vector<Tensor> out;
  for (const ir::OutputView& o : p.outputs) out.push_back(buffers[o.buffer].reshaped(o.shape));
  return out;
}

}  // namespace tcc
