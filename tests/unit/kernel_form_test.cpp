// The widened kernel form: symbols, per-operand dtypes, an epilogue slot, copy steps, and
// kernels that take scalar parameters.
#include <tcc/tcc.h>

#include "codegen/codegen.h"
#include "driver/driver.h"
#include "frontend/graph_access.h"
#include "ir/kernel/kernel_spec.h"
#include "ir/loop/loop_ir.h"
#include "ir/schedule/schedule.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace tcc {
namespace {

using ir::DimRole;
using ir::KernelSpec;

KernelSpec matmul_spec(int64_t m, int64_t n, int64_t k) {
  KernelSpec c;
  c.acc_dtype = c.out_dtype = f32;
  c.dims = {{m, DimRole::M}, {n, DimRole::N}, {k, DimRole::K}};
  c.out_axes = {0, 1};
  c.operands = {{0, {k, 0, 1}, f32}, {1, {0, 1, n}, f32}};
  c.out_buffer = 2;
  return c;
}

TEST(KernelForm, TodaysSpecsKeepTheirDescriptor) {
  KernelSpec c = matmul_spec(4, 8, 3);
  EXPECT_EQ(c.uniform_dtype(), f32);
  EXPECT_EQ(c.descriptor(), "dtype=f32 roles=MNK extents=4,8,3 out=0,1 strides=[3,0,1] [0,1,8]");
  EXPECT_EQ(ir::unsupported_by_lowering(c), "");
  EXPECT_TRUE(c.scalar_params().empty());
}

TEST(KernelForm, WiderSpecsSayWhatTheyAreAndWhyTheyCannotBeLoweredYet) {
  KernelSpec mixed = matmul_spec(4, 8, 3);
  mixed.operands[1].dtype = f64;
  mixed.acc_dtype = f64;
  EXPECT_FALSE(mixed.uniform_dtype().has_value());
  EXPECT_NE(mixed.descriptor().find("dtype=in(f32,f64) acc(f64) out(f32)"), std::string::npos) << mixed.descriptor();
  EXPECT_NE(ir::unsupported_by_lowering(mixed).find("dtypes"), std::string::npos);
  std::string why;
  EXPECT_FALSE(ir::sched::plan_gemm(mixed, {}, &why).has_value());
  EXPECT_NE(why.find("dtypes"), std::string::npos);

  KernelSpec symbolic = matmul_spec(4, 8, 3);
  symbolic.dims[0].symbol = "N";
  symbolic.dims[2].symbol = "N";
  EXPECT_EQ(symbolic.scalar_params(), std::vector<std::string>{"N"});
  EXPECT_NE(symbolic.descriptor().find("extents=N,8,N"), std::string::npos) << symbolic.descriptor();
  EXPECT_EQ(ir::unsupported_by_lowering(symbolic), "");  // symbolic extents lower (runtime loop bounds)

  KernelSpec fused = matmul_spec(4, 8, 3);
  fused.epilogue = {{0, {}, {}}, {-1, ir::ElemOp::relu, {0}}};
  EXPECT_NE(fused.descriptor().find("epilogue=%0=x0 %1=relu(%0)"), std::string::npos) << fused.descriptor();
  EXPECT_NE(fused.descriptor(), matmul_spec(4, 8, 3).descriptor());
  EXPECT_EQ(ir::unsupported_by_lowering(fused), "");
}

// A strided graph output is materialised by a copy step, not by a one-operand contraction.
TEST(KernelForm, CopiesAreStepsOfTheirOwnKind) {
  Graph g;
  auto a = g.input("a", f32, {3, 4});
  ir::KernelProgram p = driver::plan_for_model(detail::graph_ir(g), {transpose(a).id()}, {}).lowered.program;
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].kind, ir::StepKind::copy);
  EXPECT_NE(p.steps[0].descriptor().find("kind=copy"), std::string::npos);
  EXPECT_NE(p.str().find("= copy f32"), std::string::npos) << p.str();
  Tensor in = Tensor::from<float>({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  Tensor out = g.compile({transpose(a)})({{"a", in}})[0];
  EXPECT_EQ(out.to_vector<float>(), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
}

// A kernel argument can be an i64 scalar: here the trip count of its loop.
TEST(KernelForm, KernelsTakeScalarParameters) {
  using namespace ir::loop;
  LoopKernel k;
  k.name = "tcc_scalar_param_test";
  k.dtype = f32;
  auto buffer = [](const char* name, int index) {
    return std::make_shared<const BufferDecl>(BufferDecl{name, f32, BufferDecl::Scope::param, index});
  };
  k.params = {buffer("out", 0), buffer("in0", 1)};
  Var n = std::make_shared<const VarDecl>(VarDecl{"n"}), i = std::make_shared<const VarDecl>(VarDecl{"i"});
  k.scalar_params = {n};
  Expr x = load(k.params[1], var_ref(i));
  k.body = for_loop(i, var_ref(n), ForKind::serial, store(k.params[0], var_ref(i), mul(x, x)));
  verify_kernel(k);
  EXPECT_NE(print_kernel(k).find("kernel tcc_scalar_param_test(f32* out, f32* in0, i64 n)"), std::string::npos);
  codegen::KernelEntry entry = codegen::link_object(codegen::compile_object(k), k.name);
  std::vector<float> in{1, 2, 3, 4, 5, 6, 7, 8}, out(8, -1);
  void* args[] = {out.data(), in.data(), reinterpret_cast<void*>(static_cast<intptr_t>(5))};
  entry(args);
  EXPECT_EQ(out, (std::vector<float>{1, 4, 9, 16, 25, -1, -1, -1}));
  // A var that is not a parameter is still caught.
  k.scalar_params.clear();
  EXPECT_THROW(verify_kernel(k), InternalError);
}

}  // namespace
}  // namespace tcc
