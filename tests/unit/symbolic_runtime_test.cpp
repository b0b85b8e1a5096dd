// Symbolic dimensions at run time (step 3 of docs/design/symbolic-dims.md): one compiled graph
// runs every value of its symbols, against the independent reference, with one compile; bad
// feeds and layouts not supported yet are refused with clear errors.
#include <tcc/tcc.h>

#include "driver/driver.h"
#include "support/error_of.h"
#include "support/reference.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using tcc::Shape;
using tcc::Tensor;

const int64_t N = tcc::dim("N");

// A shape with `n` in place of the symbol N.
Shape at(const Shape& shape, int64_t n) {
  Shape s = shape;
  for (int64_t& e : s)
    if (e == N) e = n;
  return s;
}

Tensor random_tensor(tcc::DType dtype, const Shape& shape, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1, 1);
  std::uniform_int_distribution<int> small(-3, 3);
  int64_t n = 1;
  for (int64_t e : shape) n *= e;
  switch (dtype) {
    case tcc::f32: {
      std::vector<float> v(n);
      for (float& x : v) x = static_cast<float>(u(rng));
      return Tensor::from(shape, v);
    }
    case tcc::f64: {
      std::vector<double> v(n);
      for (double& x : v) x = u(rng);
      return Tensor::from(shape, v);
    }
    case tcc::i32: {
      std::vector<int32_t> v(n);
      for (int32_t& x : v) x = small(rng);
      return Tensor::from(shape, v);
    }
    default: {
      std::vector<int64_t> v(n);
      for (int64_t& x : v) x = small(rng);
      return Tensor::from(shape, v);
    }
  }
}

using tcc::test::error_of;

// A graph of symbolic inputs, the op under test on tcc values, and the same on reference values.
struct Case {
  std::string name;
  tcc::DType dtype = tcc::f32;
  std::vector<Shape> inputs;  // with N
  std::function<tcc::Value(const std::vector<tcc::Value>&)> build;
  std::function<tcc::ref::RefTensor(const std::vector<tcc::ref::RefTensor>&)> reference;
};

// Compiles `c` once and runs it at every size, each against the reference; returns the graph's
// compile stats.
tcc::CompileStats run_at_sizes(const Case& c, const std::vector<int64_t>& sizes) {
  tcc::Graph g;
  std::vector<tcc::Value> in;
  for (size_t i = 0; i < c.inputs.size(); ++i) in.push_back(g.input("x" + std::to_string(i), c.dtype, c.inputs[i]));
  const tcc::Value out = c.build(in);
  const tcc::CompiledGraph compiled = g.compile({out});
  std::mt19937 rng(7);
  std::vector<Tensor> results;  // reused across sizes, as a serving loop would
  for (int64_t n : sizes) {
    tcc::Feeds feeds;
    std::vector<tcc::ref::RefTensor> ref_in;
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      Tensor t = random_tensor(c.dtype, at(c.inputs[i], n), rng);
      ref_in.push_back(tcc::ref::from_tensor(t));
      feeds["x" + std::to_string(i)] = t;
    }
    compiled.run(feeds, results);
    const tcc::ref::Comparison cmp = tcc::ref::compare(results.at(0), c.reference(ref_in));
    EXPECT_TRUE(cmp.ok) << c.name << " at N = " << n << ": " << cmp.message;
    EXPECT_EQ(results[0].shape(), at(out.shape(), n)) << c.name;
  }
  return compiled.stats();
}

namespace ref = tcc::ref;

std::vector<Case> batch_cases() {
  using V = std::vector<tcc::Value>;
  using R = std::vector<ref::RefTensor>;
  return {
      {"seed matmul", tcc::f32, {{N, 12, 4, 5}, {N, 12, 5, 8}}, [](const V& v) { return tcc::matmul(v[0], v[1]); },
       [](const R& r) { return ref::matmul(r[0], r[1]); }},
      {"seed batch_dot legacy", tcc::f32, {{N, 8, 7, 4, 2}, {N, 8, 7, 2, 5}},
       [](const V& v) { return tcc::batch_dot(v[0], v[1], {}, tcc::BatchDotConvention::legacy); },
       [](const R& r) { return ref::batch_dot(r[0], r[1], {}, true); }},
      {"dot of a batch with a matrix", tcc::f64, {{N, 4, 5}, {5, 8}}, [](const V& v) { return tcc::dot(v[0], v[1]); },
       [](const R& r) { return ref::dot(r[0], r[1]); }},
      {"64x64 matmul batch", tcc::f32, {{N, 64, 64}, {N, 64, 64}}, [](const V& v) { return tcc::matmul(v[0], v[1]); },
       [](const R& r) { return ref::matmul(r[0], r[1]); }},
      {"transposed b", tcc::f32, {{N, 33, 17}, {N, 40, 17}},
       [](const V& v) { return tcc::matmul(v[0], v[1], {.transpose_b = true}); },
       [](const R& r) { return ref::matmul(r[0], r[1], {.transpose_b = true}); }},
      {"broadcast weights", tcc::i32, {{N, 6, 9}, {9, 3}}, [](const V& v) { return tcc::matmul(v[0], v[1]); },
       [](const R& r) { return ref::matmul(r[0], r[1]); }},
      {"sum over the batch", tcc::f64, {{N, 5}, {N, 8}}, [](const V& v) { return tcc::tensordot(v[0], v[1], {{0}, {0}}); },
       [](const R& r) { return ref::tensordot(r[0], r[1], {{0}, {0}}); }},
      {"three-operand einsum", tcc::f32, {{N, 6, 7}, {N, 7, 9}, {N, 9, 4}},
       [](const V& v) { return tcc::einsum("bij,bjk,bkl->bil", v); },
       [](const R& r) { return ref::einsum("bij,bjk,bkl->bil", r); }},
      {"batched dot products", tcc::i64, {{N, 40}, {N, 40}}, [](const V& v) { return tcc::einsum("bi,bi->b", v); },
       [](const R& r) { return ref::einsum("bi,bi->b", r); }},
      {"transposed inner axes copied out", tcc::f32, {{N, 20, 24}, {N, 24, 16}},
       [](const V& v) { return tcc::transpose(tcc::matmul(v[0], v[1]), std::vector<int64_t>{0, 2, 1}); },
       [](const R& r) { return ref::transpose(ref::matmul(r[0], r[1]), std::vector<int64_t>{0, 2, 1}); }},
  };
}

TEST(SymbolicRuntime, OneCompiledGraphRunsEveryBatchSize) {
  for (const Case& c : batch_cases()) {
    SCOPED_TRACE(c.name);
    run_at_sizes(c, {0, 1, 7, 64, 3, 200, 1});
  }
}

// Symbolic rows of a GEMM (a dense layer on a batch of vectors): full tiles in a runtime loop,
// the edge rows in tiles of every power of two below the tile height.
TEST(SymbolicRuntime, SymbolicRowsAreTiledAtRunTime) {
  using V = std::vector<tcc::Value>;
  using R = std::vector<ref::RefTensor>;
  const std::vector<Case> cases = {
      {"small dense layer", tcc::f32, {{N, 5}, {5, 8}}, [](const V& v) { return tcc::dot(v[0], v[1]); },
       [](const R& r) { return ref::dot(r[0], r[1]); }},
      {"64-wide dense layer", tcc::f32, {{N, 64}, {64, 64}}, [](const V& v) { return tcc::dot(v[0], v[1]); },
       [](const R& r) { return ref::dot(r[0], r[1]); }},
      {"dense layer, f64, odd width", tcc::f64, {{N, 37}, {37, 19}}, [](const V& v) { return tcc::matmul(v[0], v[1]); },
       [](const R& r) { return ref::matmul(r[0], r[1]); }},
      {"transposed weights", tcc::f32, {{N, 48}, {40, 48}},
       [](const V& v) { return tcc::matmul(v[0], v[1], {.transpose_b = true}); },
       [](const R& r) { return ref::matmul(r[0], r[1], {.transpose_b = true}); }},
      {"rows over more axes", tcc::i32, {{N, 3, 10}, {10, 24}}, [](const V& v) { return tcc::dot(v[0], v[1]); },
       [](const R& r) { return ref::dot(r[0], r[1]); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    run_at_sizes(c, {0, 1, 2, 5, 6, 7, 13, 64, 100, 1000, 3});
  }
}

TEST(SymbolicRuntime, SymbolicRowsOfAPackedGemm) {
  Case c{"packed rows", tcc::f32, {{N, 600}, {600, 520}},
         [](const std::vector<tcc::Value>& v) { return tcc::dot(v[0], v[1]); },
         [](const std::vector<ref::RefTensor>& r) { return ref::dot(r[0], r[1]); }};
  tcc::Graph g;
  tcc::Value x = g.input("x", tcc::f32, {N, 600}), w = g.input("w", tcc::f32, {600, 520});
  const std::string loops = tcc::driver::emit(g, {tcc::dot(x, w)}, tcc::driver::Stage::loops, {});
  EXPECT_NE(loops.find("packed_b"), std::string::npos) << "the plan no longer packs: pick larger sizes";
  run_at_sizes(c, {1, 7, 0, 150});
}

TEST(SymbolicRuntime, OneCompileServesEverySize) {
  // A fresh symbol, so that no earlier test has compiled these kernels in this process.
  const int64_t B = tcc::dim("OneCompileBatch");
  tcc::Graph g;
  tcc::Value a = g.input("a", tcc::f32, {B, 12, 4, 5}), b = g.input("b", tcc::f32, {B, 12, 5, 8});
  const tcc::CompiledGraph compiled = g.compile({tcc::matmul(a, b)});
  EXPECT_EQ(compiled.stats().kernels, 1);
  std::mt19937 rng(3);
  for (int64_t n : {1, 7, 64, 1000}) {
    std::vector<Tensor> out = compiled({{"a", random_tensor(tcc::f32, {n, 12, 4, 5}, rng)},
                                        {"b", random_tensor(tcc::f32, {n, 12, 5, 8}, rng)}});
    EXPECT_EQ(out.at(0).shape(), (Shape{n, 12, 4, 8}));
  }
  // Another graph of the same kernel finds it compiled, whatever its batch name's value.
  tcc::Graph g2;
  tcc::Value a2 = g2.input("a", tcc::f32, {B, 12, 4, 5}), b2 = g2.input("b", tcc::f32, {B, 12, 5, 8});
  const tcc::CompiledGraph again = g2.compile({tcc::matmul(a2, b2)});
  EXPECT_EQ(again.stats().compiled, 0);
  EXPECT_EQ(again.stats().memory_hits, 1);
}

TEST(SymbolicRuntime, LargeMatricesUseTheStaticGemmPlan) {
  // Packed GEMMs with a symbolic batch: the packing and micro-kernel are the static kernel's.
  Case c{"packed", tcc::f32, {{N, 150, 300}, {300, 130}}, [](const std::vector<tcc::Value>& v) { return tcc::dot(v[0], v[1]); },
         [](const std::vector<ref::RefTensor>& r) { return ref::dot(r[0], r[1]); }};
  run_at_sizes(c, {1, 3, 0, 2});
}

TEST(SymbolicRuntime, BadFeedsAreRefusedClearly) {
  tcc::Graph g;
  tcc::Value a = g.input("a", tcc::f32, {N, 4, 5}), b = g.input("b", tcc::f32, {N, 5, 8});
  const tcc::CompiledGraph compiled = g.compile({tcc::matmul(a, b)});
  const std::string two_sizes = error_of([&] { compiled({{"a", Tensor(tcc::f32, {3, 4, 5})}, {"b", Tensor(tcc::f32, {2, 5, 8})}}); });
  EXPECT_EQ(two_sizes, "input 'b': expected f32[N,5,8], got f32[2,5,8], but N is 3 (from input 'a')");
  EXPECT_THROW(compiled({{"a", Tensor(tcc::f32, {3, 4, 5})}, {"b", Tensor(tcc::f32, {2, 5, 8})}}), tcc::InputError);
  EXPECT_EQ(error_of([&] { compiled({{"a", Tensor(tcc::f32, {3, 4, 6})}, {"b", Tensor(tcc::f32, {3, 5, 8})}}); }),
            "input 'a': expected f32[N,4,5], got f32[3,4,6]");
  EXPECT_EQ(error_of([&] { compiled({{"a", Tensor(tcc::f32, {3, 4})}, {"b", Tensor(tcc::f32, {3, 5, 8})}}); }),
            "input 'a': expected f32[N,4,5], got f32[3,4]");
  // A good call after bad ones still works.
  EXPECT_EQ(compiled({{"a", Tensor(tcc::f32, {2, 4, 5})}, {"b", Tensor(tcc::f32, {2, 5, 8})}}).at(0).shape(), (Shape{2, 4, 8}));
}

// What the shape rules could not decide (N against a size) is lowered with the size, and
// checked when the inputs arrive, with the rule's own message.
TEST(SymbolicRuntime, ConstraintsAreCheckedWhenTheInputsArrive) {
  tcc::Graph g;
  tcc::Value a = g.input("a", tcc::f32, {4, N}), b = g.input("b", tcc::f32, {5, 8});
  tcc::Value c = g.input("c", tcc::f32, {8, 3}), d = g.input("d", tcc::f32, {3, 2});
  const tcc::Value one = tcc::dot(a, b);                                    // N == 5
  const tcc::Value chain = tcc::matmul(tcc::matmul(tcc::matmul(a, b), c), d);  // merged and path-planned
  const tcc::CompiledGraph compiled = g.compile({one, chain});
  std::mt19937 rng(5);
  const Tensor ta = random_tensor(tcc::f32, {4, 5}, rng), tb = random_tensor(tcc::f32, {5, 8}, rng);
  const Tensor tc = random_tensor(tcc::f32, {8, 3}, rng), td = random_tensor(tcc::f32, {3, 2}, rng);
  const std::vector<Tensor> out = compiled({{"a", ta}, {"b", tb}, {"c", tc}, {"d", td}});
  const ref::RefTensor ra = ref::from_tensor(ta), rb = ref::from_tensor(tb);
  EXPECT_TRUE(ref::compare(out.at(0), ref::dot(ra, rb)).ok);
  const ref::RefTensor rchain = ref::matmul(ref::matmul(ref::matmul(ra, rb), ref::from_tensor(tc)), ref::from_tensor(td));
  EXPECT_TRUE(ref::compare(out.at(1), rchain).ok);
  const std::string broken = error_of([&] { compiled({{"a", Tensor(tcc::f32, {4, 6})}, {"b", tb}, {"c", tc}, {"d", td}}); });
  EXPECT_EQ(broken, "dot: contraction dims must be equal, but are N (x axis 1) and 5 (y axis 0); x: (4,N), y: (5,8)");
  EXPECT_THROW(compiled({{"a", Tensor(tcc::f32, {4, 6})}, {"b", tb}, {"c", tc}, {"d", td}}), tcc::ShapeError);
}

// Constraints no size meets (M == 0 and M == 4) make a graph that can never run: refused when
// compiled, with the rule that closes the contradiction (found by fuzz_graph).
TEST(SymbolicRuntime, ContradictoryConstraintsAreRefusedWhenCompiled) {
  const int64_t M = tcc::dim("M");
  tcc::Graph g;
  tcc::Value a = g.input("a", tcc::f32, {4, M}), b = g.input("b", tcc::f32, {4, 0});
  tcc::Value c = g.input("c", tcc::f32, {4, 4});
  const tcc::Value first = tcc::dot(a, tcc::transpose(b));  // M == 0
  const tcc::Value second = tcc::dot(a, c);                 // M == 4
  EXPECT_EQ(error_of([&] { g.compile({first, second}); }),
            "no size of M meets every requirement of this graph: dot: contraction dims must be equal, but are M (x "
            "axis 1) and 4 (y axis 0); x: (4,M), y: (4,4)");
  EXPECT_NO_THROW(g.compile({first}));
}

// Two names the rules require equal (batch_dot's batch axes) run as one, checked per call.
TEST(SymbolicRuntime, SymbolsRequiredEqualRunAsOne) {
  const int64_t M = tcc::dim("M");
  tcc::Graph g;
  tcc::Value a = g.input("a", tcc::f32, {N, 4, 5}), b = g.input("b", tcc::f32, {M, 5, 3});
  const tcc::CompiledGraph compiled = g.compile({tcc::batch_dot(a, b, {2, 1})});
  std::mt19937 rng(9);
  for (int64_t n : {0, 1, 9}) {
    const Tensor ta = random_tensor(tcc::f32, {n, 4, 5}, rng), tb = random_tensor(tcc::f32, {n, 5, 3}, rng);
    EXPECT_TRUE(ref::compare(compiled({{"a", ta}, {"b", tb}}).at(0),
                             ref::batch_dot(ref::from_tensor(ta), ref::from_tensor(tb), {2, 1}))
                    .ok);
  }
  EXPECT_THROW(compiled({{"a", Tensor(tcc::f32, {2, 4, 5})}, {"b", Tensor(tcc::f32, {3, 5, 3})}}), tcc::ShapeError);
}

// Threads calling one compiled graph at different sizes at once: each call binds its own
// sizes and grows its own intermediates (a workspace per thread), and every result is right.
// Run under ThreadSanitizer too (tools/sanitize.sh: *Concurren*).
TEST(SymbolicRuntime, ConcurrentCallsAtManySizes) {
  tcc::Graph g;
  tcc::Value a = g.input("a", tcc::f32, {N, 6, 7}), b = g.input("b", tcc::f32, {N, 7, 5});
  tcc::Value c = g.input("c", tcc::f32, {5, 3});
  const tcc::CompiledGraph compiled = g.compile({tcc::matmul(tcc::matmul(a, b), c)});  // a symbolic intermediate
  std::vector<std::string> failures(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      for (int round = 0; round < 6; ++round) {
        const int64_t n = (t * 7 + round * 13) % 40;
        const Tensor ta = random_tensor(tcc::f32, {n, 6, 7}, rng), tb = random_tensor(tcc::f32, {n, 7, 5}, rng);
        const Tensor tc = random_tensor(tcc::f32, {5, 3}, rng);
        const Tensor got = compiled({{"a", ta}, {"b", tb}, {"c", tc}}).at(0);
        const ref::RefTensor want =
            ref::matmul(ref::matmul(ref::from_tensor(ta), ref::from_tensor(tb)), ref::from_tensor(tc));
        const ref::Comparison cmp = ref::compare(got, want);
        if (!cmp.ok) failures[t] = "N = " + std::to_string(n) + ": " + cmp.message;
      }
    });
  for (std::thread& t : threads) t.join();
  for (const std::string& f : failures) EXPECT_EQ(f, "");
}

TEST(SymbolicRuntime, SymbolsInsideAnArrayAreNotSupportedYet) {
  tcc::Graph g;
  tcc::Value a = g.input("a", tcc::f32, {4, N});
  EXPECT_EQ(error_of([&] { g.compile({tcc::matmul(a, a, {.transpose_b = true})}); }),
            "input 'a' has the shape (4,N): a symbolic dimension (N) is supported only as the outermost axis of an "
            "array yet (put it first, e.g. with transpose)");
  tcc::Graph g2;
  tcc::Value x = g2.input("x", tcc::f32, {N, 4, 5}), w = g2.input("w", tcc::f32, {5, 8});
  const std::string moved = error_of([&] { g2.compile({tcc::transpose(tcc::dot(x, w))}); });
  EXPECT_NE(moved.find("a result of type f32[8,4,N] has the shape (8,4,N): a symbolic dimension (N) is supported only "
                       "as the outermost axis"),
            std::string::npos)
      << moved;
}

}  // namespace
