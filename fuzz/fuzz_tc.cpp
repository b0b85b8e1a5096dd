// libFuzzer target: the .tc front end (lex, parse, sema, shape inference) on arbitrary text,
// then the middle end (graph passes, kernel program, schedules, loop IR; no LLVM) on whatever
// it accepts. Any tcc::Error is a rejection; a crash, a sanitizer report or another exception
// is a finding.
#include <tcc/error.h>

#include "driver/driver.h"
#include "frontend/graph_access.h"
#include "frontend/lang/tc_program.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string source(reinterpret_cast<const char*>(data), size);
  tcc::lang::TcProgram program = tcc::lang::load_tc_source(source, "fuzz.tc");
  (void)program.render_diagnostics();
  if (!program.ok() || program.outputs.empty()) return 0;
  std::vector<int> outputs;
  for (const tcc::Value& v : program.outputs) outputs.push_back(v.id());
  try {
    (void)tcc::driver::plan_for_model(tcc::detail::graph_ir(*program.graph), outputs, {});
  } catch (const tcc::InternalError&) {
    throw;  // a broken invariant of tcc's: a finding
  } catch (const tcc::Error&) {
    // a graph the middle end refuses with a user-facing error is fine
  }
  return 0;
}
