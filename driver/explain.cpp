// `tcc explain`: for each output, where each axis of its shape comes from, the contraction as
// one einsum, the contraction path and the kernels the one compile path chose, with a warning
// for every step that still runs on a generic loop nest.
#include "driver/driver.h"

#include <tcc/graph.h>

#include "frontend/graph_access.h"
#include "ir/graph/contraction_path.h"
#include "ir/loop/lower_gemm.h"
#include "ir/symbolic_extents.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace tcc::driver {

namespace {

std::string quantity(double v) {
  if (v >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

class Explainer {
 public:
  Explainer(const ir::GraphIR& g, const std::map<int, std::string>& names) : g_(g), names_(names) {}

  std::string name(int id) const {
    auto it = names_.find(id);
    return it != names_.end() ? it->second : fmt::format("%{}", id);
  }

  // The node as an expression over named values: "matmul(w, k)".
  std::string expression(int id) const {
    const ir::Node& n = g_.node(id);
    if (n.op == ir::OpKind::input) return fmt::format("input {}", n.name);
    if (n.op == ir::OpKind::constant) return "constant";
    std::vector<std::string> args;
    for (int in : n.inputs) args.push_back(name(in));
    if (ir::op_spelling(n.op) == "@") return fmt::format("{} @ {}", args.at(0), args.at(1));
    return fmt::format("{}({}){}", ir::node_op_name(n), fmt::join(args, ", "), n.attrs.empty() ? "" : " " + n.attrs);
  }

  // Where each output axis of a contraction node comes from, and what it sums.
  std::string axes(int id) const {
    const ir::Node& n = g_.node(id);
    const ir::IndexSpec& spec = n.spec;
    std::string s = fmt::format("  as einsum: {}", ir::einsum_text(spec));
    for (size_t i = 0; i < n.inputs.size(); ++i)
      s += fmt::format("{}{}: {}", i ? ", " : "  (", name(n.inputs[i]),
                       type_str(g_.node(n.inputs[i]).dtype, g_.node(n.inputs[i]).shape));
    s += ")\n";
    auto sources = [&](int d, int* users, bool* broadcast) {
      std::vector<std::string> parts;
      *users = 0;
      *broadcast = false;
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        std::vector<std::string> hit;
        for (size_t a = 0; a < spec.operands[i].size(); ++a)
          if (spec.operands[i][a] == d) {
            const int64_t size = g_.node(n.inputs[i]).shape[a];
            const bool stretched = size == 1 && spec.extents[d] != 1;
            *broadcast = *broadcast || stretched;
            hit.push_back(fmt::format("axis {}{}", a, stretched ? " (size 1, broadcast)" : ""));
          }
        if (hit.empty()) continue;
        ++*users;
        parts.push_back(fmt::format("{} {}{}", name(n.inputs[i]), fmt::join(hit, " = "), hit.size() > 1 ? " (diagonal)" : ""));
      }
      return fmt::format("{}", fmt::join(parts, ", "));
    };
    const std::string rule = fmt::format("{}'s shape rule", ir::op_spelling(n.op));
    for (size_t a = 0; a < spec.out.size(); ++a) {
      const int d = spec.out[a];
      int users = 0;
      bool broadcast = false;
      const std::string from = sources(d, &users, &broadcast);
      const char* kind = n.inputs.size() == 1   ? "from its operand"
                         : users == static_cast<int>(n.inputs.size()) ? (broadcast ? "batch, broadcast" : "batch (in every operand)")
                         : users == 1            ? "kept from one operand"
                                                 : "shared by several operands";
      s += fmt::format("  axis {} ({}): {}: {} [{}]\n", a, dim_str(spec.extents[d]), kind, from, rule);
    }
    for (size_t d = 0; d < spec.extents.size(); ++d)
      if (std::find(spec.out.begin(), spec.out.end(), static_cast<int>(d)) == spec.out.end()) {
        int users = 0;
        bool broadcast = false;
        s += fmt::format("  summed ({}): {}\n", dim_str(spec.extents[d]), sources(static_cast<int>(d), &users, &broadcast));
      }
    return s;
  }

 private:
  const ir::GraphIR& g_;
  const std::map<int, std::string>& names_;
};

constexpr const char* kGenericLoopNest = "generic loop nest";

// What a contraction's epilogue is and where it runs ("" without one).
std::string epilogue_text(const ir::KernelSpec& c, const ir::sched::Schedule& s) {
  if (c.epilogue.empty()) return "";
  const bool in_store = s.gemm && ir::loop::epilogue_in_store(c, *s.gemm);
  return fmt::format(", then {} {}", ir::elem_program_str(c.epilogue),
                     in_store ? "in the micro-kernel's store" : s.gemm ? "in a pass over the result" : "as each result is stored");
}

std::string kernel_kind(const ir::KernelSpec& c, const ir::sched::Schedule& s) {
  if (c.kind == ir::StepKind::elementwise) return fmt::format("element-wise expression {}", ir::elem_program_str(c.program));
  if (c.kind == ir::StepKind::attention) {
    const ir::AttentionDims a = c.attention_dims();
    int64_t batch = 1;
    for (int d = 0; d < a.i; ++d) batch *= c.dims[d].extent;
    return fmt::format("flash attention {} x softmax(score({}x{} · ({}x{})ᵀ)) · {}x{}, score {}, in blocks of {}x{} scores "
                       "(the score matrix is never stored)",
                       batch, c.dims[a.i].extent, c.dims[a.e].extent, c.dims[a.j].extent, c.dims[a.e].extent,
                       c.dims[a.j].extent, c.dims[a.d].extent, ir::elem_program_str(c.program),
                       s.attention ? s.attention->block_rows : 0, s.attention ? s.attention->block_cols : 0);
  }
  if (c.kind == ir::StepKind::copy)
    return s.transpose ? "copy by register transposes (a layout change)" : "copy (a strided view made dense)";
  bool sums = false;
  for (const ir::KernelDim& d : c.dims) {
    if (d.extent == 0) return "empty (a dim of extent 0: nothing to compute)";
    sums = sums || d.role == ir::DimRole::K;
  }
  if (!sums && c.operands.size() <= 2) return "element-wise or outer product (nothing summed)";
  if (s.gemm) {
    const ir::sched::GemmSizes z = ir::sched::gemm_sizes(c, *s.gemm);
    int64_t batch = 1;
    std::string symbols;  // "N" for a symbolic outer dim: "x 12N"
    for (int d : s.gemm->outer) {
      if (c.dims[d].symbolic()) symbols += c.dims[d].symbol;
      else batch *= c.dims[d].extent;
    }
    const bool outer = batch > 1 || !symbols.empty();
    return fmt::format("{} M={} N={} K={}{}", s.gemm->m < 0 ? "GEMV (one row)" : "GEMM", z.M, z.N, z.K,
                       outer ? fmt::format(" x {}{} (outer loops)", batch > 1 || symbols.empty() ? std::to_string(batch) : "", symbols) : "");
  }
  // Dot products: the innermost loop sums along a dim every operand walks contiguously.
  bool dot = s.accumulate_in_register && s.vectorize_innermost && !s.loop_order.empty();
  for (const ir::StridedOperand& op : c.operands)
    dot = dot && op.strides[s.loop_order.back()] <= 1;
  if (dot) return "dot products (vectorised sums along a unit-stride dim)";
  return kGenericLoopNest;
}

}  // namespace

std::string explain(const Graph& graph, const std::vector<std::pair<std::string, Value>>& outputs,
                    const std::map<int, std::string>& names, const Options& options) {
  const ir::GraphIR& g = detail::graph_ir(graph);
  Explainer ex(g, names);
  std::string text;
  for (const auto& [out_name, value] : outputs) {
    const int id = value.id();
    const ir::Node& n = g.node(id);
    text += fmt::format("{}: {} = {}\n", out_name, type_str(n.dtype, n.shape), ex.expression(id));
    if (ir::is_contraction(n.op)) {
      text += ex.axes(id);
    } else if (n.op == ir::OpKind::reshape) {
      text += fmt::format("  reshape of {} {} (row-major, element count kept)\n", ex.name(n.inputs[0]),
                          type_str(g.node(n.inputs[0]).dtype, g.node(n.inputs[0]).shape));
    }
    // Every contraction below the output, so a chain shows where its operands come from.
    for (int sub : ir::reachable_nodes(g, {id}))
      if (sub != id && ir::is_contraction(g.node(sub).op))
        text += fmt::format("  where {}: {} = {}  [{}]\n", ex.name(sub), type_str(g.node(sub).dtype, g.node(sub).shape),
                            ex.expression(sub), ir::einsum_text(g.node(sub).spec));
    Plan p = plan(g, {id}, options, /*build_loops=*/false);
    for (const ir::PlannedContraction& pc : p.lowered.paths) {
      const ir::ContractionPath& path = pc.path;
      text += fmt::format("  path for {} ({}): {}", ex.name(pc.node), path.einsum, path.method);
      if (path.steps.empty()) {
        text += fmt::format(": one loop nest, {} flops ({})\n", quantity(path.single.flops), path.why_single);
        continue;
      }
      text += fmt::format(", {} flops instead of {} unplanned, largest intermediate {} elements (cap {} bytes)\n",
                          quantity(path.total.flops), quantity(path.single.flops), path.largest_intermediate,
                          path.memory_cap);
      for (size_t i = 0; i < path.steps.size(); ++i) {
        const ir::PathStep& s = path.steps[i];
        text += fmt::format("    {}. {}  -> {}  flops={} bytes={}\n", i + 1, s.einsum, shape_str(s.shape),
                            quantity(s.cost.flops), quantity(s.cost.bytes));
      }
    }
    double flops = 0;
    const ir::KernelProgram& prog = p.lowered.program;
    for (size_t s = 0; s < prog.steps.size(); ++s) {
      const ir::KernelSpec& c = prog.steps[s];
      const ir::LoweredKernel& k = p.lowered.kernels[p.lowered.step_kernel[s]];
      flops += c.flops();
      const std::string kind = kernel_kind(c, k.schedule);
      const std::string combine = c.combine == ir::ElemOp::add || c.kind != ir::StepKind::contraction
                                      ? "" : fmt::format(" ({} reduction)", ir::reduction_name(c.combine));
      std::string at;  // costs of a symbolic kernel are those of its planning extent
      for (const std::string& symbol : c.scalar_params())
        at += fmt::format("{}{} = {}", at.empty() ? " at " : ", ", symbol, ir::kSymbolPlanningExtent);
      text += fmt::format("  kernel {}: {}{}{}  flops={} bytes={}{}\n    schedule: {}\n", s + 1, kind, combine,
                          epilogue_text(c, k.schedule), quantity(c.flops()), quantity(c.bytes()), at, k.schedule.str());
      if (kind == kGenericLoopNest) {
        std::string why;
        ir::sched::plan_gemm(c, p.model, &why);
        text += fmt::format("    warning: runs on a generic loop nest, not a GEMM/GEMV/dot-product kernel: {}\n", why);
      }
    }
    for (const ir::FusionNote& f : prog.fusion)
      text += fmt::format("  fusion: {} ({}) {}{}\n", ex.name(f.node), ir::node_op_name(g.node(f.node)), f.text,
                          f.other >= 0 ? fmt::format(" {} ({})", ex.name(f.other), ir::node_op_name(g.node(f.other))) : "");
    text += fmt::format("  total: {} kernel steps, {} flops\n", prog.steps.size(), quantity(flops));
  }
  return text;
}

}  // namespace tcc::driver
