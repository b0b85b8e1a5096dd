// The GEMM schedule (register-tiled micro-kernel, in place or packed) against a plain
// double-precision loop, at the sizes where tiles and cache blocks have edges, under several
// target models: the host's, one that forces packing with tiny blocks, AVX2-like and SSE-like.
#include <tcc/tcc.h>

#include "codegen/codegen.h"
#include "ir/schedule/schedule.h"
#include "ir/lower.h"
#include "driver/driver.h"
#include "frontend/graph_access.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tcc {
namespace {

using ir::sched::TargetModel;

// The GEMM plan of matmul(a, b) for `target`.
ir::sched::GemmPlan plan_matmul(const TargetModel& target, DType dt, Shape sa, Shape sb, MatmulFlags flags = {}) {
  Graph g;
  auto a = g.input("a", dt, sa), b = g.input("b", dt, sb);
  ir::LoweredProgram p = driver::plan_for_model(detail::graph_ir(g), {matmul(a, b, flags).id()}, target).lowered;
  EXPECT_TRUE(p.kernels[0].schedule.gemm.has_value());
  return p.kernels[0].schedule.gemm.value_or(ir::sched::GemmPlan{});
}

bool host_avx512() {
  return codegen::host_target().vector_bits >= 512;
}

struct Model {
  const char* name;
  TargetModel target;
};

std::vector<Model> models() {
  TargetModel host;
  host.hw.vector_bits = 512, host.hw.vector_registers = 32;
  TargetModel tiny = host;  // packs everything, many blocks in every direction
  tiny.hw.l2_bytes = 2048, tiny.limits.max_kc = 7, tiny.limits.max_mc = 12, tiny.limits.max_nc = 48, tiny.limits.force_packing = true;
  TargetModel avx2;
  avx2.hw.vector_bits = 256, avx2.hw.vector_registers = 16;
  TargetModel avx2_tiny = avx2;
  avx2_tiny.hw.l2_bytes = 1024, avx2_tiny.limits.max_kc = 5, avx2_tiny.limits.max_mc = 12, avx2_tiny.limits.max_nc = 16, avx2_tiny.limits.force_packing = true;
  TargetModel sse;
  sse.hw.vector_bits = 128, sse.hw.vector_registers = 16;
  std::vector<Model> all{{"avx2", avx2}, {"avx2-tiny-blocks", avx2_tiny}, {"sse", sse}};
  if (host_avx512()) all.insert(all.begin(), {{"avx512", host}, {"avx512-tiny-blocks", tiny}});
  return all;
}

template <typename T>
Tensor pattern(const Shape& shape, int seed) {
  Tensor t(dtype_of<T>::value, shape);
  T* p = t.data_as<T>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(((i * 37 + seed * 11) % 19) - 9) / static_cast<T>(4);
  return t;
}

// C[b] = op(A[b or 0]) @ op(B[b or 0]) with plain loops in double.
template <typename T>
std::vector<double> reference(const Tensor& a, const Tensor& b, int64_t batch, int64_t M, int64_t N, int64_t K,
                              bool ta, bool tb, bool a_broadcast) {
  std::vector<double> c(batch * M * N, 0.0);
  const T* pa = a.data_as<T>();
  const T* pb = b.data_as<T>();
  for (int64_t s = 0; s < batch; ++s)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double sum = 0;
        for (int64_t k = 0; k < K; ++k) {
          int64_t ai = (a_broadcast ? 0 : s * M * K) + (ta ? k * M + i : i * K + k);
          int64_t bi = s * K * N + (tb ? j * K + k : k * N + j);
          sum += static_cast<double>(pa[ai]) * static_cast<double>(pb[bi]);
        }
        c[(s * M + i) * N + j] = sum;
      }
  return c;
}

struct Case {
  int64_t batch, M, N, K;
  bool ta = false, tb = false, a_broadcast = false;
};

template <typename T>
void check_case(const Case& cs, const Model& model) {
  Graph g;
  Shape sa = cs.ta ? Shape{cs.K, cs.M} : Shape{cs.M, cs.K};
  Shape sb = cs.tb ? Shape{cs.N, cs.K} : Shape{cs.K, cs.N};
  sa.insert(sa.begin(), cs.a_broadcast ? 1 : cs.batch);
  sb.insert(sb.begin(), cs.batch);
  auto a = g.input("a", dtype_of<T>::value, sa), b = g.input("b", dtype_of<T>::value, sb);
  auto c = matmul(a, b, {.transpose_a = cs.ta, .transpose_b = cs.tb});
  CompiledGraph fn = detail::compile_for_model(g, {c}, model.target);
  Tensor ta = pattern<T>(sa, 1), tb = pattern<T>(sb, 2);
  Tensor out = fn({{"a", ta}, {"b", tb}})[0];
  std::vector<double> want = reference<T>(ta, tb, cs.batch, cs.M, cs.N, cs.K, cs.ta, cs.tb, cs.a_broadcast);
  const T* got = out.data_as<T>();
  const double eps = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  std::string what = testing::PrintToString(std::vector<int64_t>{cs.batch, cs.M, cs.N, cs.K}) +
                     (cs.ta ? " ta" : "") + (cs.tb ? " tb" : "") + (cs.a_broadcast ? " a-broadcast" : "") + " on " +
                     model.name;
  int reported = 0;
  for (size_t i = 0; i < want.size() && reported < 5; ++i) {
    // Operands are multiples of 1/4 below 3: every product and partial sum is exact in f64;
    // in f32, allow the rounding of K additions.
    double tol = std::is_integral_v<T> ? 0 : eps * 9 * 9 / 16.0 * static_cast<double>(cs.K) * 4;
    if (std::abs(static_cast<double>(got[i]) - want[i]) > tol) {
      ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", want " << want[i];
      ++reported;
    }
  }
}

std::vector<Case> edge_cases() {
  std::vector<Case> cases;
  // Around the register tiles (8x48 / 6x64 / 6x16 / 12x32 ...), the test blocks (kc 5-7,
  // mc 12, nc 16-64) and the default kc 384: 1, primes, one less and one more.
  for (int64_t m : {1, 5, 7, 8, 9, 13})
    for (int64_t n : {1, 15, 16, 17, 47, 49, 63, 65})
      for (int64_t k : {1, 6, 7, 8, 31}) cases.push_back({1, m, n, k});
  cases.push_back({1, 97, 113, 385});
  // One row (GEMV-like), long K: swept in blocks of 64 over every column tile.
  cases.push_back({1, 1, 100, 300});
  cases.push_back({3, 1, 50, 129});
  cases.push_back({1, 1, 1000, 65});
  cases.push_back({1, 64, 64, 64});
  cases.push_back({3, 7, 33, 9});
  cases.push_back({2, 9, 17, 13, true, false});
  cases.push_back({2, 9, 17, 13, false, true});
  cases.push_back({2, 9, 17, 13, true, true});
  cases.push_back({4, 6, 20, 11, false, false, true});
  // Batches of small matrices past the models' L2 (1 MiB): tiles prefetch the next matrix's
  // A (rows, or columns when transposed) and their share of its B; with a broadcast A only B.
  cases.push_back({600, 13, 17, 9});
  cases.push_back({600, 13, 17, 9, true, false});
  cases.push_back({600, 13, 17, 9, false, false, true});
  // A batch of transposed B past L2, packed one block per matrix: the tiles prefetch the next
  // matrix's B (with an edge row and an edge column panel).
  cases.push_back({600, 13, 17, 9, false, true});
  // Few rows and a B past L2: in place, column tiles outermost, K in blocks through every row
  // tile (edge rows, edge columns, a short last K block; a batch of two).
  cases.push_back({1, 37, 300, 1000});
  cases.push_back({2, 30, 97, 1500, false, false, true});
  return cases;
}

class GemmSchedule : public ::testing::TestWithParam<Model> {};

TEST_P(GemmSchedule, F32MatchesReferenceAtEveryEdge) {
  for (const Case& cs : edge_cases()) check_case<float>(cs, GetParam());
}
TEST_P(GemmSchedule, F64MatchesReference) {
  for (const Case& cs : {Case{1, 9, 17, 10}, Case{2, 13, 25, 33, true, true}, Case{1, 1, 9, 8}, Case{400, 7, 9, 20},
                         Case{1, 20, 130, 600}})
    check_case<double>(cs, GetParam());
}
TEST_P(GemmSchedule, IntegersAreExact) {
  for (const Case& cs : {Case{1, 9, 17, 10}, Case{2, 13, 49, 7, false, true}}) {
    check_case<int32_t>(cs, GetParam());
    check_case<int64_t>(cs, GetParam());
  }
}

// A transposed B is packed by lanes x lanes transposes in registers, then its K block's last
// kc % lanes rows one by one. With kc capped at 40, K = 97 runs in blocks of 33, 33, 31: whole
// lane blocks per K block differ between the blocks (2, 2, 1 of 16; 4, 4, 3 of 8).
TEST_P(GemmSchedule, TransposedBPackedByLaneBlocksMatchesReference) {
  Model model = GetParam();
  if (!model.target.limits.max_kc) model.target.limits.max_kc = 40;
  const std::vector<Case> cases{{1, 13, 70, 97, false, true},
                                {3, 7, 33, 40, false, true},
                                {1, 20, 64, 32, false, true},
                                {2, 5, 17, 100, true, true}};
  for (const Case& cs : cases) {
    check_case<float>(cs, model);
    check_case<double>(cs, model);
    check_case<int32_t>(cs, model);
    check_case<int64_t>(cs, model);
  }
  // The path is taken wherever kc reaches a vector's lanes.
  Graph g;
  auto a = g.input("a", f32, {13, 97}), b = g.input("b", f32, {70, 97});
  ir::LoweredProgram p = driver::plan_for_model(detail::graph_ir(g), {matmul(a, b, {.transpose_b = true}).id()}, model.target).lowered;
  const std::string loops = ir::loop::print_kernel(ir::kernel_loops(p.kernels[0]));
  const int lanes = model.target.hw.vector_bits / 32;
  const bool expected = model.target.limits.max_kc >= lanes;
  EXPECT_EQ(loops.find("transpose_block " + std::to_string(lanes) + "x" + std::to_string(lanes)) != std::string::npos,
            expected)
      << loops;
}

INSTANTIATE_TEST_SUITE_P(Models, GemmSchedule, ::testing::ValuesIn(models()),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (char& ch : n) if (ch == '-') ch = '_';
                           return n;
                         });

TEST(GemmPlan, PicksTheGemmScheduleAndSaysWhyNot) {
  Graph g;
  auto a = g.input("a", f32, {64, 32}), b = g.input("b", f32, {32, 48});
  ir::LoweredProgram p = driver::plan_for_model(detail::graph_ir(g), {matmul(a, b).id()}, models()[0].target).lowered;
  ASSERT_TRUE(p.kernels[0].schedule.gemm.has_value());
  // (5,32)·(32,) is a GEMV with the roles swapped: y plays A (one row), x^T plays B.
  auto x = g.input("x", f32, {32, 5}), y = g.input("y", f32, {32});
  ir::LoweredProgram gemv = driver::plan_for_model(detail::graph_ir(g), {dot(transpose(x), y).id()}, models()[0].target).lowered;
  ASSERT_TRUE(gemv.kernels[0].schedule.gemm.has_value());
  EXPECT_EQ(gemv.kernels[0].schedule.gemm->a, 1);
  EXPECT_EQ(gemv.kernels[0].schedule.gemm->m, -1);
  // (5,32)·(32,) with the matrix row-major (a @ v): B would be it transposed, contiguous along
  // k; dot products along its rows (the simple schedule, summing in a register) read it once.
  auto r = g.input("r", f32, {5, 32});
  ir::LoweredProgram av = driver::plan_for_model(detail::graph_ir(g), {np::matmul(r, y).id()}, models()[0].target).lowered;
  EXPECT_FALSE(av.kernels[0].schedule.gemm.has_value());
  EXPECT_TRUE(av.kernels[0].schedule.accumulate_in_register);
  std::string why_av;
  EXPECT_FALSE(ir::sched::plan_gemm(av.program.steps[0], models()[0].target, &why_av).has_value());
  EXPECT_NE(why_av.find("dot products"), std::string::npos) << why_av;
  // Row-wise dot products: the output's column dim is read by both operands, so no GEMM.
  std::string why;
  auto u = g.input("u", f32, {6, 32});
  ir::LoweredProgram q = driver::plan_for_model(detail::graph_ir(g), {einsum("ij,ij->i", {u, u}).id()}, models()[0].target).lowered;
  EXPECT_FALSE(q.kernels[0].schedule.gemm.has_value());
  EXPECT_FALSE(ir::sched::plan_gemm(q.program.steps[0], models()[0].target, &why).has_value());
  EXPECT_FALSE(why.empty());
}

// Packed batches run their matrices on the threads when the packed blocks fit a task's stack.
TEST(GemmPlan, PackedBatchesGoParallelOverTheBatchWithSmallBlocks) {
  TargetModel target = models()[0].target;
  auto plan = [&](Shape sa, Shape sb) { return plan_matmul(target, f32, sa, sb, {.transpose_b = true}); };
  ir::sched::GemmPlan attention = plan({96, 128, 64}, {96, 128, 64});  // 32 KiB blocks
  EXPECT_TRUE(attention.pack);
  EXPECT_EQ(attention.parallel, ir::sched::GemmPlan::Parallel::outer);
  EXPECT_EQ(ir::sched::Schedule{.gemm = attention}.scratch_bytes(), 0);
  ir::sched::GemmPlan large = plan({4, 512, 512}, {4, 512, 512});  // 512 KiB blocks
  EXPECT_TRUE(large.pack);
  EXPECT_EQ(large.parallel, ir::sched::GemmPlan::Parallel::row_panels);
  EXPECT_GT(ir::sched::Schedule{.gemm = large}.scratch_bytes(), 0);
}

// Packed on threads, a GEMM of few rows (a K block of A within a quarter of L2) gives the
// threads column panels, each reading the B panels it packed; more rows give them row panels.
TEST(GemmPlan, FewRowsShareColumnPanelsManyRowsRowPanels) {
  TargetModel target = models()[0].target;
  target.threads = true;
  target.pool_threads = 2;
  target.hw.l2_bytes = 2 << 20;
  auto plan = [&](Shape sa, Shape sb) { return plan_matmul(target, f32, sa, sb, {}); };
  const ir::sched::GemmPlan few = plan({256, 1024}, {1024, 1024});
  EXPECT_TRUE(few.pack);
  EXPECT_EQ(few.parallel, ir::sched::GemmPlan::Parallel::column_panels);
  const ir::sched::GemmPlan many = plan({1024, 1024}, {1024, 1024});
  EXPECT_TRUE(many.pack);
  EXPECT_EQ(many.parallel, ir::sched::GemmPlan::Parallel::row_panels);
}

// Packed with A read in place, rows that tiles do not divide end in a full tile moved up to the
// last row (no edge tile to compile).
TEST(GemmPlan, PackedEdgeRowsAreAFullTileMovedUp) {
  const TargetModel target = models()[0].target;
  const ir::sched::GemmPlan edge = plan_matmul(target, f32, {1003, 1009}, {1009, 1001});
  ASSERT_TRUE(edge.pack);
  ASSERT_FALSE(edge.pack_a);
  ASSERT_NE(1003 % edge.mr, 0);
  EXPECT_TRUE(edge.shift_edge_rows);
  const int64_t whole = 1003 / edge.mr * edge.mr;  // rows the tiles divide
  EXPECT_FALSE(plan_matmul(target, f32, {whole, 1009}, {1009, 1001}).shift_edge_rows);
}

// K blocks are multiples of the k steps when those divide K (no k loop of single steps after the
// unrolled one), within the K block cap; a cap below the k steps leaves the blocks as they are.
TEST(GemmPlan, KBlocksAreMultiplesOfTheKStepsWhenTheyDivideK) {
  TargetModel target = models()[0].target;
  target.limits.force_packing = true;
  auto kc = [&](int64_t K, int64_t max_kc) {
    target.limits.max_kc = max_kc;
    return plan_matmul(target, f32, {64, K}, {K, 64}, {}).kc;
  };
  ASSERT_EQ(target.tuning.k_steps, 4);
  ASSERT_EQ(target.tuning.max_kc_4_byte, 768);
  EXPECT_EQ(kc(2060, 0), 688);  // 688 + 688 + 684, not 3 x 686.7
  EXPECT_EQ(kc(2059, 0), 687);  // 4 does not divide K: equal blocks as before
  EXPECT_EQ(kc(20, 7), 4);      // rounding up would pass the cap of 7: down to 4
  EXPECT_EQ(kc(12, 3), 3);      // a cap below the k steps: blocks of 3, never 0
}

// Which batched kernels prefetch the next matrix: small matrices whose batch outgrows L2.
TEST(GemmPlan, PrefetchesTheNextMatrixOnlyForSmallMatricesPastL2) {
  TargetModel target = models()[0].target;
  target.hw.l2_bytes = 2 << 20;
  auto plan = [&](DType dt, Shape sa, Shape sb) { return plan_matmul(target, dt, sa, sb); };
  EXPECT_TRUE(plan(f32, {256, 32, 32}, {256, 32, 32}).prefetch_next);     // 3 MiB of 4 KiB matrices
  EXPECT_TRUE(plan(f32, {1024, 16, 16}, {1024, 16, 16}).prefetch_next);   // 3 MiB of 1 KiB matrices
  EXPECT_FALSE(plan(f32, {64, 32, 32}, {64, 32, 32}).prefetch_next);      // stays in L2
  EXPECT_FALSE(plan(f32, {64, 64, 64}, {64, 64, 64}).prefetch_next);      // 16 KiB matrices
  EXPECT_FALSE(plan(f64, {256, 32, 32}, {256, 32, 32}).prefetch_next);    // 8 KiB matrices
  EXPECT_FALSE(plan(f32, {10, 12, 4, 5}, {10, 12, 5, 8}).prefetch_next);  // the seed's: in L1
  EXPECT_FALSE(plan(f32, {32, 32}, {32, 32}).prefetch_next);              // no batch
  // On 2 threads what counts is each thread's half of the batch.
  target.pool_threads = 2;
  EXPECT_FALSE(plan(f32, {256, 32, 32}, {256, 32, 32}).prefetch_next);    // 1.5 MiB each
  EXPECT_TRUE(plan(f32, {512, 32, 32}, {512, 32, 32}).prefetch_next);     // 3 MiB each
  // A core whose prefetchers follow page-long runs (Zen) prefetches only smaller matrices.
  target.pool_threads = 1;
  target.tuning.prefetch_next_max_bytes = 2048;
  // Packed batches (a transposed B) of one block per matrix prefetch the next matrix's B.
  auto plan_bt = [&](Shape sa, Shape sb) { return plan_matmul(target, f32, sa, sb, {.transpose_b = true}); };
  EXPECT_TRUE(plan_bt({96, 128, 64}, {96, 128, 64}).prefetch_next);  // 12 MiB of attention scores
  EXPECT_TRUE(plan_bt({96, 128, 64}, {96, 128, 64}).pack);
  EXPECT_FALSE(plan_bt({4, 128, 64}, {4, 128, 64}).prefetch_next);   // 512 KiB: stays in L2
  EXPECT_FALSE(plan(f32, {256, 32, 32}, {256, 32, 32}).prefetch_next);    // 4 KiB matrices
  EXPECT_TRUE(plan(f32, {1024, 16, 16}, {1024, 16, 16}).prefetch_next);   // 1 KiB matrices
  // A batch whose bytes outgrow int64_t (planning allocates nothing): still past L2. The byte
  // count overflowed, negative, before (found by fuzz_graph under UBSan).
  const int64_t huge = int64_t(1) << 56;
  EXPECT_TRUE(plan(f32, {huge, 4, 4}, {huge, 4, 4}).prefetch_next);
}

// In place, row tiles of one height when it costs at most one more tile: 32 rows as 4 x 8, not
// 12 + 12 + 8; 16 f64 rows as 2 x 8, not 12 + 4; but 128 rows stay 6-row tiles (21 + 2 rows),
// since 4-row ones would take 32 tiles.
TEST(GemmPlan, InPlaceRowTilesOfOneHeightWhenItCostsAtMostOneTile) {
  TargetModel target;  // planned only, never run: any host
  target.hw.vector_bits = 512, target.hw.vector_registers = 32;
  auto plan = [&](DType dt, Shape sa, Shape sb) { return plan_matmul(target, dt, sa, sb); };
  EXPECT_EQ(plan(f32, {256, 32, 32}, {256, 32, 32}).mr, 8);
  EXPECT_EQ(plan(f32, {32, 32}, {32, 32}).mr, 8);
  EXPECT_EQ(plan(f64, {1024, 16, 16}, {1024, 16, 16}).mr, 8);
  EXPECT_EQ(plan(f32, {96, 128, 64}, {96, 64, 128}).mr, 6);
  EXPECT_EQ(plan(f64, {32, 32}, {32, 32}).mr, 6);  // 4-row tiles would take 8 instead of 6
  EXPECT_EQ(plan(f32, {36, 32}, {32, 32}).mr, 12);  // 12 divides 36 already
}

// A few rows against a B past L2: in place with the column tiles outermost (on threads), K in
// blocks; with many rows, or a B that fits L2, as before.
TEST(GemmPlan, FewRowsAgainstALargeBReadItInPlaceColumnByColumn) {
  TargetModel target;
  target.hw.vector_bits = 512, target.hw.vector_registers = 32, target.hw.l2_bytes = 2 << 20;
  const auto few = plan_matmul(target, f32, {32, 1024}, {1024, 1024});
  EXPECT_FALSE(few.pack);
  EXPECT_TRUE(few.columns_outer);
  EXPECT_EQ(few.sweep_kc, target.tuning.columns_outer_kc);
  EXPECT_EQ(few.parallel, ir::sched::GemmPlan::Parallel::column_tiles);
  EXPECT_TRUE(plan_matmul(target, f32, {256, 1024}, {1024, 1024}).pack);
  EXPECT_FALSE(plan_matmul(target, f32, {32, 256}, {256, 256}).columns_outer);  // B fits L2
  EXPECT_FALSE(plan_matmul(target, f32, {1, 1024}, {1024, 1024}).columns_outer);  // one row: a GEMV sweep
}

// Work from parallel_min_flops (f64 counting double) runs on the threads: f64 64^3 is exactly
// 2^20, on them by default but not with Zen's 1.25 x 2^20 (TargetModel).
TEST(GemmPlan, SmallWorkStaysOnOneThread) {
  TargetModel target;
  target.hw.vector_bits = 512, target.hw.vector_registers = 32;
  auto parallel = [&](DType dt, int64_t n) { return plan_matmul(target, dt, {n, n}, {n, n}).parallel; };
  using P = ir::sched::GemmPlan::Parallel;
  EXPECT_EQ(parallel(f64, 64), P::row_tiles);
  EXPECT_EQ(parallel(f32, 64), P::none);
  target.tuning.parallel_min_flops = 1.25 * double(1 << 20);
  EXPECT_EQ(parallel(f64, 64), P::none);
  EXPECT_EQ(parallel(f64, 72), P::row_tiles);
}

}  // namespace
}  // namespace tcc
