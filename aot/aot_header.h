// The C header that goes with an ahead-of-time object (`tcc compile`).
#pragma once
#include <tcc/graph.h>

#include <string>
#include <vector>

namespace tcc::aot {

struct AotSignature {
  std::string function;             // a C identifier
  std::vector<InputInfo> inputs;    // parameters in this order, then the outputs
  std::vector<InputInfo> outputs;   // name, dtype and shape of each output
  std::string source;               // the .tc file, for the comment
  std::string cpu, triple;          // what the object was compiled for
  // 0: single-threaded object. N > 0: the object calls tcc_parallel_for, which the header
  // implements with pthreads (N threads by default) under TCC_PARALLEL_FOR_IMPLEMENTATION.
  int threads = 0;
};

// Whether `name` can be a C function or parameter name (identifier, not a keyword).
bool is_c_identifier(const std::string& name);
// "model-v2.tc" -> "model_v2"; prefixes '_' when needed.
std::string c_identifier_from(const std::string& text);
// Parameter names, unique, never a C keyword: inputs keep their names, outputs too unless taken.
std::vector<std::string> aot_parameter_names(const AotSignature& s);
std::string aot_header(const AotSignature& s);

}  // namespace tcc::aot
