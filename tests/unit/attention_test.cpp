// Attention as one step (StepKind::attention, flash attention): softmax(score(q kᵀ)) v in
// its spellings (batch_dot and matmul, `@` with a transpose, einsum), with edge blocks in
// every direction, several batch dims, a symbolic batch, both float dtypes; special values
// give what the unfused graph gives; what must not fuse (the scores also an output) is not
// fused. The oracle is a float64 loop written here, and the unfused graph
// (TCC_FUSE_ATTENTION=0).
#include <tcc/tcc.h>

#include <gtest/gtest.h>

#include "support/scoped_env.h"
#include "support/tensor_values.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace {

using tcc::Shape;
using tcc::Tensor;
using tcc::test::element;
using tcc::test::filled;

struct Sizes {
  int64_t batch, q_rows, k_rows, head, width;  // B, Sq, Sk, D (q and k), Dv (v)
};

std::string str(const Sizes& s) {
  return std::to_string(s.batch) + "x(" + std::to_string(s.q_rows) + "," + std::to_string(s.k_rows) + "," +
         std::to_string(s.head) + "," + std::to_string(s.width) + ")";
}

// softmax(scale q kᵀ) v per batch matrix, in float64.
std::vector<double> attention_reference(const std::vector<double>& q, const std::vector<double>& k,
                                        const std::vector<double>& v, const Sizes& s, double scale) {
  std::vector<double> out(s.batch * s.q_rows * s.width, 0.0), scores(s.k_rows);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t i = 0; i < s.q_rows; ++i) {
      double max = -std::numeric_limits<double>::infinity(), sum = 0;
      for (int64_t j = 0; j < s.k_rows; ++j) {
        double dot = 0;
        for (int64_t e = 0; e < s.head; ++e)
          dot += q[(b * s.q_rows + i) * s.head + e] * k[(b * s.k_rows + j) * s.head + e];
        scores[j] = dot * scale;
        max = std::max(max, scores[j]);
      }
      for (int64_t j = 0; j < s.k_rows; ++j) sum += scores[j] = std::exp(scores[j] - max);
      for (int64_t j = 0; j < s.k_rows; ++j)
        for (int64_t d = 0; d < s.width; ++d)
          out[(b * s.q_rows + i) * s.width + d] += scores[j] / sum * v[(b * s.k_rows + j) * s.width + d];
    }
  return out;
}

// Each output is a weighted mean of v's values (within [-2, 2)): an absolute bound from the
// dtype's rounding over the head's sum and the k rows' sum.
void expect_close(const Tensor& got, const std::vector<double>& want, const Sizes& s, const std::string& what) {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size())) << what;
  const double eps = got.dtype() == tcc::f32 ? 1.2e-7 : 2.3e-16;
  const double bound = 16 * eps * static_cast<double>(s.head + s.k_rows + 16);
  int failures = 0;
  for (int64_t i = 0; i < got.numel() && failures < 5; ++i) {
    const bool ok = std::fabs(element(got, i) - want[i]) <= bound;
    if (!ok) ++failures;
    EXPECT_TRUE(ok) << what << " element " << i << ": " << element(got, i) << ", want " << want[i];
  }
}

using Spelling = std::function<tcc::Value(const tcc::Value& q, const tcc::Value& k, const tcc::Value& v, double scale)>;

// Keras: K.softmax(K.batch_dot(q, k, axes=(2, 2)) * scale), then a batch matmul with v.
tcc::Value keras_attention(const tcc::Value& q, const tcc::Value& k, const tcc::Value& v, double scale) {
  return tcc::matmul(tcc::softmax(tcc::batch_dot(q, k, tcc::Axes({2, 2})) * scale), v);
}
// NumPy: softmax(q @ kᵀ / s) @ v.
tcc::Value numpy_attention(const tcc::Value& q, const tcc::Value& k, const tcc::Value& v, double scale) {
  return tcc::np::matmul(tcc::softmax(tcc::np::matmul(q, tcc::transpose(k, std::vector<int64_t>{0, 2, 1})) / (1 / scale)), v);
}
// einsum, the scale first.
tcc::Value einsum_attention(const tcc::Value& q, const tcc::Value& k, const tcc::Value& v, double scale) {
  return tcc::einsum("bij,bjd->bid", tcc::softmax(scale * tcc::einsum("bie,bje->bij", q, k)), v);
}

using tcc::test::ScopedEnv;

TEST(Attention, IsOneKernelAndMatchesTheReference) {
  const std::vector<Sizes> sizes{
      {2, 70, 150, 33, 45},  // edge blocks of q and k rows, edge tiles in every product
      {1, 1, 1, 1, 1},
      {3, 64, 128, 64, 64},  // whole blocks
      {1, 130, 7, 16, 20},   // fewer k rows than a block
      {2, 5, 300, 8, 70},    // several k blocks and an edge, v wider than a tile
  };
  const std::vector<std::pair<std::string, Spelling>> spellings{
      {"batch_dot", keras_attention}, {"@", numpy_attention}, {"einsum", einsum_attention}};
  for (tcc::DType dtype : {tcc::f32, tcc::f64})
    for (const Sizes& s : sizes)
      for (const auto& [name, spelling] : spellings) {
        const std::string what = std::string(tcc::dtype_name(dtype)) + " " + name + " " + str(s);
        const double scale = 1 / std::sqrt(static_cast<double>(s.head));
        tcc::Graph g;
        auto q = g.input("q", dtype, {s.batch, s.q_rows, s.head});
        auto k = g.input("k", dtype, {s.batch, s.k_rows, s.head});
        auto v = g.input("v", dtype, {s.batch, s.k_rows, s.width});
        auto fn = g.compile({spelling(q, k, v, scale)});
        EXPECT_EQ(fn.stats().kernels, 1) << what;
        const auto qv = tcc::test::random_values(s.batch * s.q_rows * s.head, -2, 2, 1, false);
        const auto kv = tcc::test::random_values(s.batch * s.k_rows * s.head, -2, 2, 2, false);
        const auto vv = tcc::test::random_values(s.batch * s.k_rows * s.width, -2, 2, 3, false);
        auto out = fn({{"q", filled(dtype, {s.batch, s.q_rows, s.head}, qv)},
                       {"k", filled(dtype, {s.batch, s.k_rows, s.head}, kv)},
                       {"v", filled(dtype, {s.batch, s.k_rows, s.width}, vv)}})[0];
        EXPECT_EQ(out.shape(), (Shape{s.batch, s.q_rows, s.width})) << what;
        expect_close(out, attention_reference(qv, kv, vv, s, scale), s, what);
      }
}

// (batch, heads) as two axes, and a symbolic batch: one compile for every size, 0 and 1 too.
TEST(Attention, SeveralBatchDimsAndASymbolicBatch) {
  const Sizes s{6, 40, 90, 16, 24};
  const double scale = 0.25;
  const auto qv = tcc::test::random_values(s.batch * s.q_rows * s.head, -2, 2, 4, false);
  const auto kv = tcc::test::random_values(s.batch * s.k_rows * s.head, -2, 2, 5, false);
  const auto vv = tcc::test::random_values(s.batch * s.k_rows * s.width, -2, 2, 6, false);
  const std::vector<double> want = attention_reference(qv, kv, vv, s, scale);
  {
    tcc::Graph g;
    auto q = g.input("q", tcc::f32, {2, 3, s.q_rows, s.head});
    auto k = g.input("k", tcc::f32, {2, 3, s.k_rows, s.head});
    auto v = g.input("v", tcc::f32, {2, 3, s.k_rows, s.width});
    auto fn = g.compile({tcc::matmul(tcc::softmax(tcc::matmul(q, k, {.transpose_b = true}) * scale), v)});
    EXPECT_EQ(fn.stats().kernels, 1);
    auto out = fn({{"q", filled(tcc::f32, {2, 3, s.q_rows, s.head}, qv)},
                   {"k", filled(tcc::f32, {2, 3, s.k_rows, s.head}, kv)},
                   {"v", filled(tcc::f32, {2, 3, s.k_rows, s.width}, vv)}})[0];
    EXPECT_EQ(out.shape(), (Shape{2, 3, s.q_rows, s.width}));
    expect_close(out, want, s, "batch (2, 3)");
  }
  tcc::Graph g;
  auto q = g.input("q", tcc::f32, {tcc::dim("N"), s.q_rows, s.head});
  auto k = g.input("k", tcc::f32, {tcc::dim("N"), s.k_rows, s.head});
  auto v = g.input("v", tcc::f32, {tcc::dim("N"), s.k_rows, s.width});
  auto fn = g.compile({keras_attention(q, k, v, scale)});
  EXPECT_EQ(fn.stats().kernels, 1);
  for (int64_t n : {int64_t{0}, int64_t{1}, s.batch}) {
    const Sizes sn{n, s.q_rows, s.k_rows, s.head, s.width};
    auto part = [&](const std::vector<double>& all, int64_t per) { return std::vector<double>(all.begin(), all.begin() + n * per); };
    auto out = fn({{"q", filled(tcc::f32, {n, s.q_rows, s.head}, part(qv, s.q_rows * s.head))},
                   {"k", filled(tcc::f32, {n, s.k_rows, s.head}, part(kv, s.k_rows * s.head))},
                   {"v", filled(tcc::f32, {n, s.k_rows, s.width}, part(vv, s.k_rows * s.width))}})[0];
    EXPECT_EQ(out.shape(), (Shape{n, s.q_rows, s.width}));
    expect_close(out, part(want, s.q_rows * s.width), sn, "symbolic batch N = " + std::to_string(n));
  }
}

// Rows of scores holding inf, -inf only, NaN, or -inf beside finite values: NaN where the
// unfused graph (softmax computed in full, as Keras' formula) gives NaN, the same values elsewhere.
TEST(Attention, SpecialValuesAsTheUnfusedGraph) {
  const Sizes s{2, 9, 150, 4, 20};
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  auto qv = tcc::test::random_values(s.batch * s.q_rows * s.head, -2, 2, 7, false);
  auto kv = tcc::test::random_values(s.batch * s.k_rows * s.head, 0.5, 2, 8, false);  // k > 0
  const auto vv = tcc::test::random_values(s.batch * s.k_rows * s.width, -2, 2, 9, false);
  // Batch 0's q rows 1, 2, 3 are 0 but for their first element, +inf, -inf or NaN (k > 0):
  // their scores are inf, -inf only, or NaN. k row 140 holds -inf in element 1, where every
  // other q row of batch 0 is > 0: a -inf score among finite ones (in the second k block).
  for (int64_t i = 0; i < s.q_rows; ++i) qv[i * s.head + 1] = std::fabs(qv[i * s.head + 1]) + 0.1;
  for (int64_t i = 1; i <= 3; ++i)
    for (int64_t e = 0; e < s.head; ++e) qv[i * s.head + e] = e == 0 ? std::vector<double>{inf, -inf, nan}[i - 1] : 0;
  kv[140 * s.head + 1] = -inf;
  const Shape qs{s.batch, s.q_rows, s.head}, ks{s.batch, s.k_rows, s.head}, vs{s.batch, s.k_rows, s.width};
  auto run = [&] {
    tcc::Graph g;
    auto q = g.input("q", tcc::f32, qs);
    auto k = g.input("k", tcc::f32, ks);
    auto v = g.input("v", tcc::f32, vs);
    auto fn = g.compile({keras_attention(q, k, v, 0.5)});
    auto out = fn({{"q", filled(tcc::f32, qs, qv)}, {"k", filled(tcc::f32, ks, kv)}, {"v", filled(tcc::f32, vs, vv)}})[0];
    return std::make_pair(fn.stats().kernels, out);
  };
  const auto [fused_kernels, fused] = run();
  ScopedEnv unfused("TCC_FUSE_ATTENTION", "0");
  const auto [unfused_kernels, want] = run();
  EXPECT_EQ(fused_kernels, 1);
  EXPECT_GT(unfused_kernels, 1);
  int nans = 0;
  for (int64_t i = 0; i < fused.numel(); ++i) {
    const double g = element(fused, i), w = element(want, i);
    if (std::isnan(w)) {
      ++nans;
      EXPECT_TRUE(std::isnan(g)) << "element " << i << ": " << g << ", want NaN";
    } else {
      EXPECT_NEAR(g, w, 1e-5) << "element " << i;
    }
  }
  EXPECT_EQ(nans, 3 * s.width);  // rows 1, 2 and 3 of batch 0
}

// The scores read by another node too: they are stored, and nothing is fused into one step.
TEST(Attention, ScoresUsedElsewhereAreNotFused) {
  const Sizes s{1, 20, 30, 8, 8};
  tcc::Graph g;
  auto q = g.input("q", tcc::f32, {s.batch, s.q_rows, s.head});
  auto k = g.input("k", tcc::f32, {s.batch, s.k_rows, s.head});
  auto v = g.input("v", tcc::f32, {s.batch, s.k_rows, s.width});
  auto scores = tcc::batch_dot(q, k, tcc::Axes({2, 2}));
  auto fn = g.compile({tcc::matmul(tcc::softmax(scores), v), scores});
  EXPECT_GT(fn.stats().kernels, 1);
  const auto qv = tcc::test::random_values(s.q_rows * s.head, -2, 2, 10, false);
  const auto kv = tcc::test::random_values(s.k_rows * s.head, -2, 2, 11, false);
  const auto vv = tcc::test::random_values(s.k_rows * s.width, -2, 2, 12, false);
  auto out = fn({{"q", filled(tcc::f32, {1, s.q_rows, s.head}, qv)},
                 {"k", filled(tcc::f32, {1, s.k_rows, s.head}, kv)},
                 {"v", filled(tcc::f32, {1, s.k_rows, s.width}, vv)}});
  expect_close(out[0], attention_reference(qv, kv, vv, s, 1.0), s, "scores also an output");
}

}  // namespace

namespace {

// Layouts and spellings at the edges of the pattern, each against the reference: q and v
// given transposed (strided views), k shared by every batch matrix (broadcast), and a result
// whose axes put v's columns first (not fused: the step writes rows of v's columns).
TEST(Attention, StridedBroadcastAndReorderedOperands) {
  const Sizes s{3, 37, 75, 20, 28};
  const double scale = 0.3;
  const auto qv = tcc::test::random_values(s.batch * s.q_rows * s.head, -2, 2, 13, false);
  const auto kv = tcc::test::random_values(s.k_rows * s.head, -2, 2, 14, false);
  const auto vv = tcc::test::random_values(s.batch * s.k_rows * s.width, -2, 2, 15, false);
  // The reference's inputs: k repeated per batch matrix.
  std::vector<double> k_all;
  for (int64_t b = 0; b < s.batch; ++b) k_all.insert(k_all.end(), kv.begin(), kv.end());
  const std::vector<double> want = attention_reference(qv, k_all, vv, s, scale);
  // q and v stored transposed: qt[b, e, i] = q[b, i, e], vt[b, d, j] = v[b, j, d].
  std::vector<double> qt(qv.size()), vt(vv.size());
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t i = 0; i < s.q_rows; ++i)
      for (int64_t e = 0; e < s.head; ++e) qt[(b * s.head + e) * s.q_rows + i] = qv[(b * s.q_rows + i) * s.head + e];
    for (int64_t j = 0; j < s.k_rows; ++j)
      for (int64_t d = 0; d < s.width; ++d) vt[(b * s.width + d) * s.k_rows + j] = vv[(b * s.k_rows + j) * s.width + d];
  }
  tcc::Graph g;
  auto q = tcc::transpose(g.input("qt", tcc::f32, {s.batch, s.head, s.q_rows}), std::vector<int64_t>{0, 2, 1});
  auto k = g.input("k", tcc::f32, {1, s.k_rows, s.head});
  auto v = tcc::transpose(g.input("vt", tcc::f32, {s.batch, s.width, s.k_rows}), std::vector<int64_t>{0, 2, 1});
  auto weights = tcc::softmax(tcc::matmul(q, k, {.transpose_b = true}) * scale);
  auto fused = tcc::matmul(weights, v);
  auto reordered = tcc::einsum("bij,bjd->bdi", weights, v);  // v's columns before q's rows
  const tcc::Feeds feeds{{"qt", filled(tcc::f32, {s.batch, s.head, s.q_rows}, qt)},
                         {"k", filled(tcc::f32, {1, s.k_rows, s.head}, kv)},
                         {"vt", filled(tcc::f32, {s.batch, s.width, s.k_rows}, vt)}};
  auto fn = g.compile({fused});
  auto out = fn(feeds)[0];
  expect_close(out, want, s, "q and v transposed, k broadcast");
  // One attention step (and the copy that makes v's rows contiguous).
  EXPECT_LE(fn.stats().kernels, 2);
  auto fn2 = g.compile({reordered});
  EXPECT_GT(fn2.stats().kernels, 2);  // not fused
  auto out2 = fn2(feeds)[0];
  ASSERT_EQ(out2.shape(), (Shape{s.batch, s.width, s.q_rows}));
  std::vector<double> want2(want.size());
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t i = 0; i < s.q_rows; ++i)
      for (int64_t d = 0; d < s.width; ++d)
        want2[(b * s.width + d) * s.q_rows + i] = want[(b * s.q_rows + i) * s.width + d];
  expect_close(out2, want2, s, "result reordered (unfused)");
}

}  // namespace

namespace {

// Masks and biases in the score expression, each one attention step that gives what the
// unfused graph gives (the same NaN rows, values within f32's rounding): a causal mask of 0 and
// -inf over (q rows, k rows) with one row masked whole (NaN, as softmax of all -inf), a
// key-padding mask per batch matrix and k row, a bias over (batch, i, j) added before the
// scale, and a mask given transposed (contiguous along q rows); f32 and f64.
TEST(Attention, MasksAndBiasesOverTheScores) {
  const int64_t B = 2, Sq = 70, Sk = 90, D = 16, Dv = 24;
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> causal(Sq * Sk), padding(B * Sk), bias(B * Sq * Sk), causal_t(Sk * Sq);
  for (int64_t i = 0; i < Sq; ++i)
    for (int64_t j = 0; j < Sk; ++j) causal[i * Sk + j] = causal_t[j * Sq + i] = j <= i + 20 && i != 5 ? 0.0 : -inf;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < Sk; ++j) padding[b * Sk + j] = j < Sk - 7 * (b + 1) ? 0.0 : -inf;
  bias = tcc::test::random_values(B * Sq * Sk, -3, 3, 30, false);
  const auto qv = tcc::test::random_values(B * Sq * D, -2, 2, 31, false);
  const auto kv = tcc::test::random_values(B * Sk * D, -2, 2, 32, false);
  const auto vv = tcc::test::random_values(B * Sk * Dv, -2, 2, 33, false);
  using Build = std::function<tcc::Value(tcc::Graph&, const tcc::Value&, tcc::DType)>;  // the scores -> softmax's input
  const std::vector<std::pair<std::string, Build>> cases{
      {"causal", [&](tcc::Graph& g, const tcc::Value& s, tcc::DType t) { return s * 0.25 + g.input("m", t, {Sq, Sk}); }},
      {"padding", [&](tcc::Graph& g, const tcc::Value& s, tcc::DType t) { return g.input("m", t, {B, 1, Sk}) + s * 0.25; }},
      {"bias", [&](tcc::Graph& g, const tcc::Value& s, tcc::DType t) { return (s + g.input("m", t, {B, Sq, Sk})) * 0.5; }},
      {"causal, transposed", [&](tcc::Graph& g, const tcc::Value& s, tcc::DType t) {
         return s * 0.25 + tcc::transpose(g.input("m", t, {Sk, Sq}));
       }},
  };
  const std::vector<std::pair<std::vector<double>*, Shape>> masks{
      {&causal, {Sq, Sk}}, {&padding, {B, 1, Sk}}, {&bias, {B, Sq, Sk}}, {&causal_t, {Sk, Sq}}};
  for (tcc::DType dtype : {tcc::f32, tcc::f64})
    for (size_t c = 0; c < cases.size(); ++c) {
      const std::string what = cases[c].first + " " + std::string(tcc::dtype_name(dtype));
      auto run = [&] {
        tcc::Graph g;
        auto q = g.input("q", dtype, {B, Sq, D});
        auto k = g.input("k", dtype, {B, Sk, D});
        auto v = g.input("v", dtype, {B, Sk, Dv});
        auto fn = g.compile({tcc::matmul(tcc::softmax(cases[c].second(g, tcc::batch_dot(q, k, tcc::Axes({2, 2})), dtype)), v)});
        auto out = fn({{"q", filled(dtype, {B, Sq, D}, qv)},
                       {"k", filled(dtype, {B, Sk, D}, kv)},
                       {"v", filled(dtype, {B, Sk, Dv}, vv)},
                       {"m", filled(dtype, masks[c].second, *masks[c].first)}})[0];
        return std::make_pair(fn.stats().kernels, out);
      };
      const auto [fused_kernels, fused] = run();
      ScopedEnv unfused("TCC_FUSE_ATTENTION", "0");
      const auto [unfused_kernels, want] = run();
      EXPECT_EQ(fused_kernels, 1) << what;
      EXPECT_GT(unfused_kernels, 1) << what;
      int nans = 0, failures = 0;
      for (int64_t i = 0; i < fused.numel() && failures < 5; ++i) {
        const double got = element(fused, i), w = element(want, i);
        const bool ok = std::isnan(w) ? std::isnan(got) : std::fabs(got - w) <= (dtype == tcc::f32 ? 2e-5 : 1e-12);
        nans += std::isnan(w) ? 1 : 0;
        failures += ok ? 0 : 1;
        EXPECT_TRUE(ok) << what << " element " << i << ": " << got << ", want " << w;
      }
      // Row 5 of each batch matrix is masked whole by the causal masks: NaN, as in full.
      EXPECT_EQ(nans, c == 0 || c == 3 ? B * Dv : 0) << what;
    }
}

}  // namespace
