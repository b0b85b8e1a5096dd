// split_reshaped_dims (ir/graph/split_reshaped_dims.h): "reshape, contract, reshape back"
// chains lose the reshapes between contractions, reshapes that split an axis or have extent-1
// axes are left alone, and every result matches the reference.
#include "support/einsum_check.h"

#include <tcc/tcc.h>

#include "driver/driver.h"
#include "frontend/graph_access.h"
#include "ir/graph/split_reshaped_dims.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tcc {
namespace {

namespace ref = tcc::ref;

ir::LoweredProgram plan(const Graph& g, const std::vector<Value>& outs) {
  std::vector<int> ids;
  for (const Value& v : outs) ids.push_back(v.id());
  return driver::plan_for_model(detail::graph_ir(g), ids, {}).lowered;
}

int reshapes_after_pass(const Graph& g, const Value& out) {
  ir::SplitGraph s = ir::split_reshaped_dims(detail::graph_ir(g), {out.id()});
  int n = 0;
  for (int id : ir::reachable_nodes(s.graph, s.outputs)) n += s.graph.node(id).op == ir::OpKind::reshape;
  return n;
}

int copy_steps(const ir::LoweredProgram& p) {
  int n = 0;
  for (const ir::KernelSpec& k : p.program.steps) n += k.kind == ir::StepKind::copy;
  return n;
}

// Inputs of the given shapes with the reference's small exact values, as feeds and as
// reference tensors.
struct Inputs {
  Graph g;
  std::vector<Value> values;
  std::vector<ref::RefTensor> refs;
  Feeds feeds;
  Inputs(DType dtype, const std::vector<Shape>& shapes) {
    for (size_t i = 0; i < shapes.size(); ++i) {
      const std::string name = std::string("x").append(std::to_string(i));
      values.push_back(g.input(name, dtype, shapes[i]));
      refs.push_back(ref::small_values(dtype, shapes[i], static_cast<int>(i)));
      feeds[name] = ref::to_tensor(refs.back());
    }
  }
};

// The four-index transform written as the formulations benchmark's mm4: each step reshapes
// the tensor to 2-D, contracts its leading axis with matmul(transpose_a, transpose_b), and
// reshapes back, the new axis last. Distinct extents catch a misplaced axis.
TEST(SplitReshapedDims, ReshapeMatmulChainIsPlannedAsOneContraction) {
  for (DType dtype : {f64, f32, i32}) {
    // I: [3,4,5,6]; C_s: [new_s, old_s].
    Inputs in(dtype, {{3, 4, 5, 6}, {7, 3}, {2, 4}, {3, 5}, {4, 6}});
    Value t = in.values[0];
    ref::RefTensor rt = in.refs[0];
    Shape shape{3, 4, 5, 6};
    for (int s = 0; s < 4; ++s) {
      const int64_t lead = shape[0], rest = shape[1] * shape[2] * shape[3];
      const Shape next{shape[1], shape[2], shape[3], in.refs[1 + s].shape[0]};
      t = reshape(matmul(reshape(t, {lead, rest}), in.values[1 + s], {.transpose_a = true, .transpose_b = true}), next);
      rt = ref::reshape(ref::matmul(ref::reshape(rt, {lead, rest}), in.refs[1 + s], {.transpose_a = true, .transpose_b = true}),
                        next);
      shape = next;
    }
    EXPECT_EQ(reshapes_after_pass(in.g, t), 0) << dtype_name(dtype);
    ir::LoweredProgram p = plan(in.g, {t});
    ASSERT_EQ(p.paths.size(), 1u) << dtype_name(dtype);  // one five-operand contraction, planned
    EXPECT_EQ(p.paths[0].path.steps.size(), 4u) << p.paths[0].path.why_single;
    EXPECT_EQ(copy_steps(p), 0) << p.program.str();
    ref::Comparison c = ref::compare(in.g.eval({t}, in.feeds)[0], rt);
    EXPECT_TRUE(c.ok) << dtype_name(dtype) << ": " << c.message;
  }
}

// Keras' Dense on a 3-D input, written by hand: one GEMM, no copy, the same kernel as matmul.
TEST(SplitReshapedDims, ReshapeMatmulReshapeBackIsOneGemm) {
  for (DType dtype : {f32, i64}) {
    Inputs in(dtype, {{4, 6, 8}, {8, 5}});
    Value y = reshape(matmul(reshape(in.values[0], {24, 8}), in.values[1]), {4, 6, 5});
    EXPECT_EQ(reshapes_after_pass(in.g, y), 0);
    ir::LoweredProgram p = plan(in.g, {y});
    ASSERT_EQ(p.program.steps.size(), 1u) << p.program.str();
    EXPECT_EQ(p.program.steps[0].kind, ir::StepKind::contraction);
    ref::Comparison c = ref::compare(in.g.eval({y}, in.feeds)[0], ref::matmul(in.refs[0], in.refs[1]));
    EXPECT_TRUE(c.ok) << c.message;
  }
}

TEST(SplitReshapedDims, ReshapesThatSplitAnAxisOrHaveUnitAxesAreLeft) {
  Inputs in(f64, {{24}, {6, 3}, {4, 1, 6}, {2, 3, 4}, {4, 5}, {6, 5}});
  // A split (24 -> 4 x 6) is not a merge of axes.
  Value split = matmul(reshape(in.values[0], {4, 6}), in.values[1]);
  EXPECT_EQ(reshapes_after_pass(in.g, split), 1);
  // Extent-1 axes make the axis runs ambiguous.
  Value unit = matmul(reshape(in.values[2], {4, 6}), in.values[1]);
  EXPECT_EQ(reshapes_after_pass(in.g, unit), 1);
  // A graph output keeps the axes it was given (a finer result would be copied into it).
  Value out = matmul(reshape(in.values[3], {6, 4}), in.values[4]);
  EXPECT_EQ(reshapes_after_pass(in.g, out), 1);
  // Merged summed axes are split even in an output (its shape stays): the other operand is
  // reshaped to match, the only reshape left.
  Value summed = matmul(reshape(in.values[3], {6, 4}), in.values[5], {.transpose_a = true});
  EXPECT_EQ(reshapes_after_pass(in.g, summed), 1);
  const std::vector<Value> outs{split, unit, out, summed};
  const std::vector<ref::RefTensor> want{
      ref::matmul(ref::reshape(in.refs[0], {4, 6}), in.refs[1]), ref::matmul(ref::reshape(in.refs[2], {4, 6}), in.refs[1]),
      ref::matmul(ref::reshape(in.refs[3], {6, 4}), in.refs[4]),
      ref::matmul(ref::reshape(in.refs[3], {6, 4}), in.refs[5], {.transpose_a = true})};
  std::vector<Tensor> got = in.g.eval(outs, in.feeds);
  for (size_t i = 0; i < outs.size(); ++i) {
    ref::Comparison c = ref::compare(got[i], want[i]);
    EXPECT_TRUE(c.ok) << i << ": " << c.message;
  }
}

// Both operands reshaped, each merging a free dim of the result (not a graph output): the
// product gets four output axes and is reshaped back for the transpose that reads it.
TEST(SplitReshapedDims, BothOperandsMergingFreeAxes) {
  for (DType dtype : {f64, i32}) {
    Inputs in(dtype, {{2, 3, 4}, {4, 5, 2}});
    Value y = matmul(reshape(in.values[0], {6, 4}), reshape(in.values[1], {4, 10}));
    Value z = transpose(y);
    ir::SplitGraph s = ir::split_reshaped_dims(detail::graph_ir(in.g), {z.id()});
    ir::verify_graph(s.graph, s.outputs);
    const ir::Node& reshaped = s.graph.node(s.graph.node(s.outputs[0]).inputs[0]);
    ASSERT_EQ(reshaped.op, ir::OpKind::reshape);
    EXPECT_EQ(s.graph.node(reshaped.inputs[0]).shape, (Shape{2, 3, 5, 2}));
    ref::Comparison c = ref::compare(
        in.g.eval({z}, in.feeds)[0],
        ref::transpose(ref::matmul(ref::reshape(in.refs[0], {6, 4}), ref::reshape(in.refs[1], {4, 10}))));
    EXPECT_TRUE(c.ok) << dtype_name(dtype) << ": " << c.message;
  }
}

}  // namespace
}  // namespace tcc
