// Source lines, diagnostic collection and clang-style rendering.
#include "source.h"

#include <algorithm>
#include <cctype>

namespace tcc::lang {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Appends `line` to `out` with every invalid UTF-8 sequence (each offending byte) and every
// control character other than tab replaced by U+FFFD.
void append_sanitized(std::string_view line, std::string& out) {
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t') || c == 0x7F) out += kReplacement;
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    std::size_t len = 0;
    uint32_t min_cp = 0;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; min_cp = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; min_cp = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; min_cp = 0x10000; }
    bool valid = len != 0 && i + len <= n;
    uint32_t cp = len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; valid && k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(line[i + k]);
      if (!is_continuation(cc)) valid = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (valid && (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) valid = false;
    // C1 control characters (U+0080..U+009F) would garble a terminal as well.
    if (valid && cp < 0xA0) valid = false;
    if (valid) {
      out.append(line.substr(i, len));
      i += len;
    } else {
      out += kReplacement;
      ++i;
    }
  }
}

// Characters (code points) in bytes [begin, end) of a sanitized line.
int count_chars(std::string_view line, std::size_t begin, std::size_t end) {
  end = std::min(end, line.size());
  int chars = 0;
  for (std::size_t i = begin; i < end; ++i)
    if (!is_continuation(static_cast<unsigned char>(line[i]))) ++chars;
  return chars;
}

}  // namespace

SourceText::SourceText(std::string_view bytes, std::string file_name) : file_name_(std::move(file_name)) {
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);  // UTF-8 byte-order mark
  std::size_t start = 0;
  while (start <= bytes.size()) {
    std::size_t nl = bytes.find('\n', start);
    std::size_t stop = nl == std::string_view::npos ? bytes.size() : nl;
    std::string_view raw = bytes.substr(start, stop - start);
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);  // CRLF files
    std::string line;
    line.reserve(raw.size());
    append_sanitized(raw, line);
    lines_.push_back(std::move(line));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  // A trailing newline does not start another line.
  if (lines_.size() > 1 && lines_.back().empty() && !bytes.empty() && bytes.back() == '\n') lines_.pop_back();
}

void DiagnosticSink::add(Diagnostic::Severity severity, const Span& span, std::string message) {
  // Bound the work and memory of a pathological line (each diagnostic copies its line).
  if (in_statement_) {
    int& count = severity == Diagnostic::Severity::error ? statement_errors_ : statement_warnings_;
    int limit = severity == Diagnostic::Severity::error ? kMaxErrors - errors_ : kMaxErrors;
    if (count >= limit) {
      if (severity == Diagnostic::Severity::error) ++dropped_errors_;
      return;
    }
    ++count;
  }
  Diagnostic d;
  d.severity = severity;
  d.file = source_.file_name();
  d.message = std::move(message);
  if (span.line >= 1 && span.line <= source_.line_count()) {
    const std::string& text = source_.line(span.line);
    d.line = span.line;
    d.source_line = text;
    std::size_t begin = std::min<std::size_t>(span.begin, text.size());
    d.column = 1 + count_chars(text, 0, begin);
    // Past the end of the line (a missing token) there is one caret position per byte.
    int past_end = span.end > text.size() ? static_cast<int>(span.end - std::max<std::size_t>(span.begin, text.size())) : 0;
    d.length = std::max(1, count_chars(text, begin, span.end) + past_end);
  }
  diagnostics_.push_back(std::move(d));
  if (!in_statement_) commit(diagnostics_.size() - 1);
}

void DiagnosticSink::file_error(std::string message) {
  if (full()) {
    ++dropped_errors_;
    return;
  }
  Diagnostic d;
  d.file = source_.file_name();
  d.message = std::move(message);
  diagnostics_.push_back(std::move(d));
  ++errors_;
}

void DiagnosticSink::commit(std::size_t first) {
  // Keep the file order within a statement, then apply the error limit.
  std::stable_sort(diagnostics_.begin() + static_cast<std::ptrdiff_t>(first), diagnostics_.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return a.line != b.line ? a.line < b.line : a.column < b.column;
                   });
  std::size_t keep = first;
  for (std::size_t i = first; i < diagnostics_.size(); ++i) {
    const bool error = diagnostics_[i].severity == Diagnostic::Severity::error;
    if (full()) {
      dropped_errors_ += error;
      continue;
    }
    errors_ += error;
    if (keep != i) diagnostics_[keep] = std::move(diagnostics_[i]);
    ++keep;
  }
  diagnostics_.resize(keep);
}

std::vector<Diagnostic> DiagnosticSink::take() {
  if (dropped_errors_ > 0) {
    Diagnostic d;
    d.file = source_.file_name();
    d.message = std::to_string(dropped_errors_) + " more error" + (dropped_errors_ == 1 ? "" : "s") +
                " not shown (the first " + std::to_string(kMaxErrors) + " are)";
    diagnostics_.push_back(std::move(d));
    dropped_errors_ = 0;
  }
  return std::move(diagnostics_);
}

void DiagnosticSink::begin_statement() {
  in_statement_ = true;
  statement_start_ = diagnostics_.size();
  statement_errors_ = 0;
  statement_warnings_ = 0;
}

void DiagnosticSink::end_statement() {
  in_statement_ = false;
  commit(statement_start_);
}

std::string quoted_excerpt(std::string_view text) {
  constexpr std::size_t kMax = 40;
  std::size_t cut = text.size();
  if (cut > kMax) {
    cut = kMax;
    while (cut > 0 && is_continuation(static_cast<unsigned char>(text[cut]))) --cut;  // keep UTF-8 whole
  }
  // Appended piecewise: `"\"" + std::string(...)` trips a GCC 12 -Wrestrict false positive.
  std::string out(1, '"');
  out.append(text.substr(0, cut));
  if (cut < text.size()) out.append("...");
  out.push_back('"');
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  if (a.size() > 64 || b.size() > 64) return a == b ? 0 : 1000;
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  // Letters compared without regard to case first (transpose_B is transpose_b, not
  // transpose_a), then with it to break ties.
  auto lower = [](std::string_view w) {
    std::string l(w);
    for (char& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return l;
  };
  const std::string word_lower = lower(word);
  const std::string* best = nullptr;
  std::size_t best_distance = 3, best_exact = 0;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word_lower, lower(c)), exact = edit_distance(word, c);
    // Only suggest when the typo is small relative to the word.
    if (d * 3 > std::max(word.size(), c.size())) continue;
    if (d < best_distance || (d == best_distance && best && exact < best_exact)) {
      best = &c;
      best_distance = d;
      best_exact = exact;
    }
  }
  return best ? " (did you mean '" + *best + "'?)" : "";
}

std::string Diagnostic::render() const {
  const char* kind = severity == Severity::error ? "error" : "warning";
  if (line <= 0) return file + ": " + kind + ": " + message + "\n";
  std::string out = file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + kind + ": " +
                    message + "\n" + source_line + "\n";
  // Mirror tabs of the source line so that the caret lines up in a terminal.
  int col = 1;
  for (std::size_t i = 0; i < source_line.size() && col < column; ++i) {
    unsigned char c = static_cast<unsigned char>(source_line[i]);
    if (is_continuation(c)) continue;
    out += c == '\t' ? '\t' : ' ';
    ++col;
  }
  for (; col < column; ++col) out += ' ';
  out += '^';
  out.append(static_cast<std::size_t>(std::max(length, 1) - 1), '~');
  out += '\n';
  return out;
}

bool TcProgram::ok() const {
  for (const auto& d : diagnostics)
    if (d.severity == Diagnostic::Severity::error) return false;
  return true;
}

std::string TcProgram::render_diagnostics() const {
  std::string out;
  for (const auto& d : diagnostics) out += d.render();
  return out;
}

}  // namespace tcc::lang
