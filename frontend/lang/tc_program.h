// Loading a .tc file (spec/tc-language.md) into a tcc::Graph, with clang-style diagnostics.
#pragma once
#include <tcc/graph.h>

#include <memory>
#include <string>
#include <vector>

namespace tcc::lang {

struct Diagnostic {
  enum class Severity { error, warning };
  Severity severity = Severity::error;
  std::string file;
  int line = 0;         // 1-based
  int column = 0;       // 1-based, in characters of the source line
  int length = 1;       // how many characters the caret line underlines (>= 1)
  std::string message;  // without the "file:line:col: error: " prefix
  std::string source_line;
  // "FILE:LINE:COL: error: MESSAGE\n<source line>\n<spaces>^~~~\n"
  std::string render() const;
};

struct NamedValue {
  std::string name;
  Value value;
  bool is_input = false;
  int line = 0;
};

struct TcProgram {
  std::unique_ptr<Graph> graph;
  std::vector<NamedValue> values;         // inputs and bindings, in file order (only those that succeeded)
  std::vector<Value> outputs;             // in `output` order (may repeat)
  std::vector<std::string> output_names;  // parallel to outputs
  std::vector<Diagnostic> diagnostics;    // errors (at most 20) and warnings, in file order
  bool ok() const;                        // no error diagnostics
  std::string render_diagnostics() const;
};

// Never throws for problems in the file; they become diagnostics. A file that cannot be read
// becomes one error diagnostic too.
TcProgram load_tc_file(const std::string& path);
TcProgram load_tc_source(const std::string& source, const std::string& file_name);

}  // namespace tcc::lang
