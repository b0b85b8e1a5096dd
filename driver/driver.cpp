#include "driver/driver.h"

#include <tcc/error.h>
#include <tcc/tensor.h>
#include <tcc/threads.h>

#include "runtime/executable.h"

#include <fmt/format.h>

#include <cstdlib>
#include <string>

#include <algorithm>

namespace tcc::driver {

codegen::TargetInfo target(const Options& options) { return codegen::target_for(codegen_options(options)); }

std::string llvm_version() { return codegen::llvm_version(); }

void dump_after(const std::vector<std::string>& passes) { ir::set_dump_after(passes); }

codegen::CompileOptions codegen_options(const Options& options) {
  return {.cpu = options.cpu};
}

ir::sched::TargetModel target_model(const codegen::TargetInfo& target, const Options& options) {
  ir::sched::TargetModel m;
  m.hw = {.cpu = target.cpu, .vector_bits = target.vector_bits, .vector_registers = target.vector_registers,
          .l2_bytes = target.l2_bytes};
  m.tuning = ir::sched::tuning_for_cpu(target.cpu);
  if (options.ahead_of_time) {
    m.threads = options.threads > 1;
    m.pool_threads = std::max(1, options.threads);
  } else {
    m.threads = true;
    m.pool_threads = options.threads > 0 ? options.threads : num_threads();
  }
  m.max_intermediate_bytes = options.max_intermediate_bytes;
  for (auto [name, flag] : {std::pair{"TCC_FUSE_EPILOGUES", &m.fusion.epilogues}, std::pair{"TCC_FUSE_ATTENTION", &m.fusion.attention},
                            std::pair{"TCC_STREAM_STORES", &m.stream_stores}})
    if (const char* env = std::getenv(name)) {
      const std::string v = env;
      if (v != "0" && v != "1") throw ArgumentError(std::string(name) + " must be 0 or 1, got '" + v + "'");
      *flag = v == "1";
    }
  if (const char* env = std::getenv("TCC_MAX_INTERMEDIATE"); env && options.max_intermediate_bytes == 0) {
    char* end = nullptr;
    const long long v = std::strtoll(env, &end, 10);
    if (end == env || *end != '\0' || v < 0)
      throw ArgumentError(std::string("TCC_MAX_INTERMEDIATE must be a byte count, got '") + env + "'");
    m.max_intermediate_bytes = v;
  }
  return m;
}

Plan plan(const ir::GraphIR& graph, const std::vector<int>& outputs, const Options& options, bool build_loops) {
  codegen::TargetInfo t = target(options);
  Plan p = plan_for_model(graph, outputs, target_model(t, options), build_loops);
  p.target = std::move(t);
  return p;
}

Plan plan_for_model(const ir::GraphIR& graph, const std::vector<int>& outputs, const ir::sched::TargetModel& model,
                    bool build_loops) {
  Plan p;
  p.target = codegen::host_target();
  p.model = model;
  p.lowered = ir::lower(graph, outputs, model, build_loops);
  return p;
}

}  // namespace tcc::driver
