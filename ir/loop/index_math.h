// Index arithmetic with the obvious constant folding, so that printed indices stay readable.
// Used by the passes that build loop IR.
#pragma once
#include "ir/loop/loop_ir.h"

namespace tcc::ir::loop {

inline Expr c64(int64_t x) { return int_imm(x); }
inline Var new_var(const std::string& name) { return std::make_shared<const VarDecl>(VarDecl{name}); }
inline Expr v(const Var& var) { return var_ref(var); }

// a + b
inline Expr plus(Expr a, Expr b) {
  if (a->kind == ExprKind::int_imm && a->int_value == 0) return b;
  if (b->kind == ExprKind::int_imm && b->int_value == 0) return a;
  if (a->kind == ExprKind::int_imm && b->kind == ExprKind::int_imm) return c64(a->int_value + b->int_value);
  return add(std::move(a), std::move(b));
}

// a * k
inline Expr times(Expr a, int64_t k) {
  if (k == 0) return c64(0);
  if (k == 1) return a;
  if (a->kind == ExprKind::int_imm) return c64(a->int_value * k);
  if (a->kind == ExprKind::mul && a->b->kind == ExprKind::int_imm) return mul(a->a, c64(a->b->int_value * k));
  return mul(std::move(a), c64(k));
}

// a / k for a >= 0, k > 0
inline Expr over(Expr a, int64_t k) {
  if (k == 1) return a;
  if (a->kind == ExprKind::int_imm) return c64(a->int_value / k);
  return div(std::move(a), c64(k));
}

// ceil(a / k) for a >= 0, k > 0: tiles (or blocks) of k covering a
inline Expr over_rounding_up(Expr a, int64_t k) { return over(plus(std::move(a), c64(k - 1)), k); }

}  // namespace tcc::ir::loop
