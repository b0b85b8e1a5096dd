// tcc through its public graph API: the graph is built, compiled and bound to the problem's
// tensors once, outside the timed loop (CompiledGraph::bind makes run()'s checks there, as
// LIBXSMM dispatches and oneDNN creates its primitive once). The timed call is the BoundRun,
// which writes into the same output tensor every time: the same contract as the baselines,
// which write into a preallocated C. (run() would add about 20 ns of feed lookups and checks
// per call, 5% of the seed's 0.45 us; operator() would also allocate a fresh output.)
#include <tcc/tcc.h>
#include <tcc/threads.h>

#include <memory>

#include "bench.h"

namespace tcc_bench {
namespace {

// The one place that maps a thread count onto tcc: its kernels' thread pool size (a process-wide
// setting, so it is re-applied before every timed loop). Returns the threads tcc really uses;
// the table marks rows where that is fewer than asked.
int apply_tcc_threads(int threads) {
  tcc::set_num_threads(threads);
  return tcc::num_threads();
}

struct TccState {
  std::unique_ptr<tcc::Graph> graph;
  tcc::CompiledGraph compiled;
  tcc::BoundRun bound;
};

PreparedCall prepare(const Problem& p, ProblemData& data, int threads) {
  apply_tcc_threads(threads);
  auto state = std::make_shared<TccState>();
  state->graph = std::make_unique<tcc::Graph>();
  tcc::Value a = state->graph->input("a", p.dtype, data.a.shape());
  tcc::Value b = state->graph->input("b", p.dtype, data.b.shape());
  tcc::Value c = tcc::matmul(a, b, {.transpose_b = p.transpose_b});
  state->compiled = state->graph->compile({c});
  state->bound = state->compiled.bind({{"a", data.a}, {"b", data.b}});  // shares the operands' storage, no copy
  PreparedCall call;
  call.activate = [threads] { apply_tcc_threads(threads); };
  call.run = [state] { state->bound(); };
  call.result = [state] { return state->bound.outputs().at(0).data(); };
  return call;
}

}  // namespace

Library make_tcc_library() {
  Library library;
  library.name = "tcc";
  library.is_tcc = true;
  library.prepare = prepare;
  library.effective_threads = apply_tcc_threads;
  library.describe = [] { return std::string("graph API (tcc::matmul), compiled once, LLVM JIT for the host CPU"); };
  return library;
}

}  // namespace tcc_bench
