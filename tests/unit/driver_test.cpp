// The driver: the one place that builds a target model.
#include <tcc/tcc.h>

#include "driver/driver.h"

#include <gtest/gtest.h>

namespace tcc {
namespace {

// Under --target-cpu the hardware facts are the named CPU's, never the host's caches.
TEST(Driver, NamedCpusCarryTheirOwnCacheSizes) {
  const codegen::TargetInfo zen5 = driver::target({.cpu = "znver5"});
  EXPECT_EQ(zen5.l2_bytes, 1 << 20);
  EXPECT_EQ(zen5.vector_bits, 512);
  const codegen::TargetInfo haswell = driver::target({.cpu = "haswell"});
  EXPECT_EQ(haswell.l2_bytes, 256 << 10);
  EXPECT_EQ(haswell.vector_bits, 256);
  EXPECT_EQ(driver::target({.cpu = "sapphirerapids"}).l2_bytes, 2 << 20);
  const ir::sched::TargetModel m = driver::target_model(haswell, {.cpu = "haswell"});
  EXPECT_EQ(m.hw.l2_bytes, 256 << 10);
  EXPECT_EQ(m.hw.vector_registers, 16);
  EXPECT_THROW(driver::target({.cpu = "not-a-cpu"}), CompileError);
}

TEST(Driver, ZenTuningComesFromTheTargetsFamily) {
  const ir::sched::Tuning zen = ir::sched::tuning_for_cpu("znver5"), intel = ir::sched::tuning_for_cpu("sapphirerapids");
  EXPECT_LT(zen.prefetch_next_max_bytes, intel.prefetch_next_max_bytes);
  EXPECT_GT(zen.parallel_min_flops, intel.parallel_min_flops);
  EXPECT_EQ(intel.str(), "defaults");
}

// JIT plans for the pool's threads; AOT uses threads only on request.
TEST(Driver, ThreadsOfTheModel) {
  const codegen::TargetInfo host = driver::target({});
  const int saved = num_threads();
  set_num_threads(3);
  EXPECT_EQ(driver::target_model(host, {}).pool_threads, 3);
  EXPECT_TRUE(driver::target_model(host, {}).threads);
  EXPECT_EQ(driver::target_model(host, {.threads = 2}).pool_threads, 2);
  set_num_threads(saved);
  EXPECT_FALSE(driver::target_model(host, {.ahead_of_time = true}).threads);
  const ir::sched::TargetModel aot = driver::target_model(host, {.threads = 4, .ahead_of_time = true});
  EXPECT_TRUE(aot.threads);
  EXPECT_EQ(aot.pool_threads, 4);
}

}  // namespace
}  // namespace tcc
