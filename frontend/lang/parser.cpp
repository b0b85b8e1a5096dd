#include "parser.h"

#include <cstdint>
#include <utility>

namespace tcc::lang {

namespace {

// Thrown inside the parser only; parse_line turns it into ParsedLine::error.
struct SyntaxError {
  Span span;
  std::string message;
};

class LineParser {
 public:
  explicit LineParser(std::vector<Token>& tokens) : tokens_(tokens) {}

  Stmt statement() {
    const Token& first = peek();
    if (first.kind == TokenKind::name && first.text == "input") return input_statement();
    if (first.kind == TokenKind::name && first.text == "output") return output_statement();
    if (first.kind == TokenKind::name && peek(1).kind == TokenKind::equals) return binding_statement();
    if (first.kind == TokenKind::name && peek(1).kind == TokenKind::lparen)
      throw SyntaxError{first.span, "the result of '" + first.text +
                                        "(...)' must be bound to a name: write 'NAME = " + first.text + "(...)'"};
    if (first.kind == TokenKind::name && !is_reserved(first.text))
      throw SyntaxError{peek(1).span, "expected '=' after '" + first.text + "', got " + describe(peek(1))};
    throw SyntaxError{first.span, "expected a statement ('input NAME: DTYPE[...]', 'NAME = EXPR' or "
                                  "'output NAME, ...'), got " + describe(first)};
  }

 private:
  const Token& peek(std::size_t ahead = 0) const {
    std::size_t i = pos_ + ahead;
    return i < tokens_.size() ? tokens_[i] : tokens_.back();
  }
  Token& take() {
    Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool at(TokenKind kind) const { return peek().kind == kind; }
  Token& expect(TokenKind kind, const char* what) {
    if (!at(kind)) throw SyntaxError{peek().span, std::string("expected ") + what + ", got " + describe(peek())};
    return take();
  }
  void expect_end() {
    if (!at(TokenKind::end))
      throw SyntaxError{peek().span, "unexpected " + describe(peek()) + " after the end of the statement"};
  }
  // A name that a statement defines or lists; reserved words are rejected.
  NameRef value_name(const char* context) {
    const Token& t = peek();
    if (t.kind != TokenKind::name)
      throw SyntaxError{t.span, std::string("expected a value name ") + context + ", got " + describe(t)};
    if (is_reserved(t.text))
      throw SyntaxError{t.span, "'" + t.text + "' is a reserved word and cannot be used as a value name"};
    Token& name = take();
    return NameRef{name.text, name.span};
  }

  Stmt input_statement() {
    Stmt s;
    s.kind = StmtKind::input;
    Span start = take().span;  // 'input'
    s.name = value_name("after 'input'");
    expect(TokenKind::colon, "':' after the input name");
    if (!at(TokenKind::name))
      throw SyntaxError{peek().span, "expected a dtype (f32, f64, i32 or i64), got " + describe(peek())};
    Token& dtype = take();
    s.dtype = NameRef{dtype.text, dtype.span};
    expect(TokenKind::lbracket, "'[' after the dtype (write f32[] for a scalar)");
    while (!at(TokenKind::rbracket)) {
      const Token& t = peek();
      DimEntry dim;
      dim.span = t.span;
      if (t.kind == TokenKind::integer || (t.kind == TokenKind::minus && peek(1).kind == TokenKind::integer)) {
        dim.value = integer_literal(dim.span);  // a negative one is sema's error, with its value
      } else if (t.kind == TokenKind::name && !is_reserved(t.text)) {
        dim.is_integer = false;
        dim.name = t.text;
        take();
      } else {
        throw SyntaxError{t.span, "expected a dimension (an integer >= 0), got " + describe(t)};
      }
      s.dims.push_back(std::move(dim));
      if (at(TokenKind::comma)) take();
      else if (!at(TokenKind::rbracket))
        throw SyntaxError{peek().span, "expected ',' or ']' in the shape, got " + describe(peek())};
    }
    Span close = take().span;
    s.shape_span = join(s.dtype.span, close);
    expect_end();
    s.span = join(start, close);
    return s;
  }

  Stmt output_statement() {
    Stmt s;
    s.kind = StmtKind::output;
    Span start = take().span;  // 'output'
    s.outputs.push_back(value_name("after 'output'"));
    while (at(TokenKind::comma)) {
      take();
      s.outputs.push_back(value_name("after ','"));
    }
    expect_end();
    s.span = join(start, s.outputs.back().span);
    return s;
  }

  Stmt binding_statement() {
    Stmt s;
    s.kind = StmtKind::binding;
    const Token& first = peek();
    if (is_reserved(first.text))
      throw SyntaxError{first.span, "'" + first.text + "' is a reserved word and cannot be used as a value name"};
    Token& name = take();
    s.name = NameRef{name.text, name.span};
    take();  // '='
    s.value = expression(0);
    expect_end();
    s.span = join(s.name.span, s.value->span);
    return s;
  }

  void enter(int depth, const Span& where, const char* levels = "levels of parentheses, brackets or calls") {
    if (depth >= kMaxNestingDepth)
      throw SyntaxError{where, "expression nested too deeply (more than " + std::to_string(kMaxNestingDepth) + " " +
                                   levels + ")"};
  }

  // An integer literal with an optional minus sign before it (`-1`, `- 1`): its value, and
  // `span` set to cover both. Only here is 2^63 known to fit (as -2^63).
  int64_t integer_literal(Span& span) {
    const bool negative = at(TokenKind::minus);
    span = peek().span;
    if (negative) take();
    const Token& digits = take();
    span = join(span, digits.span);
    constexpr uint64_t kMinMagnitude = uint64_t{1} << 63;
    if (digits.too_large || digits.magnitude > (negative ? kMinMagnitude : kMinMagnitude - 1))
      throw SyntaxError{span, "integer literal " + std::string(negative ? "-" : "") + digits.text +
                                  " does not fit in a 64-bit signed integer"};
    if (!negative) return static_cast<int64_t>(digits.magnitude);
    return digits.magnitude == kMinMagnitude ? INT64_MIN : -static_cast<int64_t>(digits.magnitude);
  }

  // Binary operators by precedence level, Python's: a higher level binds tighter; every level is
  // left-associative. `@` sits with `*` and `/`, as in Python.
  static int precedence(TokenKind kind) {
    switch (kind) {
      case TokenKind::plus:
      case TokenKind::minus: return 1;
      case TokenKind::at:
      case TokenKind::star:
      case TokenKind::slash: return 2;
      default: return 0;
    }
  }
  static constexpr int kTightestLevel = 2;

  ExprPtr expression(int depth) { return binary(depth, 1); }

  // level := tighter (op tighter)*, one flat chain per level, so that long chains such as
  // `a @ b @ ... @ z` or `x + y + ... + z` need no deep recursion.
  ExprPtr binary(int depth, int level) {
    if (level > kTightestLevel) return unary(depth);
    ExprPtr first = binary(depth, level + 1);
    if (precedence(peek().kind) != level) return first;
    auto chain = std::make_unique<Expr>();
    chain->kind = ExprKind::chain;
    chain->span = first->span;
    chain->items.push_back(std::move(first));
    while (precedence(peek().kind) == level) {
      const Token& op = take();
      if (op.kind == TokenKind::star && at(TokenKind::star) && peek().span.begin == op.span.end)
        throw SyntaxError{join(op.span, peek().span), "'**' is not a .tc operator; write pow(x, y)"};
      chain->ops.push_back(op.text);
      chain->op_spans.push_back(op.span);
      chain->items.push_back(binary(depth, level + 1));
      chain->span = join(chain->span, chain->items.back()->span);
    }
    return chain;
  }

  // unary := '-' unary | primary. A minus before a number is part of the literal (as Python
  // folds it); before anything else it negates a tensor.
  ExprPtr unary(int depth) {
    if (!at(TokenKind::minus)) return primary(depth);
    if (peek(1).kind == TokenKind::integer) {
      auto e = std::make_unique<Expr>();
      e->kind = ExprKind::integer;
      e->integer = integer_literal(e->span);
      return e;
    }
    enter(depth, peek().span, "levels of parentheses, brackets, calls or unary '-'");
    const Span minus = take().span;
    ExprPtr operand = unary(depth + 1);
    if (operand->kind == ExprKind::integer) {  // -(1), - -1
      if (operand->integer == INT64_MIN)
        throw SyntaxError{join(minus, operand->span), "integer literal 9223372036854775808 does not fit in a 64-bit signed integer"};
      operand->integer = -operand->integer;
      operand->span = join(minus, operand->span);
      return operand;
    }
    if (operand->kind == ExprKind::floating) {
      operand->number = -operand->number;
      operand->span = join(minus, operand->span);
      return operand;
    }
    auto e = std::make_unique<Expr>();
    e->kind = ExprKind::negate;
    e->name_span = minus;
    e->span = join(minus, operand->span);
    e->items.push_back(std::move(operand));
    return e;
  }

  ExprPtr primary(int depth) {
    auto e = std::make_unique<Expr>();
    const Token& t = peek();
    e->span = t.span;
    switch (t.kind) {
      case TokenKind::integer:
        e->kind = ExprKind::integer;
        e->integer = integer_literal(e->span);
        return e;
      case TokenKind::floating:
        e->kind = ExprKind::floating;
        e->number = take().number;
        return e;
      case TokenKind::string:
        e->kind = ExprKind::string;
        e->text = take().text;
        return e;
      case TokenKind::name: {
        if (peek(1).kind == TokenKind::lparen) return call(depth);
        if (const std::optional<bool> value = bool_literal(t.text)) {
          take();
          e->kind = ExprKind::boolean;
          e->boolean = *value;
          return e;
        }
        if (is_none_literal(t.text)) {
          take();
          e->kind = ExprKind::none;
          return e;
        }
        if (is_op_name(t.text))
          throw SyntaxError{t.span, "op '" + t.text + "' must be called: " + t.text + "(...)"};
        if (is_reserved(t.text)) throw SyntaxError{t.span, "unexpected reserved word '" + t.text + "'"};
        e->kind = ExprKind::name;
        e->text = take().text;
        return e;
      }
      case TokenKind::lparen: {
        enter(depth, t.span);
        Span open = take().span;
        if (at(TokenKind::rparen)) {
          e->kind = ExprKind::tuple;
          e->span = join(open, take().span);
          return e;
        }
        ExprPtr inner = expression(depth + 1);
        if (!at(TokenKind::comma)) {
          expect(TokenKind::rparen, "')'");
          return inner;  // grouping: keeps the inner span so errors point at the expression
        }
        e->kind = ExprKind::tuple;
        e->items.push_back(std::move(inner));
        while (at(TokenKind::comma)) {
          take();
          if (at(TokenKind::rparen)) break;  // trailing comma: (2,)
          e->items.push_back(expression(depth + 1));
        }
        e->span = join(open, expect(TokenKind::rparen, "',' or ')'").span);
        return e;
      }
      case TokenKind::lbracket: {
        enter(depth, t.span);
        Span open = take().span;
        e->kind = ExprKind::list;
        while (!at(TokenKind::rbracket)) {
          e->items.push_back(expression(depth + 1));
          if (at(TokenKind::comma)) take();
          else if (!at(TokenKind::rbracket))
            throw SyntaxError{peek().span, "expected ',' or ']', got " + describe(peek())};
        }
        e->span = join(open, take().span);
        return e;
      }
      default:
        throw SyntaxError{t.span, "expected an expression, got " + describe(t)};
    }
  }

  // NAME '(' (arg (',' arg)* ','?)? ')' with arg := EXPR | KEY '=' EXPR
  ExprPtr call(int depth) {
    enter(depth, peek().span);
    auto e = std::make_unique<Expr>();
    e->kind = ExprKind::call;
    Token& name = take();
    e->text = name.text;
    e->name_span = name.span;
    take();  // '('
    while (!at(TokenKind::rparen)) {
      if (at(TokenKind::name) && peek(1).kind == TokenKind::equals) {
        Keyword kw;
        Token& key = take();
        kw.name = key.text;
        kw.name_span = key.span;
        take();  // '='
        kw.value = expression(depth + 1);
        e->keywords.push_back(std::move(kw));
      } else {
        ExprPtr arg = expression(depth + 1);
        if (!e->keywords.empty())
          throw SyntaxError{arg->span, "positional argument after keyword argument '" + e->keywords.back().name +
                                           "'; write positional arguments first"};
        e->items.push_back(std::move(arg));
      }
      if (at(TokenKind::comma)) take();
      else if (!at(TokenKind::rparen))
        throw SyntaxError{peek().span, "expected ',' or ')' in the call to '" + e->text + "', got " +
                                           describe(peek())};
    }
    e->span = join(e->name_span, take().span);
    return e;
  }

  std::vector<Token>& tokens_;
  std::size_t pos_ = 0;
};

}  // namespace

ParsedLine parse_line(std::string_view text, int line_number) {
  ParsedLine out;
  LexedLine lexed = lex_line(text, line_number);
  std::vector<Token>& tokens = lexed.tokens;
  const Token& first = tokens.front();
  if (first.kind == TokenKind::end && !lexed.error) {
    out.blank = true;
    return out;
  }
  // What the line evidently meant, from its first tokens, for poisoning after an error.
  if (first.kind == TokenKind::name) {
    if (first.text == "output") {
      out.is_output_line = true;
    } else if (first.text == "input" && tokens.size() > 1 && tokens[1].kind == TokenKind::name &&
               !is_reserved(tokens[1].text)) {
      out.defines = NameRef{tokens[1].text, tokens[1].span};
    } else if (tokens.size() > 1 && tokens[1].kind == TokenKind::equals && !is_reserved(first.text)) {
      out.defines = NameRef{first.text, first.span};
    }
  }
  if (lexed.error) {
    out.error = std::move(lexed.error);
    return out;
  }
  try {
    LineParser parser(tokens);
    out.stmt = parser.statement();
  } catch (SyntaxError& e) {
    out.error = LexError{e.span, std::move(e.message)};
  }
  return out;
}

}  // namespace tcc::lang
