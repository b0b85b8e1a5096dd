#include "ir/loop/loop_ir.h"

#include <limits>

#include <tcc/error.h>

#include <fmt/format.h>

#include <map>
#include <set>

namespace tcc::ir::loop {

namespace {
Expr make_expr(ExprNode n) { return std::make_shared<const ExprNode>(std::move(n)); }
Stmt make_stmt(StmtNode n) { return std::make_shared<const StmtNode>(std::move(n)); }
void check_same_type(const Expr& a, const Expr& b, const char* what) {
  if (a->type != b->type)
    throw InternalError(fmt::format("loop IR: {} of {} and {}", what, dtype_name(a->type), dtype_name(b->type)));
}
}  // namespace

Expr int_imm(int64_t v) { return make_expr({.kind = ExprKind::int_imm, .type = DType::i64, .int_value = v}); }
Expr zero(DType type) {
  if (is_float(type)) return make_expr({.kind = ExprKind::float_imm, .type = type});
  return make_expr({.kind = ExprKind::int_imm, .type = type});
}
Expr float_imm(DType type, double v) {
  if (!is_float(type)) throw InternalError("loop IR: a float constant of an integer dtype");
  return make_expr({.kind = ExprKind::float_imm, .type = type, .float_value = v});
}
Expr int_imm(DType type, int64_t v) {
  if (is_float(type)) throw InternalError("loop IR: an integer constant of a float dtype");
  return make_expr({.kind = ExprKind::int_imm, .type = type, .int_value = v});
}
Expr var_ref(const Var& v) { return make_expr({.kind = ExprKind::var, .type = DType::i64, .var = v}); }
Expr add(Expr a, Expr b) {
  check_same_type(a, b, "add");
  DType t = a->type;
  return make_expr({.kind = ExprKind::add, .type = t, .a = std::move(a), .b = std::move(b)});
}
Expr sub(Expr a, Expr b) {
  check_same_type(a, b, "sub");
  DType t = a->type;
  return make_expr({.kind = ExprKind::sub, .type = t, .a = std::move(a), .b = std::move(b)});
}
Expr div(Expr a, Expr b) {
  if (a->type != DType::i64 || b->type != DType::i64) throw InternalError("loop IR: div of non-i64 values");
  return make_expr({.kind = ExprKind::div, .type = DType::i64, .a = std::move(a), .b = std::move(b)});
}
Expr min(Expr a, Expr b) {
  check_same_type(a, b, "min");
  DType t = a->type;
  return make_expr({.kind = ExprKind::min, .type = t, .a = std::move(a), .b = std::move(b)});
}
Expr select_lt(Expr a, Expr b, Expr t, Expr f) {
  check_same_type(a, b, "compare");
  check_same_type(t, f, "select");
  DType type = t->type;
  return make_expr({.kind = ExprKind::select_lt, .type = type, .a = std::move(a), .b = std::move(b),
                    .t = std::move(t), .f = std::move(f)});
}
Expr mul(Expr a, Expr b) {
  check_same_type(a, b, "mul");
  DType t = a->type;
  return make_expr({.kind = ExprKind::mul, .type = t, .a = std::move(a), .b = std::move(b)});
}
Expr elem(ElemOp op, Expr a, Expr b) {
  if ((b != nullptr) != (elem_op_info(op).arity == 2)) throw InternalError("loop IR: wrong arity for " + std::string(elem_op_name(op)));
  if (b) check_same_type(a, b, elem_op_name(op).data());
  DType t = a->type;
  return make_expr({.kind = ExprKind::elem, .type = t, .a = std::move(a), .b = std::move(b), .elem = op});
}
Expr convert(Expr a, DType to) {
  return make_expr({.kind = ExprKind::elem, .type = to, .a = std::move(a), .elem = ElemOp::cast});
}
Expr apply_instr(const ElemInstr& in, Expr a, Expr b) {
  return in.op == ElemOp::cast ? convert(std::move(a), in.to) : elem(in.op, std::move(a), std::move(b));
}
Expr clamp_to_finite(Expr a) {
  const DType t = a->type;
  const double most = visit_dtype(t, [](auto zero) { return double(std::numeric_limits<decltype(zero)>::max()); });
  return elem(ElemOp::minimum, elem(ElemOp::maximum, std::move(a), float_imm(t, -most)), float_imm(t, most));
}
Expr load(const Buffer& buffer, Expr index) {
  return make_expr({.kind = ExprKind::load, .type = buffer->dtype, .buffer = buffer, .index = std::move(index)});
}

Stmt for_loop(const Var& v, Expr extent, ForKind kind, Stmt body) {
  return make_stmt({.kind = StmtKind::for_loop, .var = v, .extent = std::move(extent), .for_kind = kind,
                    .body = std::move(body)});
}
Stmt store(const Buffer& buffer, Expr index, Expr value) {
  return make_stmt({.kind = StmtKind::store, .buffer = buffer, .index = std::move(index), .value = std::move(value)});
}
Stmt block(std::vector<Stmt> stmts) {
  if (stmts.size() == 1) return stmts[0];
  return make_stmt({.kind = StmtKind::block, .stmts = std::move(stmts)});
}
Stmt if_lt(Expr lhs, Expr rhs, Stmt then, Stmt otherwise) {
  return make_stmt({.kind = StmtKind::if_lt, .body = std::move(then), .lhs = std::move(lhs), .rhs = std::move(rhs),
                    .otherwise = std::move(otherwise)});
}

Stmt transpose_block(const Buffer& dst, Expr dst_offset, int64_t dst_stride, const Buffer& src, Expr src_offset,
                     int64_t src_stride, int lanes) {
  return make_stmt({.kind = StmtKind::transpose_block, .buffer = dst, .index = std::move(dst_offset), .src = src,
                    .src_index = std::move(src_offset),
                    .transpose = {.lanes = lanes, .dst_stride = dst_stride, .src_stride = src_stride}});
}

std::vector<Expr*> MicroKernel::exprs() {
  std::vector<Expr*> all{&kc, &accumulate, &a.offset, &b.offset, &c.offset, &place.tile_row, &place.tile_col, &place.b_matrix, &finish, &skip_rows};
  for (PrefetchStream& p : prefetch) all.push_back(&p.offset);
  for (TileOperand& o : epilogue_operands) all.push_back(&o.offset);
  all.push_back(&out.offset);
  return all;
}

std::vector<const Expr*> MicroKernel::exprs() const {
  std::vector<Expr*> all = const_cast<MicroKernel*>(this)->exprs();
  return {all.begin(), all.end()};
}

Stmt micro_kernel(MicroKernel mk) {
  return make_stmt({.kind = StmtKind::micro_kernel, .micro = std::make_shared<const MicroKernel>(std::move(mk))});
}
Stmt tile_loop(const Var& v, Expr extent, ForKind kind, TileSplit split, Stmt body) {
  return make_stmt({.kind = StmtKind::for_loop, .var = v, .extent = std::move(extent), .for_kind = kind,
                    .body = std::move(body), .tiles = std::make_shared<const TileSplit>(std::move(split))});
}

Stmt pack_panels(PackPanels pack) {
  return make_stmt({.kind = StmtKind::pack_panels, .pack = std::make_shared<const PackPanels>(std::move(pack))});
}

Stmt parallel_task(TaskCaptures captures, const Var& v, Expr extent, Stmt body) {
  return make_stmt({.kind = StmtKind::parallel_task, .var = v, .extent = std::move(extent), .body = std::move(body),
                    .task = std::make_shared<const TaskCaptures>(std::move(captures))});
}

Stmt allocate(const Buffer& buffer, Expr extent, Stmt body) {
  return make_stmt({.kind = StmtKind::allocate, .extent = std::move(extent), .body = std::move(body), .buffer = buffer});
}

void IRVisitor::visit(const Expr& e) {
  if (e->a) visit(e->a);
  if (e->b) visit(e->b);
  if (e->t) visit(e->t);
  if (e->f) visit(e->f);
  if (e->index) visit(e->index);
}

void IRVisitor::visit(const Stmt& s) {
  if (s->extent) visit(s->extent);
  if (s->index) visit(s->index);
  if (s->value) visit(s->value);
  if (s->src_index) visit(s->src_index);
  if (s->lhs) visit(s->lhs);
  if (s->rhs) visit(s->rhs);
  if (s->body) visit(s->body);
  if (s->otherwise) visit(s->otherwise);
  for (const Stmt& c : s->stmts) visit(c);
  if (s->micro)
    for (const Expr* e : s->micro->exprs())
      if (*e) visit(*e);
  if (s->pack)
    for (const Expr& e : {s->pack->src_offset, s->pack->first_panel, s->pack->panels, s->pack->k_block, s->pack->kc})
      visit(e);
  if (s->tiles) visit(s->tiles->full);
}

Expr IRMutator::mutate(const Expr& e) {
  auto m = [&](const Expr& x) { return x ? mutate(x) : nullptr; };
  Expr a = m(e->a), b = m(e->b), t = m(e->t), f = m(e->f), index = m(e->index);
  if (a == e->a && b == e->b && t == e->t && f == e->f && index == e->index) return e;
  ExprNode n = *e;
  n.a = a, n.b = b, n.t = t, n.f = f, n.index = index;
  return make_expr(std::move(n));
}

Stmt IRMutator::mutate(const Stmt& s) {
  Expr extent = s->extent ? mutate(s->extent) : nullptr, index = s->index ? mutate(s->index) : nullptr;
  Expr value = s->value ? mutate(s->value) : nullptr, src_index = s->src_index ? mutate(s->src_index) : nullptr;
  Stmt body = s->body ? mutate(s->body) : nullptr, otherwise = s->otherwise ? mutate(s->otherwise) : nullptr;
  Expr lhs = s->lhs ? mutate(s->lhs) : nullptr, rhs = s->rhs ? mutate(s->rhs) : nullptr;
  std::vector<Stmt> stmts;
  bool changed = extent != s->extent || index != s->index || value != s->value || src_index != s->src_index ||
                 body != s->body ||
                 otherwise != s->otherwise || lhs != s->lhs || rhs != s->rhs;
  for (const Stmt& c : s->stmts) {
    stmts.push_back(mutate(c));
    changed = changed || stmts.back() != c;
  }
  std::shared_ptr<const MicroKernel> micro = s->micro;
  if (micro) {
    MicroKernel mk = *micro;
    bool micro_changed = false;
    for (Expr* e : mk.exprs()) {
      Expr m = *e ? mutate(*e) : nullptr;
      micro_changed = micro_changed || m != *e;
      *e = m;
    }
    if (micro_changed) {
      micro = std::make_shared<const MicroKernel>(std::move(mk));
      changed = true;
    }
  }
  std::shared_ptr<const PackPanels> pack = s->pack;
  if (pack) {
    PackPanels p = *pack;
    bool pack_changed = false;
    for (Expr* e : {&p.src_offset, &p.first_panel, &p.panels, &p.k_block, &p.kc}) {
      Expr m = mutate(*e);
      pack_changed = pack_changed || m != *e;
      *e = m;
    }
    if (pack_changed) {
      pack = std::make_shared<const PackPanels>(std::move(p));
      changed = true;
    }
  }
  std::shared_ptr<const TileSplit> tiles = s->tiles;
  if (tiles) {
    Expr full = mutate(tiles->full);
    if (full != tiles->full) {
      TileSplit t = *tiles;
      t.full = full;
      tiles = std::make_shared<const TileSplit>(std::move(t));
      changed = true;
    }
  }
  if (!changed) return s;
  StmtNode n = *s;
  n.pack = pack;
  n.tiles = tiles;
  n.extent = extent, n.index = index, n.value = value, n.src_index = src_index, n.body = body,
  n.stmts = std::move(stmts), n.micro = micro;
  n.lhs = lhs, n.rhs = rhs, n.otherwise = otherwise;
  return make_stmt(std::move(n));
}

namespace {

class Printer {
 public:
  std::string kernel(const LoopKernel& k) {
    std::vector<std::string> params;
    for (const Buffer& b : k.params) params.push_back(fmt::format("{}* {}", dtype_name(b->dtype), name(b)));
    for (const Var& v : k.scalar_params) params.push_back(fmt::format("i64 {}", name(v)));
    out_ = fmt::format("kernel {}({}) {{\n", k.name, fmt::join(params, ", "));
    stmt(k.body, 1);
    return out_ + "}\n";
  }

 private:
  // Unique, stable names in order of first appearance.
  std::string name(const Buffer& b) { return unique(b.get(), b->name); }
  std::string name(const Var& v) { return unique(v.get(), v->name); }
  std::string unique(const void* key, const std::string& base) {
    if (auto it = names_.find(key); it != names_.end()) return it->second;
    std::string n = base;
    for (int i = 1; used_.count(n); ++i) n = fmt::format("{}.{}", base, i);
    used_.insert(n);
    return names_[key] = n;
  }

  std::string expr(const Expr& e) {
    switch (e->kind) {
      case ExprKind::int_imm: return std::to_string(e->int_value);
      case ExprKind::float_imm: return fmt::format("{}f", e->float_value);
      case ExprKind::var: return name(e->var);
      case ExprKind::add: return fmt::format("({} + {})", expr(e->a), expr(e->b));
      case ExprKind::sub: return fmt::format("({} - {})", expr(e->a), expr(e->b));
      case ExprKind::min: return fmt::format("min({}, {})", expr(e->a), expr(e->b));
      case ExprKind::select_lt:
        return fmt::format("({} < {} ? {} : {})", expr(e->a), expr(e->b), expr(e->t), expr(e->f));
      case ExprKind::mul: return fmt::format("{} * {}", operand(e->a), operand(e->b));
      case ExprKind::div: return fmt::format("({} / {})", expr(e->a), expr(e->b));
      case ExprKind::load: return fmt::format("{}[{}]", name(e->buffer), expr(e->index));
      case ExprKind::elem:
        if (e->elem == ElemOp::cast) return fmt::format("cast<{}>({})", dtype_name(e->type), expr(e->a));
        return e->b ? fmt::format("{}({}, {})", elem_op_name(e->elem), expr(e->a), expr(e->b))
                    : fmt::format("{}({})", elem_op_name(e->elem), expr(e->a));
    }
    return "?";
  }
  std::string operand(const Expr& e) { return expr(e); }

  void stmt(const Stmt& s, int depth) {
    std::string pad(2 * depth, ' ');
    switch (s->kind) {
      case StmtKind::for_loop:
        out_ += fmt::format("{}for{} {} in 0..{} {{{}\n", pad,
                            s->for_kind == ForKind::vectorized ? ".vectorized"
                            : s->for_kind == ForKind::streaming ? ".streaming"
                            : s->for_kind == ForKind::parallel ? ".parallel"
                            : s->for_kind == ForKind::scalar   ? ".scalar"
                                                               : "",
                            name(s->var), expr(s->extent), tiles(s));
        stmt(s->body, depth + 1);
        out_ += pad + "}\n";
        break;
      case StmtKind::pack_panels: {
        const PackPanels& p = *s->pack;
        out_ += fmt::format("{}pack {} panels [{} +{}) of {}[{}] k block {} ({} rows) into {}\n", pad,
                            p.operand == PackPanels::Operand::a ? "A" : "B", expr(p.first_panel), expr(p.panels),
                            name(p.src), expr(p.src_offset), expr(p.k_block), expr(p.kc), name(p.dst));
        break;
      }
      case StmtKind::parallel_task: {
        std::vector<std::string> captured;
        for (const Var& v : s->task->vars) captured.push_back(name(v));
        for (const Buffer& b : s->task->buffers) captured.push_back(name(b));
        out_ += fmt::format("{}for.parallel {} in 0..{} {{ task {} captures({})\n", pad, name(s->var), expr(s->extent),
                            s->task->name, fmt::join(captured, ", "));
        stmt(s->body, depth + 1);
        out_ += pad + "}\n";
        break;
      }
      case StmtKind::store:
        out_ += fmt::format("{}{}[{}] = {}\n", pad, name(s->buffer), expr(s->index), expr(s->value));
        break;
      case StmtKind::block:
        for (const Stmt& c : s->stmts) stmt(c, depth);
        break;
      case StmtKind::micro_kernel: {
        const MicroKernel& mk = *s->micro;
        auto operand = [&](const TileOperand& o) {
          return fmt::format("{}[{} + i*{} + j*{}]", name(o.buffer), expr(o.offset), o.stride_i, o.stride_j);
        };
        std::string prefetch;
        for (const PrefetchStream& p : mk.prefetch)
          prefetch += fmt::format("\n{}  prefetch {}[{} + s*{}] segments={} of {}", pad, name(p.buffer), expr(p.offset),
                                  p.segment_stride, p.segments, p.segment_elements);
        out_ += fmt::format("{}micro_kernel {}x{} lanes={} kc={} accumulate={}{}{}{}{}\n{}  C={} A={} B={}{}\n", pad, mk.rows,
                            mk.cols, mk.lanes, expr(mk.kc), expr(mk.accumulate),
                            mk.skip_rows ? fmt::format(" skip_rows={}", expr(mk.skip_rows)) : "",
                            mk.k_steps ? fmt::format(" k_steps={}", mk.k_steps) : "",
                            mk.kc_multiple > 1 && mk.kc->kind != ExprKind::int_imm
                                ? fmt::format(" kc_multiple={}", mk.kc_multiple) : "",
                            mk.prefetch_c ? " prefetch_c" : "",
                            pad, operand(mk.c), operand(mk.a), operand(mk.b), prefetch);
        if (!mk.epilogue.empty()) {
          std::vector<std::string> reads;
          for (size_t i = 0; i < mk.epilogue_operands.size(); ++i) reads.push_back(fmt::format("x{}={}", i + 1, operand(mk.epilogue_operands[i])));
          out_ += fmt::format("{}  epilogue when {}: {}{}{}{}\n", pad, expr(mk.finish), elem_program_str(mk.epilogue),
                              reads.empty() ? "" : " ", fmt::join(reads, " "), mk.out.buffer ? " into " + operand(mk.out) : "");
        }
        break;
      }
      case StmtKind::transpose_block:
        out_ += fmt::format("{}transpose_block {}x{} {}[{} + r*{} + c] = {}[{} + c*{} + r]\n", pad, s->transpose.lanes,
                            s->transpose.lanes, name(s->buffer), expr(s->index), s->transpose.dst_stride,
                            name(s->src), expr(s->src_index), s->transpose.src_stride);
        break;
      case StmtKind::if_lt:
        out_ += fmt::format("{}if {} < {} {{\n", pad, expr(s->lhs), expr(s->rhs));
        stmt(s->body, depth + 1);
        if (s->otherwise) {
          out_ += pad + "} else {\n";
          stmt(s->otherwise, depth + 1);
        }
        out_ += pad + "}\n";
        break;
      case StmtKind::allocate:
        out_ += fmt::format("{}allocate {}: {}[{}] on {} {{\n", pad, name(s->buffer), dtype_name(s->buffer->dtype),
                            expr(s->extent), s->buffer->scope == BufferDecl::Scope::heap ? "heap" : "stack");
        stmt(s->body, depth + 1);
        out_ += pad + "}\n";
        break;
    }
  }

  // " tiles(rows full=F edge=E peel)" on a loop the tails pass has yet to split.
  std::string tiles(const Stmt& s) {
    if (!s->tiles) return "";
    const TileSplit& t = *s->tiles;
    static const char* styles[] = {"branch", "peel", "remainder"};
    return fmt::format(" tiles({} full={} edge={} {}{})", t.axis == TileSplit::Axis::rows ? "rows" : "cols", expr(t.full),
                       t.edge, styles[static_cast<int>(t.style)],
                       t.edge_k_steps ? fmt::format(" edge_k_steps={}", t.edge_k_steps) : "");
  }

  std::string out_;
  std::map<const void*, std::string> names_;
  std::set<std::string> used_;
};

class Verifier : public IRVisitor {
 public:
  explicit Verifier(const LoopKernel& k) : scratch_bytes_(k.scratch_bytes) {
    for (const Var& v : k.scalar_params)
      if (!vars_.insert(v.get()).second) fail("scalar parameter " + v->name + " declared twice");
    for (size_t i = 0; i < k.params.size(); ++i) {
      if (k.params[i]->scope != BufferDecl::Scope::param || k.params[i]->param_index != static_cast<int>(i))
        fail("parameter buffers must be numbered in order");
      buffers_.insert(k.params[i].get());
    }
  }
  void visit(const Expr& e) override {
    if (e->kind == ExprKind::var && !vars_.count(e->var.get())) fail("var " + e->var->name + " used outside its loop");
    if (e->kind == ExprKind::load) check_access(e->buffer, e->index);
    if (e->a && e->b && e->a->type != e->b->type) fail("operand types differ");
    if (e->kind == ExprKind::select_lt && (e->a->type != DType::i64 || e->t->type != e->f->type || e->t->type != e->type))
      fail("select_lt types");
    IRVisitor::visit(e);
  }
  void visit(const Stmt& s) override {
    switch (s->kind) {
      case StmtKind::for_loop:
        if (s->extent->type != DType::i64) fail("loop extent must be i64");
        if (s->tiles && s->tiles->full->type != DType::i64) fail("tile loop's full count must be i64");
        if (s->tiles) visit(s->tiles->full);
        visit(s->extent);
        if (!vars_.insert(s->var.get()).second) fail("var " + s->var->name + " bound twice");
        visit(s->body);
        vars_.erase(s->var.get());
        return;
      case StmtKind::parallel_task: {
        // The body sees only what it captures, and its index.
        if (s->extent->type != DType::i64) fail("task extent must be i64");
        visit(s->extent);
        std::set<const void*> task_vars{s->var.get()}, task_buffers;
        for (const Var& v : s->task->vars) {
          if (!vars_.count(v.get())) fail("task " + s->task->name + " captures var " + v->name + " outside its scope");
          task_vars.insert(v.get());
        }
        for (const Buffer& b : s->task->buffers) {
          if (!buffers_.count(b.get())) fail("task " + s->task->name + " captures buffer " + b->name + " outside its scope");
          task_buffers.insert(b.get());
        }
        std::swap(vars_, task_vars);
        std::swap(buffers_, task_buffers);
        visit(s->body);
        std::swap(vars_, task_vars);
        std::swap(buffers_, task_buffers);
        return;
      }
      case StmtKind::store:
        check_access(s->buffer, s->index);
        if (s->value->type != s->buffer->dtype) fail("stored value type differs from the buffer's");
        break;
      case StmtKind::transpose_block:
        check_access(s->buffer, s->index);
        check_access(s->src, s->src_index);
        if (s->src->dtype != s->buffer->dtype) fail("transpose_block copies between buffers of one dtype");
        if (s->transpose.lanes < 1 || (s->transpose.lanes & (s->transpose.lanes - 1)) != 0)
          fail("transpose_block lanes must be a power of two");
        break;
      case StmtKind::micro_kernel: {
        const MicroKernel& mk = *s->micro;
        if (mk.rows < 1 || mk.cols < 1 || mk.lanes < 1) fail("micro_kernel tile must be at least 1x1");
        for (const TileOperand* o : {&mk.a, &mk.b, &mk.c}) check_access(o->buffer, o->offset);
        if (mk.b.stride_j != 1 || mk.c.stride_j != 1) fail("micro_kernel B and C columns must be contiguous");
        if (mk.a.buffer->dtype != mk.c.buffer->dtype || mk.b.buffer->dtype != mk.c.buffer->dtype)
          fail("micro_kernel operand types differ");
        if (mk.kc->type != DType::i64 || mk.accumulate->type != DType::i64) fail("micro_kernel kc/accumulate not i64");
        if (mk.skip_rows && mk.skip_rows->type != DType::i64) fail("micro_kernel skip_rows not i64");
        if (!mk.epilogue.empty() && (!mk.finish || mk.finish->type != DType::i64)) fail("micro_kernel epilogue without an i64 finish");
        for (const TileOperand& o : mk.epilogue_operands)
          if (o.stride_j != 0 && o.stride_j != 1) fail("micro_kernel epilogue operand neither per row nor contiguous");
        if (mk.out.buffer) {
          if (mk.epilogue.empty()) fail("micro_kernel output other than C without an epilogue");
          check_access(mk.out.buffer, mk.out.offset);
          if (mk.out.stride_i != mk.c.stride_i || mk.out.stride_j != mk.c.stride_j) fail("micro_kernel output strides differ from C's");
        }
        if (mk.k_steps < 1) fail("micro_kernel k_steps must be at least 1");
        if (mk.kc_multiple < 1) fail("micro_kernel kc_multiple must be at least 1");
        if (mk.kc->kind == ExprKind::int_imm && mk.kc->int_value % mk.kc_multiple != 0)
          fail("micro_kernel kc is not a multiple of its kc_multiple");
        for (const PrefetchStream& p : mk.prefetch) {
          check_access(p.buffer, p.offset);
          if (p.segments < 1 || p.segment_elements < 1) fail("micro_kernel prefetch stream is empty");
        }
        if (!mk.prefetch.empty() && mk.kc->kind != ExprKind::int_imm) fail("micro_kernel prefetch needs a constant kc");
        break;
      }
      case StmtKind::allocate:
        if (s->buffer->scope == BufferDecl::Scope::param) fail("allocate of a parameter buffer");
        if (s->buffer->scope == BufferDecl::Scope::heap) check_scratch(s);
        if (!buffers_.insert(s->buffer.get()).second) fail("buffer allocated twice");
        IRVisitor::visit(s);
        buffers_.erase(s->buffer.get());
        return;
      case StmtKind::pack_panels:
        check_access(s->pack->dst, s->pack->first_panel);
        check_access(s->pack->src, s->pack->src_offset);
        for (const Expr& e : {s->pack->panels, s->pack->k_block, s->pack->kc})
          if (e->type != DType::i64) fail("pack_panels sizes must be i64");
        if (s->pack->dst->dtype != s->pack->src->dtype) fail("pack_panels copies between buffers of one dtype");
        break;
      case StmtKind::if_lt:
        if (s->lhs->type != DType::i64 || s->rhs->type != DType::i64) fail("if_lt operands must be i64");
        if (!s->body) fail("if_lt without a body");
        break;
      case StmtKind::block:
        break;
    }
    IRVisitor::visit(s);
  }

 private:
  void check_access(const Buffer& b, const Expr& index) {
    if (!buffers_.count(b.get())) fail("buffer " + b->name + " used outside its scope");
    if (index->type != DType::i64) fail("index must be i64");
  }
  // A heap buffer lies inside the kernel's scratch block, 64-byte aligned.
  void check_scratch(const Stmt& s) const {
    const int64_t offset = s->buffer->scratch_offset;
    if (s->extent->kind != ExprKind::int_imm) fail("heap allocation of non-constant size");
    const int64_t bytes = s->extent->int_value * static_cast<int64_t>(dtype_size(s->buffer->dtype));
    if (offset < 0 || offset % 64 != 0 || offset + bytes > scratch_bytes_)
      fail("heap buffer " + s->buffer->name + " outside the kernel's scratch block");
  }
  [[noreturn]] static void fail(const std::string& why) { throw InternalError("verify_kernel: " + why); }
  int64_t scratch_bytes_ = 0;
  std::set<const void*> vars_, buffers_;
};

}  // namespace

std::string print_kernel(const LoopKernel& k) { return Printer().kernel(k); }

void verify_kernel(const LoopKernel& k) {
  if (!k.body) throw InternalError("verify_kernel: no body");
  Verifier(k).visit(k.body);
}

}  // namespace tcc::ir::loop
