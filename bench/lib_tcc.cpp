// tcc through its public graph API: the graph is built and compiled once per problem outside
// the timed loop. The timed call is CompiledGraph::run() into the previous call's output
// tensors, which it writes in place: the same contract as the baselines, which write into a
// preallocated C. (operator() would also allocate a fresh output on every call.)
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
  tcc::Feeds feeds;
  std::vector<tcc::Tensor> outputs;
};

PreparedCall prepare(const Problem& p, ProblemData& data, int threads) {
  apply_tcc_threads(threads);
  auto state = std::make_shared<TccState>();
  state->graph = std::make_unique<tcc::Graph>();
  tcc::Value a = state->graph->input("a", p.dtype, data.a.shape());
  tcc::Value b = state->graph->input("b", p.dtype, data.b.shape());
  tcc::Value c = tcc::matmul(a, b, {.transpose_b = p.transpose_b});
  state->compiled = state->graph->compile({c});
  state->feeds = {{"a", data.a}, {"b", data.b}};  // shares the operands' storage, no copy
  PreparedCall call;
  call.activate = [threads] { apply_tcc_threads(threads); };
  call.run = [state] { state->compiled.run(state->feeds, state->outputs); };
  call.result = [state] { return state->outputs.at(0).data(); };
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
