// Symbolic vs static kernels (issue 14): the same contraction compiled once with a symbolic
// dimension and once per size with that size fixed, timed in the same process in interleaved
// rounds (medians, the order alternating per round), with the results compared.
//
//   symbolic_vs_static [--rounds R] [--smoke]
//
// Prints a markdown table: per case and size, the static and symbolic median time per call
// and their ratio (symbolic / static). --smoke: few rounds, small sizes, and exit 1 when a
// symbolic result differs from the static one.
#include <tcc/tcc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

using tcc::Shape;
using tcc::Tensor;
using Clock = std::chrono::steady_clock;

struct Case {
  std::string name;
  std::vector<Shape> inputs;  // with the symbol S
  std::function<tcc::Value(const std::vector<tcc::Value>&)> op;
  std::vector<int64_t> sizes, smoke_sizes;
};

const int64_t S = tcc::dim("S");

Shape at(Shape s, int64_t n) {
  for (int64_t& e : s)
    if (e == S) e = n;
  return s;
}

tcc::CompiledGraph compile(const Case& c, int64_t size) {  // size < 0: symbolic
  tcc::Graph g;
  std::vector<tcc::Value> in;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    in.push_back(g.input("x" + std::to_string(i), tcc::f32, size < 0 ? c.inputs[i] : at(c.inputs[i], size)));
  return g.compile({c.op(in)});
}

// Median microseconds per call of `run`, timed in groups of about 200 us.
double time_us(tcc::BoundRun& run, int group) {
  auto t0 = Clock::now();
  for (int i = 0; i < group; ++i) run();
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / group;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

float max_difference(const Tensor& a, const Tensor& b) {
  const float *x = a.data_as<float>(), *y = b.data_as<float>();
  float worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i) worst = std::max(worst, std::fabs(x[i] - y[i]));
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 21;
  bool smoke = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--smoke")) smoke = true, rounds = 3;
    else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: symbolic_vs_static [--rounds R] [--smoke]\n");
      return 2;
    }
  }
  auto matmul = [](const std::vector<tcc::Value>& v) { return tcc::matmul(v[0], v[1]); };
  auto dot = [](const std::vector<tcc::Value>& v) { return tcc::dot(v[0], v[1]); };
  const std::vector<Case> cases = {
      {"seed 1: batch x (12,4,5)·(12,5,8)", {{S, 12, 4, 5}, {S, 12, 5, 8}}, matmul, {1, 7, 64, 1000}, {1, 7}},
      {"seed 7: batch x (8,7,4,2)·(8,7,2,5)", {{S, 8, 7, 4, 2}, {S, 8, 7, 2, 5}}, matmul, {1, 7, 64, 1000}, {1, 7}},
      {"batch x 64x64·64x64", {{S, 64, 64}, {S, 64, 64}}, matmul, {1, 7, 64, 1000}, {1, 7}},
      {"rows M: (M,64)·(64,64)", {{S, 64}, {64, 64}}, dot, {64, 100, 1000, 4096}, {64, 100}},
      {"rows M: (M,256)·(256,256)", {{S, 256}, {256, 256}}, dot, {64, 100, 1000}, {64, 70}},
      {"rows M: (M,600)·(600,520), packed", {{S, 600}, {600, 520}}, dot, {64, 100, 1000}, {64}},
  };
  std::printf("threads=%d rounds=%d\n\n", tcc::num_threads(), rounds);
  std::printf("| case | size | static us | symbolic us | symbolic / static |\n|---|---:|---:|---:|---:|\n");
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  int wrong = 0;
  for (const Case& c : cases) {
    const tcc::CompiledGraph symbolic = compile(c, -1);
    for (int64_t size : smoke ? c.smoke_sizes : c.sizes) {
      const tcc::CompiledGraph fixed = compile(c, size);
      tcc::Feeds feeds;
      for (size_t i = 0; i < c.inputs.size(); ++i) {
        Tensor t(tcc::f32, at(c.inputs[i], size));
        for (int64_t e = 0; e < t.numel(); ++e) t.data_as<float>()[e] = u(rng);
        feeds["x" + std::to_string(i)] = t;
      }
      tcc::BoundRun run_symbolic = symbolic.bind(feeds), run_static = fixed.bind(feeds);
      run_symbolic();
      run_static();
      const float diff = max_difference(run_symbolic.outputs()[0], run_static.outputs()[0]);
      if (diff > 1e-4f) {
        std::fprintf(stderr, "%s at %lld: results differ by %g\n", c.name.c_str(), static_cast<long long>(size), diff);
        ++wrong;
      }
      const double one = std::max(time_us(run_static, 1), 0.01);
      const int group = static_cast<int>(std::clamp(200.0 / one, 1.0, 100000.0));
      std::vector<double> t_static, t_symbolic;
      for (int r = 0; r < rounds; ++r) {
        if (r % 2) {
          t_symbolic.push_back(time_us(run_symbolic, group));
          t_static.push_back(time_us(run_static, group));
        } else {
          t_static.push_back(time_us(run_static, group));
          t_symbolic.push_back(time_us(run_symbolic, group));
        }
      }
      const double a = median(t_static), b = median(t_symbolic);
      std::printf("| %s | %lld | %.3f | %.3f | %.3f |\n", c.name.c_str(), static_cast<long long>(size), a, b, b / a);
      std::fflush(stdout);
    }
  }
  return wrong ? 1 : 0;
}
