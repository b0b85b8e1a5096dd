// Contraction paths (ir/graph/contraction_path.h) and dim coalescing (ir/kernel/coalesce_dims.h):
// which path the search picks, the memory cap, greedy search past the exhaustive limit, and
// results against the float64 / exact-integer reference.
#include "support/einsum_check.h"

#include <tcc/tcc.h>

#include "driver/driver.h"
#include "frontend/graph_access.h"
#include "ir/graph/contraction_path.h"
#include "ir/kernel/coalesce_dims.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace tcc {
namespace {

namespace ref = tcc::ref;

ir::ContractionPath path_of(const Value& v, const ir::sched::TargetModel& model = {}) {
  const ir::Node& n = detail::graph_ir(v.graph()).node(v.id());
  std::vector<Shape> shapes;
  for (int in : n.inputs) shapes.push_back(detail::graph_ir(v.graph()).node(in).shape);
  return ir::plan_contraction_path(n.spec, shapes, n.dtype, model);
}

void expect_matches_reference(const std::string& spec, const std::vector<Shape>& shapes, DType dtype) {
  ref::Comparison c = ref::check_einsum(spec, shapes, dtype);
  EXPECT_TRUE(c.ok) << spec << " " << dtype_name(dtype) << ": " << c.message;
}

TEST(ContractionPath, SkewedChainContractsTheSmallPairFirst) {
  Graph g;
  Value a = g.input("a", f32, {1024, 16}), b = g.input("b", f32, {16, 1024}), c = g.input("c", f32, {1024, 16});
  ir::ContractionPath p = path_of(einsum("ij,jk,kl->il", {a, b, c}));
  ASSERT_EQ(p.steps.size(), 2u) << p.why_single;
  EXPECT_EQ(p.method, "optimal");
  EXPECT_EQ(p.steps[0].lhs, 1);  // b . c first: a 16 x 16 intermediate, not a . b's 1024 x 1024
  EXPECT_EQ(p.steps[0].rhs, 2);
  EXPECT_EQ(p.steps[0].shape, (Shape{16, 16}));
  EXPECT_EQ(p.steps[1].lhs, 0);
  EXPECT_EQ(p.steps[1].rhs, 3);  // operand 3: the first step's result
  EXPECT_EQ(p.total.flops, 2.0 * 16 * 1024 * 16 * 2);
  EXPECT_LT(p.total.cycles, p.single.cycles);
}

TEST(ContractionPath, FourIndexTransformIsFourGemmsThatKeepAxisRuns) {
  Graph g;
  Value C = g.input("C", f32, {24, 24}), I = g.input("I", f32, {24, 24, 24, 24});
  ir::ContractionPath p = path_of(einsum("pi,qj,ijkl,rk,sl->pqrs", {C, C, I, C, C}));
  ASSERT_EQ(p.steps.size(), 4u) << p.why_single;
  for (const ir::PathStep& s : p.steps) {
    EXPECT_EQ(s.form, ir::sched::KernelForm::gemm) << s.einsum;
    EXPECT_EQ(s.cost.flops, 2.0 * 24 * 24 * 24 * 24 * 24) << s.einsum;
  }
  // Each intermediate takes the new dim where the summed one was (loop dims are lettered
  // a.. in order of first appearance: p=a q=b r=c s=d i=e j=f k=g l=h).
  EXPECT_EQ(p.steps[0].einsum, "ae,efgh->afgh");
  EXPECT_EQ(p.steps[3].einsum.substr(p.steps[3].einsum.find("->")), "->abcd");
  EXPECT_EQ(p.largest_intermediate, 24 * 24 * 24 * 24);
}

TEST(ContractionPath, NoIntermediateAboveTheMemoryCap) {
  Graph g;
  Value a = g.input("a", f32, {64, 64}), b = g.input("b", f32, {64, 64}), c = g.input("c", f32, {64, 64});
  Value e = einsum("ij,jk,kl->il", {a, b, c});
  ir::sched::TargetModel model;
  EXPECT_EQ(path_of(e, model).steps.size(), 2u);
  EXPECT_EQ(path_of(e, model).memory_cap, 64 * 64 * 4);  // the default: the largest operand or result
  model.max_intermediate_bytes = 64 * 64 * 4 - 1;
  ir::ContractionPath capped = path_of(e, model);
  EXPECT_TRUE(capped.steps.empty());
  EXPECT_EQ(capped.method, "single");
  EXPECT_NE(capped.why_single.find("memory cap of 16383 bytes"), std::string::npos) << capped.why_single;
  // Unplanned, the contraction still computes the right thing.
  Feeds feeds{{"a", Tensor::from<float>({64, 64}, std::vector<float>(64 * 64, 0.5f))},
              {"b", Tensor::from<float>({64, 64}, std::vector<float>(64 * 64, 0.25f))},
              {"c", Tensor::from<float>({64, 64}, std::vector<float>(64 * 64, 2.0f))}};
  Tensor r = detail::compile_for_model(g, {e}, model)(feeds)[0];
  EXPECT_FLOAT_EQ(r.data_as<float>()[0], 0.5f * 0.25f * 2.0f * 64 * 64);
}

TEST(ContractionPath, GreedyPastTheExhaustiveLimit) {
  Graph g;
  std::vector<Value> chain;
  std::string spec;
  const std::string letters = "abcdefghijklm";
  for (int i = 0; i < 11; ++i) {
    chain.push_back(g.input(std::string("m").append(std::to_string(i)), f64, {i % 2 ? 3 : 40, i % 2 ? 40 : 3}));
    spec += std::string(i ? "," : "") + letters[i] + letters[i + 1];
  }
  spec += "->al";
  chain.back() = g.input("last", f64, {40, 5});
  ir::sched::TargetModel model;
  ir::ContractionPath p = path_of(einsum(spec, chain), model);
  EXPECT_EQ(p.method, "greedy");
  EXPECT_EQ(p.steps.size(), 10u);
  // Greedy paths compute the same thing (10 operands: past the exhaustive search and past
  // what one kernel takes, so always split).
  for (DType dtype : {f64, i32})
    expect_matches_reference("ab,bc,cd,de,ef,fg,gh,hi,ij,jk->ak",
                             {{3, 4}, {4, 2}, {2, 5}, {5, 3}, {3, 3}, {3, 6}, {6, 2}, {2, 4}, {4, 3}, {3, 5}}, dtype);
  model.tuning.path_exhaustive_max_operands = 11;
  ir::ContractionPath best = path_of(einsum(spec, chain), model);
  EXPECT_EQ(best.method, "optimal");
  EXPECT_LE(best.total.cycles, p.total.cycles * (1 + 1e-12));
}

TEST(ContractionPath, PlannedEinsumsMatchTheReference) {
  for (DType dtype : {f32, f64, i32, i64}) {
    expect_matches_reference("pi,qj,ijkl,rk,sl->pqrs", {{5, 7}, {6, 7}, {7, 7, 7, 7}, {4, 7}, {3, 7}}, dtype);
    expect_matches_reference("ij,jk,kl->il", {{9, 17}, {17, 3}, {3, 33}}, dtype);
    expect_matches_reference("...ij,...jk,...kl->...il", {{2, 1, 5, 6}, {3, 6, 4}, {1, 4, 7}}, dtype);
    // Shared and repeated labels: a diagonal, a label in every operand, one summed in one.
    expect_matches_reference("bii,bij,bjk,k,kz->bz", {{4, 6, 6}, {4, 6, 5}, {4, 5, 8}, {8}, {8, 2}}, dtype);
    // Six operands, an implicit output, a size-1 axis broadcasting against its label.
    expect_matches_reference("ab,bc,cd,de,ef,fa", {{3, 4}, {4, 5}, {1, 6}, {6, 2}, {2, 3}, {3, 3}}, dtype);
  }
}

TEST(MergeChains, AChainWrittenPairwiseIsReplannedAsOne) {
  Graph g;
  Value a = g.input("a", f32, {1024, 16}), b = g.input("b", f32, {16, 1024}), c = g.input("c", f32, {1024, 16});
  auto plan = [&](std::vector<Value> outs) {
    std::vector<int> ids;
    for (const Value& v : outs) ids.push_back(v.id());
    return driver::plan_for_model(detail::graph_ir(g), ids, {}).lowered;
  };
  for (Value chain : {matmul(matmul(a, b), c), dot(dot(a, b), c), np::matmul(np::matmul(a, b), c)}) {
    ir::LoweredProgram p = plan({chain});
    ASSERT_EQ(p.paths.size(), 1u);
    EXPECT_EQ(p.paths[0].node, chain.id());  // reported against the caller's node
    ASSERT_EQ(p.program.steps.size(), 2u);
    EXPECT_EQ(p.program.steps[0].out_shape(), (Shape{16, 16}));  // b . c first
  }
  // An intermediate that is also an output, or read twice, is computed as written.
  Value ab = matmul(a, b);
  EXPECT_TRUE(plan({matmul(ab, c), ab}).paths.empty());
  EXPECT_TRUE(plan({matmul(ab, transpose(ab))}).paths.empty());
  // The user's order bounds the memory cap: a tiny cap still leaves a path.
  ir::sched::TargetModel tiny;
  tiny.max_intermediate_bytes = 4;
  ir::LoweredProgram capped = driver::plan_for_model(detail::graph_ir(g), {matmul(matmul(a, b), c).id()}, tiny).lowered;
  ASSERT_EQ(capped.paths.size(), 1u);
  EXPECT_EQ(capped.paths[0].path.steps.size(), 2u) << capped.paths[0].path.why_single;
}

TEST(ContractionPath, MoreOperandsThanAKernelTakesAreAlwaysSplit) {
  Graph g;
  std::vector<Value> xs;
  for (int i = 0; i < 7; ++i) xs.push_back(g.input(std::string("x").append(std::to_string(i)), f32, {2}));
  ir::sched::TargetModel model;
  model.max_intermediate_bytes = 1;  // no intermediate fits, and one loop nest would be cheaper
  ir::ContractionPath p = path_of(einsum("a,a,a,a,a,a,a->a", xs), model);
  EXPECT_EQ(p.steps.size(), 6u) << p.why_single;
  expect_matches_reference("a,a,a,ab,a,a,a->b", {{3}, {3}, {3}, {3, 2}, {3}, {3}, {1}}, f64);
}

TEST(CoalesceDims, RunsThatEveryOperandWalksAsOneBecomeOneDim) {
  Graph g;
  Value x = g.input("x", f32, {6, 4, 5}), y = g.input("y", f32, {4, 5, 7});
  ir::LoweredProgram p = driver::plan_for_model(detail::graph_ir(g), {tensordot(x, y, 2).id()}, {}).lowered;
  ASSERT_EQ(p.program.steps.size(), 1u);
  const ir::KernelSpec& c = p.program.steps[0];
  ASSERT_EQ(c.dims.size(), 3u);  // M 6, N 7, one K of 4 x 5
  int64_t k = 0;
  for (const ir::KernelDim& d : c.dims)
    if (d.role == ir::DimRole::K) k = d.extent;
  EXPECT_EQ(k, 20);
  // A batch of (10, 12) matrices is one batch loop; a broadcast batch dim stays apart.
  Value w = g.input("w", f32, {10, 12, 4, 5}), v = g.input("v", f32, {10, 12, 5, 8}), u = g.input("u", f32, {1, 12, 5, 8});
  EXPECT_EQ(driver::plan_for_model(detail::graph_ir(g), {matmul(w, v).id()}, {}).lowered.program.steps[0].dims.size(), 4u);
  EXPECT_EQ(driver::plan_for_model(detail::graph_ir(g), {matmul(w, u).id()}, {}).lowered.program.steps[0].dims.size(), 5u);
}

}  // namespace
}  // namespace tcc
