// The library's own access to what the public classes keep private: the graph IR behind a
// Graph, its warnings, and compiling with a planner model of the caller's (tests). Not part
// of the public API (frontend/include/tcc holds that).
#pragma once
#include <tcc/graph.h>

#include "ir/elementwise.h"
#include "ir/graph/graph_ir.h"
#include "ir/schedule/target_model.h"

namespace tcc::detail {

struct GraphAccess {
  static ir::GraphIR& ir(Graph& g) { return *g.ir_; }
  static const ir::GraphIR& ir(const Graph& g) { return *g.ir_; }
  static void warn(Graph& g, int node_id, std::string message) { g.warn(node_id, std::move(message)); }
  static CompiledGraph compile_for_model(const Graph& g, const std::vector<Value>& outputs,
                                         const ir::sched::TargetModel& model);
};

inline ir::GraphIR& graph_ir(Graph& g) { return GraphAccess::ir(g); }
inline const ir::GraphIR& graph_ir(const Graph& g) { return GraphAccess::ir(g); }
// Graph::compile with the caller's planner model (tests: tiny blocks, forced packing).
inline CompiledGraph compile_for_model(const Graph& g, const std::vector<Value>& outputs,
                                       const ir::sched::TargetModel& model) {
  return GraphAccess::compile_for_model(g, outputs, model);
}

// The element-wise node of `op` with the checks of the public wrappers (operator+, relu, ...),
// for callers that name functions by the table (the .tc language's operators and calls).
Value elementwise(ir::ElemOp op, const std::vector<Value>& operands);

}  // namespace tcc::detail
