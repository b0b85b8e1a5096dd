// Checks the reference evaluator itself against results worked out by hand on small integer
// matrices, so that the differential tests rest on something independently verified.
#include "support/reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

namespace {

using tcc::Axes;
using tcc::MatmulFlags;
using tcc::Shape;
using tcc::ref::RefTensor;
namespace ref = tcc::ref;

RefTensor I64(Shape s, std::vector<int64_t> v) { return ref::make_ints(tcc::i64, std::move(s), v); }
RefTensor I32(Shape s, std::vector<int64_t> v) { return ref::make_ints(tcc::i32, std::move(s), v); }
RefTensor F64(Shape s, std::vector<double> v) { return ref::make_floats(tcc::f64, std::move(s), v); }
RefTensor F32(Shape s, std::vector<double> v) { return ref::make_floats(tcc::f32, std::move(s), v); }

// Every element of `r` as a wrapped integer.
std::vector<int64_t> ints(const RefTensor& r) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < r.numel(); ++i) v.push_back(ref::int_at(r, i));
  return v;
}

void expect(const RefTensor& r, const Shape& shape, const std::vector<int64_t>& values) {
  EXPECT_EQ(r.shape, shape) << "got shape " << ref::shape_text(r.shape);
  EXPECT_EQ(ints(r), values);
}

const RefTensor A22 = I64({2, 2}, {1, 2, 3, 4});
const RefTensor B22 = I64({2, 2}, {5, 6, 7, 8});
const RefTensor A23 = I64({2, 3}, {1, 2, 3, 4, 5, 6});

// ---- dot ----

TEST(Reference, DotMatrixMatrix) {
  expect(ref::dot(A23, I64({3, 2}, {7, 8, 9, 10, 11, 12})), {2, 2}, {58, 64, 139, 154});
}

TEST(Reference, DotScalarBroadcasts) {
  expect(ref::dot(I64({}, {3}), A22), {2, 2}, {3, 6, 9, 12});
  expect(ref::dot(A22, I64({}, {-1})), {2, 2}, {-1, -2, -3, -4});
  expect(ref::dot(I64({}, {3}), I64({}, {5})), {}, {15});
}

TEST(Reference, DotVectors) {
  expect(ref::dot(I64({3}, {1, 2, 3}), I64({3}, {4, 5, 6})), {}, {32});
  expect(ref::dot(A23, I64({3}, {1, 0, -1})), {2}, {-2, -2});
  expect(ref::dot(I64({2}, {1, 2}), A23), {3}, {9, 12, 15});
  // 1-D . 3-D contracts y[-2]: out[j,k] = sum_r x[r] y[j,r,k].
  expect(ref::dot(I64({2}, {1, 1}), I64({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})), {2, 2}, {4, 6, 12, 14});
}

TEST(Reference, DotHigherRanksConcatenateLeadingDims) {
  // out[0,i,j,0] = sum_r x[0,i,r] y[j,r,0]; y[0] picks column 0 of x, y[1] twice column 1.
  expect(ref::dot(I64({1, 2, 2}, {1, 2, 3, 4}), I64({2, 2, 1}, {1, 0, 0, 2})), {1, 2, 2, 1}, {1, 4, 3, 8});
  EXPECT_EQ(ref::dot(F32({1, 2, 3, 4}, std::vector<double>(24, 1)), F32({8, 7, 4, 5}, std::vector<double>(1120, 1))).shape,
            (Shape{1, 2, 3, 8, 7, 5}));
  EXPECT_EQ(ref::dot(F32({2, 3, 4}, std::vector<double>(24, 1)), F32({7, 4, 5}, std::vector<double>(140, 1))).shape,
            (Shape{2, 3, 7, 5}));
  EXPECT_EQ(ref::dot(F32({1, 2, 4}, std::vector<double>(8, 1)), F32({8, 7, 4, 5}, std::vector<double>(1120, 1))).shape,
            (Shape{1, 2, 8, 7, 5}));
}

TEST(Reference, DotRejectsMismatchAndMixedDtypes) {
  EXPECT_THROW(ref::dot(F32({3, 4, 5, 2}, std::vector<double>(120)), F32({2, 5, 3, 7}, std::vector<double>(210))),
               tcc::ShapeError);
  EXPECT_THROW(ref::dot(I64({3}, {1, 2, 3}), I64({2}, {1, 2})), tcc::ShapeError);
  EXPECT_THROW(ref::dot(I64({2}, {1, 2}), I32({2}, {1, 2})), tcc::DTypeError);
}

TEST(Reference, DotZeroSizeContractionGivesZeros) {
  RefTensor r = ref::dot(F64({2, 0}, {}), F64({0, 3}, {}));
  EXPECT_EQ(r.shape, (Shape{2, 3}));
  for (double v : r.values) EXPECT_EQ(v, 0.0);
  expect(ref::dot(I64({2, 0}, {}), I64({0, 3}, {})), {2, 3}, {0, 0, 0, 0, 0, 0});
}

// ---- matmul ----

TEST(Reference, MatmulFlags) {
  expect(ref::matmul(A22, B22), {2, 2}, {19, 22, 43, 50});
  MatmulFlags ta;
  ta.transpose_a = true;
  expect(ref::matmul(A22, B22, ta), {2, 2}, {26, 30, 38, 44});
  MatmulFlags tb;
  tb.transpose_b = true;
  expect(ref::matmul(A22, B22, tb), {2, 2}, {17, 23, 39, 53});
  MatmulFlags both;
  both.adjoint_a = true;
  both.adjoint_b = true;
  expect(ref::matmul(A22, B22, both), {2, 2}, {23, 31, 34, 46});
  // Non-square: a^T (3,2) times b (2,1).
  expect(ref::matmul(A23, I64({2, 1}, {1, 1}), ta), {3, 1}, {5, 7, 9});
  MatmulFlags bad;
  bad.transpose_a = true;
  bad.adjoint_a = true;
  EXPECT_THROW(ref::matmul(A22, B22, bad), tcc::Error);
}

TEST(Reference, MatmulBroadcastsBatchDims) {
  // a[i,0] = (i+1) * I, b[j] = [[1,j],[0,1]]: out[i,j] = (i+1) * b[j].
  RefTensor a = I64({2, 1, 2, 2}, {1, 0, 0, 1, 2, 0, 0, 2});
  RefTensor b = I64({3, 2, 2}, {1, 0, 0, 1, 1, 1, 0, 1, 1, 2, 0, 1});
  expect(ref::matmul(a, b), {2, 3, 2, 2}, {1, 0, 0, 1, 1, 1, 0, 1, 1, 2, 0, 1, 2, 0, 0, 2, 2, 2, 0, 2, 2, 4, 0, 2});
  // A rank-2 operand broadcasts against every batch.
  expect(ref::matmul(b, I64({2, 1}, {1, 1})), {3, 2, 1}, {1, 1, 2, 1, 3, 1});
}

TEST(Reference, MatmulErrors) {
  EXPECT_THROW(ref::matmul(A23, A23), tcc::ShapeError);
  EXPECT_THROW(ref::matmul(I64({2, 2, 2}, std::vector<int64_t>(8)), I64({3, 2, 2}, std::vector<int64_t>(12))),
               tcc::ShapeError);
  EXPECT_THROW(ref::matmul(I64({2}, {1, 2}), A22), tcc::ShapeError);
}

TEST(Reference, NumpyMatmulPromotesVectors) {
  expect(ref::np_matmul(I64({3}, {1, 2, 3}), I64({3}, {4, 5, 6})), {}, {32});
  expect(ref::np_matmul(I64({2}, {1, 1}), I64({3, 2, 2}, {1, 0, 0, 1, 1, 1, 0, 1, 1, 2, 0, 1})), {3, 2},
         {1, 1, 1, 2, 1, 3});
  expect(ref::np_matmul(A22, I64({2}, {1, 1})), {2}, {3, 7});
  expect(ref::np_matmul(A22, B22), {2, 2}, {19, 22, 43, 50});
  EXPECT_THROW(ref::np_matmul(I64({}, {1}), A22), tcc::ShapeError);
  EXPECT_THROW(ref::np_matmul(I64({3}, {1, 2, 3}), A22), tcc::ShapeError);
}

// ---- tensordot ----

TEST(Reference, TensordotIntForm) {
  expect(ref::tensordot(A22, B22, 1), {2, 2}, {19, 22, 43, 50});
  expect(ref::tensordot(I64({2}, {1, 2}), I64({3}, {3, 4, 5}), 0), {2, 3}, {3, 4, 5, 6, 8, 10});
  expect(ref::tensordot(A22, B22, 2), {}, {70});
  EXPECT_EQ(ref::tensordot(F32({3, 4, 5}, std::vector<double>(60)), F32({4, 5, 6}, std::vector<double>(120))).shape,
            (Shape{3, 6}));
  EXPECT_THROW(ref::tensordot(A22, B22, 3), tcc::ShapeError);
  EXPECT_THROW(ref::tensordot(A22, B22, -1), tcc::ShapeError);
  EXPECT_THROW(ref::tensordot(A23, A23, 1), tcc::ShapeError);
}

TEST(Reference, TensordotPairForm) {
  expect(ref::tensordot(A22, B22, Axes{{0}, {0}}), {2, 2}, {26, 30, 38, 44});
  expect(ref::tensordot(A22, B22, Axes{1, 1}), {2, 2}, {17, 23, 39, 53});
  // sum_ij x[i,j] y[j,i] = 1*5 + 2*7 + 3*6 + 4*8.
  expect(ref::tensordot(A22, B22, Axes{{0, 1}, {1, 0}}), {}, {69});
  expect(ref::tensordot(A22, B22, Axes{{-1}, {-2}}), {2, 2}, {19, 22, 43, 50});
  // Remaining axes: x's in order, then y's: (2,3) x (3,2,1) over (1)/(0) -> (2,2,1).
  expect(ref::tensordot(A23, I64({3, 2, 1}, {1, 0, 0, 1, 1, 1}), Axes{{1}, {0}}), {2, 2, 1}, {4, 5, 10, 11});
  EXPECT_THROW(ref::tensordot(A22, B22, Axes{{0, 0}, {0, 1}}), tcc::ShapeError);
  EXPECT_THROW(ref::tensordot(A22, B22, Axes{{0, 1}, {0}}), tcc::ShapeError);
  EXPECT_THROW(ref::tensordot(A22, B22, Axes{{2}, {0}}), tcc::ShapeError);
  EXPECT_THROW(ref::tensordot(A23, A23, Axes{{1}, {0}}), tcc::ShapeError);
}

// ---- einsum ----

TEST(Reference, EinsumBasics) {
  expect(ref::einsum("ij,jk->ik", {A22, B22}), {2, 2}, {19, 22, 43, 50});
  expect(ref::einsum("ij, jk -> ik", {A22, B22}), {2, 2}, {19, 22, 43, 50});
  expect(ref::einsum("ii->", {A22}), {}, {5});
  expect(ref::einsum("ii->i", {A22}), {2}, {1, 4});
  expect(ref::einsum("i,j->ij", {I64({2}, {1, 2}), I64({3}, {3, 4, 5})}), {2, 3}, {3, 4, 5, 6, 8, 10});
  expect(ref::einsum("ij->ji", {A23}), {3, 2}, {1, 4, 2, 5, 3, 6});
  expect(ref::einsum("ij->", {A23}), {}, {21});
  expect(ref::einsum("bij,bjk->bik", {I64({2, 2, 2}, {1, 2, 3, 4, 1, 0, 0, 1}), I64({2, 2, 2}, {5, 6, 7, 8, 1, 2, 3, 4})}),
         {2, 2, 2}, {19, 22, 43, 50, 1, 2, 3, 4});
}

TEST(Reference, EinsumImplicitOutput) {
  expect(ref::einsum("ij,jk", {A22, B22}), {2, 2}, {19, 22, 43, 50});
  expect(ref::einsum("ba", {A22}), {2, 2}, {1, 3, 2, 4});   // output "ab"
  expect(ref::einsum("aB", {A22}), {2, 2}, {1, 3, 2, 4});   // output "Ba": uppercase first
  expect(ref::einsum("ii", {A22}), {}, {5});                // a repeated label is summed
  expect(ref::einsum("...i,...i", {A22, B22}), {2}, {17, 53});
}

TEST(Reference, EinsumEllipsisAndBroadcasting) {
  // The (1,2,2) operand's ellipsis broadcasts against 2 batches.
  RefTensor x = I64({2, 2, 2}, {1, 2, 3, 4, 1, 0, 0, 1});
  RefTensor y = I64({1, 2, 2}, {5, 6, 7, 8});
  expect(ref::einsum("...ij,...jk->...ik", {x, y}), {2, 2, 2}, {19, 22, 43, 50, 5, 6, 7, 8});
  expect(ref::einsum("...ij,jk->...ik", {x, B22}), {2, 2, 2}, {19, 22, 43, 50, 5, 6, 7, 8});
  // Ellipsis in the middle of the output.
  expect(ref::einsum("i...->...i", {A23}), {3, 2}, {1, 4, 2, 5, 3, 6});
  // A size-1 label broadcasts: sum_i x[i] * y[0].
  expect(ref::einsum("i,i->", {I64({3}, {1, 2, 3}), I64({1}, {2})}), {}, {12});
  expect(ref::einsum("ij,ij->ij", {A23, I64({1, 3}, {1, 0, -1})}), {2, 3}, {1, 0, -3, 4, 0, -6});
}

TEST(Reference, EinsumSeveralOperands) {
  expect(ref::einsum("i,i,i->", {I64({3}, {1, 2, 3}), I64({3}, {4, 5, 6}), I64({3}, {1, 1, 2})}), {}, {50});
  // (A B) C with C = I gives A B.
  expect(ref::einsum("ij,jk,kl->il", {A22, B22, I64({2, 2}, {1, 0, 0, 1})}), {2, 2}, {19, 22, 43, 50});
}

TEST(Reference, EinsumErrors) {
  EXPECT_THROW(ref::einsum("ij,jk->ik", {A23, A23}), tcc::ShapeError);
  EXPECT_THROW(ref::einsum("ijk->i", {A22}), tcc::ShapeError);
  EXPECT_THROW(ref::einsum("...i->i", {A23}), tcc::ShapeError);
  EXPECT_THROW(ref::einsum("ij->iz", {A22}), tcc::ShapeError);
  EXPECT_THROW(ref::einsum("ij->ii", {A22}), tcc::ShapeError);
  EXPECT_THROW(ref::einsum("ii->", {A23}), tcc::ShapeError);
  EXPECT_THROW(ref::einsum("i1", {A22}), tcc::ShapeError);
  EXPECT_THROW(ref::einsum("ij,jk", {A22}), tcc::ShapeError);
}

// ---- transpose, reshape ----

TEST(Reference, Transpose) {
  expect(ref::transpose(A23), {3, 2}, {1, 4, 2, 5, 3, 6});
  // out[i,j,k] = x[k,i,j] for perm (2,0,1) ... checked on x = 0..23 of shape (2,3,4).
  std::vector<int64_t> seq(24);
  for (int i = 0; i < 24; ++i) seq[i] = i;
  RefTensor x = I64({2, 3, 4}, seq);
  RefTensor t = ref::transpose(x, std::vector<int64_t>{2, 0, 1});
  EXPECT_EQ(t.shape, (Shape{4, 2, 3}));
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 3; ++k) EXPECT_EQ(ref::int_at(t, (i * 2 + j) * 3 + k), j * 12 + k * 4 + i);
  EXPECT_EQ(ints(ref::transpose(x, std::vector<int64_t>{-1, 0, 1})), ints(t));
  EXPECT_THROW(ref::transpose(x, std::vector<int64_t>{0, 1}), tcc::ShapeError);
  EXPECT_THROW(ref::transpose(x, std::vector<int64_t>{0, 1, 1}), tcc::ShapeError);
  EXPECT_THROW(ref::transpose(x, std::vector<int64_t>{0, 1, 3}), tcc::ShapeError);
}

TEST(Reference, Reshape) {
  expect(ref::reshape(A23, {3, 2}), {3, 2}, {1, 2, 3, 4, 5, 6});
  expect(ref::reshape(A23, {-1}), {6}, {1, 2, 3, 4, 5, 6});
  expect(ref::reshape(A23, {1, -1, 2}), {1, 3, 2}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(ref::reshape(F32({0, 4}, {}), {2, 0, 3}).shape, (Shape{2, 0, 3}));
  EXPECT_THROW(ref::reshape(A23, {4, 2}), tcc::ShapeError);
  EXPECT_THROW(ref::reshape(A23, {-1, -1}), tcc::ShapeError);
  EXPECT_THROW(ref::reshape(A23, {4, -1}), tcc::ShapeError);
}

// ---- batch_dot ----

TEST(Reference, BatchDotModern) {
  RefTensor x = I64({2, 2, 2}, {1, 2, 3, 4, 1, 0, 0, 1});
  RefTensor y = I64({2, 2, 2}, {5, 6, 7, 8, 1, 2, 3, 4});
  expect(ref::batch_dot(x, y), {2, 2, 2}, {19, 22, 43, 50, 1, 2, 3, 4});
  // Rank 2: per-batch inner product, then (batch, 1).
  expect(ref::batch_dot(A23, I64({2, 3}, {1, 1, 1, 1, 0, 1})), {2, 1}, {6, 10});
  // axes=1 on rank 3: out[b,i,j] = sum_k x[b,k,i] y[b,k,j].
  expect(ref::batch_dot(x, y, 1), {2, 2, 2}, {26, 30, 38, 44, 1, 2, 3, 4});
  expect(ref::batch_dot(x, y, Axes{2, 2}), {2, 2, 2}, {17, 23, 39, 53, 1, 3, 2, 4});
  expect(ref::batch_dot(x, y, Axes{-1, -1}), {2, 2, 2}, {17, 23, 39, 53, 1, 3, 2, 4});
}

TEST(Reference, BatchDotModernSeedShapes) {
  auto zeros = [](Shape s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return F32(s, std::vector<double>(n));
  };
  EXPECT_EQ(ref::batch_dot(zeros({10, 12, 4, 5}), zeros({10, 12, 5, 8})).shape, (Shape{10, 12, 4, 12, 8}));
  EXPECT_EQ(ref::batch_dot(zeros({9, 8, 7, 4, 2}), zeros({9, 8, 7, 2, 5})).shape, (Shape{9, 8, 7, 4, 8, 7, 5}));
  EXPECT_EQ(ref::batch_dot(zeros({32, 10, 5}), zeros({32, 5})).shape, (Shape{32, 10}));
  // Per batch, out[b] = tensordot(x[b], y[b], axes=(a0-1, a1-1)): out[b,i,j,k,l] = sum_r x[b,i,j,r] y[b,k,r,l].
  std::vector<int64_t> xs(2 * 2 * 1 * 3), ys(2 * 2 * 3 * 2);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<int64_t>(i) - 3;
  for (size_t i = 0; i < ys.size(); ++i) ys[i] = static_cast<int64_t>(i * i % 7);
  RefTensor x = I64({2, 2, 1, 3}, xs), y = I64({2, 2, 3, 2}, ys);
  RefTensor out = ref::batch_dot(x, y);
  ASSERT_EQ(out.shape, (Shape{2, 2, 1, 2, 2}));
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 2; ++i)
      for (int k = 0; k < 2; ++k)
        for (int l = 0; l < 2; ++l) {
          int64_t want = 0;
          for (int r = 0; r < 3; ++r) want += xs[(b * 2 + i) * 3 + r] * ys[((b * 2 + k) * 3 + r) * 2 + l];
          EXPECT_EQ(ref::int_at(out, ((b * 2 + i) * 2 + k) * 2 + l), want);
        }
}

TEST(Reference, BatchDotModernErrors) {
  RefTensor x = I64({2, 2, 2}, std::vector<int64_t>(8));
  EXPECT_THROW(ref::batch_dot(x, I64({1, 2, 2}, std::vector<int64_t>(4))), tcc::ShapeError);  // 1 does not broadcast
  EXPECT_THROW(ref::batch_dot(x, x, 0), tcc::ShapeError);
  EXPECT_THROW(ref::batch_dot(x, x, 3), tcc::ShapeError);
  EXPECT_THROW(ref::batch_dot(x, I64({2}, {1, 2})), tcc::ShapeError);
  EXPECT_THROW(ref::batch_dot(x, x, Axes{{1, 2}, {1, 2}}), tcc::ShapeError);
  EXPECT_THROW(ref::batch_dot(x, I64({2, 3, 2}, std::vector<int64_t>(12)), 1), tcc::ShapeError);
}

TEST(Reference, BatchDotLegacy) {
  RefTensor x = I64({2, 2, 2}, {1, 2, 3, 4, 1, 0, 0, 1});
  RefTensor y = I64({2, 2, 2}, {5, 6, 7, 8, 1, 2, 3, 4});
  expect(ref::batch_dot(x, y, {}, true), {2, 2, 2}, {19, 22, 43, 50, 1, 2, 3, 4});
  // axes (1,1): adjoint_a -> x^T y per batch.
  expect(ref::batch_dot(x, y, 1, true), {2, 2, 2}, {26, 30, 38, 44, 1, 2, 3, 4});
  // axes (2,2): adjoint_b -> x y^T per batch.
  expect(ref::batch_dot(x, y, 2, true), {2, 2, 2}, {17, 23, 39, 53, 1, 3, 2, 4});
  // (2,3,2) . (2,2), default axes (2,0): y padded to (2,2,1), matmul, squeeze -> (2,3).
  expect(ref::batch_dot(I64({2, 3, 2}, {1, 2, 3, 4, 5, 6, 1, 0, 0, 1, 1, 1}), I64({2, 2}, {1, 1, 2, 3}), {}, true),
         {2, 3}, {3, 7, 11, 2, 3, 5});
  // (2,2) . (2,2,3), default axes (1,1): x padded to (2,2,1) and adjoint -> out[b,j] = sum_k x[b,k] y[b,k,j].
  expect(ref::batch_dot(I64({2, 2}, {1, 2, 0, 1}), I64({2, 2, 3}, {1, 2, 3, 4, 5, 6, 1, 1, 1, 2, 2, 2}), {}, true),
         {2, 3}, {9, 12, 15, 2, 2, 2});
  // Rank 2: sum(x * y, axis=1), then (batch, 1).
  expect(ref::batch_dot(A23, I64({2, 3}, {1, 1, 1, 1, 0, 1}), 1, true), {2, 1}, {6, 10});
}

TEST(Reference, BatchDotLegacySeedShapes) {
  auto zeros = [](Shape s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return F32(s, std::vector<double>(n));
  };
  EXPECT_EQ(ref::batch_dot(zeros({10, 12, 4, 5}), zeros({10, 12, 5, 8}), {}, true).shape, (Shape{10, 12, 4, 8}));
  EXPECT_EQ(ref::batch_dot(zeros({9, 8, 7, 4, 2}), zeros({9, 8, 7, 2, 5}), {}, true).shape, (Shape{9, 8, 7, 4, 5}));
  EXPECT_EQ(ref::batch_dot(zeros({32, 10, 5}), zeros({32, 5}), {}, true).shape, (Shape{32, 10}));
  // Legacy never broadcasts batch dims.
  EXPECT_THROW(ref::batch_dot(zeros({2, 3, 4, 5}), zeros({2, 1, 5, 6}), {}, true), tcc::ShapeError);
  // The legacy seed values equal matmul.
  RefTensor x = I64({2, 1, 2, 2}, {1, 2, 3, 4, 2, 0, 0, 2});
  RefTensor y = I64({2, 1, 2, 2}, {5, 6, 7, 8, 1, 2, 3, 4});
  EXPECT_EQ(ints(ref::batch_dot(x, y, {}, true)), ints(ref::matmul(x, y)));
}

// ---- integer wrap-around ----

TEST(Reference, IntegerProductsWrapLikeNumpy) {
  expect(ref::dot(I32({1}, {65536}), I32({1}, {65536})), {}, {0});
  expect(ref::dot(I32({1}, {2147483647}), I32({1}, {2})), {}, {-2});
  expect(ref::dot(I32({1}, {46341}), I32({1}, {46341})), {}, {-2147479015});
  expect(ref::dot(I32({2}, {2147483647, 1}), I32({2}, {1, 1})), {}, {-2147483648LL});
  expect(ref::dot(I64({1}, {int64_t{1} << 62}), I64({1}, {4})), {}, {0});
  const int64_t big = std::numeric_limits<int64_t>::max();
  expect(ref::dot(I64({1}, {big}), I64({1}, {big})), {}, {1});  // (2^63-1)^2 = 1 mod 2^64
  expect(ref::matmul(I32({1, 2}, {-2147483647 - 1, -1}), I32({2, 1}, {-1, -1})), {1, 1}, {-2147483647});
  // An i32 value is wrapped when converted to a tensor, too.
  tcc::Tensor t = ref::to_tensor(ref::dot(I32({1}, {65537}), I32({1}, {65537})));
  EXPECT_EQ(t.to_vector<int32_t>(), std::vector<int32_t>{131073});
}

// ---- conversions and comparison ----

TEST(Reference, TensorRoundTrip) {
  tcc::Tensor f = tcc::Tensor::from<float>({2, 2}, {1.5f, -2.f, 3.25f, 0.f});
  RefTensor r = ref::from_tensor(f);
  EXPECT_EQ(r.values, (std::vector<double>{1.5, -2, 3.25, 0}));
  EXPECT_EQ(r.magnitudes, (std::vector<double>{1.5, 2, 3.25, 0}));
  EXPECT_EQ(ref::to_tensor(r).to_vector<float>(), f.to_vector<float>());
  tcc::Tensor i = tcc::Tensor::from<int32_t>({3}, {-1, 7, std::numeric_limits<int32_t>::min()});
  EXPECT_EQ(ref::to_tensor(ref::from_tensor(i)).to_vector<int32_t>(), i.to_vector<int32_t>());
  tcc::Tensor l = tcc::Tensor::from<int64_t>({2}, {-5, std::numeric_limits<int64_t>::min()});
  EXPECT_EQ(ref::to_tensor(ref::from_tensor(l)).to_vector<int64_t>(), l.to_vector<int64_t>());
  tcc::Tensor d = tcc::Tensor::from<double>({}, {0.1});
  EXPECT_EQ(ref::to_tensor(ref::from_tensor(d)).to_vector<double>(), d.to_vector<double>());
}

TEST(Reference, CompareUsesPerElementMagnitudes) {
  // 1e8 + 1 - 1e8 in f32 may come out as 0: the error (1) is within eps * sum|terms|.
  RefTensor r = ref::dot(F32({3}, {1e8, 1, -1e8}), F32({3}, {1, 1, 1}));
  EXPECT_EQ(r.values[0], 1.0);
  EXPECT_TRUE(ref::compare(tcc::Tensor::from<float>({}, {0.f}), r).ok);
  EXPECT_FALSE(ref::compare(tcc::Tensor::from<float>({}, {1000.f}), r).ok);
  // Without cancellation the bound is tight: 1 ulp-ish passes, 1% does not.
  RefTensor s = ref::dot(F32({2}, {1, 2}), F32({2}, {3, 4}));
  EXPECT_TRUE(ref::compare(tcc::Tensor::from<float>({}, {11.f}), s).ok);
  EXPECT_TRUE(ref::compare(tcc::Tensor::from<float>({}, {std::nextafter(11.f, 12.f)}), s).ok);
  EXPECT_FALSE(ref::compare(tcc::Tensor::from<float>({}, {11.11f}), s).ok);
  // Zero-size contractions must give exact zeros.
  RefTensor z = ref::dot(F64({2, 0}, {}), F64({0, 1}, {}));
  EXPECT_TRUE(ref::compare(tcc::Tensor(tcc::f64, {2, 1}), z).ok);
  EXPECT_FALSE(ref::compare(tcc::Tensor::from<double>({2, 1}, {0, 1e-300}), z).ok);
  // NaN never matches.
  EXPECT_FALSE(ref::compare(tcc::Tensor::from<float>({}, {NAN}), s).ok);
  // Integers are exact; dtype and shape must agree.
  RefTensor k = ref::dot(I32({2}, {1, 2}), I32({2}, {3, 4}));
  EXPECT_TRUE(ref::compare(tcc::Tensor::from<int32_t>({}, {11}), k).ok);
  EXPECT_FALSE(ref::compare(tcc::Tensor::from<int32_t>({}, {12}), k).ok);
  EXPECT_FALSE(ref::compare(tcc::Tensor::from<int64_t>({}, {11}), k).ok);
  EXPECT_FALSE(ref::compare(tcc::Tensor::from<int32_t>({1}, {11}), k).ok);
}

}  // namespace
