// CompiledGraph::run: outputs written in place, workspaces reused, aliasing refused,
// concurrent calls independent. BoundRun: the same checks once, at bind.
#include <tcc/tcc.h>

#include <gtest/gtest.h>

#include <thread>

namespace tcc {
namespace {

Tensor ramp(const Shape& shape, float start) {
  Tensor t(f32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = start + static_cast<float>(i % 7);
  return t;
}

std::vector<float> matmul_ref(const Tensor& a, const Tensor& b) {
  int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  std::vector<float> c(m * n, 0.f);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t r = 0; r < k; ++r) c[i * n + j] += a.data_as<float>()[i * k + r] * b.data_as<float>()[r * n + j];
  return c;
}

struct Fixture {
  Graph g;
  Value a = g.input("a", f32, {5, 3}), b = g.input("b", f32, {3, 4});
  Value c = matmul(a, b);
};

TEST(Run, WritesIntoFittingOutputsInPlace) {
  Fixture f;
  CompiledGraph fn = f.g.compile({f.c});
  Tensor a = ramp({5, 3}, 1), b = ramp({3, 4}, -2);
  std::vector<Tensor> outs;
  fn.run({{"a", a}, {"b", b}}, outs);
  const void* storage = outs[0].data();
  EXPECT_EQ(outs[0].to_vector<float>(), matmul_ref(a, b));
  Tensor a2 = ramp({5, 3}, 3);
  fn.run({{"a", a2}, {"b", b}}, outs);
  EXPECT_EQ(outs[0].data(), storage);  // reused, not reallocated
  EXPECT_EQ(outs[0].to_vector<float>(), matmul_ref(a2, b));
}

TEST(Run, ReplacesOutputsOfTheWrongShapeOrThatAliasAFeed) {
  Fixture f;
  CompiledGraph fn = f.g.compile({f.c});
  Tensor a = ramp({5, 3}, 1), b = ramp({3, 4}, -2);
  std::vector<Tensor> outs{Tensor(f32, {4, 5})};
  fn.run({{"a", a}, {"b", b}}, outs);
  EXPECT_EQ(outs[0].shape(), (Shape{5, 4}));
  // A (5,4) feed passed as the output too: writing there would clobber an operand.
  Graph g;
  auto x = g.input("x", f32, {4, 4});
  auto y = matmul(x, x);
  CompiledGraph sq = g.compile({y});
  Tensor xt = ramp({4, 4}, 0);
  std::vector<float> before = xt.to_vector<float>();
  std::vector<Tensor> aliased{xt};
  sq.run({{"x", xt}}, aliased);
  EXPECT_NE(aliased[0].data(), xt.data());
  EXPECT_EQ(xt.to_vector<float>(), before);
  EXPECT_EQ(aliased[0].to_vector<float>(), matmul_ref(xt, xt));
}

TEST(Run, OutputsOfOneBufferShareStorage) {
  Fixture f;
  CompiledGraph fn = f.g.compile({f.c, reshape(f.c, {20}), f.c});
  std::vector<Tensor> outs = fn({{"a", ramp({5, 3}, 1)}, {"b", ramp({3, 4}, 0)}});
  ASSERT_EQ(outs.size(), 3u);
  EXPECT_EQ(outs[1].shape(), (Shape{20}));
  EXPECT_EQ(outs[0].data(), outs[1].data());
  EXPECT_EQ(outs[0].data(), outs[2].data());
}

TEST(Run, ConcurrentCallsAreIndependent) {
  Graph g;
  auto a = g.input("a", f32, {40, 30}), b = g.input("b", f32, {30, 20}), d = g.input("d", f32, {20, 10});
  auto e = matmul(matmul(a, b), d);  // an intermediate lives in the workspace
  CompiledGraph fn = g.compile({e});
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      Tensor at = ramp({40, 30}, static_cast<float>(t)), bt = ramp({30, 20}, 1), dt = ramp({20, 10}, -1);
      Tensor ab(f32, {40, 20});
      std::vector<float> ref_ab = matmul_ref(at, bt);
      std::copy(ref_ab.begin(), ref_ab.end(), ab.data_as<float>());
      std::vector<float> want = matmul_ref(ab, dt);
      std::vector<Tensor> outs;
      for (int i = 0; i < 50; ++i) {
        fn.run({{"a", at}, {"b", bt}, {"d", dt}}, outs);
        if (outs[0].to_vector<float>() != want) ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong, 0);
}

// An intermediate larger than any machine's memory: the workspace cannot be made. Every call
// says so, including the calling thread's second one (its workspace was never made).
TEST(Run, AWorkspaceTooLargeIsRefusedOnEveryCall) {
  Graph g;
  auto x = g.input("x", f32, {200000, 1}), y = g.input("y", f32, {1, 200000}), z = g.input("z", f32, {200000, 1});
  // A 160 GB intermediate, read twice so that no contraction order avoids it (matmul(t, z)
  // alone would be computed as x . (y . z)).
  Value t = matmul(x, y);
  CompiledGraph fn = g.compile({einsum("ij,ij,jk->ik", {t, t, z})});
  Feeds feeds{{"x", Tensor(f32, {200000, 1})}, {"y", Tensor(f32, {1, 200000})}, {"z", Tensor(f32, {200000, 1})}};
  for (int call = 0; call < 2; ++call) EXPECT_THROW(fn(feeds), InputError) << "call " << call;
}

TEST(BoundRun, ReadsTheFeedsCurrentContentsOnEveryCall) {
  Fixture f;
  CompiledGraph fn = f.g.compile({f.c});
  Tensor a = ramp({5, 3}, 1), b = ramp({3, 4}, -2);
  BoundRun call = fn.bind({{"a", a}, {"b", b}});
  call();
  const void* storage = call.outputs()[0].data();
  EXPECT_EQ(call.outputs()[0].to_vector<float>(), matmul_ref(a, b));
  for (int64_t i = 0; i < a.numel(); ++i) a.data_as<float>()[i] *= -3;  // new contents, same storage
  call();
  EXPECT_EQ(call.outputs()[0].data(), storage);
  EXPECT_EQ(call.outputs()[0].to_vector<float>(), matmul_ref(a, b));
}

TEST(BoundRun, ChecksOnceAtBindAsRunDoes) {
  Fixture f;
  CompiledGraph fn = f.g.compile({f.c});
  EXPECT_THROW(fn.bind({{"a", ramp({5, 3}, 1)}}), InputError);  // b not given
  EXPECT_THROW(fn.bind({{"a", ramp({3, 5}, 1)}, {"b", ramp({3, 4}, 1)}}), InputError);
  EXPECT_THROW(fn.bind({{"a", ramp({5, 3}, 1)}, {"b", ramp({3, 4}, 1)}, {"q", ramp({1}, 0)}}), InputError);
  // An output that aliases a feed is replaced, as run() replaces it.
  Graph g;
  auto x = g.input("x", f32, {4, 4});
  CompiledGraph sq = g.compile({matmul(x, x)});
  Tensor xt = ramp({4, 4}, 0);
  BoundRun call = sq.bind({{"x", xt}}, {xt});
  call();
  EXPECT_NE(call.outputs()[0].data(), xt.data());
  EXPECT_EQ(call.outputs()[0].to_vector<float>(), matmul_ref(xt, xt));
  BoundRun moved = std::move(call);
  EXPECT_THROW(call(), ArgumentError);  // NOLINT(bugprone-use-after-move): moved-from is empty
  moved();
  EXPECT_EQ(moved.outputs()[0].to_vector<float>(), matmul_ref(xt, xt));
}

TEST(BoundRun, KeepsItsTensorsAndIntermediatesAndPackingScratch) {
  // Two steps (an intermediate in the bound workspace); the second is large enough to pack B.
  Graph g;
  auto a = g.input("a", f32, {40, 30}), b = g.input("b", f32, {30, 300}), d = g.input("d", f32, {300, 1000});
  CompiledGraph fn = g.compile({matmul(matmul(a, b), d), reshape(matmul(matmul(a, b), d), {-1})});
  Tensor at = ramp({40, 30}, 0), bt = ramp({30, 300}, 1), dt = ramp({300, 1000}, -1);
  std::vector<Tensor> outs;
  fn.run({{"a", at}, {"b", bt}, {"d", dt}}, outs);
  BoundRun call = fn.bind({{"a", ramp({40, 30}, 0)}, {"b", ramp({30, 300}, 1)}, {"d", ramp({300, 1000}, -1)}});
  // The feeds given to bind were temporaries: the binding holds their storage.
  call();
  call();
  ASSERT_EQ(call.outputs().size(), 2u);
  EXPECT_EQ(call.outputs()[0].to_vector<float>(), outs[0].to_vector<float>());
  EXPECT_EQ(call.outputs()[1].data(), call.outputs()[0].data());
  EXPECT_EQ(call.outputs()[1].shape(), (Shape{40 * 1000}));
}

TEST(Tensor, EmptyIsUninitialisedButAligned) {
  Tensor t = Tensor::empty(f64, {3, 5});
  EXPECT_EQ(t.numel(), 15);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % kTensorAlignment, 0u);
}

}  // namespace
}  // namespace tcc
