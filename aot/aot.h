// Ahead-of-time compilation (`tcc compile`): one relocatable object for a whole graph, with a
// C entry point, and the C header that declares it. Plans through the driver like the JIT.
#pragma once
#include <tcc/graph.h>

#include "driver/driver.h"

#include <string>
#include <vector>

namespace tcc::aot {

struct Result {
  std::string object;  // the relocatable object
  std::string header;  // its C header
  std::size_t kernels = 0;
  std::string cpu;     // what it was compiled for
};

// `function` must be a C identifier (ArgumentError otherwise). Every declared input of the
// graph is a parameter, in declaration order, even one no output reads; then the outputs.
Result compile(const Graph& graph, const std::vector<Value>& outputs, const std::vector<std::string>& output_names,
               const std::string& function, const std::string& source, driver::Options options);

}  // namespace tcc::aot
