#include "ir/lower.h"

#include "ir/graph/merge_chains.h"
#include "ir/graph/resolve_symbols.h"
#include "ir/graph/split_reshaped_dims.h"
#include "ir/kernel/coalesce_dims.h"
#include "ir/schedule/layout_copies.h"
#include "ir/loop/lower_attention.h"
#include "ir/loop/lower_gemm.h"
#include "ir/loop/lower_to_loops.h"
#include "ir/loop/outline_parallel.h"
#include "ir/loop/pack.h"
#include "ir/loop/prefetch.h"
#include "ir/loop/tails.h"

#include <tcc/error.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <map>
#include <mutex>
#include <set>

namespace tcc::ir {

namespace {

int debug_level() {
  const char* v = std::getenv("TCC_DEBUG");
  return v ? std::atoi(v) : 0;
}

// "a,b,,c" -> a, b, c
std::vector<std::string> split_pass_list(std::string_view list) {
  std::vector<std::string> names;
  for (size_t p = 0; p <= list.size();) {
    const size_t comma = std::min(list.find(',', p), list.size());
    if (comma > p) names.emplace_back(list.substr(p, comma - p));
    p = comma + 1;
  }
  return names;
}

// The passes whose output is dumped besides TCC_DEBUG=2's: TCC_DUMP_AFTER=a,b or set_dump_after.
std::mutex dump_mutex;
std::set<std::string>& dump_after_set() {
  static std::set<std::string> names = [] {
    const char* v = std::getenv("TCC_DUMP_AFTER");
    std::vector<std::string> list = split_pass_list(v ? v : "");
    return std::set<std::string>(list.begin(), list.end());
  }();
  return names;
}

bool dump_after(const char* name) {
  std::lock_guard<std::mutex> lock(dump_mutex);
  return dump_after_set().count(name) > 0;
}

// Runs one pass, timing it and dumping what it produced when asked.
template <typename F, typename Dump>
auto run_pass(const char* name, F&& pass, Dump&& dump) {
  auto t0 = std::chrono::steady_clock::now();
  auto result = pass();
  const int level = debug_level();
  // One write per pass: a graph's kernels are lowered concurrently, and their reports must not
  // interleave line by line.
  std::string report;
  if (level > 0) {
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    report += fmt::format("[tcc] pass {}: {:.3f} ms\n", name, ms);
  }
  if (level > 1 || dump_after(name)) {
    if (level <= 1) report += fmt::format("[tcc] after {}:\n", name);
    report += dump(result) + "\n";
  }
  if (!report.empty()) std::fputs(report.c_str(), stderr);
  return result;
}

}  // namespace

const std::vector<std::string_view>& pass_names() {
  // In the order lower() and kernel_loops() run them: graph passes, planning, then per kernel
  // the lowering of its schedule (GEMM or simple) and the loop passes.
  static const std::vector<std::string_view> names{
      "verify_graph",     "resolve_symbols",  "split_reshaped_dims",       "merge_contraction_chains",
      "plan_contraction_paths",               "canonicalize_contractions", "coalesce_dims",
      "layout_copies",    "verify_program",   "plan_schedule",             "lower_gemm",
      "tails",            "pack",             "prefetch",                  "lower_attention",
      "lower_to_loops",
      "verify_kernel",    "outline_parallel"};
  return names;
}

void set_dump_after(const std::vector<std::string>& lists) {
  std::vector<std::string> passes;
  for (const std::string& list : lists)
    for (std::string& name : split_pass_list(list)) passes.push_back(std::move(name));
  for (const std::string& p : passes)
    if (std::find(pass_names().begin(), pass_names().end(), p) == pass_names().end()) {
      std::string known;
      for (std::string_view n : pass_names()) known += (known.empty() ? "" : ", ") + std::string(n);
      throw ArgumentError("unknown pass '" + p + "' (passes: " + known + ")");
    }
  std::lock_guard<std::mutex> lock(dump_mutex);
  dump_after_set().insert(passes.begin(), passes.end());
}

std::string kernel_name(const std::string& descriptor) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : descriptor) h = (h ^ ch) * 1099511628211ull;
  return fmt::format("tcc_{:016x}", h);
}

LoweredProgram lower(const GraphIR& g, const std::vector<int>& outputs, const sched::TargetModel& target,
                     bool build_loops) {
  LoweredProgram out;
  run_pass("verify_graph", [&] { verify_graph(g, outputs); return 0; },
           [&](int) { return print_graph(g, outputs); });
  ResolvedSymbols symbols = run_pass("resolve_symbols", [&] { return resolve_symbols(g, outputs); },
                                     [&](const ResolvedSymbols& r) {
                                       return r.changed ? print_graph(r.resolved.graph, r.resolved.outputs)
                                                        : "(no constraints)";
                                     });
  const GraphIR& resolved = symbols.changed ? symbols.resolved.graph : g;
  const std::vector<int>& resolved_outputs = symbols.changed ? symbols.resolved.outputs : outputs;
  SplitGraph split = run_pass("split_reshaped_dims", [&] { return split_reshaped_dims(resolved, resolved_outputs); },
                              [](const SplitGraph& s) { return print_graph(s.graph, s.outputs); });
  MergedGraph merged = run_pass(
      "merge_contraction_chains",
      [&] { return merge_contraction_chains(split.graph, split.outputs, target.tuning.path_max_merged_operands); },
      [](const MergedGraph& m) { return print_graph(m.graph, m.outputs); });
  PlannedGraph planned =
      run_pass("plan_contraction_paths", [&] { return plan_contraction_paths(merged.graph, merged.outputs, target, merged.folded_bytes); },
               [](const PlannedGraph& p) { return p.str(); });
  // A node of the merged graph as the caller's: back through every graph pass's origin.
  auto caller_node = [&](int merged_node) {
    const int id = split.origin.at(merged.origin.at(merged_node));
    return symbols.changed ? symbols.resolved.origin.at(id) : id;
  };
  out.paths = std::move(planned.paths);
  for (PlannedContraction& p : out.paths) p.node = caller_node(p.node);
  out.program = run_pass("canonicalize_contractions",
                         [&] { return canonicalize_contractions(planned.graph, planned.outputs, target.fusion); },
                         [](const KernelProgram& p) { return p.str(); });
  for (FusionNote& f : out.program.fusion)
    for (int* id : {&f.node, &f.other})
      if (*id >= 0) *id = caller_node(planned.origin.at(*id));
  out.program = run_pass("coalesce_dims", [&] { return coalesce_dims(std::move(out.program)); },
                         [](const KernelProgram& p) { return p.str(); });
  out.program = run_pass("layout_copies", [&] { return sched::layout_copies(std::move(out.program), target); },
                         [](const KernelProgram& p) { return p.str(); });
  run_pass("verify_program", [&] { verify_program(out.program); return 0; }, [](int) { return std::string(); });

  std::map<std::string, int> by_descriptor;
  for (const KernelSpec& c : out.program.steps) {
    LoweredKernel k;
    k.descriptor_fields = c.descriptor_fields();
    k.descriptor = join_descriptor(k.descriptor_fields);
    auto [it, fresh] = by_descriptor.emplace(k.descriptor, static_cast<int>(out.kernels.size()));
    out.step_kernel.push_back(it->second);
    if (!fresh) continue;
    k.schedule = run_pass("plan_schedule", [&] { return sched::plan_schedule(c, target); },
                          [](const sched::Schedule& s) { return s.str(); });
    k.name = kernel_name(k.identity());
    k.spec = c;
    out.kernels.push_back(std::move(k));
  }
  if (build_loops)
    for (LoweredKernel& k : out.kernels) kernel_loops(k);
  return out;
}

const loop::LoopKernel& kernel_loops(LoweredKernel& k) {
  const auto print_loops = [](const loop::LoopKernel& lk) { return loop::print_kernel(lk); };
  if (!k.loops) {
    if (std::string why = unsupported_by_lowering(k.spec); !why.empty())
      throw InternalError("cannot lower kernel " + k.name + ": " + why);
    if (k.schedule.gemm) {
      k.loops = run_pass("lower_gemm", [&] { return loop::lower_gemm(k.spec, *k.schedule.gemm, k.name); }, print_loops);
      k.loops = run_pass("tails", [&] { return loop::split_tails(std::move(*k.loops)); }, print_loops);
      k.loops = run_pass("pack", [&] { return loop::expand_packing(std::move(*k.loops), k.spec, *k.schedule.gemm); }, print_loops);
      k.loops = run_pass("prefetch",
                         [&] { return loop::add_prefetches(std::move(*k.loops), k.spec, *k.schedule.gemm); }, print_loops);
    } else if (k.schedule.attention) {
      k.loops = run_pass("lower_attention", [&] { return loop::lower_attention(k.spec, *k.schedule.attention, k.name); }, print_loops);
      k.loops = run_pass("tails", [&] { return loop::split_tails(std::move(*k.loops)); }, print_loops);
    } else {
      k.loops = run_pass("lower_to_loops", [&] { return loop::lower_to_loops(k.spec, k.schedule, k.name); }, print_loops);
    }
    run_pass("verify_kernel", [&] { loop::verify_kernel(*k.loops); return 0; }, [](int) { return std::string(); });
    k.loops = run_pass("outline_parallel", [&] { return loop::outline_parallel(std::move(*k.loops)); }, print_loops);
    run_pass("verify_kernel", [&] { loop::verify_kernel(*k.loops); return 0; }, [](int) { return std::string(); });
  }
  return *k.loops;
}

}  // namespace tcc::ir
