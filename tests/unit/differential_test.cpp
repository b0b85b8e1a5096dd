// Differential tests: deterministic random graphs built through the public API, compiled by
// tcc's JIT, and compared output by output against the independent reference evaluator
// (tests/support/reference.h), which computes in float64 (integers modulo 2^64).
//
//   RandomGraphs{F32,F64,I32,I64}   contractions, transpose and reshape (100 graphs each).
//   MixedGraphs{...}                the same mixed with element-wise functions (+ - * /,
//       maximum, minimum, pow, neg, abs, square, sqrt, rsqrt, exp, log, tanh, sigmoid, relu,
//       gelu of both forms; operators, named functions and elementwise(); NumPy broadcasting
//       and scalars), sum / mean / max / min (int, tuple and None axes, negative axes,
//       keepdims), softmax and bias_add, contractions with element-wise tails (fused as
//       their epilogues), some ending in a cast to another dtype (floats to the other float,
//       integers to the other integer or a float; the result only an output), attention softmax(q kᵀ s) v (one flash-attention step; floats,
//       not with special values: see gen_attention), results read twice, outputs read by other nodes, extents 0 and 1;
//       plus ops both sides must reject (float-only functions of integers, max / min over an
//       empty axis, shapes that do not broadcast, bad biases and axes). 70 graphs each.
//   MixedGraphsWithSpecialValues{...}  the same with about 6% NaN, ±inf, ±0 among float
//       inputs, or the least and largest integers, -1 and 0.
//   SpecialValuesThroughEveryFunction, IntegerExtremesThroughEveryFunction  every function of
//       every pair of special values, and reductions, softmax and epilogues of them.
//
// Tolerances. Integers must match exactly (two's complement wrap-around, as NumPy's). A float
// element must satisfy |tcc - reference| <= (r U + 1/2) eps M + (r U + 1/2) tiny, with eps the
// dtype's machine epsilon (one "unit" eps |x| is one to two ulps of x), tiny its least normal
// (results in the subnormal range), r = 2 for f64 (the reference rounds as finely as tcc) and
// 1 for f32, the 1/2 for tcc's final rounding, M the element's magnitude and U its tensor's
// error units. Inputs are exact (U = 0, M = |x|). Then:
//   - contractions and sum: M = sum |a| |b|, U = the inputs' U + sqrt(k) + (operands - 1)
//     (a k-term sum's round-to-nearest errors add up like a random walk);
//   - + - bias_add: M = M_x + M_y, U = max(U_x, U_y) + 1; * square: M = M_x M_y,
//     U = U_x + U_y + 1. Magnitudes, not |result|: tcc's element-wise kernels may reassociate;
//   - neg abs relu maximum minimum max min: exact and 1-Lipschitz, M and U of the (worst) input;
//   - / sqrt rsqrt exp log pow tanh sigmoid gelu: each input's error interval x ± d (d the
//     bound above) is carried through the function (its values at the interval's ends: they
//     are monotone there; gelu, which is not, by its largest slope, 1.13), and the function
//     adds its own error: 1 unit for / and sqrt (one rounding), 2 for rsqrt, and
//     ref::kTranscendentalUlps = 16 units for exp log pow tanh sigmoid gelu. tcc's exp is a
//     polynomial within 2 ulps (Elementwise.ExpIsWithinTwoUlps...), tanh, erf, log and pow
//     the C library's, sigmoid and gelu two or three of those and a few roundings; measured
//     on 200,000 arguments in (-40, 40), none is off by more than 1.4 units, so 16 leaves
//     room for another C library while a wrong constant or branch is still far off (the
//     float64 reference's own few ulps are within r). gelu's units are of |gelu(x)| + |x|: for
//     x < 0 its 1 + erf (1 + tanh) cancels, leaving an error of a few eps |x| (in NumPy's
//     float64 too);
//   - mean (sum / count) and softmax (exp(x - max) / sum) are composed of those.
// The worst error / bound seen is printed per test (about 0.4). Where an input's interval
// meets a pole, a branch point or the edge of the range (log, sqrt, rsqrt of a value within
// its error of 0 or below, x / y with y within its error of 0, pow of a base that may be <= 0
// with an inexact or non-integer exponent, inf * y with y within its error of 0, a computed 0
// whose sign a sum leaves open divided into, a result within its error of overflow) tcc may
// rightly give NaN, ±inf or a number: the reference leaves the element unknown, uncompared,
// and everything computed from it too. To keep that rare the generator feeds log, sqrt,
// rsqrt, divisors and pow's bases mostly abs(x) + c or x*x + c, scales the arguments of exp,
// pow and square by a power of two (exact) so nothing overflows, and drops nodes whose
// values pass 1e15 (f32) or 1e100 (f64): the mixed tests print how many elements stayed
// unknown (about 0.1% of f32's without special values). NaN and ±inf are compared exactly, as NumPy gives
// them: maximum, minimum, relu, max and min propagate NaN, 1/0 = inf, log(0) = -inf,
// sqrt(-1), inf - inf and inf * 0 are NaN, pow follows C99 (pow(x, 0) = 1); maximum and
// minimum order -0 < +0 (IEEE 754-2019; NumPy leaves it open) and relu(-0) = -0. A chain of
// contractions (or an einsum of three or more operands) may be computed in another order
// (semantics.md): its NaN and inf elements are left unknown, as (x . y) . inf and
// x . (y . inf) differ when y holds a 0.
//
// Two tcc bugs this generator found are covered by its graphs: a contraction's result read
// through a view by two nodes took one reader's epilogue (canonicalize), and (x - y) + y was
// folded to x for y = inf or NaN (element-wise code is no longer reassociated).
// softmax over an axis of size 0 is a ShapeError in tcc and is not generated.
//
// On a failure the graph is printed as a .tc program with its seed (reductions, softmax and
// bias_add in NumPy spelling), so it can be reproduced with `tcc run` or re-run alone:
//   TCC_DIFF_SEED=<seed> tcc_tests --gtest_filter='Differential.MixedGraphsF32'
// TCC_DIFF_GRAPHS=<n> changes how many random graphs each test runs; TCC_DIFF_PRINT=1 prints
// every graph.
#include "support/reference.h"

#include <tcc/tcc.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace ref = tcc::ref;
using ref::RefTensor;
using tcc::Axes;
using tcc::DType;
using tcc::Shape;
using tcc::Value;

constexpr int64_t kMaxElements = 300'000;      // per tensor
constexpr int64_t kMaxWorkPerGraph = 20'000'000;  // multiply-adds over the whole graph
const int64_t kSizes[] = {0, 1, 2, 3, 5, 7, 13, 15, 16, 17, 31, 47, 48, 49, 63, 64, 65, 97};

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string dims(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

std::string int_list(const std::vector<int64_t>& v) { return dims(v); }

std::string bool_flag(const char* name, bool on) { return on ? std::string(", ") + name + "=true" : ""; }

// Python-like text of an Axes argument in .tc syntax (lists for every sequence).
std::string axes_text(const Axes& a) {
  if (a.is_none()) return "none";
  if (a.is_int()) return std::to_string(a.value());
  std::string s = a.items().size() == 2 && !a.items()[0].is_int() ? "(" : "[";
  for (size_t i = 0; i < a.items().size(); ++i) s += (i ? ", " : "") + axes_text(a.items()[i]);
  return s + (s[0] == '(' ? ")" : "]");
}

// What a random graph is built from: contractions only (the original tests), or contractions
// mixed with element-wise functions, reductions, softmax and bias_add; and whether the inputs
// hold NaN, ±inf and ±0 (floats) or the integer extremes.
struct Mode {
  bool mixed = false;
  bool specials = false;
};

// The op of a node's expression, for the statistics: "matmul(a, b)" -> matmul, "a + b" -> +.
std::string kind_of(const std::string& expr) {
  if (expr[0] == '-') return "neg";
  const size_t paren = expr.find('('), space = expr.find(' ');
  if (paren != std::string::npos && (space == std::string::npos || paren < space)) return expr.substr(0, paren);
  const size_t end = expr.find(' ', space + 1);
  return expr.substr(space + 1, end == std::string::npos ? std::string::npos : end - space - 1);
}

// The largest finite |value| the reference knows of a float tensor.
double max_abs(const RefTensor& r) {
  double m = 0;
  for (size_t i = 0; i < r.values.size(); ++i)
    if (std::isfinite(r.values[i]) && !std::isnan(r.magnitudes[i])) m = std::max(m, std::fabs(r.values[i]));
  return m;
}

// NumPy's broadcast of two shapes, or nothing.
std::optional<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i + a.size() >= r ? a[i + a.size() - r] : 1;
    const int64_t db = i + b.size() >= r ? b[i + b.size() - r] : 1;
    if (da != db && da != 1 && db != 1) return std::nullopt;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// A number as .tc reads it.
std::string number(double v) {
  std::ostringstream t;
  t.precision(17);
  t << v;
  return t.str();
}

struct Item {
  Value value;
  RefTensor ref;
  std::string name;
  bool is_leaf = false;
  bool consumed = false;       // read by a later node
  std::set<std::string> deps;  // the graph inputs this node reads
  // How tcc lowers the node: a view of its operand's buffer (transpose, reshape, a one-operand
  // einsum that sums nothing, a reduction over no axis), a sum of products (a contraction or a
  // sum), or max / min; and which node's buffer it reads through its views.
  bool view = false, sum_like = false, extreme = false;
  size_t source = 0;
  std::vector<size_t> readers;  // the later nodes that read it, once per operand
};

// Builds one random graph, evaluates it with tcc and with the reference, and compares.
class RandomGraph {
 public:
  RandomGraph(uint64_t seed, DType dtype, Mode mode = {})
      : rng_(seed * 0x9E3779B97F4A7C15ULL + 12345), dtype_(dtype), mode_(mode) {
    chain_mode_ = chance(0.4);
    wide_ints_ = chance(0.3);
    positive_floats_ = chance(0.25);
    large_sizes_ = chance(0.2);  // favour 47..97 so kernels see their large-size paths
    // Log-uniform work budgets: most graphs are small, a few use the whole allowance.
    work_left_ = static_cast<int64_t>(std::pow(10.0, uniform_real(3.0, std::log10(double(kMaxWorkPerGraph)))));
    program_ << "# seed " << seed << ", dtype " << tcc::dtype_name(dtype) << (chain_mode_ ? ", chain" : ", dag")
             << (wide_ints_ ? ", wide ints" : "") << (large_sizes_ ? ", large sizes" : "")
             << (positive_floats_ ? ", positive floats" : "") << (mode.mixed ? ", mixed" : "")
             << (mode.specials ? ", special values" : "") << "\n";
    if (mode.mixed) program_ << "# (sum, mean, max, min, softmax and bias_add lines are in NumPy / Keras spelling, not .tc)\n";
  }

  // Adds up to `ops` random op nodes; false if the graph had to stop early (a failure was reported).
  bool build(int ops) {
    for (int i = 0, attempts = 0; i < ops && attempts < ops * 20; ++attempts) {
      if (mode_.mixed) {
        const bool made = gen_mixed();
        if (failed_) return false;
        if (made) ++i;
        continue;
      }
      const int kind = uniform(0, 9);
      std::optional<bool> made;
      switch (kind) {
        case 0: made = gen_matmul(); break;
        case 1: made = gen_np_matmul(); break;
        case 2: made = gen_dot(); break;
        case 3: made = gen_batch_dot_modern(); break;
        case 4: made = gen_batch_dot_legacy(); break;
        case 5: made = gen_tensordot(); break;
        case 6:
        case 7: made = gen_einsum(); break;
        case 8: made = gen_transpose(); break;
        case 9: made = gen_reshape(); break;
      }
      if (failed_) return false;
      if (*made) ++i;
    }
    return true;
  }

  // Compiles the chosen outputs, runs them and compares. Returns the worst float error ratio.
  double run_and_check() {
    std::vector<size_t> chosen = choose_outputs();
    if (chosen.empty()) return 0;
    count_epilogue_candidates(chosen);
    std::vector<Value> outs;
    std::string out_line = "output ";
    for (size_t k = 0; k < chosen.size(); ++k) {
      outs.push_back(items_[chosen[k]].value);
      out_line += (k ? ", " : "") + items_[chosen[k]].name;
    }
    program_ << out_line << "\n";
    if (std::getenv("TCC_DIFF_PRINT")) std::printf("%s\n", program_.str().c_str());
    std::vector<tcc::Tensor> results;
    try {
      tcc::Feeds feeds;
      if (chance(0.2)) {
        for (size_t c : chosen)
          for (const std::string& name : items_[c].deps) feeds[name] = feeds_.at(name);
        results = graph_.eval(outs, feeds);
      } else {
        tcc::CompiledGraph fn = graph_.compile(outs);
        for (const tcc::InputInfo& in : fn.inputs()) {
          auto it = feeds_.find(in.name);
          if (it == feeds_.end()) {
            ADD_FAILURE() << "compiled graph lists an unknown input '" << in.name << "'\n" << program_.str();
            return 0;
          }
          feeds.insert(*it);
        }
        results = fn(feeds);
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "tcc threw while compiling or running: " << e.what() << "\n" << program_.str();
      return 0;
    }
    if (results.size() != outs.size()) {
      ADD_FAILURE() << "expected " << outs.size() << " results, got " << results.size() << "\n" << program_.str();
      return 0;
    }
    double worst = 0;
    for (size_t k = 0; k < chosen.size(); ++k) {
      const Item& it = items_[chosen[k]];
      ref::Comparison c = ref::compare(results[k], it.ref);
      worst = std::max(worst, c.worst_ratio);
      compared_ += it.ref.numel();
      unchecked_ += c.unchecked;
      special_ += c.special;
      if (!c.ok)
        ADD_FAILURE() << "output " << it.name << " (" << tcc::dtype_name(dtype_) << ref::shape_text(it.ref.shape)
                      << ") differs from the reference: " << c.message << "\n"
                      << program_.str();
    }
    return worst;
  }

  int64_t work_done() const { return work_done_; }
  // Elements compared, of those left unknown by the reference and compared as NaN / ±inf;
  // nodes built, by kind; rejections checked.
  int64_t compared() const { return compared_; }
  int64_t unchecked() const { return unchecked_; }
  int64_t special() const { return special_; }
  const std::map<std::string, int>& node_kinds() const { return kinds_; }
  int rejections() const { return rejections_; }
  int epilogues() const { return epilogues_; }

 private:
  // ---- random helpers ----
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  double uniform_real(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  // A size from kSizes no larger than `cap`; small sizes are favoured so ranks can grow.
  int64_t pick_size(int64_t cap = 97, bool allow_zero = true) {
    if (allow_zero && chance(0.03)) return 0;
    std::vector<int64_t> ok;
    const int64_t soft_cap = !large_sizes_ && chance(0.6) ? std::min<int64_t>(cap, 17) : cap;
    for (int64_t s : kSizes)
      if (s >= 1 && s <= soft_cap) ok.push_back(s);
    if (ok.empty()) return 1;
    return ok[uniform(0, static_cast<int>(ok.size()) - 1)];
  }

  Shape random_shape(int rank, int64_t max_elements = kMaxElements) {
    Shape s;
    int64_t product = 1;
    for (int i = 0; i < rank; ++i) {
      const int64_t d = pick_size(std::max<int64_t>(1, max_elements / std::max<int64_t>(product, 1)));
      s.push_back(d);
      if (d) product *= d;
    }
    return s;
  }

  // ---- leaves ----
  tcc::Tensor random_tensor(const Shape& shape) {
    tcc::Tensor t(dtype_, shape);
    const int64_t n = t.numel();
    for (int64_t i = 0; i < n; ++i) {
      if (mode_.specials && chance(0.06)) {
        const int k = uniform(0, 4);
        const double f[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0};
        const int64_t lo32 = std::numeric_limits<int32_t>::min(), hi32 = std::numeric_limits<int32_t>::max();
        const int64_t lo64 = std::numeric_limits<int64_t>::min(), hi64 = std::numeric_limits<int64_t>::max();
        switch (dtype_) {
          case DType::f32: t.data_as<float>()[i] = static_cast<float>(f[k]); break;
          case DType::f64: t.data_as<double>()[i] = f[k]; break;
          case DType::i32: t.data_as<int32_t>()[i] = static_cast<int32_t>(k == 0 ? lo32 : k == 1 ? hi32 : k == 2 ? -1 : 0); break;
          case DType::i64: t.data_as<int64_t>()[i] = k == 0 ? lo64 : k == 1 ? hi64 : k == 2 ? -1 : 0; break;
        }
        continue;
      }
      switch (dtype_) {
        case DType::f32:
          t.data_as<float>()[i] = static_cast<float>(positive_floats_ ? uniform_real(0, 1) : uniform_real(-1, 1));
          break;
        case DType::f64: t.data_as<double>()[i] = positive_floats_ ? uniform_real(0, 1) : uniform_real(-1, 1); break;
        case DType::i32:
          t.data_as<int32_t>()[i] = wide_ints_ ? static_cast<int32_t>(static_cast<uint32_t>(rng_())) : uniform(-8, 8);
          break;
        case DType::i64:
          t.data_as<int64_t>()[i] = wide_ints_ ? static_cast<int64_t>(rng_()) : uniform(-8, 8);
          break;
      }
    }
    return t;
  }

  size_t leaf(const Shape& shape) {
    Item it;
    it.source = items_.size();
    tcc::Tensor t = random_tensor(shape);
    it.ref = ref::from_tensor(t);
    it.is_leaf = true;
    const std::string type = std::string(tcc::dtype_name(dtype_)) + dims(shape);
    if (chance(0.12)) {
      it.name = "c" + std::to_string(items_.size());
      it.value = graph_.constant(t);
      program_ << "input " << it.name << ": " << type << "   # a constant in the test\n";
    } else {
      it.name = "in" + std::to_string(items_.size());
      it.value = graph_.input(it.name, dtype_, shape);
      feeds_[it.name] = t;
      it.deps.insert(it.name);
      program_ << "input " << it.name << ": " << type << "\n";
    }
    items_.push_back(std::move(it));
    return items_.size() - 1;
  }

  // An existing item whose shape satisfies `ok` (chain mode prefers the newest), if any.
  // Only nodes of the graph's dtype: a cast's result is an output, not an operand.
  std::optional<size_t> existing(const std::function<bool(const Shape&)>& ok, double p = 0.75) {
    if (items_.empty() || !chance(p)) return std::nullopt;
    auto usable = [&](size_t i) { return items_[i].ref.dtype == dtype_ && ok(items_[i].ref.shape); };
    if (chain_mode_ && usable(items_.size() - 1)) return items_.size() - 1;
    std::vector<size_t> fits;
    for (size_t i = 0; i < items_.size(); ++i)
      if (usable(i)) fits.push_back(i);
    if (fits.empty()) return std::nullopt;
    return fits[uniform(0, static_cast<int>(fits.size()) - 1)];
  }

  size_t first_operand(int min_rank, int max_rank) {
    // An element-wise tail being built reads the node before it (gen_epilogue).
    if (forced_ && *forced_ < items_.size()) {
      const int r = static_cast<int>(items_[*forced_].ref.shape.size());
      if (r >= min_rank && r <= max_rank) return *forced_;
    }
    auto e = existing([&](const Shape& s) {
      return static_cast<int>(s.size()) >= min_rank && static_cast<int>(s.size()) <= max_rank;
    });
    return e ? *e : leaf(random_shape(uniform(min_rank, std::min(max_rank, 4)), large_sizes_ ? 100'000 : 20'000));
  }

  // An operand of exactly `shape`: sometimes an existing node (sharing), else a new leaf.
  size_t operand_with_shape(const Shape& shape) {
    auto e = existing([&](const Shape& s) { return s == shape; }, 0.5);
    return e ? *e : leaf(shape);
  }

  bool affordable(const Shape& operand, const Shape& out, int64_t k) const {
    return numel(operand) <= kMaxElements && numel(out) <= kMaxElements &&
           numel(out) * std::max<int64_t>(k, 1) <= work_left_;
  }

  // Records a built node after checking that tcc's inferred shape and dtype match the reference.
  bool add(Value v, RefTensor r, const std::string& expr, int64_t work, const std::vector<size_t>& operands, bool view) {
    Item it;
    for (size_t o : operands) it.deps.insert(items_[o].deps.begin(), items_[o].deps.end());
    for (size_t o : operands) {
      items_[o].consumed = true;
      items_[o].readers.push_back(items_.size());
    }
    const std::string kind = kind_of(expr);
    static const std::set<std::string> sums = {"matmul", "@", "dot", "batch_dot", "tensordot", "einsum", "sum"};
    it.view = view || kind == "transpose" || kind == "reshape";
    it.sum_like = !it.view && sums.count(kind);
    it.extreme = !it.view && (kind == "max" || kind == "min");
    it.source = it.view ? items_[operands[0]].source : items_.size();
    // tcc plans a chain of contractions through single-use intermediates, and an einsum of
    // three or more operands, as pairwise contractions in an order of its own (semantics.md):
    // (x . y) . inf and x . (y . inf) may differ as inf and NaN when y holds a 0. Such a
    // result's NaN and inf elements are left unknown (finite ones cannot change so).
    bool chained = (kind == "einsum" && operands.size() >= 3);
    for (size_t o : operands) chained |= items_[items_[o].source].sum_like;
    if ((it.sum_like || kind == "mean") && chained && r.is_float())
      for (int64_t i = 0; i < r.numel(); ++i)
        if (!std::isfinite(r.values[i])) r.values[i] = r.magnitudes[i] = NAN;
    it.name = "v" + std::to_string(items_.size());
    program_ << it.name << " = " << expr << "\n";
    if (v.shape() != r.shape || v.dtype() != r.dtype) {
      ADD_FAILURE() << "shape inference disagrees for " << it.name << ": tcc " << tcc::dtype_name(v.dtype())
                    << ref::shape_text(v.shape()) << ", reference " << tcc::dtype_name(r.dtype)
                    << ref::shape_text(r.shape) << "\n"
                    << program_.str();
      failed_ = true;
      return false;
    }
    it.value = v;
    it.ref = std::move(r);
    items_.push_back(std::move(it));
    ++kinds_[kind_of(expr)];
    work_left_ -= work;
    work_done_ += work;
    return true;
  }

  // Runs one op on both sides; a throw from either is a reported failure.
  template <typename TccOp, typename RefOp>
  bool apply(const std::string& expr, int64_t work, const std::vector<size_t>& operands, TccOp tcc_op, RefOp ref_op) {
    const bool view = next_view_;
    next_view_ = false;
    RefTensor r;
    try {
      r = ref_op();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "generator bug, the reference rejected " << expr << ": " << e.what() << "\n" << program_.str();
      failed_ = true;
      return false;
    }
    // Values that a few more products would take past f32's range (an overflow inside a sum
    // tcc may order differently) are left out; the node is never built.
    if (mode_.mixed && r.is_float() && max_abs(r) > (dtype_ == DType::f32 ? 1e15 : 1e100)) return false;
    Value v;
    try {
      v = tcc_op();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "tcc rejected a valid node " << expr << " (reference shape " << ref::shape_text(r.shape)
                    << "): " << e.what() << "\n"
                    << program_.str();
      failed_ = true;
      return false;
    }
    return add(v, std::move(r), expr, work, operands, view);
  }

  const Item& at(size_t i) const { return items_[i]; }

  // Batch dims for `b` that broadcast against `a_batch` (right-aligned, 1 stretches).
  // Appends the dims of a rows x cols matrix, or of its transpose (stored cols x rows).
  static void append_matrix(Shape& shape, int64_t rows, int64_t cols, bool transposed) {
    shape.push_back(transposed ? cols : rows);
    shape.push_back(transposed ? rows : cols);
  }

  Shape broadcast_partner(const Shape& a_batch) {
    const int nb = uniform(0, 3);
    Shape b(nb);
    const int na = static_cast<int>(a_batch.size());
    for (int j = 0; j < nb; ++j) {
      const int ai = na - nb + j;  // aligned position in a's batch
      if (ai < 0) {
        b[j] = pick_size(7, false);
      } else if (a_batch[ai] == 1) {
        b[j] = chance(0.5) ? 1 : pick_size(7, false);
      } else {
        b[j] = chance(0.75) ? a_batch[ai] : 1;
      }
    }
    return b;
  }

  // ---- op generators ----
  bool gen_matmul() {
    const size_t ai = first_operand(2, 5);
    const Shape a = at(ai).ref.shape;
    tcc::MatmulFlags f;
    const int fa = uniform(0, 2), fb = uniform(0, 2);
    f.transpose_a = fa == 1;
    f.adjoint_a = fa == 2;
    f.transpose_b = fb == 1;
    f.adjoint_b = fb == 2;
    const bool ta = fa != 0, tb = fb != 0;
    const int64_t inner = ta ? a[a.size() - 2] : a.back();
    const int64_t rows = ta ? a.back() : a[a.size() - 2];
    Shape b = broadcast_partner(Shape(a.begin(), a.end() - 2));
    const int64_t cols = pick_size();
    append_matrix(b, inner, cols, tb);
    Shape out_batch;
    const size_t nb = std::max(a.size(), b.size()) - 2;
    for (size_t i = 0; i < nb; ++i) {
      const int64_t da = i + a.size() - 2 >= nb ? a[i + a.size() - 2 - nb] : 1;
      const int64_t db = i + b.size() - 2 >= nb ? b[i + b.size() - 2 - nb] : 1;
      out_batch.push_back(da == 1 ? db : da);
    }
    Shape out = out_batch;
    out.push_back(rows);
    out.push_back(cols);
    if (!affordable(b, out, inner)) return false;
    const size_t bi = operand_with_shape(b);
    const std::string expr = "matmul(" + at(ai).name + ", " + at(bi).name + bool_flag("transpose_a", f.transpose_a) +
                             bool_flag("transpose_b", f.transpose_b) + bool_flag("adjoint_a", f.adjoint_a) +
                             bool_flag("adjoint_b", f.adjoint_b) + ")";
    return apply(
        expr, numel(out) * inner, {ai, bi}, [&] { return tcc::matmul(at(ai).value, at(bi).value, f); },
        [&] { return ref::matmul(at(ai).ref, at(bi).ref, f); });
  }

  bool gen_np_matmul() {
    const size_t ai = first_operand(1, 4);
    const Shape a = at(ai).ref.shape;
    const int64_t k = a.back();
    Shape b;
    if (chance(0.3)) {
      b = {k};
    } else {
      b = a.size() >= 2 ? broadcast_partner(Shape(a.begin(), a.end() - 2)) : random_shape(uniform(0, 2), 50);
      b.push_back(k);
      b.push_back(pick_size());
    }
    // Output size: batch(max) * rows * cols, bounded loosely by the product of both operands.
    const int64_t rows = a.size() >= 2 ? a[a.size() - 2] : 1;
    const int64_t cols = b.size() >= 2 ? b.back() : 1;
    int64_t batch = 1;
    const size_t nb = std::max<size_t>(a.size() >= 2 ? a.size() - 2 : 0, b.size() >= 2 ? b.size() - 2 : 0);
    for (size_t i = 0; i < nb; ++i) {
      const int64_t da = a.size() >= 2 && i + a.size() - 2 >= nb ? a[i + a.size() - 2 - nb] : 1;
      const int64_t db = b.size() >= 2 && i + b.size() - 2 >= nb ? b[i + b.size() - 2 - nb] : 1;
      batch *= da == 1 ? db : da;
    }
    if (!affordable(b, {batch, rows, cols}, k)) return false;
    const size_t bi = operand_with_shape(b);
    return apply(
        at(ai).name + " @ " + at(bi).name, batch * rows * cols * k, {ai, bi},
        [&] { return tcc::np::matmul(at(ai).value, at(bi).value); },
        [&] { return ref::np_matmul(at(ai).ref, at(bi).ref); });
  }

  bool gen_dot() {
    const size_t xi = first_operand(0, 4);
    const Shape x = at(xi).ref.shape;
    Shape y;
    int64_t k = 1;
    if (x.empty() || chance(0.1)) {
      y = x.empty() ? random_shape(uniform(0, 3), 5000) : Shape{};
    } else {
      k = x.back();
      const int ry = uniform(1, 3);
      if (ry == 1) {
        y = {k};
      } else {
        y = random_shape(ry - 2, 200);
        y.push_back(k);
        y.push_back(pick_size());
      }
    }
    Shape out;
    if (x.empty() || y.empty()) {
      out = x.empty() ? y : x;
    } else {
      out.assign(x.begin(), x.end() - 1);
      if (y.size() >= 2) {
        out.insert(out.end(), y.begin(), y.end() - 2);
        out.push_back(y.back());
      }
    }
    if (!affordable(y, out, k)) return false;
    const size_t yi = operand_with_shape(y);
    return apply(
        "dot(" + at(xi).name + ", " + at(yi).name + ")", numel(out) * k, {xi, yi},
        [&] { return tcc::dot(at(xi).value, at(yi).value); }, [&] { return ref::dot(at(xi).ref, at(yi).ref); });
  }

  bool gen_batch_dot_modern() {
    const size_t xi = first_operand(2, 5);
    const Shape x = at(xi).ref.shape;
    const int rx = static_cast<int>(x.size());
    const int ry = uniform(2, 4);
    Axes axes;
    int a0, a1;
    const int form = uniform(0, 2);
    if (form == 0) {
      a0 = rx - 1;
      a1 = ry == 2 ? 1 : ry - 2;
    } else if (form == 1) {
      const int lim = std::min(rx, ry) - 1;
      const int a = uniform(1, lim);
      if (chance(0.2) && rx == ry) {
        axes = Axes(a - rx);  // a negative int adds each operand's (equal) rank
      } else {
        axes = Axes(a);
      }
      a0 = a1 = a;
    } else {
      a0 = uniform(1, rx - 1);
      a1 = uniform(1, ry - 1);
      axes = Axes{chance(0.3) ? a0 - rx : a0, chance(0.3) ? a1 - ry : a1};
    }
    Shape y = random_shape(ry, 3000);
    y[0] = x[0];
    y[a1] = x[a0];
    Shape out = {x[0]};
    for (int i = 1; i < rx; ++i)
      if (i != a0) out.push_back(x[i]);
    for (int i = 1; i < ry; ++i)
      if (i != a1) out.push_back(y[i]);
    if (!affordable(y, out, x[a0])) return false;
    const size_t yi = operand_with_shape(y);
    return apply(
        "batch_dot(" + at(xi).name + ", " + at(yi).name + (axes.is_none() ? "" : ", axes=" + axes_text(axes)) + ")",
        numel(out) * x[a0], {xi, yi}, [&] { return tcc::batch_dot(at(xi).value, at(yi).value, axes); },
        [&] { return ref::batch_dot(at(xi).ref, at(yi).ref, axes, false); });
  }

  // Only the legacy cases whose meaning is unambiguous: equal ranks >= 3 (the tf.matmul path,
  // any adjoint combination), the (b,m,k).(b,k) / (b,k).(b,k,n) default-axes quirks, and rank 2.
  bool gen_batch_dot_legacy() {
    const int mode = uniform(0, 5);
    size_t xi;
    Shape y, out;
    Axes axes;
    int64_t k;
    if (mode <= 2) {
      xi = first_operand(3, 5);
      const Shape x = at(xi).ref.shape;
      const int r = static_cast<int>(x.size());
      const int a0 = chance(0.5) ? r - 1 : r - 2, a1 = chance(0.5) ? r - 2 : r - 1;
      const bool adj_a = a0 != r - 1, adj_b = a1 == r - 1;
      if (a0 == r - 1 && a1 == r - 2 && chance(0.5)) {
        axes = Axes();
      } else if (a0 == a1 && chance(0.5)) {
        axes = Axes(chance(0.3) ? a0 - r : a0);
      } else {
        axes = Axes{chance(0.3) ? a0 - r : a0, chance(0.3) ? a1 - r : a1};
      }
      k = adj_a ? x[r - 2] : x[r - 1];
      const int64_t m = adj_a ? x[r - 1] : x[r - 2];
      const int64_t n = pick_size();
      y.assign(x.begin(), x.end() - 2);
      out = y;
      append_matrix(y, k, n, adj_b);
      out.push_back(m);
      out.push_back(n);
    } else if (mode == 3) {
      // (b, m, k) . (b, k) -> (b, m)
      xi = first_operand(3, 3);
      const Shape x = at(xi).ref.shape;
      k = x[2];
      y = {x[0], k};
      out = {x[0], x[1]};
    } else if (mode == 4) {
      // (b, k) . (b, k, n) -> (b, n)
      xi = first_operand(2, 2);
      const Shape x = at(xi).ref.shape;
      k = x[1];
      y = {x[0], k, pick_size()};
      out = {x[0], y[2]};
    } else {
      // rank 2, axes=1: sum(x * y, axis=1) -> (b, 1)
      xi = first_operand(2, 2);
      const Shape x = at(xi).ref.shape;
      k = x[1];
      y = {x[0], chance(0.2) ? 1 : x[1]};
      if (k == 1) k = y[1];
      axes = Axes(chance(0.3) ? -1 : 1);
      out = {x[0], 1};
    }
    if (!affordable(y, out, k)) return false;
    const size_t yi = operand_with_shape(y);
    return apply(
        "batch_dot(" + at(xi).name + ", " + at(yi).name + (axes.is_none() ? "" : ", axes=" + axes_text(axes)) +
            ", legacy=true)",
        numel(out) * k, {xi, yi},
        [&] { return tcc::batch_dot(at(xi).value, at(yi).value, axes, tcc::BatchDotConvention::legacy); },
        [&] { return ref::batch_dot(at(xi).ref, at(yi).ref, axes, true); });
  }

  bool gen_tensordot() {
    const size_t xi = first_operand(0, 4);
    const Shape x = at(xi).ref.shape;
    const int rx = static_cast<int>(x.size());
    Axes axes;
    Shape y, out;
    int64_t k = 1;
    if (chance(0.5)) {
      const int n = uniform(0, std::min(rx, 3));
      axes = Axes(n);
      y.assign(x.end() - n, x.end());
      for (int i = 0; i < n; ++i) k *= x[rx - n + i];
      const Shape extra = random_shape(uniform(0, 2), 200);
      y.insert(y.end(), extra.begin(), extra.end());
      out.assign(x.begin(), x.end() - n);
      out.insert(out.end(), extra.begin(), extra.end());
    } else {
      const int n = uniform(0, std::min(rx, 3));
      std::vector<int> xs(rx);
      std::iota(xs.begin(), xs.end(), 0);
      std::shuffle(xs.begin(), xs.end(), rng_);
      xs.resize(n);
      const int ry = n + uniform(0, 2);
      std::vector<int> ys(ry);
      std::iota(ys.begin(), ys.end(), 0);
      std::shuffle(ys.begin(), ys.end(), rng_);
      ys.resize(n);
      y = random_shape(ry, 200);
      std::vector<Axes> ax_items, ay_items;
      for (int i = 0; i < n; ++i) {
        y[ys[i]] = x[xs[i]];
        k *= x[xs[i]];
        ax_items.push_back(Axes(chance(0.25) ? xs[i] - rx : xs[i]));
        ay_items.push_back(Axes(chance(0.25) ? ys[i] - ry : ys[i]));
      }
      if (n == 1 && chance(0.5)) {
        axes = Axes{ax_items[0], ay_items[0]};  // a pair of ints
      } else {
        axes = Axes{Axes::list(ax_items), Axes::list(ay_items)};
      }
      for (int i = 0; i < rx; ++i)
        if (std::find(xs.begin(), xs.end(), i) == xs.end()) out.push_back(x[i]);
      for (int i = 0; i < ry; ++i)
        if (std::find(ys.begin(), ys.end(), i) == ys.end()) out.push_back(y[i]);
    }
    if (!affordable(y, out, k)) return false;
    const size_t yi = operand_with_shape(y);
    return apply(
        "tensordot(" + at(xi).name + ", " + at(yi).name + ", axes=" + axes_text(axes) + ")", numel(out) * k, {xi, yi},
        [&] { return tcc::tensordot(at(xi).value, at(yi).value, axes); },
        [&] { return ref::tensordot(at(xi).ref, at(yi).ref, axes); });
  }

  bool gen_einsum() {
    const std::string letters = "abcdefgijkXYZ";
    std::map<char, int64_t> size_of;  // the full size of each label
    std::vector<std::string> terms;
    std::vector<size_t> ops;
    Shape ellipsis;  // the broadcast ellipsis shape
    bool uses_ellipsis = false;
    int64_t space = 1;  // product of every label size so far (the loop space)
    auto fresh_label = [&]() -> char {
      for (int tries = 0; tries < 50; ++tries) {
        const char c = letters[uniform(0, static_cast<int>(letters.size()) - 1)];
        if (!size_of.count(c)) return c;
      }
      return 0;
    };
    // One, two, or three to six operands (the latter planned into pairwise contraction paths).
    const int n_ops = chance(0.2) ? 1 : (chance(0.55) ? 2 : uniform(3, 6));
    // First operand: often an existing node, with a label per axis (sometimes a diagonal or an
    // ellipsis over its leading dims).
    const size_t xi = first_operand(0, 4);
    const Shape x = at(xi).ref.shape;
    {
      std::string term;
      size_t first_letter_axis = 0;
      if (!x.empty() && chance(0.25)) {
        const int e = uniform(0, std::min<int>(2, static_cast<int>(x.size())));
        ellipsis.assign(x.begin(), x.begin() + e);
        for (int64_t d : ellipsis) space *= std::max<int64_t>(d, 1);
        term = "...";
        uses_ellipsis = true;
        first_letter_axis = e;
      }
      std::map<char, int64_t> in_term;
      for (size_t a = first_letter_axis; a < x.size(); ++a) {
        char c = 0;
        for (const auto& [l, s] : in_term)
          if (s == x[a] && chance(0.15)) c = l;  // a diagonal
        if (!c) {
          c = fresh_label();
          if (!c) return false;
          size_of[c] = x[a];
          space *= std::max<int64_t>(x[a], 1);
        }
        in_term[c] = x[a];
        term += c;
      }
      terms.push_back(term);
      ops.push_back(xi);
    }
    std::vector<Shape> later_shapes;
    for (int o = 1; o < n_ops; ++o) {
      std::string term;
      Shape shape;
      if (uses_ellipsis && chance(0.7)) {
        const int e = uniform(0, static_cast<int>(ellipsis.size()));
        for (size_t j = ellipsis.size() - e; j < ellipsis.size(); ++j)
          shape.push_back(chance(0.3) ? 1 : ellipsis[j]);
        term = "...";
      }
      const int n_letters = uniform(0, 3);
      std::map<char, int64_t> in_term;
      for (int j = 0; j < n_letters; ++j) {
        char c = 0;
        if (!size_of.empty() && chance(0.65)) {
          auto it = size_of.begin();
          std::advance(it, uniform(0, static_cast<int>(size_of.size()) - 1));
          c = it->first;
        } else {
          c = fresh_label();
          if (!c) return false;
          size_of[c] = pick_size(std::max<int64_t>(1, work_left_ / std::max<int64_t>(space, 1)));
          space *= std::max<int64_t>(size_of[c], 1);
        }
        // A size-1 axis broadcasts against the label's size (fixed per operand for diagonals).
        if (!in_term.count(c)) in_term[c] = chance(0.1) ? 1 : size_of[c];
        term += c;
        shape.push_back(in_term[c]);
      }
      terms.push_back(term);
      later_shapes.push_back(shape);
    }
    // Output: explicit (a random subset in random order) or implicit.
    std::string spec;
    for (size_t o = 0; o < terms.size(); ++o) spec += (o ? "," : "") + terms[o];
    bool any_ellipsis = false;
    for (const std::string& t : terms) any_ellipsis |= t.rfind("...", 0) == 0;
    std::vector<char> out_letters;
    if (chance(0.75)) {
      std::vector<std::string> parts;
      for (const auto& [c, s] : size_of)
        if (chance(0.5)) parts.push_back(std::string(1, c));
      if (any_ellipsis) parts.push_back("...");
      std::shuffle(parts.begin(), parts.end(), rng_);
      spec += "->";
      for (const std::string& p : parts) {
        spec += p;
        if (p != "...") out_letters.push_back(p[0]);
      }
    } else {
      std::map<char, int> uses;
      for (const std::string& t : terms)
        for (char c : t)
          if (c != '.') ++uses[c];
      for (const auto& [c, n] : uses)
        if (n == 1) out_letters.push_back(c);
    }
    // Bound the output by the full label sizes before computing anything.
    int64_t out_bound = 1;
    for (char c : out_letters) out_bound *= size_of[c];
    for (int64_t d : ellipsis) out_bound *= d;
    if (out_bound > kMaxElements) return false;
    if (space > work_left_ || space * n_ops > work_left_) return false;
    for (const Shape& s : later_shapes)
      if (numel(s) > kMaxElements) return false;
    for (const Shape& s : later_shapes) ops.push_back(operand_with_shape(s));
    std::string expr = "einsum(\"" + spec + "\"";
    for (size_t o : ops) expr += ", " + at(o).name;
    expr += ")";
    if (ops.size() == 1) {  // a view when it sums no label (a permutation, a diagonal)
      bool sums = false;
      for (char c : terms[0])
        sums |= c != '.' && std::find(out_letters.begin(), out_letters.end(), c) == out_letters.end();
      next_view_ = !sums;
    }
    std::vector<Value> values;
    std::vector<RefTensor> refs;
    for (size_t o : ops) {
      values.push_back(at(o).value);
      refs.push_back(at(o).ref);
    }
    return apply(
        expr, space * static_cast<int64_t>(n_ops), ops, [&] { return tcc::einsum(spec, values); },
        [&] { return ref::einsum(spec, refs); });
  }

  bool gen_transpose() {
    const size_t xi = first_operand(0, 5);
    const int r = static_cast<int>(at(xi).ref.shape.size());
    std::optional<std::vector<int64_t>> perm;
    std::string text = "transpose(" + at(xi).name;
    if (chance(0.7)) {
      std::vector<int64_t> p(r);
      std::iota(p.begin(), p.end(), 0);
      std::shuffle(p.begin(), p.end(), rng_);
      for (int64_t& a : p)
        if (chance(0.2)) a -= r;
      perm = p;
      text += ", perm=" + int_list(p);
    }
    return apply(
        text + ")", numel(at(xi).ref.shape), {xi}, [&] { return tcc::transpose(at(xi).value, perm); },
        [&] { return ref::transpose(at(xi).ref, perm); });
  }

  bool gen_reshape() {
    const size_t xi = first_operand(0, 5);
    Shape s = at(xi).ref.shape;
    const int edits = uniform(1, 3);
    for (int e = 0; e < edits; ++e) {
      const int kind = uniform(0, 3);
      if (kind == 0 && s.size() >= 2) {  // merge two neighbours
        const int i = uniform(0, static_cast<int>(s.size()) - 2);
        s[i] *= s[i + 1];
        s.erase(s.begin() + i + 1);
      } else if (kind == 1 && !s.empty()) {  // split a dim by a divisor
        const int i = uniform(0, static_cast<int>(s.size()) - 1);
        std::vector<int64_t> divisors;
        for (int64_t f = 1; f <= s[i]; ++f)
          if (s[i] % f == 0) divisors.push_back(f);
        if (divisors.empty()) continue;
        const int64_t f = divisors[uniform(0, static_cast<int>(divisors.size()) - 1)];
        const int64_t rest = s[i] / f;
        s[i] = f;
        s.insert(s.begin() + i + 1, rest);
      } else if (kind == 2) {  // insert a 1
        s.insert(s.begin() + uniform(0, static_cast<int>(s.size())), 1);
      } else if (!s.empty()) {  // drop a 1, if there is one
        auto it = std::find(s.begin(), s.end(), 1);
        if (it != s.end()) s.erase(it);
      }
    }
    if (s.size() > 6) return false;
    Shape target = s;
    if (!s.empty() && numel(s) > 0 && chance(0.4)) target[uniform(0, static_cast<int>(s.size()) - 1)] = -1;
    return apply(
        "reshape(" + at(xi).name + ", shape=" + int_list(target) + ")", 0, {xi},
        [&] { return tcc::reshape(at(xi).value, target); }, [&] { return ref::reshape(at(xi).ref, target); });
  }

  // ---- mixed graphs: element-wise functions, reductions, softmax, bias_add ----

  bool is_float_dtype() const { return tcc::is_float(dtype_); }

  bool gen_contraction() {
    switch (uniform(0, 7)) {
      case 0: return gen_matmul();
      case 1: return gen_np_matmul();
      case 2: return gen_dot();
      case 3: return gen_batch_dot_modern();
      case 4: return gen_batch_dot_legacy();
      case 5: return gen_tensordot();
      default: return gen_einsum();
    }
  }

  bool gen_mixed() {
    const int kind = uniform(0, 99);
    if (kind < 15) return gen_contraction();
    if (kind < 37) return gen_epilogue();
    if (kind < 41) return chance(0.5) ? gen_transpose() : gen_reshape();
    if (kind < 56) return gen_unary();
    if (kind < 73) return gen_binary();
    if (kind < 85) return gen_reduction();
    if (kind < 89) return gen_softmax();
    if (kind < 94) return gen_bias_add();
    if (kind < 97) return gen_attention();
    gen_rejected();
    return false;
  }

  // A contraction whose result an element-wise tail of one to four functions reads at once
  // (fused as the contraction's epilogue when nothing else reads the result), sometimes
  // reduced afterwards, sometimes read a second time (then not fused).
  bool gen_epilogue() {
    if (!gen_contraction()) return false;
    const size_t c = items_.size() - 1;
    const int n = uniform(1, 4);
    for (int k = 0; k < n && !failed_; ++k) {
      forced_ = items_.size() - 1;
      if (chance(0.55)) gen_binary();
      else gen_unary();
    }
    if (!failed_ && chance(0.2)) {
      forced_ = items_.size() - 1;
      gen_reduction();
    }
    if (!failed_ && chance(0.3)) gen_cast(items_.size() - 1);
    if (!failed_ && chance(0.2)) {
      forced_ = c;
      if (chance(0.5)) gen_unary();
      else gen_binary();
    }
    forced_.reset();
    return !failed_;
  }

  // cast(x, t) to another dtype (of floats: the other float; of integers: the other integer
  // or a float), the end of an epilogue: the sums stay in the graph's dtype until the store.
  bool gen_cast(size_t xi) {
    if (at(xi).ref.dtype != dtype_ || numel(at(xi).ref.shape) > work_left_) return false;
    const std::vector<DType> floats{dtype_ == DType::f32 ? DType::f64 : DType::f32};
    const std::vector<DType> ints{dtype_ == DType::i32 ? DType::i64 : DType::i32, DType::f32, DType::f64};
    const std::vector<DType>& choices = is_float_dtype() ? floats : ints;
    const DType to = choices[uniform(0, static_cast<int>(choices.size()) - 1)];
    return apply(
        "cast(" + at(xi).name + ", " + std::string(tcc::dtype_name(to)) + ")", numel(at(xi).ref.shape), {xi},
        [&] { return tcc::cast(at(xi).value, to); }, [&] { return ref::cast(at(xi).ref, to); });
  }

  // tcc's spelling of a binary function: the operator, the named function or elementwise().
  Value tcc_binary(const std::string& name, const Value& x, const Value& y, bool by_name) {
    if (by_name) return tcc::elementwise(name, {x, y});
    if (name == "add") return x + y;
    if (name == "subtract") return x - y;
    if (name == "multiply") return x * y;
    if (name == "divide") return x / y;
    if (name == "maximum") return tcc::maximum(x, y);
    if (name == "minimum") return tcc::minimum(x, y);
    return tcc::pow(x, y);
  }

  static std::string binary_text(const std::string& name, const std::string& x, const std::string& y, bool by_name) {
    static const std::map<std::string, std::string> ops = {{"add", "+"}, {"subtract", "-"}, {"multiply", "*"}, {"divide", "/"}};
    auto it = ops.find(name);
    if (by_name || it == ops.end()) return name + "(" + x + ", " + y + ")";
    return x + " " + it->second + " " + y;
  }

  Value tcc_unary(const std::string& name, const Value& x, bool by_name) {
    if (by_name) return tcc::elementwise(name, {x});
    if (name == "neg") return -x;
    if (name == "abs") return tcc::abs(x);
    if (name == "square") return tcc::square(x);
    if (name == "sqrt") return tcc::sqrt(x);
    if (name == "rsqrt") return tcc::rsqrt(x);
    if (name == "exp") return tcc::exp(x);
    if (name == "log") return tcc::log(x);
    if (name == "tanh") return tcc::tanh(x);
    if (name == "sigmoid") return tcc::sigmoid(x);
    if (name == "relu") return tcc::relu(x);
    if (name == "gelu") return tcc::gelu(x, false);
    return tcc::gelu(x, true);
  }

  // A new node f(x); its index, or nothing if it was not built.
  std::optional<size_t> unary(size_t xi, const std::string& name) {
    const bool by_name = chance(0.3);
    const std::string n = at(xi).name;
    const std::string expr = name == "gelu_tanh" ? "gelu(" + n + ", approximate=true)"
                             : name == "neg" && !by_name ? "-" + n
                                                         : name + "(" + n + ")";
    if (numel(at(xi).ref.shape) > work_left_) return std::nullopt;
    if (!apply(
            expr, numel(at(xi).ref.shape), {xi}, [&] { return tcc_unary(name, at(xi).value, by_name); },
            [&] { return ref::elementwise(name, {at(xi).ref}); }))
      return std::nullopt;
    return items_.size() - 1;
  }

  // A new node f(x, y) of two nodes.
  std::optional<size_t> binary(size_t xi, size_t yi, const std::string& name) {
    const std::optional<Shape> out = broadcast_shapes(at(xi).ref.shape, at(yi).ref.shape);
    if (!out || numel(*out) > kMaxElements || numel(*out) > work_left_) return std::nullopt;
    const bool by_name = chance(0.25);
    if (!apply(
            binary_text(name, at(xi).name, at(yi).name, by_name), numel(*out), {xi, yi},
            [&] { return tcc_binary(name, at(xi).value, at(yi).value, by_name); },
            [&] { return ref::elementwise(name, {at(xi).ref, at(yi).ref}); }))
      return std::nullopt;
    return items_.size() - 1;
  }

  // A new node f(x, s) or f(s, x) with a number s (a weak scalar: it takes x's dtype).
  std::optional<size_t> with_scalar(size_t xi, const std::string& name, double s, bool scalar_first) {
    if (numel(at(xi).ref.shape) > work_left_) return std::nullopt;
    const std::string text = scalar_first ? binary_text(name, number(s), at(xi).name, false)
                                          : binary_text(name, at(xi).name, number(s), false);
    auto tcc_op = [&]() -> Value {
      const Value& x = at(xi).value;
      if (name == "add") return scalar_first ? s + x : x + s;
      if (name == "subtract") return scalar_first ? s - x : x - s;
      if (name == "multiply") return scalar_first ? s * x : x * s;
      if (name == "divide") return scalar_first ? s / x : x / s;
      if (name == "pow" && !scalar_first) return tcc::pow(x, s);
      const Value sv = tcc::scalar_like(x, s);
      return scalar_first ? tcc_binary(name, sv, x, chance(0.5)) : tcc_binary(name, x, sv, chance(0.5));
    };
    auto ref_op = [&] {
      const RefTensor sv = ref::scalar(dtype_, s);
      return scalar_first ? ref::elementwise(name, {sv, at(xi).ref}) : ref::elementwise(name, {at(xi).ref, sv});
    };
    if (!apply(text, numel(at(xi).ref.shape), {xi}, tcc_op, ref_op)) return std::nullopt;
    return items_.size() - 1;
  }

  // x, or x times a power of two (exact) so that its values stay within `limit`: arguments of
  // exp, pow and square that keep their results far from overflow.
  size_t scaled(size_t xi, double limit) {
    const double m = max_abs(at(xi).ref);
    if (!is_float_dtype() || m <= limit) return xi;
    const double s = std::ldexp(1.0, -static_cast<int>(std::ceil(std::log2(m / limit))));
    return with_scalar(xi, "multiply", s, chance(0.5)).value_or(xi);
  }

  // A positive version of x for log, sqrt, rsqrt, a divisor or a base: abs(x) + c or x*x + c.
  size_t positive(size_t xi) {
    const double c = chance(0.5) ? 0.5 : (chance(0.5) ? 0.25 : 1.0);
    std::optional<size_t> t = chance(0.5) ? unary(xi, "abs") : unary(scaled(xi, 1e3), "square");
    if (!t) return xi;
    return with_scalar(*t, "add", c, chance(0.3)).value_or(*t);
  }

  bool gen_unary() {
    size_t xi = first_operand(0, 5);
    forced_.reset();
    static const std::vector<std::string> floats = {"neg", "abs", "square", "sqrt", "rsqrt", "exp", "log",
                                                     "tanh", "sigmoid", "relu", "gelu", "gelu_tanh"};
    static const std::vector<std::string> ints = {"neg", "abs", "square", "relu"};
    const std::vector<std::string>& names = is_float_dtype() ? floats : ints;
    const std::string name = names[uniform(0, static_cast<int>(names.size()) - 1)];
    if (is_float_dtype()) {
      if (name == "exp") xi = scaled(xi, 16);
      if (name == "square") xi = scaled(xi, 1e4);
      // log, sqrt and rsqrt of a negative are NaN on both sides, but near 0 an input's error
      // decides between NaN and a number (the reference leaves those unknown): mostly feed
      // them positive values.
      if ((name == "sqrt" || name == "log" || name == "rsqrt") && chance(0.7)) xi = positive(xi);
    }
    return unary(xi, name).has_value();
  }

  // A shape that broadcasts with x's: a suffix of x's dims (some 1), x's own, or a longer one
  // that stretches x's 1s and adds leading dims.
  Shape partner_shape(const Shape& xs) {
    const int r = static_cast<int>(xs.size());
    const int mode = uniform(0, 9);
    Shape p;
    if (mode <= 5) {
      const int rp = uniform(0, r);
      for (int i = r - rp; i < r; ++i) p.push_back(chance(0.3) ? 1 : xs[i]);
    } else if (mode <= 7) {
      p = xs;
    } else {
      const int extra = uniform(1, 2);
      for (int i = 0; i < extra; ++i) p.push_back(pick_size(7));
      for (int64_t d : xs) p.push_back(d == 1 && chance(0.4) ? pick_size(7, false) : d);
    }
    return p;
  }

  bool gen_binary() {
    size_t xi = first_operand(0, 5);
    forced_.reset();
    static const std::vector<std::string> floats = {"add", "add", "subtract", "multiply", "multiply", "divide",
                                                     "maximum", "minimum", "pow"};
    static const std::vector<std::string> ints = {"add", "add", "subtract", "multiply", "multiply", "maximum", "minimum"};
    const std::vector<std::string>& names = is_float_dtype() ? floats : ints;
    const std::string name = names[uniform(0, static_cast<int>(names.size()) - 1)];
    const bool scalar_first = chance(0.3);
    if (chance(0.25)) {  // with a number
      double s;
      if (!is_float_dtype()) {
        const double big = dtype_ == DType::i32 ? 65537.0 : 1099511627777.0;  // products wrap
        s = chance(0.2) ? (chance(0.5) ? big : -big) : uniform(-3, 3);
      } else if (name == "pow") {
        if (scalar_first) {
          s = chance(0.5) ? 2.0 : (chance(0.5) ? 0.5 : 3.0);
          xi = scaled(xi, 16);
        } else if (chance(0.25)) {
          s = chance(0.5) ? 2.0 : 3.0;  // an integer power of any base
          xi = scaled(xi, 64);
        } else {
          const double ss[] = {2.0, 3.0, 0.5, -1.0, -0.5, 1.5, -2.0};
          s = ss[uniform(0, 6)];
          xi = scaled(positive(xi), 64);
        }
      } else {
        const double ss[] = {2.0, -4.0, 0.5, 3.0, 0.1, -1.5, 7.0, 1.0};
        s = ss[uniform(0, 7)];
        if (name == "divide" && scalar_first && chance(0.8)) xi = positive(xi);
      }
      return with_scalar(xi, name, s, scalar_first).has_value();
    }
    const Shape ys = partner_shape(at(xi).ref.shape);
    if (numel(ys) > kMaxElements) return false;
    size_t yi = operand_with_shape(ys);
    if (scalar_first) std::swap(xi, yi);  // the partner on the left
    if (name == "divide" && chance(0.85)) {
      yi = positive(yi);
      if (chance(0.3)) yi = with_scalar(yi, "multiply", -1.0, false).value_or(yi);
    }
    if (name == "pow") {
      xi = scaled(positive(xi), 16);
      yi = scaled(yi, 2);
    }
    return binary(xi, yi, name).has_value();
  }

  // An `axis` argument for a rank-r operand, and which axes it reduces.
  Axes random_axis(int r, std::vector<bool>& reduced) {
    reduced.assign(r, false);
    const int form = uniform(0, 9);
    if (form <= 2 || r == 0) {
      reduced.assign(r, true);
      if (r == 0 && chance(0.3)) return Axes::list({});  // reduces nothing
      return Axes();
    }
    if (form <= 6) {
      const int a = uniform(0, r - 1);
      reduced[a] = true;
      return Axes(chance(0.3) ? a - r : a);
    }
    std::vector<int> order(r);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng_);
    order.resize(uniform(0, r));
    std::vector<Axes> items;
    for (int a : order) {
      reduced[a] = true;
      items.push_back(Axes(chance(0.3) ? a - r : a));
    }
    return Axes::list(items);
  }

  bool gen_reduction() {
    const size_t xi = first_operand(0, 5);
    forced_.reset();
    const Shape xs = at(xi).ref.shape;
    const int r = static_cast<int>(xs.size());
    const int which = uniform(0, 9);
    const std::string op = which <= 3 ? "sum" : which <= 5 ? "max" : which <= 7 ? "min" : "mean";
    std::vector<bool> reduced;
    const Axes axis = random_axis(r, reduced);
    const bool keepdims = chance(0.5);
    const std::string expr = op + "(" + at(xi).name + ", axis=" + axes_text(axis) + (keepdims ? ", keepdims=true" : "") + ")";
    auto tcc_op = [&] {
      const Value& x = at(xi).value;
      if (op == "sum") return tcc::sum(x, axis, keepdims);
      if (op == "max") return tcc::max(x, axis, keepdims);
      if (op == "min") return tcc::min(x, axis, keepdims);
      return tcc::mean(x, axis, keepdims);
    };
    auto ref_op = [&] {
      const RefTensor& x = at(xi).ref;
      if (op == "sum") return ref::sum(x, axis, keepdims);
      if (op == "max") return ref::max(x, axis, keepdims);
      if (op == "min") return ref::min(x, axis, keepdims);
      return ref::mean(x, axis, keepdims);
    };
    bool empty_axis = false;
    for (int a = 0; a < r; ++a) empty_axis |= reduced[a] && xs[a] == 0;
    if ((op == "max" || op == "min") && empty_axis) {
      expect_rejected<tcc::ShapeError>(expr + " (an empty axis)", tcc_op, ref_op);
      return false;
    }
    if (op == "mean" && !is_float_dtype()) {
      expect_rejected<tcc::DTypeError>(expr, tcc_op, ref_op);
      return false;
    }
    if (numel(xs) > work_left_) return false;
    next_view_ = std::find(reduced.begin(), reduced.end(), true) == reduced.end();  // reduces no axis
    return apply(expr, numel(xs), {xi}, tcc_op, ref_op);
  }

  bool gen_softmax() {
    const size_t xi = first_operand(1, 5);
    forced_.reset();
    const Shape xs = at(xi).ref.shape;
    const int r = static_cast<int>(xs.size());
    if (r == 0) return false;
    const int a = uniform(0, r - 1);
    const int64_t axis = chance(0.4) ? a - r : a;
    const std::string expr = "softmax(" + at(xi).name + ", axis=" + std::to_string(axis) + ")";
    auto tcc_op = [&] { return tcc::softmax(at(xi).value, axis); };
    auto ref_op = [&] { return ref::softmax(at(xi).ref, axis); };
    if (!is_float_dtype()) {
      expect_rejected<tcc::DTypeError>(expr, tcc_op, ref_op);
      return false;
    }
    // softmax over an axis of size 0 is a ShapeError in tcc (its max has no value) where
    // Keras returns the empty array: left out.
    if (xs[a] == 0 || 4 * numel(xs) > work_left_) return false;
    return apply(expr, 4 * numel(xs), {xi, xi}, tcc_op, ref_op);  // x - max(x): two reads
  }

  // Attention, softmax(q · kᵀ · scale) · v over q's batch (one flash-attention step when
  // nothing else reads the scores), in its Keras and NumPy spellings. Not with special values:
  // an exp that underflows in the dtype (0 · inf = NaN) where float64's does not (inf) would
  // make such elements differ by the dtype's range, not by the kernel.
  bool gen_attention() {
    if (!is_float_dtype() || mode_.specials) return false;
    const size_t qi = first_operand(3, 3);
    forced_.reset();
    const Shape q = at(qi).ref.shape;
    const Shape k{q[0], pick_size(97, false), q[2]}, v{q[0], k[1], pick_size()};
    const Shape out{q[0], q[1], v[2]};
    const int64_t work = numel(Shape{q[0], q[1], k[1]}) * (q[2] + v[2] + 8);
    if (numel(k) > kMaxElements || numel(v) > kMaxElements || numel(out) > kMaxElements || work > work_left_) return false;
    const size_t ki = operand_with_shape(k), vi = operand_with_shape(v);
    const double scale = std::vector<double>{0.125, 1.0, -0.5}[uniform(0, 2)];
    const bool keras = chance(0.5);
    const std::string qn = at(qi).name, kn = at(ki).name, vn = at(vi).name, sn = number(scale);
    const std::string expr = keras ? "matmul(softmax(batch_dot(" + qn + ", " + kn + ", axes=(2, 2)) * " + sn + "), " + vn + ")"
                                   : "matmul(softmax(matmul(" + qn + ", " + kn + ", transpose_b=true) * " + sn + "), " + vn + ")";
    auto tcc_op = [&] {
      const tcc::Value scores = keras ? tcc::batch_dot(at(qi).value, at(ki).value, tcc::Axes({2, 2}))
                                      : tcc::matmul(at(qi).value, at(ki).value, {.transpose_b = true});
      return tcc::matmul(tcc::softmax(scores * scale), at(vi).value);
    };
    auto ref_op = [&] {
      const RefTensor scores = ref::batch_dot(at(qi).ref, at(ki).ref, tcc::Axes({2, 2}));
      return ref::matmul(ref::softmax(ref::elementwise("multiply", {scores, ref::scalar(dtype_, scale)})), at(vi).ref);
    };
    if (!apply(expr, work, {qi, ki, vi}, tcc_op, ref_op)) return false;
    ++kinds_["(attention)"];  // counted as its outer matmul too
    return true;
  }

  bool gen_bias_add() {
    const size_t xi = first_operand(1, 5);
    forced_.reset();
    const Shape xs = at(xi).ref.shape;
    if (xs.empty()) return false;
    const Shape bs = xs.size() >= 3 && chance(0.4) ? Shape(xs.begin() + 1, xs.end()) : Shape{xs.back()};
    if (numel(xs) > work_left_) return false;
    const size_t bi = operand_with_shape(bs);
    return apply(
        "bias_add(" + at(xi).name + ", " + at(bi).name + ")", numel(xs), {xi, bi},
        [&] { return tcc::bias_add(at(xi).value, at(bi).value); }, [&] { return ref::bias_add(at(xi).ref, at(bi).ref); });
  }

  // Both sides must reject the op with an E (build time only; no node is added).
  template <typename E, typename TccOp, typename RefOp>
  void expect_rejected(const std::string& what, TccOp tcc_op, RefOp ref_op) {
    ++rejections_;
    std::string tcc_said = "(accepted)", ref_said = "(accepted)";
    bool tcc_ok = false, ref_ok = false;
    try {
      tcc_op();
    } catch (const E&) {
      tcc_ok = true;
    } catch (const std::exception& e) {
      tcc_said = e.what();
    }
    try {
      ref_op();
    } catch (const E&) {
      ref_ok = true;
    } catch (const std::exception& e) {
      ref_said = e.what();
    }
    if (!tcc_ok) ADD_FAILURE() << "tcc did not reject " << what << " with the expected error: " << tcc_said << "\n" << program_.str();
    if (!ref_ok) ADD_FAILURE() << "the reference did not reject " << what << ": " << ref_said << "\n" << program_.str();
  }

  // An op both sides must reject: a float-only function of integers, shapes that do not
  // broadcast, a bias of the wrong shape, an axis out of range or named twice.
  void gen_rejected() {
    const size_t xi = first_operand(0, 4);
    const Shape xs = at(xi).ref.shape;
    const int r = static_cast<int>(xs.size());
    const Value& x = at(xi).value;
    const RefTensor& xr = at(xi).ref;
    const int kind = uniform(0, 4);
    if (kind == 0 && !is_float_dtype()) {
      static const std::vector<std::string> float_only = {"divide", "pow", "sqrt", "rsqrt", "exp", "log",
                                                          "tanh", "sigmoid", "gelu", "gelu_tanh"};
      const std::string name = float_only[uniform(0, static_cast<int>(float_only.size()) - 1)];
      const bool two = name == "divide" || name == "pow";
      expect_rejected<tcc::DTypeError>(
          name + "(" + at(xi).name + ")",
          [&] { return two ? tcc_binary(name, x, x, chance(0.5)) : tcc_unary(name, x, chance(0.5)); },
          [&] { return two ? ref::elementwise(name, {xr, xr}) : ref::elementwise(name, {xr}); });
    } else if (kind <= 1 && std::count(xs.begin(), xs.end(), 1) < r) {
      Shape ys = xs;
      int a = uniform(0, r - 1);
      while (xs[a] == 1) a = (a + 1) % r;
      ys[a] = xs[a] == 2 ? 3 : 2;  // neither equal nor 1
      const RefTensor yr = ref::from_tensor(tcc::Tensor(dtype_, ys));
      const Value y = graph_.constant(tcc::Tensor(dtype_, ys));
      const std::string name = chance(0.5) ? "add" : "maximum";
      expect_rejected<tcc::ShapeError>(
          name + "(" + at(xi).name + ", a " + ref::shape_text(ys) + ")", [&] { return tcc_binary(name, x, y, chance(0.5)); },
          [&] { return ref::elementwise(name, {xr, yr}); });
    } else if (kind == 2 && r > 0) {
      const Shape bs{xs.back() + 1};
      const RefTensor br = ref::from_tensor(tcc::Tensor(dtype_, bs));
      const Value b = graph_.constant(tcc::Tensor(dtype_, bs));
      expect_rejected<tcc::ShapeError>(
          "bias_add(" + at(xi).name + ", a " + ref::shape_text(bs) + ")", [&] { return tcc::bias_add(x, b); },
          [&] { return ref::bias_add(xr, br); });
    } else if (kind == 3) {
      const int64_t a = chance(0.5) ? r : -r - 1;
      expect_rejected<tcc::ShapeError>(
          "sum(" + at(xi).name + ", axis=" + std::to_string(a) + ")", [&] { return tcc::sum(x, Axes(a)); },
          [&] { return ref::sum(xr, Axes(a)); });
    } else if (r > 0) {
      const int a = uniform(0, r - 1);
      const Axes twice = Axes{Axes(a), Axes(a - r)};
      expect_rejected<tcc::ArgumentError>(
          "max(" + at(xi).name + ", axis=" + axes_text(twice) + ")", [&] { return tcc::max(x, twice); },
          [&] { return ref::max(xr, twice); });
    }
  }

  // Contraction and reduction results whose one reader is an element-wise node, which tcc
  // computes as the contraction's epilogue when the read is element for element.
  void count_epilogue_candidates(const std::vector<size_t>& outputs) {
    for (size_t p = 0; p < items_.size(); ++p) {
      const Item& c = items_[p];
      if (!(c.sum_like || c.extreme) || c.readers.size() != 1 ||
          std::find(outputs.begin(), outputs.end(), p) != outputs.end())
        continue;
      const Item& r = items_[c.readers[0]];
      epilogues_ += !r.view && !r.sum_like && !r.extreme && r.value.shape() == c.value.shape();
    }
  }

  // Every op node nothing else reads (so every op's result is compared), plus a few
  // intermediates (outputs sharing work with other outputs) and rarely an input.
  std::vector<size_t> choose_outputs() {
    std::vector<size_t> chosen;
    for (size_t i = 0; i < items_.size(); ++i)
      if (!items_[i].is_leaf && !items_[i].consumed) chosen.push_back(i);
    if (chosen.empty()) return chosen;
    // Mixed graphs: some nodes that others read are outputs too (a contraction's result that
    // is also an epilogue's input is then not fused).
    if (mode_.mixed)
      for (size_t i = 0; i < items_.size(); ++i)
        if (!items_[i].is_leaf && items_[i].consumed && chance(0.12)) chosen.push_back(i);
    const int extra = uniform(0, 2);
    for (int e = 0; e < extra; ++e) {
      const size_t i = static_cast<size_t>(uniform(0, static_cast<int>(items_.size()) - 1));
      if (items_[i].is_leaf && !chance(0.1)) continue;
      bool dup = false;
      for (size_t c : chosen) dup |= items_[c].value == items_[i].value;
      if (!dup) chosen.push_back(i);
    }
    std::shuffle(chosen.begin(), chosen.end(), rng_);
    return chosen;
  }

  std::mt19937_64 rng_;
  DType dtype_;
  Mode mode_;
  std::optional<size_t> forced_;
  bool next_view_ = false;  // the next node apply() builds is a view (Item::view)
  int epilogues_ = 0;
  int64_t compared_ = 0, unchecked_ = 0, special_ = 0;
  std::map<std::string, int> kinds_;
  int rejections_ = 0;
  tcc::Graph graph_;
  std::vector<Item> items_;
  tcc::Feeds feeds_;
  std::ostringstream program_;
  int64_t work_left_ = 0, work_done_ = 0;
  bool chain_mode_ = false, large_sizes_ = false, wide_ints_ = false, positive_floats_ = false, failed_ = false;
};

int graphs_per_dtype(int default_count) {
  if (const char* n = std::getenv("TCC_DIFF_GRAPHS")) return std::max(1, std::atoi(n));
  return default_count;
}

void run_random_graphs(DType dtype, uint64_t seed_base, Mode mode = {}, int default_count = 100) {
  std::vector<uint64_t> seeds;
  if (const char* s = std::getenv("TCC_DIFF_SEED")) {
    seeds.push_back(std::strtoull(s, nullptr, 10));
  } else {
    for (int i = 0; i < graphs_per_dtype(default_count); ++i) seeds.push_back(seed_base + i);
  }
  double worst = 0;
  int64_t work = 0, compared = 0, unchecked = 0, special = 0;
  int rejections = 0, epilogues = 0;
  std::map<std::string, int> kinds;
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t seed : seeds) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " dtype " + std::string(tcc::dtype_name(dtype)));
    RandomGraph g(seed, dtype, mode);
    const int ops = mode.mixed ? 2 + static_cast<int>(seed % 9) : 1 + static_cast<int>(seed % 6);
    if (!g.build(ops)) continue;
    worst = std::max(worst, g.run_and_check());
    work += g.work_done();
    compared += g.compared();
    unchecked += g.unchecked();
    special += g.special();
    rejections += g.rejections();
    epilogues += g.epilogues();
    for (const auto& [k, n] : g.node_kinds()) kinds[k] += n;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ info ] %s: %zu graphs, %.2g multiply-adds, %.1f s, worst float error / bound = %.3g\n",
              std::string(tcc::dtype_name(dtype)).c_str(), seeds.size(), double(work), secs, worst);
  if (mode.mixed) {
    std::string k;
    for (const auto& [name, n] : kinds) k += " " + name + ":" + std::to_string(n);
    std::printf("[ info ]   nodes%s\n", k.c_str());
    std::printf("[ info ]   %d contraction results with an element-wise tail of the same shape (epilogues); %d "
                "rejections checked; %lld elements compared, %lld as NaN/inf, %lld unknown\n",
                epilogues, rejections, static_cast<long long>(compared), static_cast<long long>(special),
                static_cast<long long>(unchecked));
  }
}

// Seeds differ per dtype so that every dtype sees different shapes.
TEST(Differential, RandomGraphsF32) { run_random_graphs(tcc::f32, 1000); }
TEST(Differential, RandomGraphsF64) { run_random_graphs(tcc::f64, 2000); }
TEST(Differential, RandomGraphsI32) { run_random_graphs(tcc::i32, 3000); }
TEST(Differential, RandomGraphsI64) { run_random_graphs(tcc::i64, 4000); }

// Contractions mixed with element-wise functions, reductions, softmax and bias_add (issue 15).
constexpr Mode kMixed{true, false};
TEST(Differential, MixedGraphsF32) { run_random_graphs(tcc::f32, 11000, kMixed, 70); }
TEST(Differential, MixedGraphsF64) { run_random_graphs(tcc::f64, 12000, kMixed, 70); }
TEST(Differential, MixedGraphsI32) { run_random_graphs(tcc::i32, 13000, kMixed, 70); }
TEST(Differential, MixedGraphsI64) { run_random_graphs(tcc::i64, 14000, kMixed, 70); }

// The same with NaN, ±inf and ±0 among the float inputs, and the integer extremes.
constexpr Mode kSpecials{true, true};
TEST(Differential, MixedGraphsWithSpecialValuesF32) { run_random_graphs(tcc::f32, 21000, kSpecials, 35); }
TEST(Differential, MixedGraphsWithSpecialValuesF64) { run_random_graphs(tcc::f64, 22000, kSpecials, 35); }
TEST(Differential, MixedGraphsWithSpecialValuesI32) { run_random_graphs(tcc::i32, 23000, kSpecials, 15); }
TEST(Differential, MixedGraphsWithSpecialValuesI64) { run_random_graphs(tcc::i64, 24000, kSpecials, 15); }

// ---- fixed cases ----

tcc::Tensor filled(DType dtype, const Shape& shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  tcc::Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int v = static_cast<int>(rng() % 17) - 8;
    switch (dtype) {
      case DType::f32: t.data_as<float>()[i] = static_cast<float>(v) / 8; break;
      case DType::f64: t.data_as<double>()[i] = static_cast<double>(v) / 8; break;
      case DType::i32: t.data_as<int32_t>()[i] = v; break;
      case DType::i64: t.data_as<int64_t>()[i] = v; break;
    }
  }
  return t;
}

struct FixedCase {
  std::string what;
  std::function<Value(tcc::Graph&, Value, Value)> build;
  std::function<RefTensor(const RefTensor&, const RefTensor&)> reference;
  Shape x, y, expected_shape;
};

void run_fixed(const std::vector<FixedCase>& cases, DType dtype) {
  tcc::Graph g;
  std::vector<Value> outs;
  std::vector<RefTensor> want;
  tcc::Feeds feeds;
  for (size_t i = 0; i < cases.size(); ++i) {
    const FixedCase& c = cases[i];
    SCOPED_TRACE(c.what + " " + std::string(tcc::dtype_name(dtype)));
    tcc::Tensor xt = filled(dtype, c.x, 2 * i), yt = filled(dtype, c.y, 2 * i + 1);
    // append, not "x" + to_string: GCC 12's -Wrestrict misfires on the latter here.
    const std::string xn = std::string("x").append(std::to_string(i)), yn = std::string("y").append(std::to_string(i));
    Value x = g.input(xn, dtype, c.x), y = g.input(yn, dtype, c.y);
    feeds[xn] = xt;
    feeds[yn] = yt;
    Value v = c.build(g, x, y);
    RefTensor r = c.reference(ref::from_tensor(xt), ref::from_tensor(yt));
    EXPECT_EQ(v.shape(), c.expected_shape);
    EXPECT_EQ(r.shape, c.expected_shape);
    outs.push_back(v);
    want.push_back(r);
  }
  std::vector<tcc::Tensor> got = g.compile(outs)(feeds);
  ASSERT_EQ(got.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    ref::Comparison cmp = ref::compare(got[i], want[i]);
    EXPECT_TRUE(cmp.ok) << cases[i].what << " " << tcc::dtype_name(dtype) << ": " << cmp.message;
  }
}

std::vector<FixedCase> seed_blog_cases() {
  using tcc::BatchDotConvention;
  const auto legacy = BatchDotConvention::legacy;
  return {
      {"dot (1,2,3,4).(8,7,4,5)", [](tcc::Graph&, Value x, Value y) { return tcc::dot(x, y); },
       [](const RefTensor& x, const RefTensor& y) { return ref::dot(x, y); }, {1, 2, 3, 4}, {8, 7, 4, 5}, {1, 2, 3, 8, 7, 5}},
      {"dot (3,4).(4,5)", [](tcc::Graph&, Value x, Value y) { return tcc::dot(x, y); },
       [](const RefTensor& x, const RefTensor& y) { return ref::dot(x, y); }, {3, 4}, {4, 5}, {3, 5}},
      {"dot (2,3,4).(7,4,5)", [](tcc::Graph&, Value x, Value y) { return tcc::dot(x, y); },
       [](const RefTensor& x, const RefTensor& y) { return ref::dot(x, y); }, {2, 3, 4}, {7, 4, 5}, {2, 3, 7, 5}},
      {"dot (1,2,4).(8,7,4,5)", [](tcc::Graph&, Value x, Value y) { return tcc::dot(x, y); },
       [](const RefTensor& x, const RefTensor& y) { return ref::dot(x, y); }, {1, 2, 4}, {8, 7, 4, 5}, {1, 2, 8, 7, 5}},
      {"matmul (10,12,4,5).(10,12,5,8)", [](tcc::Graph&, Value x, Value y) { return tcc::matmul(x, y); },
       [](const RefTensor& x, const RefTensor& y) { return ref::matmul(x, y); }, {10, 12, 4, 5}, {10, 12, 5, 8}, {10, 12, 4, 8}},
      {"batch_dot (10,12,4,5).(10,12,5,8)", [](tcc::Graph&, Value x, Value y) { return tcc::batch_dot(x, y); },
       [](const RefTensor& x, const RefTensor& y) { return ref::batch_dot(x, y); }, {10, 12, 4, 5}, {10, 12, 5, 8},
       {10, 12, 4, 12, 8}},
      {"legacy batch_dot (10,12,4,5).(10,12,5,8)",
       [legacy](tcc::Graph&, Value x, Value y) { return tcc::batch_dot(x, y, {}, legacy); },
       [](const RefTensor& x, const RefTensor& y) { return ref::batch_dot(x, y, {}, true); }, {10, 12, 4, 5},
       {10, 12, 5, 8}, {10, 12, 4, 8}},
      {"batch_dot (9,8,7,4,2).(9,8,7,2,5)", [](tcc::Graph&, Value x, Value y) { return tcc::batch_dot(x, y); },
       [](const RefTensor& x, const RefTensor& y) { return ref::batch_dot(x, y); }, {9, 8, 7, 4, 2}, {9, 8, 7, 2, 5},
       {9, 8, 7, 4, 8, 7, 5}},
      {"legacy batch_dot (9,8,7,4,2).(9,8,7,2,5)",
       [legacy](tcc::Graph&, Value x, Value y) { return tcc::batch_dot(x, y, {}, legacy); },
       [](const RefTensor& x, const RefTensor& y) { return ref::batch_dot(x, y, {}, true); }, {9, 8, 7, 4, 2},
       {9, 8, 7, 2, 5}, {9, 8, 7, 4, 5}},
      {"batch_dot (32,10,5).(32,5)", [](tcc::Graph&, Value x, Value y) { return tcc::batch_dot(x, y); },
       [](const RefTensor& x, const RefTensor& y) { return ref::batch_dot(x, y); }, {32, 10, 5}, {32, 5}, {32, 10}},
      {"legacy batch_dot (32,10,5).(32,5)",
       [legacy](tcc::Graph&, Value x, Value y) { return tcc::batch_dot(x, y, {}, legacy); },
       [](const RefTensor& x, const RefTensor& y) { return ref::batch_dot(x, y, {}, true); }, {32, 10, 5}, {32, 5},
       {32, 10}},
  };
}

TEST(Differential, SeedBlogShapes) {
  for (DType t : {tcc::f32, tcc::f64, tcc::i32, tcc::i64}) run_fixed(seed_blog_cases(), t);
}

TEST(Differential, ZeroSizeContractionAxesGiveZeros) {
  std::vector<FixedCase> cases = {
      {"matmul (3,0).(0,4)", [](tcc::Graph&, Value x, Value y) { return tcc::matmul(x, y); },
       [](const RefTensor& x, const RefTensor& y) { return ref::matmul(x, y); }, {3, 0}, {0, 4}, {3, 4}},
      {"matmul batched (2,5,0).(2,0,3)", [](tcc::Graph&, Value x, Value y) { return tcc::matmul(x, y); },
       [](const RefTensor& x, const RefTensor& y) { return ref::matmul(x, y); }, {2, 5, 0}, {2, 0, 3}, {2, 5, 3}},
      {"dot (0,).(0,)", [](tcc::Graph&, Value x, Value y) { return tcc::dot(x, y); },
       [](const RefTensor& x, const RefTensor& y) { return ref::dot(x, y); }, {0}, {0}, {}},
      {"dot (2,0).(3,0,4)", [](tcc::Graph&, Value x, Value y) { return tcc::dot(x, y); },
       [](const RefTensor& x, const RefTensor& y) { return ref::dot(x, y); }, {2, 0}, {3, 0, 4}, {2, 3, 4}},
      {"tensordot axes=2 (3,0,2).(0,2,5)", [](tcc::Graph&, Value x, Value y) { return tcc::tensordot(x, y, 2); },
       [](const RefTensor& x, const RefTensor& y) { return ref::tensordot(x, y, 2); }, {3, 0, 2}, {0, 2, 5}, {3, 5}},
      {"einsum ij,jk->ik with j=0",
       [](tcc::Graph&, Value x, Value y) { return tcc::einsum("ij,jk->ik", {x, y}); },
       [](const RefTensor& x, const RefTensor& y) { return ref::einsum("ij,jk->ik", {x, y}); }, {7, 0}, {0, 2}, {7, 2}},
      {"einsum i,j-> with i=0",
       [](tcc::Graph&, Value x, Value y) { return tcc::einsum("i,j->", {x, y}); },
       [](const RefTensor& x, const RefTensor& y) { return ref::einsum("i,j->", {x, y}); }, {0}, {3}, {}},
      {"batch_dot (4,3,0).(4,0,2)", [](tcc::Graph&, Value x, Value y) { return tcc::batch_dot(x, y); },
       [](const RefTensor& x, const RefTensor& y) { return ref::batch_dot(x, y); }, {4, 3, 0}, {4, 0, 2}, {4, 3, 2}},
      {"legacy batch_dot (4,3,0).(4,0,2)",
       [](tcc::Graph&, Value x, Value y) { return tcc::batch_dot(x, y, {}, tcc::BatchDotConvention::legacy); },
       [](const RefTensor& x, const RefTensor& y) { return ref::batch_dot(x, y, {}, true); }, {4, 3, 0}, {4, 0, 2},
       {4, 3, 2}},
      {"np @ (0,).(0,)", [](tcc::Graph&, Value x, Value y) { return tcc::np::matmul(x, y); },
       [](const RefTensor& x, const RefTensor& y) { return ref::np_matmul(x, y); }, {0}, {0}, {}},
  };
  for (DType t : {tcc::f32, tcc::f64, tcc::i32, tcc::i64}) {
    run_fixed(cases, t);
    // The reference itself must say zeros, so the comparison above really checks zeros.
    RefTensor z = ref::matmul(ref::from_tensor(tcc::Tensor(t, {3, 0})), ref::from_tensor(tcc::Tensor(t, {0, 4})));
    for (int64_t i = 0; i < z.numel(); ++i) EXPECT_EQ(ref::float_at(z, i), 0.0);
  }
}

// Larger contractions with awkward sizes (around vector widths and tile edges), which the small
// random graphs reach only rarely.
TEST(Differential, LargerContractions) {
  tcc::MatmulFlags ta_tb;
  ta_tb.transpose_a = true;
  ta_tb.adjoint_b = true;
  std::vector<FixedCase> cases = {
      {"matmul (97,65).(65,63)", [](tcc::Graph&, Value x, Value y) { return tcc::matmul(x, y); },
       [](const RefTensor& x, const RefTensor& y) { return ref::matmul(x, y); }, {97, 65}, {65, 63}, {97, 63}},
      {"matmul broadcast + flags (7,97,63).(1,65,97)",
       [ta_tb](tcc::Graph&, Value x, Value y) { return tcc::matmul(x, y, ta_tb); },
       [ta_tb](const RefTensor& x, const RefTensor& y) { return ref::matmul(x, y, ta_tb); }, {7, 97, 63}, {1, 65, 97},
       {7, 63, 65}},
      {"einsum bij,bkj->bik (5,64,97).(5,49,97)",
       [](tcc::Graph&, Value x, Value y) { return tcc::einsum("bij,bkj->bik", {x, y}); },
       [](const RefTensor& x, const RefTensor& y) { return ref::einsum("bij,bkj->bik", {x, y}); }, {5, 64, 97},
       {5, 49, 97}, {5, 64, 49}},
      {"tensordot axes=2 (31,47,17).(47,17,48)", [](tcc::Graph&, Value x, Value y) { return tcc::tensordot(x, y, 2); },
       [](const RefTensor& x, const RefTensor& y) { return ref::tensordot(x, y, 2); }, {31, 47, 17}, {47, 17, 48},
       {31, 48}},
      {"dot (13,97,31).(31,65)", [](tcc::Graph&, Value x, Value y) { return tcc::dot(x, y); },
       [](const RefTensor& x, const RefTensor& y) { return ref::dot(x, y); }, {13, 97, 31}, {31, 65}, {13, 97, 65}},
      {"legacy batch_dot axes=1 (16,65,47).(16,65,33)",
       [](tcc::Graph&, Value x, Value y) { return tcc::batch_dot(x, y, 1, tcc::BatchDotConvention::legacy); },
       [](const RefTensor& x, const RefTensor& y) { return ref::batch_dot(x, y, 1, true); }, {16, 65, 47},
       {16, 65, 33}, {16, 47, 33}},
      {"batch_dot axes=(1,2) (15,64,17).(15,3,64)",
       [](tcc::Graph&, Value x, Value y) { return tcc::batch_dot(x, y, Axes{1, 2}); },
       [](const RefTensor& x, const RefTensor& y) { return ref::batch_dot(x, y, Axes{1, 2}); }, {15, 64, 17},
       {15, 3, 64}, {15, 17, 3}},
  };
  for (DType t : {tcc::f32, tcc::f64, tcc::i32, tcc::i64}) run_fixed(cases, t);
}

// ---- special values through every function, exactly ----

const std::vector<std::string> kUnary = {"neg", "abs", "square", "sqrt", "rsqrt", "exp", "log",
                                         "tanh", "sigmoid", "relu", "gelu", "gelu_tanh"};
const std::vector<std::string> kBinary = {"add", "subtract", "multiply", "divide", "maximum", "minimum", "pow"};
const std::set<std::string> kIntegerFunctions = {"neg", "abs", "square", "relu", "add", "subtract", "multiply",
                                                  "maximum", "minimum"};

// A graph of named outputs, each checked against its reference; inputs are exact.
class CheckedGraph {
 public:
  explicit CheckedGraph(DType dtype) : dtype_(dtype) {}

  // A float input holding `values` (rounded to the dtype).
  std::pair<Value, RefTensor> input(const std::string& name, const Shape& shape, const std::vector<double>& values) {
    return input_of(name, shape, values);
  }
  // An integer input (int64 values: the extremes do not survive a double).
  std::pair<Value, RefTensor> input_ints(const std::string& name, const Shape& shape, const std::vector<int64_t>& values) {
    return input_of(name, shape, values);
  }

  void check(const std::string& what, const Value& v, RefTensor r) {
    whats_.push_back(what);
    outs_.push_back(v);
    want_.push_back(std::move(r));
  }

  // Runs everything; returns {elements compared exactly as NaN/inf, unknown}.
  std::pair<int64_t, int64_t> run() {
    std::vector<tcc::Tensor> got = g_.compile(outs_)(feeds_);
    int64_t special = 0, unknown = 0;
    for (size_t i = 0; i < outs_.size(); ++i) {
      ref::Comparison c = ref::compare(got[i], want_[i]);
      EXPECT_TRUE(c.ok) << whats_[i] << " (" << tcc::dtype_name(dtype_) << "): " << c.message;
      special += c.special;
      unknown += c.unchecked;
      worst_ = std::max(worst_, c.worst_ratio);
      if (std::getenv("TCC_DIFF_PRINT") && c.unchecked)
        std::printf("  %s: %lld unknown\n", whats_[i].c_str(), static_cast<long long>(c.unchecked));
    }
    return {special, unknown};
  }

  double worst() const { return worst_; }

 private:
  // An input holding `values`, each converted to the dtype as static_cast does.
  template <typename V>
  std::pair<Value, RefTensor> input_of(const std::string& name, const Shape& shape, const std::vector<V>& values) {
    tcc::Tensor t(dtype_, shape);
    for (int64_t i = 0; i < t.numel(); ++i)
      tcc::visit_dtype(dtype_, [&](auto zero) { t.data_as<decltype(zero)>()[i] = static_cast<decltype(zero)>(values[i]); });
    feeds_[name] = t;
    return {g_.input(name, dtype_, shape), ref::from_tensor(t)};
  }

  double worst_ = 0;
  DType dtype_;
  tcc::Graph g_;
  tcc::Feeds feeds_;
  std::vector<std::string> whats_;
  std::vector<Value> outs_;
  std::vector<RefTensor> want_;
};

// Every element-wise function of NaN, ±inf, ±0, subnormals, huge and ordinary values (every
// pair for the binary ones, broadcast (n,1) against (1,n)), the reductions and softmax of rows
// holding them, and contractions with element-wise tails on them: NaN and inf where NumPy has
// them, the finite results within the stated tolerances.
TEST(Differential, SpecialValuesThroughEveryFunction) {
  for (DType dtype : {tcc::f32, tcc::f64}) {
    const bool f32 = dtype == tcc::f32;
    const double big = f32 ? 1e30 : 1e300, sub = f32 ? 1e-42 : 1e-310;
    const std::vector<double> v = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 1, -1, 0.5, -2.5, 3, 1e-3, sub, -sub,
                                   big, -big, 50, -50, 100, -100, 2, 0.75, -0.3};
    const int64_t n = static_cast<int64_t>(v.size());
    CheckedGraph c(dtype);
    auto [x, xr] = c.input("x", {n}, v);
    auto [xc, xcr] = c.input("xc", {n, 1}, v);
    auto [yr, yrr] = c.input("yr", {1, n}, v);
    for (const std::string& f : kUnary) c.check(f, tcc::elementwise(f, {x}), ref::elementwise(f, {xr}));
    for (const std::string& f : kBinary)
      c.check(f + " of every pair", tcc::elementwise(f, {xc, yr}), ref::elementwise(f, {xcr, yrr}));
    for (double s : {0.0, -0.0, 2.0, -0.5, 0.5, -1.0, 3.0}) {
      const std::string t = " " + number(s);
      const RefTensor sr = ref::scalar(dtype, s);
      c.check("x /" + t, x / s, ref::elementwise("divide", {xr, sr}));
      c.check(t + " / x", s / x, ref::elementwise("divide", {sr, xr}));
      c.check("x *" + t, x * s, ref::elementwise("multiply", {xr, sr}));
      c.check("pow(x," + t + ")", tcc::pow(x, s), ref::elementwise("pow", {xr, sr}));
      c.check("maximum(x," + t + ")", tcc::maximum(x, tcc::scalar_like(x, s)), ref::elementwise("maximum", {xr, sr}));
    }
    // Rows holding specials: reductions, softmax (a row of finite values next to each).
    std::vector<double> rows;
    const std::vector<double> finite = {0.25, -1.5, 2, 0.5};
    for (double s : v) {
      rows.push_back(s);
      rows.insert(rows.end(), finite.begin(), finite.end());
    }
    auto [m, mr] = c.input("m", {n, 5}, rows);
    for (int axis : {0, 1, -1}) {
      c.check("sum axis " + std::to_string(axis), tcc::sum(m, Axes(axis)), ref::sum(mr, Axes(axis)));
      c.check("max axis " + std::to_string(axis), tcc::max(m, Axes(axis), true), ref::max(mr, Axes(axis), true));
      c.check("min axis " + std::to_string(axis), tcc::min(m, Axes(axis)), ref::min(mr, Axes(axis)));
      c.check("mean axis " + std::to_string(axis), tcc::mean(m, Axes(axis)), ref::mean(mr, Axes(axis)));
      c.check("softmax axis " + std::to_string(axis), tcc::softmax(m, axis), ref::softmax(mr, axis));
    }
    auto [e, er] = c.input("e", {3, 0}, {});
    c.check("mean over an empty axis (0 / 0)", tcc::mean(e, Axes(1)), ref::mean(er, Axes(1)));
    c.check("sum over an empty axis", tcc::sum(e, Axes(1), true), ref::sum(er, Axes(1), true));
    // Contractions of the rows with element-wise tails (epilogues; each of its own weights, so
    // that no two are one node): inf * 0 is NaN, a NaN bias stays NaN through relu, maximum and
    // minimum.
    const std::vector<double> wv = {1, 0, -1, 0.5, 2, 0, -0.25, 1, 1, 3, 0, -2, 1, 1, 0.5};
    auto [w0, wr] = c.input("w0", {5, 3}, wv);
    auto [w1, wr1] = c.input("w1", {5, 3}, wv);
    auto [w2, wr2] = c.input("w2", {5, 3}, wv);
    auto [w3, wr3] = c.input("w3", {5, 3}, wv);
    auto [w4, wr4] = c.input("w4", {5, 3}, wv);
    auto [b, br] = c.input("b", {3}, {NAN, 1, -INFINITY});
    const RefTensor mwr = ref::matmul(mr, wr);
    c.check("relu(m @ w + b)", tcc::relu(tcc::matmul(m, w0) + b),
            ref::elementwise("relu", {ref::elementwise("add", {mwr, br})}));
    c.check("maximum(dot(m, w), b) * 2", tcc::maximum(tcc::dot(m, w1), b) * 2.0,
            ref::elementwise("multiply", {ref::elementwise("maximum", {mwr, br}), ref::scalar(dtype, 2)}));
    c.check("sigmoid(einsum) - minimum(b, 0)", tcc::sigmoid(tcc::einsum("ik,kj->ij", m, w2)) - tcc::minimum(b, tcc::scalar_like(b, 0)),
            ref::elementwise("subtract", {ref::elementwise("sigmoid", {mwr}),
                                          ref::elementwise("minimum", {br, ref::scalar(dtype, 0)})}));
    const Value t = tcc::tensordot(m, w3, 1);  // read twice: not an epilogue
    c.check("exp(m . w) / (1 + square(m . w))", tcc::exp(t) / (1.0 + tcc::square(t)),
            ref::elementwise("divide", {ref::elementwise("exp", {mwr}),
                                        ref::elementwise("add", {ref::scalar(dtype, 1), ref::elementwise("square", {mwr})})}));
    c.check("sum(m @ w, axis 0) * 3", tcc::sum(tcc::matmul(m, w4), Axes(0)) * 3.0,
            ref::elementwise("multiply", {ref::sum(mwr, Axes(0)), ref::scalar(dtype, 3)}));
    const auto [special, unknown] = c.run();
    std::printf("[ info ] %s: %lld elements compared as NaN/inf, %lld unknown, worst float error / bound = %.3g\n",
                std::string(tcc::dtype_name(dtype)).c_str(), static_cast<long long>(special), static_cast<long long>(unknown),
                c.worst());
  }
}

// The integer functions on the extremes of each width (wrapping as NumPy's: abs and neg of the
// least value are itself), reductions of them, and wrapping contractions with epilogues.
TEST(Differential, IntegerExtremesThroughEveryFunction) {
  for (DType dtype : {tcc::i32, tcc::i64}) {
    const int64_t lo = dtype == tcc::i32 ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int64_t>::min();
    const int64_t hi = dtype == tcc::i32 ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int64_t>::max();
    const std::vector<int64_t> v = {lo, hi, lo + 1, hi - 1, -1, 0, 1, 2, -2, 12345, -65536, hi / 2 + 1};
    const int64_t n = static_cast<int64_t>(v.size());
    CheckedGraph c(dtype);
    auto [x, xr] = c.input_ints("x", {n}, v);
    auto [xc, xcr] = c.input_ints("xc", {n, 1}, v);
    auto [yr, yrr] = c.input_ints("yr", {1, n}, v);
    for (const std::string& f : kUnary)
      if (kIntegerFunctions.count(f)) c.check(f, tcc::elementwise(f, {x}), ref::elementwise(f, {xr}));
    for (const std::string& f : kBinary)
      if (kIntegerFunctions.count(f))
        c.check(f + " of every pair", tcc::elementwise(f, {xc, yr}), ref::elementwise(f, {xcr, yrr}));
    for (double s : {-1.0, 2.0, 3.0, -65537.0}) {
      const RefTensor sr = ref::scalar(dtype, s);
      c.check("x * " + number(s), x * s, ref::elementwise("multiply", {xr, sr}));
      c.check(number(s) + " - x", s - x, ref::elementwise("subtract", {sr, xr}));
    }
    std::vector<int64_t> rows;
    for (int64_t a : v) rows.insert(rows.end(), {a, 3, -7, hi, 1});
    auto [m, mr] = c.input_ints("m", {n, 5}, rows);
    for (int axis : {0, 1}) {
      c.check("sum axis " + std::to_string(axis), tcc::sum(m, Axes(axis)), ref::sum(mr, Axes(axis)));
      c.check("max axis " + std::to_string(axis), tcc::max(m, Axes(axis)), ref::max(mr, Axes(axis)));
      c.check("min axis " + std::to_string(axis), tcc::min(m, Axes(axis), true), ref::min(mr, Axes(axis), true));
    }
    // Epilogues, each contraction of its own weights (so that no two are one node).
    const std::vector<int64_t> wv = {1, 0, -1, 3, 2, 0, -5, 1, 1, hi, 0, -2, 1, lo, 7};
    auto [w0, wr] = c.input_ints("w0", {5, 3}, wv);
    auto [w1, wr1] = c.input_ints("w1", {5, 3}, wv);
    auto [w2, wr2] = c.input_ints("w2", {5, 3}, wv);
    auto [b, br] = c.input_ints("b", {3}, {lo, 1, hi});
    const RefTensor mwr = ref::matmul(mr, wr);
    c.check("relu(m @ w + b)", tcc::relu(tcc::matmul(m, w0) + b), ref::elementwise("relu", {ref::elementwise("add", {mwr, br})}));
    c.check("abs(dot(m, w)) * -3 - b", tcc::abs(tcc::dot(m, w1)) * -3.0 - b,
            ref::elementwise("subtract", {ref::elementwise("multiply", {ref::elementwise("abs", {mwr}), ref::scalar(dtype, -3)}), br}));
    c.check("minimum(square(m @ w), b)", tcc::minimum(tcc::square(tcc::einsum("ik,kj->ij", m, w2)), b),
            ref::elementwise("minimum", {ref::elementwise("square", {mwr}), br}));
    c.run();
  }
}

// Integer products that overflow must wrap exactly like NumPy's fixed-width integers.
TEST(Differential, IntegerWrapAround) {
  for (DType t : {tcc::i32, tcc::i64}) {
    tcc::Graph g;
    const Shape xs = {3, 4}, ys = {4, 2};
    tcc::Tensor xt(t, xs), yt(t, ys);
    for (int64_t i = 0; i < xt.numel(); ++i) {
      if (t == tcc::i32) xt.data_as<int32_t>()[i] = std::numeric_limits<int32_t>::max() - static_cast<int32_t>(i * 977);
      else xt.data_as<int64_t>()[i] = std::numeric_limits<int64_t>::max() - i * 1000003;
    }
    for (int64_t i = 0; i < yt.numel(); ++i) {
      if (t == tcc::i32) yt.data_as<int32_t>()[i] = 65537 * static_cast<int32_t>(i + 3);
      else yt.data_as<int64_t>()[i] = (int64_t{1} << 40) * (i + 3) + 7;
    }
    Value x = g.input("x", t, xs), y = g.input("y", t, ys);
    std::vector<Value> outs = {tcc::matmul(x, y), tcc::einsum("ij,jk->ik", {x, y}), tcc::dot(x, y)};
    std::vector<tcc::Tensor> got = g.eval(outs, {{"x", xt}, {"y", yt}});
    RefTensor want = ref::matmul(ref::from_tensor(xt), ref::from_tensor(yt));
    // The test only means something if the exact sums leave the dtype's range.
    bool overflowed = false;
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        __int128 exact = 0;
        for (int64_t k = 0; k < 4; ++k) {
          const __int128 a = t == tcc::i32 ? xt.data_as<int32_t>()[i * 4 + k] : xt.data_as<int64_t>()[i * 4 + k];
          const __int128 b = t == tcc::i32 ? yt.data_as<int32_t>()[k * 2 + j] : yt.data_as<int64_t>()[k * 2 + j];
          exact += a * b;
        }
        overflowed |= exact != static_cast<__int128>(ref::int_at(want, i * 2 + j));
      }
    EXPECT_TRUE(overflowed);
    for (const tcc::Tensor& r : got) {
      ref::Comparison c = ref::compare(r, want);
      EXPECT_TRUE(c.ok) << tcc::dtype_name(t) << ": " << c.message;
    }
  }
}

// Every op and every error rule, on random shapes: tcc accepts exactly what the reference
// accepts, with the same result shape. Build time only, so many cases are cheap.
TEST(Differential, ShapeRulesAgreeOnRandomShapes) {
  std::mt19937_64 rng(77);
  auto small_shape = [&](int max_rank) {
    Shape s(rng() % (max_rank + 1));
    for (int64_t& d : s) d = static_cast<int64_t>(rng() % 4);
    return s;
  };
  auto zeros = [](const Shape& s) { return ref::from_tensor(tcc::Tensor(tcc::f32, s)); };
  const char* specs[] = {"ij,jk->ik", "...ij,...jk->...ik", "ij,jk", "ii->i", "i...,j...->ij...", "bij,bkj->bik",
                         "ij,ij->", "ab,ba", "...i,i->...", "iJ,Jk->kJ", "i,i", "...,...->..."};
  int accepted = 0, disagreements = 0;
  for (int it = 0; it < 3000; ++it) {
    tcc::Graph g;
    Shape sx = small_shape(4), sy = small_shape(4);
    // Nudge half of the cases towards compatible shapes so both branches are exercised.
    if (rng() % 2 && !sx.empty() && !sy.empty()) sy[sy.size() >= 2 ? sy.size() - 2 : 0] = sx.back();
    if (rng() % 3 == 0 && !sx.empty() && !sy.empty()) sy[0] = sx[0];
    Value x = g.input("x", tcc::f32, sx), y = g.input("y", tcc::f32, sy);
    const RefTensor rx = zeros(sx), ry = zeros(sy);
    const int kind = static_cast<int>(rng() % 7);
    const int p = static_cast<int>(rng() % 5) - 1, q = static_cast<int>(rng() % 5) - 1;
    std::string what;
    std::function<Value()> tcc_op;
    std::function<RefTensor()> ref_op;
    switch (kind) {
      case 0:
        what = "dot";
        tcc_op = [&] { return tcc::dot(x, y); };
        ref_op = [&] { return ref::dot(rx, ry); };
        break;
      case 1: {
        tcc::MatmulFlags f;
        f.transpose_a = p & 1;
        f.transpose_b = q & 1;
        what = "matmul ta=" + std::to_string(f.transpose_a) + " tb=" + std::to_string(f.transpose_b);
        tcc_op = [&, f] { return tcc::matmul(x, y, f); };
        ref_op = [&, f] { return ref::matmul(rx, ry, f); };
        break;
      }
      case 2:
        what = "np.matmul";
        tcc_op = [&] { return tcc::np::matmul(x, y); };
        ref_op = [&] { return ref::np_matmul(rx, ry); };
        break;
      case 3: {
        const Axes a = rng() % 2 ? Axes(p + 1) : Axes{Axes{p}, Axes{q}};
        what = "tensordot axes=" + axes_text(a);
        tcc_op = [&, a] { return tcc::tensordot(x, y, a); };
        ref_op = [&, a] { return ref::tensordot(rx, ry, a); };
        break;
      }
      case 4: {
        const Axes a = rng() % 3 == 0 ? Axes() : (rng() % 2 ? Axes(p) : Axes{p, q});
        what = "batch_dot axes=" + axes_text(a);
        tcc_op = [&, a] { return tcc::batch_dot(x, y, a); };
        ref_op = [&, a] { return ref::batch_dot(rx, ry, a, false); };
        break;
      }
      case 5: {
        const std::string s = specs[rng() % (sizeof(specs) / sizeof(specs[0]))];
        what = "einsum " + s;
        tcc_op = [&, s] { return tcc::einsum(s, {x, y}); };
        ref_op = [&, s] { return ref::einsum(s, {rx, ry}); };
        break;
      }
      default: {
        std::vector<int64_t> perm(sx.size());
        std::iota(perm.begin(), perm.end(), 0);
        std::shuffle(perm.begin(), perm.end(), rng);
        if (!perm.empty() && rng() % 4 == 0) perm[0] = perm.back();  // a repeat: invalid
        what = "transpose perm=" + int_list(perm);
        tcc_op = [&, perm] { return tcc::transpose(x, perm); };
        ref_op = [&, perm] { return ref::transpose(rx, perm); };
        break;
      }
    }
    std::optional<Shape> tcc_shape, ref_shape;
    std::string tcc_error, ref_error;
    // Which Error subclass a rejection uses (ShapeError for shapes, ArgumentError for bad
    // attributes such as a perm of the wrong length) is the implementation's call; only
    // accept-versus-reject and the result shape are compared.
    try {
      tcc_shape = tcc_op().shape();
    } catch (const tcc::Error& e) {
      tcc_error = e.what();
    } catch (const std::exception& e) {
      tcc_error = e.what();
      ADD_FAILURE() << what << " x" << ref::shape_text(sx) << " y" << ref::shape_text(sy)
                    << ": tcc threw something that is not a tcc::Error: " << e.what();
    }
    try {
      ref_shape = ref_op().shape;
    } catch (const tcc::Error& e) {
      ref_error = e.what();
    }
    if (tcc_shape != ref_shape) {
      ++disagreements;
      ADD_FAILURE() << what << " x" << ref::shape_text(sx) << " y" << ref::shape_text(sy) << ": tcc "
                    << (tcc_shape ? ref::shape_text(*tcc_shape) : "error: " + tcc_error) << "; reference "
                    << (ref_shape ? ref::shape_text(*ref_shape) : "error: " + ref_error);
      if (disagreements > 30) break;
    }
    accepted += ref_shape.has_value();
  }
  EXPECT_GT(accepted, 300);  // the generator must produce enough valid cases to mean something
}

}  // namespace
