// Element-wise ops (graph.h, "Element-wise ops"): each function on every dtype it takes, NumPy
// broadcasting, scalars, integer wrap-around, NaN and infinities, the errors, and fusion (a
// chain is one kernel). The oracle is written here with <cmath>, independently of tcc's table.
#include <tcc/tcc.h>

#include <gtest/gtest.h>

#include "support/tensor_values.h"

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

using tcc::Shape;
using tcc::Tensor;
using tcc::test::element;
using tcc::test::filled;
using tcc::test::random_values;
using tcc::Value;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// Flat index into `shape` (right-aligned, size-1 axes read at 0) of output element `flat`.
int64_t broadcast_index(const Shape& shape, const Shape& out, int64_t flat) {
  int64_t index = 0, stride = 1;
  for (int64_t a = static_cast<int64_t>(out.size()) - 1, b = static_cast<int64_t>(shape.size()) - 1; b >= 0; --a, --b) {
    const int64_t coord = (flat / [&] { int64_t s = 1; for (int64_t k = a + 1; k < static_cast<int64_t>(out.size()); ++k) s *= out[k]; return s; }()) % out[a];
    index += (shape[b] == 1 ? 0 : coord) * stride;
    stride *= shape[b];
  }
  return index;
}

// Relative tolerance of float results: exact ops to a few ulps, library functions to more.
double tolerance(tcc::DType dtype, bool transcendental) {
  const double eps = dtype == tcc::f32 ? 1.2e-7 : 2.3e-16;
  return (transcendental ? 16 : 2) * eps;
}

void expect_close(const Tensor& got, const std::vector<double>& want, bool transcendental, const std::string& what) {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size())) << what;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = element(got, i), w = want[i];
    if (std::isnan(w)) {
      EXPECT_TRUE(std::isnan(g)) << what << " element " << i << ": " << g << ", want NaN";
    } else if (std::isinf(w) || !tcc::is_float(got.dtype())) {
      EXPECT_EQ(g, w) << what << " element " << i;
    } else {
      const double tol = tolerance(got.dtype(), transcendental) * std::max(1.0, std::fabs(w));
      EXPECT_NEAR(g, w, tol) << what << " element " << i;
    }
  }
}

struct Binary {
  std::string name;
  std::function<Value(const Value&, const Value&)> op;
  std::function<double(double, double)> want;
  bool integers;
};

std::vector<Binary> binaries() {
  return {
      {"+", [](const Value& x, const Value& y) { return x + y; }, [](double a, double b) { return a + b; }, true},
      {"-", [](const Value& x, const Value& y) { return x - y; }, [](double a, double b) { return a - b; }, true},
      {"*", [](const Value& x, const Value& y) { return x * y; }, [](double a, double b) { return a * b; }, true},
      {"/", [](const Value& x, const Value& y) { return x / y; }, [](double a, double b) { return a / b; }, false},
      {"maximum", [](const Value& x, const Value& y) { return tcc::maximum(x, y); },
       [](double a, double b) { return std::isnan(a) || std::isnan(b) ? kNaN : std::max(a, b); }, true},
      {"minimum", [](const Value& x, const Value& y) { return tcc::minimum(x, y); },
       [](double a, double b) { return std::isnan(a) || std::isnan(b) ? kNaN : std::min(a, b); }, true},
      {"pow", [](const Value& x, const Value& y) { return tcc::pow(x, y); }, [](double a, double b) { return std::pow(a, b); },
       false},
  };
}

TEST(Elementwise, BinaryOpsBroadcastOnEveryDtype) {
  const Shape xs{3, 1, 5}, ys{4, 1}, out{3, 4, 5};
  for (const Binary& b : binaries())
    for (tcc::DType dtype : {tcc::f32, tcc::f64, tcc::i32, tcc::i64}) {
      if (!tcc::is_float(dtype) && !b.integers) continue;
      const bool ints = !tcc::is_float(dtype);
      const bool positive = b.name == "pow";  // real powers of positive bases
      std::vector<double> xv = random_values(numel(xs), positive ? 0.1 : -9, 9, 1, ints);
      std::vector<double> yv = random_values(numel(ys), positive ? -2 : -9, 3, 2, ints);
      tcc::Graph g;
      auto x = g.input("x", dtype, xs);
      auto y = g.input("y", dtype, ys);
      auto result = g.compile({b.op(x, y)})({{"x", filled(dtype, xs, xv)}, {"y", filled(dtype, ys, yv)}})[0];
      ASSERT_EQ(result.shape(), out);
      std::vector<double> want;
      for (int64_t i = 0; i < numel(out); ++i) {
        double w = b.want(xv[broadcast_index(xs, out, i)], yv[broadcast_index(ys, out, i)]);
        if (dtype == tcc::f32) w = static_cast<float>(w);
        want.push_back(w);
      }
      expect_close(result, want, b.name == "pow", b.name + " " + std::string(tcc::dtype_name(dtype)));
    }
}

struct Unary {
  std::string name;
  std::function<Value(const Value&)> op;
  std::function<double(double)> want;
  bool integers;
  double lo = -4, hi = 4;
};

std::vector<Unary> unaries() {
  const double pi = std::acos(-1.0);
  return {
      {"neg", [](const Value& x) { return -x; }, [](double a) { return -a; }, true},
      {"abs", [](const Value& x) { return tcc::abs(x); }, [](double a) { return std::fabs(a); }, true},
      {"square", [](const Value& x) { return tcc::square(x); }, [](double a) { return a * a; }, true},
      {"sqrt", [](const Value& x) { return tcc::sqrt(x); }, [](double a) { return std::sqrt(a); }, false, 0, 9},
      {"rsqrt", [](const Value& x) { return tcc::rsqrt(x); }, [](double a) { return 1 / std::sqrt(a); }, false, 0.1, 9},
      {"exp", [](const Value& x) { return tcc::exp(x); }, [](double a) { return std::exp(a); }, false},
      {"log", [](const Value& x) { return tcc::log(x); }, [](double a) { return std::log(a); }, false, 0.01, 9},
      {"tanh", [](const Value& x) { return tcc::tanh(x); }, [](double a) { return std::tanh(a); }, false},
      {"sigmoid", [](const Value& x) { return tcc::sigmoid(x); }, [](double a) { return 1 / (1 + std::exp(-a)); }, false},
      {"relu", [](const Value& x) { return tcc::relu(x); }, [](double a) { return a > 0 ? a : 0.0; }, true},
      {"gelu", [](const Value& x) { return tcc::gelu(x); }, [](double a) { return 0.5 * a * (1 + std::erf(a / std::sqrt(2.0))); },
       false},
      {"gelu(approximate)", [](const Value& x) { return tcc::gelu(x, true); },
       [pi](double a) { return 0.5 * a * (1 + std::tanh(std::sqrt(2 / pi) * (a + 0.044715 * a * a * a))); }, false},
  };
}

TEST(Elementwise, UnaryOpsOnEveryDtypeTheyTake) {
  const Shape shape{7, 33};  // a vector body and a remainder
  for (const Unary& u : unaries())
    for (tcc::DType dtype : {tcc::f32, tcc::f64, tcc::i32, tcc::i64}) {
      const bool ints = !tcc::is_float(dtype);
      if (ints && !u.integers) continue;
      std::vector<double> xv = random_values(numel(shape), u.lo, u.hi, 3, ints);
      tcc::Graph g;
      auto x = g.input("x", dtype, shape);
      auto result = g.compile({u.op(x)})({{"x", filled(dtype, shape, xv)}})[0];
      std::vector<double> want;
      for (double v : xv) want.push_back(dtype == tcc::f32 ? static_cast<float>(u.want(v)) : u.want(v));
      expect_close(result, want, !u.integers || u.name == "sqrt", u.name + " " + std::string(tcc::dtype_name(dtype)));
    }
}

TEST(Elementwise, NaNAndInfinitiesPropagateAsInNumPy) {
  const std::vector<double> xv{kNaN, kInf, -kInf, 0.0, -1.0, 2.0};
  const Shape shape{6};
  for (tcc::DType dtype : {tcc::f32, tcc::f64}) {
    tcc::Graph g;
    auto x = g.input("x", dtype, shape);
    auto one = tcc::scalar_like(x, 1.0);
    auto fn = g.compile({tcc::maximum(x, one), tcc::minimum(one, x), tcc::relu(x), tcc::exp(x), tcc::log(x), tcc::sqrt(x),
                         tcc::sigmoid(x), tcc::tanh(x), x / 0.0});
    auto r = fn({{"x", filled(dtype, shape, xv)}});
    expect_close(r[0], {kNaN, kInf, 1, 1, 1, 2}, false, "maximum");
    expect_close(r[1], {kNaN, 1, -kInf, 0, -1, 1}, false, "minimum");
    expect_close(r[2], {kNaN, kInf, 0, 0, 0, 2}, false, "relu");
    expect_close(r[3], {kNaN, kInf, 0, 1, std::exp(-1.0), std::exp(2.0)}, true, "exp");
    expect_close(r[4], {kNaN, kInf, kNaN, -kInf, kNaN, std::log(2.0)}, true, "log");
    expect_close(r[5], {kNaN, kInf, kNaN, 0, kNaN, std::sqrt(2.0)}, true, "sqrt");
    expect_close(r[6], {kNaN, 1, 0, 0.5, 1 / (1 + std::exp(1.0)), 1 / (1 + std::exp(-2.0))}, true, "sigmoid");
    expect_close(r[7], {kNaN, 1, -1, 0, std::tanh(-1.0), std::tanh(2.0)}, true, "tanh");
    expect_close(r[8], {kNaN, kInf, -kInf, kNaN, -kInf, kInf}, false, "x / 0");
  }
}

TEST(Elementwise, IntegersWrapAround) {
  tcc::Graph g;
  auto x = g.input("x", tcc::i32, {3});
  auto r = g.compile({x + 1, x * 2, -x, tcc::abs(x)})({{"x", filled(tcc::i32, {3}, {2147483647.0, -2147483648.0, 5})}});
  expect_close(r[0], {-2147483648.0, -2147483647.0, 6}, false, "+ 1");
  expect_close(r[1], {-2, 0, 10}, false, "* 2");
  expect_close(r[2], {-2147483647.0, -2147483648.0, -5}, false, "neg");
  expect_close(r[3], {2147483647.0, -2147483648.0, 5}, false, "abs");
}

TEST(Elementwise, ScalarsTakeTheTensorsDtype) {
  tcc::Graph g;
  auto x = g.input("x", tcc::f32, {2, 2});
  auto y = 2.0 - x * 0.5 + 1.0 / (x + 1.0);
  EXPECT_EQ(y.dtype(), tcc::f32);
  auto r = g.compile({y})({{"x", filled(tcc::f32, {2, 2}, {0, 1, 2, 3})}})[0];
  expect_close(r, {3, 2, 1 + 1 / 3.0, 0.5 + 0.25}, false, "2 - x/2 + 1/(x+1)");
  auto i = g.input("i", tcc::i64, {2});
  EXPECT_THROW(i * 2.5, tcc::ArgumentError);
  EXPECT_EQ((i * 2.0).dtype(), tcc::i64);
}

TEST(Elementwise, AChainIsOneKernelWithNoIntermediateBuffers) {
  tcc::Graph g;
  auto x = g.input("x", tcc::f32, {64, 256});
  auto b = g.input("b", tcc::f32, {256});
  auto y = tcc::relu(x * 2.0 + b) - tcc::sigmoid(x);
  auto fn = g.compile({y});
  EXPECT_EQ(fn.stats().kernels, 1);
  std::vector<double> xv = random_values(64 * 256, -3, 3, 4, false), bv = random_values(256, -1, 1, 5, false);
  auto r = fn({{"x", filled(tcc::f32, {64, 256}, xv)}, {"b", filled(tcc::f32, {256}, bv)}})[0];
  std::vector<double> want;
  for (int64_t i = 0; i < 64 * 256; ++i) {
    const double v = std::max(0.0, xv[i] * 2 + bv[i % 256]) - 1 / (1 + std::exp(-xv[i]));
    want.push_back(v);
  }
  expect_close(r, want, true, "relu(x*2 + b) - sigmoid(x)");
}

TEST(Elementwise, AValueUsedTwiceOrStretchedIsComputedOnce) {
  tcc::Graph g;
  auto x = g.input("x", tcc::f32, {1, 8});
  auto e = tcc::exp(x);                                 // used twice: its own kernel
  auto col = tcc::exp(g.input("c", tcc::f32, {4, 1}));  // stretched over 8 columns: its own kernel
  auto fn = g.compile({e + col, e * 2.0});
  EXPECT_EQ(fn.stats().kernels, 4);
  auto r = fn({{"x", filled(tcc::f32, {1, 8}, random_values(8, -1, 1, 6, false))},
               {"c", filled(tcc::f32, {4, 1}, {0, 1, 2, 3})}});
  ASSERT_EQ(r[0].shape(), (Shape{4, 8}));
  EXPECT_NEAR(element(r[0], 8 * 3 + 2) - element(r[0], 2), std::exp(3.0) - 1.0, 1e-5);
}

TEST(Elementwise, ShapeAndDtypeErrorsAreClear) {
  tcc::Graph g;
  auto a = g.input("a", tcc::f32, {3, 4});
  auto b = g.input("b", tcc::f32, {5});
  try {
    a + b;
    FAIL() << "(3,4) + (5,) accepted";
  } catch (const tcc::ShapeError& e) {
    EXPECT_STREQ(e.what(), "+: dims must be equal or 1, but are 4 (x axis 1) and 5 (y axis 0); x: (3,4), y: (5,)");
  }
  auto i = g.input("i", tcc::i32, {4});
  try {
    i / i;
    FAIL() << "integer division accepted";
  } catch (const tcc::DTypeError& e) {
    EXPECT_NE(std::string(e.what()).find("/: takes float tensors (f32, f64), not i32"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tcc::exp(i), tcc::DTypeError);
  EXPECT_THROW(a + g.input("d", tcc::f64, {4}), tcc::DTypeError);
  auto n = g.input("n", tcc::f32, {tcc::dim("N"), 4});
  EXPECT_THROW(n + g.input("m", tcc::f32, {5, 4}), tcc::ShapeError);  // N vs 5: an ambiguous broadcast
  EXPECT_EQ((n + a.graph().input("k", tcc::f32, {1, 4})).shape(), (Shape{tcc::dim("N"), 4}));
}

TEST(Elementwise, SymbolicBatchRunsAtAnySize) {
  tcc::Graph g;
  auto x = g.input("x", tcc::f32, {tcc::dim("N"), 16});
  auto b = g.input("b", tcc::f32, {16});
  auto fn = g.compile({tcc::relu(x + b)});
  for (int64_t n : {0, 1, 5, 100}) {
    std::vector<double> xv = random_values(n * 16, -1, 1, 7, false), bv = random_values(16, -1, 1, 8, false);
    auto r = fn({{"x", filled(tcc::f32, {n, 16}, xv)}, {"b", filled(tcc::f32, {16}, bv)}})[0];
    ASSERT_EQ(r.shape(), (Shape{n, 16}));
    std::vector<double> want;
    for (int64_t k = 0; k < n * 16; ++k) want.push_back(std::max(0.0, static_cast<double>(static_cast<float>(xv[k] + bv[k % 16]))));
    expect_close(r, want, false, "relu(x + b) at N=" + std::to_string(n));
  }
}

}  // namespace

namespace {

// f(x) compiled by tcc over the elements `xs` (rounded to `dtype`), as one tensor.
template <typename F>
tcc::Tensor compiled_over(tcc::DType dtype, const std::vector<double>& xs, F f) {
  const tcc::Shape shape{static_cast<int64_t>(xs.size())};
  tcc::Graph g;
  auto x = g.input("x", dtype, shape);
  return g.compile({f(x)})({{"x", filled(dtype, shape, xs)}})[0];
}

// exp is tcc's own vector code (codegen/emit_elementwise.cpp): over its whole range, within 2
// ulps of the C library's where the result is normal, and within 2 of the smallest subnormal
// below; inf above the largest finite result, 0 below the smallest subnormal.
template <typename T>
void expect_exp_matches_libm(double lo, double hi, int64_t samples) {
  const tcc::DType dtype = tcc::dtype_of<T>::value;
  std::vector<double> xs;
  for (int64_t i = 0; i < samples; ++i) xs.push_back(static_cast<T>(lo + (hi - lo) * static_cast<double>(i) / (samples - 1)));
  for (double special : {0.0, -0.0, 1e-30, -1e-30, 1.0, -1.0, 0.5, static_cast<double>(std::numeric_limits<T>::max()),
                         static_cast<double>(std::numeric_limits<T>::lowest()), -std::numeric_limits<double>::infinity(),
                         std::numeric_limits<double>::infinity()})
    xs.push_back(special);
  const tcc::Tensor got = compiled_over(dtype, xs, [](const tcc::Value& x) { return tcc::exp(x); });
  const T* out = got.data_as<T>();
  for (size_t i = 0; i < xs.size(); ++i) {
    const T want = std::exp(static_cast<T>(xs[i]));
    const T have = out[i];
    if (std::isinf(want) || want == 0) {
      EXPECT_EQ(have, want) << "exp(" << xs[i] << ")";
      continue;
    }
    const T ulp = std::max(std::nextafter(want, std::numeric_limits<T>::infinity()) - want,
                           std::numeric_limits<T>::denorm_min());
    EXPECT_LE(std::fabs(have - want), 2 * ulp) << "exp(" << xs[i] << "): " << have << " vs " << want;
  }
}

// tanh is tcc's own vector code too: within 4 ulps of the C library's everywhere (near 0, the
// subnormals, where it rounds to ±1), ±1 at ±inf, NaN for NaN, the sign of a zero kept.
template <typename T>
void expect_tanh_matches_libm(int64_t samples) {
  const tcc::DType dtype = tcc::dtype_of<T>::value;
  std::vector<double> xs;
  for (int64_t i = 0; i < samples; ++i) {
    const double u = -1 + 2 * static_cast<double>(i) / (samples - 1);
    xs.push_back(static_cast<T>(u * 25));                        // the whole range up to ±1
    xs.push_back(static_cast<T>(u * 1.5));                       // both sides of the 0.35 switch
    xs.push_back(static_cast<T>(std::copysign(std::pow(10.0, -40 * std::fabs(u)), u)));  // down to tiny
  }
  const double inf = std::numeric_limits<double>::infinity();
  for (double special : {0.0, -0.0, 0.35, -0.35, static_cast<double>(std::nextafter(T(0.35), T(1))),
                         static_cast<double>(std::numeric_limits<T>::denorm_min()), static_cast<double>(std::numeric_limits<T>::max()),
                         inf, -inf, std::numeric_limits<double>::quiet_NaN()})
    xs.push_back(special);
  const tcc::Tensor got = compiled_over(dtype, xs, [](const tcc::Value& x) { return tcc::tanh(x); });
  const T* out = got.data_as<T>();
  for (size_t i = 0; i < xs.size(); ++i) {
    const T want = std::tanh(static_cast<T>(xs[i]));
    const T have = out[i];
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(have)) << "tanh(" << xs[i] << ")";
      continue;
    }
    if (want == 0) {
      EXPECT_EQ(have, want) << "tanh(" << xs[i] << ")";
      EXPECT_EQ(std::signbit(have), std::signbit(want)) << "tanh(" << xs[i] << ")";
      continue;
    }
    const T ulp = std::max(std::nextafter(std::fabs(want), std::numeric_limits<T>::infinity()) - std::fabs(want),
                           std::numeric_limits<T>::denorm_min());
    EXPECT_LE(std::fabs(have - want), 4 * ulp) << "tanh(" << xs[i] << "): " << have << " vs " << want;
  }
}

TEST(Elementwise, TanhIsWithinFourUlpsEverywhere) {
  expect_tanh_matches_libm<float>(20001);
  expect_tanh_matches_libm<double>(20001);
}

// gelu's erf is tcc's own vector code for f32 (computed in f64): gelu(x) = x/2 (1 + erf(x/√2))
// within 4 ulps of the float64 value, plus the rounding of 1 + erf in the dtype, which is all
// there is where the two cancel (x < 0); ±inf and NaN as the formula gives them.
TEST(Elementwise, GeluIsWithinItsRoundingEverywhere) {
  std::vector<double> xs;
  const int64_t samples = 40001;
  for (int64_t i = 0; i < samples; ++i) {
    const double u = -1 + 2 * static_cast<double>(i) / (samples - 1);
    xs.push_back(static_cast<float>(u * 12));
    xs.push_back(static_cast<float>(std::copysign(std::pow(10.0, -38 * std::fabs(u)), u)));
  }
  const double inf = std::numeric_limits<double>::infinity();
  for (double special : {0.0, -0.0, 5.656, -5.656, 1e30, -1e30, inf, -inf, std::numeric_limits<double>::quiet_NaN()})
    xs.push_back(special);
  const tcc::Tensor got = compiled_over(tcc::f32, xs, [](const tcc::Value& x) { return tcc::gelu(x); });
  const float* out = got.data_as<float>();
  for (size_t i = 0; i < xs.size(); ++i) {
    const double want = 0.5 * xs[i] * (1 + std::erf(xs[i] / std::sqrt(2.0)));
    const float have = out[i];
    if (std::isnan(xs[i]) || xs[i] == -inf) {  // -inf * 0 is NaN, as the formula gives it
      EXPECT_TRUE(std::isnan(have)) << "gelu(" << xs[i] << ")";
      continue;
    }
    if (std::isinf(want) || want == 0) {
      EXPECT_EQ(have, static_cast<float>(want)) << "gelu(" << xs[i] << ")";
      continue;
    }
    const double ulp = std::nextafter(std::fabs(static_cast<float>(want)), INFINITY) - std::fabs(static_cast<float>(want));
    const double cancellation = 0.5 * std::fabs(xs[i]) * std::numeric_limits<float>::epsilon() * 2;
    EXPECT_LE(std::fabs(have - want), 4 * ulp + cancellation) << "gelu(" << xs[i] << "): " << have << " vs " << want;
  }
}

TEST(Elementwise, ExpIsWithinTwoUlpsOverItsWholeRange) {
  expect_exp_matches_libm<float>(-110, 95, 20011);
  expect_exp_matches_libm<double>(-760, 720, 20011);
}

}  // namespace

namespace {

// cast as NumPy's astype: float to integer truncates toward zero (saturating, NaN to 0, where
// NumPy's result is undefined), integers wrap to narrower ones, floats round; inside a chain
// of mixed dtypes it is one kernel.
TEST(Elementwise, CastConvertsAsAstype) {
  tcc::Graph g;
  auto f = g.input("f", tcc::f32, {6});
  auto i = g.input("i", tcc::i64, {4});
  auto a = g.input("a", tcc::i32, {4});
  auto b = g.input("b", tcc::f32, {4});
  auto chain = tcc::relu(tcc::cast(a, tcc::f32) * 0.5 + b);
  auto fn = g.compile({tcc::cast(f, tcc::i32), tcc::cast(i, tcc::i32), tcc::cast(i, tcc::f64), tcc::cast(f, tcc::f64), chain});
  auto r = fn({{"f", filled(tcc::f32, {6}, {1.5, -2.7, 3e10, -3e10, kNaN, 255.9})},
               {"i", filled(tcc::i64, {4}, {300, -129, 4294967297.0, -5})},
               {"a", filled(tcc::i32, {4}, {1, 2, -3, 4})},
               {"b", filled(tcc::f32, {4}, {1, 1, 1, 1})}});
  const std::vector<double> to_i32{1, -2, 2147483647, -2147483648.0, 0, 255};
  for (int k = 0; k < 6; ++k) EXPECT_EQ(element(r[0], k), to_i32[k]) << k;
  const std::vector<double> wrapped{300, -129, 1, -5};  // 2^32 + 1 wraps to 1
  for (int k = 0; k < 4; ++k) EXPECT_EQ(element(r[1], k), wrapped[k]) << k;
  EXPECT_EQ(r[2].dtype(), tcc::f64);
  EXPECT_EQ(element(r[2], 2), 4294967297.0);
  EXPECT_EQ(element(r[3], 1), static_cast<double>(-2.7f));
  const std::vector<double> want{1.5, 2, 0, 3};
  for (int k = 0; k < 4; ++k) EXPECT_EQ(element(r[4], k), want[k]) << k;
  tcc::Graph h;
  auto x = h.input("x", tcc::i32, {64, 256});
  EXPECT_EQ(h.compile({tcc::sqrt(tcc::cast(x, tcc::f32)) + 1.0}).stats().kernels, 1);
  EXPECT_EQ(tcc::cast(x, tcc::i32).id(), x.id());  // to its own dtype: the value itself
}

}  // namespace
