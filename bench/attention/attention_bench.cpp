// Attention, softmax(q kᵀ / 8) v over 8 x 12 heads of head dim 64 (issue 15's target), two
// ways in one process: tcc's one attention step (flash attention) and tcc unfused (the scores'
// GEMM, softmax's kernels, the second GEMM: TCC_FUSE_ATTENTION=0 at compile time). One thread
// and two, interleaved rounds, medians; the two results are checked against each other. Peak
// memory: each form runs once in a fresh process (this program again, --peak), which reports
// how far its resident memory rose above what the inputs and the output already hold.
//
//   attention_bench [--rounds R] [--seq S]... [--causal] [--smoke]
//
// --causal adds a causal mask to the scaled scores, softmax(q kᵀ / 8 + mask) v, the mask an
// input of (seq, seq) holding 0 where k's row is at most q's and -inf past it.
//
// Prints a markdown table: per sequence length and thread count the two median times, their
// ratio (above 1: fused is faster) and each form's peak extra memory beside the size of the
// score matrix. --smoke: small sizes, 2 rounds, exit 1 when the results differ.
#include <tcc/tcc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Sizes {
  int64_t heads, seq, head_dim;
  bool causal = false;
};

tcc::Tensor random_tensor(tcc::Shape shape, uint32_t seed) {
  tcc::Tensor t(tcc::f32, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  float* p = t.data_as<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = u(rng);
  return t;
}

tcc::Feeds feeds_for(const Sizes& s) {
  const tcc::Shape shape{s.heads, s.seq, s.head_dim};
  tcc::Feeds feeds{{"q", random_tensor(shape, 1)}, {"k", random_tensor(shape, 2)}, {"v", random_tensor(shape, 3)}};
  if (s.causal) {
    tcc::Tensor mask(tcc::f32, {s.seq, s.seq});
    for (int64_t i = 0; i < s.seq; ++i)
      for (int64_t j = 0; j < s.seq; ++j) mask.data_as<float>()[i * s.seq + j] = j <= i ? 0.0f : -INFINITY;
    feeds["mask"] = mask;
  }
  return feeds;
}

// softmax(q kᵀ / sqrt(d)) v as Keras writes it, fused into one step or not (decided when it compiles).
tcc::CompiledGraph compile_attention(const Sizes& s, bool fused) {
  setenv("TCC_FUSE_ATTENTION", fused ? "1" : "0", 1);
  tcc::Graph g;
  const tcc::Shape shape{s.heads, s.seq, s.head_dim};
  auto q = g.input("q", tcc::f32, shape), k = g.input("k", tcc::f32, shape), v = g.input("v", tcc::f32, shape);
  auto scores = tcc::batch_dot(q, k, tcc::Axes({2, 2})) * (1 / std::sqrt(static_cast<double>(s.head_dim)));
  if (s.causal) scores = scores + g.input("mask", tcc::f32, {s.seq, s.seq});
  tcc::CompiledGraph fn = g.compile({tcc::matmul(tcc::softmax(scores), v)});
  unsetenv("TCC_FUSE_ATTENTION");
  return fn;
}

// A field of /proc/self/status in KiB (VmRSS, VmHWM).
int64_t status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::atoll(line.c_str() + std::strlen(field) + 1);
  return -1;
}

// Runs one form once (bound: inputs and output allocated first) and prints how many MiB the
// resident set's peak rose above it.
int peak_memory(const Sizes& s, bool fused) {
  tcc::CompiledGraph fn = compile_attention(s, fused);
  tcc::BoundRun run = fn.bind(feeds_for(s));
  tcc::Tensor out = run.outputs()[0];  // shares the bound output's storage
  std::memset(out.data(), 0, out.nbytes());  // resident before the run
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";  // the peak resident set is reset to the current one
  }
  const int64_t before = status_kib("VmRSS:");
  run();
  std::printf("%.1f\n", static_cast<double>(status_kib("VmHWM:") - before) / 1024);
  return 0;
}

double peak_in_fresh_process(const char* self, const Sizes& s, bool fused, int threads) {
  const std::string cmd = std::string(self) + " --peak " + std::to_string(s.seq) + " " + (fused ? "1" : "0") + " " +
                          std::to_string(s.heads) + " " + std::to_string(threads) + " " + (s.causal ? "1" : "0");
  FILE* p = popen(cmd.c_str(), "r");
  double mib = -1;
  if (!p || std::fscanf(p, "%lf", &mib) != 1) mib = -1;
  if (p) pclose(p);
  return mib;
}

// Milliseconds per call, over a group of calls lasting about 20 ms (at least one call).
double time_ms(const std::function<void()>& run, int group) {
  auto t0 = Clock::now();
  for (int i = 0; i < group; ++i) run();
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / group;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 7 && !std::strcmp(argv[1], "--peak")) {
    tcc::set_num_threads(std::atoi(argv[5]));
    return peak_memory({std::atoll(argv[4]), std::atoll(argv[2]), 64, std::atoi(argv[6]) == 1}, std::atoi(argv[3]) == 1);
  }
  int rounds = 5;
  bool smoke = false, causal = false;
  std::vector<int64_t> seqs;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--smoke")) smoke = true, rounds = 2;
    else if (!std::strcmp(argv[i], "--causal")) causal = true;
    else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--seq") && i + 1 < argc && std::atoll(argv[i + 1]) > 0) seqs.push_back(std::atoll(argv[++i]));
    else {
      std::fprintf(stderr, "usage: attention_bench [--rounds R] [--seq S]... [--causal] [--smoke]\n");
      return 2;
    }
  }
  const int64_t heads = smoke ? 3 : 8 * 12;
  if (seqs.empty()) seqs = smoke ? std::vector<int64_t>{50, 130} : std::vector<int64_t>{128, 512, 2048};
  bool ok = true;
  std::printf("| heads | seq | threads | fused ms | unfused ms | unfused / fused | fused peak MiB | unfused peak MiB | score matrix MiB |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int64_t seq : seqs) {
    const Sizes s{heads, seq, 64, causal};
    const tcc::Feeds feeds = feeds_for(s);
    for (int threads : {1, 2}) {
      tcc::set_num_threads(threads);
      tcc::CompiledGraph fused_fn = compile_attention(s, true), unfused_fn = compile_attention(s, false);
      tcc::BoundRun fused = fused_fn.bind(feeds), unfused = unfused_fn.bind(feeds);
      std::vector<std::function<void()>> runs{[&] { fused(); }, [&] { unfused(); }};
      std::vector<int> groups;
      for (auto& run : runs) {
        run();
        groups.push_back(std::max(1, static_cast<int>(20.0 / std::max(time_ms(run, 1), 0.01))));
      }
      std::vector<std::vector<double>> times(runs.size());
      for (int r = 0; r < rounds; ++r)
        for (size_t k = 0; k < runs.size(); ++k) {
          const size_t i = (r % 2 == 0) ? k : runs.size() - 1 - k;  // alternate the order
          times[i].push_back(time_ms(runs[i], groups[i]));
        }
      const float* a = fused.outputs()[0].data_as<float>();
      const float* b = unfused.outputs()[0].data_as<float>();
      float worst = 0;
      for (int64_t i = 0; i < fused.outputs()[0].numel(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
      if (!(worst <= 1e-5f)) {
        std::fprintf(stderr, "attention_bench: seq %lld: fused and unfused differ by %g\n", (long long)seq, worst);
        ok = false;
      }
      const double f = median(times[0]), u = median(times[1]);
      const double fused_peak = peak_in_fresh_process(argv[0], s, true, threads);
      const double unfused_peak = peak_in_fresh_process(argv[0], s, false, threads);
      const double scores_mib = static_cast<double>(heads * seq * seq * 4) / (1 << 20);
      std::printf("| %lld | %lld | %d | %.3f | %.3f | %.2f | %.1f | %.1f | %.1f |\n", (long long)heads, (long long)seq, threads, f,
                  u, u / f, fused_peak, unfused_peak, scores_mib);
      std::fflush(stdout);
    }
  }
  return ok ? 0 : 1;
}
