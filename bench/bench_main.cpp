// tcc_bench: tcc against the baseline GEMM libraries (OpenBLAS, BLIS, Eigen, oneDNN, LIBXSMM, and a
// compile-time-size loop for the seed's tiny shapes), in one process and one run, for 1 and 2
// threads. Google Benchmark does the timing (real time, repetitions, medians); afterwards a
// markdown table gives each library's median GFLOP/s, the best baseline and tcc / best.
//
//   tcc_bench [--smoke] [--summary=FILE] [google benchmark flags, e.g. --benchmark_filter=sq512]
//
// Every library's result is spot-checked against a double-precision reference before it is
// timed; a failed check (or a failed tcc compile) makes the exit status non-zero.
#include <benchmark/benchmark.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench.h"

namespace tcc_bench {
namespace {

constexpr int kThreadCounts[] = {1, 2};

// ---------------------------------------------------------------- environment

bool cpu_has_skylake_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
}

// Debian's OpenBLAS 0.3.21 and BLIS 0.9.0 do not know Zen 5 and silently fall back to AVX2
// (OpenBLAS "Haswell") or reference ("generic") kernels. On a CPU with Skylake-class AVX-512
// force their AVX-512 kernels: the bench compares against each library at its best. This
// applies even when the environment already names a core: some machines here export
// OPENBLAS_CORETYPE=Haswell, which halved OpenBLAS's sgemm (102 instead of ~200 GFLOP/s at
// 1024³). The replaced value is reported in the header; TCC_BENCH_OPENBLAS_CORETYPE and
// TCC_BENCH_BLIS_ARCH_TYPE choose other kernels on purpose.
// libgomp's idle threads spin for GOMP_SPINCOUNT pauses after every parallel region: 300000 by
// default, about 3 ms here, which ran into the next benchmark's repetition and took a core from
// it (tcc on 2 threads lost up to 8%). 20000, as long as tcc's own pool spins (about 0.2 ms),
// still covers the gaps between calls within a repetition; run_benchmark waits out the rest.
// OpenBLAS and libgomp read their variables in load-time constructors, before main(), so the
// process re-executes itself once to apply them.
constexpr const char* kGompSpinCount = "20000";

// Sets a library's kernel-choice variable to `best` (or to the bench's own override) and
// reports a value it replaces. Returns whether the variable changed.
bool choose_library_kernels(const char* variable, const char* override_variable, const char* best) {
  const char* chosen = std::getenv(override_variable);
  std::string want = chosen ? chosen : best;
  const char* before = std::getenv(variable);
  if (before && want == before) return false;
  if (before)
    std::fprintf(stderr, "tcc_bench: %s=%s in the environment replaced by %s (%s sets it)\n", variable, before,
                 want.c_str(), override_variable);
  setenv(variable, want.c_str(), 1);
  return true;
}

void ensure_library_environment(char** argv) {
  if (std::getenv("TCC_BENCH_ENVIRONMENT_SET")) return;
  setenv("TCC_BENCH_ENVIRONMENT_SET", "1", 1);
  bool reexec = false;
  if (!std::getenv("GOMP_SPINCOUNT")) {
    setenv("GOMP_SPINCOUNT", kGompSpinCount, 1);
    reexec = true;
  }
  if (cpu_has_skylake_avx512()) {
    // BLIS is loaded later (dlopen): no re-exec needed for it. 0 = skx.
    choose_library_kernels("BLIS_ARCH_TYPE", "TCC_BENCH_BLIS_ARCH_TYPE", "0");
    reexec |= choose_library_kernels("OPENBLAS_CORETYPE", "TCC_BENCH_OPENBLAS_CORETYPE", "SkylakeX");
  }
  if (!reexec) return;
  // The resolved path rather than /proc/self/exe itself, so that ps shows "tcc_bench", not "exe".
  char self[4096];
  ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length > 0) {
    self[length] = '\0';
    execv(self, argv);
  }
  execv("/proc/self/exe", argv);
  std::perror("tcc_bench: re-exec with the libraries' environment failed; it applies only in part");
}

// ---------------------------------------------------------------- problems

Problem square(int64_t n, tcc::DType dtype) {
  Problem p;
  p.name = "sq" + std::to_string(n);
  p.description = std::to_string(n) + "³";
  p.dtype = dtype;
  p.m = p.n = p.k = n;
  return p;
}

Problem batched(std::string name, std::string description, tcc::Shape batch_dims, int64_t m, int64_t k, int64_t n) {
  Problem p;
  p.name = std::move(name);
  p.description = std::move(description);
  p.batch_dims = std::move(batch_dims);
  p.m = m;
  p.n = n;
  p.k = k;
  return p;
}

std::vector<Problem> all_problems() {
  std::vector<Problem> problems;
  for (tcc::DType dtype : {tcc::f32, tcc::f64})
    for (int64_t n : {32, 64, 128, 256, 512, 1024, 2048}) problems.push_back(square(n, dtype));

  Problem seed_a = batched("seed_4x5x8", "10·12 × (4×5·5×8)", {10, 12}, 4, 5, 8);
  Problem seed_b = batched("seed_4x2x5", "9·8·7 × (4×2·2×5)", {9, 8, 7}, 4, 2, 5);
  seed_a.seed_shape = seed_b.seed_shape = true;
  problems.push_back(seed_a);
  problems.push_back(seed_b);
  problems.push_back(batched("b1024_16", "1024 × 16³", {1024}, 16, 16, 16));
  problems.push_back(batched("b256_32", "256 × 32³", {256}, 32, 32, 32));
  problems.push_back(batched("b64_64", "64 × 64³", {64}, 64, 64, 64));
  problems.push_back(batched("attention", "8·12 × (128×64·64×128)", {8, 12}, 128, 64, 128));

  for (tcc::DType dtype : {tcc::f32, tcc::f64}) {
    Problem gemv = batched("gemv", "1×4096·4096×4096", {}, 1, 4096, 4096);
    Problem low_k = batched("lowk", "4096×64·64×4096", {}, 4096, 64, 4096);
    gemv.dtype = low_k.dtype = dtype;
    problems.push_back(gemv);
    problems.push_back(low_k);
  }

  Problem transposed = batched("sq512_bT", "512×512·(512×512)ᵀ", {}, 512, 512, 512);
  transposed.transpose_b = true;
  problems.push_back(transposed);
  // Attention scores as models compute them, Q·Kᵀ: a batch of transposed B.
  Problem scores = batched("attention_bT", "8·12 × (128×64·(128×64)ᵀ)", {8, 12}, 128, 64, 128);
  scores.transpose_b = true;
  problems.push_back(scores);
  Problem broadcast = batched("bcast64_64", "64 × 64³, one shared B", {64}, 64, 64, 64);
  broadcast.shared_b = true;
  problems.push_back(broadcast);
  return problems;
}

// Smoke mode keeps every problem's kind (batching, transposition, broadcast) at a size that
// runs in microseconds: extents capped at 48, batch dims at 3; the seed shapes stay as they are.
Problem shrink_for_smoke(Problem p) {
  if (p.seed_shape) return p;
  for (int64_t& d : p.batch_dims) d = std::min<int64_t>(d, 3);
  p.m = std::min<int64_t>(p.m, 48);
  p.n = std::min<int64_t>(p.n, 40);
  p.k = std::min<int64_t>(p.k, 24);
  std::string batch;
  for (int64_t d : p.batch_dims) batch += (batch.empty() ? "" : "·") + std::to_string(d);
  p.description = "smoke " + (batch.empty() ? "" : batch + " × ") + std::to_string(p.m) + "×" + std::to_string(p.k) +
                  "·" + std::to_string(p.k) + "×" + std::to_string(p.n) + (p.transpose_b ? " Bᵀ" : "") +
                  (p.shared_b ? " shared B" : "");
  return p;
}

tcc::Shape with_matrix(tcc::Shape batch, int64_t rows, int64_t cols) {
  batch.push_back(rows);
  batch.push_back(cols);
  return batch;
}

std::unique_ptr<ProblemData> make_data(const Problem& p) {
  auto data = std::make_unique<ProblemData>();
  tcc::Shape b_matrix = p.transpose_b ? tcc::Shape{p.n, p.k} : tcc::Shape{p.k, p.n};
  data->a = tcc::Tensor(p.dtype, with_matrix(p.batch_dims, p.m, p.k));
  data->b = tcc::Tensor(p.dtype, p.shared_b ? b_matrix : with_matrix(p.batch_dims, b_matrix[0], b_matrix[1]));
  data->c = tcc::Tensor(p.dtype, with_matrix(p.batch_dims, p.m, p.n));
  std::mt19937 rng(1234);
  std::uniform_real_distribution<double> uniform(-1, 1);
  for (tcc::Tensor* t : {&data->a, &data->b}) {
    if (p.dtype == tcc::f32) {
      float* values = t->data_as<float>();
      for (int64_t i = 0; i < t->numel(); ++i) values[i] = static_cast<float>(uniform(rng));
    } else {
      double* values = t->data_as<double>();
      for (int64_t i = 0; i < t->numel(); ++i) values[i] = uniform(rng);
    }
  }
  return data;
}

// ---------------------------------------------------------------- correctness

// Largest error of 32 sampled elements of C (16 in the first and 16 in the last matrix of the
// batch) against a double-precision dot product, relative to Σ|a·b| of that element. A NaN
// (C is NaN-filled before the checked call) or a missing write counts as an infinite error.
template <typename T>
double spot_check_typed(const Problem& p, const ProblemData& data, const T* c) {
  const T* a = data.a.data_as<T>();
  const T* b = data.b.data_as<T>();
  std::mt19937 rng(7);
  double worst = 0;
  for (int64_t matrix : {int64_t{0}, p.batch() - 1}) {
    for (int sample = 0; sample < 16; ++sample) {
      int64_t i = rng() % p.m, j = rng() % p.n;
      double reference = 0, magnitude = 0;
      for (int64_t kk = 0; kk < p.k; ++kk) {
        double a_ik = a[matrix * p.a_stride() + i * p.k + kk];
        double b_kj = b[matrix * p.b_stride() + (p.transpose_b ? j * p.k + kk : kk * p.n + j)];
        reference += a_ik * b_kj;
        magnitude += std::fabs(a_ik * b_kj);
      }
      double value = c[matrix * p.c_stride() + i * p.n + j];
      double error = std::fabs(reference - value) / (magnitude + 1e-30);
      if (!(error <= worst)) worst = std::isnan(error) ? std::numeric_limits<double>::infinity() : error;
    }
  }
  return worst;
}

double spot_check(const Problem& p, const ProblemData& data, const void* c) {
  return p.dtype == tcc::f32 ? spot_check_typed(p, data, static_cast<const float*>(c))
                             : spot_check_typed(p, data, static_cast<const double*>(c));
}

double tolerance(tcc::DType dtype) { return dtype == tcc::f32 ? 1e-4 : 1e-12; }

void fill_nan(tcc::Tensor& t) {
  if (t.dtype() == tcc::f32) {
    float* v = t.data_as<float>();
    for (int64_t i = 0; i < t.numel(); ++i) v[i] = std::numeric_limits<float>::quiet_NaN();
  } else {
    double* v = t.data_as<double>();
    for (int64_t i = 0; i < t.numel(); ++i) v[i] = std::numeric_limits<double>::quiet_NaN();
  }
}

// ---------------------------------------------------------------- contention

// CPU time the rest of the machine used while a benchmark ran, in cores: the busy time of all
// CPUs (/proc/stat) minus this process's own CPU time, over the wall time. On this shared
// 2-core machine a co-tenant's compile makes 2-thread OpenMP runs collapse (a thread waiting
// at a barrier loses whole scheduler time slices), so such cells are flagged in the table.
struct CpuSnapshot {
  double machine_busy_seconds = 0, process_seconds = 0, wall_seconds = 0;
};

CpuSnapshot cpu_snapshot() {
  CpuSnapshot snapshot;
  std::ifstream stat("/proc/stat");
  std::string cpu;
  long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal)
    snapshot.machine_busy_seconds = static_cast<double>(user + nice + system + irq + softirq) / sysconf(_SC_CLK_TCK);
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  snapshot.process_seconds = t.tv_sec + t.tv_nsec * 1e-9;
  clock_gettime(CLOCK_MONOTONIC, &t);
  snapshot.wall_seconds = t.tv_sec + t.tv_nsec * 1e-9;
  return snapshot;
}

// Longer than any idle thread pool spins here (libgomp with GOMP_SPINCOUNT=20000, tcc's pool).
constexpr std::chrono::milliseconds kQuietGap{2};

// Above this many cores used by other processes, on average, a cell is marked "~".
constexpr double kContendedCores = 0.25;

struct Contention {
  double other_cpu_seconds = 0, wall_seconds = 0;
  void add(const CpuSnapshot& before, const CpuSnapshot& after) {
    other_cpu_seconds += (after.machine_busy_seconds - before.machine_busy_seconds) -
                         (after.process_seconds - before.process_seconds);
    wall_seconds += after.wall_seconds - before.wall_seconds;
  }
  // /proc/stat counts in clock ticks (10 ms): too coarse to judge runs shorter than 0.2 s.
  double cores() const { return wall_seconds >= 0.2 ? std::max(0.0, other_cpu_seconds / wall_seconds) : 0; }
};

// ---------------------------------------------------------------- session state

enum class Status { ok, unsupported, failed };

struct Outcome {
  Status status = Status::ok;
  std::string message;
  double max_error = 0;
};

struct Prepared {
  PreparedCall call;
  Outcome outcome;
};

struct Entry {  // one registered benchmark
  int problem = 0, library = 0, threads = 1;
};

struct Session {
  std::vector<Problem> problems;
  std::vector<Library> libraries;
  std::vector<Entry> entries;
  std::map<std::string, int> entry_by_name;
  std::map<int, Outcome> outcomes;       // by entry, after preparation
  std::map<int, double> median_gflops;   // by entry, from the reporter
  std::map<int, Contention> contention;  // by entry, over all its timed loops
  int last_entry = -1;                    // the benchmark that ran last
  bool smoke = false;

  // Operands and prepared calls of the problem being benchmarked. Benchmarks run in
  // registration order, problem by problem, so one problem's data is alive at a time.
  int current_problem = -1;
  std::unique_ptr<ProblemData> data;
  std::map<int, Prepared> prepared;  // by entry

  Prepared& prepare(int entry_index) {
    const Entry& entry = entries[entry_index];
    if (entry.problem != current_problem) {
      prepared.clear();  // the calls point into the old data
      data.reset();
      data = make_data(problems[entry.problem]);
      current_problem = entry.problem;
    }
    auto found = prepared.find(entry_index);
    if (found != prepared.end()) return found->second;

    Prepared& result = prepared[entry_index];
    const Problem& problem = problems[entry.problem];
    const Library& library = libraries[entry.library];
    try {
      result.call = library.prepare(problem, *data, entry.threads);
      result.call.activate();
      fill_nan(data->c);
      result.call.run();
      result.outcome.max_error = spot_check(problem, *data, result.call.result());
      if (!(result.outcome.max_error <= tolerance(problem.dtype))) {
        result.outcome.status = Status::failed;
        std::ostringstream message;
        message << "spot-check failed: max relative error " << result.outcome.max_error << " > "
                << tolerance(problem.dtype);
        result.outcome.message = message.str();
      }
    } catch (const Unsupported& e) {
      result.outcome = {Status::unsupported, e.what(), 0};
    } catch (const std::exception& e) {
      result.outcome = {Status::failed, std::string("error: ") + e.what(), 0};
    }
    outcomes[entry_index] = result.outcome;
    if (result.outcome.status == Status::failed)
      std::cerr << "tcc_bench: FAILED " << library.name << " on " << problem.full_name() << " with "
                << entry.threads << " thread(s): " << result.outcome.message << "\n";
    return result;
  }
};

Session& session() {
  static Session instance;
  return instance;
}

void run_benchmark(benchmark::State& state, int entry_index) {
  Session& s = session();
  Prepared& prepared = s.prepare(entry_index);
  if (prepared.outcome.status != Status::ok) {
    state.SkipWithError(prepared.outcome.message.c_str());
    return;
  }
  prepared.call.activate();
  // After another benchmark, wait until its idle threads (libgomp's or tcc's pool) stop spinning:
  // they would take a core from this one's first milliseconds.
  if (s.last_entry != entry_index) std::this_thread::sleep_for(kQuietGap);
  s.last_entry = entry_index;
  CpuSnapshot before = cpu_snapshot();
  for (auto _ : state) {
    prepared.call.run();
    benchmark::ClobberMemory();
  }
  s.contention[entry_index].add(before, cpu_snapshot());
  const Problem& p = s.problems[s.entries[entry_index].problem];
  // Shown as "<n>/s" under the column "GFLOP": Google Benchmark appends "/s" to rates.
  state.counters["GFLOP"] = benchmark::Counter(p.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetItemsProcessed(state.iterations() * p.batch());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * p.bytes()));
}

// Large problems take up to seconds per call on a slow library (or a slow tcc schedule): fewer
// repetitions there keep the default run near 10 minutes. 11, not fewer: one call of 2048³ is
// a single sample, and with 5 of them two slow ones (another tenant) moved a median by 8%.
// The limit is on FLOPs, not on the library, so every library gets the same repetitions.
constexpr double kBigProblemFlops = 2.0 * 1024 * 1024 * 1024;
constexpr int kBigProblemRepetitions = 11;

void register_benchmarks(Session& s) {
  for (int pi = 0; pi < static_cast<int>(s.problems.size()); ++pi) {
    const Problem& problem = s.problems[pi];
    for (int threads : kThreadCounts) {
      for (int li = 0; li < static_cast<int>(s.libraries.size()); ++li) {
        if (!s.libraries[li].applies(problem)) continue;
        int entry_index = static_cast<int>(s.entries.size());
        s.entries.push_back({pi, li, threads});
        std::string name = problem.full_name() + "/T" + std::to_string(threads) + "/" + s.libraries[li].name;
        s.entry_by_name[name] = entry_index;
        auto* b = benchmark::RegisterBenchmark(name.c_str(), [entry_index](benchmark::State& state) {
          run_benchmark(state, entry_index);
        });
        b->UseRealTime()->Unit(benchmark::kMicrosecond);
        if (s.smoke) b->Iterations(1)->Repetitions(1);
        else if (problem.flops() > kBigProblemFlops) b->Repetitions(kBigProblemRepetitions);
      }
    }
  }
}

// ---------------------------------------------------------------- reporting

// The console output of Google Benchmark, plus the median GFLOP/s of every benchmark (the
// single run's value when there is only one repetition).
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  explicit CollectingReporter(OutputOptions options) : ConsoleReporter(options) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    Session& s = session();
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      bool single = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
      if (!median && !single) continue;
      auto entry = s.entry_by_name.find(run.run_name.function_name);
      auto counter = run.counters.find("GFLOP");
      if (entry != s.entry_by_name.end() && counter != run.counters.end())
        s.median_gflops[entry->second] = counter->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

std::string format_gflops(double value) {
  char text[32];
  if (value >= 100) std::snprintf(text, sizeof text, "%.0f", value);
  else if (value >= 10) std::snprintf(text, sizeof text, "%.1f", value);
  else std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}

std::string summary_table(const Session& s) {
  std::ostringstream out;
  int contended_cells = 0;
  for (int threads : kThreadCounts) {
    bool tcc_limited = false;
    for (const Library& library : s.libraries)
      if (library.is_tcc && library.effective_threads(threads) < threads) tcc_limited = true;
    out << "\n### " << threads << (threads == 1 ? " thread" : " threads") << " (median GFLOP/s)\n\n";
    out << "| case | dtype |";
    for (const Library& library : s.libraries) out << " " << library.name << (library.is_tcc && tcc_limited ? " ¹" : "") << " |";
    out << " best baseline | tcc / best |\n|---|---|";
    for (size_t i = 0; i < s.libraries.size(); ++i) out << "---:|";
    out << "---|---:|\n";

    for (int pi = 0; pi < static_cast<int>(s.problems.size()); ++pi) {
      const Problem& problem = s.problems[pi];
      std::vector<std::string> cells(s.libraries.size(), "–");
      double tcc_value = -1, best_value = -1;
      std::string best_name;
      bool any = false;
      for (int ei = 0; ei < static_cast<int>(s.entries.size()); ++ei) {
        const Entry& entry = s.entries[ei];
        if (entry.problem != pi || entry.threads != threads) continue;
        auto outcome = s.outcomes.find(ei);
        auto value = s.median_gflops.find(ei);
        std::string& cell = cells[entry.library];
        if (outcome != s.outcomes.end() && outcome->second.status == Status::failed) cell = "FAIL";
        else if (outcome != s.outcomes.end() && outcome->second.status == Status::unsupported) cell = "n/a";
        else if (value == s.median_gflops.end()) cell = "not run";
        else {
          any = true;
          cell = format_gflops(value->second);
          auto busy = s.contention.find(ei);
          if (busy != s.contention.end() && busy->second.cores() > kContendedCores) {
            cell += "~";
            ++contended_cells;
          }
          if (s.libraries[entry.library].is_tcc) tcc_value = value->second;
          else if (value->second > best_value) {
            best_value = value->second;
            best_name = s.libraries[entry.library].name;
          }
        }
      }
      if (!any) continue;
      out << "| " << problem.description << " | " << tcc::dtype_name(problem.dtype) << " |";
      for (const std::string& cell : cells) out << " " << cell << " |";
      if (best_value > 0) out << " " << best_name << " " << format_gflops(best_value) << " |";
      else out << " – |";
      if (best_value > 0 && tcc_value >= 0) {
        char ratio[32];
        std::snprintf(ratio, sizeof ratio, "%.3f", tcc_value / best_value);
        out << " " << ratio << " |\n";
      } else {
        out << " – |\n";
      }
    }
    if (tcc_limited)
      out << "\n¹ tcc threads not yet supported: tcc runs single-threaded in these rows.\n";
  }
  if (contended_cells)
    out << "\n~ " << contended_cells << " cell(s) ran while other processes used more than " << kContendedCores
        << " of a core on average (shared machine): treat them as unreliable.\n";
  return out.str();
}

// ---------------------------------------------------------------- main

bool has_flag(const std::vector<std::string>& args, const std::string& prefix) {
  for (const std::string& a : args)
    if (a.rfind(prefix, 0) == 0) return true;
  return false;
}

int run(int argc, char** argv) {
  Session& s = session();
  std::vector<std::string> args;
  std::string summary_path;
  const char* smoke_env = std::getenv("TCC_BENCH_SMOKE");
  s.smoke = smoke_env && std::strcmp(smoke_env, "0") != 0 && *smoke_env;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--smoke") s.smoke = true;
    else if (a.rfind("--summary=", 0) == 0) summary_path = a.substr(std::strlen("--summary="));
    else args.push_back(a);
  }
  // Defaults that the command line may override: medians of 20 short repetitions, run in a
  // random order across the whole program. This machine's speed drifts by several percent over
  // minutes (other tenants, turbo), which skewed ratios when each library ran its repetitions
  // back to back; interleaved, the ratios agree with a direct alternating A/B of tcc and
  // LIBXSMM (32^3, 512^3 f32; 64^3, 128^3 f64: within 2%, where back to back gave 0.89-1.05).
  if (!has_flag(args, "--benchmark_repetitions")) args.push_back("--benchmark_repetitions=20");
  if (!has_flag(args, "--benchmark_min_time")) args.push_back(s.smoke ? "--benchmark_min_time=0" : "--benchmark_min_time=0.02");
  if (!s.smoke && !has_flag(args, "--benchmark_enable_random_interleaving"))
    args.push_back("--benchmark_enable_random_interleaving=true");
  if (!has_flag(args, "--benchmark_display_aggregates_only")) args.push_back("--benchmark_display_aggregates_only=true");

  s.libraries = {make_tcc_library(),    make_openblas_library(), make_blis_library(),      make_eigen_library(),
                 make_onednn_library(), make_libxsmm_library(),  make_naive_fixed_library()};
  s.problems = all_problems();
  if (s.smoke)
    for (Problem& p : s.problems) p = shrink_for_smoke(p);

  std::cout << "# tcc_bench" << (s.smoke ? " (smoke: tiny sizes, one iteration)" : "") << "\n";
  auto env = [](const char* name) { const char* v = std::getenv(name); return std::string(v ? v : "(unset)"); };
  std::cout << "# OPENBLAS_CORETYPE=" << env("OPENBLAS_CORETYPE") << " BLIS_ARCH_TYPE=" << env("BLIS_ARCH_TYPE")
            << " GOMP_SPINCOUNT=" << env("GOMP_SPINCOUNT") << "\n";
  benchmark::AddCustomContext("GOMP_SPINCOUNT", env("GOMP_SPINCOUNT"));
  benchmark::AddCustomContext("OPENBLAS_CORETYPE", env("OPENBLAS_CORETYPE"));
  benchmark::AddCustomContext("BLIS_ARCH_TYPE", env("BLIS_ARCH_TYPE"));
  bool header_failed = false;
  for (const Library& library : s.libraries) {
    std::string description;
    try {
      description = library.describe();
    } catch (const std::exception& e) {
      description = std::string("UNAVAILABLE: ") + e.what();
      header_failed = true;
    }
    std::cout << "# " << library.name << ": " << description << "\n";
    benchmark::AddCustomContext(library.name, description);
  }
  std::cout << std::flush;
  if (header_failed) return 1;

  std::vector<char*> benchmark_argv{argv[0]};
  for (std::string& a : args) benchmark_argv.push_back(a.data());
  int benchmark_argc = static_cast<int>(benchmark_argv.size());
  benchmark::Initialize(&benchmark_argc, benchmark_argv.data());
  if (benchmark::ReportUnrecognizedArguments(benchmark_argc, benchmark_argv.data())) return 2;

  register_benchmarks(s);
  // A custom display reporter does not get the --benchmark_color handling: colour only a terminal.
  bool color = isatty(STDOUT_FILENO) && !has_flag(args, "--benchmark_color=false") && !has_flag(args, "--benchmark_color=no");
  CollectingReporter reporter(color ? benchmark::ConsoleReporter::OO_ColorTabular : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  std::string table = summary_table(s);
  std::cout << "\n## Summary: median GFLOP/s (FLOPs = 2·M·N·K·batch), best baseline, tcc / best baseline\n"
            << table << std::flush;
  if (!summary_path.empty()) std::ofstream(summary_path) << table;

  int failures = 0;
  for (const auto& [entry, outcome] : s.outcomes)
    if (outcome.status == Status::failed) ++failures;
  if (failures) std::cerr << "tcc_bench: " << failures << " benchmark(s) failed (see FAILED lines above)\n";
  return failures ? 1 : 0;
}

}  // namespace
}  // namespace tcc_bench

int main(int argc, char** argv) {
  tcc_bench::ensure_library_environment(argv);
  return tcc_bench::run(argc, argv);
}
