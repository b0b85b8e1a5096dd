// The C++ graph API's contract (graph.h / tensor.h): node sharing, laziness, compile and eval,
// constants, re-running with new feeds, feed and build-time errors, and Tensor basics.
// Expected values come from the independent reference evaluator or are worked out by hand.
#include "support/reference.h"

#include <tcc/tcc.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace {

namespace ref = tcc::ref;
using tcc::Shape;
using tcc::Tensor;
using tcc::Value;

Tensor iota_f32(const Shape& shape, float start = 1, float step = 1) {
  Tensor t(tcc::f32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = start + step * static_cast<float>(i);
  return t;
}

void expect_matches(const Tensor& got, const ref::RefTensor& want) {
  ref::Comparison c = ref::compare(got, want);
  EXPECT_TRUE(c.ok) << c.message;
}

// Message check helper: `what` mentions every needle.
void expect_mentions(const std::string& what, std::initializer_list<std::string> needles) {
  for (const std::string& n : needles) EXPECT_NE(what.find(n), std::string::npos) << "'" << n << "' not in: " << what;
}

TEST(GraphApi, IdenticalSubexpressionsAreOneNode) {
  tcc::Graph g;
  Value a = g.input("a", tcc::f32, {3, 4});
  Value b = g.input("b", tcc::f32, {4, 5});
  Value m1 = tcc::matmul(a, b), m2 = tcc::matmul(a, b);
  EXPECT_EQ(m1.id(), m2.id());
  EXPECT_TRUE(m1 == m2);
  EXPECT_EQ(tcc::transpose(m1).id(), tcc::transpose(m2).id());
  EXPECT_EQ(tcc::einsum("ij,jk->ik", {a, b}).id(), tcc::einsum("ij,jk->ik", {a, b}).id());
  // Sharing is recursive: a chain built twice is one chain.
  EXPECT_EQ(tcc::dot(tcc::matmul(a, b), tcc::transpose(b)).id(), tcc::dot(m2, tcc::transpose(b)).id());
  // Different attributes are different nodes.
  tcc::MatmulFlags ta;
  ta.transpose_a = true;
  Value a2 = g.input("a2", tcc::f32, {4, 3});
  EXPECT_NE(tcc::matmul(a2, b, ta).id(), tcc::matmul(a, b).id());
  EXPECT_NE(tcc::einsum("ij,jk->ik", {a, b}).id(), tcc::einsum("ij,jk->ki", {a, b}).id());
  // Same op on different operands differ.
  Value c = g.input("c", tcc::f32, {4, 5});
  EXPECT_NE(tcc::matmul(a, c).id(), m1.id());
  // Two inputs with equal type are different nodes.
  EXPECT_NE(b.id(), c.id());
}

// NumPy's call form, einsum("ij,jk->ik", a, b), is the list form: the same node.
TEST(GraphApi, EinsumTakesOperandsAsArguments) {
  tcc::Graph g;
  Value a = g.input("a", tcc::f32, {3, 4}), b = g.input("b", tcc::f32, {4, 5}), c = g.input("c", tcc::f32, {5, 2});
  EXPECT_EQ(tcc::einsum("ij,jk->ik", a, b).id(), tcc::einsum("ij,jk->ik", {a, b}).id());
  EXPECT_EQ(tcc::einsum("ij,jk,kl->il", a, b, c).shape(), (Shape{3, 2}));
  EXPECT_EQ(tcc::einsum("ij->ji", a).shape(), (Shape{4, 3}));
  EXPECT_THROW(tcc::einsum("ij,jk->ik", a, c), tcc::ShapeError);
}

TEST(GraphApi, BuildingIsLazyAndInfersShapes) {
  tcc::Graph g;
  Value a = g.input("a", tcc::f32, {512, 512});
  const auto start = std::chrono::steady_clock::now();
  Value v = a;
  for (int i = 0; i < 50; ++i) v = tcc::matmul(v, a);  // 50 * 134M multiply-adds if computed
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(secs, 1.0) << "building nodes must not compute anything";
  EXPECT_EQ(v.shape(), (Shape{512, 512}));
  EXPECT_EQ(v.dtype(), tcc::f32);
  EXPECT_EQ(v.rank(), 2);
  EXPECT_TRUE(v.valid());
  EXPECT_FALSE(Value().valid());
  EXPECT_EQ(&v.graph(), &g);
}

TEST(GraphApi, CompileSeveralOutputsWithSharedIntermediates) {
  tcc::Graph g;
  Value a = g.input("a", tcc::f32, {2, 3});
  Value b = g.input("b", tcc::f32, {3, 4});
  Value c = g.input("c", tcc::f32, {4, 2});
  Value ab = tcc::matmul(a, b);                       // shared
  Value abc = tcc::matmul(ab, c);
  Value abt = tcc::transpose(ab);
  Value s = tcc::einsum("ij->", {ab});
  tcc::CompiledGraph fn = g.compile({abc, abt, s, ab});
  ASSERT_EQ(fn.inputs().size(), 3u);
  EXPECT_EQ(fn.inputs()[0].name, "a");
  EXPECT_EQ(fn.inputs()[1].name, "b");
  EXPECT_EQ(fn.inputs()[2].name, "c");
  EXPECT_EQ(fn.inputs()[2].shape, (Shape{4, 2}));
  EXPECT_GE(fn.stats().kernels, 1);
  Tensor at = iota_f32({2, 3}), bt = iota_f32({3, 4}, -3, 0.5f), ct = iota_f32({4, 2}, 2, -1);
  std::vector<Tensor> outs = fn({{"a", at}, {"b", bt}, {"c", ct}});
  ASSERT_EQ(outs.size(), 4u);
  ref::RefTensor rab = ref::matmul(ref::from_tensor(at), ref::from_tensor(bt));
  expect_matches(outs[0], ref::matmul(rab, ref::from_tensor(ct)));
  expect_matches(outs[1], ref::transpose(rab));
  expect_matches(outs[2], ref::einsum("ij->", {rab}));
  expect_matches(outs[3], rab);
  // Hand check of one element: ab[0,0] = 1*-3 + 2*-1 + 3*1 = -2.
  EXPECT_FLOAT_EQ(outs[3].data_as<float>()[0], -2.0f);
}

TEST(GraphApi, CompiledGraphListsOnlyTheInputsItNeeds) {
  tcc::Graph g;
  Value a = g.input("a", tcc::i32, {2, 2});
  g.input("unused", tcc::i32, {7});
  Value b = g.input("b", tcc::i32, {2, 2});
  tcc::CompiledGraph fn = g.compile({tcc::matmul(b, a)});
  ASSERT_EQ(fn.inputs().size(), 2u);
  EXPECT_EQ(fn.inputs()[0].name, "a");  // declaration order
  EXPECT_EQ(fn.inputs()[1].name, "b");
  EXPECT_EQ(g.inputs().size(), 3u);
  std::vector<Tensor> r = fn({{"a", Tensor::from<int32_t>({2, 2}, {1, 2, 3, 4})}, {"b", Tensor::from<int32_t>({2, 2}, {5, 6, 7, 8})}});
  // b @ a = [[5*1+6*3, 5*2+6*4], [7*1+8*3, 7*2+8*4]]
  EXPECT_EQ(r[0].to_vector<int32_t>(), (std::vector<int32_t>{23, 34, 31, 46}));
}

TEST(GraphApi, EvalComputesOnce) {
  tcc::Graph g;
  Value x = g.input("x", tcc::i64, {3});
  Value y = g.input("y", tcc::i64, {3});
  std::vector<Tensor> r = g.eval({tcc::dot(x, y), tcc::einsum("i,j->ij", {x, y})},
                                 {{"x", Tensor::from<int64_t>({3}, {1, 2, 3})}, {"y", Tensor::from<int64_t>({3}, {4, 5, 6})}});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].shape(), Shape{});
  EXPECT_EQ(r[0].to_vector<int64_t>(), std::vector<int64_t>{32});
  EXPECT_EQ(r[1].shape(), (Shape{3, 3}));
  EXPECT_EQ(r[1].to_vector<int64_t>(), (std::vector<int64_t>{4, 5, 6, 8, 10, 12, 12, 15, 18}));
}

TEST(GraphApi, ConstantsAreCopiedAndFolded) {
  tcc::Graph g;
  Tensor k = Tensor::from<double>({2, 2}, {1, 2, 3, 4});
  Value kc = g.constant(k);
  EXPECT_EQ(kc.shape(), (Shape{2, 2}));
  EXPECT_EQ(kc.dtype(), tcc::f64);
  k.data_as<double>()[0] = 100;  // the graph holds a copy
  Value x = g.input("x", tcc::f64, {2});
  // Constants alone need no feeds.
  std::vector<Tensor> r = g.eval({tcc::matmul(kc, kc)});
  EXPECT_EQ(r[0].to_vector<double>(), (std::vector<double>{7, 10, 15, 22}));
  std::vector<Tensor> r2 = g.eval({tcc::np::matmul(kc, x)}, {{"x", Tensor::from<double>({2}, {1, -1})}});
  EXPECT_EQ(r2[0].to_vector<double>(), (std::vector<double>{-1, -1}));
  EXPECT_TRUE(g.compile({kc}).inputs().empty());
  EXPECT_THROW(g.constant(Tensor()), tcc::Error);
}

TEST(GraphApi, SameCompiledGraphRunsWithDifferentFeeds) {
  tcc::Graph g;
  Value a = g.input("a", tcc::f32, {4, 3});
  Value b = g.input("b", tcc::f32, {4, 5});
  tcc::MatmulFlags ta;
  ta.transpose_a = true;
  tcc::CompiledGraph fn = g.compile({tcc::matmul(a, b, ta)});
  for (int run = 0; run < 3; ++run) {
    Tensor at = iota_f32({4, 3}, static_cast<float>(run), 0.25f), bt = iota_f32({4, 5}, -1, static_cast<float>(run + 1));
    std::vector<Tensor> r = fn({{"a", at}, {"b", bt}});
    expect_matches(r[0], ref::matmul(ref::from_tensor(at), ref::from_tensor(bt), ta));
  }
  // Results are fresh tensors, not views of one reused buffer.
  Tensor one = iota_f32({4, 3}), two = iota_f32({4, 5});
  std::vector<Tensor> r1 = fn({{"a", one}, {"b", two}});
  const std::vector<float> first = r1[0].to_vector<float>();
  fn({{"a", iota_f32({4, 3}, 9)}, {"b", two}});
  EXPECT_EQ(r1[0].to_vector<float>(), first);
}

TEST(GraphApi, CompiledGraphIsMovable) {
  tcc::Graph g;
  Value a = g.input("a", tcc::i32, {2});
  tcc::CompiledGraph fn = g.compile({tcc::dot(a, a)});
  tcc::CompiledGraph moved = std::move(fn);
  EXPECT_EQ(moved({{"a", Tensor::from<int32_t>({2}, {3, 4})}})[0].to_vector<int32_t>(), std::vector<int32_t>{25});
}

TEST(GraphApi, FeedErrorsAreInputErrors) {
  tcc::Graph g;
  Value a = g.input("a", tcc::f32, {2, 3});
  Value b = g.input("b", tcc::f32, {3});
  tcc::CompiledGraph fn = g.compile({tcc::dot(a, b)});
  Tensor at(tcc::f32, {2, 3}), bt(tcc::f32, {3});
  EXPECT_NO_THROW(fn({{"a", at}, {"b", bt}}));
  // Missing feed.
  try {
    fn({{"a", at}});
    ADD_FAILURE() << "a missing feed must throw";
  } catch (const tcc::InputError& e) {
    expect_mentions(e.what(), {"b"});
  }
  // Wrong dtype.
  try {
    fn({{"a", at}, {"b", Tensor(tcc::f64, {3})}});
    ADD_FAILURE() << "a wrong dtype must throw";
  } catch (const tcc::InputError& e) {
    expect_mentions(e.what(), {"b", "f64"});
  }
  // Wrong shape (same element count, different shape).
  try {
    fn({{"a", Tensor(tcc::f32, {3, 2})}, {"b", bt}});
    ADD_FAILURE() << "a wrong shape must throw";
  } catch (const tcc::InputError& e) {
    expect_mentions(e.what(), {"a"});
  }
  EXPECT_THROW(fn({{"a", Tensor(tcc::f32, {2, 3, 1})}, {"b", bt}}), tcc::InputError);
  EXPECT_THROW(g.eval({tcc::dot(a, b)}, {}), tcc::InputError);
}

TEST(GraphApi, MixedDtypesNameBothDtypes) {
  tcc::Graph g;
  Value a = g.input("a", tcc::f32, {2, 2});
  Value b = g.input("b", tcc::i64, {2, 2});
  Value c = g.input("c", tcc::f64, {2, 2});
  try {
    tcc::matmul(a, b);
    ADD_FAILURE() << "mixed dtypes must throw";
  } catch (const tcc::DTypeError& e) {
    expect_mentions(e.what(), {"f32", "i64"});
  }
  EXPECT_THROW(tcc::dot(a, c), tcc::DTypeError);
  EXPECT_THROW(tcc::batch_dot(c, a), tcc::DTypeError);
  EXPECT_THROW(tcc::tensordot(a, b, 1), tcc::DTypeError);
  EXPECT_THROW(tcc::np::matmul(b, c), tcc::DTypeError);
  EXPECT_THROW(tcc::einsum("ij,jk,kl->il", {a, a, c}), tcc::DTypeError);
}

TEST(GraphApi, ShapeErrorsAreThrownAtBuildTime) {
  tcc::Graph g;
  Value x = g.input("x", tcc::f32, {3, 4, 5, 2});
  Value y = g.input("y", tcc::f32, {2, 5, 3, 7});
  try {
    tcc::dot(x, y);
    ADD_FAILURE() << "dot (3,4,5,2).(2,5,3,7) must throw";
  } catch (const tcc::ShapeError& e) {
    // The spec: the op, both full shapes, and the two sizes that disagree.
    expect_mentions(e.what(), {"dot", "(3,4,5,2)", "(2,5,3,7)", "2", "3"});
  }
  Value m = g.input("m", tcc::f32, {2, 3});
  Value v = g.input("v", tcc::f32, {3});
  Value s = g.input("s", tcc::f32, {});
  EXPECT_THROW(tcc::matmul(m, m), tcc::ShapeError);
  EXPECT_THROW(tcc::matmul(m, v), tcc::ShapeError);  // rank 1 is only for @
  EXPECT_THROW(tcc::np::matmul(s, m), tcc::ShapeError);
  EXPECT_THROW(tcc::batch_dot(m, g.input("m2", tcc::f32, {1, 3})), tcc::ShapeError);  // batch 1 never broadcasts
  EXPECT_THROW(tcc::batch_dot(x, x, 0), tcc::ShapeError);
  EXPECT_THROW(tcc::tensordot(m, m, 3), tcc::ShapeError);
  EXPECT_THROW(tcc::einsum("ij,jk->ik", {m, m}), tcc::ShapeError);
  EXPECT_THROW(tcc::transpose(x, std::vector<int64_t>{0, 1, 2}), tcc::Error);  // Shape- or ArgumentError
  EXPECT_THROW(tcc::reshape(m, {4, 2}), tcc::ShapeError);
  // A valid node next to the failures still builds.
  EXPECT_EQ(tcc::reshape(m, {-1}).shape(), (Shape{6}));
}

TEST(GraphApi, InputNamesAreUnique) {
  tcc::Graph g;
  g.input("a", tcc::f32, {2});
  EXPECT_THROW(g.input("a", tcc::f32, {2}), tcc::Error);
  EXPECT_THROW(g.input("a", tcc::i32, {3}), tcc::Error);
  EXPECT_NO_THROW(g.input("b", tcc::f32, {2}));
  ASSERT_EQ(g.inputs().size(), 2u);
  EXPECT_EQ(g.inputs()[0].name, "a");
  EXPECT_EQ(g.inputs()[1].name, "b");
}

TEST(GraphApi, ZeroSizeGraphs) {
  tcc::Graph g;
  Value a = g.input("a", tcc::f32, {0, 3});
  Value b = g.input("b", tcc::f32, {3, 4});
  Value c = g.input("c", tcc::f32, {4, 0});
  std::vector<Tensor> r = g.eval({tcc::matmul(a, b), tcc::matmul(b, c), tcc::matmul(c, a)},
                                 {{"a", Tensor(tcc::f32, {0, 3})}, {"b", iota_f32({3, 4})}, {"c", Tensor(tcc::f32, {4, 0})}});
  EXPECT_EQ(r[0].shape(), (Shape{0, 4}));
  EXPECT_EQ(r[1].shape(), (Shape{3, 0}));
  EXPECT_EQ(r[2].shape(), (Shape{4, 3}));  // contraction over 0: zeros
  EXPECT_EQ(r[2].to_vector<float>(), std::vector<float>(12, 0.0f));
}

TEST(TensorBasics, AlignmentZeroFillAndViews) {
  for (int64_t n : {1, 3, 17, 1000}) {
    Tensor t(tcc::f32, {n});
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % tcc::kTensorAlignment, 0u);
    EXPECT_EQ(t.to_vector<float>(), std::vector<float>(n, 0.0f));
  }
  Tensor z(tcc::i64, {3, 0, 2});
  EXPECT_TRUE(z.defined());
  EXPECT_EQ(z.numel(), 0);
  EXPECT_EQ(z.nbytes(), 0u);
  EXPECT_EQ(z.rank(), 3);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(z.data()) % tcc::kTensorAlignment, 0u);
  Tensor s(tcc::f64, {});
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.nbytes(), 8u);
  Tensor m = Tensor::from<int32_t>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor v = m.reshaped({3, 2});
  EXPECT_EQ(v.data(), m.data());  // a view shares storage
  Tensor c = m.clone();
  EXPECT_NE(c.data(), m.data());
  c.data_as<int32_t>()[0] = 9;
  EXPECT_EQ(m.data_as<int32_t>()[0], 1);
  EXPECT_THROW(m.reshaped({4, 2}), tcc::ShapeError);
  EXPECT_THROW(m.data_as<float>(), tcc::ArgumentError);
  EXPECT_THROW(Tensor::from<float>({2}, {1.f}), tcc::ArgumentError);
  EXPECT_FALSE(Tensor().defined());
  EXPECT_EQ(tcc::shape_str({3, 4, 5}), "(3,4,5)");
  EXPECT_EQ(tcc::shape_str({}), "()");
  EXPECT_EQ(tcc::shape_str({5}), "(5,)");
}

}  // namespace
