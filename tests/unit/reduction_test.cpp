// Reductions (sum, mean, max, min over axis with keepdims), softmax and bias_add (graph.h):
// against loops written here, on every dtype they take, with NaN, empty axes and the errors.
#include <tcc/tcc.h>

#include <gtest/gtest.h>

#include "support/tensor_values.h"

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

using tcc::Axes;
using tcc::Shape;
using tcc::Tensor;
using tcc::test::element;
using tcc::test::filled;
using tcc::Value;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Values uniform in [-9, 9), whole for integer dtypes.
std::vector<double> random_values(int64_t n, uint32_t seed, bool integers) {
  return tcc::test::random_values(n, -9, 9, seed, integers);
}

// Reduces a (A, B, C) array over the axes in `reduced` (flags), with `combine` from `start`.
std::vector<double> reduce3(const std::vector<double>& x, const Shape& s, const std::vector<bool>& reduced,
                            const std::function<double(double, double)>& combine, double start) {
  Shape out;
  for (int a = 0; a < 3; ++a) out.push_back(reduced[a] ? 1 : s[a]);
  std::vector<double> r(out[0] * out[1] * out[2], start);
  for (int64_t i = 0; i < s[0]; ++i)
    for (int64_t j = 0; j < s[1]; ++j)
      for (int64_t k = 0; k < s[2]; ++k) {
        const int64_t o = ((reduced[0] ? 0 : i) * out[1] + (reduced[1] ? 0 : j)) * out[2] + (reduced[2] ? 0 : k);
        r[o] = combine(r[o], x[(i * s[1] + j) * s[2] + k]);
      }
  return r;
}

struct Reduction {
  std::string name;
  std::function<Value(const Value&, const Axes&, bool)> op;
  std::function<double(double, double)> combine;
  double start;
};

TEST(Reduction, SumMaxMinOverEveryAxisChoiceAndDtype) {
  const Shape s{3, 5, 17};
  const std::vector<Reduction> reductions{
      {"sum", [](const Value& x, const Axes& a, bool k) { return tcc::sum(x, a, k); }, [](double a, double b) { return a + b; }, 0},
      {"max", [](const Value& x, const Axes& a, bool k) { return tcc::max(x, a, k); },
       [](double a, double b) { return std::max(a, b); }, -INFINITY},
      {"min", [](const Value& x, const Axes& a, bool k) { return tcc::min(x, a, k); },
       [](double a, double b) { return std::min(a, b); }, INFINITY},
  };
  const std::vector<std::pair<Axes, std::vector<bool>>> axes{
      {Axes(), {true, true, true}},
      {Axes(-1), {false, false, true}},
      {Axes(0), {true, false, false}},
      {Axes::list({Axes(0), Axes(2)}), {true, false, true}},
      {Axes(1), {false, true, false}},
  };
  for (const Reduction& r : reductions)
    for (tcc::DType dtype : {tcc::f32, tcc::f64, tcc::i32, tcc::i64})
      for (const auto& [axis, reduced] : axes)
        for (bool keepdims : {false, true}) {
          const std::vector<double> xv = random_values(3 * 5 * 17, 1, !tcc::is_float(dtype));
          tcc::Graph g;
          auto x = g.input("x", dtype, s);
          auto y = r.op(x, axis, keepdims);
          Shape want_shape;
          for (int a = 0; a < 3; ++a)
            if (!reduced[a]) want_shape.push_back(s[a]);
            else if (keepdims) want_shape.push_back(1);
          const std::string what = r.name + " " + std::string(tcc::dtype_name(dtype)) + " axis=" + axis.str() +
                                   (keepdims ? " keepdims" : "");
          ASSERT_EQ(y.shape(), want_shape) << what;
          auto got = g.compile({y})({{"x", filled(dtype, s, xv)}})[0];
          const std::vector<double> want = reduce3(xv, s, reduced, r.combine, r.start);
          ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size())) << what;
          for (size_t i = 0; i < want.size(); ++i)
            EXPECT_NEAR(element(got, static_cast<int64_t>(i)), want[i], dtype == tcc::f32 ? 1e-4 : 1e-9) << what << " element " << i;
        }
}

TEST(Reduction, MeanAndItsErrors) {
  tcc::Graph g;
  auto x = g.input("x", tcc::f64, {4, 6});
  std::vector<double> xv = random_values(24, 2, false);
  auto got = g.compile({tcc::mean(x, Axes(1)), tcc::mean(x)})({{"x", filled(tcc::f64, {4, 6}, xv)}});
  double all = 0;
  for (int i = 0; i < 4; ++i) {
    double row = 0;
    for (int j = 0; j < 6; ++j) row += xv[i * 6 + j];
    all += row;
    EXPECT_NEAR(element(got[0], i), row / 6, 1e-12);
  }
  EXPECT_NEAR(element(got[1], 0), all / 24, 1e-12);
  EXPECT_EQ(got[1].shape(), Shape{});
  // A symbolic axis that is kept does not count (it once multiplied the count by its code).
  auto n = g.input("nx", tcc::f64, {tcc::dim("N"), 5});
  auto by_row = g.compile({tcc::mean(n, Axes(1)), tcc::mean(n, Axes(-1), true)})({{"nx", filled(tcc::f64, {3, 5}, xv)}});
  for (int i = 0; i < 3; ++i) {
    double row = 0;
    for (int j = 0; j < 5; ++j) row += xv[i * 5 + j];
    EXPECT_NEAR(element(by_row[0], i), row / 5, 1e-12);
    EXPECT_NEAR(element(by_row[1], i), row / 5, 1e-12);
  }
  EXPECT_EQ(by_row[1].shape(), (Shape{3, 1}));
  EXPECT_THROW(tcc::mean(g.input("i", tcc::i32, {3})), tcc::DTypeError);
  EXPECT_THROW(tcc::mean(g.input("n", tcc::f32, {tcc::dim("N"), 3}), Axes(0)), tcc::ShapeError);
}

TEST(Reduction, NaNEmptyAxesAndBadAxes) {
  tcc::Graph g;
  auto x = g.input("x", tcc::f32, {2, 3});
  auto fn = g.compile({tcc::max(x, Axes(1)), tcc::min(x, Axes(1)), tcc::sum(x, Axes(1))});
  auto r = fn({{"x", filled(tcc::f32, {2, 3}, {1, kNaN, 3, 4, 5, 6})}});
  EXPECT_TRUE(std::isnan(element(r[0], 0)));
  EXPECT_TRUE(std::isnan(element(r[1], 0)));
  EXPECT_TRUE(std::isnan(element(r[2], 0)));
  EXPECT_EQ(element(r[0], 1), 6);
  EXPECT_EQ(element(r[1], 1), 4);
  auto empty = g.input("e", tcc::f32, {4, 0});
  auto sums = g.compile({tcc::sum(empty, Axes(1))})({{"e", Tensor(tcc::f32, {4, 0})}})[0];
  EXPECT_EQ(sums.to_vector<float>(), (std::vector<float>{0, 0, 0, 0}));
  try {
    tcc::max(empty, Axes(1));
    FAIL() << "max over an empty axis accepted";
  } catch (const tcc::ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("max: x axis 1 has size 0"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tcc::sum(x, Axes(2)), tcc::ShapeError);
  EXPECT_THROW(tcc::sum(x, Axes::list({Axes(1), Axes(-1)})), tcc::ArgumentError);
}

TEST(Reduction, SoftmaxRowsSumToOneAndMatchTheFormula) {
  for (tcc::DType dtype : {tcc::f32, tcc::f64}) {
    tcc::Graph g;
    auto x = g.input("x", dtype, {5, 37});
    std::vector<double> xv = random_values(5 * 37, 3, false);
    xv[3] = 1000;  // exp would overflow without the max subtracted
    auto got = g.compile({tcc::softmax(x), tcc::softmax(x, 0)})({{"x", filled(dtype, {5, 37}, xv)}});
    for (int i = 0; i < 5; ++i) {
      double m = -INFINITY, s = 0;
      for (int j = 0; j < 37; ++j) m = std::max(m, xv[i * 37 + j]);
      for (int j = 0; j < 37; ++j) s += std::exp(xv[i * 37 + j] - m);
      for (int j = 0; j < 37; ++j)
        EXPECT_NEAR(element(got[0], i * 37 + j), std::exp(xv[i * 37 + j] - m) / s, dtype == tcc::f32 ? 1e-6 : 1e-14);
    }
    for (int j = 0; j < 37; ++j) {
      double total = 0;
      for (int i = 0; i < 5; ++i) total += element(got[1], i * 37 + j);
      EXPECT_NEAR(total, 1.0, 1e-5);
    }
  }
  tcc::Graph g;
  EXPECT_THROW(tcc::softmax(g.input("i", tcc::i64, {3})), tcc::DTypeError);
}

// logsumexp against the shifted formula on every axis choice, its edges as NumPy's
// logaddexp.reduce gives them (all -inf: -inf; an inf: inf; NaN: NaN; no elements: -inf), and
// softmax as two sweeps over x (logsumexp, then exp(x - lse)) and a kernel over the rows.
TEST(Reduction, LogsumexpIsStableAndSoftmaxIsTwoKernels) {
  for (tcc::DType dtype : {tcc::f32, tcc::f64}) {
    const Shape s{4, 6, 33};
    std::vector<double> xv = random_values(4 * 6 * 33, 21, false);
    for (double& v : xv) v *= 10;  // e^90 overflows f32: only the shifted form survives
    for (const std::vector<bool>& reduced : {std::vector<bool>{false, false, true}, {true, false, false}, {false, true, true}}) {
      std::vector<Axes> list;
      for (int a = 0; a < 3; ++a)
        if (reduced[a]) list.push_back(Axes(a - 3));  // negative axes
      tcc::Graph g;
      auto x = g.input("x", dtype, s);
      auto got = g.compile({tcc::logsumexp(x, Axes::list(list), /*keepdims=*/true)})({{"x", filled(dtype, s, xv)}})[0];
      std::vector<double> m = reduce3(xv, s, reduced, [](double a, double b) { return std::max(a, b); }, -INFINITY);
      std::vector<double> shifted(xv.size());
      Shape out;
      for (int a = 0; a < 3; ++a) out.push_back(reduced[a] ? 1 : s[a]);
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = 0; j < 6; ++j)
          for (int64_t k = 0; k < 33; ++k) {
            const int64_t o = ((reduced[0] ? 0 : i) * out[1] + (reduced[1] ? 0 : j)) * out[2] + (reduced[2] ? 0 : k);
            shifted[(i * 6 + j) * 33 + k] = std::exp(xv[(i * 6 + j) * 33 + k] - m[o]);
          }
      std::vector<double> sums = reduce3(shifted, s, reduced, [](double a, double b) { return a + b; }, 0.0);
      ASSERT_EQ(got.shape(), out);
      for (size_t o = 0; o < sums.size(); ++o)
        EXPECT_NEAR(element(got, static_cast<int64_t>(o)), m[o] + std::log(sums[o]), dtype == tcc::f32 ? 2e-5 : 1e-12) << o;
    }
    tcc::Graph g;
    auto edges = g.input("e", dtype, {5, 2});
    auto empty = g.input("z", dtype, {3, 0});
    auto a = g.input("a", dtype, {5});
    auto b = g.input("b", dtype, {5});
    auto fn = g.compile({tcc::logsumexp(edges, 1), tcc::logsumexp(empty, 1), tcc::logaddexp(a, b)});
    const std::vector<double> first{-INFINITY, INFINITY, kNaN, 1, 1000}, second{-INFINITY, 1, 1, 2, 1000};
    std::vector<double> pairs;
    for (int i = 0; i < 5; ++i) pairs.push_back(first[i]), pairs.push_back(second[i]);
    auto r = fn({{"e", filled(dtype, {5, 2}, pairs)}, {"z", filled(dtype, {3, 0}, {})}, {"a", filled(dtype, {5}, first)},
                 {"b", filled(dtype, {5}, second)}});
    const std::vector<double> want{-INFINITY, INFINITY, kNaN, 2 + std::log1p(std::exp(-1.0)), 1000 + std::log(2.0)};
    for (const Tensor& t : {r[0], r[2]})
      for (int i = 0; i < 5; ++i) {
        if (std::isnan(want[i])) EXPECT_TRUE(std::isnan(element(t, i))) << i;
        else if (std::isinf(want[i])) EXPECT_EQ(element(t, i), want[i]) << i;
        else EXPECT_NEAR(element(t, i), want[i], 1e-5 * want[i]) << i;
      }
    for (int i = 0; i < 3; ++i) EXPECT_EQ(element(r[1], i), -INFINITY);

    tcc::Graph h;
    auto x = h.input("x", dtype, {64, 100});
    auto softmax = h.compile({tcc::softmax(x)});
    EXPECT_EQ(softmax.stats().kernels, 3);  // logsumexp, lse - lse per row, exp(x - lse) + that
  }
  tcc::Graph g;
  EXPECT_THROW(tcc::logsumexp(g.input("i", tcc::i32, {3})), tcc::DTypeError);
  EXPECT_THROW(tcc::logaddexp(g.input("j", tcc::i32, {3}), g.input("k", tcc::i32, {3})), tcc::DTypeError);
}

TEST(Reduction, BiasAddAsKerasChecksTheBias) {
  tcc::Graph g;
  auto x = g.input("x", tcc::f32, {2, 3, 4});
  auto b = g.input("b", tcc::f32, {4});
  auto b2 = g.input("b2", tcc::f32, {3, 4});
  auto got = g.compile({tcc::bias_add(x, b), tcc::bias_add(x, b2)})(
      {{"x", Tensor(tcc::f32, {2, 3, 4})}, {"b", filled(tcc::f32, {4}, {1, 2, 3, 4})}, {"b2", Tensor(tcc::f32, {3, 4})}});
  EXPECT_EQ(element(got[0], 23), 4);
  EXPECT_EQ(element(got[0], 12), 1);
  try {
    tcc::bias_add(x, g.input("c", tcc::f32, {3}));
    FAIL() << "a bias of the wrong size accepted";
  } catch (const tcc::ShapeError& e) {
    EXPECT_STREQ(e.what(), "bias_add: the bias must have shape (C,) for x's last dim C, or x's shape without its first "
                           "axis, but is (3,); x: (2,3,4)");
  }
}

TEST(Reduction, DenseLayerWithBiasAndReluIsRight) {
  tcc::Graph g;
  auto x = g.input("x", tcc::f32, {32, 64});
  auto w = g.input("w", tcc::f32, {64, 48});
  auto b = g.input("b", tcc::f32, {48});
  auto y = tcc::relu(tcc::bias_add(tcc::dot(x, w), b));
  std::vector<double> xv = random_values(32 * 64, 4, false), wv = random_values(64 * 48, 5, false), bv = random_values(48, 6, false);
  auto got = g.compile({y})({{"x", filled(tcc::f32, {32, 64}, xv)}, {"w", filled(tcc::f32, {64, 48}, wv)},
                              {"b", filled(tcc::f32, {48}, bv)}})[0];
  for (int i = 0; i < 32; ++i)
    for (int j = 0; j < 48; ++j) {
      double acc = bv[j];
      for (int k = 0; k < 64; ++k) acc += static_cast<float>(xv[i * 64 + k]) * static_cast<float>(wv[k * 48 + j]);
      EXPECT_NEAR(element(got, i * 48 + j), std::max(0.0, acc), 1e-3) << i << "," << j;
    }
}

}  // namespace
