// The CPU table (hardware facts and tuning overrides by LLVM CPU name) and the printers.
#include "ir/schedule/target_model.h"

#include <fmt/format.h>

namespace tcc::ir::sched {

namespace {

enum class Family { generic, zen };

// One row per CPU name prefix; the first match wins, so longer prefixes come first.
// L2 per core from the vendors' data sheets.
struct CpuRow {
  std::string_view prefix;
  int64_t l2_bytes;
  Family family;
};
constexpr CpuRow kCpus[] = {
    {"znver1", 512 << 10, Family::zen},      {"znver2", 512 << 10, Family::zen},
    {"znver3", 512 << 10, Family::zen},      {"znver4", 1 << 20, Family::zen},
    {"znver5", 1 << 20, Family::zen},        {"znver", 1 << 20, Family::zen},
    {"sapphirerapids", 2 << 20, Family::generic}, {"emeraldrapids", 2 << 20, Family::generic},
    {"graniterapids", 2 << 20, Family::generic},  {"icelake-server", 1280 << 10, Family::generic},
    {"skylake-avx512", 1 << 20, Family::generic}, {"cascadelake", 1 << 20, Family::generic},
    {"cooperlake", 1 << 20, Family::generic},     {"tigerlake", 1280 << 10, Family::generic},
    {"alderlake", 1280 << 10, Family::generic},   {"raptorlake", 2 << 20, Family::generic},
    {"haswell", 256 << 10, Family::generic},      {"broadwell", 256 << 10, Family::generic},
    {"skylake", 256 << 10, Family::generic},      {"icelake-client", 512 << 10, Family::generic},
};

const CpuRow* find_cpu(std::string_view cpu) {
  for (const CpuRow& row : kCpus)
    if (cpu.substr(0, row.prefix.size()) == row.prefix) return &row;
  return nullptr;
}

}  // namespace

int64_t l2_bytes_of_cpu(std::string_view cpu) {
  const CpuRow* row = find_cpu(cpu);
  return row ? row->l2_bytes : int64_t(1) << 20;
}

Tuning tuning_for_cpu(std::string_view cpu) {
  Tuning t;
  const CpuRow* row = find_cpu(cpu);
  if (row && row->family == Family::zen) {
    // Zen's L2 prefetcher follows page-long runs; handing work to a second core costs more.
    t.prefetch_next_max_bytes = 2048;
    t.parallel_min_flops = 1.25 * double(1 << 20);
    // One-row kernels: Zen's L2 streamer follows few rows at once (TUNING.md#gemv).
    t.gemv_sweep_kc = 8;
  }
  return t;
}

bool enough_work_for_threads(const TargetModel& target, double flops, DType dtype) {
  return target.threads && flops * static_cast<double>(dtype_size(dtype)) / 4 >= target.tuning.parallel_min_flops;
}

std::string HardwareFacts::str() const {
  return fmt::format("cpu={} vector_bits={} registers={} l2={}", cpu.empty() ? "?" : cpu, vector_bits, vector_registers,
                     l2_bytes);
}

std::string Tuning::str() const {
  const Tuning d;
  std::string s;
  auto field = [&](const char* name, auto value, auto default_value) {
    if (value != default_value) s += fmt::format("{}{}={}", s.empty() ? "" : " ", name, value);
  };
  field("prefetch_next_max_bytes", prefetch_next_max_bytes, d.prefetch_next_max_bytes);
  field("parallel_min_flops", parallel_min_flops, d.parallel_min_flops);
  field("k_steps", k_steps, d.k_steps);
  field("max_kc_4_byte", max_kc_4_byte, d.max_kc_4_byte);
  field("max_kc_8_byte", max_kc_8_byte, d.max_kc_8_byte);
  field("gemv_sweep_kc", gemv_sweep_kc, d.gemv_sweep_kc);
  return s.empty() ? "defaults" : s;
}

std::string TargetModel::str() const {
  return fmt::format("{} tuning({}) threads={} pool_threads={}{}{}{}", hw.str(), tuning.str(), threads ? "on" : "off",
                     pool_threads, fusion.epilogues ? "" : " fuse_epilogues=off", fusion.attention ? "" : " fuse_attention=off",
                     stream_stores ? "" : " stream_stores=off");
}

}  // namespace tcc::ir::sched
