// Graph IR, canonical contractions, loop IR and schedule: structure, not numbers (the
// differential tests check numbers).
#include <tcc/tcc.h>

#include "ir/kernel/kernel_spec.h"
#include "ir/graph/canonicalize.h"
#include "ir/graph/graph_ir.h"
#include "ir/loop/loop_ir.h"
#include "ir/loop/lower_to_loops.h"
#include "ir/schedule/schedule.h"
#include "ir/lower.h"
#include "driver/driver.h"
#include "frontend/graph_access.h"

#include <gtest/gtest.h>

namespace tcc {
namespace {

using ir::DimRole;
using ir::KernelProgram;

KernelProgram canonical(Graph& g, const std::vector<Value>& outs) {
  std::vector<int> ids;
  for (const Value& v : outs) ids.push_back(v.id());
  KernelProgram p = ir::canonicalize_contractions(detail::graph_ir(g), ids);
  ir::verify_program(p);
  return p;
}

std::string roles(const ir::KernelSpec& c) {
  std::string s;
  for (const auto& d : c.dims) s += ir::role_letter(d.role);
  return s;
}

TEST(Canonicalize, MatmulIsOneContractionWithGemmRolesAndStrides) {
  Graph g;
  auto a = g.input("a", f32, {2, 3, 4});
  auto b = g.input("b", f32, {2, 4, 5});
  KernelProgram p = canonical(g, {matmul(a, b)});
  ASSERT_EQ(p.steps.size(), 1u);
  const ir::KernelSpec& c = p.steps[0];
  EXPECT_EQ(roles(c), "BMNK");
  EXPECT_EQ(c.out_shape(), (Shape{2, 3, 5}));
  EXPECT_EQ(c.operands[0].strides, (std::vector<int64_t>{12, 4, 0, 1}));
  EXPECT_EQ(c.operands[1].strides, (std::vector<int64_t>{20, 0, 1, 5}));
  EXPECT_EQ(c.out_strides(), (std::vector<int64_t>{15, 5, 1, 0}));
}

TEST(Canonicalize, BroadcastBatchIsStrideZeroAndStaysABatchDim) {
  Graph g;
  auto a = g.input("a", f32, {1, 4, 5});
  auto b = g.input("b", f32, {3, 5, 6});
  KernelProgram p = canonical(g, {matmul(a, b)});
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].operands[0].strides[0], 0);
  EXPECT_EQ(p.steps[0].operands[1].strides[0], 30);
  EXPECT_EQ(p.steps[0].dims[0].role, DimRole::B);
}

TEST(Canonicalize, TransposeFeedingAContractionIsStridesNotACopy) {
  Graph g;
  auto a = g.input("a", f32, {4, 5});
  auto b = g.input("b", f32, {6, 5});
  KernelProgram p = canonical(g, {matmul(a, transpose(b))});
  ASSERT_EQ(p.steps.size(), 1u);  // no copy step for the transpose
  // b^T[k, n] = b[n, k]: k walks b with stride 1, n with stride 5.
  const ir::KernelSpec& c = p.steps[0];
  EXPECT_EQ(roles(c), "MNK");
  EXPECT_EQ(c.operands[1].strides, (std::vector<int64_t>{0, 5, 1}));
}

TEST(Canonicalize, ReshapeOfDenseDataIsFreeButOfATransposeCopies) {
  Graph g;
  auto a = g.input("a", f32, {4, 6});
  auto b = g.input("b", f32, {3, 8});
  KernelProgram dense = canonical(g, {matmul(reshape(a, {8, 3}), b)});
  EXPECT_EQ(dense.steps.size(), 1u);
  KernelProgram strided = canonical(g, {matmul(reshape(transpose(a), {8, 3}), b)});
  ASSERT_EQ(strided.steps.size(), 2u);
  EXPECT_EQ(strided.steps[0].operands.size(), 1u);  // the copy
  EXPECT_EQ(strided.steps[0].operands[0].strides, (std::vector<int64_t>{1, 6}));
}

TEST(Canonicalize, DiagonalIsASumOfStrides) {
  Graph g;
  auto a = g.input("a", f64, {5, 5});
  KernelProgram p = canonical(g, {einsum("ii->", {a})});
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].operands[0].strides, (std::vector<int64_t>{6}));
  EXPECT_EQ(roles(p.steps[0]), "K");
}

TEST(Canonicalize, OutputsAreDenseAndNeverAliasInputs) {
  Graph g;
  auto a = g.input("a", i32, {2, 3});
  KernelProgram p = canonical(g, {a, transpose(a), reshape(a, {3, 2})});
  ASSERT_EQ(p.outputs.size(), 3u);
  for (const ir::OutputView& o : p.outputs) EXPECT_EQ(p.buffers[o.buffer].kind, ir::BufferInfo::Kind::temp);
  EXPECT_EQ(p.outputs[1].shape, (Shape{3, 2}));
}

TEST(Canonicalize, IdenticalStepsAreComputedOnce) {
  Graph g;
  auto w = g.input("w", f32, {10, 12, 4, 5});
  auto k = g.input("k", f32, {10, 12, 5, 8});
  auto z = matmul(w, k);
  auto zl = batch_dot(w, k, {}, BatchDotConvention::legacy);  // the same contraction
  EXPECT_NE(z.id(), zl.id());
  KernelProgram p = canonical(g, {z, zl});
  EXPECT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.outputs[0].buffer, p.outputs[1].buffer);
}

TEST(Canonicalize, DeadNodesAreDropped) {
  Graph g;
  auto a = g.input("a", f32, {3, 3});
  auto unused = g.input("unused", f32, {7});
  (void)unused;
  (void)matmul(a, a, {.transpose_a = true});
  KernelProgram p = canonical(g, {dot(a, a)});
  EXPECT_EQ(p.steps.size(), 1u);
  for (const ir::BufferInfo& b : p.buffers) EXPECT_NE(b.name, "unused");
}

TEST(GraphIR, IdenticalSubexpressionsAreOneNode) {
  Graph g;
  auto a = g.input("a", f32, {3, 4});
  auto b = g.input("b", f32, {4, 5});
  EXPECT_EQ(dot(a, b), dot(a, b));
  EXPECT_NE(dot(a, b), matmul(a, b));
  EXPECT_EQ(transpose(a), transpose(a, std::vector<int64_t>{1, 0}).graph().value(transpose(a).id()));
}

TEST(GraphIR, PrinterShowsOpsTypesAndSpecs) {
  Graph g;
  auto a = g.input("a", f32, {3, 4});
  auto b = g.input("b", f32, {4, 5});
  auto c = dot(a, b);
  std::string s = ir::print_graph(detail::graph_ir(g), {c.id()});
  EXPECT_NE(s.find("%0 = input(\"a\") : f32[3,4]"), std::string::npos) << s;
  EXPECT_NE(s.find("%2 = dot(%0, %1) : f32[3,5]"), std::string::npos) << s;
  EXPECT_NE(s.find("outputs %2"), std::string::npos) << s;
}

TEST(VerifyProgram, RejectsOutOfBoundsStrides) {
  Graph g;
  auto a = g.input("a", f32, {4, 4});
  KernelProgram p = canonical(g, {matmul(a, a)});
  p.steps[0].operands[0].strides[0] = 5;  // row stride past the end of a 4x4 buffer
  EXPECT_THROW(ir::verify_program(p), InternalError);
}

namespace loop = ir::loop;
namespace sched = ir::sched;

ir::KernelSpec gemm(int64_t m, int64_t n, int64_t k, bool transposed_b) {
  ir::KernelSpec c;
  c.acc_dtype = c.out_dtype = f32;
  c.dims = {{m, DimRole::M}, {n, DimRole::N}, {k, DimRole::K}};
  c.out_axes = {0, 1};
  c.operands = {{0, {k, 0, 1}}, {1, transposed_b ? std::vector<int64_t>{0, k, 1} : std::vector<int64_t>{0, 1, n}}};
  c.out_buffer = 2;
  return c;
}

TEST(Schedule, GemmPutsTheContiguousNLoopInnermost) {
  sched::Schedule s = sched::plan_schedule(gemm(8, 32, 16, false));
  EXPECT_EQ(s.loop_order, (std::vector<int>{0, 2, 1}));
  EXPECT_FALSE(s.accumulate_in_register);
  EXPECT_TRUE(s.vectorize_innermost);
}

TEST(Schedule, TransposedBSumsInARegister) {
  sched::Schedule s = sched::plan_schedule(gemm(8, 32, 16, true));
  EXPECT_EQ(s.loop_order, (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(s.accumulate_in_register);
}

TEST(LoopIR, LoweredKernelVerifiesAndPrints) {
  ir::KernelSpec c = gemm(4, 8, 3, false);
  loop::LoopKernel k = loop::lower_to_loops(c, sched::plan_schedule(c), "k");
  EXPECT_NO_THROW(loop::verify_kernel(k));
  std::string s = loop::print_kernel(k);
  EXPECT_NE(s.find("kernel k(f32* out, f32* in0, f32* in1)"), std::string::npos) << s;
  EXPECT_NE(s.find("for.vectorized n1 in 0..8"), std::string::npos) << s;
}

TEST(LoopIR, VerifierCatchesAVarOutsideItsLoop) {
  auto out = std::make_shared<const loop::BufferDecl>(loop::BufferDecl{"out", f32, loop::BufferDecl::Scope::param, 0});
  auto i = std::make_shared<const loop::VarDecl>(loop::VarDecl{"i"});
  loop::LoopKernel k{"bad", f32, {out}, loop::store(out, loop::var_ref(i), loop::zero(f32))};
  EXPECT_THROW(loop::verify_kernel(k), InternalError);
  k.body = loop::for_loop(i, loop::int_imm(4), loop::ForKind::serial, k.body);
  EXPECT_NO_THROW(loop::verify_kernel(k));
}

TEST(LoopIR, VerifierCatchesATypeMismatch) {
  auto out = std::make_shared<const loop::BufferDecl>(loop::BufferDecl{"out", f64, loop::BufferDecl::Scope::param, 0});
  loop::LoopKernel k{"bad", f64, {out}, loop::store(out, loop::int_imm(0), loop::zero(f32))};
  EXPECT_THROW(loop::verify_kernel(k), InternalError);
  EXPECT_THROW(loop::add(loop::zero(f32), loop::zero(f64)), InternalError);
}

// Rewrites every integer constant `from` to `to`.
struct RewriteInt : loop::IRMutator {
  RewriteInt(int64_t from, int64_t to) : from(from), to(to) {}
  using loop::IRMutator::mutate;
  loop::Expr mutate(const loop::Expr& e) override {
    if (e->kind == loop::ExprKind::int_imm && e->int_value == from) return loop::int_imm(to);
    return loop::IRMutator::mutate(e);
  }
  int64_t from, to;
};

TEST(LoopIR, IfLtPrintsVerifiesAndMutatesBothBranches) {
  auto out = std::make_shared<const loop::BufferDecl>(loop::BufferDecl{"out", f32, loop::BufferDecl::Scope::param, 0});
  auto i = std::make_shared<const loop::VarDecl>(loop::VarDecl{"i"});
  loop::Stmt branch = loop::if_lt(loop::var_ref(i), loop::int_imm(8), loop::store(out, loop::var_ref(i), loop::zero(f32)),
                                  loop::store(out, loop::int_imm(8), loop::zero(f32)));
  loop::LoopKernel k{"k", f32, {out}, loop::for_loop(i, loop::int_imm(9), loop::ForKind::parallel, branch)};
  EXPECT_NO_THROW(loop::verify_kernel(k));
  EXPECT_NE(loop::print_kernel(k).find("if i < 8 {\n      out[i] = 0f\n    } else {\n      out[8] = 0f\n    }"),
            std::string::npos)
      << loop::print_kernel(k);
  // The else branch is visited and rebuilt like any child.
  std::string changed = loop::print_kernel({"k", f32, k.params, RewriteInt(8, 7).mutate(k.body)});
  EXPECT_NE(changed.find("if i < 7"), std::string::npos) << changed;
  EXPECT_NE(changed.find("out[7] = 0f"), std::string::npos) << changed;
  // A non-i64 condition is rejected.
  loop::LoopKernel bad{"bad", f32, {out}, loop::if_lt(loop::zero(f32), loop::zero(f32), branch, nullptr)};
  EXPECT_THROW(loop::verify_kernel(bad), InternalError);
}

TEST(LoopIR, MutatorKeepsUnchangedNodes) {
  ir::KernelSpec c = gemm(4, 8, 3, true);
  sched::Schedule one_row = sched::plan_schedule(c);
  one_row.dot_rows = 1;  // a loop over all 8 columns
  loop::LoopKernel k = loop::lower_to_loops(c, one_row, "k");
  loop::IRMutator identity;
  EXPECT_EQ(identity.mutate(k.body), k.body);

  // A mutator that rewrites every integer constant 8 to 9 rebuilds only the path to it.
  loop::Stmt changed = RewriteInt(8, 9).mutate(k.body);
  EXPECT_NE(changed, k.body);
  EXPECT_NE(loop::print_kernel({"k", f32, k.params, changed}).find("0..9"), std::string::npos);
}

TEST(Lower, SharesKernelsWithTheSameDescriptor) {
  Graph g;
  auto a = g.input("a", f32, {6, 7});
  auto b = g.input("b", f32, {7, 8});
  auto c = g.input("c", f32, {6, 7});
  ir::LoweredProgram p = driver::plan_for_model(detail::graph_ir(g), {matmul(a, b).id(), matmul(c, b).id()}, {}).lowered;
  EXPECT_EQ(p.program.steps.size(), 2u);
  EXPECT_EQ(p.kernels.size(), 1u);
  EXPECT_EQ(p.step_kernel, (std::vector<int>{0, 0}));
}

}  // namespace
}  // namespace tcc

namespace tcc {
namespace {

// One op table: the lexer's op names are its callable rows, a new row is not a contraction
// unless it says so, and the graph IR prints the table's names.
TEST(OpTable, IsTheOneSourceOfOpFacts) {
  EXPECT_EQ(ir::OpInfo{}.op_class, ir::OpClass::other);
  std::vector<std::string> callable;
  for (const ir::OpInfo& op : ir::op_table()) {
    EXPECT_EQ(&ir::op_info(op.kind), &op);
    if (op.callable) callable.emplace_back(op.name);
  }
  EXPECT_EQ(callable, (std::vector<std::string>{"dot", "batch_dot", "matmul", "tensordot", "einsum", "transpose", "reshape"}));
  EXPECT_TRUE(ir::is_contraction(ir::OpKind::np_matmul));
  EXPECT_FALSE(ir::is_contraction(ir::OpKind::reshape));
  EXPECT_FALSE(ir::is_contraction(ir::OpKind::input));
  EXPECT_EQ(ir::op_spelling(ir::OpKind::np_matmul), "@");
  EXPECT_EQ(ir::find_callable_op("np_matmul"), nullptr);
  ASSERT_NE(ir::find_callable_op("matmul"), nullptr);
  EXPECT_EQ(ir::find_callable_op("matmul")->attrs.size(), 4u);
}

}  // namespace
}  // namespace tcc

#include "ir/loop/outline_parallel.h"

namespace tcc {
namespace {

// outline_parallel: a parallel loop becomes a task that captures exactly the vars and buffers
// its body uses from around it (in order of first use), and the verifier holds the body to them.
TEST(LoopIR, OutlineParallelCapturesWhatTheBodyUses) {
  namespace loop = ir::loop;
  auto buffer = [](const char* name, int index) {
    return std::make_shared<const loop::BufferDecl>(loop::BufferDecl{name, f32, loop::BufferDecl::Scope::param, index});
  };
  auto out = buffer("out", 0), in0 = buffer("in0", 1), unused = buffer("in1", 2);
  auto o = std::make_shared<const loop::VarDecl>(loop::VarDecl{"o"}), i = std::make_shared<const loop::VarDecl>(loop::VarDecl{"i"});
  loop::Stmt body = loop::store(out, loop::add(loop::mul(loop::var_ref(o), loop::int_imm(4)), loop::var_ref(i)),
                                loop::load(in0, loop::var_ref(i)));
  loop::LoopKernel k{"k", f32, {out, in0, unused},
                     loop::for_loop(o, loop::int_imm(3), loop::ForKind::serial,
                                    loop::for_loop(i, loop::int_imm(4), loop::ForKind::parallel, body))};
  loop::LoopKernel outlined = loop::outline_parallel(k);
  loop::verify_kernel(outlined);
  const std::string s = loop::print_kernel(outlined);
  EXPECT_NE(s.find("for.parallel i in 0..4 { task k.par0 captures(o, out, in0)"), std::string::npos) << s;
  // A task that does not capture what its body uses fails verification.
  loop::Stmt task = outlined.body->body;
  ASSERT_EQ(task->kind, loop::StmtKind::parallel_task);
  loop::Stmt missing = loop::parallel_task({"k.bad", {}, {out, in0}}, i, loop::int_imm(4), task->body);
  EXPECT_THROW(loop::verify_kernel({"k", f32, {out, in0, unused}, loop::for_loop(o, loop::int_imm(3), loop::ForKind::serial, missing)}),
               InternalError);
}

}  // namespace
}  // namespace tcc
