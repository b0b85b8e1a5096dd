// Strided inputs (Graph::input with strides): a view of memory read in place, its strides the
// kernels' own. Transposed, padded, broadcast, reversed and merely element-aligned layouts
// compute what the dense copy of the view would, on the small and the packed GEMM paths; bad
// strides and bad feeds are refused with the view named.
#include <tcc/tcc.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace {

using tcc::Shape;
using tcc::Tensor;

// A rank-2 view: element (i, j) of `data` at offset + i*s0 + j*s1.
struct View2 {
  const std::vector<float>* data;
  int64_t offset, s0, s1;
  float at(int64_t i, int64_t j) const { return (*data)[offset + i * s0 + j * s1]; }
};

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// (m, k) view times a dense (k, n) matrix, in double.
std::vector<double> reference_matmul(const View2& a, const std::vector<float>& b, int64_t m, int64_t k, int64_t n) {
  std::vector<double> c(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < n; ++j) c[i * n + j] += double(a.at(i, p)) * b[p * n + j];
  return c;
}

// Runs matmul(a, b) with `a` the (m, k) view of `memory` (element (0, 0) at `offset`, strides
// s0, s1 of either sign) and checks it against the reference.
void expect_matmul_of_view(std::vector<float>& memory, int64_t offset, int64_t m, int64_t k, int64_t n, int64_t s0,
                           int64_t s1) {
  const std::vector<float> b = random_floats(k * n, 7);
  tcc::Graph g;
  auto a_in = g.input("a", tcc::f32, {m, k}, {s0, s1});
  auto b_in = g.input("b", tcc::f32, {k, n});
  auto fn = g.compile({tcc::matmul(a_in, b_in)});
  const int64_t span = tcc::checked_span({m, k}, {s0, s1});
  const int64_t lowest = offset - tcc::strided_origin({m, k}, {s0, s1});  // where the fed run starts
  ASSERT_EQ(fn.inputs()[0].feed_shape(), (Shape{span}));
  ASSERT_TRUE(lowest >= 0 && lowest + span <= static_cast<int64_t>(memory.size()));
  Tensor b_t = Tensor::from({k, n}, b);
  auto out = fn({{"a", Tensor::borrow(tcc::f32, {span}, memory.data() + lowest, nullptr)}, {"b", b_t}});
  const std::vector<double> want = reference_matmul({&memory, offset, s0, s1}, b, m, k, n);
  const std::vector<float> got = out[0].to_vector<float>();
  ASSERT_EQ(got.size(), want.size());
  for (size_t e = 0; e < got.size(); ++e)
    ASSERT_NEAR(got[e], want[e], 1e-4 * k) << "element " << e << " of (" << m << "," << k << ")·(" << k << "," << n
                                            << ") with strides (" << s0 << "," << s1 << ")";
}

TEST(StridedInput, TransposedViewsAreReadInPlace) {
  for (auto [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{5, 7, 3}, {300, 200, 260}}) {
    std::vector<float> memory = random_floats(m * k, 1);  // stored [k][m]: Fortran order
    expect_matmul_of_view(memory, 0, m, k, n, 1, m);
  }
}

TEST(StridedInput, PaddedRowsAreReadInPlace) {
  for (auto [m, k, n, lda] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{4, 5, 6, 9}, {257, 129, 300, 200}}) {
    std::vector<float> memory = random_floats(m * lda, 2);  // a[:, :k] of an (m, lda) array
    expect_matmul_of_view(memory, 0, m, k, n, lda, 1);
  }
}

TEST(StridedInput, EveryOtherElementAndBroadcastRows) {
  std::vector<float> memory = random_floats(2 * 40 * 30, 3);
  expect_matmul_of_view(memory, 0, 40, 30, 17, 60, 2);  // a[:, ::2]
  expect_matmul_of_view(memory, 0, 8, 30, 5, 0, 1);     // np.broadcast_to(row, (8, 30))
}

TEST(StridedInput, NegativeStridesReadDownFromTheOrigin) {
  // x[::-1], x[:, ::-1], x[::-1, ::-1] of a C-ordered (m, k) array, small and packed sizes.
  for (auto [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{5, 7, 3}, {300, 200, 260}}) {
    std::vector<float> memory = random_floats(m * k, 9);
    expect_matmul_of_view(memory, (m - 1) * k, m, k, n, -k, 1);
    expect_matmul_of_view(memory, k - 1, m, k, n, k, -1);
    expect_matmul_of_view(memory, m * k - 1, m, k, n, -k, -1);
    expect_matmul_of_view(memory, (k - 1) * m, m, k, n, 1, -m);  // Fortran order, k reversed
  }
  EXPECT_EQ(tcc::strided_origin({3, 4}, {-4, 1}), 8);
  EXPECT_EQ(tcc::strided_origin({3, 4}, {4, -1}), 3);
  EXPECT_EQ(tcc::checked_span({3, 4}, {-4, -1}), 12);
}

TEST(StridedInput, DataAlignedOnlyToItsElements) {
  // A packed GEMM over data 4 bytes past a cache line, dense and transposed.
  std::vector<float> memory = random_floats(1 + 512 * 384, 4);
  expect_matmul_of_view(memory, 1, 512, 384, 256, 384, 1);
  expect_matmul_of_view(memory, 1, 512, 384, 256, 1, 512);
}

TEST(StridedInput, AStridedInputAsTheOutputIsCopiedDense) {
  std::vector<float> memory = random_floats(12, 5);  // a (3, 4) array stored [4][3]
  tcc::Graph g;
  auto a = g.input("a", tcc::f32, {3, 4}, {1, 3});
  auto out = g.compile({tcc::transpose(a, std::vector<int64_t>{1, 0})})({{"a", Tensor::borrow(tcc::f32, {12}, memory.data(), nullptr)}});
  ASSERT_EQ(out[0].shape(), (Shape{4, 3}));
  EXPECT_NE(out[0].data(), static_cast<void*>(memory.data()));
  EXPECT_EQ(out[0].to_vector<float>(), memory);  // its transpose is the memory as it is
}

TEST(StridedInput, BatchDotOverAPermutedBatch) {
  // x: (b, i, j) stored [i][b][j]; y dense (b, j, k).
  const int64_t B = 6, I = 4, J = 5, K = 3;
  std::vector<float> x = random_floats(B * I * J, 6), y = random_floats(B * J * K, 8);
  tcc::Graph g;
  auto xv = g.input("x", tcc::f32, {B, I, J}, {J, B * J, 1});
  auto yv = g.input("y", tcc::f32, {B, J, K});
  auto out = g.compile({tcc::batch_dot(xv, yv, tcc::Axes::list({tcc::Axes(2), tcc::Axes(1)}))})
                 ({{"x", Tensor::borrow(tcc::f32, {B * I * J}, x.data(), nullptr)}, {"y", Tensor::from({B, J, K}, y)}});
  ASSERT_EQ(out[0].shape(), (Shape{B, I, K}));
  const std::vector<float> got = out[0].to_vector<float>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < I; ++i)
      for (int64_t k = 0; k < K; ++k) {
        double want = 0;
        for (int64_t j = 0; j < J; ++j) want += double(x[i * B * J + b * J + j]) * y[(b * J + j) * K + k];
        EXPECT_NEAR(got[(b * I + i) * K + k], want, 1e-5);
      }
}

TEST(StridedInput, BadStridesAndFeedsAreRefused) {
  tcc::Graph g;
  EXPECT_THROW(g.input("r", tcc::f32, {3, 4}, {1}), tcc::ShapeError);
  EXPECT_THROW(g.input("o", tcc::f32, {3, INT64_MAX / 2}, {INT64_MAX / 2, 4}), tcc::ShapeError);
  EXPECT_THROW(g.input("s", tcc::f32, {tcc::dim("N"), 4}, {4, 1}), tcc::ArgumentError);
  auto a = g.input("a", tcc::f32, {3, 4}, {8, 1});
  auto fn = g.compile({tcc::matmul(a, g.input("b", tcc::f32, {4, 2}))});
  try {
    fn({{"a", Tensor(tcc::f32, {3, 4})}, {"b", Tensor(tcc::f32, {4, 2})}});
    FAIL() << "a feed of the view's shape accepted for a strided input";
  } catch (const tcc::InputError& e) {
    EXPECT_STREQ(e.what(), "input 'a': expected f32[20] (the elements of a view f32[3,4] with strides (8, 1)), got f32[3,4]");
  }
  EXPECT_EQ(tcc::checked_span({3, 0}, {8, 1}), 0);
  EXPECT_EQ(tcc::checked_span({}, {}), 1);
}

}  // namespace
