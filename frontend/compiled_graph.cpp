// The public CompiledGraph and BoundRun: Graph::compile hands the graph to the driver's JIT
// path, and these run the Executable it returns (check feeds, run the steps in order into the
// caller's outputs; intermediates and scratch live in reusable workspaces).
#include <tcc/graph.h>
#include <tcc/threads.h>

#include "core/memory.h"
#include "driver/jit.h"
#include "frontend/graph_access.h"
#include "runtime/executable.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

namespace tcc {

// A call's private buffers: intermediates that are not outputs, and the kernels' scratch.
// Kept in a pool so that repeated calls allocate nothing (with symbols: nothing once the
// intermediates have grown to the largest sizes seen).
struct Workspace {
  std::vector<Tensor> temps;  // by buffer id; only intermediates
  Tensor scratch;
  // Per buffer: its data; constants and static intermediates are filled in once, at creation,
  // symbolic intermediates by each call.
  std::vector<void*> pointers;
  std::vector<int64_t> symbol_values;  // per Executable::symbols, this call's
};

// Everything a compiled graph holds (CompiledGraph::Impl is this, under the private name).
struct PreparedGraph {
  using Step = runtime::Executable::Step;
  using InputSlot = runtime::Executable::InputSlot;
  runtime::Executable exe;
  std::vector<bool> is_output_buffer;
  // Per output: the first output that views the same buffer (itself when it is the first);
  // that output's tensor holds the data.
  std::vector<int> output_holder;
  // Per buffer: its symbol's index in exe.symbols, or -1 for a static buffer.
  std::vector<int> buffer_symbol;

  explicit PreparedGraph(runtime::Executable executable);

  // The first thread that runs the graph owns a workspace that only it touches, so its calls
  // take no lock and no atomic read-modify-write (those cost more than a seed-sized kernel).
  // Other threads share a locked pool. A thread id can only be reused after its thread ended,
  // so a new thread with the owner's id inherits the workspace safely.
  mutable std::atomic<std::thread::id> owner{};
  mutable std::unique_ptr<Workspace> owned;
  mutable std::mutex pool_mutex;
  mutable std::vector<std::unique_ptr<Workspace>> pool;

  std::unique_ptr<Workspace> new_workspace() const;
  // The calling thread's workspace: `owned` for the owner (lent, returned null), else one from
  // the pool, which `give_back` returns.
  Workspace* borrow(std::unique_ptr<Workspace>& pooled) const;
  void give_back(std::unique_ptr<Workspace> pooled) const {
    if (!pooled) return;
    std::lock_guard<std::mutex> lock(pool_mutex);
    pool.push_back(std::move(pooled));
  }
};

struct CompiledGraph::Impl : PreparedGraph {
  using PreparedGraph::PreparedGraph;
};

namespace {

// Elements of buffer b when its symbol (if any) has this call's value.
int64_t buffer_numel(const ir::BufferInfo& b, int symbol, const std::vector<int64_t>& symbol_values) {
  return symbol < 0 ? b.numel : b.numel * symbol_values[symbol];
}

// Refuses, before allocating anything, a run whose intermediate and output buffers together
// exceed the machine's memory: otherwise the kernel's OOM killer, not tcc, would report it.
void check_memory_budget(const ir::KernelProgram& p, const std::vector<int>& buffer_symbol,
                         const std::vector<int64_t>& symbol_values) {
  const long double memory = static_cast<long double>(physical_memory_bytes());
  long double needed = 0;
  for (size_t b = 0; b < p.buffers.size(); ++b)
    if (p.buffers[b].kind == ir::BufferInfo::Kind::temp) {
      // In long double: a symbol's value times a buffer's elements may overflow int64.
      const long double per_unit = static_cast<long double>(p.buffers[b].numel) * dtype_size(p.buffers[b].dtype);
      needed += buffer_symbol[b] < 0 ? per_unit : per_unit * static_cast<long double>(symbol_values[buffer_symbol[b]]);
    }
  if (needed > memory)
    throw InputError(fmt::format("running this graph needs {:.3g} GB for its results and intermediates, more than "
                                 "this machine's {:.3g} GB of memory",
                                 static_cast<double>(needed / 1e9), static_cast<double>(memory / 1e9)));
}

// Shapes are a handful of extents: an inline loop beats vector's memcmp call.
bool same_shape(const Shape& a, const Shape& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

}  // namespace

CompiledGraph::CompiledGraph() = default;
CompiledGraph::~CompiledGraph() = default;
CompiledGraph::CompiledGraph(CompiledGraph&&) noexcept = default;
CompiledGraph& CompiledGraph::operator=(CompiledGraph&&) noexcept = default;
CompiledGraph::CompiledGraph(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

const std::vector<InputInfo>& CompiledGraph::inputs() const { return impl_->exe.inputs; }
const CompileStats& CompiledGraph::stats() const { return impl_->exe.stats; }

namespace {

std::vector<int> output_ids(const Graph& g, const std::vector<Value>& outputs) {
  std::vector<int> ids;
  for (const Value& v : outputs) {
    if (!v.valid() || &v.graph() != &g) throw ArgumentError("compile: an output does not belong to this graph");
    ids.push_back(v.id());
  }
  if (ids.empty()) throw ArgumentError("compile: no outputs");
  return ids;
}

}  // namespace

PreparedGraph::PreparedGraph(runtime::Executable executable) : exe(std::move(executable)) {
  const ir::KernelProgram& p = exe.program;
  is_output_buffer.assign(p.buffers.size(), false);
  for (const ir::OutputView& o : p.outputs) is_output_buffer[o.buffer] = true;
  for (const ir::BufferInfo& b : p.buffers) buffer_symbol.push_back(b.symbol ? exe.symbol_slot(b.symbol) : -1);
  for (size_t o = 0; o < p.outputs.size(); ++o) {
    size_t first = 0;
    while (p.outputs[first].buffer != p.outputs[o].buffer) ++first;
    output_holder.push_back(static_cast<int>(first));
  }
}

CompiledGraph Graph::compile(const std::vector<Value>& outputs) const {
  return CompiledGraph(std::make_unique<CompiledGraph::Impl>(driver::compile_jit(*ir_, output_ids(*this, outputs))));
}

CompiledGraph detail::GraphAccess::compile_for_model(const Graph& g, const std::vector<Value>& outputs,
                                                     const ir::sched::TargetModel& model) {
  return CompiledGraph(std::make_unique<CompiledGraph::Impl>(
      driver::compile_jit_for_model(graph_ir(g), output_ids(g, outputs), model)));
}

std::vector<Tensor> Graph::eval(const std::vector<Value>& outputs, const Feeds& feeds) const {
  return compile(outputs)(feeds);
}

std::unique_ptr<Workspace> PreparedGraph::new_workspace() const {
  auto w = std::make_unique<Workspace>();
  const ir::KernelProgram& p = exe.program;
  // Symbolic intermediates are sized by each call (bind_buffers): here, as if every symbol were 0.
  w->symbol_values.assign(exe.symbols.size(), 0);
  check_memory_budget(p, buffer_symbol, w->symbol_values);
  w->temps.resize(p.buffers.size());
  w->pointers.assign(p.buffers.size(), nullptr);
  for (size_t b = 0; b < p.buffers.size(); ++b) {
    if (p.buffers[b].kind == ir::BufferInfo::Kind::constant) {
      w->pointers[b] = const_cast<void*>(p.buffers[b].data.data());
    } else if (p.buffers[b].kind == ir::BufferInfo::Kind::temp && !is_output_buffer[b] && buffer_symbol[b] < 0) {
      w->temps[b] = Tensor::empty(p.buffers[b].dtype, {p.buffers[b].numel});
      w->pointers[b] = w->temps[b].data();
    }
  }
  if (exe.scratch_bytes > 0) w->scratch = Tensor::empty(DType::f32, {(exe.scratch_bytes + 3) / 4});
  return w;
}

Workspace* PreparedGraph::borrow(std::unique_ptr<Workspace>& pooled) const {
  const std::thread::id me = std::this_thread::get_id();
  std::thread::id current = owner.load(std::memory_order_acquire);
  if (current == me || (current == std::thread::id() && owner.compare_exchange_strong(current, me))) {
    // Made on the owner's first call, or again after that call failed to make it (memory).
    if (!owned) owned = new_workspace();
    return owned.get();
  }
  {
    std::lock_guard<std::mutex> lock(pool_mutex);
    if (!pool.empty()) {
      pooled = std::move(pool.back());
      pool.pop_back();
    }
  }
  if (!pooled) pooled = new_workspace();
  return pooled.get();
}

std::vector<Tensor> CompiledGraph::operator()(const Feeds& feeds) const {
  std::vector<Tensor> outputs;
  run(feeds, outputs);
  return outputs;
}

namespace {

// "input 'a': expected f32[N,4], got f32[3,5]"; a strided input names its view too.
[[noreturn]] void wrong_feed(const PreparedGraph::InputSlot& slot, const Tensor& t, const std::string& why = "") {
  std::string view;
  if (!slot.info.strides.empty())
    view = fmt::format(" (the elements of a view {} with strides ({}))", type_str(slot.info.dtype, slot.info.shape),
                       fmt::join(slot.info.strides, ", "));
  throw InputError(fmt::format("input '{}': expected {}{}, got {}{}", slot.info.name, type_str(slot.info.dtype, slot.feed_shape),
                               view, type_str(t.dtype(), t.shape()), why));
}

// Binds the symbols in a feed's shape (checking the static extents and earlier bindings).
// `bound_by`: per symbol, the slot that bound it, -1 while unbound.
void bind_symbols(const PreparedGraph& impl, const PreparedGraph::InputSlot& slot, const Tensor& t, int slot_index,
                  std::vector<int64_t>& values, std::vector<int>& bound_by) {
  const Shape& want = slot.info.shape;
  const Shape& got = t.shape();
  if (want.size() != got.size()) wrong_feed(slot, t);
  for (size_t a = 0; a < want.size(); ++a) {
    if (!is_symbol(want[a])) {
      if (want[a] != got[a]) wrong_feed(slot, t);
      continue;
    }
    const int s = impl.exe.symbol_slot(want[a]);
    if (s < 0)
      throw InternalError("bind: input '" + slot.info.name + "' has a symbol the program does not know");
    if (bound_by[s] < 0) {
      values[s] = got[a];
      bound_by[s] = slot_index;
    } else if (values[s] != got[a]) {
      wrong_feed(slot, t, fmt::format(", but {} is {} (from input '{}')", dim_str(want[a]), values[s],
                                      impl.exe.input_slots[bound_by[s]].info.name));
    }
  }
}

// A shape with this call's symbol values in place of the symbols.
Shape resolved(const PreparedGraph& impl, const Shape& shape, const std::vector<int64_t>& values) {
  Shape out = shape;
  for (int64_t& e : out)
    if (is_symbol(e)) e = values[impl.exe.symbol_slot(e)];
  return out;
}

// Sizes the symbolic intermediates for this call's values, growing (never shrinking) them.
void size_symbolic_temps(const PreparedGraph& impl, Workspace& w) {
  const ir::KernelProgram& p = impl.exe.program;
  bool checked = false;
  for (size_t b = 0; b < p.buffers.size(); ++b) {
    if (impl.buffer_symbol[b] < 0 || p.buffers[b].kind != ir::BufferInfo::Kind::temp || impl.is_output_buffer[b]) continue;
    const int64_t numel = buffer_numel(p.buffers[b], impl.buffer_symbol[b], w.symbol_values);
    if (w.temps[b].defined() && w.temps[b].numel() >= numel) continue;
    if (!checked) check_memory_budget(p, impl.buffer_symbol, w.symbol_values);
    checked = true;
    w.temps[b] = Tensor();  // the old block goes before the new one comes
    w.temps[b] = Tensor::empty(p.buffers[b].dtype, {numel});
    w.pointers[b] = w.temps[b].data();
  }
}

// Points the workspace's buffers at the feeds and outputs, checking them as run() documents:
// the feeds' names, dtypes and shapes, and outputs that fit and alias nothing (others
// replaced). With symbols, binds them from the feeds and sizes the intermediates.
void bind_buffers(const PreparedGraph& impl, const Feeds& feeds, std::vector<Tensor>& outputs, Workspace& w) {
  const ir::KernelProgram& p = impl.exe.program;
  std::vector<void*>& ptr = w.pointers;
  const bool symbolic = !impl.exe.symbols.empty();
  std::vector<int> bound_by(symbolic ? impl.exe.symbols.size() : 0, -1);
  // Feeds the graph does not need are fine if the graph declares them; look names up only
  // when there are more feeds than inputs this program reads.
  if (feeds.size() > impl.exe.input_slots.size())
    for (const auto& [name, tensor] : feeds)
      if (!impl.exe.graph_inputs.count(name)) throw InputError(fmt::format("unknown input '{}'", name));
  // Slots are sorted by name, as the map is: with exactly the inputs fed, one walk pairs them.
  auto next_feed = feeds.begin();
  for (size_t i = 0; i < impl.exe.input_slots.size(); ++i) {
    const PreparedGraph::InputSlot& slot = impl.exe.input_slots[i];
    auto it = next_feed != feeds.end() && next_feed->first == slot.info.name ? next_feed : feeds.find(slot.info.name);
    if (it == feeds.end()) throw InputError(fmt::format("input '{}' was not given", slot.info.name));
    next_feed = std::next(it);
    const Tensor& t = it->second;
    if (!t.defined()) throw InputError(fmt::format("input '{}' is an empty tensor", slot.info.name));
    if (t.dtype() != slot.info.dtype) wrong_feed(slot, t);
    if (symbolic && slot.info.strides.empty()) bind_symbols(impl, slot, t, static_cast<int>(i), w.symbol_values, bound_by);
    else if (!same_shape(t.shape(), slot.feed_shape)) wrong_feed(slot, t);
    ptr[slot.buffer] = static_cast<std::byte*>(const_cast<void*>(t.data())) + slot.origin_bytes;
  }
  if (symbolic) {
    if (!impl.exe.constraints.empty()) {
      std::unordered_map<int64_t, int64_t> values;
      for (size_t s = 0; s < impl.exe.symbols.size(); ++s) values.emplace(impl.exe.symbols[s], w.symbol_values[s]);
      ir::check_constraints(impl.exe.constraints, values);
    }
    size_symbolic_temps(impl, w);
  }
  // Outputs: the caller's tensors where they fit and alias no feed and no other output, else
  // fresh ones (a kernel's output must not overlap its operands: noalias). Two outputs of one
  // buffer share its storage.
  outputs.resize(p.outputs.size());
  auto aliases = [&](const Tensor& t, size_t o) {
    for (const PreparedGraph::InputSlot& slot : impl.exe.input_slots)  // the feeds the kernels read
      if (static_cast<std::byte*>(ptr[slot.buffer]) - slot.origin_bytes == t.data()) return true;
    for (size_t earlier = 0; earlier < o; ++earlier)
      if (impl.output_holder[earlier] == static_cast<int>(earlier) && outputs[earlier].data() == t.data()) return true;
    return false;
  };
  for (size_t o = 0; o < p.outputs.size(); ++o) {
    if (impl.output_holder[o] != static_cast<int>(o)) continue;
    const ir::OutputView& view = p.outputs[o];
    Tensor& t = outputs[o];
    const ir::BufferInfo& info = p.buffers[view.buffer];
    Shape resolved_shape;  // only with symbols: the static path allocates nothing here
    const Shape& shape = symbolic ? (resolved_shape = resolved(impl, view.shape, w.symbol_values)) : view.shape;
    if (!(t.defined() && t.dtype() == info.dtype && same_shape(t.shape(), shape) && !aliases(t, o))) {
      check_memory_budget(p, impl.buffer_symbol, w.symbol_values);
      t = Tensor::empty(info.dtype, shape);
    }
    ptr[view.buffer] = t.data();
  }
}

// Outputs that view another output's buffer: reshaped views of its tensor.
void share_output_views(const PreparedGraph& impl, const Workspace& w, std::vector<Tensor>& outputs) {
  const ir::KernelProgram& p = impl.exe.program;
  for (size_t o = 0; o < p.outputs.size(); ++o)
    if (impl.output_holder[o] != static_cast<int>(o))
      outputs[o] = outputs[impl.output_holder[o]].reshaped(resolved(impl, p.outputs[o].shape, w.symbol_values));
}

using StepArgs = std::array<void*, PreparedGraph::Step::kMaxArgs>;

// Writes a step's kernel arguments in a workspace to `args`: its buffers, its symbols'
// values, then the scratch block if it packs.
void fill_step_args(const PreparedGraph::Step& step, const Workspace& w, StepArgs& args) {
  size_t n = 0;
  for (int b : step.args) args[n++] = w.pointers[b];
  for (int s : step.symbols) args[n++] = reinterpret_cast<void*>(static_cast<intptr_t>(w.symbol_values[s]));
  if (step.scratch) args[n++] = const_cast<void*>(w.scratch.data());
}

// One kernel call with its arguments resolved.
struct BoundStep {
  runtime::KernelEntry entry = nullptr;
  StepArgs args{};
};

std::vector<BoundStep> resolve_steps(const PreparedGraph& impl, const Workspace& w) {
  std::vector<BoundStep> steps;
  for (const PreparedGraph::Step& step : impl.exe.steps) {
    BoundStep& bound = steps.emplace_back();
    bound.entry = step.entry;
    fill_step_args(step, w, bound.args);
  }
  return steps;
}

}  // namespace

void CompiledGraph::run(const Feeds& feeds, std::vector<Tensor>& outputs) const {
  if (!impl_) throw ArgumentError("CompiledGraph: empty (default-constructed or moved from)");
  const Impl& impl = *impl_;
  std::unique_ptr<Workspace> pooled;
  Workspace* w = impl.borrow(pooled);
  bind_buffers(impl, feeds, outputs, *w);
  StepArgs args;  // slots past a kernel's arguments are never read
  for (const Impl::Step& step : impl.exe.steps) {
    fill_step_args(step, *w, args);
    step.entry(args.data());
  }
  share_output_views(impl, *w, outputs);
  impl.give_back(std::move(pooled));
}

struct BoundRun::State {
  double flops = 0;
  std::unique_ptr<Workspace> workspace;
  std::vector<Tensor> feeds;  // held so that their storage outlives the binding
  std::vector<Tensor> outputs;
  std::vector<BoundStep> steps;
};

BoundRun CompiledGraph::bind(const Feeds& feeds, std::vector<Tensor> outputs) const {
  if (!impl_) throw ArgumentError("CompiledGraph: empty (default-constructed or moved from)");
  auto state = std::make_unique<BoundRun::State>();
  state->workspace = impl_->new_workspace();
  bind_buffers(*impl_, feeds, outputs, *state->workspace);
  share_output_views(*impl_, *state->workspace, outputs);
  for (const auto& [name, tensor] : feeds) state->feeds.push_back(tensor);
  state->outputs = std::move(outputs);
  state->steps = resolve_steps(*impl_, *state->workspace);
  for (const Impl::Step& step : impl_->exe.steps) {
    double flops = step.flops;
    for (int s : step.flop_symbols) flops *= static_cast<double>(state->workspace->symbol_values[s]);
    state->flops += flops;
  }
  return BoundRun(std::move(state));
}

BoundRun::BoundRun() = default;
BoundRun::~BoundRun() = default;
BoundRun::BoundRun(BoundRun&&) noexcept = default;
BoundRun& BoundRun::operator=(BoundRun&&) noexcept = default;
BoundRun::BoundRun(std::unique_ptr<State> state) : state_(std::move(state)) {}

void BoundRun::operator()() {
  if (!state_) throw ArgumentError("BoundRun: empty (default-constructed or moved from)");
  for (const BoundStep& step : state_->steps) step.entry(step.args.data());
}

double BoundRun::flops() const {
  if (!state_) throw ArgumentError("BoundRun: empty (default-constructed or moved from)");
  return state_->flops;
}

const std::vector<Tensor>& BoundRun::outputs() const {
  if (!state_) throw ArgumentError("BoundRun: empty (default-constructed or moved from)");
  return state_->outputs;
}

}  // namespace tcc
