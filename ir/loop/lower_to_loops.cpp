#include "ir/loop/lower_to_loops.h"

#include "ir/loop/epilogue.h"
#include "ir/loop/extents.h"
#include "ir/loop/index_math.h"

#include <tcc/error.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace tcc::ir::loop {

namespace {

// sum over dims of index * stride, leaving out stride-0 terms; each dim's index is its var,
// except dim `replaced` (if any), whose index is `with`.
Expr offset(const std::vector<Var>& vars, const std::vector<int64_t>& strides, int replaced = -1, Expr with = nullptr) {
  Expr e;
  for (size_t d = 0; d < vars.size(); ++d) {
    if (strides[d] == 0) continue;
    Expr index = static_cast<int>(d) == replaced ? with : var_ref(vars[d]);
    Expr term = strides[d] == 1 ? index : mul(index, int_imm(strides[d]));
    e = e ? add(e, term) : term;
  }
  return e ? e : int_imm(0);
}

Buffer param(const std::string& name, DType dtype, int index) {
  return std::make_shared<const BufferDecl>(BufferDecl{name, dtype, BufferDecl::Scope::param, index});
}

// Wraps `body` in the loops of `order[from, to)`, innermost last.
Stmt nest(const DimExtents& extent, const std::vector<Var>& vars, const std::vector<int>& order, size_t from, size_t to,
          ForKind innermost_kind, Stmt body) {
  for (size_t i = to; i-- > from;) {
    int d = order[i];
    ForKind kind = (i + 1 == order.size()) ? innermost_kind : ForKind::serial;
    body = for_loop(vars[d], extent(d), kind, body);
  }
  return body;
}

// A copy by lanes x lanes register transposes over the rows x cols plane, with the plane's
// partial strips (rows or columns past the last full block) copied element by element.
Stmt transpose_plane(const KernelSpec& c, const sched::TransposeCopy& t, const Buffer& out, const Buffer& in,
                     Expr out_base, Expr in_base) {
  const int64_t L = t.lanes, R = c.dims[t.rows].extent, C = c.dims[t.cols].extent;
  const int64_t ro = c.out_strides()[t.rows], ci = c.operands[0].strides[t.cols];
  const int64_t Rf = R / L * L, Cf = C / L * L;
  std::vector<Stmt> parts;
  // Blocks in tiles of t.tile x t.tile blocks: a tile's source and destination rows stay in
  // L2 and its pages in the TLB while its blocks are transposed.
  const int64_t RB = R / L, CB = C / L, T = std::max<int64_t>(1, t.tile);
  // A side of at most one tile has no tile loop.
  Var rt = new_var("rt"), ct = new_var("ct"), rb = new_var("rb"), cb = new_var("cb");
  auto block_index = [&](const Var& tile, const Var& in_tile, int64_t blocks) {
    return blocks <= T ? v(in_tile) : plus(times(v(tile), T), v(in_tile));
  };
  auto tile_extent = [&](const Var& tile, int64_t blocks) {
    return blocks <= T ? c64(blocks) : min(c64(T), sub(c64(blocks), times(v(tile), T)));
  };
  auto tile_loop = [&](const Var& tile, int64_t blocks, Stmt body) {
    return blocks <= T ? body : for_loop(tile, c64((blocks + T - 1) / T), ForKind::serial, body);
  };
  Expr row_block = block_index(rt, rb, RB), col_block = block_index(ct, cb, CB);
  Stmt tile = transpose_block(out, plus(out_base, plus(times(row_block, L * ro), times(col_block, L))), ro, in,
                              plus(in_base, plus(times(row_block, L), times(col_block, L * ci))), ci, static_cast<int>(L));
  Stmt blocks = for_loop(rb, tile_extent(rt, RB), ForKind::serial, for_loop(cb, tile_extent(ct, CB), ForKind::serial, tile));
  parts.push_back(tile_loop(rt, RB, tile_loop(ct, CB, blocks)));
  // out[r, c] = in[r, c] over rows [r0, r0 + nr) and columns [c0, c0 + nc).
  auto strip = [&](int64_t r0, int64_t nr, int64_t c0, int64_t nc) {
    Var r = new_var("r"), col = new_var("c");
    Expr rr = plus(v(r), c64(r0)), cc = plus(v(col), c64(c0));
    Stmt copy = store(out, plus(out_base, plus(times(rr, ro), cc)), load(in, plus(in_base, plus(rr, times(cc, ci)))));
    return for_loop(r, c64(nr), ForKind::serial, for_loop(col, c64(nc), ForKind::serial, copy));
  };
  if (C > Cf && Rf > 0) parts.push_back(strip(0, Rf, Cf, C - Cf));
  if (R > Rf) parts.push_back(strip(Rf, R - Rf, 0, C));
  return block(std::move(parts));
}

}  // namespace

LoopKernel lower_to_loops(const KernelSpec& c, const sched::Schedule& s, const std::string& name) {
  if (s.loop_order.size() != c.dims.size()) throw InternalError("lower_to_loops: schedule does not cover every dim");
  if (std::string why = unsupported_by_lowering(c); !why.empty()) throw InternalError("lower_to_loops: cannot lower " + why);
  const DType dtype = c.acc_dtype;  // of the sums (the output's, unless an epilogue converts)
  LoopKernel k;
  k.name = name;
  k.dtype = dtype;
  k.params.push_back(param("out", c.out_dtype, 0));
  for (size_t i = 0; i < c.operands.size(); ++i) k.params.push_back(param(fmt::format("in{}", i), c.operands[i].dtype, int(i) + 1));
  const std::vector<Buffer> epilogue_params = add_epilogue_params(c, k);
  const Buffer accumulator = add_accumulator_param(c, k);
  const DimExtents extent(c, k);

  std::vector<Var> vars;
  for (size_t d = 0; d < c.dims.size(); ++d)
    vars.push_back(std::make_shared<const VarDecl>(VarDecl{fmt::format("{}{}", char(std::tolower(role_letter(c.dims[d].role))), d)}));

  // The product of the operands, with dim `replaced`'s index `with` (as offset()).
  auto product_at = [&](int replaced, Expr with) {
    Expr product;
    for (size_t i = 0; i < c.operands.size(); ++i) {
      Expr l = load(k.params[i + 1], offset(vars, c.operands[i].strides, replaced, with));
      product = product ? mul(product, l) : l;
    }
    return product;
  };
  // An element-wise step's expression, each operand read at the loop vars' offset.
  auto elementwise_value = [&](int replaced, Expr with) {
    return evaluate_program<Expr>(
        c.program, [&](int i) { return load(k.params[i + 1], offset(vars, c.operands[i].strides, replaced, with)); },
        apply_instr);
  };
  // The value at the loop vars, dim `replaced`'s index `with` (as offset()).
  auto value_at = [&](int replaced, Expr with) {
    return c.kind == StepKind::elementwise ? elementwise_value(replaced, with) : product_at(replaced, with);
  };
  Expr product = value_at(-1, nullptr);
  // A reduction starts from its identity and combines each product into the accumulator.
  const ReductionIdentity identity = reduction_identity(c.combine, dtype);
  const Expr start = is_float(dtype) ? float_imm(dtype, identity.value) : int_imm(dtype, identity.int_value);
  // logsumexp's first sweep takes the max (its second, in the register schedule, the sum).
  const ElemOp first_sweep = c.combine == ElemOp::logaddexp && s.accumulate_in_register ? ElemOp::maximum : c.combine;
  auto combine = [&](Expr acc, Expr value) { return first_sweep == ElemOp::add ? add(acc, value) : elem(first_sweep, acc, value); };
  const Buffer& out = k.params[0];
  // The epilogue of a result stored at the loop vars (dim `replaced`'s index `with`).
  auto finish = [&](Expr value, int replaced = -1, Expr with = nullptr) {
    return epilogue_value(c, epilogue_params, std::move(value),
                          [&](const std::vector<int64_t>& strides) { return offset(vars, strides, replaced, with); });
  };
  const std::vector<int64_t> out_strides = c.out_strides();
  Expr out_index = offset(vars, out_strides);
  const ForKind inner = s.stream_stores ? ForKind::streaming : s.vectorize_innermost ? ForKind::vectorized : ForKind::serial;
  const bool has_k = std::any_of(c.dims.begin(), c.dims.end(), [](const KernelDim& d) { return d.role == DimRole::K; });

  if (s.transpose) {
    // The plane's origin: every other dim's offset.
    std::vector<int64_t> outer_out = out_strides, outer_in = c.operands[0].strides;
    for (int d : {s.transpose->rows, s.transpose->cols}) outer_out[d] = outer_in[d] = 0;
    Stmt plane = transpose_plane(c, *s.transpose, out, k.params[1], offset(vars, outer_out), offset(vars, outer_in));
    for (size_t i = s.loop_order.size(); i-- > 0;) {
      const int d = s.loop_order[i];
      if (d == s.transpose->rows || d == s.transpose->cols) continue;
      plane = for_loop(vars[d], extent(d), ForKind::serial, plane);
    }
    k.body = plane;
  } else if (s.accumulate_in_register) {
    size_t first_k = c.out_axes.size();
    Buffer acc = std::make_shared<const BufferDecl>(BufferDecl{"acc", dtype, BufferDecl::Scope::stack, -1});
    // logsumexp sums in two sweeps, the second from cache: the max m, then m + log(sum
    // e^(x - m)), with m clamped to the finite range (all -inf: log 0 = -inf; an inf: inf; NaN
    // stays). `total` holds the second sweep's sums.
    const bool logsumexp = c.combine == ElemOp::logaddexp;
    Buffer total = std::make_shared<const BufferDecl>(BufferDecl{"total", dtype, BufferDecl::Scope::stack, -1});
    // Sums `rows` outputs side by side (rows r0 + j of dim `row`), each in its accumulator;
    // rows == 1 with no row dim: the output the loop vars index.
    auto sums = [&](int row, Expr r0, int64_t rows) {
      std::vector<Stmt> body, update, second_sweep, stores;
      for (int64_t j = 0; j < rows; ++j) {
        Expr r = row < 0 ? nullptr : plus(r0, c64(j));
        body.push_back(store(acc, c64(j), start));
        update.push_back(store(acc, c64(j), combine(load(acc, c64(j)), product_at(row, r))));
        Expr result = load(acc, c64(j));
        if (logsumexp) {
          Expr shift = clamp_to_finite(result);
          second_sweep.push_back(store(total, c64(j), add(load(total, c64(j)), elem(ElemOp::exp, sub(product_at(row, r), shift)))));
          result = add(shift, elem(ElemOp::log, load(total, c64(j))));
        }
        stores.push_back(store(out, offset(vars, out_strides, row, r), finish(result, row, r)));
      }
      auto k_loops = [&](std::vector<Stmt> sweep) {
        return nest(extent, vars, s.loop_order, first_k, s.loop_order.size(), inner, block(std::move(sweep)));
      };
      body.push_back(k_loops(std::move(update)));
      if (logsumexp) {
        for (int64_t j = 0; j < rows; ++j) body.push_back(store(total, c64(j), zero(dtype)));
        body.push_back(k_loops(std::move(second_sweep)));
      }
      body.insert(body.end(), stores.begin(), stores.end());
      Stmt sums_of_rows = block(std::move(body));
      if (logsumexp) sums_of_rows = allocate(total, c64(rows), sums_of_rows);
      return allocate(acc, c64(rows), sums_of_rows);
    };
    if (s.dot_rows > 1 && first_k >= 1) {
      // Several rows at once: each operand streams that many rows side by side (more misses
      // in flight), and the operand they share is loaded once for all of them.
      const int row = s.loop_order[first_k - 1];
      const int64_t R = s.dot_rows, E = c.dims[row].extent;
      Var rb = new_var("rb"), rr = new_var("rr");
      std::vector<Stmt> parts;
      const ForKind blocks = s.parallel_rows ? ForKind::parallel : ForKind::serial;
      if (E / R > 0) parts.push_back(for_loop(rb, c64(E / R), blocks, sums(row, times(v(rb), R), R)));
      if (E % R) parts.push_back(for_loop(rr, c64(E % R), ForKind::serial, sums(row, plus(v(rr), c64(E / R * R)), 1)));
      k.body = nest(extent, vars, s.loop_order, 0, first_k - 1, ForKind::serial, block(std::move(parts)));
    } else {
      k.body = nest(extent, vars, s.loop_order, 0, first_k, ForKind::serial, sums(-1, nullptr, 1));
    }
  } else if (!has_k && s.parallel_outer && s.parallel_block > 0) {
    // One loop on threads, in blocks.
    const int d = s.loop_order.front();
    const int64_t block_size = s.parallel_block;
    Var blk = new_var("blk"), i = new_var("i");
    Expr index = plus(times(v(blk), block_size), v(i));
    Stmt body = store(out, offset(vars, out_strides, d, index), finish(value_at(d, index), d, index));
    body = for_loop(i, min(c64(block_size), sub(extent(d), times(v(blk), block_size))), inner, body);
    k.body = for_loop(blk, over_rounding_up(extent(d), block_size), ForKind::parallel, body);
  } else if (!has_k) {
    // Every output element is written exactly once.
    k.body = nest(extent, vars, s.loop_order, s.parallel_outer ? 1 : 0, s.loop_order.size(), inner, store(out, out_index, finish(product)));
    if (s.parallel_outer) k.body = for_loop(vars[s.loop_order.front()], extent(s.loop_order.front()), ForKind::parallel, k.body);
  } else {
    // Sums in the output, or in the accumulator when the epilogue converts them.
    const Buffer& sums = accumulator ? accumulator : out;
    Var i = std::make_shared<const VarDecl>(VarDecl{"i"});
    Stmt zero_fill = for_loop(i, extent.product(c.out_axes), ForKind::vectorized, store(sums, var_ref(i), start));
    Stmt update = store(sums, out_index, combine(load(sums, out_index), product));
    k.body = block({zero_fill, nest(extent, vars, s.loop_order, 0, s.loop_order.size(), inner, update)});
    // Sums finish only after the whole loop nest: the epilogue is a pass of its own.
    if (!c.epilogue.empty()) k.body = block({k.body, epilogue_over_output(c, sums, out, extent, epilogue_params)});
  }
  return k;
}

}  // namespace tcc::ir::loop
