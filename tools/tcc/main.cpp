// tcc: the command-line tool (spec/tcc-cli.md). Exit 0 success, 1 a user error in the input,
// 2 bad command-line usage. Never lets an exception escape.
#include <tcc/tcc.h>

#include "aot/aot.h"
#include "aot/aot_header.h"
#include "driver/driver.h"
#include "driver/kernel_cache.h"
#include "frontend/graph_access.h"
#include "frontend/lang/tc_program.h"
#include "ir/graph/ops.h"
#include "ir/graph/shape_constraints.h"
#include "ir/lower.h"

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>

namespace {

constexpr const char* kUsage = R"(usage:
%COMMANDS%  run, emit, compile, bench and explain take --max-intermediate BYTES: the largest intermediate
  a contraction path may create (default: the largest operand or result of the contraction)
  run, emit, compile and bench also take --dump-after PASS[,PASS]: the IR after those passes
  on stderr (passes:%PASSES%)

exit status: 0 success; 1 bad input (a .tc, .npy or .npz error, a shape error, a file that cannot
  be read or written); 2 bad usage (an unknown option, a missing argument, a bad value)

environment:
  TCC_NUM_THREADS=N    threads of the runtime's pool (default: the CPUs the process may run on;
                       --threads N sets it for one command)
  TCC_CACHE=off        do not use the on-disk kernel cache
  TCC_CACHE_DIR=DIR    where it lives (default $XDG_CACHE_HOME/tcc, else ~/.cache/tcc)
  TCC_LOG=cache        explain every kernel cache hit and miss (as run -v)
  TCC_DEBUG=1|2        time the compiler passes and, per kernel compiled, LLVM's IR emission,
                       optimisation and code generation (1); also dump the IR after each pass (2)
  TCC_MAX_INTERMEDIATE=BYTES  as --max-intermediate BYTES
  TCC_DUMP_AFTER=P,Q   dump the IR after these passes only (as --dump-after P,Q on
                       run, emit, compile and bench; with run, compiled kernels only:
                       TCC_CACHE=off to see every kernel's loop passes)
)";

// `tcc help SUB` and `tcc SUB --help`: one row per subcommand, its synopsis and what it does.
struct SubcommandHelp {
  std::string_view name, synopsis, text;
  std::string_view summary = "";  // after the synopsis in `tcc --help`
};
constexpr SubcommandHelp kSubcommands[] = {
    {"check", "tcc check FILE.tc",
     "Parses FILE.tc and infers every shape; prints one `NAME: DTYPE[SHAPE]` line per value,\n"
     "then one `requires: N == 5 for NAME (why)` line per condition its symbolic dimensions must\n"
     "meet when the inputs arrive.\n",
     "parse + shape inference; one line per value"},
    {"run", "tcc run FILE.tc [-i NAME=PATH.npy | -i PATH.npz]... [--dim SYMBOL=SIZE]... [-o DIR | -o OUT.npz] [--seed N] [--threads N] [-v]",
     "Compiles (JIT, kernel cache) and runs FILE.tc. -i NAME=PATH.npy feeds one input from a .npy\n"
     "file; -i PATH.npz feeds every array of a numpy.savez archive to the input of its name.\n"
     "Inputs not given get pseudo-random values from --seed (default 0). A symbolic dimension\n"
     "(input a: f32[N, 4]) takes its size from the arrays fed, or from --dim N=64. -o DIR\n"
     "writes every output as DIR/NAME.npy, -o OUT.npz as one archive (numpy.load reads it),\n"
     "either way all together or not at all. -v explains kernel cache hits and misses.\n"
     "Also --max-intermediate BYTES and --dump-after PASS[,PASS] (see tcc --help).\n"},
    {"emit", "tcc emit FILE.tc --stage graph|loops|llvm-unopt|llvm|asm [-o OUT] [--target-cpu CPU] [--threads N]",
     "Prints one stage of the compiled program: the graph IR, the loop IR with each kernel's plan,\n"
     "the LLVM IR before or after optimisation, or assembly; exactly what run (same --threads) or\n"
     "compile (same --target-cpu) compiles. Also --max-intermediate and --dump-after.\n"},
    {"compile", "tcc compile FILE.tc -o OUT.o [--header OUT.h] [--name NAME] [--target-cpu CPU] [--threads N]",
     "Writes an ahead-of-time object and its C header: one function NAME (default: the file's\n"
     "stem, escaped when it would clash with C) that needs only libc. --threads N > 1 makes its\n"
     "large loops call tcc_parallel_for, which the header implements with pthreads.\n"},
    {"bench", "tcc bench FILE.tc [--dim SYMBOL=SIZE]... [--repeat N] [--threads N]",
     "Compiles once, runs repeatedly and prints the median time, GFLOP/s (of the planned\n"
     "contraction paths) and compile time per output. --repeat N: N timed runs (default: about\n"
     "0.2 s and at least 5). --dim N=64 sizes a symbolic dimension.\n",
     "median time and GFLOP/s per output"},
    {"explain", "tcc explain FILE.tc [--target-cpu CPU] [--threads N]",
     "For each output: where each axis of its shape comes from, the contraction as one einsum,\n"
     "its contraction path (FLOPs, bytes, intermediates), each kernel's kind and schedule, and a\n"
     "warning for a step on a generic loop nest with the reason.\n",
     "shapes, contraction paths, kernels"},
    {"cache", "tcc cache info|clear",
     "info lists the on-disk kernel cache's entries; clear removes them. TCC_CACHE_DIR chooses\n"
     "the directory, TCC_CACHE=off turns the cache off.\n",
     "the on-disk kernel cache"},
    {"help", "tcc help [SUBCOMMAND] | tcc SUBCOMMAND --help | tcc --help | --version",
     "Prints the usage of tcc, or of one subcommand.\n"},
};

const SubcommandHelp* find_subcommand(std::string_view name) {
  for (const SubcommandHelp& h : kSubcommands)
    if (h.name == name) return &h;
  return nullptr;
}

// kUsage with a line per subcommand (kSubcommands: its synopsis and summary) and the compiler's
// pass list (ir::pass_names(), the one list) wrapped in.
std::string usage() {
  std::string commands;
  for (const SubcommandHelp& h : kSubcommands)
    commands += fmt::format("  {}{}{}\n", h.synopsis, h.summary.empty() ? "" : "    ", h.summary);
  std::string passes;
  std::size_t width = std::string_view("  on stderr (passes:").size();
  for (std::string_view name : tcc::ir::pass_names()) {
    if (width + 1 + name.size() > 95) {
      passes += "\n ";
      width = 1;
    }
    passes += " " + std::string(name);
    width += 1 + name.size();
  }
  std::string text = kUsage;
  text.replace(text.find("%PASSES%"), std::string_view("%PASSES%").size(), passes);
  return text.replace(text.find("%COMMANDS%"), std::string_view("%COMMANDS%").size(), commands);
}

// The ops of the .tc language and the C++ API, from the one op table.
std::string ops_help() {
  std::string s = "\nops (.tc files and the C++ API; `x @ y` is NumPy's matmul):\n";
  for (const tcc::ir::OpInfo& op : tcc::ir::op_table()) {
    if (!op.callable) continue;
    std::vector<std::string> params;
    if (op.variadic) params = {"\"spec\"", "x", "..."};
    for (std::string_view t : op.tensors) params.emplace_back(t);
    for (const tcc::ir::AttrSpec& at : op.attrs)
      params.push_back(at.default_text.empty() ? std::string(at.name) : fmt::format("{}={}", at.name, at.default_text));
    s += fmt::format("  {}({})\n", op.name, fmt::join(params, ", "));
  }
  return s;
}

// The subcommand a usage error concerns (for its pointer to the right help), if known.
std::string g_subcommand;

// Bad command-line usage: exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Args {
  std::string command, file;
  std::vector<std::pair<std::string, std::string>> feeds;  // -i NAME=PATH, or -i PATH.npz with no NAME
  std::vector<std::pair<std::string, int64_t>> dims;       // --dim SYMBOL=SIZE
  std::optional<std::string> out, stage, header, name;
  std::string target_cpu;
  uint64_t seed = 0;
  int threads = 0;
  int repeat = 0;  // bench: 0 = as many as fit in about 0.2 s (at least 5)
  bool verbose = false;
  std::vector<std::string> dump_after;  // --dump-after PASS (repeatable, or PASS,PASS)
};

// The options each subcommand takes; any other is bad usage (not silently ignored).
const std::map<std::string, std::set<std::string>>& options_of_subcommands() {
  static const std::map<std::string, std::set<std::string>> table{
      {"check", {}},
      {"run", {"-i", "--dim", "-o", "--seed", "--threads", "-v", "--verbose", "--max-intermediate", "--dump-after"}},
      {"emit", {"--stage", "-o", "--target-cpu", "--threads", "--max-intermediate", "--dump-after"}},
      {"compile", {"-o", "--header", "--name", "--target-cpu", "--threads", "--max-intermediate", "--dump-after"}},
      {"bench", {"--dim", "--repeat", "--threads", "--max-intermediate", "--dump-after"}},
      {"explain", {"--target-cpu", "--threads", "--max-intermediate"}},
  };
  return table;
}

int64_t parse_count(const std::string& flag, const std::string& text, int64_t min) {
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || v < min)
    throw UsageError(fmt::format("{} expects an integer >= {}, got '{}'", flag, min, text));
  return v;
}

Args parse_args(int argc, char** argv) {
  Args a;
  if (argc < 2) throw UsageError("no command given");
  a.command = argv[1];
  const auto subcommand = options_of_subcommands().find(a.command);
  if (subcommand == options_of_subcommands().end()) throw UsageError("unknown command '" + a.command + "'");
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    // An option of another subcommand; an unknown one is reported below.
    if (!subcommand->second.count(arg))
      for (const auto& [other, options] : options_of_subcommands())
        if (options.count(arg)) throw UsageError(a.command + " does not take " + arg);
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-i") {
      std::string v = value();
      size_t eq = v.find('=');
      if (eq == std::string::npos && v.ends_with(".npz")) {
        a.feeds.emplace_back("", v);
        continue;
      }
      if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
        throw UsageError("-i expects NAME=PATH.npy or PATH.npz, got '" + v + "'");
      if (v.ends_with(".npz"))
        throw UsageError("-i " + v + ": an .npz feeds every input it holds by name; write -i " + v.substr(eq + 1));
      a.feeds.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (arg == "--dim") {
      // A malformed value is bad usage; a negative size is bad input (checked by SymbolSizes).
      const std::string v = value();
      const size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
        throw UsageError("--dim expects SYMBOL=SIZE, got '" + v + "'");
      const std::string size = v.substr(eq + 1);
      a.dims.emplace_back(v.substr(0, eq), parse_count("--dim " + v.substr(0, eq), size, size[0] == '-' ? INT64_MIN : 0));
    } else if (arg == "-o") {
      a.out = value();
    } else if (arg == "--stage") {
      a.stage = value();
    } else if (arg == "--header") {
      a.header = value();
    } else if (arg == "--name") {
      a.name = value();
    } else if (arg == "--target-cpu") {
      a.target_cpu = value();
    } else if (arg == "--dump-after") {
      a.dump_after.push_back(value());
    } else if (arg == "-v" || arg == "--verbose") {
      a.verbose = true;
    } else if (arg == "--seed") {
      a.seed = static_cast<uint64_t>(parse_count(arg, value(), 0));
    } else if (arg == "--repeat") {
      a.repeat = static_cast<int>(parse_count(arg, value(), 1));
    } else if (arg == "--threads") {
      a.threads = static_cast<int>(parse_count(arg, value(), 1));
    } else if (arg == "--max-intermediate") {
      // The driver reads it from the environment, so every command (run and bench compile
      // through the C++ API) sees it.
      const std::string bytes = std::to_string(parse_count(arg, value(), 1));
      setenv("TCC_MAX_INTERMEDIATE", bytes.c_str(), 1);
    } else if (!arg.empty() && arg[0] == '-') {
      throw UsageError("unknown option '" + arg + "'");
    } else if (a.file.empty()) {
      a.file = arg;
    } else {
      throw UsageError("unexpected argument '" + arg + "'");
    }
  }
  if (a.file.empty()) throw UsageError(a.command + ": no FILE.tc given");
  return a;
}

// Loads the .tc file; prints its diagnostics (warnings too) on stderr.
std::optional<tcc::lang::TcProgram> load(const std::string& path) {
  tcc::lang::TcProgram p = tcc::lang::load_tc_file(path);
  std::fputs(p.render_diagnostics().c_str(), stderr);
  if (!p.ok()) return std::nullopt;
  return p;
}

std::string type_of(const tcc::Value& v) { return tcc::type_str(v.dtype(), v.shape()); }

// What the symbols must satisfy when the inputs arrive: one line per constraint, named after the
// first value (in file order) that needs it, with the rule's message without the operand shapes.
void print_constraints(const tcc::lang::TcProgram& p) {
  const tcc::ir::GraphIR& g = tcc::detail::graph_ir(*p.graph);
  std::vector<tcc::ir::ShapeConstraint> printed;
  for (const auto& nv : p.values)
    for (const tcc::ir::ShapeConstraint& c : tcc::ir::collect_constraints(g, {nv.value.id()})) {
      if (std::find(printed.begin(), printed.end(), c) != printed.end()) continue;
      const std::string why = c.message.substr(0, c.message.find("; "));
      std::printf("requires: %s for %s (%s)\n", tcc::ir::constraint_str(c).c_str(), nv.name.c_str(), why.c_str());
      printed.push_back(c);
    }
}

int cmd_check(const Args& a) {
  auto p = load(a.file);
  if (!p) return 1;
  for (const auto& nv : p->values) std::printf("%s: %s\n", nv.name.c_str(), type_of(nv.value).c_str());
  print_constraints(*p);
  return 0;
}

// Deterministic pseudo-random data from (seed, input name): floats in [-1, 1), integers in [-8, 8].
tcc::Tensor random_tensor(const tcc::InputInfo& in, const tcc::Shape& shape, uint64_t seed) {
  tcc::Tensor t(in.dtype, shape);
  uint64_t h = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  for (unsigned char c : in.name) h = (h ^ c) * 1099511628211ull;
  std::mt19937_64 rng(h);
  std::uniform_real_distribution<double> real(-1.0, 1.0);
  std::uniform_int_distribution<int64_t> integer(-8, 8);
  tcc::visit_dtype(in.dtype, [&](auto zero) {
    using T = decltype(zero);
    T* p = t.data_as<T>();
    for (int64_t i = 0; i < t.numel(); ++i)
      p[i] = static_cast<T>(std::is_floating_point_v<T> ? real(rng) : static_cast<double>(integer(rng)));
  });
  return t;
}

// The sizes of a file's symbolic dimensions for one run: from --dim, then from the arrays fed,
// each checked against what came before.
class SymbolSizes {
 public:
  SymbolSizes(const std::vector<tcc::InputInfo>& inputs, const std::vector<std::pair<std::string, int64_t>>& dims) {
    for (const tcc::InputInfo& in : inputs)
      for (int64_t e : in.shape)
        if (tcc::is_symbol(e)) declared_.insert(tcc::symbol_name(e));
    for (const auto& [name, size] : dims) {
      if (!declared_.count(name)) {
        std::string known;
        for (const std::string& d : declared_) known += (known.empty() ? "" : ", ") + d;
        throw tcc::InputError(fmt::format("--dim {}: the file has no symbolic dimension {} (its symbols: {})", name, name,
                                          known.empty() ? "none" : known));
      }
      if (size < 0) throw tcc::InputError(fmt::format("--dim {}={}: a size is at least 0", name, size));
      set(tcc::dim(name), size, "--dim " + name);
    }
  }

  // Checks a fed array against its input's declared type, binding the symbols it sizes.
  void bind(const tcc::InputInfo& want, const tcc::Tensor& t, const std::string& source) {
    auto mismatch = [&](const std::string& why) {
      return tcc::InputError(fmt::format("input '{}': {} holds {}, but the input is declared {}{}", want.name, source,
                                         tcc::type_str(t.dtype(), t.shape()), tcc::type_str(want.dtype, want.shape), why));
    };
    if (t.dtype() != want.dtype || t.rank() != static_cast<int64_t>(want.shape.size())) throw mismatch("");
    for (size_t a = 0; a < want.shape.size(); ++a) {
      const int64_t e = want.shape[a], got = t.shape()[a];
      if (!tcc::is_symbol(e)) {
        if (e != got) throw mismatch("");
        continue;
      }
      auto it = sizes_.find(e);
      if (it != sizes_.end() && it->second.first != got)
        throw mismatch(fmt::format(", and {} is {} ({})", tcc::dim_str(e), it->second.first, it->second.second));
      set(e, got, source);
    }
  }

  // The input's shape with its symbols' sizes, for a generated array.
  tcc::Shape resolve(const tcc::InputInfo& in) const {
    tcc::Shape shape = in.shape;
    for (int64_t& e : shape) {
      if (!tcc::is_symbol(e)) continue;
      auto it = sizes_.find(e);
      if (it == sizes_.end())
        throw tcc::InputError(fmt::format("input '{}' is declared {}: give the size of {} with --dim {}=SIZE, or feed "
                                          "the input with -i",
                                          in.name, tcc::type_str(in.dtype, in.shape), tcc::dim_str(e), tcc::dim_str(e)));
      e = it->second.first;
    }
    return shape;
  }

 private:
  void set(int64_t symbol, int64_t size, const std::string& source) { sizes_.emplace(symbol, std::make_pair(size, source)); }
  std::set<std::string> declared_;
  std::map<int64_t, std::pair<int64_t, std::string>> sizes_;  // symbol -> (size, where it came from)
};

// How the disk cache served a compile: off, miss (LLVM compiled a kernel) or hit.
const char* cache_state(const tcc::CompileStats& stats) {
  return !stats.disk_cache ? "off" : stats.compiled > 0 ? "miss" : "hit";
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The outputs under their names, each name once (a file may output one value twice).
std::vector<tcc::NamedTensor> distinct_outputs(const std::vector<std::string>& names, const std::vector<tcc::Tensor>& outs) {
  std::vector<tcc::NamedTensor> members;
  std::set<std::string> seen;
  for (size_t i = 0; i < outs.size(); ++i)
    if (seen.insert(names[i]).second) members.push_back({names[i], outs[i]});
  return members;
}

// Writes every output as DIR/NAME.npy, all together or not at all: each is written to a
// temporary file in DIR first, and only when every one is written are they renamed into place.
// A failure removes the temporary files, so no output of this run appears.
void write_outputs(const std::string& dir, const std::vector<tcc::NamedTensor>& outs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw tcc::InputError(fmt::format("cannot create output directory '{}': {}", dir, ec.message()));
  std::vector<std::pair<std::string, std::string>> staged;  // temporary file, final path
  auto discard = [&] {
    for (const auto& [temp, final_path] : staged) fs::remove(temp, ec);
  };
  try {
    for (const tcc::NamedTensor& out : outs) {
      const std::string final_path = (fs::path(dir) / (out.name + ".npy")).string();
      if (fs::is_directory(final_path, ec)) throw tcc::InputError(fmt::format("cannot write '{}': it is a directory", final_path));
      const std::string temp = (fs::path(dir) / ("." + out.name + ".npy.tcc-run-" + std::to_string(::getpid()))).string();
      staged.emplace_back(temp, final_path);
      tcc::write_npy(temp, out.tensor);
    }
  } catch (...) {
    discard();
    throw;
  }
  for (size_t i = 0; i < staged.size(); ++i)
    if (std::rename(staged[i].first.c_str(), staged[i].second.c_str()) != 0) {
      const int err = errno;
      for (size_t j = i; j < staged.size(); ++j) fs::remove(staged[j].first, ec);
      throw tcc::InputError(fmt::format("cannot write '{}': {}", staged[i].second, std::strerror(err)));
    }
}

int cmd_run(const Args& a) {
  if (a.verbose) tcc::driver::set_cache_logging(true);
  if (a.threads > 0) tcc::set_num_threads(a.threads);
  auto p = load(a.file);
  if (!p) return 1;
  tcc::Graph& g = *p->graph;
  std::map<std::string, tcc::InputInfo> declared;
  for (const tcc::InputInfo& in : g.inputs()) declared.emplace(in.name, in);

  SymbolSizes sizes(g.inputs(), a.dims);
  tcc::Feeds feeds;
  // `source` says where the tensor came from: "PATH" for -i NAME=PATH, "PATH: member" for .npz.
  auto feed = [&](const std::string& name, tcc::Tensor t, const std::string& option, const std::string& source) {
    auto it = declared.find(name);
    if (it == declared.end()) {
      std::string known;
      for (const auto& [input, info] : declared) known += (known.empty() ? "" : ", ") + input;
      throw tcc::InputError(fmt::format("{}: the file declares no input '{}' (its inputs: {})", option, name,
                                        known.empty() ? "none" : known));
    }
    if (feeds.count(name)) throw tcc::InputError(fmt::format("{}: input '{}' is given twice", option, name));
    sizes.bind(it->second, t, source);
    feeds.emplace(name, std::move(t));
  };
  for (const auto& [name, path] : a.feeds) {
    if (name.empty()) {
      for (tcc::NamedTensor& member : tcc::read_npz(path))
        feed(member.name, std::move(member.tensor), "-i " + path, fmt::format("{}: member '{}'", path, member.name));
      continue;
    }
    tcc::Tensor t;
    try {
      t = tcc::read_npy(path);
    } catch (const tcc::Error& e) {
      throw tcc::InputError(fmt::format("input '{}': {}", name, e.what()));
    }
    feed(name, std::move(t), "-i " + name, path);
  }

  auto t0 = std::chrono::steady_clock::now();
  tcc::CompiledGraph fn = g.compile(p->outputs);
  double compile_ms = ms_since(t0);
  for (const tcc::InputInfo& in : fn.inputs())
    if (!feeds.count(in.name)) feeds.emplace(in.name, random_tensor(in, sizes.resolve(in), a.seed));

  t0 = std::chrono::steady_clock::now();
  std::vector<tcc::Tensor> outs = fn(feeds);
  double run_ms = ms_since(t0);

  if (a.out) {
    // One .npz archive or a directory of .npy files, either way all together or not at all.
    const std::vector<tcc::NamedTensor> members = distinct_outputs(p->output_names, outs);
    if (a.out->ends_with(".npz")) tcc::write_npz(*a.out, members);
    else write_outputs(*a.out, members);
  }
  for (size_t i = 0; i < outs.size(); ++i)
    std::printf("%s: %s\n", p->output_names[i].c_str(), tcc::type_str(outs[i].dtype(), outs[i].shape()).c_str());
  const tcc::CompileStats& stats = fn.stats();
  std::printf("kernels: %d (compiled %d, in-process hits %d, disk hits %d)\n", stats.kernels, stats.compiled,
              stats.memory_hits, stats.disk_hits);
  std::printf("compile_ms=%.1f run_ms=%.3f cache=%s\n", compile_ms, run_ms, cache_state(stats));
  return 0;
}

// Writes `text` to `path` atomically (temp file + rename), or to stdout when no path is given.
void write_file(const std::optional<std::string>& path, const std::string& text) {
  if (!path) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return;
  }
  std::string tmp = *path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    f << text;
    if (!f.flush()) {
      std::remove(tmp.c_str());
      throw tcc::InputError(fmt::format("cannot write '{}': {}", *path, std::strerror(errno)));
    }
  }
  if (std::rename(tmp.c_str(), path->c_str()) != 0) {
    std::remove(tmp.c_str());
    throw tcc::InputError(fmt::format("cannot write '{}': {}", *path, std::strerror(errno)));
  }
}

int cmd_emit(const Args& a) {
  std::optional<tcc::driver::Stage> stage = a.stage ? tcc::driver::stage_from_name(*a.stage) : std::nullopt;
  if (!stage) throw UsageError("emit needs --stage graph|loops|llvm-unopt|llvm|asm");
  auto p = load(a.file);
  if (!p) return 1;
  // The threads as `run --threads N` would use them: emit prints what run compiles.
  if (a.threads > 0) tcc::set_num_threads(a.threads);
  write_file(a.out, tcc::driver::emit(*p->graph, p->outputs, *stage, {.cpu = a.target_cpu}));
  return 0;
}

// Each output on its own: compile once, bind, run repeatedly into the same buffers, report the median.
int cmd_bench(const Args& a) {
  if (a.threads > 0) tcc::set_num_threads(a.threads);
  auto p = load(a.file);
  if (!p) return 1;
  tcc::Graph& g = *p->graph;
  std::set<std::string> done;
  for (size_t o = 0; o < p->outputs.size(); ++o) {
    if (!done.insert(p->output_names[o]).second) continue;
    auto t0 = std::chrono::steady_clock::now();
    tcc::CompiledGraph fn = g.compile({p->outputs[o]});
    double compile_ms = ms_since(t0);
    tcc::Feeds feeds;
    const SymbolSizes sizes(g.inputs(), a.dims);
    for (const tcc::InputInfo& in : fn.inputs()) feeds.emplace(in.name, random_tensor(in, sizes.resolve(in), a.seed));
    // Bound once (the checks of run() happen here), then called repeatedly into the same
    // buffers; the first call (cold caches, first touch of the buffers) is timed on its own.
    tcc::BoundRun call = fn.bind(feeds);
    auto t_first = std::chrono::steady_clock::now();
    call();
    const double first_call_us = ms_since(t_first) * 1e3;
    // Short runs are timed in groups of about 20 us, so that reading the clock does not count.
    auto t_warm = std::chrono::steady_clock::now();
    call();
    const double warm_us = std::max(ms_since(t_warm) * 1e3, 0.001);
    const int group = static_cast<int>(std::clamp(20.0 / warm_us, 1.0, 10000.0));
    std::vector<double> times;
    auto start = std::chrono::steady_clock::now();
    while (a.repeat > 0 ? static_cast<int>(times.size()) < a.repeat
                        : (times.size() < 5 || (ms_since(start) < 200 && times.size() < 100000))) {
      auto t = std::chrono::steady_clock::now();
      for (int i = 0; i < group; ++i) call();
      times.push_back(ms_since(t) * 1e3 / group);
    }
    std::sort(times.begin(), times.end());
    double median_us = times[times.size() / 2];
    const tcc::CompileStats& stats = fn.stats();
    const double flops = call.flops();
    // median_us is the steady state; compile_ms (with the cache state) and the first call apart.
    std::printf("name=%s shape=%s flops=%.0f median_us=%.3f gflops=%.2f compile_ms=%.1f kernels=%d threads=%d runs=%zu "
                "cache=%s compiled=%d first_call_us=%.3f\n",
                p->output_names[o].c_str(), tcc::type_str(call.outputs()[0].dtype(), call.outputs()[0].shape()).c_str(), flops, median_us,
                median_us > 0 ? flops / median_us / 1e3 : 0.0, compile_ms, stats.kernels, tcc::num_threads(),
                times.size(), cache_state(stats), stats.compiled, first_call_us);
  }
  return 0;
}

int cmd_explain(const Args& a) {
  auto p = load(a.file);
  if (!p) return 1;
  if (a.threads > 0) tcc::set_num_threads(a.threads);
  std::map<int, std::string> names;
  for (const auto& nv : p->values) names.emplace(nv.value.id(), nv.name);
  std::vector<std::pair<std::string, tcc::Value>> outputs;
  for (size_t o = 0; o < p->outputs.size(); ++o) outputs.emplace_back(p->output_names[o], p->outputs[o]);
  std::fputs(tcc::driver::explain(*p->graph, outputs, names, {.cpu = a.target_cpu}).c_str(), stdout);
  return 0;
}

int cmd_compile(const Args& a) {
  if (!a.out) throw UsageError("compile needs -o OUT.o");
  // A name derived from the file is escaped; one the user gave must be safe as it is.
  std::string function = a.name ? *a.name : tcc::aot::safe_function_name(std::filesystem::path(a.file).stem().string());
  if (a.name && !tcc::aot::is_c_identifier(function)) throw UsageError("--name '" + function + "' is not a C identifier");
  if (!tcc::aot::is_safe_c_name(function))
    throw UsageError("--name '" + function + "' would clash with a keyword, a reserved spelling or a C library name (try '" +
                     tcc::aot::safe_function_name(function) + "')");
  auto p = load(a.file);
  if (!p) return 1;
  tcc::aot::Result r = tcc::aot::compile(*p->graph, p->outputs, p->output_names, function, a.file,
                                         {.cpu = a.target_cpu, .threads = a.threads});
  // Both files are made before either is written: no partial output.
  write_file(a.out, r.object);
  if (a.header) write_file(a.header, r.header);
  std::printf("%s: %s, %zu kernels, %zu bytes, for %s\n", a.out->c_str(), function.c_str(), r.kernels, r.object.size(),
              r.cpu.c_str());
  return 0;
}

int cmd_cache(int argc, char** argv) {
  std::string what = argc >= 3 ? argv[2] : "";
  if (argc != 3 || (what != "info" && what != "clear")) throw UsageError("cache expects 'info' or 'clear'");
  if (what == "clear") {
    int removed = tcc::driver::disk_cache_clear();
    std::printf("removed %d files from %s\n", removed, tcc::driver::disk_cache_dir().c_str());
    return 0;
  }
  tcc::driver::DiskCacheInfo info = tcc::driver::disk_cache_info();
  std::printf("dir=%s enabled=%s entries=%zu bytes=%llu\n", info.dir.c_str(), info.enabled ? "yes" : "no",
              info.entries.size(), static_cast<unsigned long long>(info.total_bytes));
  for (const auto& e : info.entries)
    std::printf("  %s %llu %s\n", std::filesystem::path(e.file).filename().c_str(),
                static_cast<unsigned long long>(e.bytes), e.descriptor.c_str());
  return 0;
}

int dispatch(int argc, char** argv) {
  if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
                    (std::strcmp(argv[1], "help") == 0 && argc == 2))) {
    std::fputs(usage().c_str(), stdout);
    std::fputs(ops_help().c_str(), stdout);
    return 0;
  }
  if (argc >= 2 && find_subcommand(argv[1])) g_subcommand = argv[1];
  // tcc help SUB, tcc SUB --help (anywhere among its arguments)
  const char* help_for = nullptr;
  if (argc >= 2 && std::strcmp(argv[1], "help") == 0) {
    if (argc > 3) throw UsageError("help takes at most one subcommand");
    if (!find_subcommand(argv[2])) throw UsageError(fmt::format("help: unknown subcommand '{}'", argv[2]));
    help_for = argv[2];
  }
  for (int i = 2; i < argc && !help_for; ++i)
    if (g_subcommand.size() && (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0))
      help_for = argv[1];
  if (help_for) {
    const SubcommandHelp& h = *find_subcommand(help_for);
    std::printf("usage: %s\n\n%s", std::string(h.synopsis).c_str(), std::string(h.text).c_str());
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("tcc %s (LLVM %s)\n", TCC_VERSION, tcc::driver::llvm_version().c_str());
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "cache") == 0) return cmd_cache(argc, argv);
  Args a = parse_args(argc, argv);
  try {
    tcc::driver::dump_after(a.dump_after);
  } catch (const tcc::ArgumentError& e) {
    throw UsageError(std::string("--dump-after: ") + e.what());
  }
  if (a.command == "check") return cmd_check(a);
  if (a.command == "run") return cmd_run(a);
  if (a.command == "emit") return cmd_emit(a);
  if (a.command == "compile") return cmd_compile(a);
  if (a.command == "bench") return cmd_bench(a);
  if (a.command == "explain") return cmd_explain(a);
  throw UsageError("unknown command '" + a.command + "'");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return dispatch(argc, argv);
  } catch (const UsageError& e) {
    // One line, and where to read more.
    const std::string more = g_subcommand.empty() || g_subcommand == "help" ? "tcc --help" : "tcc " + g_subcommand + " --help";
    std::fprintf(stderr, "tcc: %s (see '%s')\n", e.what(), more.c_str());
    return 2;
  } catch (const tcc::InternalError& e) {
    std::fprintf(stderr, "tcc: internal error: %s\n", e.what());
    return 1;
  } catch (const tcc::Error& e) {
    std::fprintf(stderr, "tcc: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "tcc: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tcc: internal error: %s\n", e.what());
    return 1;
  }
}
