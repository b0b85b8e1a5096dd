// The thread pool behind tcc_parallel_for, and results that do not depend on the thread count.
#include <tcc/tcc.h>

#include "runtime/thread_pool.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

namespace tcc {
namespace {

struct Recorder {
  std::mutex mutex;
  std::multiset<int64_t> indices;
  std::set<std::thread::id> threads;
};

int record(void* closure, int64_t i) {
  auto* r = static_cast<Recorder*>(closure);
  std::lock_guard<std::mutex> lock(r->mutex);
  r->indices.insert(i);
  r->threads.insert(std::this_thread::get_id());
  return 0;
}

class ThreadCount : public ::testing::Test {
 protected:
  void SetUp() override { saved_ = num_threads(); }
  void TearDown() override { set_num_threads(saved_); }
  int saved_ = 1;
};

TEST_F(ThreadCount, EveryIterationRunsOnce) {
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    for (int64_t n : {0, 1, 2, 7, 1000}) {
      Recorder r;
      EXPECT_EQ(tcc_parallel_for(record, &r, n), 0);
      ASSERT_EQ(static_cast<int64_t>(r.indices.size()), n);
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(r.indices.count(i), 1u);
    }
  }
}

TEST_F(ThreadCount, OneThreadRunsOnTheCaller) {
  set_num_threads(1);
  Recorder r;
  tcc_parallel_for(record, &r, 100);
  EXPECT_EQ(r.threads, std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST_F(ThreadCount, NestedLoopsRunInline) {
  set_num_threads(2);
  struct Outer {
    std::atomic<int64_t> inner_total{0};
  } outer;
  // Each outer iteration starts an inner loop, which runs on the thread that asked for it.
  auto task = [](void* c, int64_t) {
    return tcc_parallel_for(
        [](void* c2, int64_t) {
          static_cast<Outer*>(c2)->inner_total++;
          return 0;
        },
        c, 10);
  };
  EXPECT_EQ(tcc_parallel_for(task, &outer, 20), 0);
  EXPECT_EQ(outer.inner_total, 200);
}

TEST_F(ThreadCount, ATaskErrorIsReturned) {
  set_num_threads(2);
  auto failing = [](void*, int64_t i) { return i == 13 ? 7 : 0; };
  EXPECT_EQ(tcc_parallel_for(failing, nullptr, 50), 7);
}

TEST_F(ThreadCount, RejectsZero) { EXPECT_THROW(set_num_threads(0), ArgumentError); }

Tensor ramp(const Shape& shape, int seed) {
  Tensor t(f32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = static_cast<float>((i * 13 + seed) % 17) / 7.f - 1.f;
  return t;
}

// Element (i, j) of matrix `s` of a (batched) row-major product, in double.
// With `tb`, b holds Bᵀ (N x K).
double product_element(const Tensor& a, const Tensor& b, bool tb, int64_t s, int64_t i, int64_t j) {
  const int64_t M = a.shape()[a.shape().size() - 2], K = a.shape().back();
  const int64_t N = tb ? b.shape()[b.shape().size() - 2] : b.shape().back();
  const float* pa = a.data_as<float>() + (a.shape().size() > 2 ? s * M * K : 0);
  const float* pb = b.data_as<float>() + (b.shape().size() > 2 ? s * K * N : 0);
  double sum = 0;
  for (int64_t k = 0; k < K; ++k) sum += static_cast<double>(pa[i * K + k]) * (tb ? pb[j * K + k] : pb[k * N + j]);
  return sum;
}

// Big enough for every parallel GEMM loop: batch (outer), column tiles, packed row panels
// (with an edge panel: 301 rows), a batch packed per task (Bᵀ, 70 columns: an edge panel),
// and dot products over blocks of rows (a row-major matrix times a vector, 1003 = 125 x 8 + 3).
// Every thread count gives the same bits, and those are right.
TEST_F(ThreadCount, ResultsAreIdenticalForEveryThreadCount) {
  struct Case {
    Shape a, b;
    bool tb = false;
  };
  for (const Case& c : {Case{{16, 96, 64}, {16, 64, 80}}, Case{{1, 512}, {512, 2048}}, Case{{301, 700}, {700, 500}},
                        Case{{16, 96, 40}, {16, 70, 40}, true}, Case{{1003, 1500}, {1, 1500}, true}}) {
    Graph g;
    auto a = g.input("a", f32, c.a), b = g.input("b", f32, c.b);
    CompiledGraph fn = g.compile({matmul(a, b, {.transpose_b = c.tb})});
    Feeds feeds{{"a", ramp(c.a, 1)}, {"b", ramp(c.b, 2)}};
    std::vector<float> first;
    for (int threads : {1, 2, 3}) {
      set_num_threads(threads);
      std::vector<float> got = fn(feeds)[0].to_vector<float>();
      if (first.empty()) first = got;
      else EXPECT_EQ(got, first) << "threads=" << threads;
    }
    const int64_t M = c.a[c.a.size() - 2], N = c.tb ? c.b[c.b.size() - 2] : c.b.back(), K = c.a.back();
    for (size_t e = 0; e < first.size(); e += 97) {
      const int64_t s = static_cast<int64_t>(e) / (M * N), i = static_cast<int64_t>(e) / N % M, j = static_cast<int64_t>(e) % N;
      EXPECT_NEAR(first[e], product_element(feeds.at("a"), feeds.at("b"), c.tb, s, i, j), 1e-5 * static_cast<double>(K))
          << "element " << e;
    }
  }
}

}  // namespace
}  // namespace tcc
