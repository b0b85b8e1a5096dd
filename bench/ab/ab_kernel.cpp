// One side of an A/B: a shared object built from one tcc tree (see ab_builds.sh) that compiles
// and binds one matmul. Its symbols are hidden but these two, so several builds of tcc can be
// loaded into one process side by side.
#include <tcc/tcc.h>

#include <cstdlib>
#include <random>

namespace {
struct Bound {
  tcc::Tensor a, b;
  tcc::CompiledGraph graph;
  tcc::BoundRun run;
};
Bound* bound = nullptr;
}  // namespace

// C = A·op(B) over `batch` matrices (0: no batch dim), M x K times K x N (N x K when
// transpose_b). AB_THREADS in the environment overrides `threads`.
extern "C" __attribute__((visibility("default"))) void ab_setup(long batch, long M, long K, long N, int f64,
                                                                int transpose_b, int threads) {
  if (const char* t = std::getenv("AB_THREADS")) threads = std::atoi(t);
  tcc::set_num_threads(threads);
  const tcc::DType dtype = f64 ? tcc::f64 : tcc::f32;
  tcc::Shape sa{M, K}, sb = transpose_b ? tcc::Shape{N, K} : tcc::Shape{K, N};
  if (batch > 0) sa.insert(sa.begin(), batch), sb.insert(sb.begin(), batch);
  bound = new Bound{tcc::Tensor(dtype, sa), tcc::Tensor(dtype, sb), {}, {}};
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(-1, 1);
  for (tcc::Tensor* t : {&bound->a, &bound->b})
    for (long i = 0; i < t->numel(); ++i)
      f64 ? void(t->data_as<double>()[i] = uniform(rng)) : void(t->data_as<float>()[i] = uniform(rng));
  tcc::Graph g;
  auto a = g.input("a", dtype, sa), b = g.input("b", dtype, sb);
  bound->graph = g.compile({tcc::matmul(a, b, {.transpose_b = transpose_b != 0})});
  bound->run = bound->graph.bind({{"a", bound->a}, {"b", bound->b}});
}

extern "C" __attribute__((visibility("default"))) void ab_call() { bound->run(); }
