#include "ir/loop/lower_to_loops.h"

#include <tcc/error.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace tcc::ir::loop {

namespace {

// sum over dims of var * stride, leaving out stride-0 terms.
Expr offset(const std::vector<Var>& vars, const std::vector<int64_t>& strides) {
  Expr e;
  for (size_t d = 0; d < vars.size(); ++d) {
    if (strides[d] == 0) continue;
    Expr term = strides[d] == 1 ? var_ref(vars[d]) : mul(var_ref(vars[d]), int_imm(strides[d]));
    e = e ? add(e, term) : term;
  }
  return e ? e : int_imm(0);
}

Buffer param(const std::string& name, DType dtype, int index) {
  return std::make_shared<const BufferDecl>(BufferDecl{name, dtype, BufferDecl::Scope::param, index});
}

// Wraps `body` in the loops of `order[from, to)`, innermost last.
Stmt nest(const KernelSpec& c, const std::vector<Var>& vars, const std::vector<int>& order, size_t from, size_t to,
          ForKind innermost_kind, Stmt body) {
  for (size_t i = to; i-- > from;) {
    int d = order[i];
    ForKind kind = (i + 1 == order.size()) ? innermost_kind : ForKind::serial;
    body = for_loop(vars[d], int_imm(c.dims[d].extent), kind, body);
  }
  return body;
}

}  // namespace

LoopKernel lower_to_loops(const KernelSpec& c, const sched::Schedule& s, const std::string& name) {
  if (s.loop_order.size() != c.dims.size()) throw InternalError("lower_to_loops: schedule does not cover every dim");
  if (std::string why = unsupported_by_lowering(c); !why.empty()) throw InternalError("lower_to_loops: cannot lower " + why);
  const DType dtype = c.out_dtype;
  LoopKernel k;
  k.name = name;
  k.dtype = dtype;
  k.params.push_back(param("out", dtype, 0));
  for (size_t i = 0; i < c.operands.size(); ++i) k.params.push_back(param(fmt::format("in{}", i), dtype, int(i) + 1));

  std::vector<Var> vars;
  for (size_t d = 0; d < c.dims.size(); ++d)
    vars.push_back(std::make_shared<const VarDecl>(VarDecl{fmt::format("{}{}", char(std::tolower(role_letter(c.dims[d].role))), d)}));

  Expr product;
  for (size_t i = 0; i < c.operands.size(); ++i) {
    Expr l = load(k.params[i + 1], offset(vars, c.operands[i].strides));
    product = product ? mul(product, l) : l;
  }
  const Buffer& out = k.params[0];
  Expr out_index = offset(vars, c.out_strides());
  const ForKind inner = s.vectorize_innermost ? ForKind::vectorized : ForKind::serial;
  const bool has_k = std::any_of(c.dims.begin(), c.dims.end(), [](const KernelDim& d) { return d.role == DimRole::K; });

  if (s.accumulate_in_register) {
    size_t first_k = c.out_axes.size();
    Buffer acc = std::make_shared<const BufferDecl>(BufferDecl{"acc", dtype, BufferDecl::Scope::stack, -1});
    Stmt sum = nest(c, vars, s.loop_order, first_k, s.loop_order.size(), inner,
                    store(acc, int_imm(0), add(load(acc, int_imm(0)), product)));
    Stmt per_output = allocate(acc, int_imm(1), block({store(acc, int_imm(0), zero(dtype)), sum,
                                                       store(out, out_index, load(acc, int_imm(0)))}));
    k.body = nest(c, vars, s.loop_order, 0, first_k, ForKind::serial, per_output);
  } else if (!has_k) {
    // Every output element is written exactly once.
    k.body = nest(c, vars, s.loop_order, 0, s.loop_order.size(), inner, store(out, out_index, product));
  } else {
    int64_t numel = 1;
    for (int d : c.out_axes) numel *= c.dims[d].extent;
    Var i = std::make_shared<const VarDecl>(VarDecl{"i"});
    Stmt zero_fill = for_loop(i, int_imm(numel), ForKind::vectorized, store(out, var_ref(i), zero(dtype)));
    Stmt update = store(out, out_index, add(load(out, out_index), product));
    k.body = block({zero_fill, nest(c, vars, s.loop_order, 0, s.loop_order.size(), inner, update)});
  }
  return k;
}

}  // namespace tcc::ir::loop
