// Element-wise tails fused into contractions (KernelSpec::epilogue): a Dense layer's bias and
// activation, a per-row scale, a residual add, on every GEMM path (in place, packed over several
// K blocks, one row with a K sweep, symbolic rows, threads) and on the simple schedules
// (reductions), plus the forms that fall back to a pass over the result (a transposed residual,
// a batch summed outside the GEMM) and the ones that must not fuse (a result used twice).
// The oracle is a float64 loop written here.
#include <tcc/tcc.h>

#include <gtest/gtest.h>

#include "support/scoped_env.h"
#include "support/tensor_values.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

using tcc::Shape;
using tcc::Tensor;
using tcc::test::element;
using tcc::test::filled;

// Values uniform in [-2, 2), whole for integer dtypes.
std::vector<double> random_values(int64_t n, uint32_t seed, bool integers) {
  return tcc::test::random_values(n, -2, 2, seed, integers);
}

// x (M x K) times w (K x N), in float64.
std::vector<double> matmul_reference(const std::vector<double>& x, const std::vector<double>& w, int64_t M, int64_t K, int64_t N) {
  std::vector<double> c(M * N, 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < N; ++j) c[i * N + j] += x[i * K + k] * w[k * N + j];
  return c;
}

// Float results within a forward-error bound of a K-term sum; integers exactly.
void expect_matches(const Tensor& got, const std::vector<double>& want, int64_t K, const std::string& what) {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size())) << what;
  const double eps = got.dtype() == tcc::f32 ? 1.2e-7 : 2.3e-16;
  int failures = 0;
  for (int64_t i = 0; i < got.numel() && failures < 5; ++i) {
    const double g = element(got, i), w = want[i];
    const bool ok = tcc::is_float(got.dtype()) ? std::fabs(g - w) <= 4.0 * static_cast<double>(K + 4) * eps * std::max(4.0, std::fabs(w)) * 4
                                               : g == w;
    if (!ok) ++failures;
    EXPECT_TRUE(ok) << what << " element " << i << ": " << g << ", want " << w;
  }
}

struct DenseCase {
  int64_t M, K, N;
  bool symbolic_rows;
};

// relu(x . w + b) is one kernel and matches the reference, on each GEMM path.
TEST(Epilogue, DenseLayerIsOneKernelOnEveryGemmPath) {
  const std::vector<DenseCase> cases{
      {7, 33, 45, false},    // in place, edge tiles in both directions
      {1, 1024, 256, false}, // one row: a K sweep, the epilogue on its last block
      {64, 700, 300, false}, // packed, several K blocks
      {256, 512, 512, false},// packed on threads
      {100, 300, 1000, false},// packed, column panels on threads, edge rows and columns
      {37, 64, 100, true},   // symbolic rows: full tiles and the runtime edge
      {3, 5, 17, false},
      {37, 1000, 300, false}, // few rows, B past L2: column tiles outermost, K blocks (last: the epilogue)
  };
  for (tcc::DType dtype : {tcc::f32, tcc::f64, tcc::i32}) {
    for (const DenseCase& c : cases) {
      const bool integers = !tcc::is_float(dtype);
      const std::string what = std::string(tcc::dtype_name(dtype)) + " " + std::to_string(c.M) + "x" + std::to_string(c.K) +
                               "x" + std::to_string(c.N) + (c.symbolic_rows ? " (rows N)" : "");
      tcc::Graph g;
      auto x = g.input("x", dtype, {c.symbolic_rows ? tcc::dim("N") : c.M, c.K});
      auto w = g.input("w", dtype, {c.K, c.N});
      auto b = g.input("b", dtype, {c.N});
      auto fn = g.compile({tcc::relu(tcc::bias_add(tcc::dot(x, w), b))});
      EXPECT_EQ(fn.stats().kernels, 1) << what;
      std::vector<double> xv = random_values(c.M * c.K, 1, integers), wv = random_values(c.K * c.N, 2, integers),
                          bv = random_values(c.N, 3, integers);
      auto r = fn({{"x", filled(dtype, {c.M, c.K}, xv)}, {"w", filled(dtype, {c.K, c.N}, wv)}, {"b", filled(dtype, {c.N}, bv)}})[0];
      std::vector<double> want = matmul_reference(xv, wv, c.M, c.K, c.N);
      for (int64_t i = 0; i < c.M * c.N; ++i) want[i] = std::max(0.0, want[i] + bv[i % c.N]);
      expect_matches(r, want, c.K, what);
    }
  }
}

// Epilogue operands read per row (a column vector), per element (a residual), transcendental
// functions, and a scale: all in one kernel.
TEST(Epilogue, PerRowPerElementAndTranscendentalTails) {
  const int64_t M = 50, K = 96, N = 70;
  tcc::Graph g;
  auto x = g.input("x", tcc::f32, {M, K});
  auto w = g.input("w", tcc::f32, {K, N});
  auto s = g.input("s", tcc::f32, {M, 1});
  auto res = g.input("r", tcc::f32, {M, N});
  auto y = tcc::tanh(tcc::matmul(x, w) * s * 0.5 + res);
  auto fn = g.compile({y});
  EXPECT_EQ(fn.stats().kernels, 1);
  std::vector<double> xv = random_values(M * K, 4, false), wv = random_values(K * N, 5, false), sv = random_values(M, 6, false),
                      rv = random_values(M * N, 7, false);
  auto r = fn({{"x", filled(tcc::f32, {M, K}, xv)}, {"w", filled(tcc::f32, {K, N}, wv)}, {"s", filled(tcc::f32, {M, 1}, sv)},
               {"r", filled(tcc::f32, {M, N}, rv)}})[0];
  std::vector<double> want = matmul_reference(xv, wv, M, K, N);
  for (int64_t i = 0; i < M * N; ++i) want[i] = std::tanh(want[i] * sv[i / N] * 0.5 + rv[i]);
  expect_matches(r, want, K, "tanh(x@w * s * 0.5 + r)");
}

// A residual read transposed (gathered along C's rows) and a batch summed outside the GEMM:
// the epilogue runs in a pass over the result, still in the contraction's kernel.
TEST(Epilogue, FallsBackToAPassOverTheResult) {
  const int64_t M = 20, K = 30, N = 40, B = 3;
  {
    tcc::Graph g;
    auto x = g.input("x", tcc::f32, {M, K});
    auto w = g.input("w", tcc::f32, {K, N});
    auto rt = g.input("rt", tcc::f32, {N, M});
    auto fn = g.compile({tcc::dot(x, w) + tcc::transpose(rt)});
    EXPECT_EQ(fn.stats().kernels, 1);
    std::vector<double> xv = random_values(M * K, 8, false), wv = random_values(K * N, 9, false), rv = random_values(N * M, 10, false);
    auto r = fn({{"x", filled(tcc::f32, {M, K}, xv)}, {"w", filled(tcc::f32, {K, N}, wv)}, {"rt", filled(tcc::f32, {N, M}, rv)}})[0];
    std::vector<double> want = matmul_reference(xv, wv, M, K, N);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) want[i * N + j] += rv[j * M + i];
    expect_matches(r, want, K, "x@w + rt.T");
  }
  {
    tcc::Graph g;
    auto x = g.input("x", tcc::f64, {B, M, K});
    auto w = g.input("w", tcc::f64, {B, K, N});
    auto b = g.input("b", tcc::f64, {N});
    auto fn = g.compile({tcc::relu(tcc::einsum("bik,bkj->ij", x, w) + b)});
    EXPECT_EQ(fn.stats().kernels, 1);
    std::vector<double> xv = random_values(B * M * K, 11, false), wv = random_values(B * K * N, 12, false), bv = random_values(N, 13, false);
    auto r = fn({{"x", filled(tcc::f64, {B, M, K}, xv)}, {"w", filled(tcc::f64, {B, K, N}, wv)}, {"b", filled(tcc::f64, {N}, bv)}})[0];
    std::vector<double> want(M * N, 0.0);
    for (int64_t n = 0; n < B; ++n) {
      std::vector<double> xs(xv.begin() + n * M * K, xv.begin() + (n + 1) * M * K), ws(wv.begin() + n * K * N, wv.begin() + (n + 1) * K * N);
      std::vector<double> part = matmul_reference(xs, ws, M, K, N);
      for (int64_t i = 0; i < M * N; ++i) want[i] += part[i];
    }
    for (int64_t i = 0; i < M * N; ++i) want[i] = std::max(0.0, want[i] + bv[i % N]);
    expect_matches(r, want, B * K, "relu(einsum(bik,bkj->ij) + b)");
  }
}

// A batched GEMM's epilogue reads each batch's own residual; reductions take epilogues too
// (mean is a sum and a scale, max plus a bias).
TEST(Epilogue, BatchedGemmsAndReductions) {
  const int64_t B = 4, M = 9, K = 16, N = 24;
  tcc::Graph g;
  auto x = g.input("x", tcc::f32, {B, M, K});
  auto w = g.input("w", tcc::f32, {B, K, N});
  auto res = g.input("r", tcc::f32, {B, M, N});
  auto bmm = tcc::sigmoid(tcc::matmul(x, w) - res);
  auto reduced = tcc::max(x, 2) + tcc::mean(x, 2);
  auto fn = g.compile({bmm, reduced});
  std::vector<double> xv = random_values(B * M * K, 14, false), wv = random_values(B * K * N, 15, false), rv = random_values(B * M * N, 16, false);
  auto out = fn({{"x", filled(tcc::f32, {B, M, K}, xv)}, {"w", filled(tcc::f32, {B, K, N}, wv)}, {"r", filled(tcc::f32, {B, M, N}, rv)}});
  std::vector<double> want(B * M * N), want_reduced(B * M);
  for (int64_t n = 0; n < B; ++n) {
    std::vector<double> xs(xv.begin() + n * M * K, xv.begin() + (n + 1) * M * K), ws(wv.begin() + n * K * N, wv.begin() + (n + 1) * K * N);
    std::vector<double> part = matmul_reference(xs, ws, M, K, N);
    for (int64_t i = 0; i < M * N; ++i) want[n * M * N + i] = 1 / (1 + std::exp(-(part[i] - rv[n * M * N + i])));
    for (int64_t i = 0; i < M; ++i) {
      double mx = -INFINITY, sum = 0;
      for (int64_t k = 0; k < K; ++k) mx = std::max(mx, xs[i * K + k]), sum += xs[i * K + k];
      want_reduced[n * M + i] = mx + sum / K;
    }
  }
  expect_matches(out[0], want, K, "sigmoid(matmul(x, w) - r)");
  expect_matches(out[1], want_reduced, K, "max(x, 2) + mean(x, 2)");
}

// A contraction whose result is also an output, or read by two nodes, keeps its own buffer:
// the element-wise op is a kernel of its own, and both results are right.
TEST(Epilogue, AResultReadTwiceIsNotFused) {
  const int64_t M = 6, K = 8, N = 10;
  tcc::Graph g;
  auto x = g.input("x", tcc::f32, {M, K});
  auto w = g.input("w", tcc::f32, {K, N});
  auto y = tcc::dot(x, w);
  auto fn = g.compile({y, tcc::relu(y)});
  EXPECT_EQ(fn.stats().kernels, 2);
  // The same product spelled twice is computed once, so neither spelling may fuse into it.
  auto fn2 = g.compile({tcc::relu(tcc::dot(x, w)) + tcc::exp(tcc::matmul(x, w))});
  std::vector<double> xv = random_values(M * K, 17, false), wv = random_values(K * N, 18, false);
  std::vector<double> p = matmul_reference(xv, wv, M, K, N);
  auto out = fn({{"x", filled(tcc::f32, {M, K}, xv)}, {"w", filled(tcc::f32, {K, N}, wv)}});
  std::vector<double> relu_p = p, both = p;
  for (double& v : relu_p) v = std::max(0.0, v);
  for (int64_t i = 0; i < M * N; ++i) both[i] = std::max(0.0, p[i]) + std::exp(p[i]);
  expect_matches(out[0], p, K, "x@w");
  expect_matches(out[1], relu_p, K, "relu(x@w)");
  expect_matches(fn2({{"x", filled(tcc::f32, {M, K}, xv)}, {"w", filled(tcc::f32, {K, N}, wv)}})[0], both, K,
                 "relu(dot(x, w)) + exp(matmul(x, w))");
}

}  // namespace

namespace {

// The tensors' bytes are the same (NaNs of one payload compare equal, as they should here).
void expect_same_bytes(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.numel(), want.numel()) << what;
  const size_t bytes = static_cast<size_t>(got.numel()) * tcc::dtype_size(got.dtype());
  int64_t first_difference = -1;
  for (int64_t i = 0; i < got.numel() && first_difference < 0; ++i)
    if (element(got, i) != element(want, i)) first_difference = i;
  EXPECT_EQ(std::memcmp(got.data(), want.data(), bytes), 0)
      << what << ": first differing element " << first_difference << ", "
      << (first_difference < 0 ? 0.0 : element(got, first_difference)) << " vs "
      << (first_difference < 0 ? 0.0 : element(want, first_difference));
}

// A graph of `from`-dtype inputs whose result is cast to `to`; feeds per input name.
struct CastCase {
  std::string what;
  std::function<tcc::Value(tcc::Graph&, tcc::DType from, tcc::DType to)> build;
  std::vector<std::pair<std::string, Shape>> inputs;  // of dtype `from`, but "s" of dtype `to`
  std::vector<int64_t> symbol_values;  // sizes of the symbol N (x's rows) to run at, or none
};

// Runs the case fused and unfused (TCC_FUSE_EPILOGUES=0); returns the kernel counts and results.
struct CastRuns {
  int fused_kernels = 0, unfused_kernels = 0;
  std::vector<Tensor> fused, unfused;
};
CastRuns run_cast_case(const CastCase& c, tcc::DType from, tcc::DType to) {
  CastRuns runs;
  for (bool fuse : {true, false}) {
    std::optional<tcc::test::ScopedEnv> off;
    if (!fuse) off.emplace("TCC_FUSE_EPILOGUES", "0");
    tcc::Graph g;
    auto fn = g.compile({c.build(g, from, to)});
    (fuse ? runs.fused_kernels : runs.unfused_kernels) = fn.stats().kernels;
    const std::vector<int64_t> sizes = c.symbol_values.empty() ? std::vector<int64_t>{-1} : c.symbol_values;
    for (int64_t n : sizes) {
      std::map<std::string, Tensor> feeds;
      uint32_t seed = 20;
      for (const auto& [name, shape] : c.inputs) {
        Shape concrete = shape;
        if (n >= 0 && name == "x") concrete[0] = n;
        const tcc::DType dtype = name == "s" ? to : from;
        feeds[name] = filled(dtype, concrete, random_values(tcc::checked_numel(concrete), seed++, !tcc::is_float(dtype)));
      }
      (fuse ? runs.fused : runs.unfused).push_back(fn(feeds)[0]);
    }
  }
  return runs;
}

// An epilogue that converts the sums to another dtype (cast) runs in the contraction's store,
// on every GEMM path and the simple schedules, every pair of dtypes, with operands of both
// dtypes: one kernel whose result is bit for bit the unfused graph's (sums, then a cast step).
TEST(Epilogue, CastsToAnotherDtypeInTheStore) {
  using tcc::Value;
  auto dense = [](int64_t M, int64_t K, int64_t N, bool symbolic) {
    return CastCase{"cast(relu(x@w + b)) * s " + std::to_string(M) + "x" + std::to_string(K) + "x" + std::to_string(N) +
                        (symbolic ? " (rows N)" : ""),
                    [=](tcc::Graph& g, tcc::DType from, tcc::DType to) {
                      auto x = g.input("x", from, {symbolic ? tcc::dim("N") : M, K});
                      auto w = g.input("w", from, {K, N});
                      auto b = g.input("b", from, {N});
                      auto s = g.input("s", to, {N});
                      return tcc::cast(tcc::relu(tcc::bias_add(tcc::dot(x, w), b)), to) * s;
                    },
                    {{"x", {M, K}}, {"w", {K, N}}, {"b", {N}}, {"s", {N}}},
                    symbolic ? std::vector<int64_t>{0, 1, M} : std::vector<int64_t>{}};
  };
  auto reduction = [](const std::string& what, int axis, bool max) {
    return CastCase{what, [=](tcc::Graph& g, tcc::DType from, tcc::DType to) {
                      auto x = g.input("x", from, {40, 300});
                      return tcc::cast(max ? tcc::max(x, axis) : tcc::sum(x, axis), to);
                    },
                    {{"x", {40, 300}}}, {}};
  };
  const std::vector<CastCase> cases{
      dense(7, 33, 45, false),    // in place, edge tiles
      dense(1, 1024, 256, false), // one row: a K sweep, the cast on its last block
      dense(64, 700, 300, false), // packed, several K blocks: partial sums in the accumulator
      dense(256, 512, 512, false),// packed on threads
      dense(37, 64, 100, true),   // symbolic rows (an accumulator sized per call)
      dense(37, 1000, 300, false),// few rows, column tiles outermost, K blocks
      reduction("cast(sum(x, 1))", 1, false),  // sums in a register
      reduction("cast(sum(x, 0))", 0, false),  // sums in memory, then a pass
      reduction("cast(max(x, 0))", 0, true),
      {"cast(x@w + transpose(rt))",  // the epilogue in a pass after the GEMM
       [](tcc::Graph& g, tcc::DType from, tcc::DType to) {
         auto x = g.input("x", from, {20, 30});
         auto w = g.input("w", from, {30, 40});
         auto rt = g.input("rt", from, {40, 20});
         return tcc::cast(tcc::dot(x, w) + tcc::transpose(rt), to);
       },
       {{"x", {20, 30}}, {"w", {30, 40}}, {"rt", {40, 20}}}, {}},
      {"cast(einsum(bik,bkj->ij))",  // a batch summed outside the GEMM
       [](tcc::Graph& g, tcc::DType from, tcc::DType to) {
         auto x = g.input("x", from, {3, 20, 30});
         auto w = g.input("w", from, {3, 30, 40});
         return tcc::cast(tcc::einsum("bik,bkj->ij", x, w), to);
       },
       {{"x", {3, 20, 30}}, {"w", {3, 30, 40}}}, {}},
  };
  const std::vector<tcc::DType> dtypes{tcc::f32, tcc::f64, tcc::i32, tcc::i64};
  for (size_t k = 0; k < cases.size(); ++k)
    for (tcc::DType from : dtypes)
      for (tcc::DType to : dtypes) {
        // Every pair on the first case and the reductions; the main ones elsewhere.
        const bool main_pair = (from == tcc::f32 && (to == tcc::f64 || to == tcc::i32)) || (from == tcc::f64 && to == tcc::f32) ||
                               (from == tcc::i32 && to == tcc::f32);
        if (from == to || (k != 0 && k < 6 && !main_pair)) continue;
        const std::string what = cases[k].what + " " + std::string(tcc::dtype_name(from)) + "->" + std::string(tcc::dtype_name(to));
        const CastRuns runs = run_cast_case(cases[k], from, to);
        EXPECT_EQ(runs.fused_kernels, 1) << what;
        EXPECT_GE(runs.unfused_kernels, 2) << what;
        for (size_t r = 0; r < runs.fused.size(); ++r) expect_same_bytes(runs.fused[r], runs.unfused[r], what);
      }
}

}  // namespace

namespace {

// Regressions from the mixed differential tests: a result read through a view (a sum over no
// axis, a double transpose) by two nodes must not take one reader's epilogue; and an
// element-wise expression keeps NumPy's meaning for inf and NaN ((x - y) + y is not x).
TEST(Epilogue, AViewReadTwiceAndInfinitiesKeepTheirMeaning) {
  tcc::Graph g;
  auto x = g.input("x", tcc::f32, {2, 3});
  auto s = tcc::sum(tcc::sum(x));  // the outer sum reduces no axis: a view of the inner one
  auto m = tcc::matmul(x, tcc::transpose(x));
  auto t = tcc::transpose(tcc::transpose(m));
  auto y = g.input("y", tcc::f32, {2});
  auto v = g.input("v", tcc::f32, {2});
  auto r = g.eval({s, -s, t, -t, (v - y) + y},
                  {{"x", filled(tcc::f32, {2, 3}, {1, 2, 3, 4, 5, 6})}, {"y", filled(tcc::f32, {2}, {INFINITY, NAN})},
                   {"v", filled(tcc::f32, {2}, {1, 2})}});
  EXPECT_EQ(element(r[0], 0), 21);
  EXPECT_EQ(element(r[1], 0), -21);
  EXPECT_EQ(element(r[2], 1), 32);  // row 0 . row 1
  EXPECT_EQ(element(r[3], 1), -32);
  EXPECT_TRUE(std::isnan(element(r[4], 0)));
  EXPECT_TRUE(std::isnan(element(r[4], 1)));
}

}  // namespace
