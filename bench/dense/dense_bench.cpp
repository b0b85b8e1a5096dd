// A Dense layer, relu(x · W + b), three ways in one process (issue 15's targets): tcc with the
// bias and ReLU fused into the GEMM's store, tcc unfused (the contraction, then an element-wise
// kernel: TCC_FUSE_EPILOGUES=0 at compile time), and oneDNN's matmul primitive with a bias and
// a ReLU post-op. One thread and two, interleaved rounds, medians; every result is checked
// against oneDNN's.
//
//   dense_bench [--rounds R] [--shape M,K,N] [--smoke]
//
// Prints a markdown table: per shape and thread count the three median times and the ratios
// oneDNN / tcc fused and unfused / fused (above 1: fused tcc is faster). --smoke: small shapes,
// 3 rounds, exit 1 when a result differs.
#include <tcc/tcc.h>

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Shape3 {
  int64_t M, K, N;
};

std::vector<float> random_floats(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

tcc::Tensor tensor(const std::vector<float>& v, tcc::Shape shape) {
  tcc::Tensor t(tcc::f32, std::move(shape));
  std::copy(v.begin(), v.end(), t.data_as<float>());
  return t;
}

// tcc's Dense layer for this many threads, fused or not (decided when it compiles).
tcc::CompiledGraph compile_dense(const Shape3& s, bool fused) {
  setenv("TCC_FUSE_EPILOGUES", fused ? "1" : "0", 1);
  tcc::Graph g;
  auto x = g.input("x", tcc::f32, {s.M, s.K});
  auto w = g.input("w", tcc::f32, {s.K, s.N});
  auto b = g.input("b", tcc::f32, {s.N});
  tcc::CompiledGraph fn = g.compile({tcc::relu(tcc::bias_add(tcc::dot(x, w), b))});
  unsetenv("TCC_FUSE_EPILOGUES");
  return fn;
}

struct OneDnnDense {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::matmul matmul;
  dnnl::memory x, w, b, y;

  OneDnnDense(const Shape3& s, float* xp, float* wp, float* bp, float* yp) {
    using dnnl::memory;
    const auto f32 = memory::data_type::f32;
    memory::desc x_md({s.M, s.K}, f32, memory::dims{s.K, 1}), w_md({s.K, s.N}, f32, memory::dims{s.N, 1}),
        b_md({1, s.N}, f32, memory::dims{s.N, 1}), y_md({s.M, s.N}, f32, memory::dims{s.N, 1});
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(x_md, w_md, b_md, y_md), attr, engine);
    matmul = dnnl::matmul(pd);
    x = memory(x_md, engine, xp), w = memory(w_md, engine, wp), b = memory(b_md, engine, bp), y = memory(y_md, engine, yp);
  }
  void operator()() {
    matmul.execute(stream, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}});
    stream.wait();
  }
};

// Microseconds per call, over a group of calls lasting about 2 ms (at least one call).
double time_us(const std::function<void()>& run, int group) {
  auto t0 = Clock::now();
  for (int i = 0; i < group; ++i) run();
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / group;
}

int group_for(const std::function<void()>& run) {
  run();
  const double once = time_us(run, 1);
  return std::max(1, static_cast<int>(2000.0 / std::max(once, 1.0)));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

float max_difference(const float* a, const float* b, int64_t n) {
  float worst = 0;
  for (int64_t i = 0; i < n; ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  // OpenMP's threads spin after oneDNN returns (active wait), taking the cores tcc's pool is
  // about to use in the next measurement: run with passive waiting. libgomp reads the variable
  // when it loads, so the process starts again with it set.
  if (!std::getenv("OMP_WAIT_POLICY")) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv);
    std::perror("dense_bench: execv");
    return 2;
  }
  int rounds = 11;
  bool smoke = false;
  std::vector<Shape3> chosen;
  for (int i = 1; i < argc; ++i) {
    long long m = 0, k = 0, n = 0;
    if (!std::strcmp(argv[i], "--smoke")) smoke = true, rounds = 3;
    else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--shape") && i + 1 < argc && std::sscanf(argv[++i], "%lld,%lld,%lld", &m, &k, &n) == 3 &&
             m > 0 && k > 0 && n > 0)
      chosen.push_back({m, k, n});
    else {
      std::fprintf(stderr, "usage: dense_bench [--rounds R] [--shape M,K,N]... [--smoke]\n");
      return 2;
    }
  }
  // The shapes, and two whose outputs are larger than L2: 8 MiB after a K of 1024 (the
  // GEMM dominates), 16 MiB after a K of 64 (the pass over the output an unfused form adds is
  // a large share).
  const std::vector<Shape3> shapes = !chosen.empty() ? chosen
                                     : smoke ? std::vector<Shape3>{{1, 64, 48}, {13, 70, 33}}
                                             : std::vector<Shape3>{{1, 1024, 1024}, {32, 1024, 1024}, {256, 1024, 1024},
                                                                   {256, 4096, 1024}, {2048, 1024, 1024}, {4096, 64, 1024}};
  bool ok = true;
  std::printf("| x | W | threads | tcc fused µs | tcc unfused µs | oneDNN µs | oneDNN / fused | unfused / fused |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|\n");
  for (const Shape3& s : shapes) {
    std::vector<float> xv = random_floats(s.M * s.K, 1), wv = random_floats(s.K * s.N, 2), bv = random_floats(s.N, 3);
    for (int threads : {1, 2}) {
      tcc::set_num_threads(threads);
      omp_set_num_threads(threads);
      tcc::Feeds feeds{{"x", tensor(xv, {s.M, s.K})}, {"w", tensor(wv, {s.K, s.N})}, {"b", tensor(bv, {s.N})}};
      tcc::CompiledGraph fused_fn = compile_dense(s, true), unfused_fn = compile_dense(s, false);
      tcc::BoundRun fused = fused_fn.bind(feeds), unfused = unfused_fn.bind(feeds);
      std::vector<float> y(s.M * s.N);
      OneDnnDense dnn(s, xv.data(), wv.data(), bv.data(), y.data());
      std::vector<std::function<void()>> runs{[&] { fused(); }, [&] { unfused(); }, [&] { dnn(); }};
      std::vector<int> groups;
      for (auto& run : runs) groups.push_back(group_for(run));
      std::vector<std::vector<double>> times(runs.size());
      for (int r = 0; r < rounds; ++r)
        for (size_t k = 0; k < runs.size(); ++k) {
          const size_t i = (r % 2 == 0) ? k : runs.size() - 1 - k;  // alternate the order
          times[i].push_back(time_us(runs[i], groups[i]));
        }
      const float worst = std::max(max_difference(fused.outputs()[0].data_as<float>(), y.data(), s.M * s.N),
                                   max_difference(unfused.outputs()[0].data_as<float>(), y.data(), s.M * s.N));
      const float tolerance = 1e-5f * static_cast<float>(s.K);
      if (!(worst <= tolerance)) {
        std::fprintf(stderr, "dense_bench: (%lld,%lld)x(%lld,%lld): tcc differs from oneDNN by %g\n", (long long)s.M,
                     (long long)s.K, (long long)s.K, (long long)s.N, worst);
        ok = false;
      }
      const double f = median(times[0]), u = median(times[1]), d = median(times[2]);
      std::printf("| (%lld, %lld) | (%lld, %lld) | %d | %.1f | %.1f | %.1f | %.2f | %.2f |\n", (long long)s.M, (long long)s.K,
                  (long long)s.K, (long long)s.N, threads, f, u, d, d / f, u / f);
      std::fflush(stdout);
    }
  }
  return ok ? 0 : 1;
}
