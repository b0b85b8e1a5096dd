#include "ir/loop/loop_ir.h"

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
Expr var_ref(const Var& v) { return make_expr({.kind = ExprKind::var, .type = DType::i64, .var = v}); }
Expr add(Expr a, Expr b) {
  check_same_type(a, b, "add");
  DType t = a->type;
  return make_expr({.kind = ExprKind::add, .type = t, .a = std::move(a), .b = std::move(b)});
}
Expr mul(Expr a, Expr b) {
  check_same_type(a, b, "mul");
  DType t = a->type;
  return make_expr({.kind = ExprKind::mul, .type = t, .a = std::move(a), .b = std::move(b)});
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
Stmt allocate(const Buffer& buffer, Expr extent, Stmt body) {
  return make_stmt({.kind = StmtKind::allocate, .body = std::move(body), .buffer = buffer, .index = std::move(extent)});
}

void IRVisitor::visit(const Expr& e) {
  if (e->a) visit(e->a);
  if (e->b) visit(e->b);
  if (e->index) visit(e->index);
}

void IRVisitor::visit(const Stmt& s) {
  if (s->extent) visit(s->extent);
  if (s->index) visit(s->index);
  if (s->value) visit(s->value);
  if (s->body) visit(s->body);
  for (const Stmt& c : s->stmts) visit(c);
}

Expr IRMutator::mutate(const Expr& e) {
  Expr a = e->a ? mutate(e->a) : nullptr, b = e->b ? mutate(e->b) : nullptr;
  Expr index = e->index ? mutate(e->index) : nullptr;
  if (a == e->a && b == e->b && index == e->index) return e;
  ExprNode n = *e;
  n.a = a, n.b = b, n.index = index;
  return make_expr(std::move(n));
}

Stmt IRMutator::mutate(const Stmt& s) {
  Expr extent = s->extent ? mutate(s->extent) : nullptr, index = s->index ? mutate(s->index) : nullptr;
  Expr value = s->value ? mutate(s->value) : nullptr;
  Stmt body = s->body ? mutate(s->body) : nullptr;
  std::vector<Stmt> stmts;
  bool changed = extent != s->extent || index != s->index || value != s->value || body != s->body;
  for (const Stmt& c : s->stmts) {
    stmts.push_back(mutate(c));
    changed = changed || stmts.back() != c;
  }
  if (!changed) return s;
  StmtNode n = *s;
  n.extent = extent, n.index = index, n.value = value, n.body = body, n.stmts = std::move(stmts);
  return make_stmt(std::move(n));
}

namespace {

class Printer {
 public:
  std::string kernel(const LoopKernel& k) {
    std::vector<std::string> params;
    for (const Buffer& b : k.params) params.push_back(fmt::format("{}* {}", dtype_name(b->dtype), name(b)));
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
      case ExprKind::mul: return fmt::format("{} * {}", operand(e->a), operand(e->b));
      case ExprKind::load: return fmt::format("{}[{}]", name(e->buffer), expr(e->index));
    }
    return "?";
  }
  std::string operand(const Expr& e) { return expr(e); }

  void stmt(const Stmt& s, int depth) {
    std::string pad(2 * depth, ' ');
    switch (s->kind) {
      case StmtKind::for_loop:
        out_ += fmt::format("{}for{} {} in 0..{} {{\n", pad, s->for_kind == ForKind::vectorized ? ".vectorized" : "",
                            name(s->var), expr(s->extent));
        stmt(s->body, depth + 1);
        out_ += pad + "}\n";
        break;
      case StmtKind::store:
        out_ += fmt::format("{}{}[{}] = {}\n", pad, name(s->buffer), expr(s->index), expr(s->value));
        break;
      case StmtKind::block:
        for (const Stmt& c : s->stmts) stmt(c, depth);
        break;
      case StmtKind::allocate:
        out_ += fmt::format("{}allocate {}: {}[{}] on stack {{\n", pad, name(s->buffer), dtype_name(s->buffer->dtype),
                            expr(s->index));
        stmt(s->body, depth + 1);
        out_ += pad + "}\n";
        break;
    }
  }

  std::string out_;
  std::map<const void*, std::string> names_;
  std::set<std::string> used_;
};

class Verifier : public IRVisitor {
 public:
  explicit Verifier(const LoopKernel& k) {
    for (size_t i = 0; i < k.params.size(); ++i) {
      if (k.params[i]->scope != BufferDecl::Scope::param || k.params[i]->param_index != static_cast<int>(i))
        fail("parameter buffers must be numbered in order");
      buffers_.insert(k.params[i].get());
    }
  }
  void visit(const Expr& e) override {
    if (e->kind == ExprKind::var && !vars_.count(e->var.get())) fail("var " + e->var->name + " used outside its loop");
    if (e->kind == ExprKind::load) check_access(e->buffer, e->index);
    if ((e->kind == ExprKind::add || e->kind == ExprKind::mul) && e->a->type != e->b->type) fail("operand types differ");
    IRVisitor::visit(e);
  }
  void visit(const Stmt& s) override {
    switch (s->kind) {
      case StmtKind::for_loop:
        if (s->extent->type != DType::i64) fail("loop extent must be i64");
        visit(s->extent);
        if (!vars_.insert(s->var.get()).second) fail("var " + s->var->name + " bound twice");
        visit(s->body);
        vars_.erase(s->var.get());
        return;
      case StmtKind::store:
        check_access(s->buffer, s->index);
        if (s->value->type != s->buffer->dtype) fail("stored value type differs from the buffer's");
        break;
      case StmtKind::allocate:
        if (s->buffer->scope != BufferDecl::Scope::stack) fail("allocate of a non-stack buffer");
        if (!buffers_.insert(s->buffer.get()).second) fail("buffer allocated twice");
        IRVisitor::visit(s);
        buffers_.erase(s->buffer.get());
        return;
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
  [[noreturn]] static void fail(const std::string& why) { throw InternalError("verify_kernel: " + why); }
  std::set<const void*> vars_, buffers_;
};

}  // namespace

std::string print_kernel(const LoopKernel& k) { return Printer().kernel(k); }

void verify_kernel(const LoopKernel& k) {
  if (!k.body) throw InternalError("verify_kernel: no body");
  Verifier(k).visit(k.body);
}

}  // namespace tcc::ir::loop
