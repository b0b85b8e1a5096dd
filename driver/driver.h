// The one compile path: every way of compiling a graph (Graph::compile's JIT, `tcc compile`'s
// ahead-of-time object, `tcc emit` and the tests) goes through these functions, and only
// target_model() below builds the model the planners see, so what `emit` prints is what
// `run` compiles.
#pragma once
#include "codegen/codegen.h"
#include "ir/graph/graph_ir.h"
#include "ir/lower.h"
#include "ir/schedule/target_model.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcc {
class Graph;
class Value;
}  // namespace tcc

namespace tcc::driver {

struct Options {
  std::string cpu;  // LLVM CPU name; empty: the host
  // Threads the kernels' parallel loops will share. JIT: 0 means the runtime pool's size at
  // compile time (tcc::num_threads()). Ahead of time: kernels use threads only when this is
  // above 1 (the object then calls tcc_parallel_for, which the generated header implements).
  int threads = 0;
  bool ahead_of_time = false;  // AOT: callers' buffers are not promised 64-byte aligned
  // The largest intermediate a contraction path may create, in bytes; 0: TCC_MAX_INTERMEDIATE
  // if set, else the largest operand or result of the contraction (NumPy's rule).
  int64_t max_intermediate_bytes = 0;
};

// The target the options select (throws CompileError for an unknown CPU).
codegen::TargetInfo target(const Options& options);
// THE target model: the target's hardware facts, its tuning table, and the threads.
ir::sched::TargetModel target_model(const codegen::TargetInfo& target, const Options& options);
codegen::CompileOptions codegen_options(const Options& options);
std::string llvm_version();
// Dumps the IR after these passes on stderr: names or comma-separated lists of names
// (ir::pass_names(); ArgumentError for others).
void dump_after(const std::vector<std::string>& passes);

// Graph passes, plans and (when build_loops) the loop nests, for the options' target.
struct Plan {
  codegen::TargetInfo target;
  ir::sched::TargetModel model;
  ir::LoweredProgram lowered;
};
Plan plan(const ir::GraphIR& graph, const std::vector<int>& outputs, const Options& options, bool build_loops = true);
// The same with a model of the caller's (tests: tiny blocks, forced packing; the code still
// runs on the host, so the model must describe a subset of it).
Plan plan_for_model(const ir::GraphIR& graph, const std::vector<int>& outputs, const ir::sched::TargetModel& model,
                    bool build_loops = true);

// `tcc emit`: what compiling `outputs` for the options' target produces, at one stage.
enum class Stage { graph, loops, llvm_unoptimized, llvm, assembly };
// The stage named on the command line: graph, loops, llvm-unopt, llvm, asm.
std::optional<Stage> stage_from_name(std::string_view name);
std::string emit(const Graph& graph, const std::vector<Value>& outputs, Stage stage, const Options& options);

// `tcc explain`: for each (name, output), where each axis of its shape comes from (which
// operand axis, which rule), the contraction as one einsum, its contraction path (FLOPs,
// bytes, intermediates), each kernel's kind and schedule, and a warning for each step on a
// generic loop nest with the reason. `names` names graph nodes (the .tc file's values).
std::string explain(const Graph& graph, const std::vector<std::pair<std::string, Value>>& outputs,
                    const std::map<int, std::string>& names, const Options& options);

}  // namespace tcc::driver
