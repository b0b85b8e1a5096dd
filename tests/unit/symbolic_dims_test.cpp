// Symbolic dimensions, step 1 of docs/design/symbolic-dims.md: the registry of names, shapes
// that print them, shape inference that carries them through (and names them in errors), and
// the clear refusals where support ends (tensors, reshape, compiling).
#include <tcc/tcc.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace {

using tcc::Shape;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tcc::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SymbolRegistry, SameNameSameCodeAcrossCallsAndThreads) {
  const int64_t n = tcc::dim("N");
  EXPECT_TRUE(tcc::is_symbol(n));
  EXPECT_EQ(tcc::dim("N"), n);
  EXPECT_NE(tcc::dim("M"), n);
  EXPECT_EQ(tcc::symbol_name(n), "N");
  std::vector<int64_t> seen(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) threads.emplace_back([&seen, i] { seen[i] = tcc::dim("threaded_symbol"); });
  for (std::thread& t : threads) t.join();
  for (int64_t code : seen) EXPECT_EQ(code, seen[0]);
}

TEST(SymbolRegistry, SizesAreNotSymbolsAndBadNamesAreRefused) {
  for (int64_t size : {int64_t{0}, int64_t{1}, int64_t{1} << 40, int64_t{-1}}) EXPECT_FALSE(tcc::is_symbol(size));
  for (const char* bad : {"", "1N", "a-b", "N ", "é"}) EXPECT_THROW(tcc::dim(bad), tcc::ArgumentError) << bad;
  EXPECT_THROW(tcc::symbol_name(4), tcc::ArgumentError);
  EXPECT_THROW(tcc::symbol_name(tcc::kFirstSymbolCode - (int64_t{1} << 30)), tcc::ArgumentError);
}

TEST(SymbolicShapes, PrintByName) {
  const Shape s{tcc::dim("N"), 4, tcc::dim("batch_size")};
  EXPECT_EQ(tcc::shape_str(s), "(N,4,batch_size)");
  EXPECT_EQ(tcc::type_str(tcc::f32, s), "f32[N,4,batch_size]");
  EXPECT_EQ(tcc::dim_str(7), "7");
  EXPECT_TRUE(tcc::has_symbols(s));
  EXPECT_FALSE(tcc::has_symbols({2, 3}));
}

TEST(SymbolicShapes, TensorsNeedSizes) {
  const Shape s{tcc::dim("N"), 4};
  EXPECT_THROW(tcc::checked_numel(s), tcc::ShapeError);
  EXPECT_EQ(tcc::checked_static_numel(s), 4);
  EXPECT_NE(error_of([&] { tcc::Tensor t(tcc::f32, s); }).find("the symbolic dimension N in shape (N,4)"),
            std::string::npos);
  EXPECT_THROW(tcc::checked_static_numel({-5, 4}), tcc::ShapeError);  // a negative size is still no symbol
}

TEST(SymbolicShapes, InferenceCarriesSymbols) {
  tcc::Graph g;
  const int64_t n = tcc::dim("N"), b = tcc::dim("B");
  auto w = g.input("w", tcc::f32, {n, 12, 4, 5}), k = g.input("k", tcc::f32, {n, 12, 5, 8});
  EXPECT_EQ(tcc::matmul(w, k).shape(), (Shape{n, 12, 4, 8}));
  EXPECT_EQ(tcc::np::matmul(w, k).shape(), (Shape{n, 12, 4, 8}));
  EXPECT_EQ(tcc::einsum("nhij,nhjk->nhik", w, k).shape(), (Shape{n, 12, 4, 8}));
  EXPECT_EQ(tcc::batch_dot(w, k, {}, tcc::BatchDotConvention::legacy).shape(), (Shape{n, 12, 4, 8}));
  EXPECT_EQ(tcc::batch_dot(w, k, {}, tcc::BatchDotConvention::modern).shape(), (Shape{n, 12, 4, 12, 8}));
  EXPECT_EQ(tcc::transpose(w).shape(), (Shape{5, 4, 12, n}));
  auto x = g.input("x", tcc::f32, {b, 3}), y = g.input("y", tcc::f32, {3, 7});
  EXPECT_EQ(tcc::dot(x, y).shape(), (Shape{b, 7}));
  EXPECT_EQ(tcc::tensordot(x, y, 1).shape(), (Shape{b, 7}));
  // A size-1 batch axis broadcasts against a symbol, as against any size.
  auto one = g.input("one", tcc::f32, {1, 12, 5, 8});
  EXPECT_EQ(tcc::matmul(w, one).shape(), (Shape{n, 12, 4, 8}));
}

TEST(SymbolicShapes, MismatchesNameTheSymbols) {
  tcc::Graph g;
  auto a = g.input("a", tcc::f32, {tcc::dim("N"), 4}), b = g.input("b", tcc::f32, {tcc::dim("M"), 4});
  EXPECT_EQ(error_of([&] { tcc::matmul(a, a); }),
            "matmul: contraction dims must be equal, but are 4 (a axis 1) and N (b axis 0); a: (N,4), b: (N,4)");
  EXPECT_NE(error_of([&] { tcc::matmul(a, b, {.transpose_b = false}); }).find("are 4 (a axis 1) and M (b axis 0)"),
            std::string::npos);
  auto w = g.input("w", tcc::f32, {tcc::dim("N"), 2, 3}), v = g.input("v", tcc::f32, {tcc::dim("M"), 3, 2});
  EXPECT_NE(error_of([&] { tcc::matmul(w, v); }).find("N (a axis 0) and M (b axis 0)"), std::string::npos)
      << error_of([&] { tcc::matmul(w, v); });
}

TEST(SymbolicShapes, WhereSupportEndsTheErrorSaysSo) {
  tcc::Graph g;
  auto a = g.input("a", tcc::f32, {tcc::dim("N"), 4});
  EXPECT_NE(error_of([&] { tcc::reshape(a, {-1}); }).find("reshaping a symbolic dimension (N) is not supported yet"),
            std::string::npos);
  auto c = tcc::transpose(a);
  const std::string compile = error_of([&] { g.compile({c}); });
  EXPECT_NE(compile.find("input 'a' has the symbolic shape f32[N,4]: compiling a graph with symbolic dimensions is "
                         "not supported yet"),
            std::string::npos)
      << compile;
  // A graph without symbols next to one with them compiles as before.
  tcc::Graph h;
  auto s = h.input("s", tcc::f32, {2, 3});
  EXPECT_EQ(h.compile({tcc::transpose(s)}).inputs().size(), 1u);
}

}  // namespace
