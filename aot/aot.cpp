#include "aot/aot.h"

#include "aot/aot_header.h"
#include "frontend/graph_access.h"

#include <fmt/format.h>

#include <algorithm>

namespace tcc::aot {

Result compile(const Graph& graph, const std::vector<Value>& outputs, const std::vector<std::string>& output_names,
               const std::string& function, const std::string& source, driver::Options options) {
  if (!is_safe_c_name(function))
    throw ArgumentError("'" + function + "' is not a safe C function name (an identifier that is no keyword, reserved "
                        "spelling or C library name)");
  options.ahead_of_time = true;
  std::vector<int> ids;
  for (const Value& v : outputs) ids.push_back(v.id());
  driver::Plan plan = driver::plan(detail::graph_ir(graph), ids, options);
  const ir::KernelProgram& program = plan.lowered.program;

  AotSignature sig{.function = function, .source = source};
  std::vector<int> input_buffers;
  for (const InputInfo& in : graph.inputs()) {
    if (!in.strides.empty())
      throw ArgumentError(fmt::format("input '{}' is strided: ahead-of-time functions take dense row-major arrays", in.name));
    sig.inputs.push_back(in);
    int buffer = -1;
    for (size_t b = 0; b < program.buffers.size(); ++b)
      if (program.buffers[b].kind == ir::BufferInfo::Kind::input && program.buffers[b].name == in.name)
        buffer = static_cast<int>(b);
    input_buffers.push_back(buffer);
  }
  for (size_t o = 0; o < outputs.size(); ++o)
    sig.outputs.push_back({output_names.at(o), outputs[o].dtype(), outputs[o].shape()});
  // Symbols are the first parameters, in order of first appearance in the inputs.
  codegen::AotSymbols symbols;
  for (const InputInfo& in : sig.inputs)
    for (int64_t e : in.shape)
      if (is_symbol(e) && std::find(symbols.params.begin(), symbols.params.end(), e) == symbols.params.end()) {
        symbols.params.push_back(e);
        sig.symbols.push_back(symbol_name(e));
      }
  for (const ir::ShapeConstraint& c : ir::collect_constraints(detail::graph_ir(graph), ids)) symbols.equal.emplace_back(c.a, c.b);
  sig.cpu = plan.target.cpu;
  sig.triple = plan.target.triple;
  for (const codegen::CpuidFeature& f : plan.target.checked_features) sig.features.emplace_back(f.name);
  // Threads only on request: the object then calls tcc_parallel_for, which the header
  // implements with pthreads; by default it needs nothing but libc.
  sig.threads = plan.model.threads ? options.threads : 0;

  Result r;
  r.object = codegen::compile_graph_object(plan.lowered, input_buffers, symbols, function, driver::codegen_options(options));
  r.header = aot_header(sig);
  r.kernels = plan.lowered.kernels.size();
  r.cpu = plan.target.cpu;
  return r;
}

}  // namespace tcc::aot
