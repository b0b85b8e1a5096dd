// The C header that goes with an ahead-of-time object (`tcc compile`).
#pragma once
#include <tcc/graph.h>

#include <string>
#include <vector>

namespace tcc::aot {

struct AotSignature {
  std::string function;             // a C identifier
  std::vector<std::string> symbols; // the first parameters (int64_t), sizes of symbolic dimensions
  std::vector<InputInfo> inputs;    // parameters in this order, then the outputs
  std::vector<InputInfo> outputs;   // name, dtype and shape of each output
  std::string source;               // the .tc file, for the comment
  std::string cpu, triple;          // what the object was compiled for
  std::vector<std::string> features;  // the instruction sets its entry point checks for (cpuid)
  // 0: single-threaded object. N > 0: the object calls tcc_parallel_for, which the header
  // implements with pthreads (N threads by default) under TCC_PARALLEL_FOR_IMPLEMENTATION.
  int threads = 0;
};

// Whether `name` is a C identifier and not a C or C++ keyword.
bool is_c_identifier(const std::string& name);
// Whether `name` is safe as a function or parameter name of a header included next to the
// standard C headers, in C and C++: an identifier, no keyword, no spelling the standards
// reserve (leading underscore, double underscore), no name of the C library or POSIX (functions,
// object-like macros such as EOF or INT32_MAX, types), not main.
bool is_safe_c_name(const std::string& name);
// The function name for a file stem: "model-v2" -> "model_v2"; an unsafe one gets a "tcc_"
// prefix ("printf" -> "tcc_printf", "9lives" -> "tcc_9lives").
std::string safe_function_name(const std::string& text);
// A parameter name for a graph input or output: the name itself when safe, else escaped
// ("class" -> "class_", "INT32_MAX" -> "INT32_MAX_", "_Bool" -> "Bool").
std::string safe_parameter_name(const std::string& name);
// Parameter names, unique and safe: symbols, inputs and outputs keep their names unless taken.
std::vector<std::string> aot_parameter_names(const AotSignature& s);
std::string aot_header(const AotSignature& s);

}  // namespace tcc::aot
