// Loads builds of tcc side by side (ab_kernel.cpp, one shared object each) and times them in
// randomly ordered blocks of about 2 ms, many rounds, in one process: the machine's drift and
// its neighbours' load fall on every build alike, which separate processes cannot promise.
//   ab_driver BATCH M K N F64 TRANSPOSE_B THREADS ROUNDS LIB[:VAR=VALUE,...] ...
// VAR=VALUE pairs are set while that library compiles its kernel (AB_THREADS, TCC_* ...).
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 10) {
    std::fprintf(stderr, "usage: %s BATCH M K N F64 TRANSPOSE_B THREADS ROUNDS LIB[:VAR=VALUE,...] ...\n", argv[0]);
    return 2;
  }
  const long batch = std::atol(argv[1]), M = std::atol(argv[2]), K = std::atol(argv[3]), N = std::atol(argv[4]);
  const int f64 = std::atoi(argv[5]), transpose_b = std::atoi(argv[6]), threads = std::atoi(argv[7]);
  const int rounds = std::atoi(argv[8]);
  using Setup = void (*)(long, long, long, long, int, int, int);
  std::vector<void (*)()> calls;
  std::vector<std::string> names;
  for (int i = 9; i < argc; ++i) {
    std::string spec = argv[i], path = spec, settings;
    if (size_t colon = spec.find(':'); colon != std::string::npos) path = spec.substr(0, colon), settings = spec.substr(colon + 1);
    std::vector<std::string> set;
    for (size_t p = 0; !settings.empty() && p != std::string::npos;) {
      size_t comma = settings.find(',', p);
      std::string pair = settings.substr(p, comma == std::string::npos ? std::string::npos : comma - p);
      size_t eq = pair.find('=');
      setenv(pair.substr(0, eq).c_str(), eq == std::string::npos ? "1" : pair.substr(eq + 1).c_str(), 1);
      set.push_back(pair.substr(0, eq));
      p = comma == std::string::npos ? comma : comma + 1;
    }
    // dlopen returns the loaded object again for a path it has seen: each side gets a copy.
    std::string copy = "/tmp/tcc_ab_" + std::to_string(getpid()) + "_" + std::to_string(i) + ".so";
    if (std::system(("cp '" + path + "' '" + copy + "'").c_str()) != 0) return 1;
    void* lib = dlopen(copy.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    std::remove(copy.c_str());
    if (!lib) {
      std::fprintf(stderr, "%s\n", dlerror());
      return 1;
    }
    auto setup = reinterpret_cast<Setup>(dlsym(lib, "ab_setup"));
    auto call = reinterpret_cast<void (*)()>(dlsym(lib, "ab_call"));
    if (!setup || !call) {
      std::fprintf(stderr, "%s: no ab_setup / ab_call (build it from ab_kernel.cpp)\n", path.c_str());
      return 1;
    }
    setup(batch, M, K, N, f64, transpose_b, threads);
    calls.push_back(call);
    names.push_back(spec);
    for (const std::string& name : set) unsetenv(name.c_str());
  }
  const double flops = 2.0 * std::max(batch, 1L) * M * N * K;
  using Clock = std::chrono::steady_clock;
  int calibration = 0;
  for (auto start = Clock::now(); Clock::now() - start < std::chrono::milliseconds(20); ++calibration) calls[0]();
  const int per_block = std::max(1, calibration / 10);
  std::mt19937 rng(2);
  std::vector<std::vector<double>> gflops(calls.size());
  std::vector<size_t> order(calls.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (int r = 0; r < rounds; ++r) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t v : order) {
      calls[v]();
      auto start = Clock::now();
      for (int i = 0; i < per_block; ++i) calls[v]();
      gflops[v].push_back(flops * per_block / std::chrono::duration<double>(Clock::now() - start).count() / 1e9);
    }
  }
  double first = 0;
  for (size_t v = 0; v < calls.size(); ++v) {
    std::vector<double> x = gflops[v];
    std::sort(x.begin(), x.end());
    const double median = x[x.size() / 2];
    if (v == 0) first = median;
    std::printf("%-44s median %7.1f GFLOP/s  p25 %7.1f  p75 %7.1f  ratio %.3f\n", names[v].c_str(), median,
                x[x.size() / 4], x[x.size() * 3 / 4], median / first);
  }
}
