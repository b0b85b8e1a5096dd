// Where a cold compile's time goes, in one process: each workload is compiled --repeat times
// with the disk cache off and the in-process cache forgotten, so every kernel goes through
// LLVM. Prints the median wall time and LLVM's phases (building the IR, the optimisation
// pipeline, code generation) and then LLVM's own per-pass timers (its
// -time-passes) as ms a run, each table's top --top passes.
// Usage: pass_profile [--repeat N] [--top N] [--no-pass-timers] [FILE.tc...]   (default: seed.tc and a 1024^2 matmul)
#include <tcc/tcc.h>

#include "codegen/codegen.h"
#include "driver/kernel_cache.h"
#include "lang/tc_program.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <regex>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Workload {
  std::string label;
  std::string file, source;  // a file, or source text
};

// LLVM's report holds three tables: the optimisation passes, the analyses they ran (new pass
// manager), then the code generation passes (legacy pass manager, which numbers each instance
// of a pass: "Greedy Register Allocator #7"). Each is summed by pass name, wall time, and
// printed largest first, the top `top` rows and the rest as one.
std::string summarise_report(const std::string& report, int top, int runs) {
  static const std::regex row(R"(^\s*[\d.]+ \(\s*[\d.]+%\)\s+[\d.]+ \(\s*[\d.]+%\)\s+[\d.]+ \(\s*[\d.]+%\)\s+([\d.]+) \(\s*[\d.]+%\)\s+(.*?)( #\d+)?\s*$)");
  std::istringstream in(report);
  std::string line, out;
  std::vector<std::string> titles = {"optimisation passes", "analyses of the optimisation passes",
                                     "code generation passes"};
  int table = -1;
  std::map<std::string, double> seconds;
  auto flush = [&] {
    if (table < 0 || seconds.empty()) return;
    std::vector<std::pair<double, std::string>> rows;
    double total = 0;
    for (const auto& [name, s] : seconds) rows.push_back({s, name}), total += s;
    std::sort(rows.rbegin(), rows.rend());
    out += fmt::format("{} ({:.1f} ms a run):\n", table < 3 ? titles[table] : "other", total * 1e3 / runs);
    double rest = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (static_cast<int>(i) < top)
        out += fmt::format("  {:8.2f} ms {:5.1f}%  {}\n", rows[i].first * 1e3 / runs, 100 * rows[i].first / total,
                           rows[i].second);
      else
        rest += rows[i].first;
    }
    if (rest > 0)
      out += fmt::format("  {:8.2f} ms {:5.1f}%  ({} other passes)\n", rest * 1e3 / runs, 100 * rest / total,
                         rows.size() - top);
    seconds.clear();
  };
  while (std::getline(in, line)) {
    if (line.find("timing report") != std::string::npos) {
      flush();
      ++table;
      continue;
    }
    std::smatch m;
    if (std::regex_match(line, m, row) && m[2] != "Total") seconds[m[2]] += std::stod(m[1]);
  }
  flush();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 5, top = 15;
  bool pass_timers = true;
  std::vector<Workload> workloads;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--repeat" && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
    else if (a == "--top" && i + 1 < argc) top = std::max(1, std::atoi(argv[++i]));
    else if (a == "--no-pass-timers") pass_timers = false;  // phases only: LLVM's timers cost time too
    else workloads.push_back({a, a, ""});
  }
  if (workloads.empty()) {
    workloads.push_back({"seed.tc", std::string(TCC_SOURCE_DIR) + "/examples/seed.tc", ""});
    workloads.push_back({"matmul 1024^2", "",
                         "input a: f32[1024, 1024]\ninput b: f32[1024, 1024]\nc = matmul(a, b)\noutput c\n"});
  }
  setenv("TCC_CACHE", "off", 1);
  tcc::CompiledGraph warm_up = [] {  // LLVM's one-time set-up (target registry, JIT) out of the figures
    tcc::Graph g;
    auto a = g.input("a", tcc::f32, {8, 8});
    return g.compile({tcc::matmul(a, a)});
  }();
  // compile_ms is wall time; the LLVM phases are summed over the threads that compiled (the
  // kernels of a graph compile concurrently unless pass timers are on).
  std::printf("%-16s %7s %11s %9s %11s %10s %9s\n", "workload", "kernels", "compile_ms", "ir_ms", "optimise_ms",
              "codegen_ms", "ms/kernel");
  std::string reports;
  for (const Workload& w : workloads) {
    tcc::lang::TcProgram p =
        w.file.empty() ? tcc::lang::load_tc_source(w.source, w.label) : tcc::lang::load_tc_file(w.file);
    if (!p.ok()) {
      std::fputs(p.render_diagnostics().c_str(), stderr);
      return 1;
    }
    std::vector<double> total, ir, optimise, codegen;
    int kernels = 0;
    tcc::codegen::set_pass_timing(pass_timers);
    for (int r = 0; r < repeat; ++r) {
      tcc::driver::forget_in_process_kernels();
      const tcc::codegen::LlvmTimes before = tcc::codegen::llvm_times();
      const auto t0 = std::chrono::steady_clock::now();
      tcc::CompiledGraph fn = p.graph->compile(p.outputs);
      total.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      const tcc::codegen::LlvmTimes after = tcc::codegen::llvm_times();
      kernels = after.kernels - before.kernels;
      ir.push_back(after.ir_ms - before.ir_ms);
      optimise.push_back(after.optimise_ms - before.optimise_ms);
      codegen.push_back(after.codegen_ms - before.codegen_ms);
    }
    const std::string report = tcc::codegen::pass_timing_report();
    tcc::codegen::set_pass_timing(false);
    std::printf("%-16s %7d %11.1f %9.1f %11.1f %10.1f %9.2f\n", w.label.c_str(), kernels, median(total),
                median(ir), median(optimise), median(codegen), median(total) / std::max(kernels, 1));
    if (pass_timers) reports += "\n## " + w.label + " (" + std::to_string(repeat) + " runs, ms a run)\n" + summarise_report(report, top, repeat);
  }
  std::fputs(reports.c_str(), stdout);
  return 0;
}
