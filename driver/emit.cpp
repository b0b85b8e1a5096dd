// `tcc emit`: the stages of the one compile path, printed.
#include "driver/driver.h"

#include <tcc/graph.h>

#include "frontend/graph_access.h"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace tcc::driver {

namespace {

constexpr std::array<std::pair<Stage, std::string_view>, 5> kStages{{
    {Stage::graph, "graph"},
    {Stage::loops, "loops"},
    {Stage::llvm_unoptimized, "llvm-unopt"},
    {Stage::llvm, "llvm"},
    {Stage::assembly, "asm"},
}};

}  // namespace

std::optional<Stage> stage_from_name(std::string_view name) {
  for (const auto& [s, n] : kStages)
    if (n == name) return s;
  return std::nullopt;
}

std::string emit(const Graph& graph, const std::vector<Value>& outputs, Stage stage, const Options& options) {
  std::vector<int> ids;
  for (const Value& v : outputs) ids.push_back(v.id());
  const ir::GraphIR& g = detail::graph_ir(graph);
  Plan p = plan(g, ids, options);
  if (stage == Stage::graph)
    return "; graph\n" + ir::print_graph(g, ids) + "; canonical contractions\n" + p.lowered.program.str();
  const codegen::CompileOptions compile = codegen_options(options);
  std::string text = fmt::format("; target: {}\n", p.model.str());
  for (const ir::LoweredKernel& k : p.lowered.kernels) {
    text += fmt::format("; kernel {}: {}\n; schedule: {}\n", k.name, k.descriptor, k.schedule.str());
    switch (stage) {
      case Stage::loops: text += ir::loop::print_kernel(*k.loops); break;
      case Stage::llvm_unoptimized:
        text += codegen::emit_text(*k.loops, codegen::TextStage::llvm_ir_unoptimized, compile);
        break;
      case Stage::llvm: text += codegen::emit_text(*k.loops, codegen::TextStage::llvm_ir, compile); break;
      case Stage::assembly: text += codegen::emit_text(*k.loops, codegen::TextStage::assembly, compile); break;
      case Stage::graph: break;
    }
  }
  return text;
}

}  // namespace tcc::driver
