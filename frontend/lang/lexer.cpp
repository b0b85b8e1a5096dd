#include "lexer.h"

#include "functions.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace tcc::lang {

namespace {

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// Length in bytes of the (valid, see SourceText) UTF-8 sequence starting with `lead`.
std::size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  return 4;
}

std::string unexpected_character_message(std::string_view text, std::size_t at) {
  unsigned char c = static_cast<unsigned char>(text[at]);
  if (c < 0x80) return std::string("unexpected character '") + static_cast<char>(c) + "'";
  std::size_t n = std::min(utf8_length(c), text.size() - at);
  std::string_view seq = text.substr(at, n);
  if (seq == "\xEF\xBF\xBD") return "invalid byte in source (not UTF-8 text, or a control character)";
  uint32_t cp = 0;
  if (n == 2) cp = c & 0x1F;
  else if (n == 3) cp = c & 0x0F;
  else cp = c & 0x07;
  for (std::size_t i = 1; i < n; ++i) cp = (cp << 6) | (static_cast<unsigned char>(seq[i]) & 0x3F);
  char hex[16];
  std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(cp));
  return "unexpected character '" + std::string(seq) + "' (" + hex + ")";
}

// A number starting at `at` (a digit, or '.' before a digit), Python's way: digits, an
// optional fraction, an optional exponent; a '.' or an exponent makes it a float. A name
// character or '.' right after it makes the whole run one invalid literal.
struct NumberScan {
  std::size_t end = 0;
  bool is_float = false;
  std::optional<std::string> error;
};

NumberScan scan_number(std::string_view text, std::size_t at) {
  const std::size_t n = text.size();
  NumberScan s;
  std::size_t i = at;
  auto digits = [&] {
    std::size_t from = i;
    while (i < n && is_digit(text[i])) ++i;
    return i > from;
  };
  digits();
  if (i < n && text[i] == '.') {
    s.is_float = true;
    ++i;
    digits();
  }
  bool bad_exponent = false;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    s.is_float = true;
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    bad_exponent = !digits();
  }
  if (bad_exponent || (i < n && (is_name_char(text[i]) || text[i] == '.'))) {
    while (i < n && (is_name_char(text[i]) || text[i] == '.')) ++i;
    s.error = std::string(s.is_float ? "invalid float literal '" : "invalid integer literal '") +
              std::string(text.substr(at, i - at)) + "'";
  }
  s.end = i;
  return s;
}

// The value of a well-formed integer literal, up to 2^63 (the magnitude of INT64_MIN).
void integer_value(std::string_view digits, Token& tok) {
  constexpr uint64_t limit = uint64_t{1} << 63;
  for (char d : digits) {
    const uint64_t digit = static_cast<uint64_t>(d - '0');
    if (tok.magnitude > (limit - digit) / 10) {
      tok.too_large = true;
      return;
    }
    tok.magnitude = tok.magnitude * 10 + digit;
  }
}

}  // namespace

const std::vector<std::string>& op_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const ir::OpInfo& fn : tc_functions()) n.emplace_back(fn.name);
    return n;
  }();
  return names;
}

bool is_op_name(std::string_view name) {
  for (const auto& op : op_names())
    if (op == name) return true;
  return false;
}

std::optional<bool> bool_literal(std::string_view name) {
  // Python's True and False are the same literals, as a Python user types them.
  if (name == "true" || name == "True") return true;
  if (name == "false" || name == "False") return false;
  return std::nullopt;
}

bool is_none_literal(std::string_view name) { return name == "none" || name == "None"; }

bool is_reserved(std::string_view name) {
  return is_op_name(name) || name == "input" || name == "output" || bool_literal(name) || is_none_literal(name);
}

std::string describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::name: return (is_reserved(token.text) ? "reserved word '" : "name '") + token.text + "'";
    case TokenKind::integer: return "integer " + token.text;
    case TokenKind::floating: return "number " + token.text;
    case TokenKind::string: return "string " + quoted_excerpt(token.text);
    case TokenKind::lparen: return "'('";
    case TokenKind::rparen: return "')'";
    case TokenKind::lbracket: return "'['";
    case TokenKind::rbracket: return "']'";
    case TokenKind::comma: return "','";
    case TokenKind::colon: return "':'";
    case TokenKind::equals: return "'='";
    case TokenKind::at: return "'@'";
    case TokenKind::plus: return "'+'";
    case TokenKind::minus: return "'-'";
    case TokenKind::star: return "'*'";
    case TokenKind::slash: return "'/'";
    case TokenKind::end: return "end of line";
  }
  return "token";
}

LexedLine lex_line(std::string_view text, int line_number) {
  LexedLine out;
  auto span = [&](std::size_t b, std::size_t e) {
    return Span{line_number, static_cast<uint32_t>(b), static_cast<uint32_t>(e)};
  };
  auto fail = [&](std::size_t b, std::size_t e, std::string message) {
    out.error = LexError{span(b, e), std::move(message)};
  };
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n && !out.error) {
    char c = text[i];
    if (c == ' ' || c == '\t') { ++i; continue; }
    if (c == '#') break;
    std::size_t start = i;
    Token tok;
    if (is_name_start(c)) {
      while (i < n && is_name_char(text[i])) ++i;
      tok.kind = TokenKind::name;
      tok.text = std::string(text.substr(start, i - start));
    } else if (is_digit(c) || (c == '.' && i + 1 < n && is_digit(text[i + 1]))) {
      NumberScan scan = scan_number(text, i);
      i = scan.end;
      if (scan.error) {
        fail(start, i, *scan.error);
        break;
      }
      tok.text = std::string(text.substr(start, i - start));
      if (scan.is_float) {
        tok.kind = TokenKind::floating;
        // from_chars: the C locale's '.', whatever the process's locale is.
        const std::from_chars_result r = std::from_chars(tok.text.data(), tok.text.data() + tok.text.size(), tok.number);
        if (r.ec != std::errc() || !std::isfinite(tok.number)) {
          fail(start, i, "float literal " + tok.text + " is out of the range of a 64-bit float");
          break;
        }
      } else {
        tok.kind = TokenKind::integer;
        integer_value(tok.text, tok);
      }
    } else if (c == '"' || c == '\'') {
      // "..." or, as in Python, '...': a string ends with its opening quote on the same line.
      std::size_t close = text.find(c, i + 1);
      if (close == std::string_view::npos) {
        fail(start, n, std::string("unterminated string (a string ends with '") + (c == '"' ? "\"" : "'") +
                           "' on the same line)");
        break;
      }
      tok.kind = TokenKind::string;
      tok.text = std::string(text.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      static constexpr std::array<std::pair<char, TokenKind>, 12> punct = {{
          {'(', TokenKind::lparen}, {')', TokenKind::rparen}, {'[', TokenKind::lbracket},
          {']', TokenKind::rbracket}, {',', TokenKind::comma}, {':', TokenKind::colon},
          {'=', TokenKind::equals}, {'@', TokenKind::at}, {'+', TokenKind::plus},
          {'-', TokenKind::minus}, {'*', TokenKind::star}, {'/', TokenKind::slash}}};
      bool found = false;
      for (const auto& [ch, kind] : punct) {
        if (ch == c) {
          tok.kind = kind;
          tok.text = std::string(1, c);  // an operator's spelling, as the op tables write it
          found = true;
          break;
        }
      }
      if (!found) {
        std::size_t len = std::min(utf8_length(static_cast<unsigned char>(c)), n - i);
        fail(start, i + len, unexpected_character_message(text, i));
        break;
      }
      ++i;
    }
    tok.span = span(start, i);
    out.tokens.push_back(std::move(tok));
  }
  // The end token sits just after the last token, where a missing ')' or name would go.
  std::size_t end_at = out.tokens.empty() ? 0 : out.tokens.back().span.end;
  if (out.tokens.empty()) {
    // Point at the first non-blank character of an otherwise empty line.
    while (end_at < n && (text[end_at] == ' ' || text[end_at] == '\t')) ++end_at;
  }
  Token end;
  end.kind = TokenKind::end;
  end.span = span(end_at, end_at + 1);
  out.tokens.push_back(std::move(end));
  return out;
}

}  // namespace tcc::lang
