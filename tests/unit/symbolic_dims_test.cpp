// Symbolic dimensions, steps 1 and 2 of docs/design/symbolic-dims.md: the registry of names,
// shapes that print them, shape inference that carries them through, the rules' table (equal
// sizes unified into constraints, ambiguous broadcasts refused), the constraints kept in the
// graph and checked against bound values, and the clear refusals where support ends.
#include <tcc/tcc.h>

#include "frontend/graph_access.h"
#include "ir/graph/graph_ir.h"
#include "ir/graph/shape_constraints.h"
#include "shape_rules.h"

#include "support/error_of.h"

#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tcc::ir {
// gtest prints a constraint that differs as "{N == 5, "message"}".
void PrintTo(const ShapeConstraint& c, std::ostream* os) {
  *os << "{" << constraint_str(c) << ", \"" << c.message << "\"}";
}
}  // namespace tcc::ir

namespace {

using tcc::Shape;
using tcc::ir::ShapeConstraint;
using tcc::rules::RuleResult;

using tcc::test::error_of;

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

// ---- Step 2: the rules' table ------------------------------------------------------------
// Equal-size positions: N vs N -> N; N vs 5 -> 5 and N == 5; N vs M -> N and N == M; N vs 1 ->
// 1 and N == 1. Broadcast positions: 1 vs X -> X; N vs N -> N; N vs 5 or N vs M refused.

const int64_t N = tcc::dim("N"), M = tcc::dim("M");

void expect_result(const RuleResult& r, const Shape& shape, const std::vector<ShapeConstraint>& constraints) {
  EXPECT_EQ(tcc::shape_str(r.shape), tcc::shape_str(shape));
  EXPECT_EQ(r.constraints, constraints);
}

// The build-time refusal of an ambiguous broadcast: a ShapeError with this exact message.
void expect_ambiguous(const std::function<RuleResult()>& rule, const std::string& message) {
  try {
    rule();
    ADD_FAILURE() << "no error; expected: " << message;
  } catch (const tcc::ShapeError& e) {
    EXPECT_EQ(std::string(e.what()), message);
  }
}

std::string ambiguous(const std::string& op, const std::string& what, const std::string& symbols,
                      const std::string& shapes) {
  return op + ": " + what + ", an ambiguous broadcast: whether " + symbols +
         " is 1 (and stretches) is known only when the inputs arrive; use one name for both, or static sizes; " +
         shapes;
}

TEST(SymbolicRules, DotUnifiesTheContractedDims) {
  using tcc::rules::dot_rule;
  const std::string k5 =
      "dot: contraction dims must be equal, but are N (x axis 1) and 5 (y axis 0); x: (4,N), y: (5,8)";
  expect_result(dot_rule({4, N}, {N, 8}), {4, 8}, {});
  const RuleResult static_k = dot_rule({4, N}, {5, 8});
  expect_result(static_k, {4, 8}, {{N, 5, k5}});
  EXPECT_EQ(static_k.spec.str(), "dims[a=4,b=8,c=5] (a,c),(c,b)->(a,b)");  // the loop runs to the static size
  // The lone symbol comes first whichever side it is on; the message keeps the operands' order.
  expect_result(dot_rule({4, 5}, {N, 8}), {4, 8},
                {{N, 5, "dot: contraction dims must be equal, but are 5 (x axis 1) and N (y axis 0); x: (4,5), y: "
                        "(N,8)"}});
  expect_result(dot_rule({4, N}, {M, 8}), {4, 8},
                {{N, M, "dot: contraction dims must be equal, but are N (x axis 1) and M (y axis 0); x: (4,N), y: "
                        "(M,8)"}});
  expect_result(dot_rule({4, N}, {1, 8}), {4, 8},
                {{N, 1, "dot: contraction dims must be equal, but are N (x axis 1) and 1 (y axis 0); x: (4,N), y: "
                        "(1,8)"}});
  expect_result(dot_rule({N}, {5}), {},
                {{N, 5, "dot: contraction dims must be equal, but are N (x axis 0) and 5 (y axis 0); "
                        "x: (N,), y: (5,)"}});
  expect_result(dot_rule({}, {N, 3}), {N, 3}, {});  // the 0-D case compares nothing
  // Sizes still decide at build time.
  EXPECT_THROW(dot_rule({4, 3}, {5, 8}), tcc::ShapeError);
}

TEST(SymbolicRules, MatmulUnifiesKAndBroadcastsBatchDims) {
  using tcc::rules::matmul_rule;
  expect_result(matmul_rule({4, N}, {5, 8}, {}), {4, 8},
                {{N, 5, "matmul: contraction dims must be equal, but are N (a axis 1) and 5 (b axis 0); a: (4,N), "
                        "b: (5,8)"}});
  expect_result(matmul_rule({N, 4}, {8, M}, {.transpose_a = true, .transpose_b = true}), {4, 8},
                {{N, M, "matmul: contraction dims must be equal, but are N (a axis 0) and M (b axis 1); a: (N,4), "
                        "b: (8,M)"}});
  // Batch dims: equal names, a 1 (given or missing) stretching to a symbol, a symbol against a 1.
  expect_result(matmul_rule({N, 4, 5}, {N, 5, 8}, {}), {N, 4, 8}, {});
  expect_result(matmul_rule({1, 4, 5}, {N, 5, 8}, {}), {N, 4, 8}, {});
  expect_result(matmul_rule({N, 4, 5}, {1, 5, 8}, {}), {N, 4, 8}, {});
  expect_result(matmul_rule({4, 5}, {N, 5, 8}, {}), {N, 4, 8}, {});
  expect_result(matmul_rule({N, 4, 5}, {7, N, 5, 8}, {}), {7, N, 4, 8}, {});
  // Both at once: the batch broadcast decided, K left to the inputs.
  expect_result(matmul_rule({N, 4, M}, {1, 5, 8}, {}), {N, 4, 8},
                {{M, 5, "matmul: contraction dims must be equal, but are M (a axis 2) and 5 (b axis 1); a: (N,4,M), "
                        "b: (1,5,8)"}});
  // N could be 1 (stretch) or 5 (equal): refused at build time.
  expect_ambiguous([] { return matmul_rule({N, 4, 5}, {5, 5, 8}, {}); },
                   ambiguous("matmul", "batch dims must be equal or 1, but are N (a axis 0) and 5 (b axis 0)", "N",
                             "a: (N,4,5), b: (5,5,8)"));
  expect_ambiguous([] { return matmul_rule({2, N, 4, 5}, {M, 5, 8}, {}); },
                   ambiguous("matmul", "batch dims must be equal or 1, but are N (a axis 1) and M (b axis 0)", "N or M",
                             "a: (2,N,4,5), b: (M,5,8)"));
  // Two sizes: the old message, no ambiguity.
  EXPECT_EQ(error_of([] { matmul_rule({3, 4, 5}, {2, 5, 8}, {}); }),
            "matmul: batch dims must be equal or 1, but are 3 (a axis 0) and 2 (b axis 0); a: (3,4,5), b: (2,5,8)");
}

TEST(SymbolicRules, NpMatmulNamesTheUsersAxes) {
  using tcc::rules::np_matmul_rule;
  expect_result(np_matmul_rule({N}, {5}), {},
                {{N, 5, "@: contraction dims must be equal, but are N (a axis 0) and 5 (b axis 0); a: (N,), b: (5,)"}});
  expect_result(np_matmul_rule({2, 3, N}, {M}), {2, 3},
                {{N, M, "@: contraction dims must be equal, but are N (a axis 2) and M (b axis 0); a: (2,3,N), b: "
                        "(M,)"}});
  expect_result(np_matmul_rule({M}, {2, N, 3}), {2, 3},
                {{M, N, "@: contraction dims must be equal, but are M (a axis 0) and N (b axis 1); a: (M,), b: "
                        "(2,N,3)"}});
  expect_result(np_matmul_rule({N, 4, 5}, {5, 8}), {N, 4, 8}, {});
  expect_ambiguous([] { return np_matmul_rule({N, 4, 5}, {2, 5, 8}); },
                   ambiguous("@", "batch dims must be equal or 1, but are N (a axis 0) and 2 (b axis 0)", "N",
                             "a: (N,4,5), b: (2,5,8)"));
}

TEST(SymbolicRules, TensordotUnifiesEveryPair) {
  using tcc::rules::tensordot_rule;
  expect_result(tensordot_rule({4, N}, {M, 8}, 1), {4, 8},
                {{N, M, "tensordot: contraction dims must be equal, but are N (x axis 1) and M (y axis 0); x: "
                        "(4,N), y: (M,8)"}});
  expect_result(tensordot_rule({N, 3}, {3, 5}, tcc::Axes::list({tcc::Axes::list({0, 1}), tcc::Axes::list({1, 0})})),
                {}, {{N, 5, "tensordot: contraction dims must be equal, but are N (x axis 0) and 5 (y axis 1); x: "
                            "(N,3), y: (3,5)"}});
  expect_result(tensordot_rule({N, M}, {N, M}, 2), {}, {});
}

TEST(SymbolicRules, BatchDotModernUnifiesBatchAndContraction) {
  auto modern = [](const Shape& x, const Shape& y) {
    return tcc::rules::batch_dot_rule(x, y, {}, tcc::BatchDotConvention::modern);
  };
  expect_result(modern({N, 4, 5}, {N, 5, 8}), {N, 4, 8}, {});
  expect_result(modern({N, 4, 5}, {M, 5, 8}), {N, 4, 8},
                {{N, M, "batch_dot: batch dims must be equal, but are N (x axis 0) and M (y axis 0); x: (N,4,5), y: "
                        "(M,5,8)"}});
  // The static batch size wins; both pairs are recorded, batch first.
  expect_result(modern({2, 4, N}, {M, 5, 8}), {2, 4, 8},
                {{M, 2, "batch_dot: batch dims must be equal, but are 2 (x axis 0) and M (y axis 0); x: (2,4,N), y: "
                        "(M,5,8)"},
                 {N, 5, "batch_dot: contraction dims must be equal, but are N (x axis 2) and 5 (y axis 1); x: "
                        "(2,4,N), y: (M,5,8)"}});
  // Size 1 does not broadcast in batch_dot: N must be 1.
  expect_result(modern({1, 4, 5}, {N, 5, 8}), {1, 4, 8},
                {{N, 1, "batch_dot: batch dims must be equal, but are 1 (x axis 0) and N (y axis 0); x: (1,4,5), y: "
                        "(N,5,8)"}});
}

TEST(SymbolicRules, BatchDotLegacyUnifiesAndSqueezes) {
  auto legacy = [](const Shape& x, const Shape& y, const tcc::Axes& axes = {}) {
    return tcc::rules::batch_dot_rule(x, y, axes, tcc::BatchDotConvention::legacy);
  };
  expect_result(legacy({N, 4, M}, {N, 5, 8}), {N, 4, 8},
                {{M, 5, "batch_dot: contraction dims must be equal, but are M (x axis 2) and 5 (y axis 1); x: "
                        "(N,4,M), y: (N,5,8)"}});
  // Messages keep the padding note after the shapes.
  expect_result(legacy({N, 4, 5}, {M, 5}), {N, 4},
                {{N, M, "batch_dot: batch dims must be equal, but are N (x axis 0) and M (y axis 0); x: (N,4,5), "
                        "y: (M,5) (legacy convention: y padded to (M,5,1); axes refer to the padded shapes)"}});
  // A squeezed position that holds a symbol must be 1.
  expect_result(legacy({2, N}, {2, N, 1, 7}), {2, 7},
                {{N, 1, "batch_dot: the legacy convention squeezes axis 1 of the matmul result (2,N,1,7), which "
                        "must be 1 but is N; x: (2,N), y: (2,N,1,7) (legacy convention: x padded to (2,N,1,1); "
                        "axes refer to the padded shapes)"}});
  // Rank 2: the elementwise product broadcasts, so N against 3 is ambiguous.
  expect_result(legacy({N, 3}, {1, 3}, 1), {N, 1}, {});
  expect_ambiguous([&] { return legacy({N, 3}, {3, 3}, 1); },
                   ambiguous("batch_dot", "dims of the elementwise product must be equal or 1, but are N (x axis 0) "
                                          "and 3 (y axis 0)",
                             "N", "x: (N,3), y: (3,3)"));
}

TEST(SymbolicRules, EinsumUnifiesDiagonalsAndBroadcastsAcrossOperands) {
  using tcc::rules::einsum_rule;
  expect_result(einsum_rule("ij,jk->ik", {{4, N}, {N, 8}}), {4, 8}, {});
  expect_result(einsum_rule("ij,jk->ik", {{4, 1}, {N, 8}}), {4, 8}, {});  // a 1 stretches to N
  // A label repeated inside one term must have one size.
  expect_result(einsum_rule("ii->i", {{N, 5}}), {5},
                {{N, 5, "einsum: sizes of label 'i' must be equal, but are N (operand 0 axis 0) and 5 (operand 0 "
                        "axis 1); operand 0: (N,5)"}});
  expect_result(einsum_rule("ii->i", {{N, M}}), {N},
                {{N, M, "einsum: sizes of label 'i' must be equal, but are N (operand 0 axis 0) and M (operand 0 "
                        "axis 1); operand 0: (N,M)"}});
  // The diagonal is unified before the operands broadcast: its 5 meets the other 5.
  expect_result(einsum_rule("ii,i->i", {{N, 5}, {5}}), {5},
                {{N, 5, "einsum: sizes of label 'i' must be equal, but are N (operand 0 axis 0) and 5 (operand 0 "
                        "axis 1); operand 0: (N,5), operand 1: (5,)"}});
  // A diagonal unified to 1 stretches: the symbolic axis is read at index 0 (kBroadcast, "1").
  const RuleResult stretched = einsum_rule("ii,i->i", {{N, 1}, {M}});
  expect_result(stretched, {M},
                {{N, 1, "einsum: sizes of label 'i' must be equal, but are N (operand 0 axis 0) and 1 (operand 0 "
                        "axis 1); operand 0: (N,1), operand 1: (M,)"}});
  EXPECT_EQ(stretched.spec.str(), "dims[a=M] (1,a),(a)->(a)");
  // Across operands a size 1 broadcasts (NumPy), so a symbol against another size is ambiguous.
  expect_ambiguous([] { return einsum_rule("ij,jk->ik", {{4, N}, {5, 8}}); },
                   ambiguous("einsum", "sizes of label 'j' must be equal or 1, but are N (operand 0 axis 1) and 5 "
                                       "(operand 1 axis 0)",
                             "N", "operand 0: (4,N), operand 1: (5,8)"));
  expect_result(einsum_rule("...ij,...jk->...ik", {{N, 4, 5}, {1, 5, 8}}), {N, 4, 8}, {});
  expect_ambiguous([] { return einsum_rule("...ij,...jk->...ik", {{N, 4, 5}, {M, 5, 8}}); },
                   ambiguous("einsum", "ellipsis dims must be equal or 1, but are N (operand 0 axis 0) and M "
                                       "(operand 1 axis 0)",
                             "N or M", "operand 0: (N,4,5), operand 1: (M,5,8)"));
}

// ---- Step 2: constraints in the graph and their check -----------------------------------------

TEST(SymbolicGraph, NodesKeepTheirRulesConstraints) {
  tcc::Graph g;
  auto a = g.input("a", tcc::f32, {4, N}), b = g.input("b", tcc::f32, {5, 8});
  auto c = tcc::matmul(a, b);
  EXPECT_EQ(c.shape(), (Shape{4, 8}));
  EXPECT_EQ(tcc::matmul(a, b).id(), c.id());  // interned as before: constraints follow from the inputs
  const tcc::ir::GraphIR& ir = tcc::detail::graph_ir(g);
  const std::string k5 =
      "matmul: contraction dims must be equal, but are N (a axis 1) and 5 (b axis 0); a: (4,N), b: (5,8)";
  EXPECT_EQ(ir.node(c.id()).constraints, (std::vector<ShapeConstraint>{{N, 5, k5}}));
  EXPECT_NO_THROW(tcc::ir::verify_graph(ir, {c.id()}));
  const std::string printed = tcc::ir::print_graph(ir, {c.id()});
  EXPECT_NE(printed.find("f32[4,8]  dims[a=4,b=8,c=5] (a,c),(c,b)->(a,b)  requires N == 5\n"), std::string::npos)
      << printed;
  EXPECT_EQ(printed.find("requires", printed.find("requires") + 1), std::string::npos) << printed;  // only that node

  // Collected from the outputs in node order, an equal constraint of two nodes once.
  auto d = tcc::tensordot(a, b, 1), e = tcc::tensordot(a, b, tcc::Axes::list({1, 0}));
  ASSERT_NE(d.id(), e.id());
  const std::string td =
      "tensordot: contraction dims must be equal, but are N (x axis 1) and 5 (y axis 0); x: (4,N), y: (5,8)";
  EXPECT_EQ(tcc::ir::collect_constraints(ir, {e.id(), d.id(), c.id(), tcc::transpose(c).id()}),
            (std::vector<ShapeConstraint>{{N, 5, k5}, {N, 5, td}}));
  EXPECT_TRUE(tcc::ir::collect_constraints(ir, {a.id(), b.id()}).empty());
}

TEST(ShapeConstraints, CheckPassesWhenTheSymbolsAgree) {
  const std::vector<ShapeConstraint> constraints{{N, 5, "first"}, {N, M, "second"}};
  EXPECT_NO_THROW(tcc::ir::check_constraints(constraints, {{N, 5}, {M, 5}}));
  EXPECT_NO_THROW(tcc::ir::check_constraints({}, {}));
}

TEST(ShapeConstraints, CheckThrowsTheFirstViolatedMessageVerbatim) {
  const std::vector<ShapeConstraint> constraints{{N, 5, "first"}, {N, M, "second"}};
  auto message = [&](const std::unordered_map<int64_t, int64_t>& values) {
    try {
      tcc::ir::check_constraints(constraints, values);
    } catch (const tcc::ShapeError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(message({{N, 5}, {M, 4}}), "second");
  EXPECT_EQ(message({{N, 4}, {M, 4}}), "first");
  // A rule's constraint, checked: the error the rule would have given for these sizes.
  tcc::Graph g;
  auto c = tcc::matmul(g.input("a", tcc::f32, {4, N}), g.input("b", tcc::f32, {5, 8}));
  const auto collected = tcc::ir::collect_constraints(tcc::detail::graph_ir(g), {c.id()});
  EXPECT_EQ(error_of([&] { tcc::ir::check_constraints(collected, {{N, 4}}); }),
            "matmul: contraction dims must be equal, but are N (a axis 1) and 5 (b axis 0); a: (4,N), b: (5,8)");
}

TEST(ShapeConstraints, AMissingSymbolIsAnInternalError) {
  const std::vector<ShapeConstraint> constraints{{N, 5, "first"}, {N, M, "second"}};
  EXPECT_THROW(tcc::ir::check_constraints(constraints, {{N, 5}}), tcc::InternalError);
  EXPECT_THROW(tcc::ir::check_constraints(constraints, {{M, 5}}), tcc::InternalError);
}

TEST(ShapeConstraints, EqualityFollowsChains) {
  const std::vector<ShapeConstraint> constraints{{N, M, ""}, {M, 5, ""}};
  EXPECT_TRUE(tcc::ir::constrained_equal(N, 5, constraints));
  EXPECT_TRUE(tcc::ir::constrained_equal(5, N, constraints));
  EXPECT_TRUE(tcc::ir::constrained_equal(7, 7, {}));
  EXPECT_FALSE(tcc::ir::constrained_equal(N, 4, constraints));
  EXPECT_FALSE(tcc::ir::constrained_equal(N, M, {}));
}

// The oracle for the whole table: whatever a rule accepts with symbols, it accepts with sizes that
// meet the recorded constraints, giving the same shape once the symbols are replaced by those
// sizes; with sizes that violate a constraint, it refuses them. Random shapes over small sizes
// and N, M, for every rule, both batch_dot conventions and a set of einsum specs.
class SymbolicOracle {
 public:
  explicit SymbolicOracle(uint64_t seed) : rng_(seed) {}

  // Runs `rule` on symbolic shapes, then on those shapes with N and M replaced by sizes.
  void check(const std::function<RuleResult(const std::vector<Shape>&)>& rule, const std::vector<Shape>& shapes) {
    RuleResult symbolic;
    try {
      symbolic = rule(shapes);
    } catch (const tcc::ShapeError&) {
      return;  // refused at build time (an ambiguous broadcast, two sizes that differ)
    } catch (const tcc::ArgumentError&) {
      return;
    }
    ++accepted_;
    constrained_ += symbolic.constraints.empty() ? 0 : 1;
    const std::unordered_map<int64_t, int64_t> values{{N, pick(0, 3)}, {M, pick(0, 3)}};
    bool satisfied = true;
    for (const ShapeConstraint& c : symbolic.constraints)
      satisfied = satisfied && size(c.a, values) == size(c.b, values);
    std::vector<Shape> sized;
    for (const Shape& s : shapes) sized.push_back(substitute(s, values));
    const std::string where = "shapes " + shapes_str(shapes) + " with N=" + std::to_string(values.at(N)) +
                              ", M=" + std::to_string(values.at(M));
    if (satisfied) {
      EXPECT_NO_THROW(tcc::ir::check_constraints(symbolic.constraints, values)) << where;
      try {
        EXPECT_EQ(tcc::shape_str(rule(sized).shape), tcc::shape_str(substitute(symbolic.shape, values))) << where;
      } catch (const tcc::Error& e) {
        ADD_FAILURE() << where << ": sizes that meet the constraints are refused: " << e.what();
      }
    } else {
      ++violated_;
      EXPECT_THROW(tcc::ir::check_constraints(symbolic.constraints, values), tcc::ShapeError) << where;
      EXPECT_THROW(rule(sized), tcc::ShapeError) << where << ": sizes that violate a constraint are accepted";
    }
  }

  Shape shape(size_t rank) {
    const int64_t pool[] = {0, 1, 2, 3, N, M, N, M};
    Shape s(rank);
    for (int64_t& d : s) d = pool[pick(0, 7)];
    return s;
  }
  int64_t pick(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  int accepted_ = 0, constrained_ = 0, violated_ = 0;

 private:
  static int64_t size(int64_t extent, const std::unordered_map<int64_t, int64_t>& values) {
    return tcc::is_symbol(extent) ? values.at(extent) : extent;
  }
  static Shape substitute(Shape s, const std::unordered_map<int64_t, int64_t>& values) {
    for (int64_t& d : s) d = size(d, values);
    return s;
  }
  static std::string shapes_str(const std::vector<Shape>& shapes) {
    std::string s;
    for (const Shape& x : shapes) s += tcc::shape_str(x) + " ";
    return s;
  }
  std::mt19937_64 rng_;
};

TEST(SymbolicRules, WhatTheRulesAcceptMatchesTheSizesTheyWouldAccept) {
  using namespace tcc::rules;
  SymbolicOracle o(14);
  const char* specs[] = {"ij,jk->ik", "ii->i",   "ii,i->i", "...ij,...jk->...ik",
                         "bij,bjk->bik", "ij,ij->", "i,i",     "iij,jk"};
  for (int round = 0; round < 4000; ++round) {
    const Shape x = o.shape(o.pick(0, 4)), y = o.shape(o.pick(0, 4));
    const tcc::Axes axes = o.pick(0, 2) == 0 ? tcc::Axes() : o.pick(0, 1) ? tcc::Axes(o.pick(-3, 3))
                                                                            : tcc::Axes{o.pick(-3, 3), o.pick(-3, 3)};
    const tcc::MatmulFlags flags{.transpose_a = o.pick(0, 1) == 1, .transpose_b = o.pick(0, 1) == 1};
    o.check([](const auto& s) { return dot_rule(s[0], s[1]); }, {x, y});
    o.check([&](const auto& s) { return matmul_rule(s[0], s[1], flags); }, {x, y});
    o.check([](const auto& s) { return np_matmul_rule(s[0], s[1]); }, {x, y});
    o.check([](const auto& s) { return tensordot_rule(s[0], s[1], 1); }, {x, y});
    o.check([&](const auto& s) { return tensordot_rule(s[0], s[1], axes.is_none() ? tcc::Axes(2) : axes); }, {x, y});
    for (auto convention : {tcc::BatchDotConvention::modern, tcc::BatchDotConvention::legacy})
      o.check([&](const auto& s) { return batch_dot_rule(s[0], s[1], axes, convention); }, {x, y});
    // einsum: operands of the ranks their terms want (an ellipsis covers 0 to 2 axes).
    const std::string spec = specs[o.pick(0, std::size(specs) - 1)];
    std::vector<Shape> operands;
    const std::string inputs = spec.substr(0, spec.find("->"));
    for (size_t start = 0; start <= inputs.size();) {
      const size_t comma = std::min(inputs.find(',', start), inputs.size());
      const std::string term = inputs.substr(start, comma - start);
      const bool ellipsis = term.find("...") != std::string::npos;
      operands.push_back(o.shape(term.size() - (ellipsis ? 3 : 0) + (ellipsis ? o.pick(0, 2) : 0)));
      start = comma + 1;
    }
    o.check([&](const auto& s) { return einsum_rule(spec, s); }, operands);
  }
  // The random shapes reach every outcome often enough to mean something.
  EXPECT_GT(o.constrained_, 3000) << o.accepted_;
  EXPECT_GT(o.violated_, 2000) << o.accepted_;
}

TEST(SymbolicShapes, WhereSupportEndsTheErrorSaysSo) {
  tcc::Graph g;
  auto a = g.input("a", tcc::f32, {tcc::dim("N"), 4});
  EXPECT_NE(error_of([&] { tcc::reshape(a, {-1}); }).find("reshaping a symbolic dimension (N) is not supported yet"),
            std::string::npos);
  auto c = tcc::transpose(a);
  const std::string compile = error_of([&] { g.compile({c}); });
  EXPECT_EQ(compile, "a result of type f32[4,N] has the shape (4,N): a symbolic dimension (N) is supported only as "
                     "the outermost axis of an array yet (put it first, e.g. with transpose)");
  // A graph without symbols next to one with them compiles as before.
  tcc::Graph h;
  auto s = h.input("s", tcc::f32, {2, 3});
  EXPECT_EQ(h.compile({tcc::transpose(s)}).inputs().size(), 1u);
}

}  // namespace
