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


// ---- element-wise functions, reductions, softmax, bias_add ----

std::vector<double> floats(const RefTensor& r) {
  std::vector<double> v;
  for (int64_t i = 0; i < r.numel(); ++i) v.push_back(ref::float_at(r, i));
  return v;
}

TEST(Reference, ElementwiseBroadcastsAsNumpy) {
  RefTensor s = ref::elementwise("add", {F64({2, 1}, {10, 20}), F64({3}, {1, 2, 3})});
  EXPECT_EQ(s.shape, (Shape{2, 3}));
  EXPECT_EQ(floats(s), (std::vector<double>{11, 12, 13, 21, 22, 23}));
  expect(ref::elementwise("multiply", {I64({2, 2}, {1, 2, 3, 4}), ref::scalar(tcc::i64, -3)}), {2, 2}, {-3, -6, -9, -12});
  expect(ref::elementwise("subtract", {ref::scalar(tcc::i64, 1), I64({0, 3}, {})}), {0, 3}, {});
  EXPECT_THROW(ref::elementwise("add", {F64({2, 3}, {1, 2, 3, 4, 5, 6}), F64({2}, {1, 2})}), tcc::ShapeError);
  EXPECT_THROW(ref::elementwise("add", {F64({2}, {1, 2}), F32({2}, {1, 2})}), tcc::DTypeError);
  EXPECT_THROW(ref::elementwise("cube", {F64({1}, {1})}), tcc::ArgumentError);
  EXPECT_THROW(ref::elementwise("exp", {F64({1}, {1}), F64({1}, {1})}), tcc::ArgumentError);
  EXPECT_THROW(ref::scalar(tcc::i32, 2.5), tcc::ArgumentError);
  EXPECT_THROW(ref::scalar(tcc::i32, 2147483648.0), tcc::ArgumentError);
}

TEST(Reference, ElementwiseIntegersWrapAndRefuseFloatFunctions) {
  const int64_t lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  const RefTensor x = I32({4}, {lo, hi, -5, 65536});
  expect(ref::elementwise("add", {x, ref::scalar(tcc::i32, 1)}), {4}, {lo + 1, lo, -4, 65537});
  expect(ref::elementwise("abs", {x}), {4}, {lo, hi, 5, 65536});
  expect(ref::elementwise("neg", {x}), {4}, {lo, -hi, 5, -65536});
  expect(ref::elementwise("square", {x}), {4}, {0, 1, 25, 0});
  expect(ref::elementwise("relu", {x}), {4}, {0, hi, 0, 65536});
  // maximum compares the wrapped values: hi + 1 is the least i32.
  expect(ref::elementwise("maximum", {ref::elementwise("add", {x, ref::scalar(tcc::i32, 1)}), ref::scalar(tcc::i32, 0)}),
         {4}, {0, 0, 0, 65537});
  expect(ref::elementwise("multiply", {I64({1}, {std::numeric_limits<int64_t>::max()}), ref::scalar(tcc::i64, 2)}), {1}, {-2});
  for (const char* f : {"sqrt", "rsqrt", "exp", "log", "tanh", "sigmoid", "gelu", "gelu_tanh"})
    EXPECT_THROW(ref::elementwise(f, {x}), tcc::DTypeError) << f;
  EXPECT_THROW(ref::elementwise("divide", {x, x}), tcc::DTypeError);
  EXPECT_THROW(ref::elementwise("pow", {x, x}), tcc::DTypeError);
}

TEST(Reference, ElementwiseFloatMeanings) {
  const RefTensor x = F64({4}, {-2, 0, 0.5, 3});
  auto near = [](const RefTensor& r, const std::vector<double>& want) {
    ASSERT_EQ(r.numel(), static_cast<int64_t>(want.size()));
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(ref::float_at(r, i), want[i], 1e-12) << i;
  };
  near(ref::elementwise("sigmoid", {x}), {1 / (1 + std::exp(2.0)), 0.5, 1 / (1 + std::exp(-0.5)), 1 / (1 + std::exp(-3.0))});
  near(ref::elementwise("rsqrt", {F64({2}, {4, 0.25})}), {0.5, 2});
  // gelu(x) = x Phi(x); its tanh form is within 1e-3 of it.
  near(ref::elementwise("gelu", {x}), {-2 * 0.022750131948179, 0, 0.5 * 0.691462461274013, 3 * 0.998650101968370});
  const RefTensor g = ref::elementwise("gelu", {x}), gt = ref::elementwise("gelu_tanh", {x});
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(ref::float_at(gt, i), ref::float_at(g, i), 1e-3);
  near(ref::elementwise("pow", {F64({3}, {2, 9, 0}), F64({3}, {10, 0.5, 0})}), {1024, 3, 1});
}

TEST(Reference, NaNAndInfinitiesAreExactAndPropagate) {
  const RefTensor x = F32({5}, {NAN, INFINITY, -INFINITY, 0, -1});
  const RefTensor m = ref::elementwise("maximum", {x, ref::scalar(tcc::f32, 1)});
  EXPECT_TRUE(std::isnan(m.values[0]));
  EXPECT_EQ(m.values[1], INFINITY);
  EXPECT_EQ(m.values[2], 1);
  EXPECT_TRUE(std::isnan(ref::elementwise("relu", {x}).values[0]));
  const RefTensor l = ref::elementwise("log", {x});
  EXPECT_EQ(l.values[3], -INFINITY);
  EXPECT_TRUE(std::isnan(l.values[4]));
  // NaN and inf compare exactly: the same NaN or the same infinity.
  EXPECT_TRUE(ref::compare(tcc::Tensor::from<float>({5}, {NAN, INFINITY, NAN, -INFINITY, NAN}), l).ok);
  EXPECT_FALSE(ref::compare(tcc::Tensor::from<float>({5}, {NAN, INFINITY, NAN, -INFINITY, 0}), l).ok);
  EXPECT_FALSE(ref::compare(tcc::Tensor::from<float>({5}, {NAN, -INFINITY, NAN, -INFINITY, NAN}), l).ok);
  EXPECT_FALSE(ref::compare(tcc::Tensor::from<float>({5}, {NAN, INFINITY, NAN, -3e38f, NAN}), l).ok);
  // max of a row with a NaN is NaN; an axis of size 0 has no max.
  const RefTensor r = ref::max(F64({2, 2}, {1, NAN, 3, 2}), Axes(1));
  EXPECT_TRUE(std::isnan(r.values[0]));
  EXPECT_EQ(r.values[1], 3);
  EXPECT_THROW(ref::max(F64({2, 0}, {}), Axes(1)), tcc::ShapeError);
  EXPECT_EQ(ref::max(F64({0, 2}, {}), Axes(1)).shape, (Shape{0}));
  // x / 0 of exact zeros; 0 / 0 and the mean of nothing are NaN.
  const RefTensor d = ref::elementwise("divide", {F64({3}, {1, -1, 0}), F64({1}, {0})});
  EXPECT_EQ(d.values[0], INFINITY);
  EXPECT_EQ(d.values[1], -INFINITY);
  EXPECT_TRUE(std::isnan(d.values[2]));
  EXPECT_TRUE(std::isnan(ref::mean(F64({2, 0}, {}), Axes(1)).values[0]));
}

TEST(Reference, IllConditionedElementsAreUnknown) {
  // 1e8 + 1 - 1e8 in f32 is 1 give or take about 20: log, 1 / x and sqrt of it may be anything
  // from NaN to a number, so the reference does not say.
  const RefTensor x = ref::dot(F32({3}, {1e8, 1, -1e8}), F32({3}, {1, 1, 1}));
  for (const char* f : {"log", "sqrt", "rsqrt"}) {
    const RefTensor r = ref::elementwise(f, {x});
    EXPECT_TRUE(std::isnan(r.magnitudes[0])) << f;
    ref::Comparison c = ref::compare(tcc::Tensor::from<float>({}, {NAN}), r);
    EXPECT_TRUE(c.ok) << f;
    EXPECT_EQ(c.unchecked, 1) << f;
  }
  const RefTensor q = ref::elementwise("divide", {ref::scalar(tcc::f32, 1), x});
  EXPECT_TRUE(std::isnan(q.magnitudes[0]));
  // Unknown stays unknown through later ops, contractions included.
  EXPECT_TRUE(std::isnan(ref::dot(ref::reshape(q, {1}), F32({1}, {0})).magnitudes[0]));
  // exp of it is known, within a bound that grows with exp's slope: x / 1000 is 0.001 give or
  // take about 0.08.
  const RefTensor e = ref::elementwise("exp", {ref::elementwise("multiply", {x, ref::scalar(tcc::f32, 1e-3)})});
  EXPECT_FALSE(std::isnan(e.magnitudes[0]));
  EXPECT_TRUE(ref::compare(tcc::Tensor::from<float>({}, {1.05f}), e).ok);
  EXPECT_FALSE(ref::compare(tcc::Tensor::from<float>({}, {1.25f}), e).ok);
  // A sum of products that is 0 may be +0 or -0: 1 / it is unknown, 1 / an input's 0 is not.
  const RefTensor z = ref::dot(F32({2}, {1, -1}), F32({2}, {1, 1}));
  EXPECT_TRUE(std::isnan(ref::elementwise("divide", {ref::scalar(tcc::f32, 1), z}).magnitudes[0]));
  EXPECT_EQ(ref::elementwise("divide", {ref::scalar(tcc::f32, 1), F32({}, {-0.0})}).values[0], -INFINITY);
}

TEST(Reference, TranscendentalFunctionsWithinTheirUlps) {
  const RefTensor e = ref::elementwise("exp", {F32({}, {1})});
  const float want = std::exp(1.0f);
  EXPECT_TRUE(ref::compare(tcc::Tensor::from<float>({}, {want}), e).ok);
  float off = want;
  for (int i = 0; i < 10; ++i) off = std::nextafter(off, 10.f);
  EXPECT_TRUE(ref::compare(tcc::Tensor::from<float>({}, {off}), e).ok);  // 10 ulps
  for (int i = 0; i < 40; ++i) off = std::nextafter(off, 10.f);
  EXPECT_FALSE(ref::compare(tcc::Tensor::from<float>({}, {off}), e).ok);  // 50 ulps
  // Exact functions are exact: relu, abs, maximum of inputs allow only the final rounding.
  const RefTensor r = ref::elementwise("relu", {F64({}, {0.1})});
  EXPECT_FALSE(ref::compare(tcc::Tensor::from<double>({}, {std::nextafter(0.1, 1.0)}), r).ok);
}

TEST(Reference, Reductions) {
  const RefTensor x = I64({2, 3}, {1, -2, 3, 4, 5, -6});
  expect(ref::sum(x), {}, {5});
  expect(ref::sum(x, Axes(0)), {3}, {5, 3, -3});
  expect(ref::sum(x, Axes(-1), true), {2, 1}, {2, 3});
  expect(ref::max(x, Axes(1)), {2}, {3, 5});
  expect(ref::min(x, Axes::list({Axes(1), Axes(0)}), true), {1, 1}, {-6});
  expect(ref::sum(x, Axes::list({})), {2, 3}, {1, -2, 3, 4, 5, -6});
  expect(ref::sum(I64({0, 3}, {}), Axes(0)), {3}, {0, 0, 0});
  EXPECT_EQ(floats(ref::mean(F64({2, 3}, {1, 2, 3, 4, 5, 6}), Axes(1))), (std::vector<double>{2, 5}));
  EXPECT_THROW(ref::mean(x), tcc::DTypeError);
  EXPECT_THROW(ref::sum(x, Axes(2)), tcc::ShapeError);
  EXPECT_THROW(ref::sum(x, Axes{Axes(1), Axes(-1)}), tcc::ArgumentError);
  EXPECT_THROW(ref::min(I64({3, 0}, {}), Axes()), tcc::ShapeError);
}

TEST(Reference, SoftmaxAndBiasAdd) {
  const RefTensor s = ref::softmax(F64({2, 2}, {0, std::log(3.0), 1000, 1000}));
  const std::vector<double> v = floats(s);
  EXPECT_NEAR(v[0], 0.25, 1e-15);
  EXPECT_NEAR(v[1], 0.75, 1e-15);
  EXPECT_NEAR(v[2], 0.5, 1e-15);  // no overflow: the row's max is subtracted first
  EXPECT_THROW(ref::softmax(I32({2}, {1, 2})), tcc::DTypeError);
  const RefTensor x = I64({2, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  expect(ref::bias_add(x, I64({3}, {100, 200, 300})), {2, 2, 3}, {101, 202, 303, 104, 205, 306, 107, 208, 309, 110, 211, 312});
  expect(ref::bias_add(x, I64({2, 3}, {0, 0, 0, 1, 1, 1})), {2, 2, 3}, {1, 2, 3, 5, 6, 7, 7, 8, 9, 11, 12, 13});
  EXPECT_THROW(ref::bias_add(x, I64({2}, {1, 2})), tcc::ShapeError);
  EXPECT_THROW(ref::bias_add(x, I64({1, 3}, {1, 2, 3})), tcc::ShapeError);
}

}  // namespace
