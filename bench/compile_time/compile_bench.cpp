// Compile-time budget: how long tcc takes to get kernels ready.
//   cold       a fresh `tcc run` process with the disk cache off: lowering + LLVM O3 + codegen + link
//   disk hit   a fresh `tcc run` process with a warm disk cache: read, check, link
//   in-process a second Graph::compile of the same graph in one process
//   wall       a whole warm `tcc run examples/seed.tc`, process start to exit
// Process-level figures come from `tcc run`'s own compile_ms; times are per kernel where the
// counter says so. Usage: compile_bench [--tcc=PATH] [google benchmark flags].
#include <tcc/tcc.h>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

namespace {

namespace fs = std::filesystem;

std::string g_tcc;         // the tcc binary
std::string g_source_dir;  // the project root, for examples/seed.tc
fs::path g_work;           // scratch: .tc files and cache directories

struct RunFigures {
  double compile_ms = 0, wall_ms = 0;
  int kernels = 0;
};

// Runs `tcc run FILE` with `env` prefixed and reads the figures it prints.
RunFigures tcc_run(const std::string& env, const std::string& file) {
  std::string cmd = env + " '" + g_tcc + "' run '" + file + "' 2>/dev/null";
  auto t0 = std::chrono::steady_clock::now();
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run " + cmd);
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = pclose(p);
  RunFigures f;
  f.wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::smatch m;
  if (status != 0 || !std::regex_search(out, m, std::regex(R"(kernels: (\d+) [\s\S]*compile_ms=([0-9.]+))")))
    throw std::runtime_error("unexpected output of " + cmd + ":\n" + out);
  f.kernels = std::stoi(m[1]);
  f.compile_ms = std::stod(m[2]);
  return f;
}

std::string seed_file() { return g_source_dir + "/examples/seed.tc"; }

std::string matmul_file() {
  fs::path f = g_work / "matmul1024.tc";
  if (!fs::exists(f))
    std::ofstream(f) << "input a: f32[1024, 1024]\ninput b: f32[1024, 1024]\nc = matmul(a, b)\noutput c\n";
  return f.string();
}

std::string file_for(int which) { return which == 0 ? seed_file() : matmul_file(); }
const char* label_for(int which) { return which == 0 ? "seed.tc" : "matmul 1024^2"; }

void report(benchmark::State& state, double total_ms, int kernels, int runs) {
  state.counters["ms_per_kernel"] = total_ms / (kernels * std::max(runs, 1));
  state.counters["kernels"] = kernels;
  state.SetLabel(label_for(static_cast<int>(state.range(0))));
}

void BM_ColdCompile(benchmark::State& state) {
  double total = 0;
  int kernels = 0, runs = 0;
  for (auto _ : state) {
    RunFigures f = tcc_run("TCC_CACHE=off", file_for(static_cast<int>(state.range(0))));
    state.SetIterationTime(f.compile_ms / 1e3);
    total += f.compile_ms, kernels = f.kernels, ++runs;
  }
  report(state, total, kernels, runs);
}

void BM_DiskHit(benchmark::State& state) {
  fs::path dir = g_work / ("cache-" + std::to_string(state.range(0)));
  std::string env = "TCC_CACHE_DIR='" + dir.string() + "'";
  tcc_run(env, file_for(static_cast<int>(state.range(0))));  // warm it
  double total = 0;
  int kernels = 0, runs = 0;
  for (auto _ : state) {
    RunFigures f = tcc_run(env, file_for(static_cast<int>(state.range(0))));
    state.SetIterationTime(f.compile_ms / 1e3);
    total += f.compile_ms, kernels = f.kernels, ++runs;
  }
  report(state, total, kernels, runs);
}

void BM_WarmRunWall(benchmark::State& state) {
  fs::path dir = g_work / "cache-wall";
  std::string env = "TCC_CACHE_DIR='" + dir.string() + "'";
  tcc_run(env, seed_file());
  for (auto _ : state) state.SetIterationTime(tcc_run(env, seed_file()).wall_ms / 1e3);
  state.SetLabel("tcc run examples/seed.tc, warm disk cache");
}

// In one process: the second compile of a graph finds every kernel in memory.
void BM_InProcessHit(benchmark::State& state) {
  setenv("TCC_CACHE", "off", 1);
  tcc::Graph g;
  std::vector<tcc::Value> outs;
  if (state.range(0) == 0) {
    auto w = g.input("w", tcc::f32, {10, 12, 4, 5}), k = g.input("k", tcc::f32, {10, 12, 5, 8});
    auto a = g.input("a", tcc::f32, {9, 8, 7, 4, 2}), b = g.input("b", tcc::f32, {9, 8, 7, 2, 5});
    outs = {tcc::batch_dot(w, k), tcc::matmul(w, k), tcc::batch_dot(a, b), tcc::matmul(a, b)};
  } else {
    auto a = g.input("a", tcc::f32, {1024, 1024}), b = g.input("b", tcc::f32, {1024, 1024});
    outs = {tcc::matmul(a, b)};
  }
  int kernels = g.compile(outs).stats().kernels;
  for (auto _ : state) benchmark::DoNotOptimize(g.compile(outs));
  // Seconds per kernel hit (Google Benchmark prints it with an SI suffix, e.g. 9.8u).
  state.counters["s_per_kernel"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kernels, benchmark::Counter::kIsRate |
                                                                                 benchmark::Counter::kInvert);
  state.counters["kernels"] = kernels;
  state.SetLabel(state.range(0) == 0 ? "seed shapes (4 kernels)" : "matmul 1024^2");
}

}  // namespace

BENCHMARK(BM_ColdCompile)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK(BM_DiskHit)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(10);
BENCHMARK(BM_WarmRunWall)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(10);
BENCHMARK(BM_InProcessHit)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
  fs::path self = fs::canonical("/proc/self/exe");
  g_tcc = (self.parent_path() / "tcc").string();
  g_source_dir = TCC_SOURCE_DIR;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--tcc=", 0) == 0) g_tcc = a.substr(6);
    else rest.push_back(argv[i]);
  }
  g_work = fs::temp_directory_path() / ("tcc-compile-bench-" + std::to_string(getpid()));
  fs::create_directories(g_work);
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  fs::remove_all(g_work);
  return 0;
}
