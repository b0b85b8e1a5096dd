// Pass: attention as flash attention. Each task (a batch matrix and a block of q rows, on the
// threads) holds its block of q transposed, a running max m and sum l per q row, and sweeps k
// and v in blocks of rows:
//   s[j, i] = score(k[j] . q[i])                        (micro-kernels: rows j, columns i)
//   m' = max(m, max_j s[j, i]);  c = e^(m - m');  l = l c + sum_j e^(s[j, i] - m')
//   out[i] = out[i] c + sum_j e^(s[j, i] - m') v[j]       (micro-kernels: rows i, columns d)
// and divides out by l in the last block's store. The scores are held transposed so that the
// softmax's per-row max and sum run as vectors along q rows. m is clamped to the finite range
// wherever it is subtracted (as logsumexp's): a row of -inf, or one holding inf or NaN, ends
// as NaN, as softmax(x) @ v computed in full gives it.
#include "ir/loop/lower_attention.h"

#include "ir/loop/extents.h"
#include "ir/loop/index_math.h"

#include <fmt/format.h>

#include <limits>

namespace tcc::ir::loop {

namespace {

class AttentionLowering {
 public:
  AttentionLowering(const KernelSpec& c, const sched::AttentionPlan& p, const std::string& name)
      : c_(c), p_(p), dtype_(c.out_dtype), a_(c.attention_dims()), extent_(c, k_) {
    k_.name = name;
    k_.dtype = dtype_;
    const char* names[] = {"out", "q", "k", "v"};
    for (size_t i = 0; i < c.operands.size() + 1; ++i)
      k_.params.push_back(std::make_shared<const BufferDecl>(
          BufferDecl{i < 4 ? names[i] : fmt::format("s{}", i - 4), dtype_, BufferDecl::Scope::param, static_cast<int>(i)}));
    out_strides_ = c.out_strides();
  }

  LoopKernel run() {
    const int batch_dims = a_.i;
    const int64_t rows = c_.dims[a_.i].extent, block_rows = p_.block_rows;
    const int64_t q_blocks = (rows + block_rows - 1) / block_rows, full = rows / block_rows, edge = rows % block_rows;
    // Task t: q block t mod q_blocks of batch matrix t / q_blocks (the last batch dim fastest).
    Var task = new_var("task");
    Expr rest = over(v(task), q_blocks);
    const Expr q_block = q_blocks == 1 ? c64(0) : sub(v(task), times(over(v(task), q_blocks), q_blocks));
    std::vector<Expr> batch_index(batch_dims);
    for (int d = batch_dims - 1; d >= 0; --d) {
      if (d == 0) {
        batch_index[d] = rest;
        break;
      }
      const Expr e = extent_(d);
      batch_index[d] = sub(rest, mul(div(rest, e), e));
      rest = div(rest, e);
    }
    bases_.clear();
    for (int i = 0; i <= static_cast<int>(c_.operands.size()); ++i) {
      const std::vector<int64_t>& s = i == 0 ? out_strides_ : c_.operands[i - 1].strides;
      Expr base = c64(0);
      for (int d = 0; d < batch_dims; ++d) base = plus(base, times(batch_index[d], s[d]));
      bases_.push_back(base);
    }
    const Expr i0 = times(q_block, block_rows);
    Stmt body = edge == 0 ? q_rows(i0, block_rows)
                : full == 0 ? q_rows(i0, edge)
                            : if_lt(q_block, c64(full), q_rows(i0, block_rows), q_rows(i0, edge));
    std::vector<int> batch(batch_dims);
    for (int d = 0; d < batch_dims; ++d) batch[d] = d;
    const Expr tasks = q_blocks == 1 ? extent_.product(batch) : mul(extent_.product(batch), c64(q_blocks));
    k_.body = for_loop(task, tasks, p_.parallel ? ForKind::parallel : ForKind::serial, body);
    return std::move(k_);
  }

 private:
  const Buffer& param(int i) const { return k_.params[i]; }  // 0 out, 1 q, 2 k, 3 v, 4... scalars
  int64_t stride(int param_index, int dim) const {
    return param_index == 0 ? out_strides_[dim] : c_.operands[param_index - 1].strides[dim];
  }
  Buffer stack(const char* name) const {
    return std::make_shared<const BufferDecl>(BufferDecl{name, dtype_, BufferDecl::Scope::stack, -1});
  }

  // The task's `rows` q rows from row i0: its whole sweep over k and v.
  Stmt q_rows(const Expr& i0, int64_t rows) {
    const int64_t width_q = p_.block_rows, head = c_.dims[a_.e].extent, keys = c_.dims[a_.j].extent;
    qt_ = stack("q_block");
    scores_ = stack("scores");
    // A score operand strided along q rows (a mask or bias over (i, j)) is copied, block by
    // block, transposed like the scores, for their micro-kernels' store to read.
    transposed_.assign(c_.operands.size(), nullptr);
    for (size_t s = 3; s < c_.operands.size(); ++s)
      if (!read_in_store(c_.operands[s])) transposed_[s] = stack("operand_t");
    max_ = stack("max"), sum_ = stack("sum"), shift_ = stack("shift"), scale_ = stack("rescale"), new_max_ = stack("new_max");
    std::vector<Stmt> parts;
    // q's rows transposed: q_block[e, i] = q[i0 + i, e].
    Var i = new_var("i"), e = new_var("e");
    const Expr q_at = plus(bases_[1], plus(times(plus(i0, v(i)), stride(1, a_.i)), times(v(e), stride(1, a_.e))));
    parts.push_back(for_loop(i, c64(rows), ForKind::serial,
                             for_loop(e, c64(head), ForKind::serial, store(qt_, plus(times(v(e), width_q), v(i)), load(param(1), q_at)))));
    Var r = new_var("r");
    parts.push_back(for_loop(r, c64(width_q), ForKind::vectorized,
                             block_of({store(max_, v(r), float_imm(dtype_, -std::numeric_limits<double>::infinity())),
                                       store(sum_, v(r), zero(dtype_))})));
    const int64_t cols = p_.block_cols, full = keys / cols, edge = keys % cols;
    if (full > 0) {
      Var jb = new_var("jb");
      const Expr first = full == 1 ? c64(1) : select_lt(c64(0), v(jb), c64(0), c64(1));
      const Expr last = edge > 0 ? c64(0) : full == 1 ? c64(1) : select_lt(v(jb), c64(full - 1), c64(0), c64(1));
      parts.push_back(for_loop(jb, c64(full), ForKind::serial, key_rows(i0, rows, times(v(jb), cols), cols, first, last)));
    }
    if (edge > 0) parts.push_back(key_rows(i0, rows, c64(full * cols), edge, c64(full == 0 ? 1 : 0), c64(1)));
    Stmt s = block_of(std::move(parts));
    for (const Buffer& b : {max_, sum_, shift_, scale_, new_max_}) s = allocate(b, c64(width_q), s);
    s = allocate(scores_, c64(width_q * cols), s);
    for (const Buffer& t : transposed_)
      if (t) s = allocate(t, c64(width_q * cols), s);
    return allocate(qt_, c64(head * width_q), s);
  }

  // Whether the score micro-kernels' store reads a score operand where it is: the same for
  // every q row (one value per k row) or contiguous along q rows (the tiles' columns).
  bool read_in_store(const StridedOperand& op) const { return op.strides[a_.i] == 0 || op.strides[a_.i] == 1; }

  // Where score operand s is at q row i and k row j of the task's batch matrix.
  Expr operand_at(size_t s, const Expr& i, const Expr& j) const {
    const std::vector<int64_t>& st = c_.operands[s].strides;
    return plus(bases_[s + 1], plus(times(i, st[a_.i]), times(j, st[a_.j])));
  }

  // operand_t[j, i] = operand s at (i0 + i, j0 + j) for the block's `rows` q rows and `cols` k
  // rows: lanes x lanes register transposes where the operand is contiguous along k rows (a
  // mask or bias over (i, j)), element by element at the block's edges and otherwise.
  Stmt copy_transposed(size_t s, const Expr& i0, int64_t rows, const Expr& j0, int64_t cols) const {
    const int64_t width_q = p_.block_rows, L = p_.lanes;
    const std::vector<int64_t>& st = c_.operands[s].strides;
    const Buffer& src = param(static_cast<int>(s) + 1);
    const Buffer& dst = transposed_[s];
    auto element = [&](const Expr& i, const Expr& j) {
      return store(dst, plus(times(j, width_q), i), load(src, operand_at(s, plus(i0, i), plus(j0, j))));
    };
    const int64_t full_i = st[a_.j] == 1 && L > 1 ? rows / L * L : 0, full_j = full_i > 0 ? cols / L * L : 0;
    std::vector<Stmt> parts;
    if (full_i > 0 && full_j > 0) {
      Var ib = new_var("ib"), jb = new_var("jb");
      const Expr from = operand_at(s, plus(i0, times(v(ib), L)), plus(j0, times(v(jb), L)));
      Stmt t = transpose_block(dst, plus(times(v(jb), L * width_q), times(v(ib), L)), width_q, src, from, st[a_.i], static_cast<int>(L));
      parts.push_back(for_loop(jb, c64(full_j / L), ForKind::serial, for_loop(ib, c64(full_i / L), ForKind::serial, t)));
    }
    Var j = new_var("j"), i = new_var("i");
    // The q rows past the full blocks, for every k row; the k rows past them, for the others.
    if (rows > full_i)
      parts.push_back(for_loop(j, c64(cols), ForKind::serial, for_loop(i, c64(rows - full_i), ForKind::scalar, element(plus(v(i), c64(full_i)), v(j)))));
    if (cols > full_j && full_i > 0) {
      Var j2 = new_var("j"), i2 = new_var("i");
      parts.push_back(for_loop(j2, c64(cols - full_j), ForKind::serial,
                               for_loop(i2, c64(full_i), ForKind::scalar, element(v(i2), plus(v(j2), c64(full_j))))));
    }
    return block_of(std::move(parts));
  }

  static Stmt block_of(std::vector<Stmt> stmts) { return stmts.size() == 1 ? stmts[0] : block(std::move(stmts)); }

  MicroKernel tile(int rows, int cols) const {
    MicroKernel mk;
    mk.rows = rows, mk.cols = cols, mk.lanes = p_.lanes;
    mk.k_steps = p_.k_steps;
    mk.full_unroll_max_k = p_.full_unroll_max_k;
    return mk;
  }

  // A loop of micro-kernel tiles over `extent` rows or columns, the partial last one exact.
  static Stmt tiles(const Var& var, int64_t extent, int tile, TileSplit::Axis axis, Stmt body) {
    return tile_loop(var, c64((extent + tile - 1) / tile), ForKind::serial,
                     {axis, TileSplit::Style::peel, c64(extent / tile), static_cast<int>(extent % tile)}, std::move(body));
  }

  // One block of `cols` k rows from j0 for the task's `rows` q rows from i0; `first`, `last`:
  // 1 in the first and last block.
  Stmt key_rows(const Expr& i0, int64_t rows, const Expr& j0, int64_t cols, const Expr& first, const Expr& last) {
    const int64_t width_q = p_.block_rows, head = c_.dims[a_.e].extent, width = c_.dims[a_.d].extent;
    std::vector<Stmt> parts;
    for (size_t s = 3; s < c_.operands.size(); ++s)
      if (transposed_[s]) parts.push_back(copy_transposed(s, i0, rows, j0, cols));
    {  // scores[j, i] = score(k[j0 + j] . q[i0 + i])
      Var jt = new_var("jt"), it = new_var("it");
      MicroKernel mk = tile(p_.score_mr, p_.score_nr);
      const Expr row0 = times(v(jt), p_.score_mr), col0 = times(v(it), p_.score_nr);
      mk.kc = c64(head);
      mk.kc_multiple = head;
      mk.accumulate = c64(0);
      mk.a = {param(2), plus(bases_[2], times(plus(j0, row0), stride(2, a_.j))), stride(2, a_.j), stride(2, a_.e)};
      mk.b = {qt_, col0, width_q, 1};
      mk.c = {scores_, plus(times(row0, width_q), col0), width_q, 1};
      mk.place = {v(jt), v(it), nullptr};
      if (c_.program.size() > 1) {  // more than the dot product itself
        mk.epilogue = c_.program;
        for (size_t s = 3; s < c_.operands.size(); ++s) {
          // The tile's rows are k rows (j), its columns q rows (i).
          const std::vector<int64_t>& st = c_.operands[s].strides;
          if (transposed_[s]) {
            mk.epilogue_operands.push_back({transposed_[s], plus(times(row0, width_q), col0), width_q, 1});
            continue;
          }
          mk.epilogue_operands.push_back({param(static_cast<int>(s) + 1), operand_at(s, plus(i0, col0), plus(j0, row0)), st[a_.j], st[a_.i]});
        }
        mk.finish = c64(1);
      }
      Stmt t = tiles(it, rows, p_.score_nr, TileSplit::Axis::cols, micro_kernel(std::move(mk)));
      parts.push_back(tiles(jt, cols, p_.score_mr, TileSplit::Axis::rows, t));
    }
    // A vectorised loop over the q rows, body(r).
    auto over_rows = [&](auto&& body) {
      Var r = new_var("r");
      return for_loop(r, c64(rows), ForKind::vectorized, body(r));
    };
    auto score_at = [&](const Var& j, const Var& r) { return plus(times(v(j), width_q), v(r)); };
    // The block's max per q row, then the new shift, the factor the row's sums so far take and
    // the new sum's start.
    parts.push_back(over_rows([&](const Var& r) { return store(new_max_, v(r), load(max_, v(r))); }));
    {
      Var j = new_var("j"), r = new_var("r");
      parts.push_back(for_loop(j, c64(cols), ForKind::serial,
                               for_loop(r, c64(rows), ForKind::vectorized,
                                        store(new_max_, v(r), elem(ElemOp::maximum, load(new_max_, v(r)), load(scores_, score_at(j, r)))))));
    }
    parts.push_back(over_rows([&](const Var& r) {
      return block({store(shift_, v(r), clamp_to_finite(load(new_max_, v(r)))),
                    store(scale_, v(r), elem(ElemOp::exp, sub(clamp_to_finite(load(max_, v(r))), load(shift_, v(r))))),
                    store(sum_, v(r), mul(load(sum_, v(r)), load(scale_, v(r)))),
                    store(max_, v(r), load(new_max_, v(r)))});
    }));
    {  // p = e^(s - shift) in place, summed per q row
      Var j = new_var("j"), r = new_var("r");
      const Expr at = score_at(j, r);
      parts.push_back(for_loop(j, c64(cols), ForKind::serial,
                               for_loop(r, c64(rows), ForKind::vectorized,
                                        block({store(scores_, at, elem(ElemOp::exp, sub(load(scores_, at), load(shift_, v(r))))),
                                               store(sum_, v(r), add(load(sum_, v(r)), load(scores_, at)))}))));
    }
    const Expr out_row0 = plus(bases_[0], times(i0, stride(0, a_.i)));
    if (!(first->kind == ExprKind::int_imm && first->int_value == 1)) {  // out rows so far take the factor
      Var r = new_var("r"), d = new_var("d");
      const Expr at = plus(out_row0, plus(times(v(r), stride(0, a_.i)), v(d)));
      Stmt rescale = for_loop(r, c64(rows), ForKind::serial,
                              for_loop(d, c64(width), ForKind::vectorized, store(param(0), at, mul(load(param(0), at), load(scale_, v(r))))));
      parts.push_back(first->kind == ExprKind::int_imm ? rescale : if_lt(first, c64(1), rescale, nullptr));
    }
    {  // out[i0 + i] (+)= sum_j p[j, i] v[j0 + j]; / sum in the last block
      Var rt = new_var("rt"), ct = new_var("ct");
      MicroKernel mk = tile(p_.value_mr, p_.value_nr);
      const Expr row0 = times(v(rt), p_.value_mr), col0 = times(v(ct), p_.value_nr);
      mk.kc = c64(cols);
      mk.kc_multiple = cols;
      mk.accumulate = first->kind == ExprKind::int_imm ? c64(1 - first->int_value) : sub(c64(1), first);
      mk.a = {scores_, row0, 1, width_q};
      mk.b = {param(3), plus(bases_[3], plus(times(j0, stride(3, a_.j)), col0)), stride(3, a_.j), 1};
      mk.c = {param(0), plus(out_row0, plus(times(row0, stride(0, a_.i)), col0)), stride(0, a_.i), 1};
      mk.place = {v(rt), v(ct), nullptr};
      mk.epilogue = {ElemInstr{0, ElemOp::add, {}, dtype_}, ElemInstr{1, ElemOp::add, {}, dtype_}, ElemInstr{-1, ElemOp::div, {0, 1}, dtype_}};
      mk.epilogue_operands = {TileOperand{sum_, row0, 1, 0}};
      mk.finish = last;
      Stmt t = tiles(ct, width, p_.value_nr, TileSplit::Axis::cols, micro_kernel(std::move(mk)));
      parts.push_back(tiles(rt, rows, p_.value_mr, TileSplit::Axis::rows, t));
    }
    return block(std::move(parts));
  }

  const KernelSpec& c_;
  const sched::AttentionPlan& p_;
  const DType dtype_;
  const AttentionDims a_;
  LoopKernel k_;
  DimExtents extent_;  // declares k_'s scalar parameters
  std::vector<int64_t> out_strides_;
  std::vector<Expr> bases_;  // per param: its offset in the task's batch matrix
  Buffer qt_, scores_, max_, sum_, shift_, scale_, new_max_;
  std::vector<Buffer> transposed_;  // per operand: its block transposed on the stack, or null
};

}  // namespace

LoopKernel lower_attention(const KernelSpec& c, const sched::AttentionPlan& plan, const std::string& name) {
  return AttentionLowering(c, plan, name).run();
}

}  // namespace tcc::ir::loop
