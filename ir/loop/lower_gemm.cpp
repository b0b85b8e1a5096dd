// Pass: KernelSpec + GemmPlan -> the loop skeleton around the micro-kernel, every tile full
// size in tile loops that say how their partial last tile is made exact (the tails pass):
//   in place: outer dims > row tiles > column tiles > micro-kernel over all of K (on threads,
//             the row edge is the parallel loop's last iteration, else a tile after the loop);
//   packed:   outer dims > ic (mc) > pc (kc) > [pack A~] > jc (nc) > pack B~ > ir > jr >
//             micro-kernel over kc; the packing is a pack_panels statement the pack pass
//             expands; A is packed only when strided along k (else read in place)
//             (BLIS's five loops with A and B exchanged: C's rows are the vectors.)
// Prefetches are the prefetch pass's. An epilogue runs in the micro-kernel's store on the last
// K block; where it cannot (an outer summed dim, an epilogue operand gathered along C's rows),
// in a pass over C after the GEMM.
#include "ir/loop/lower_gemm.h"

#include "ir/loop/epilogue.h"
#include "ir/loop/extents.h"
#include "ir/loop/index_math.h"

#include <tcc/error.h>

#include <fmt/format.h>

#include <numeric>

namespace tcc::ir::loop {

using sched::GemmPlan;

namespace {

class GemmLowering {
 public:
  GemmLowering(const KernelSpec& c, const GemmPlan& p, const std::string& name)
      : c_(c), p_(p), dtype_(c.acc_dtype), extent_(c, k_) {
    k_.name = name;
    k_.dtype = dtype_;
    k_.params.push_back(std::make_shared<const BufferDecl>(BufferDecl{"out", c.out_dtype, BufferDecl::Scope::param, 0}));
    k_.params.push_back(param("in0", 1));
    k_.params.push_back(param("in1", 2));
    epilogue_params_ = add_epilogue_params(c, k_);
    accumulator_ = add_accumulator_param(c, k_);
    out_strides_ = c.out_strides();
    const sched::GemmSizes sizes = sched::gemm_sizes(c, p);
    M_ = sizes.M, N_ = sizes.N, K_ = sizes.K;
    symbolic_m_ = p.m >= 0 && c.dims[p.m].symbolic();
    M_rows_ = symbolic_m_ ? extent_(p.m) : c64(M_);
    epilogue_in_store_ = epilogue_in_store(c, p);
  }

  LoopKernel run() {
    // Offsets of the current outer iteration in A, B and C.
    std::vector<Var> outer_vars;
    Expr a0 = c64(0), b0 = c64(0), c0 = c64(0);
    epilogue_base_.assign(c_.epilogue_operands.size(), c64(0));
    for (int d : p_.outer) {
      Var var = new_var(fmt::format("o{}", d));
      outer_vars.push_back(var);
      a0 = plus(a0, times(v(var), strides(p_.a)[d]));
      b0 = plus(b0, times(v(var), strides(p_.b)[d]));
      c0 = plus(c0, times(v(var), out_strides_[d]));
      for (size_t i = 0; i < epilogue_base_.size(); ++i)
        epilogue_base_[i] = plus(epilogue_base_[i], times(v(var), c_.epilogue_operands[i].strides[d]));
    }
    Stmt body = p_.pack ? packed(a0, b0, c0) : in_place(a0, b0, c0);
    // Parallel over the batch, each task packs into blocks of its own (GemmPlan::packs_on_stack).
    const bool per_task_blocks = p_.packs_on_stack;
    if (per_task_blocks) body = allocate_packed(body);
    for (size_t i = p_.outer.size(); i-- > 0;) {
      const bool parallel = i == 0 && p_.parallel == GemmPlan::Parallel::outer;
      const Expr extent = extent_(p_.outer[i]);
      Stmt loop = for_loop(outer_vars[i], extent, parallel ? ForKind::parallel : ForKind::serial, body);
      // A symbolic batch too small for threads runs serially (GemmPlan::min_parallel).
      if (parallel && p_.min_parallel > 0)
        loop = if_lt(extent, c64(p_.min_parallel), for_loop(outer_vars[i], extent, ForKind::serial, body), loop);
      body = loop;
    }
    if (p_.outer_reduction) body = block({zero_output(), body});
    if (!c_.epilogue.empty() && !epilogue_in_store_)
      body = block({body, epilogue_over_output(c_, C(), Out(), extent_, epilogue_params_)});
    if (p_.pack && !per_task_blocks) body = allocate_packed(body);
    k_.body = body;
    k_.scratch_bytes = p_.scratch.bytes;
    return std::move(k_);
  }

  Stmt allocate_packed(Stmt body) const {
    body = allocate(packed_b_, c64(p_.kc * p_.nc), body);
    return p_.pack_a ? allocate(packed_a_, c64(p_.mc * p_.kc), body) : body;
  }

 private:
  Buffer param(const std::string& name, int index) {
    return std::make_shared<const BufferDecl>(BufferDecl{name, dtype_, BufferDecl::Scope::param, index});
  }
  const std::vector<int64_t>& strides(int operand) const { return c_.operands[operand].strides; }
  int64_t stride(int operand, int dim) const { return sched::plan_stride(c_, operand, dim); }
  const Buffer& A() const { return k_.params[1 + p_.a]; }
  const Buffer& B() const { return k_.params[1 + p_.b]; }
  // The sums: the output, or the accumulator when the epilogue converts them to another dtype.
  const Buffer& C() const { return accumulator_ ? accumulator_ : k_.params[0]; }
  const Buffer& Out() const { return k_.params[0]; }
  int64_t rs_c() const { return p_.m < 0 ? 0 : out_strides_[p_.m]; }
  Expr accumulate_always() const { return c64(p_.outer_reduction ? 1 : 0); }

  Stmt zero_output() {
    Var i = new_var("i");
    return for_loop(i, extent_.product(c_.out_axes), ForKind::vectorized, store(C(), v(i), zero(dtype_)));
  }

  // 1 on the last iteration of `block` (of `blocks`), else 0: where results are final.
  static Expr on_last(const Var& block, int64_t blocks) {
    return blocks <= 1 ? c64(1) : select_lt(v(block), c64(blocks - 1), c64(0), c64(1));
  }

  // The epilogue of the tile whose first element is C's (row0, col0), applied where `finish`
  // (stored into the output, at C's place, when C is the accumulator).
  void add_epilogue(MicroKernel& mk, const Expr& row0, const Expr& col0, Expr finish) const {
    if (!epilogue_in_store_) return;
    mk.epilogue = c_.epilogue;
    mk.finish = std::move(finish);
    if (accumulator_) {
      mk.out = mk.c;
      mk.out.buffer = Out();
    }
    for (size_t i = 0; i < c_.epilogue_operands.size(); ++i) {
      const std::vector<int64_t>& s = c_.epilogue_operands[i].strides;
      const int64_t row_stride = p_.m < 0 ? 0 : s[p_.m];
      mk.epilogue_operands.push_back(
          {epilogue_params_[i], plus(epilogue_base_[i], plus(times(row0, row_stride), times(col0, s[p_.n]))), row_stride, s[p_.n]});
    }
  }

  MicroKernel tile(int rows, int cols) const {
    MicroKernel mk;
    mk.rows = rows, mk.cols = cols, mk.lanes = p_.lanes;
    // Packed edge rows (a small share of the work) take fewer k steps per iteration, as the
    // tails pass gives a static edge.
    mk.k_steps = p_.pack && rows < p_.mr ? p_.edge_k_steps : p_.k_steps;
    mk.full_unroll_max_k = p_.full_unroll_max_k;
    mk.prefetch_locality = p_.prefetch_locality;
    return mk;
  }

  // One tile at (row0, col0), reading A and B in place; `row_tile` is its row in tiles.
  Stmt in_place_tile(const Expr& a0, const Expr& b0, const Expr& c0, const Expr& row_tile, const Expr& row0,
                     const Expr& col0, int rows, int cols) {
    MicroKernel mk = tile(rows, cols);
    mk.kc = c64(K_);
    mk.accumulate = accumulate_always();
    Expr a_k0 = c64(0), b_k0 = c64(0);  // where the k range starts (k sweeps)
    Expr finish = c64(1);
    if (k_sweep_) {
      finish = on_last(k_sweep_, (K_ + p_.sweep_kc - 1) / p_.sweep_kc);
      mk.kc = min(c64(p_.sweep_kc), sub(c64(K_), times(v(k_sweep_), p_.sweep_kc)));
      mk.kc_multiple = std::gcd(p_.sweep_kc, K_);
      if (!p_.outer_reduction) mk.accumulate = select_lt(c64(0), v(k_sweep_), c64(1), c64(0));
      a_k0 = times(v(k_sweep_), p_.sweep_kc * stride(p_.a, p_.k));
      b_k0 = times(v(k_sweep_), p_.sweep_kc * stride(p_.b, p_.k));
    }
    mk.a = {A(), plus(plus(a0, a_k0), times(row0, stride(p_.a, p_.m))), stride(p_.a, p_.m), stride(p_.a, p_.k)};
    mk.b = {B(), plus(plus(b0, b_k0), times(col0, stride(p_.b, p_.n))), stride(p_.b, p_.k), 1};
    mk.c = {C(), plus(c0, plus(times(row0, rs_c()), col0)), rs_c(), 1};
    mk.place = {row_tile, nullptr, b0};
    add_epilogue(mk, row0, col0, finish);
    return micro_kernel(std::move(mk));
  }

  // The tiles of one row block (rows tall) at row0, left to right: C is written in row order,
  // the A block stays in L1 while B (small enough to be read in place) streams from L2.
  // The column edge is a tile of its own after the loop (split_tails).
  Stmt in_place_row(const Expr& a0, const Expr& b0, const Expr& c0, const Expr& row_tile, const Expr& row0, int rows) {
    const int64_t full = N_ / p_.nr, edge = N_ % p_.nr;
    Var jt = new_var("jt");
    ForKind kind = p_.parallel == GemmPlan::Parallel::column_tiles ? ForKind::parallel : ForKind::serial;
    return tile_loop(jt, c64(full + (edge > 0 ? 1 : 0)), kind,
                     {TileSplit::Axis::cols, TileSplit::Style::peel, c64(full), static_cast<int>(edge)},
                     in_place_tile(a0, b0, c0, row_tile, row0, times(v(jt), p_.nr), rows, p_.nr));
  }

  // The rows past the full tiles of a symbolic M: edge = M mod mr (< mr) rows from row
  // `first`, as tiles of the powers of two in its binary form (8 + 2 + 1 for 11), each a
  // compile-time height that runs when its bit is set. `row_block(row0, rows)` makes one.
  template <typename RowBlock>
  Stmt symbolic_edge_rows(const Expr& first, const Expr& edge, RowBlock&& row_block) const {
    std::vector<Stmt> parts;
    int64_t top = 1;
    while (top * 2 < p_.mr) top *= 2;
    for (int64_t b = top; b >= 1; b /= 2) {
      // Bit b of edge is set when edge / b is odd; the tile starts after the higher bits' rows.
      Expr higher = times(over(edge, 2 * b), 2 * b);
      Expr bit = sub(over(edge, b), times(over(edge, 2 * b), 2));
      parts.push_back(if_lt(c64(0), bit, row_block(plus(first, higher), static_cast<int>(b)), nullptr));
    }
    return block(std::move(parts));
  }

  Stmt in_place(const Expr& a0, const Expr& b0, const Expr& c0) {
    if (p_.sweep_kc > 0 && !k_sweep_ && !p_.columns_outer) {
      // K swept in blocks, every column tile per block: neighbouring tiles read neighbouring
      // pieces of the same B rows, which the hardware prefetcher can follow.
      k_sweep_ = new_var("ks");
      Stmt body = in_place(a0, b0, c0);
      return for_loop(k_sweep_, c64((K_ + p_.sweep_kc - 1) / p_.sweep_kc), ForKind::serial, body);
    }
    const bool on_threads = p_.parallel == GemmPlan::Parallel::row_tiles;
    Var it = new_var("it");
    if (symbolic_m_) {
      // Full tiles, then the edge rows; on threads (from min_parallel tiles on) the edge rows
      // are the parallel loop's last iteration, not a serial tail.
      const Expr full = over(M_rows_, p_.mr);
      const Expr edge_rows = sub(M_rows_, times(full, p_.mr));
      Stmt row = in_place_row(a0, b0, c0, v(it), times(v(it), p_.mr), p_.mr);
      Stmt edge = symbolic_edge_rows(times(full, p_.mr), edge_rows, [&](const Expr& row0, int rows) {
        return in_place_row(a0, b0, c0, full, row0, rows);
      });
      Stmt serial = block({for_loop(it, full, ForKind::serial, row), edge});
      if (!on_threads) return serial;
      Stmt parallel = for_loop(it, over_rounding_up(M_rows_, p_.mr), ForKind::parallel,
                               if_lt(v(it), full, row, edge));
      return p_.min_parallel > 0 ? if_lt(full, c64(p_.min_parallel), serial, parallel) : parallel;
    }
    if (p_.columns_outer) {
      // Each column of tiles top to bottom: its B panel comes from memory once and stays in L2
      // for the row tiles below the first. On threads, the column edge is the parallel loop's
      // last iteration.
      const bool columns_on_threads = p_.parallel == GemmPlan::Parallel::column_tiles;
      const int64_t full_rows = M_ / p_.mr, edge_rows = M_ % p_.mr, full_cols = N_ / p_.nr, edge_cols = N_ % p_.nr;
      Var jt = new_var("jt");
      // K in blocks (sweep_kc), each through every row tile: a whole panel of B rows 4 KiB
      // apart would not stay in L2 (they share too few of its sets).
      if (p_.sweep_kc > 0) k_sweep_ = new_var("ks");
      Stmt column = tile_loop(it, c64(full_rows + (edge_rows > 0 ? 1 : 0)), ForKind::serial,
                              {TileSplit::Axis::rows, TileSplit::Style::peel, c64(full_rows), static_cast<int>(edge_rows)},
                              in_place_tile(a0, b0, c0, v(it), times(v(it), p_.mr), times(v(jt), p_.nr), p_.mr, p_.nr));
      if (k_sweep_) column = for_loop(k_sweep_, c64((K_ + p_.sweep_kc - 1) / p_.sweep_kc), ForKind::serial, column);
      const auto style = columns_on_threads && full_cols > 0 ? TileSplit::Style::branch : TileSplit::Style::peel;
      return tile_loop(jt, c64(full_cols + (edge_cols > 0 ? 1 : 0)), columns_on_threads ? ForKind::parallel : ForKind::serial,
                       {TileSplit::Axis::cols, style, c64(full_cols), static_cast<int>(edge_cols)}, column);
    }
    const int64_t full = M_ / p_.mr, edge = M_ % p_.mr;
    // On threads the edge row block is the parallel loop's last iteration, not a serial tail.
    const auto style = on_threads && full > 0 ? TileSplit::Style::branch : TileSplit::Style::peel;
    return tile_loop(it, c64(full + (edge > 0 ? 1 : 0)), on_threads ? ForKind::parallel : ForKind::serial,
                     {TileSplit::Axis::rows, style, c64(full), static_cast<int>(edge)},
                     in_place_row(a0, b0, c0, v(it), times(v(it), p_.mr), p_.mr));
  }

  Stmt packed(const Expr& a0, const Expr& b0, const Expr& c0) {
    const auto scope = p_.packs_on_stack ? BufferDecl::Scope::stack : BufferDecl::Scope::heap;
    const bool heap = scope == BufferDecl::Scope::heap;
    packed_a_ = std::make_shared<const BufferDecl>(
        BufferDecl{"packed_a", dtype_, scope, -1, heap ? p_.scratch.packed_a_offset : -1});
    packed_b_ = std::make_shared<const BufferDecl>(
        BufferDecl{"packed_b", dtype_, scope, -1, heap ? p_.scratch.packed_b_offset : -1});
    Var jc = new_var("jc"), pc = new_var("pc"), ic = new_var("ic"), ir = new_var("ir");
    const int64_t jc_blocks = (N_ + p_.nc - 1) / p_.nc, pc_blocks = (K_ + p_.kc - 1) / p_.kc;
    const Expr ic_blocks = over_rounding_up(M_rows_, p_.mc);
    // Sizes of the current blocks: full ones except the last.
    Expr kc = min(c64(p_.kc), sub(c64(K_), times(v(pc), p_.kc)));
    // Panels in the current nc / mc block: ceil(min(nc, N - jc*nc) / nr).
    const int64_t n_panels_total = (N_ + p_.nr - 1) / p_.nr;
    const Expr m_panels_total = over_rounding_up(M_rows_, p_.mr);
    Expr n_panels = min(c64(p_.nc / p_.nr), sub(c64(n_panels_total), times(v(jc), p_.nc / p_.nr)));
    Expr m_panels = min(c64(p_.mc / p_.mr), sub(m_panels_total, times(v(ic), p_.mc / p_.mr)));

    // Tiles of exact size: full mr x nr ones, then the block's edge column panel and its edge
    // row panel as tiles of the rows and columns that exist (masked vectors at the column
    // edge; the packed B panel is zero-padded, so its loads need no mask). A padded tile whose
    // rows went through a stack copy had cost 7% on 96 x 128x64·(128x64)ᵀ (128 = 21 x 6 + 2).
    Expr m_full = min(c64(p_.mc / p_.mr), sub(over(M_rows_, p_.mr), times(v(ic), p_.mc / p_.mr)));
    Expr n_full = min(c64(p_.nc / p_.nr), sub(c64(N_ / p_.nr), times(v(jc), p_.nc / p_.nr)));
    const int edge_rows = static_cast<int>(M_ % p_.mr), edge_cols = static_cast<int>(N_ % p_.nr);
    Expr accumulate = p_.outer_reduction ? c64(1) : select_lt(c64(0), v(pc), c64(1), c64(0));
    // The results are final on the last K block.
    Expr finish = on_last(pc, pc_blocks);
    // A tile whose rows start at row0, `panel_row` its row panel in the block.
    auto packed_tile = [&](const Expr& panel_row, const Expr& row0, const Expr& panel_col, int rows, int cols,
                           const Expr& skip_rows) {
      Expr col0 = plus(times(v(jc), p_.nc), times(panel_col, p_.nr));
      MicroKernel mk = tile(rows, cols);
      mk.skip_rows = skip_rows;
      mk.kc = kc;
      mk.kc_multiple = std::gcd(p_.kc, K_);  // every block is kc long but the last, K - n kc
      mk.accumulate = accumulate;
      if (p_.pack_a) mk.a = {packed_a_, times(panel_row, p_.kc * p_.mr), 1, p_.mr};
      else mk.a = {A(), plus(a0, plus(times(row0, stride(p_.a, p_.m)), times(v(pc), p_.kc))), stride(p_.a, p_.m), 1};
      mk.b = {packed_b_, times(panel_col, p_.kc * p_.nr), p_.nr, 1};
      mk.c = {C(), plus(c0, plus(times(row0, rs_c()), col0)), rs_c(), 1};
      mk.place = {panel_row, panel_col, b0};
      add_epilogue(mk, row0, col0, finish);
      return micro_kernel(std::move(mk));
    };
    // One A micro-panel (L1) meets every B micro-panel of the block (L2) along a row of tiles.
    // The edge column panels are a loop of 0 or 1 iteration (only the last block has one); the
    // edge row panel is the row loop's last iteration (on threads, not a serial tail): the full
    // tile moved up to end at row M (GemmPlan::shift_edge_rows), or else a tile of the edge
    // rows with fewer k steps per iteration, as it is a small share of the work (split_tails).
    // One row of tiles (rows tall, from row0) across the block's column panels.
    auto tile_row = [&](const Expr& panel_row, const Expr& row0, int rows, const Expr& skip_rows = nullptr) {
      Var jr = new_var("jr");
      return tile_loop(jr, edge_cols > 0 ? n_panels : n_full, ForKind::serial,
                       {TileSplit::Axis::cols, TileSplit::Style::remainder, n_full, edge_cols},
                       packed_tile(panel_row, row0, v(jr), rows, p_.nr, skip_rows));
    };
    const Expr block_row0 = times(v(ic), p_.mc);
    // Where row panel `panel_row` of the block starts, and its rows not to store: moved up to
    // end at row M (GemmPlan::shift_edge_rows), the last panel overlaps the one above.
    struct PanelRows {
      Expr row0, skip;
    };
    auto panel_rows = [&](const Expr& panel_row) -> PanelRows {
      Expr natural = plus(block_row0, times(panel_row, p_.mr));
      if (!p_.shift_edge_rows) return {natural, nullptr};
      Expr row0 = min(natural, c64(M_ - p_.mr));
      return {row0, sub(natural, row0)};
    };
    // The loop over the block's row panels: every one a full tile when the edge is shifted,
    // else the last one the edge rows' tile (split_tails).
    auto row_panel_loop = [&](const Var& var, ForKind kind, Stmt body) {
      if (p_.shift_edge_rows) return for_loop(var, m_panels, kind, std::move(body));
      return tile_loop(var, m_panels, kind, {TileSplit::Axis::rows, TileSplit::Style::branch, m_full, edge_rows, p_.edge_k_steps},
                       std::move(body));
    };
    const ForKind row_kind = p_.parallel == GemmPlan::Parallel::row_panels ? ForKind::parallel : ForKind::serial;
    Stmt s;
    if (p_.parallel == GemmPlan::Parallel::column_panels) {
      // The block's column panels on threads, each down every row panel: a thread reads the
      // B panels it packed itself (the same share of the panels), from its own L2.
      Var jr = new_var("jr"), ir_in = new_var("ir");
      const PanelRows rows = panel_rows(v(ir_in));
      Stmt column = row_panel_loop(ir_in, ForKind::serial, packed_tile(v(ir_in), rows.row0, v(jr), p_.mr, p_.nr, rows.skip));
      s = tile_loop(jr, edge_cols > 0 ? n_panels : n_full, ForKind::parallel,
                    {TileSplit::Axis::cols, TileSplit::Style::branch, n_full, edge_cols}, column);
    } else if (symbolic_m_) {
      // Full row panels, then (in the last block) the edge rows in runtime tiles: the row
      // loop's last iteration, which on threads is not a serial tail.
      const Expr edge_row0 = plus(block_row0, times(m_full, p_.mr));
      const Expr edge = sub(min(c64(p_.mc), sub(M_rows_, block_row0)), times(m_full, p_.mr));
      Stmt edge_rows = symbolic_edge_rows(edge_row0, edge, [&](const Expr& row0, int rows) { return tile_row(m_full, row0, rows); });
      s = for_loop(ir, m_panels, row_kind,
                   if_lt(v(ir), m_full, tile_row(v(ir), plus(block_row0, times(v(ir), p_.mr)), p_.mr), edge_rows));
    } else {
      const PanelRows rows = panel_rows(v(ir));
      s = row_panel_loop(ir, row_kind, tile_row(v(ir), rows.row0, p_.mr, rows.skip));
    }
    s = block({pack_panels({PackPanels::Operand::b, packed_b_, B(), b0, times(v(jc), p_.nc / p_.nr), n_panels, v(pc), kc}), s});
    s = for_loop(jc, c64(jc_blocks), ForKind::serial, s);
    if (p_.pack_a)
      s = block({pack_panels({PackPanels::Operand::a, packed_a_, A(), a0, times(v(ic), p_.mc / p_.mr), m_panels, v(pc), kc}), s});
    s = for_loop(pc, c64(pc_blocks), ForKind::serial, s);
    return for_loop(ic, ic_blocks, ForKind::serial, s);
  }

  const KernelSpec& c_;
  const GemmPlan& p_;
  const DType dtype_;  // of operands and sums (the output's too, unless the epilogue converts)
  LoopKernel k_;
  DimExtents extent_;  // declares k_'s scalar parameters
  std::vector<int64_t> out_strides_;
  int64_t M_ = 1, N_ = 1, K_ = 1;  // M: the planned rows when symbolic
  bool symbolic_m_ = false;
  Expr M_rows_;  // the rows: M_, or the symbol's parameter
  Buffer packed_a_, packed_b_;
  Var k_sweep_;  // set while lowering the body of a k sweep
  std::vector<Buffer> epilogue_params_;
  Buffer accumulator_;  // the accumulator parameter, or null (sums in the output)
  bool epilogue_in_store_ = false;  // else a pass over C after the GEMM
  std::vector<Expr> epilogue_base_;  // each epilogue operand's offset in the current outer iteration
};

}  // namespace

bool epilogue_in_store(const KernelSpec& c, const sched::GemmPlan& plan) {
  bool in_store = !c.epilogue.empty() && !plan.outer_reduction;
  for (const StridedOperand& op : c.epilogue_operands) in_store = in_store && (op.strides[plan.n] == 0 || op.strides[plan.n] == 1);
  return in_store;
}

LoopKernel lower_gemm(const KernelSpec& c, const sched::GemmPlan& plan, const std::string& name) {
  return GemmLowering(c, plan, name).run();
}

}  // namespace tcc::ir::loop
