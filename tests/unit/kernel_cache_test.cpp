// The kernel cache: compile once per process, share between graphs and threads, survive in a
// directory, and never run a damaged or foreign entry.
#include <tcc/tcc.h>

#include "driver/driver.h"
#include "driver/kernel_cache.h"
#include "frontend/graph_access.h"

#include <gtest/gtest.h>

#include "support/scoped_env.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace tcc {
namespace {

namespace fs = std::filesystem;

// Each test uses shapes no other test compiles, so counters start from a clean slate.
Tensor filled(DType dtype, const Shape& shape, int seed) {
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dtype == f32) t.data_as<float>()[i] = static_cast<float>((i * 7 + seed) % 11) - 5;
    else t.data_as<int32_t>()[i] = static_cast<int32_t>((i * 5 + seed) % 9) - 4;
  }
  return t;
}

// Runs a@b for (m,k)@(k,n) and checks one element against a plain loop.
void check_matmul(const CompiledGraph& fn, int64_t m, int64_t k, int64_t n) {
  Tensor a = filled(f32, {m, k}, 1), b = filled(f32, {k, n}, 2);
  Tensor c = fn({{"a", a}, {"b", b}})[0];
  for (int64_t i : {int64_t(0), m - 1})
    for (int64_t j : {int64_t(0), n - 1}) {
      float want = 0;
      for (int64_t r = 0; r < k; ++r) want += a.data_as<float>()[i * k + r] * b.data_as<float>()[r * n + j];
      EXPECT_FLOAT_EQ(c.data_as<float>()[i * n + j], want);
    }
}

using tcc::test::ScopedEnv;

fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::path(::testing::TempDir()) / ("tcc-cache-test-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  return dir;
}

TEST(KernelCache, SameGraphTwiceCompilesOnce) {
  ScopedEnv off("TCC_CACHE", "off");
  Graph g;
  auto a = g.input("a", f32, {13, 29}), b = g.input("b", f32, {29, 7});
  CompiledGraph first = g.compile({matmul(a, b)});
  EXPECT_EQ(first.stats().compiled, 1);
  CompiledGraph second = g.compile({matmul(a, b)});
  EXPECT_EQ(second.stats().compiled, 0);
  EXPECT_EQ(second.stats().memory_hits, 1);
  check_matmul(second, 13, 29, 7);
}

TEST(KernelCache, GraphsSharingAKernelCompileItOnce) {
  ScopedEnv off("TCC_CACHE", "off");
  Graph g1, g2;
  auto a1 = g1.input("a", f32, {11, 31}), b1 = g1.input("b", f32, {31, 5});
  auto a2 = g2.input("a", f32, {11, 31}), b2 = g2.input("b", f32, {31, 5}), c2 = g2.input("c", f32, {5, 3});
  int64_t before = driver::cache_counters().compiles;
  CompiledGraph f1 = g1.compile({matmul(a1, b1)});
  // The (11,31)@(31,5) kernel again (an output itself, so the chain is not re-planned).
  Value ab = matmul(a2, b2);
  CompiledGraph f2 = g2.compile({matmul(ab, c2), ab});
  EXPECT_EQ(f2.stats().kernels, 2);
  EXPECT_EQ(f2.stats().memory_hits, 1);
  EXPECT_EQ(driver::cache_counters().compiles - before, 2);
  check_matmul(f1, 11, 31, 5);
}

TEST(KernelCache, ConcurrentCompilesOfOneKernelCompileItOnce) {
  ScopedEnv off("TCC_CACHE", "off");
  constexpr int kThreads = 8, kGraphs = 6;
  int64_t before = driver::cache_counters().compiles;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      try {
        // Every thread compiles the same kGraphs kernels, in a different order.
        for (int i = 0; i < kGraphs; ++i) {
          int64_t m = 17 + (i + t) % kGraphs;
          Graph g;
          auto a = g.input("a", f32, {m, 19}), b = g.input("b", f32, {19, 23});
          CompiledGraph fn = g.compile({matmul(a, b)});
          Tensor c = fn({{"a", filled(f32, {m, 19}, 1)}, {"b", filled(f32, {19, 23}, 2)}})[0];
          if (c.shape() != Shape{m, 23}) ++failures;
        }
      } catch (...) {
        ++failures;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(driver::cache_counters().compiles - before, kGraphs);
}

TEST(KernelCache, DiskEntriesAreWrittenAndFound) {
  fs::path dir = fresh_dir("disk");
  ScopedEnv where("TCC_CACHE_DIR", dir.string());
  ScopedEnv on("TCC_CACHE", "on");
  Graph g;
  auto a = g.input("a", f32, {37, 3}), b = g.input("b", f32, {3, 41});
  CompiledGraph first = g.compile({matmul(a, b)});
  EXPECT_EQ(first.stats().compiled, 1);
  EXPECT_TRUE(first.stats().disk_cache);
  driver::DiskCacheInfo info = driver::disk_cache_info();
  ASSERT_EQ(info.entries.size(), 1u);
  EXPECT_NE(info.entries[0].descriptor.find("extents=37,41,3"), std::string::npos) << info.entries[0].descriptor;

  driver::forget_in_process_kernels();
  CompiledGraph second = g.compile({matmul(a, b)});
  EXPECT_EQ(second.stats().disk_hits, 1);
  EXPECT_EQ(second.stats().compiled, 0);
  check_matmul(second, 37, 3, 41);
  EXPECT_EQ(driver::disk_cache_clear(), 1);
  EXPECT_TRUE(driver::disk_cache_info().entries.empty());
  fs::remove_all(dir);
}

// Damages the only entry in `dir` with `damage`, then checks it is recompiled, not run.
void expect_damaged_entry_recompiled(const std::string& name, const std::function<void(const fs::path&)>& damage) {
  fs::path dir = fresh_dir(name);
  ScopedEnv where("TCC_CACHE_DIR", dir.string());
  ScopedEnv on("TCC_CACHE", "on");
  driver::forget_in_process_kernels();  // the kernel is shared by every damage test
  Graph g;
  auto a = g.input("a", f32, {43, 2}), b = g.input("b", f32, {2, 47});
  (void)g.compile({matmul(a, b)});
  auto entries = driver::disk_cache_info().entries;
  ASSERT_EQ(entries.size(), 1u);
  damage(entries[0].file);
  driver::forget_in_process_kernels();
  CompiledGraph again = g.compile({matmul(a, b)});
  EXPECT_EQ(again.stats().disk_hits, 0) << name;
  EXPECT_EQ(again.stats().compiled, 1) << name;
  check_matmul(again, 43, 2, 47);
  // The recompiled entry replaced the damaged one and is good again.
  driver::forget_in_process_kernels();
  EXPECT_EQ(g.compile({matmul(a, b)}).stats().disk_hits, 1) << name;
  fs::remove_all(dir);
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary | std::ios::trunc) << s; }

TEST(KernelCache, TruncatedEntryIsRecompiled) {
  expect_damaged_entry_recompiled("truncated", [](const fs::path& p) { fs::resize_file(p, fs::file_size(p) / 2); });
}

TEST(KernelCache, FlippedByteIsRecompiled) {
  expect_damaged_entry_recompiled("flipped", [](const fs::path& p) {
    std::string s = slurp(p);
    s[s.size() - 100] ^= 0x5a;
    spit(p, s);
  });
}

TEST(KernelCache, GarbageEntryIsRecompiled) {
  expect_damaged_entry_recompiled("garbage", [](const fs::path& p) { spit(p, "garbage, not an object"); });
}

TEST(KernelCache, ForeignCpuEntryIsRecompiled) {
  expect_damaged_entry_recompiled("foreign", [](const fs::path& p) {
    std::string s = slurp(p);
    size_t at = s.find("\ncpu=");
    ASSERT_NE(at, std::string::npos);
    s.insert(at + 5, "some-other-cpu-");
    spit(p, s);
  });
}

TEST(KernelCache, UnusableDirectoryWarnsAndCompilesInMemory) {
  fs::path file = fresh_dir("not-a-dir");
  spit(file, "a file where the cache directory should be");
  ScopedEnv where("TCC_CACHE_DIR", (file / "cache").string());
  ScopedEnv on("TCC_CACHE", "on");
  Graph g;
  auto a = g.input("a", f32, {53, 3}), b = g.input("b", f32, {3, 5});
  ::testing::internal::CaptureStderr();
  CompiledGraph fn = g.compile({matmul(a, b)});
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("warning: kernel cache disabled"), std::string::npos) << err;
  check_matmul(fn, 53, 3, 5);
  fs::remove(file);
}

TEST(KernelCache, OffWritesNothing) {
  fs::path dir = fresh_dir("off");
  ScopedEnv where("TCC_CACHE_DIR", dir.string());
  ScopedEnv off("TCC_CACHE", "off");
  Graph g;
  auto a = g.input("a", f32, {59, 3}), b = g.input("b", f32, {3, 5});
  CompiledGraph fn = g.compile({matmul(a, b)});
  EXPECT_FALSE(fn.stats().disk_cache);
  EXPECT_FALSE(fs::exists(dir));
}

TEST(KernelKey, NamesEveryPartThatDecidesTheCode) {
  Graph g;
  auto a = g.input("a", f32, {4, 6}), b = g.input("b", f32, {6, 8});
  ir::LoweredProgram p = driver::plan_for_model(detail::graph_ir(g), {matmul(a, b).id()}, {}).lowered;
  driver::KernelKey key = driver::make_key(p.kernels[0], codegen::host_target());
  std::string text = key.text();
  for (const char* part : {"dtype=f32", "roles=MNK", "extents=4,8,6", "strides=", "schedule=", "triple=", "cpu=",
                           "features=", "tcc=", "llvm=19."})
    EXPECT_NE(text.find(part), std::string::npos) << part << " missing from\n" << text;
  codegen::TargetInfo other = codegen::host_target();
  other.cpu = "x86-64-v3";
  EXPECT_NE(driver::make_key(p.kernels[0], other).hex(), key.hex());
  EXPECT_EQ(key.hex().size(), 32u);
}

}  // namespace
}  // namespace tcc
