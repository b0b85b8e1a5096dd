// The text of a .tc file split into lines, cleaned up for display, plus the diagnostic sink
// every stage of the language front end reports into.
#pragma once
#include "tc_program.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tcc::lang {

// A byte range [begin, end) of one source line (line is 1-based). Columns in diagnostics are
// counted in characters (UTF-8 code points), so spans stay in bytes until rendering.
struct Span {
  int line = 0;
  uint32_t begin = 0;
  uint32_t end = 0;
};

inline Span join(const Span& a, const Span& b) { return Span{a.line, a.begin, b.end > a.end ? b.end : a.end}; }

// The file's lines. Invalid UTF-8 bytes and control characters (other than tab) are replaced
// by U+FFFD so that the lexer sees well-formed text and diagnostics print cleanly.
class SourceText {
 public:
  SourceText(std::string_view bytes, std::string file_name);
  const std::string& file_name() const { return file_name_; }
  int line_count() const { return static_cast<int>(lines_.size()); }
  const std::string& line(int one_based) const { return lines_[static_cast<std::size_t>(one_based - 1)]; }

 private:
  std::string file_name_;
  std::vector<std::string> lines_;
};

inline constexpr int kMaxErrors = 20;

// Collects diagnostics and stops accepting errors after kMaxErrors.
class DiagnosticSink {
 public:
  explicit DiagnosticSink(const SourceText& source) : source_(source) {}
  void error(const Span& span, std::string message) { add(Diagnostic::Severity::error, span, std::move(message)); }
  void warning(const Span& span, std::string message) { add(Diagnostic::Severity::warning, span, std::move(message)); }
  // An error not tied to a source position ("FILE: error: MESSAGE").
  void file_error(std::string message);
  bool full() const { return errors_ >= kMaxErrors; }
  // Whether another error would be kept (lets callers skip costly hints for dropped ones).
  bool accepts_errors() const {
    return in_statement_ ? statement_errors_ < kMaxErrors - errors_ : !full();
  }
  int error_count() const { return errors_; }
  // The diagnostics kept, then, past the limit, one that says how many errors were not shown.
  std::vector<Diagnostic> take();

  // Diagnostics of one statement are buffered and sorted by column so that they come out in
  // file order even though analysis visits a call before its arguments.
  void begin_statement();
  void end_statement();

 private:
  void add(Diagnostic::Severity severity, const Span& span, std::string message);
  // Sorts diagnostics [first, end) by position and drops errors past the limit.
  void commit(std::size_t first);
  const SourceText& source_;
  std::vector<Diagnostic> diagnostics_;
  std::size_t statement_start_ = 0;
  bool in_statement_ = false;
  int statement_errors_ = 0;
  int statement_warnings_ = 0;
  int errors_ = 0;
  int dropped_errors_ = 0;  // past kMaxErrors
};

// `text` in double quotes, shortened to about 40 characters for messages.
std::string quoted_excerpt(std::string_view text);

// Levenshtein distance, for "did you mean" hints (bounded work: short names only).
std::size_t edit_distance(std::string_view a, std::string_view b);
// " (did you mean 'x'?)" for the closest candidate within distance 2, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace tcc::lang
