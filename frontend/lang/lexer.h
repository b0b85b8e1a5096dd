// Tokens of one .tc line (statements never span lines, so the lexer works line by line).
#pragma once
#include "source.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcc::lang {

enum class TokenKind {
  name,       // [A-Za-z_][A-Za-z0-9_]*  (reserved words included; see is_reserved)
  integer,    // [0-9]+ (a sign is the parser's unary minus, so that `x-1` is a subtraction)
  floating,   // 1.5  .5  2.  1e-3  3E+2 (Python's float literals)
  string,     // "..." (text holds the contents without quotes)
  lparen, rparen, lbracket, rbracket, comma, colon, equals, at, plus, minus, star, slash,
  end,        // end of the line (or start of a comment)
};

struct Token {
  TokenKind kind = TokenKind::end;
  Span span;
  std::string text;   // the name, the string's contents, or a number's spelling
  // An integer's value up to 2^63 (the magnitude of INT64_MIN: only the parser, seeing a
  // minus sign before it, knows whether it fits); `too_large` beyond that.
  uint64_t magnitude = 0;
  bool too_large = false;
  double number = 0;  // a float's value
};

struct LexError {
  Span span;
  std::string message;
};

struct LexedLine {
  std::vector<Token> tokens;      // always ends with an `end` token
  std::optional<LexError> error;  // the first error; tokens stop just before it
};

LexedLine lex_line(std::string_view text, int line_number);

// "'('", "name 'x'", "integer 3", "number 1.5", "string \"ij\"", "end of line": for parser messages.
std::string describe(const Token& token);

// Function names (functions.h), input, output and the literals (bool_literal, is_none_literal).
bool is_reserved(std::string_view name);
// The literals, in .tc's spelling and Python's: true/True and false/False, none/None.
std::optional<bool> bool_literal(std::string_view name);
bool is_none_literal(std::string_view name);
bool is_op_name(std::string_view name);
const std::vector<std::string>& op_names();

}  // namespace tcc::lang
