// Any operand layout at GEMM speed, structurally: a batched matmul written with every
// permutation of its operands' and result's axes (batch innermost included) is planned as
// GEMM/GEMV kernels and copies, never a generic loop nest, and computes what the reference
// does; GEMV in both orientations, vector . vector and K = 1 likewise.
#include "support/einsum_check.h"

#include <tcc/tcc.h>

#include "driver/driver.h"
#include "frontend/graph_access.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace tcc {
namespace {

namespace ref = tcc::ref;

// Plans einsum(spec) over operands of these shapes, checks that no step is a generic loop
// nest, runs it and compares it with the reference.
void check(const std::string& spec, const std::vector<Shape>& shapes, DType dtype) {
  SCOPED_TRACE(spec + " " + std::string(dtype_name(dtype)));
  ref::Comparison cmp = ref::check_einsum(spec, shapes, dtype, [](const Graph& g, const Value& out) {
    driver::Plan plan = driver::plan(detail::graph_ir(g), {out.id()}, {}, /*build_loops=*/false);
    for (size_t s = 0; s < plan.lowered.program.steps.size(); ++s) {
      const ir::KernelSpec& c = plan.lowered.program.steps[s];
      const ir::sched::Schedule& sched = plan.lowered.kernels[plan.lowered.step_kernel[s]].schedule;
      const bool dot_products = sched.accumulate_in_register && sched.vectorize_innermost;
      bool sums = false;
      for (const ir::KernelDim& d : c.dims) sums = sums || d.role == ir::DimRole::K;
      const bool streams = !sums && sched.vectorize_innermost;  // outer and element-wise products
      EXPECT_TRUE(c.kind == ir::StepKind::copy || sched.gemm || dot_products || streams)
          << "step " << s << " is a generic loop nest: " << c.descriptor() << " schedule " << sched.str();
    }
  });
  EXPECT_TRUE(cmp.ok) << cmp.message;
}

TEST(Layouts, BatchedMatmulInEveryOperandAndResultLayout) {
  const std::map<char, int64_t> size{{'b', 9}, {'i', 17}, {'k', 12}, {'j', 20}};
  auto shape_of = [&](const std::string& labels) {
    Shape s;
    for (char c : labels) s.push_back(size.at(c));
    return s;
  };
  std::vector<std::string> xs{"bik"}, ys{"bkj"}, outs{"bij"};
  for (std::vector<std::string>* v : {&xs, &ys, &outs}) {
    std::string p = v->front();
    std::sort(p.begin(), p.end());
    v->clear();
    do v->push_back(p);
    while (std::next_permutation(p.begin(), p.end()));
  }
  std::mt19937 rng(7);
  // A random sixth of the 152 combinations with a batch-innermost axis and a tenth of the
  // other 64, per dtype.
  for (DType dtype : {f32, i64}) {
    for (const std::string& x : xs)
      for (const std::string& y : ys)
        for (const std::string& o : outs) {
          const bool batch_inner = x.back() == 'b' || y.back() == 'b' || o.back() == 'b';
          if (rng() % (batch_inner ? 6 : 10) != 0) continue;
          check(x + "," + y + "->" + o, {shape_of(x), shape_of(y)}, dtype);
        }
  }
}

TEST(Layouts, MemoryBoundShapes) {
  for (DType dtype : {f32, f64, i32, i64}) {
    check("ij,j->i", {{67, 45}, {45}}, dtype);          // a @ v: dot products along rows
    check("ji,j->i", {{45, 67}, {45}}, dtype);          // a stored transposed: a GEMV
    check("j,jk->k", {{45}, {45, 67}}, dtype);          // v @ a: a GEMV
    check("i,i->", {{1000}, {1000}}, dtype);            // vector . vector
    check("i,j->ij", {{37}, {41}}, dtype);              // outer product
    check("ik,kj->ij", {{37, 1}, {1, 41}}, dtype);      // K = 1
    check("ik,kj->ij", {{37, 3}, {3, 41}}, dtype);      // very small K
    check("bij,bj->bi", {{5, 33, 40}, {5, 40}}, dtype);  // a batch of GEMVs
  }
}

}  // namespace
}  // namespace tcc
