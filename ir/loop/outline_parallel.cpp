#include "ir/loop/outline_parallel.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace tcc::ir::loop {

namespace {

// The vars and buffers a statement uses but does not bind (loops, allocations), in order of
// first use.
class FreeNames : public IRVisitor {
 public:
  std::vector<Var> vars;
  std::vector<Buffer> buffers;

  void visit(const Expr& e) override {
    if (e->kind == ExprKind::var) use(e->var);
    if (e->kind == ExprKind::load) use(e->buffer);
    IRVisitor::visit(e);
  }
  void visit(const Stmt& s) override {
    switch (s->kind) {
      case StmtKind::for_loop:
        visit(s->extent);
        bound_vars_.insert(s->var.get());
        visit(s->body);
        return;
      case StmtKind::parallel_task:
        visit(s->extent);
        for (const Var& v : s->task->vars) use(v);
        for (const Buffer& b : s->task->buffers) use(b);
        return;  // its body sees only its captures
      case StmtKind::allocate:
        visit(s->extent);
        bound_buffers_.insert(s->buffer.get());
        visit(s->body);
        return;
      case StmtKind::store:
        use(s->buffer);
        break;
      case StmtKind::transpose_block:
        use(s->buffer);
        use(s->src);
        break;
      case StmtKind::pack_panels:
        use(s->pack->dst);
        use(s->pack->src);
        break;
      case StmtKind::micro_kernel:
        for (const TileOperand* o : {&s->micro->a, &s->micro->b, &s->micro->c}) use(o->buffer);
        for (const PrefetchStream& p : s->micro->prefetch) use(p.buffer);
        for (const TileOperand& o : s->micro->epilogue_operands) use(o.buffer);
        if (s->micro->out.buffer) use(s->micro->out.buffer);
        break;
      default:
        break;
    }
    IRVisitor::visit(s);
  }

 private:
  void use(const Var& v) {
    if (!bound_vars_.count(v.get()) && std::find(vars.begin(), vars.end(), v) == vars.end()) vars.push_back(v);
  }
  void use(const Buffer& b) {
    if (!bound_buffers_.count(b.get()) && std::find(buffers.begin(), buffers.end(), b) == buffers.end())
      buffers.push_back(b);
  }
  std::set<const void*> bound_vars_, bound_buffers_;
};

class Outliner : public IRMutator {
 public:
  explicit Outliner(std::string kernel) : kernel_(std::move(kernel)) {}
  using IRMutator::mutate;
  Stmt mutate(const Stmt& s) override {
    if (s->kind != StmtKind::for_loop || s->for_kind != ForKind::parallel) return IRMutator::mutate(s);
    Stmt body = mutate(s->body);  // inner parallel loops first
    FreeNames names;
    names.visit(body);
    TaskCaptures captures{fmt::format("{}.par{}", kernel_, tasks_++), {}, std::move(names.buffers)};
    for (const Var& v : names.vars)
      if (v != s->var) captures.vars.push_back(v);
    return parallel_task(std::move(captures), s->var, s->extent, std::move(body));
  }

 private:
  std::string kernel_;
  int tasks_ = 0;
};

}  // namespace

LoopKernel outline_parallel(LoopKernel k) {
  k.body = Outliner(k.name).mutate(k.body);
  return k;
}

}  // namespace tcc::ir::loop
