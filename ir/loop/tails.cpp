#include "ir/loop/tails.h"

#include "ir/loop/index_math.h"

#include <unordered_map>

namespace tcc::ir::loop {

namespace {

// The body of a partial tile: vars substituted (folding the constants that result), every
// loop given a fresh var, every micro-kernel cut to the edge.
class EdgeCopy : public IRMutator {
 public:
  EdgeCopy(const TileSplit& split, const Var& var, Expr value) : split_(split) {
    if (value) subst_[var.get()] = std::move(value);
  }

  using IRMutator::mutate;
  Expr mutate(const Expr& e) override {
    if (e->kind == ExprKind::var)
      if (auto it = subst_.find(e->var.get()); it != subst_.end()) return it->second;
    Expr m = IRMutator::mutate(e);
    return m == e ? e : fold(m);
  }

  Stmt mutate(const Stmt& s) override {
    if (s->kind == StmtKind::for_loop) {
      Var fresh = new_var(s->var->name);
      subst_[s->var.get()] = var_ref(fresh);
      Expr extent = mutate(s->extent);
      Stmt body = mutate(s->body);
      return for_loop(fresh, extent, s->for_kind, body);
    }
    if (s->kind == StmtKind::micro_kernel) {
      Stmt m = IRMutator::mutate(s);
      MicroKernel mk = *m->micro;
      if (split_.axis == TileSplit::Axis::rows) {
        mk.rows = split_.edge;
        if (split_.edge_k_steps > 0) mk.k_steps = split_.edge_k_steps;
      } else {
        mk.cols = split_.edge;
      }
      return micro_kernel(std::move(mk));
    }
    return IRMutator::mutate(s);
  }

 private:
  // The folding index_math's builders do, for a node rebuilt around a substituted constant.
  static Expr fold(const Expr& e) {
    const bool ca = e->a && e->a->kind == ExprKind::int_imm, cb = e->b && e->b->kind == ExprKind::int_imm;
    switch (e->kind) {
      case ExprKind::add: return plus(e->a, e->b);
      case ExprKind::mul:
        if (ca && cb) return c64(e->a->int_value * e->b->int_value);
        if (cb) return times(e->a, e->b->int_value);
        return e;
      case ExprKind::sub: return ca && cb ? c64(e->a->int_value - e->b->int_value) : e;
      case ExprKind::min: return ca && cb ? c64(std::min(e->a->int_value, e->b->int_value)) : e;
      default: return e;
    }
  }

  const TileSplit& split_;
  std::unordered_map<const void*, Expr> subst_;
};

class Tails : public IRMutator {
 public:
  using IRMutator::mutate;
  Stmt mutate(const Stmt& s) override {
    if (s->kind != StmtKind::for_loop || !s->tiles) return IRMutator::mutate(s);
    const TileSplit& t = *s->tiles;
    Stmt body = mutate(s->body);  // inner tile loops first: the edge copies carry their splits
    if (t.edge == 0) return for_loop(s->var, s->extent, s->for_kind, body);
    switch (t.style) {
      case TileSplit::Style::branch: {
        // In the else branch the var equals `full`: a constant folds into the edge's addresses.
        const bool constant = t.full->kind == ExprKind::int_imm;
        Stmt edge = EdgeCopy(t, s->var, constant ? t.full : nullptr).mutate(body);
        return for_loop(s->var, s->extent, s->for_kind, if_lt(var_ref(s->var), t.full, body, edge));
      }
      case TileSplit::Style::peel: {
        std::vector<Stmt> parts;
        const bool none_full = t.full->kind == ExprKind::int_imm && t.full->int_value == 0;
        if (!none_full) parts.push_back(for_loop(s->var, t.full, s->for_kind, body));
        parts.push_back(EdgeCopy(t, s->var, t.full).mutate(body));
        return block(std::move(parts));
      }
      case TileSplit::Style::remainder: {
        Var rest = new_var(s->var->name + "_edge");
        Stmt edge = EdgeCopy(t, s->var, plus(t.full, var_ref(rest))).mutate(body);
        return block({for_loop(s->var, t.full, s->for_kind, body),
                      for_loop(rest, sub(s->extent, t.full), ForKind::serial, edge)});
      }
    }
    return s;
  }
};

}  // namespace

LoopKernel split_tails(LoopKernel k) {
  k.body = Tails().mutate(k.body);
  return k;
}

}  // namespace tcc::ir::loop
