// The shape rules of spec/semantics.md. Each rule checks its operands in the order the spec
// lists, then describes the op as an IndexSpec whose output dims come first (in output order),
// followed by the summed dims.
//
// Symbolic dimensions: where an op needs two sizes equal, OpContext::unify decides what it can
// and records the rest as a constraint for the inputs to settle; where a size 1 broadcasts,
// OpContext::broadcast refuses a symbol it cannot decide (semantics.md, "Symbolic dimensions").
//
// Error classes: ShapeError for anything about sizes, ranks or axes out of range (it depends on
// the operand shapes); ArgumentError for a malformed argument (wrong axes kind or nesting, list
// lengths that differ, a repeated axis, a perm of the wrong length, bad einsum syntax, bad
// matmul flags, a bad reshape target entry).
#include "shape_rules.h"

#include <tcc/error.h>
#include <tcc/tensor.h>

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tcc::rules {
namespace {

using ir::IndexSpec;
constexpr int kBroadcast = IndexSpec::kBroadcast;
constexpr int kUnassigned = -2;  // an operand axis not yet given a loop dim while building

// One axis an op compares with another, as its messages name it: "N (a axis 1)".
struct AxisSize {
  int64_t size = 0;
  std::string where;  // "a axis 1"
  std::string str() const { return fmt::format("{} ({})", dim_str(size), where); }
};

// "<what> must be equal, but are A (x axis I) and B (y axis J)"; `or_one` where a size 1 broadcasts.
std::string unequal_text(const std::string& what, const AxisSize& a, const AxisSize& b, bool or_one = false) {
  return fmt::format("{} must be equal{}, but are {} and {}", what, or_one ? " or 1" : "", a.str(), b.str());
}

// A symbol against another size where a 1 would stretch: a symbol bound to 1 broadcasts, bound
// to the other size it does not, and the two give different results.
std::string ambiguous_broadcast_text(const std::string& what, const AxisSize& a, const AxisSize& b) {
  std::vector<std::string> symbols;
  for (const AxisSize* s : {&a, &b})
    if (is_symbol(s->size)) symbols.push_back(dim_str(s->size));
  return fmt::format("{}, an ambiguous broadcast: whether {} is 1 (and stretches) is known only when the inputs "
                     "arrive; use one name for both, or static sizes",
                     unequal_text(what, a, b, true), fmt::join(symbols, " or "));
}

// The operands of one op as its messages name them ("x", "y"; "a", "b"; "operand 0", ...), and
// the constraints its rule has recorded so far.
struct OpContext {
  std::string op;
  std::vector<std::string> names;
  std::vector<Shape> shapes;
  std::vector<ir::ShapeConstraint> constraints;

  std::string shapes_str() const {
    std::string s;
    for (size_t i = 0; i < shapes.size(); ++i) s += fmt::format("{}{}: {}", i ? ", " : "", names[i], shape_str(shapes[i]));
    return s;
  }
  std::string message(const std::string& what) const {
    std::string s = op + ": " + what;
    if (!shapes.empty()) s += "; " + shapes_str();
    return s;
  }
  [[noreturn]] void shape_error(const std::string& what) const { throw ShapeError(message(what)); }
  [[noreturn]] void argument_error(const std::string& what) const { throw ArgumentError(message(what)); }
  int64_t rank(size_t i) const { return static_cast<int64_t>(shapes[i].size()); }
  AxisSize axis(size_t operand, int64_t axis) const {
    return {shapes[operand][axis], fmt::format("{} axis {}", names[operand], axis)};
  }

  // The size shared by two sizes that must be equal. Sizes decide now: equal, or a ShapeError
  // with `message()`. A symbol is settled when the inputs arrive: the result prefers the static
  // size (as TensorFlow merges shapes; of two symbols, the first) and the equality is recorded
  // with the message to throw then.
  int64_t unify(int64_t a, int64_t b, const std::function<std::string()>& message) {
    if (a == b) return a;
    if (!is_symbol(a) && !is_symbol(b)) throw ShapeError(message());
    if (!is_symbol(a)) std::swap(a, b);  // a lone symbol first: N == 5
    constraints.push_back({a, b, message()});
    return is_symbol(b) ? a : b;
  }
  // unify for two axes, with the op's usual message (`note` after it: legacy batch_dot's padding).
  int64_t unify(const std::string& what, const AxisSize& a, const AxisSize& b, const std::string& note = "") {
    return unify(a.size, b.size, [&] { return message(unequal_text(what, a, b)) + note; });
  }
  // NumPy broadcasting of two axes: a 1 stretches to the other size. A symbol against another
  // size, neither 1, is refused now rather than recorded: whether it stretches changes the result.
  int64_t broadcast(const std::string& what, const AxisSize& a, const AxisSize& b, const std::string& note = "") const {
    if (a.size == b.size || b.size == 1) return a.size;
    if (a.size == 1) return b.size;
    const bool ambiguous = is_symbol(a.size) || is_symbol(b.size);
    throw ShapeError(message(ambiguous ? ambiguous_broadcast_text(what, a, b) : unequal_text(what, a, b, true)) + note);
  }
};

// How an operand axis refers to a loop dim: always by naming it, also when a size-1 axis is
// stretched over a longer dim (it is then read at index 0), so that the dim's role stays known.
int axis_ref(int dim, int64_t /*size*/, int64_t /*extent*/) { return dim; }

int add_dim(IndexSpec& spec, int64_t extent) {
  spec.extents.push_back(extent);
  return static_cast<int>(spec.extents.size()) - 1;
}

std::vector<int> iota_dims(size_t n) {
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

// A symbol the constraints make 1, on an axis stretched over a loop dim of another extent
// (einsum "ii,i" of (N,1) and (M,): N == 1, and i runs to M), is read at index 0 (kBroadcast):
// only a static 1 would tell the lowering that the axis is stretched.
void mark_stretched_symbols(IndexSpec& spec, const OpContext& ctx) {
  for (size_t i = 0; i < spec.operands.size(); ++i)
    for (size_t a = 0; a < spec.operands[i].size(); ++a) {
      const int d = spec.operands[i][a];
      const int64_t size = ctx.shapes[i][a];
      if (d >= 0 && is_symbol(size) && !ir::constrained_equal(size, spec.extents[d], ctx.constraints) &&
          ir::constrained_equal(size, 1, ctx.constraints))
        spec.operands[i][a] = kBroadcast;
    }
}

// Puts the output dims first (in output order) and the summed dims after them (in creation
// order), drops summed extent-1 dims no operand reads (they only scale by 1), and checks the
// result against the operand shapes: a failure there is a bug in the rule, not a user error.
RuleResult finish(const OpContext& ctx, IndexSpec built, std::vector<std::string> warnings = {}) {
  mark_stretched_symbols(built, ctx);
  const int dims = static_cast<int>(built.extents.size());
  std::vector<bool> referenced(dims, false), in_out(dims, false);
  for (const auto& axes : built.operands)
    for (int d : axes) {
      if (d == kUnassigned) throw InternalError("shape rule left an operand axis unassigned: " + built.str());
      if (d >= 0) referenced[d] = true;
    }
  for (int d : built.out) in_out[d] = true;

  IndexSpec spec;
  std::vector<int> remap(dims, -1);
  auto keep = [&](int d) {
    remap[d] = static_cast<int>(spec.extents.size());
    spec.extents.push_back(built.extents[d]);
  };
  for (int d : built.out) keep(d);
  for (int d = 0; d < dims; ++d)
    if (!in_out[d] && (referenced[d] || built.extents[d] != 1)) keep(d);
  for (const auto& axes : built.operands) {
    std::vector<int> mapped;
    for (int d : axes) mapped.push_back(d == kBroadcast ? kBroadcast : remap[d]);
    spec.operands.push_back(std::move(mapped));
  }
  for (int d : built.out) spec.out.push_back(remap[d]);
  spec.verify(ctx.shapes, ctx.constraints);
  return RuleResult{spec.out_shape(), spec, std::move(warnings), ctx.constraints};
}

// An axis of x and an axis of y that share one loop dim, of the extent unify gave them.
struct SharedAxis {
  int64_t x_axis, y_axis, extent;
};

// A two-operand contraction without broadcasting: the batch pairs (one shared loop dim each)
// come first in the output, then x's free axes in order, then y's free axes in order; the
// contracted pairs are summed. The caller has unified the paired sizes.
IndexSpec pairwise_spec(const Shape& x, const Shape& y, const std::vector<SharedAxis>& batch,
                        const std::vector<SharedAxis>& contracted) {
  IndexSpec spec;
  spec.operands = {std::vector<int>(x.size(), kUnassigned), std::vector<int>(y.size(), kUnassigned)};
  for (const SharedAxis& b : batch) {
    int d = add_dim(spec, b.extent);
    spec.operands[0][b.x_axis] = spec.operands[1][b.y_axis] = d;
    spec.out.push_back(d);
  }
  for (const SharedAxis& c : contracted)
    spec.operands[0][c.x_axis] = spec.operands[1][c.y_axis] = add_dim(spec, c.extent);
  for (int side = 0; side < 2; ++side) {
    const Shape& shape = side == 0 ? x : y;
    for (size_t a = 0; a < shape.size(); ++a) {
      if (spec.operands[side][a] != kUnassigned) continue;
      int d = add_dim(spec, shape[a]);
      spec.operands[side][a] = d;
      spec.out.push_back(d);
    }
  }
  return spec;
}

// Normalises one axis of operand `which` (a negative axis adds the rank once) and checks it
// lies in [lowest, rank).
int64_t normalize_axis(const OpContext& ctx, size_t which, int64_t axis, int64_t lowest = 0) {
  const int64_t rank = ctx.rank(which);
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < lowest || a >= rank)
    ctx.shape_error(fmt::format("axis {} is out of range for {} of rank {}", axis, ctx.names[which], rank));
  return a;
}

// ---- batch_dot ----

// The (a0, a1) pair of a batch_dot `axes` argument, not yet normalised.
std::pair<int64_t, int64_t> batch_dot_axes(const OpContext& ctx, const Axes& axes, int64_t default_x,
                                           int64_t default_y) {
  if (axes.is_none()) return {default_x, default_y};
  if (axes.is_int()) return {axes.value(), axes.value()};
  for (const Axes& item : axes.items())
    if (!item.is_int())
      ctx.argument_error("multiple target dimensions are not supported; axes must be None, an int or a pair of "
                         "ints, but is " + axes.str());
  if (axes.items().size() != 2)
    ctx.argument_error("axes must be None, an int or a pair of ints, but is " + axes.str());
  return {axes.items()[0].value(), axes.items()[1].value()};
}

RuleResult batch_dot_modern(OpContext& ctx, const Shape& x, const Shape& y, const Axes& axes) {
  const int64_t rx = ctx.rank(0), ry = ctx.rank(1);
  const int64_t batch = ctx.unify("batch dims", ctx.axis(0, 0), ctx.axis(1, 0));
  auto [given0, given1] = batch_dot_axes(ctx, axes, rx - 1, ry == 2 ? ry - 1 : ry - 2);
  const int64_t a0 = given0 < 0 ? given0 + rx : given0;
  const int64_t a1 = given1 < 0 ? given1 + ry : given1;
  if (a0 == 0 || a1 == 0)
    ctx.shape_error(fmt::format("axes cannot contract the batch axis 0, but normalised axes are ({}, {})", a0, a1));
  normalize_axis(ctx, 0, given0, 1);
  normalize_axis(ctx, 1, given1, 1);
  const int64_t inner = ctx.unify("contraction dims", ctx.axis(0, a0), ctx.axis(1, a1));
  IndexSpec spec = pairwise_spec(x, y, {{0, 0, batch}}, {{a0, a1, inner}});
  // Two rank-2 inputs leave only the batch axis: the result is reshaped to (batch, 1).
  if (spec.out.size() == 1) spec.out.push_back(add_dim(spec, 1));
  return finish(ctx, spec);
}

// Keras <= 2.2.4, step by step as semantics.md lists it.
RuleResult batch_dot_legacy(OpContext& ctx, const Shape& x, const Shape& y, const Axes& axes) {
  const int64_t rx = ctx.rank(0), ry = ctx.rank(1);
  // Step 1: the default is computed from the unpadded ranks, even when y has rank 2.
  auto [given0, given1] = batch_dot_axes(ctx, axes, rx - 1, ry - 2);
  const int64_t a0 = normalize_axis(ctx, 0, given0);
  const int64_t a1 = normalize_axis(ctx, 1, given1);

  // Step 2: pad the lower-rank operand with trailing 1-dims.
  const int64_t r = std::max(rx, ry), added = std::abs(rx - ry);
  Shape xp = x, yp = y;
  xp.resize(r, 1);
  yp.resize(r, 1);
  // Messages print the user's shapes; axis numbers refer to the padded operands.
  const std::string padding_note =
      added ? fmt::format(" (legacy convention: {} padded to {}; axes refer to the padded shapes)",
                          rx < ry ? "x" : "y", shape_str(rx < ry ? xp : yp))
            : std::string();
  auto fail = [&](const std::string& what) { throw ShapeError(ctx.message(what) + padding_note); };
  auto x_axis = [&](int64_t axis) { return AxisSize{xp[axis], fmt::format("x axis {}", axis)}; };
  auto y_axis = [&](int64_t axis) { return AxisSize{yp[axis], fmt::format("y axis {}", axis)}; };

  IndexSpec spec;
  spec.operands = {std::vector<int>(r, kUnassigned), std::vector<int>(r, kUnassigned)};
  std::vector<std::string> warnings;
  if (r == 2) {
    // Step 3: sum(x * y, axis=a0), the product broadcasting NumPy-style.
    if (a0 != a1)
      fail(fmt::format("the legacy convention sums x * y over one axis for rank-2 operands, so the axes must be "
                       "equal, but are ({}, {})", a0, a1));
    for (int64_t k = 0; k < 2; ++k) {
      const int64_t extent = ctx.broadcast("dims of the elementwise product", x_axis(k), y_axis(k), padding_note);
      int d = add_dim(spec, extent);
      spec.operands[0][k] = axis_ref(d, xp[k], extent);
      spec.operands[1][k] = axis_ref(d, yp[k], extent);
      if (k != a0) spec.out.push_back(d);
    }
  } else {
    // Step 4: the axes only choose the adjoint flags of a batched matmul.
    const bool adjoint_a = a0 != r - 1, adjoint_b = a1 == r - 1;
    const int64_t x_row = adjoint_a ? r - 1 : r - 2, x_inner = adjoint_a ? r - 2 : r - 1;
    const int64_t y_inner = adjoint_b ? r - 1 : r - 2, y_col = adjoint_b ? r - 2 : r - 1;
    const int64_t inner = ctx.unify("contraction dims", x_axis(x_inner), y_axis(y_inner), padding_note);
    std::vector<int64_t> batch;  // TF 1.x: no broadcasting
    for (int64_t p = 0; p < r - 2; ++p) batch.push_back(ctx.unify("batch dims", x_axis(p), y_axis(p), padding_note));
    std::vector<int> result_dims;
    for (int64_t p = 0; p < r - 2; ++p) {
      int d = add_dim(spec, batch[p]);
      spec.operands[0][p] = spec.operands[1][p] = d;
      result_dims.push_back(d);
    }
    int row = add_dim(spec, xp[x_row]), col = add_dim(spec, yp[y_col]);
    spec.operands[0][x_row] = row;
    spec.operands[1][y_col] = col;
    spec.operands[0][x_inner] = spec.operands[1][y_inner] = add_dim(spec, inner);
    result_dims.push_back(row);
    result_dims.push_back(col);

    // Step 5: squeeze the padded positions [i, i+added) of the matmul result; TensorFlow
    // rejects a position that does not exist or is not of size 1.
    Shape matmul_shape;
    for (int d : result_dims) matmul_shape.push_back(spec.extents[d]);
    const int64_t first = rx > ry ? rx + ry - 3 : rx - 1;
    std::vector<bool> squeezed(r, false);
    for (int64_t q = first; q < first + added; ++q) {
      if (q >= r)
        fail(fmt::format("the legacy convention squeezes axis {} of the matmul result {}, which has only {} axes", q,
                         shape_str(matmul_shape), r));
      // A symbol there must be 1 when the inputs arrive; the squeezed loop dim then has extent 1.
      spec.extents[result_dims[q]] = ctx.unify(matmul_shape[q], 1, [&] {
        return ctx.message(fmt::format("the legacy convention squeezes axis {} of the matmul result {}, which must be "
                                       "1 but is {}", q, shape_str(matmul_shape), dim_str(matmul_shape[q]))) +
               padding_note;
      });
      squeezed[q] = true;
    }
    for (int64_t p = 0; p < r; ++p)
      if (!squeezed[p]) spec.out.push_back(result_dims[p]);

    if (a0 < r - 2 || a1 < r - 2)
      warnings.push_back(fmt::format(
          "batch_dot: the legacy convention contracts the last dims regardless of axes: axes {} (normalised "
          "({}, {})) contract x axis {} with y axis {} of the operands padded to rank {}; x: {}, y: {}",
          axes.str(), a0, a1, x_inner, y_inner, r, shape_str(x), shape_str(y)));
  }
  if (spec.out.size() == 1) spec.out.push_back(add_dim(spec, 1));  // reshape to (batch, 1)
  // The padded 1-dims do not exist in the real operands.
  spec.operands[0].resize(rx);
  spec.operands[1].resize(ry);
  return finish(ctx, spec, std::move(warnings));
}

// ---- matmul and @ ----

// Batched matmul of `a` and `b` (already promoted to rank >= 2 for @). A promoted axis (the 1
// NumPy adds to a 1-D operand) is dropped from the output and from the IndexSpec's operands.
RuleResult matmul_core(OpContext& ctx, Shape a, Shape b, bool transpose_a, bool transpose_b, bool a_promoted,
                       bool b_promoted) {
  const int64_t ra = static_cast<int64_t>(a.size()), rb = static_cast<int64_t>(b.size());
  const int64_t a_row = transpose_a ? ra - 1 : ra - 2, a_inner = transpose_a ? ra - 2 : ra - 1;
  const int64_t b_inner = transpose_b ? rb - 1 : rb - 2, b_col = transpose_b ? rb - 2 : rb - 1;
  // Name the axes of the operands as the user passed them (a promoted (1,k) is the user's (k,)).
  const int64_t inner = ctx.unify("contraction dims", ctx.axis(0, a_promoted ? a_inner - 1 : a_inner),
                                  ctx.axis(1, b_inner));
  IndexSpec spec;
  spec.operands = {std::vector<int>(ra, kUnassigned), std::vector<int>(rb, kUnassigned)};
  const int64_t batch_a = ra - 2, batch_b = rb - 2, batch = std::max(batch_a, batch_b);
  for (int64_t p = 0; p < batch; ++p) {
    // Right-aligned; a missing leading dim counts as 1.
    const int64_t ia = p - (batch - batch_a), ib = p - (batch - batch_b);
    const int64_t extent = ia < 0   ? b[ib]
                           : ib < 0 ? a[ia]
                                    : ctx.broadcast("batch dims", ctx.axis(0, ia), ctx.axis(1, ib));
    int d = add_dim(spec, extent);
    if (ia >= 0) spec.operands[0][ia] = axis_ref(d, a[ia], extent);
    if (ib >= 0) spec.operands[1][ib] = axis_ref(d, b[ib], extent);
    spec.out.push_back(d);
  }
  int row = add_dim(spec, a[a_row]), col = add_dim(spec, b[b_col]);
  spec.operands[0][a_row] = row;
  spec.operands[1][b_col] = col;
  spec.operands[0][a_inner] = spec.operands[1][b_inner] = add_dim(spec, inner);
  if (!a_promoted) spec.out.push_back(row);
  if (!b_promoted) spec.out.push_back(col);
  if (a_promoted) spec.operands[0].erase(spec.operands[0].begin());      // (1,k): axis 0 was added
  if (b_promoted) spec.operands[1].erase(spec.operands[1].begin() + 1);  // (k,1): axis 1 was added
  return finish(ctx, spec);
}

// ---- einsum ----

constexpr int kEllipsisLabel = -1;
using Term = std::vector<int>;  // label characters, kEllipsisLabel for "..."

bool is_label(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

Term parse_term(const OpContext& ctx, const std::string& text, const std::string& spec) {
  Term term;
  bool has_ellipsis = false;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (is_label(c)) {
      term.push_back(c);
      ++i;
    } else if (c == '.') {
      if (text.compare(i, 3, "...") != 0)
        ctx.argument_error(fmt::format("'.' must be part of '...' in the spec '{}'", spec));
      if (has_ellipsis) ctx.argument_error(fmt::format("a term may contain at most one '...' in the spec '{}'", spec));
      has_ellipsis = true;
      term.push_back(kEllipsisLabel);
      i += 3;
    } else {
      ctx.argument_error(fmt::format("invalid character '{}' in the spec '{}'", c, spec));
    }
  }
  return term;
}

// The size axes of several operands broadcast to (1 when there are none), comparing each with
// the first one of a size other than 1, as NumPy does.
int64_t broadcast_all(const OpContext& ctx, const std::string& what, const std::vector<AxisSize>& uses) {
  const AxisSize* sized = nullptr;
  for (const AxisSize& use : uses) {
    if (!sized) sized = &use;
    else if (ctx.broadcast(what, *sized, use) != sized->size) sized = &use;
  }
  return sized ? sized->size : 1;
}

std::string term_str(const Term& term) {
  std::string s;
  for (int l : term) s += l == kEllipsisLabel ? std::string("...") : std::string(1, static_cast<char>(l));
  return s;
}

}  // namespace

// ---- the rules ----

RuleResult dot_rule(const Shape& x, const Shape& y) {
  OpContext ctx{"dot", {"x", "y"}, {x, y}};
  if (x.empty() || y.empty()) {
    // A 0-D operand scales the other one elementwise.
    const Shape& other = x.empty() ? y : x;
    IndexSpec spec;
    spec.extents = other;
    spec.out = iota_dims(other.size());
    spec.operands = {iota_dims(x.size()), iota_dims(y.size())};
    return finish(ctx, spec);
  }
  // x's last axis meets y's second-to-last (its only one when y is 1-D); the rest is an outer product.
  const int64_t x_axis = ctx.rank(0) - 1, y_axis = y.size() == 1 ? 0 : ctx.rank(1) - 2;
  const int64_t inner = ctx.unify("contraction dims", ctx.axis(0, x_axis), ctx.axis(1, y_axis));
  return finish(ctx, pairwise_spec(x, y, {}, {{x_axis, y_axis, inner}}));
}

RuleResult batch_dot_rule(const Shape& x, const Shape& y, const Axes& axes, BatchDotConvention convention) {
  OpContext ctx{"batch_dot", {"x", "y"}, {x, y}};
  for (size_t i = 0; i < 2; ++i)
    if (ctx.rank(i) < 2)
      ctx.shape_error(fmt::format("both operands must have rank >= 2, but {} has rank {}", ctx.names[i], ctx.rank(i)));
  return convention == BatchDotConvention::modern ? batch_dot_modern(ctx, x, y, axes)
                                                  : batch_dot_legacy(ctx, x, y, axes);
}

RuleResult matmul_rule(const Shape& a, const Shape& b, MatmulFlags flags) {
  OpContext ctx{"matmul", {"a", "b"}, {a, b}};
  if (flags.transpose_a && flags.adjoint_a)
    ctx.argument_error("transpose_a and adjoint_a are mutually exclusive");
  if (flags.transpose_b && flags.adjoint_b)
    ctx.argument_error("transpose_b and adjoint_b are mutually exclusive");
  for (size_t i = 0; i < 2; ++i)
    if (ctx.rank(i) < 2)
      ctx.shape_error(fmt::format("both operands must have rank >= 2, but {} has rank {} (a @ b promotes 1-D operands)",
                                  ctx.names[i], ctx.rank(i)));
  // Real dtypes only: the adjoint is the transpose.
  return matmul_core(ctx, a, b, flags.transpose_a || flags.adjoint_a, flags.transpose_b || flags.adjoint_b, false,
                     false);
}

RuleResult np_matmul_rule(const Shape& a, const Shape& b) {
  OpContext ctx{"@", {"a", "b"}, {a, b}};
  for (size_t i = 0; i < 2; ++i)
    if (ctx.rank(i) == 0) ctx.shape_error(fmt::format("operands must have rank >= 1, but {} has rank 0", ctx.names[i]));
  const bool a_promoted = a.size() == 1, b_promoted = b.size() == 1;
  const Shape pa = a_promoted ? Shape{1, a[0]} : a;
  const Shape pb = b_promoted ? Shape{b[0], 1} : b;
  return matmul_core(ctx, pa, pb, false, false, a_promoted, b_promoted);
}

RuleResult tensordot_rule(const Shape& x, const Shape& y, const Axes& axes) {
  OpContext ctx{"tensordot", {"x", "y"}, {x, y}};
  const int64_t rx = ctx.rank(0), ry = ctx.rank(1);
  std::vector<int64_t> ax, ay;
  if (axes.is_none()) {
    ctx.argument_error("axes must be an int N or a pair of axis lists, but is None");
  } else if (axes.is_int()) {
    const int64_t n = axes.value();
    if (n < 0) ctx.argument_error(fmt::format("axes must be >= 0, but is {}", n));
    if (n > rx || n > ry)
      ctx.shape_error(fmt::format("axes={} contracts the last {} axes of x with the first {} of y, but x has rank {} "
                                  "and y has rank {}", n, n, n, rx, ry));
    for (int64_t i = 0; i < n; ++i) {
      ax.push_back(rx - n + i);
      ay.push_back(i);
    }
  } else {
    if (axes.items().size() != 2)
      ctx.argument_error("axes must be an int N or a pair of axis lists, but is " + axes.str());
    std::vector<int64_t> given[2];
    for (int side = 0; side < 2; ++side) {
      const Axes& item = axes.items()[side];
      if (item.is_int()) {
        given[side] = {item.value()};
        continue;
      }
      if (!item.is_list()) ctx.argument_error("axes must be an int N or a pair of axis lists, but is " + axes.str());
      for (const Axes& a : item.items()) {
        if (!a.is_int()) ctx.argument_error("axes must be an int N or a pair of axis lists, but is " + axes.str());
        given[side].push_back(a.value());
      }
    }
    if (given[0].size() != given[1].size())
      ctx.argument_error(fmt::format("the two axis lists must have equal length, but have {} and {} entries in axes {}",
                                     given[0].size(), given[1].size(), axes.str()));
    for (int side = 0; side < 2; ++side) {
      std::vector<int64_t>& out = side == 0 ? ax : ay;
      for (int64_t a : given[side]) {
        const int64_t n = normalize_axis(ctx, side, a);
        if (std::find(out.begin(), out.end(), n) != out.end())
          ctx.argument_error(fmt::format("{} axis {} is repeated in axes {}", ctx.names[side], n, axes.str()));
        out.push_back(n);
      }
    }
  }
  std::vector<SharedAxis> pairs;
  for (size_t i = 0; i < ax.size(); ++i)
    pairs.push_back({ax[i], ay[i], ctx.unify("contraction dims", ctx.axis(0, ax[i]), ctx.axis(1, ay[i]))});
  return finish(ctx, pairwise_spec(x, y, {}, pairs));
}

RuleResult einsum_rule(const std::string& spec_text, const std::vector<Shape>& operands) {
  OpContext ctx{"einsum", {}, operands};
  for (size_t i = 0; i < operands.size(); ++i) ctx.names.push_back(fmt::format("operand {}", i));
  if (operands.empty()) ctx.argument_error("at least one operand is required");

  std::string text;
  for (char c : spec_text)
    if (c != ' ') text += c;
  const size_t arrow = text.find("->");
  if (arrow != std::string::npos && text.find("->", arrow + 2) != std::string::npos)
    ctx.argument_error(fmt::format("the spec '{}' has more than one '->'", spec_text));
  const std::string inputs_text = text.substr(0, arrow);
  std::vector<Term> terms;
  for (size_t start = 0;;) {
    const size_t comma = inputs_text.find(',', start);
    terms.push_back(parse_term(ctx, inputs_text.substr(start, comma - start), spec_text));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != operands.size())
    ctx.argument_error(fmt::format("the spec '{}' has {} operand terms but {} operands were given", spec_text,
                                   terms.size(), operands.size()));

  // Per operand: the label of each axis (kEllipsisLabel inside the ellipsis), and the ellipsis
  // position and length.
  const size_t n = operands.size();
  std::vector<std::vector<int>> axis_labels(n);
  std::vector<int64_t> ellipsis_start(n, 0), ellipsis_rank(n, 0);
  std::vector<int> label_order;  // labels in order of first appearance
  std::map<int, int> label_count;
  for (size_t i = 0; i < n; ++i) {
    const Term& term = terms[i];
    const int64_t letters = std::count_if(term.begin(), term.end(), [](int l) { return l != kEllipsisLabel; });
    const bool has_ellipsis = static_cast<int64_t>(term.size()) != letters;
    const int64_t rank = ctx.rank(i);
    if (!has_ellipsis && rank != letters)
      ctx.shape_error(fmt::format("operand {} has rank {}, but its term '{}' has {} labels", i, rank, term_str(term),
                                  letters));
    if (has_ellipsis && rank < letters)
      ctx.shape_error(fmt::format("operand {} has rank {}, but its term '{}' has {} labels besides '...'", i, rank,
                                  term_str(term), letters));
    for (int l : term) {
      if (l == kEllipsisLabel) {
        ellipsis_start[i] = static_cast<int64_t>(axis_labels[i].size());
        ellipsis_rank[i] = rank - letters;
        axis_labels[i].insert(axis_labels[i].end(), rank - letters, kEllipsisLabel);
        continue;
      }
      axis_labels[i].push_back(l);
      if (label_count[l]++ == 0) label_order.push_back(l);
    }
  }

  // Label sizes: equal within one operand (a diagonal), then across operands a size 1 broadcasts.
  // Each operand's size of a label is named by one of its axes, whose size is the unified one.
  std::map<int, int64_t> label_extent;
  for (int label : label_order) {
    const std::string what = fmt::format("sizes of label '{}'", static_cast<char>(label));
    std::vector<AxisSize> per_operand;
    for (size_t i = 0; i < n; ++i) {
      std::optional<AxisSize> here;
      for (size_t a = 0; a < axis_labels[i].size(); ++a) {
        if (axis_labels[i][a] != label) continue;
        const AxisSize use = ctx.axis(i, static_cast<int64_t>(a));
        if (!here) here = use;
        else if (ctx.unify(what, *here, use) != here->size) here = use;
      }
      if (here) per_operand.push_back(*here);
    }
    label_extent[label] = broadcast_all(ctx, what, per_operand);
  }

  // The ellipsis dims of all operands broadcast together, right-aligned.
  const int64_t ellipsis = *std::max_element(ellipsis_rank.begin(), ellipsis_rank.end());
  auto ellipsis_axis = [&](size_t i, int64_t p) -> int64_t {  // operand i's axis at broadcast position p, or -1
    const int64_t e = p - (ellipsis - ellipsis_rank[i]);
    return e >= 0 ? ellipsis_start[i] + e : -1;
  };
  std::vector<int64_t> ellipsis_extent(ellipsis, 1);
  for (int64_t p = 0; p < ellipsis; ++p) {
    std::vector<AxisSize> uses;
    for (size_t i = 0; i < n; ++i)
      if (const int64_t a = ellipsis_axis(i, p); a >= 0) uses.push_back(ctx.axis(i, a));
    ellipsis_extent[p] = broadcast_all(ctx, "ellipsis dims", uses);
  }

  Term output;
  if (arrow != std::string::npos) {
    output = parse_term(ctx, text.substr(arrow + 2), spec_text);
    std::vector<int> seen;
    for (int l : output) {
      if (l == kEllipsisLabel) continue;
      if (std::find(seen.begin(), seen.end(), l) != seen.end())
        ctx.argument_error(fmt::format("output label '{}' appears more than once in '{}'", static_cast<char>(l),
                                       spec_text));
      if (!label_count.count(l))
        ctx.argument_error(fmt::format("output label '{}' appears in no input term of '{}'", static_cast<char>(l),
                                       spec_text));
      seen.push_back(l);
    }
    if (ellipsis > 0 && std::find(output.begin(), output.end(), kEllipsisLabel) == output.end())
      ctx.shape_error(fmt::format("the operands' ellipsis covers {} broadcast dims {}, but the output term '{}' has "
                                  "no '...'", ellipsis, shape_str(ellipsis_extent), term_str(output)));
  } else {
    // Implicit output: the ellipsis, then the labels used exactly once in ASCII order (the
    // order label_count, a std::map keyed by the character, iterates in).
    if (ellipsis > 0) output.push_back(kEllipsisLabel);
    for (auto [label, count] : label_count)
      if (count == 1) output.push_back(label);
  }

  IndexSpec spec;
  std::map<int, int> label_dim;
  std::vector<int> ellipsis_dim(ellipsis, -1);
  for (int l : output) {
    if (l == kEllipsisLabel) {
      for (int64_t p = 0; p < ellipsis; ++p) spec.out.push_back(ellipsis_dim[p] = add_dim(spec, ellipsis_extent[p]));
    } else {
      spec.out.push_back(label_dim[l] = add_dim(spec, label_extent[l]));
    }
  }
  for (int l : label_order)
    if (!label_dim.count(l)) label_dim[l] = add_dim(spec, label_extent[l]);  // summed
  for (size_t i = 0; i < n; ++i) {
    std::vector<int> refs;
    for (size_t a = 0; a < axis_labels[i].size(); ++a) {
      const int64_t size = operands[i][a];
      const int label = axis_labels[i][a];
      if (label != kEllipsisLabel) {
        refs.push_back(axis_ref(label_dim[label], size, label_extent[label]));
      } else {
        const int64_t p = static_cast<int64_t>(a) - ellipsis_start[i] + (ellipsis - ellipsis_rank[i]);
        refs.push_back(axis_ref(ellipsis_dim[p], size, ellipsis_extent[p]));
      }
    }
    spec.operands.push_back(std::move(refs));
  }
  return finish(ctx, spec);
}

RuleResult elementwise_rule(const std::string& op, const std::vector<std::string>& names, const std::vector<Shape>& operands) {
  OpContext ctx{op, names, operands};
  size_t rank = 0;
  for (const Shape& s : operands) rank = std::max(rank, s.size());
  // Right-aligned, as NumPy broadcasts: operand i's axis at position p, or -1.
  auto axis_at = [&](size_t i, size_t p) -> int64_t {
    const int64_t a = static_cast<int64_t>(p) - static_cast<int64_t>(rank - operands[i].size());
    return a >= 0 ? a : -1;
  };
  IndexSpec spec;
  for (const Shape& s : operands) spec.operands.emplace_back(s.size(), kUnassigned);
  for (size_t p = 0; p < rank; ++p) {
    std::vector<AxisSize> uses;
    for (size_t i = 0; i < operands.size(); ++i)
      if (const int64_t a = axis_at(i, p); a >= 0) uses.push_back(ctx.axis(i, a));
    const int d = add_dim(spec, broadcast_all(ctx, "dims", uses));
    spec.out.push_back(d);
    for (size_t i = 0; i < operands.size(); ++i)
      if (const int64_t a = axis_at(i, p); a >= 0) spec.operands[i][a] = axis_ref(d, operands[i][a], spec.extents[d]);
  }
  return finish(ctx, spec);
}

RuleResult reduce_rule(const std::string& op, const Shape& x, const Axes& axis, bool keepdims) {
  const OpContext ctx{op, {"x"}, {x}};
  const int64_t rank = static_cast<int64_t>(x.size());
  std::vector<bool> reduced(rank, axis.is_none());
  std::vector<Axes> items = axis.is_int() ? std::vector<Axes>{axis} : axis.is_list() ? axis.items() : std::vector<Axes>{};
  for (const Axes& item : items) {
    if (!item.is_int()) ctx.argument_error("axis must be an int, a tuple of ints or None, not " + axis.str());
    const int64_t a = normalize_axis(ctx, 0, item.value());
    if (reduced[a]) ctx.argument_error(fmt::format("axis {} names axis {} twice", axis.str(), a));
    reduced[a] = true;
  }
  IndexSpec spec;
  spec.operands = {std::vector<int>(rank, kUnassigned)};
  // keepdims: a reduced axis stays as an output dim of extent 1 that no operand axis reads.
  for (int64_t a = 0; a < rank; ++a)
    if (!reduced[a]) spec.out.push_back(spec.operands[0][a] = add_dim(spec, x[a]));
    else if (keepdims) spec.out.push_back(add_dim(spec, 1));
  for (int64_t a = 0; a < rank; ++a)
    if (reduced[a]) spec.operands[0][a] = add_dim(spec, x[a]);
  return finish(ctx, spec);
}

RuleResult transpose_rule(const Shape& x, const std::optional<std::vector<int64_t>>& perm) {
  const OpContext ctx{"transpose", {"x"}, {x}};
  const int64_t rank = static_cast<int64_t>(x.size());
  std::vector<int64_t> order;
  if (!perm) {
    for (int64_t a = rank - 1; a >= 0; --a) order.push_back(a);
  } else {
    auto perm_str = [&] {
      std::string s = "(";
      for (size_t i = 0; i < perm->size(); ++i) s += (i ? ", " : "") + std::to_string((*perm)[i]);
      return s + (perm->size() == 1 ? ",)" : ")");
    };
    if (static_cast<int64_t>(perm->size()) != rank)
      ctx.argument_error(fmt::format("perm {} must be a permutation of the {} axes of x, but has {} entries",
                                     perm_str(), rank, perm->size()));
    for (int64_t a : *perm) {
      const int64_t n = normalize_axis(ctx, 0, a);
      if (std::find(order.begin(), order.end(), n) != order.end())
        ctx.argument_error(fmt::format("perm {} repeats axis {}", perm_str(), n));
      order.push_back(n);
    }
  }
  IndexSpec spec;
  spec.operands = {std::vector<int>(rank, kUnassigned)};
  for (int64_t i = 0; i < rank; ++i) {
    int d = add_dim(spec, x[order[i]]);
    spec.operands[0][order[i]] = d;
    spec.out.push_back(d);
  }
  return finish(ctx, spec);
}

Shape reshape_rule(const Shape& x, const Shape& target) {
  const OpContext ctx{"reshape", {"x"}, {x}};
  for (const Shape* s : {&x, &target})
    for (int64_t d : *s)
      if (is_symbol(d))
        ctx.shape_error(fmt::format("cannot reshape {} into {}: reshaping a symbolic dimension ({}) is not "
                                    "supported yet", shape_str(x), shape_str(target), dim_str(d)));
  int inferred = -1;
  int64_t known = 1;
  bool overflow = false;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1) {
      if (inferred >= 0)
        ctx.argument_error(fmt::format("the target shape {} may contain at most one -1", shape_str(target)));
      inferred = static_cast<int>(i);
      continue;
    }
    if (target[i] < 0)
      ctx.argument_error(fmt::format("the target shape {} has the negative dimension {}", shape_str(target), target[i]));
    if (!overflow && __builtin_mul_overflow(known, target[i], &known)) overflow = true;
  }
  if (overflow && std::find(target.begin(), target.end(), 0) != target.end()) {
    overflow = false;
    known = 0;
  }
  const int64_t count = checked_numel(x);
  auto mismatch = [&] {
    ctx.shape_error(fmt::format("cannot reshape {} elements into the target shape {}", count, shape_str(target)));
  };
  if (overflow) mismatch();
  Shape result = target;
  if (inferred >= 0) {
    // A -1 next to a 0 is ambiguous (NumPy refuses it too).
    if (known == 0 || count % known != 0) mismatch();
    result[inferred] = count / known;
  } else if (known != count) {
    mismatch();
  }
  return result;
}

std::optional<std::string> batch_dot_convention_warning(const Shape& x, const Shape& y, const Axes& axes) {
  Shape modern, legacy;
  try {
    modern = batch_dot_rule(x, y, axes, BatchDotConvention::modern).shape;
    legacy = batch_dot_rule(x, y, axes, BatchDotConvention::legacy).shape;
  } catch (const Error&) {
    return std::nullopt;  // only one convention accepts the call: nothing to compare
  }
  if (modern == legacy) return std::nullopt;
  return fmt::format(
      "batch_dot: the Keras conventions disagree for x: {}, y: {}: modern (the default) gives {}, legacy (Keras <= "
      "2.2.4) gives {}; write legacy=false or legacy=true (C++: a BatchDotConvention) to choose and silence this",
      shape_str(x), shape_str(y), shape_str(modern), shape_str(legacy));
}

}  // namespace tcc::rules
