// Parses one line of a .tc file into a statement. Errors stop the line (recovery happens at
// the end of the line, since statements never span lines).
#pragma once
#include "ast.h"
#include "lexer.h"

#include <optional>
#include <string>
#include <string_view>

namespace tcc::lang {

// Deeper nesting of parentheses, brackets or calls is an error (keeps recursion bounded).
inline constexpr int kMaxNestingDepth = 64;

struct ParsedLine {
  bool blank = false;              // nothing but whitespace and comments
  std::optional<Stmt> stmt;        // set when the line parsed
  std::optional<LexError> error;   // the first lexical or syntax error
  // For a line with an error: what it evidently meant to define (poisoned so that uses of
  // it do not cascade), and whether it was an `output` line.
  std::optional<NameRef> defines;
  bool is_output_line = false;
};

ParsedLine parse_line(std::string_view text, int line_number);

}  // namespace tcc::lang
