// The .tc language (spec/tc-language.md): lexer, parser, semantic analysis and diagnostics.
#include "lang/lexer.h"
#include "lang/parser.h"
#include "lang/tc_program.h"

#include "frontend/graph_access.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <type_traits>
#include <string>
#include <vector>

namespace tcc::lang {
namespace {

using Severity = Diagnostic::Severity;

std::vector<Diagnostic> errors_of(const TcProgram& p) {
  std::vector<Diagnostic> out;
  for (const auto& d : p.diagnostics)
    if (d.severity == Severity::error) out.push_back(d);
  return out;
}

std::vector<Diagnostic> warnings_of(const TcProgram& p) {
  std::vector<Diagnostic> out;
  for (const auto& d : p.diagnostics)
    if (d.severity == Severity::warning) out.push_back(d);
  return out;
}

const NamedValue* find_value(const TcProgram& p, const std::string& name) {
  for (const auto& v : p.values)
    if (v.name == name) return &v;
  return nullptr;
}

// Loads `source` and expects exactly one error, at line:column underlining `length` characters,
// whose message contains `fragment`.
void expect_single_error(const std::string& source, int line, int column, int length, const std::string& fragment) {
  SCOPED_TRACE(source);
  TcProgram p = load_tc_source(source, "t.tc");
  std::vector<Diagnostic> errors = errors_of(p);
  ASSERT_EQ(errors.size(), 1u) << p.render_diagnostics();
  EXPECT_FALSE(p.ok());
  EXPECT_EQ(errors[0].line, line) << errors[0].render();
  EXPECT_EQ(errors[0].column, column) << errors[0].render();
  EXPECT_EQ(errors[0].length, length) << errors[0].render();
  EXPECT_NE(errors[0].message.find(fragment), std::string::npos) << errors[0].message;
}

// ---------------------------------------------------------------- lexer

std::vector<TokenKind> kinds_of(const LexedLine& l) {
  std::vector<TokenKind> kinds;
  for (const auto& t : l.tokens) kinds.push_back(t.kind);
  return kinds;
}

TEST(TcLexer, TokenKindsTextAndSpans) {
  LexedLine l = lex_line("c = f(a, -12, \"ij->j\")@[x]: # comment (", 3);
  ASSERT_FALSE(l.error.has_value());
  std::vector<TokenKind> expected = {TokenKind::name,     TokenKind::equals,  TokenKind::name,   TokenKind::lparen,
                                     TokenKind::name,     TokenKind::comma,   TokenKind::minus,  TokenKind::integer,
                                     TokenKind::comma,    TokenKind::string,  TokenKind::rparen, TokenKind::at,
                                     TokenKind::lbracket, TokenKind::name,    TokenKind::rbracket, TokenKind::colon,
                                     TokenKind::end};
  EXPECT_EQ(kinds_of(l), expected);
  // The sign is the parser's: the lexer gives '-' and the digits.
  EXPECT_EQ(l.tokens[6].span.begin, 9u);
  EXPECT_EQ(l.tokens[7].magnitude, 12u);
  EXPECT_EQ(l.tokens[7].span.begin, 10u);
  EXPECT_EQ(l.tokens[7].span.end, 12u);
  EXPECT_EQ(l.tokens[9].text, "ij->j");
  EXPECT_EQ(l.tokens[0].span.line, 3);
  // The end token sits right after the last real token (the comment is skipped).
  EXPECT_EQ(l.tokens.back().span.begin, l.tokens[15].span.end);
}

TEST(TcLexer, OperatorsAndFloats) {
  LexedLine l = lex_line("x-1+y*2/.5 1.5 2. 1e-3 3E+2 0.25e1 007", 1);
  ASSERT_FALSE(l.error.has_value()) << l.error->message;
  std::vector<TokenKind> expected = {TokenKind::name,     TokenKind::minus,    TokenKind::integer,  TokenKind::plus,
                                     TokenKind::name,     TokenKind::star,     TokenKind::integer,  TokenKind::slash,
                                     TokenKind::floating, TokenKind::floating, TokenKind::floating, TokenKind::floating,
                                     TokenKind::floating, TokenKind::floating, TokenKind::integer,  TokenKind::end};
  EXPECT_EQ(kinds_of(l), expected);
  EXPECT_EQ(l.tokens[8].number, 0.5);
  EXPECT_EQ(l.tokens[9].number, 1.5);
  EXPECT_EQ(l.tokens[10].number, 2.0);
  EXPECT_EQ(l.tokens[11].number, 1e-3);
  EXPECT_EQ(l.tokens[12].number, 300.0);
  EXPECT_EQ(l.tokens[13].number, 2.5);
  EXPECT_EQ(l.tokens[13].text, "0.25e1");
  EXPECT_EQ(l.tokens[14].magnitude, 7u);
  EXPECT_EQ(describe(l.tokens[9]), "number 1.5");
  EXPECT_EQ(describe(l.tokens[1]), "'-'");
  // An exponent's sign belongs to the literal; a '-' after a name or number is an operator.
  EXPECT_EQ(kinds_of(lex_line("1e-3-2", 1)),
            (std::vector<TokenKind>{TokenKind::floating, TokenKind::minus, TokenKind::integer, TokenKind::end}));
}

TEST(TcLexer, IntegerLimits) {
  // The lexer reads magnitudes up to 2^63; the parser, which sees the sign, decides what fits.
  LexedLine max = lex_line("9223372036854775807 9223372036854775808 9223372036854775809", 1);
  ASSERT_FALSE(max.error.has_value());
  EXPECT_EQ(max.tokens[0].magnitude, uint64_t{INT64_MAX});
  EXPECT_EQ(max.tokens[1].magnitude, uint64_t{1} << 63);
  EXPECT_FALSE(max.tokens[1].too_large);
  EXPECT_TRUE(max.tokens[2].too_large);
  ParsedLine ok = parse_line("c = f(9223372036854775807, -9223372036854775808)", 1);
  ASSERT_TRUE(ok.stmt.has_value()) << ok.error->message;
  EXPECT_EQ(ok.stmt->value->items[0]->integer, INT64_MAX);
  EXPECT_EQ(ok.stmt->value->items[1]->integer, INT64_MIN);
  for (const char* text : {"9223372036854775808", "-9223372036854775809", "123456789012345678901234567890",
                           "-123456789012345678901234567890"}) {
    ParsedLine l = parse_line("c = f(" + std::string(text) + ")", 1);
    ASSERT_TRUE(l.error.has_value()) << text;
    EXPECT_EQ(l.error->message, "integer literal " + std::string(text) + " does not fit in a 64-bit signed integer");
    EXPECT_EQ(l.error->span.begin, 6u);
    EXPECT_EQ(l.error->span.end, 6 + std::string(text).size());
  }
}

TEST(TcLexer, ErrorsStopTheLine) {
  struct Case {
    const char* text;
    uint32_t begin;
    const char* fragment;
  };
  for (const Case& c : std::vector<Case>{{"a = $b", 4, "unexpected character '$'"},
                                         {"a = \"ij", 4, "unterminated string"},
                                         {"a = 12ab", 4, "invalid integer literal '12ab'"},
                                         {"a = 1.5x", 4, "invalid float literal '1.5x'"},
                                         {"a = x * 1.2.3", 8, "invalid float literal '1.2.3'"},
                                         {"a = 1e", 4, "invalid float literal '1e'"},
                                         {"a = 2E+", 4, "invalid float literal '2E+'"},
                                         {"a = 1e999", 4, "float literal 1e999 is out of the range of a 64-bit float"},
                                         {"a = x . 5", 6, "unexpected character '.'"},
                                         {"a = \xC3\x97", 4, "(U+00D7)"}}) {
    LexedLine l = lex_line(c.text, 1);
    ASSERT_TRUE(l.error.has_value()) << c.text;
    EXPECT_EQ(l.error->span.begin, c.begin) << c.text;
    EXPECT_NE(l.error->message.find(c.fragment), std::string::npos) << l.error->message;
    EXPECT_EQ(l.tokens.back().kind, TokenKind::end);
  }
}

TEST(TcLexer, ReservedWords) {
  for (const char* w : {"dot", "batch_dot", "matmul", "tensordot", "einsum", "transpose", "reshape", "input",
                        "output", "true", "false", "none"})
    EXPECT_TRUE(is_reserved(w)) << w;
  // Every element-wise function of ir/elementwise.h by its name, but gelu_tanh, which .tc spells
  // gelu(x, approximate=true).
  for (const char* w : {"add", "subtract", "multiply", "divide", "maximum", "minimum", "pow", "neg", "abs", "square",
                        "sqrt", "rsqrt", "exp", "log", "tanh", "sigmoid", "relu", "gelu"})
    EXPECT_TRUE(is_op_name(w)) << w;
  for (const char* w : {"axes", "f32", "x", "Dot", "dot_", "gelu_tanh", "np_matmul", "elementwise", "approximate"})
    EXPECT_FALSE(is_reserved(w)) << w;
}

// ---------------------------------------------------------------- parser

TEST(TcParser, InputStatement) {
  ParsedLine l = parse_line("input w: f32[10, 0, 4]", 1);
  ASSERT_TRUE(l.stmt.has_value());
  EXPECT_EQ(l.stmt->kind, StmtKind::input);
  EXPECT_EQ(l.stmt->name.name, "w");
  EXPECT_EQ(l.stmt->dtype.name, "f32");
  ASSERT_EQ(l.stmt->dims.size(), 3u);
  EXPECT_EQ(l.stmt->dims[0].value, 10);
  EXPECT_EQ(l.stmt->dims[1].value, 0);

  ParsedLine scalar = parse_line("input s: f64[]", 1);
  ASSERT_TRUE(scalar.stmt.has_value());
  EXPECT_TRUE(scalar.stmt->dims.empty());

  ParsedLine symbolic = parse_line("input s: f64[N, 4]", 1);
  ASSERT_TRUE(symbolic.stmt.has_value());  // a symbolic dimension
  EXPECT_FALSE(symbolic.stmt->dims[0].is_integer);
}

TEST(TcParser, CallWithKeywordsAndValues) {
  ParsedLine l = parse_line("z = batch_dot(w, k, axes=((1, 2), [0, -1]), legacy=true)", 1);
  ASSERT_TRUE(l.stmt.has_value());
  const Expr& call = *l.stmt->value;
  ASSERT_EQ(call.kind, ExprKind::call);
  EXPECT_EQ(call.text, "batch_dot");
  ASSERT_EQ(call.items.size(), 2u);
  ASSERT_EQ(call.keywords.size(), 2u);
  const Expr& axes = *call.keywords[0].value;
  ASSERT_EQ(axes.kind, ExprKind::tuple);
  ASSERT_EQ(axes.items.size(), 2u);
  EXPECT_EQ(axes.items[0]->kind, ExprKind::tuple);
  EXPECT_EQ(axes.items[1]->kind, ExprKind::list);
  EXPECT_EQ(axes.items[1]->items[1]->integer, -1);
  EXPECT_EQ(call.keywords[1].value->kind, ExprKind::boolean);
  EXPECT_TRUE(call.keywords[1].value->boolean);
  // The call's span runs from the op name to the ')'.
  EXPECT_EQ(call.span.begin, 4u);
  EXPECT_EQ(call.span.end, 56u);
}

TEST(TcParser, MatmulChainIsFlatLeftAssociativeAndParenthesesGroup) {
  ParsedLine l = parse_line("c = a @ (b @ c) @ d", 1);
  ASSERT_TRUE(l.stmt.has_value());
  const Expr& chain = *l.stmt->value;
  ASSERT_EQ(chain.kind, ExprKind::chain);
  ASSERT_EQ(chain.items.size(), 3u);
  EXPECT_EQ(chain.items[1]->kind, ExprKind::chain);  // the parenthesised group
  EXPECT_EQ(chain.ops, (std::vector<std::string>{"@", "@"}));
  ASSERT_EQ(chain.op_spans.size(), 2u);
  EXPECT_EQ(chain.op_spans[0].begin, 6u);
}

// The tree as text: chains as (a op b ...), negation as -(x), numbers as written.
std::string tree(const Expr& e) {
  switch (e.kind) {
    case ExprKind::name: return e.text;
    case ExprKind::integer: return std::to_string(e.integer);
    case ExprKind::floating: return "f" + std::to_string(e.number);
    case ExprKind::negate: return "-(" + tree(*e.items[0]) + ")";
    case ExprKind::call: {
      std::string s = e.text + "(";
      for (std::size_t i = 0; i < e.items.size(); ++i) s += (i ? ", " : "") + tree(*e.items[i]);
      return s + ")";
    }
    case ExprKind::chain: {
      std::string s = "(" + tree(*e.items[0]);
      for (std::size_t i = 1; i < e.items.size(); ++i) s += " " + e.ops[i - 1] + " " + tree(*e.items[i]);
      return s + ")";
    }
    default: return "?";
  }
}

TEST(TcParser, PrecedenceIsPythons) {
  auto parsed = [](const std::string& text) {
    ParsedLine l = parse_line("c = " + text, 1);
    return l.stmt ? tree(*l.stmt->value) : "error: " + l.error->message;
  };
  // @ * / bind tighter than + -, each level left-associative and flat; @ sits with * and /.
  EXPECT_EQ(parsed("a + b * c"), "(a + (b * c))");
  EXPECT_EQ(parsed("a * b + c"), "((a * b) + c)");
  EXPECT_EQ(parsed("a - b - c + d"), "(a - b - c + d)");
  EXPECT_EQ(parsed("a @ b * c / d @ e"), "(a @ b * c / d @ e)");
  EXPECT_EQ(parsed("x @ w + b"), "((x @ w) + b)");
  EXPECT_EQ(parsed("b + x @ w"), "(b + (x @ w))");
  EXPECT_EQ(parsed("(a + b) * c"), "((a + b) * c)");
  EXPECT_EQ(parsed("relu(x @ w + b) * 2"), "(relu(((x @ w) + b)) * 2)");
  // Unary minus binds tighter than every binary operator: -x @ y is (-x) @ y.
  EXPECT_EQ(parsed("-x @ y"), "(-(x) @ y)");
  EXPECT_EQ(parsed("-x * -y"), "(-(x) * -(y))");
  EXPECT_EQ(parsed("- -x"), "-(-(x))");
  EXPECT_EQ(parsed("-(a + b)"), "-((a + b))");
  // `x-1` subtracts; a minus before a number is part of the literal.
  EXPECT_EQ(parsed("x-1"), "(x - 1)");
  EXPECT_EQ(parsed("x - -1"), "(x - -1)");
  EXPECT_EQ(parsed("x--1"), "(x - -1)");
  EXPECT_EQ(parsed("2*-x"), "(2 * -(x))");
  EXPECT_EQ(parsed("1 / x + .5"), "((1 / x) + f0.500000)");
  EXPECT_EQ(parsed("-2.5 * x"), "(f-2.500000 * x)");
  EXPECT_EQ(parsed("- 1"), "-1");
  EXPECT_EQ(parsed("-(2)"), "-2");
  EXPECT_EQ(parsed("- -3"), "3");
  EXPECT_EQ(parsed("reshape(x, [-1, 4])"), "reshape(x, ?)");
}

TEST(TcParser, NegativeIntegersInAttributesAndShapes) {
  ParsedLine l = parse_line("c = transpose(x, perm=(1, -1, - 2))", 1);
  ASSERT_TRUE(l.stmt.has_value());
  const Expr& perm = *l.stmt->value->keywords[0].value;
  EXPECT_EQ(perm.items[1]->integer, -1);
  EXPECT_EQ(perm.items[1]->span.begin, 26u);  // the literal covers its sign
  EXPECT_EQ(perm.items[1]->span.end, 28u);
  EXPECT_EQ(perm.items[2]->integer, -2);
  ParsedLine axes = parse_line("c = f(x, axes=-1)", 1);
  ASSERT_TRUE(axes.stmt.has_value());
  EXPECT_EQ(axes.stmt->value->keywords[0].value->kind, ExprKind::integer);
  EXPECT_EQ(axes.stmt->value->keywords[0].value->integer, -1);
  ParsedLine dims = parse_line("input a: f32[3, -1]", 1);
  ASSERT_TRUE(dims.stmt.has_value());
  EXPECT_EQ(dims.stmt->dims[1].value, -1);
  EXPECT_EQ(dims.stmt->dims[1].span.begin, 16u);
  EXPECT_EQ(dims.stmt->dims[1].span.end, 18u);
}

TEST(TcParser, TuplesVersusGrouping) {
  auto value_of = [](const char* text) { return std::move(*parse_line(text, 1).stmt->value); };
  EXPECT_EQ(value_of("c = (a)").kind, ExprKind::name);
  EXPECT_EQ(value_of("c = (2,)").kind, ExprKind::tuple);
  EXPECT_EQ(value_of("c = (2,)").items.size(), 1u);
  EXPECT_EQ(value_of("c = ()").kind, ExprKind::tuple);
  EXPECT_EQ(value_of("c = []").kind, ExprKind::list);
  EXPECT_EQ(value_of("c = none").kind, ExprKind::none);
}

TEST(TcParser, OutputStatementAndBlankLines) {
  ParsedLine l = parse_line("output a, b, a  # repeat", 1);
  ASSERT_TRUE(l.stmt.has_value());
  ASSERT_EQ(l.stmt->outputs.size(), 3u);
  EXPECT_EQ(l.stmt->outputs[2].name, "a");
  EXPECT_TRUE(parse_line("   # only a comment", 1).blank);
  EXPECT_TRUE(parse_line("\t", 1).blank);
}

TEST(TcParser, SyntaxErrorsAndPoisonInfo) {
  struct Case {
    const char* text;
    uint32_t begin;
    const char* fragment;
  };
  for (const Case& c : std::vector<Case>{
           {"c = dot(a, b", 12, "expected ',' or ')'"},
           {"c = dot(a, transpose_a=true, b)", 29, "positional argument after keyword"},
           {"c dot(a, b)", 2, "expected '=' after 'c'"},
           {"dot(a, b)", 0, "must be bound to a name"},
           {"dot = a", 0, "reserved word"},
           {"input true: f32[2]", 6, "reserved word"},
           {"input a f32[2]", 8, "expected ':'"},
           {"input a: f32[2", 14, "expected ',' or ']'"},
           {"input a: f32[true]", 13, "expected a dimension"},
           {"output", 6, "expected a value name after 'output'"},
           {"output a,", 9, "expected a value name after ','"},
           {"c = dot", 4, "must be called"},
           {"c = a b", 6, "after the end of the statement"},
           {"c = ", 3, "expected an expression, got end of line"},
           {"= a", 0, "expected a statement"},
           {"c = a ** 2", 6, "'**' is not a .tc operator; write pow(x, y)"},
           {"c = a +", 7, "expected an expression, got end of line"},
           {"c = a * / b", 8, "expected an expression, got '/'"},
           {"c = a + relu", 8, "must be called"},
           {"c = (a + b", 10, "expected ')'"},
           {"c = -", 5, "expected an expression, got end of line"},
           {"input a: f32[-x]", 13, "expected a dimension"},
       }) {
    ParsedLine l = parse_line(c.text, 1);
    ASSERT_TRUE(l.error.has_value()) << c.text;
    EXPECT_FALSE(l.stmt.has_value());
    EXPECT_EQ(l.error->span.begin, c.begin) << c.text << ": " << l.error->message;
    EXPECT_NE(l.error->message.find(c.fragment), std::string::npos) << c.text << ": " << l.error->message;
  }
  ParsedLine bad_binding = parse_line("c = dot(a, b", 1);
  ASSERT_TRUE(bad_binding.defines.has_value());
  EXPECT_EQ(bad_binding.defines->name, "c");
  ParsedLine bad_input = parse_line("input x: f32[2", 1);
  ASSERT_TRUE(bad_input.defines.has_value());
  EXPECT_EQ(bad_input.defines->name, "x");
  EXPECT_TRUE(parse_line("output a,", 1).is_output_line);
}

TEST(TcParser, NestingDepthIsBounded) {
  std::string ok = "c = " + std::string(kMaxNestingDepth - 1, '(') + "a" + std::string(kMaxNestingDepth - 1, ')');
  EXPECT_TRUE(parse_line(ok, 1).stmt.has_value());
  std::string deep = "c = " + std::string(100000, '(') + "a" + std::string(100000, ')');
  ParsedLine l = parse_line(deep, 1);
  ASSERT_TRUE(l.error.has_value());
  EXPECT_NE(l.error->message.find("nested too deeply"), std::string::npos);
  std::string calls = "c = ";
  for (int i = 0; i < 100000; ++i) calls += "dot(";
  EXPECT_TRUE(parse_line(calls, 1).error.has_value());
  // Unary minus nests too; a long flat chain of operators does not.
  ParsedLine minus = parse_line("c = " + std::string(100000, '-') + "a", 1);
  ASSERT_TRUE(minus.error.has_value());
  EXPECT_NE(minus.error->message.find("nested too deeply"), std::string::npos);
  std::string sum = "c = a";
  for (int i = 0; i < 100000; ++i) sum += i % 2 ? " + a" : " * a";
  EXPECT_TRUE(parse_line(sum, 1).stmt.has_value());
}

// ---------------------------------------------------------------- successful programs

TEST(TcProgram, SpecExampleShapesOutputsAndWarnings) {
  const std::string src =
      "# Keras K.dot replicates Theano's dot\n"
      "input a: f32[1, 2, 3, 4]\n"
      "input b: f32[8, 7, 4, 5]\n"
      "c = dot(a, b)                          # (1, 2, 3, 8, 7, 5)\n"
      "\n"
      "input w: f32[10, 12, 4, 5]\n"
      "input k: f32[10, 12, 5, 8]\n"
      "z = matmul(w, k)\n"
      "zb = batch_dot(w, k)\n"
      "zl = batch_dot(w, k, legacy=true)\n"
      "output c, z, zb, zl\n";
  TcProgram p = load_tc_source(src, "keras.tc");
  ASSERT_TRUE(p.ok()) << p.render_diagnostics();
  ASSERT_EQ(p.values.size(), 8u);
  const std::vector<std::pair<std::string, Shape>> expected = {
      {"a", {1, 2, 3, 4}},   {"b", {8, 7, 4, 5}},      {"c", {1, 2, 3, 8, 7, 5}},  {"w", {10, 12, 4, 5}},
      {"k", {10, 12, 5, 8}}, {"z", {10, 12, 4, 8}},    {"zb", {10, 12, 4, 12, 8}}, {"zl", {10, 12, 4, 8}}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(p.values[i].name, expected[i].first);
    EXPECT_EQ(p.values[i].value.shape(), expected[i].second) << expected[i].first;
    EXPECT_EQ(p.values[i].value.dtype(), DType::f32);
  }
  EXPECT_TRUE(p.values[0].is_input);
  EXPECT_FALSE(p.values[2].is_input);
  EXPECT_EQ(p.values[2].line, 4);
  EXPECT_EQ(p.output_names, (std::vector<std::string>{"c", "z", "zb", "zl"}));
  ASSERT_EQ(p.outputs.size(), 4u);
  EXPECT_EQ(p.outputs[2].shape(), (Shape{10, 12, 4, 12, 8}));

  // Both batch_dot calls disagree between the two Keras conventions, but only the one that left
  // it to the default warns, at the call: legacy=true written out is the user's choice.
  std::vector<Diagnostic> warnings = warnings_of(p);
  ASSERT_EQ(warnings.size(), 1u) << p.render_diagnostics();
  EXPECT_EQ(warnings[0].line, 9);
  EXPECT_EQ(warnings[0].column, 6);
  EXPECT_EQ(warnings[0].length, 15);  // batch_dot(w, k)
  EXPECT_NE(warnings[0].render().find("keras.tc:9:6: warning: "), std::string::npos);
}

TEST(TcProgram, PositionalAttributesMatchKeywordAttributes) {
  const std::string src =
      "input x: f32[2, 3, 4]\n"
      "input y: f32[4, 5]\n"
      "r1 = reshape(x, (6, -1))\n"
      "r2 = reshape(x, shape=[6, -1])\n"
      "r3 = reshape(x, 24)\n"
      "t1 = transpose(x, (1, 0, 2))\n"
      "t2 = transpose(x, perm=(1, 0, 2))\n"
      "t3 = transpose(x)\n"
      "d1 = tensordot(x, y, 1)\n"
      "d2 = tensordot(x, y, axes=[[2], [0]])\n"
      "m1 = matmul(x, x, false, true)\n"
      "b1 = batch_dot(x, x, 2, false)\n"
      "e1 = einsum(\"bij,jk->bik\", x, y)\n"
      "output r1\n";
  TcProgram p = load_tc_source(src, "t.tc");
  ASSERT_TRUE(p.ok()) << p.render_diagnostics();
  auto shape = [&](const char* name) {
    const NamedValue* v = find_value(p, name);
    return v ? v->value.shape() : Shape{-999};
  };
  EXPECT_EQ(shape("r1"), (Shape{6, 4}));
  EXPECT_EQ(shape("r2"), (Shape{6, 4}));
  EXPECT_EQ(shape("r3"), (Shape{24}));
  EXPECT_EQ(shape("t1"), (Shape{3, 2, 4}));
  EXPECT_EQ(shape("t2"), (Shape{3, 2, 4}));
  EXPECT_EQ(shape("t3"), (Shape{4, 3, 2}));
  EXPECT_EQ(shape("d1"), (Shape{2, 3, 5}));
  EXPECT_EQ(shape("d2"), (Shape{2, 3, 5}));
  EXPECT_EQ(shape("m1"), (Shape{2, 3, 3}));
  EXPECT_EQ(shape("b1"), (Shape{2, 3, 3}));
  EXPECT_EQ(shape("e1"), (Shape{2, 3, 5}));
  // Identical subexpressions are one node.
  EXPECT_EQ(find_value(p, "r1")->value, find_value(p, "r2")->value);
}

TEST(TcProgram, MatmulOperatorScalarsAndDtypes) {
  const std::string src =
      "input v: f64[4]\n"
      "input m: f64[3, 4, 5]\n"
      "input s: i32[]\n"
      "a = v @ v\n"
      "b = v @ m\n"
      "c = m @ transpose(m, (0, 2, 1)) @ m\n"
      "output a, b, c, s\n";
  TcProgram p = load_tc_source(src, "t.tc");
  ASSERT_TRUE(p.ok()) << p.render_diagnostics();
  EXPECT_EQ(find_value(p, "s")->value.shape(), Shape{});
  EXPECT_EQ(find_value(p, "s")->value.dtype(), DType::i32);
  EXPECT_EQ(find_value(p, "a")->value.shape(), Shape{});
  EXPECT_EQ(find_value(p, "b")->value.shape(), (Shape{3, 5}));
  EXPECT_EQ(find_value(p, "c")->value.shape(), (Shape{3, 4, 5}));
  EXPECT_EQ(find_value(p, "c")->value.dtype(), DType::f64);
  EXPECT_EQ(p.output_names, (std::vector<std::string>{"a", "b", "c", "s"}));
}

// A value's graph as text: inputs by name, constants as DTYPE:VALUE, other nodes as op(args).
std::string graph_tree(const Value& v) {
  const ir::GraphIR& g = detail::graph_ir(v.graph());
  std::function<std::string(int)> walk = [&](int id) -> std::string {
    const ir::Node& n = g.node(id);
    if (n.op == ir::OpKind::input) return n.name;
    if (n.op == ir::OpKind::constant) {
      std::string value = visit_dtype(n.dtype, [&](auto zero) {
        using T = decltype(zero);
        const T x = n.data.data_as<T>()[0];
        if constexpr (std::is_integral_v<T>) return std::to_string(static_cast<int64_t>(x));
        char text[32];
        std::snprintf(text, sizeof text, "%g", static_cast<double>(x));
        return std::string(text);
      });
      return std::string(dtype_name(n.dtype)) + ":" + value;
    }
    std::string s = std::string(ir::node_op_name(n)) + "(";
    for (std::size_t i = 0; i < n.inputs.size(); ++i) s += (i ? ", " : "") + walk(n.inputs[i]);
    return s + ")";
  };
  return walk(v.id());
}

TEST(TcProgram, ElementwiseOperatorsAndCalls) {
  const std::string src =
      "input x: f32[2, 3]\n"
      "input w: f32[3, 4]\n"
      "input b: f32[4]\n"
      "input i: i32[3]\n"
      "input l: i64[2]\n"
      "h = relu(x @ w + b)\n"
      "p = x + x * 2 - 1 / x\n"
      "n = -x @ w\n"
      "r = b + x @ w * 0.5\n"
      "g1 = gelu(x)\n"
      "g2 = gelu(x, approximate=true)\n"
      "g3 = gelu(x, True)\n"
      "q = pow(x, .5)\n"
      "m = maximum(0, x)\n"
      "k = i * 3 - -2\n"
      "big = l + 9223372036854775807\n"
      "u = sigmoid(tanh(exp(log(sqrt(rsqrt(square(abs(neg(x)))))))))\n"
      "f = divide(multiply(2, subtract(add(x, 1.5), x)), minimum(x, 4))\n"
      "d = x / 2.\n"
      "e = 1e-3 * -(x + 3E+2)\n"
      "s = x * 2 @ w\n"
      "output h, r\n";
  TcProgram p = load_tc_source(src, "t.tc");
  ASSERT_TRUE(p.ok()) << p.render_diagnostics();
  auto tree_of = [&](const char* name) {
    const NamedValue* v = find_value(p, name);
    return v ? graph_tree(v->value) : std::string("missing");
  };
  EXPECT_EQ(tree_of("h"), "relu(add(np_matmul(x, w), b))");
  EXPECT_EQ(tree_of("p"), "subtract(add(x, multiply(x, f32:2)), divide(f32:1, x))");
  EXPECT_EQ(tree_of("n"), "np_matmul(neg(x), w)");
  EXPECT_EQ(tree_of("r"), "add(b, multiply(np_matmul(x, w), f32:0.5))");
  EXPECT_EQ(tree_of("g1"), "gelu(x)");
  EXPECT_EQ(tree_of("g2"), "gelu_tanh(x)");
  EXPECT_EQ(tree_of("g3"), "gelu_tanh(x)");
  EXPECT_EQ(tree_of("q"), "pow(x, f32:0.5)");
  EXPECT_EQ(tree_of("m"), "maximum(f32:0, x)");
  EXPECT_EQ(tree_of("k"), "subtract(multiply(i, i32:3), i32:-2)");
  EXPECT_EQ(tree_of("big"), "add(l, i64:9223372036854775807)");  // exact, not through a double
  EXPECT_EQ(tree_of("u"), "sigmoid(tanh(exp(log(sqrt(rsqrt(square(abs(neg(x)))))))))");
  EXPECT_EQ(tree_of("f"), "divide(multiply(f32:2, subtract(add(x, f32:1.5), x)), minimum(x, f32:4))");
  EXPECT_EQ(tree_of("d"), "divide(x, f32:2)");
  EXPECT_EQ(tree_of("e"), "multiply(f32:0.001, neg(add(x, f32:300)))");
  EXPECT_EQ(tree_of("s"), "np_matmul(multiply(x, f32:2), w)");  // left to right: (x * 2) @ w
  EXPECT_EQ(find_value(p, "h")->value.shape(), (Shape{2, 4}));
  EXPECT_EQ(find_value(p, "k")->value.dtype(), DType::i32);
  EXPECT_EQ(find_value(p, "big")->value.dtype(), DType::i64);
  EXPECT_EQ(find_value(p, "r")->value.shape(), (Shape{2, 4}));
}

TEST(TcProgram, ElementwiseBroadcastsAndRuns) {
  const std::string src =
      "input x: f32[2, 3]\n"
      "input w: f32[3, 2]\n"
      "input b: f32[2]\n"
      "input i: i32[2]\n"
      "y = relu(x @ w + b) * 2 - 1\n"
      "z = -x @ w\n"
      "j = i * 2 - 1\n"
      "output y, z, j\n";
  TcProgram p = load_tc_source(src, "t.tc");
  ASSERT_TRUE(p.ok()) << p.render_diagnostics();
  auto filled = [](DType dtype, Shape shape, std::vector<double> values) {
    Tensor t(dtype, shape);
    for (std::size_t k = 0; k < values.size(); ++k)
      visit_dtype(dtype, [&](auto zero) { t.data_as<decltype(zero)>()[k] = static_cast<decltype(zero)>(values[k]); });
    return t;
  };
  std::vector<Tensor> out = p.graph->eval(p.outputs, {{"x", filled(f32, {2, 3}, {1, 2, 3, -4, -5, -6})},
                                                       {"w", filled(f32, {3, 2}, {1, 0, 0, 1, 1, 1})},
                                                       {"b", filled(f32, {2}, {0.5, -1})},
                                                       {"i", filled(i32, {2}, {7, 2000000000})}});
  // x @ w = [[4, 5], [-10, -11]]; + b = [[4.5, 4], [-9.5, -12]]; relu * 2 - 1 = [[8, 7], [-1, -1]]
  const std::vector<float> y(out[0].data_as<float>(), out[0].data_as<float>() + 4);
  EXPECT_EQ(y, (std::vector<float>{8, 7, -1, -1}));
  const std::vector<float> z(out[1].data_as<float>(), out[1].data_as<float>() + 4);
  EXPECT_EQ(z, (std::vector<float>{-4, -5, 10, 11}));
  // 2000000000 * 2 wraps around as NumPy's int32 does.
  EXPECT_EQ(out[2].data_as<int32_t>()[0], 13);
  EXPECT_EQ(out[2].data_as<int32_t>()[1], static_cast<int32_t>(static_cast<uint32_t>(4000000000u) - 1u));
}

TEST(TcProgram, SeveralOutputLinesAppendAndMayRepeatInputs) {
  TcProgram p = load_tc_source("input a: f32[2]\noutput a\nb = reshape(a, (1, 2))\noutput b, a\n", "t.tc");
  ASSERT_TRUE(p.ok()) << p.render_diagnostics();
  EXPECT_EQ(p.output_names, (std::vector<std::string>{"a", "b", "a"}));
  ASSERT_EQ(p.outputs.size(), 3u);
  EXPECT_EQ(p.outputs[0], p.outputs[2]);
}

TEST(TcProgram, CrLfBomTabsAndNoFinalNewline) {
  TcProgram p = load_tc_source("\xEF\xBB\xBFinput\ta: f32[2, 3]\r\n\r\nb = transpose(a)\r\noutput b", "t.tc");
  ASSERT_TRUE(p.ok()) << p.render_diagnostics();
  EXPECT_EQ(find_value(p, "b")->value.shape(), (Shape{3, 2}));
  EXPECT_EQ(find_value(p, "b")->line, 3);
}

// ---------------------------------------------------------------- errors, one kind at a time

const std::string kPrelude = "input a: f32[3, 4]\ninput b: f32[4, 5]\n";  // lines 1-2

TEST(TcErrors, UnknownOp) {
  expect_single_error(kPrelude + "c = dott(a, b)\noutput a\n", 3, 5, 4, "unknown op 'dott' (did you mean 'dot'?)");
}
TEST(TcErrors, UnknownKeyword) {
  expect_single_error(kPrelude + "c = tensordot(a, b, axis=1)\noutput a\n", 3, 21, 4, "unknown keyword 'axis'");
  expect_single_error(kPrelude + "c = dot(a, b, x=1)\noutput a\n", 3, 15, 1, "must be given positionally");
  expect_single_error(kPrelude + "c = einsum(\"ij\", a, spec=1)\noutput a\n", 3, 21, 4, "unknown keyword 'spec'");
}
TEST(TcErrors, RepeatedKeywordAndKeywordGivenTwice) {
  expect_single_error(kPrelude + "c = tensordot(a, b, axes=1, axes=1)\noutput a\n", 3, 29, 4, "repeated keyword 'axes'");
  expect_single_error(kPrelude + "c = tensordot(a, b, 1, axes=1)\noutput a\n", 3, 24, 4,
                      "given both positionally and by keyword");
}
TEST(TcErrors, WrongValueKinds) {
  expect_single_error(kPrelude + "c = batch_dot(a, a, legacy=3)\noutput a\n", 3, 28, 1, "must be true or false, got integer 3");
  expect_single_error(kPrelude + "c = batch_dot(a, a, axes=\"a\")\noutput a\n", 3, 26, 3, "got string \"a\"");
  expect_single_error(kPrelude + "c = tensordot(a, b, axes=none)\noutput a\n", 3, 26, 4, "got none");
  expect_single_error(kPrelude + "c = transpose(a, perm=((1, 0),))\noutput a\n", 3, 24, 6, "got a tuple");
  expect_single_error(kPrelude + "c = reshape(a, (2, true))\noutput a\n", 3, 20, 4, "got true");
  expect_single_error(kPrelude + "c = matmul(a, b, transpose_a=b)\noutput a\n", 3, 30, 1, "got tensor 'b'");
  expect_single_error(kPrelude + "c = (2, -1)\noutput a\n", 3, 5, 7, "must be a tensor expression, got a tuple");
  expect_single_error(kPrelude + "c = a @ 3\noutput a\n", 3, 9, 1, "operand of '@' must be a tensor");
  expect_single_error(kPrelude + "c = einsum(a, b)\noutput a\n", 3, 12, 1, "subscripts string");
}
TEST(TcErrors, WrongArgumentCounts) {
  expect_single_error(kPrelude + "c = dot(a)\noutput a\n", 3, 5, 6, "dot expects 2 tensor arguments (x, y), got 1");
  expect_single_error(kPrelude + "c = dot(a, b, a)\noutput a\n", 3, 15, 1, "too many arguments to dot");
  expect_single_error(kPrelude + "c = transpose(a, (1, 0), 3)\noutput a\n", 3, 26, 1, "too many arguments to transpose");
  expect_single_error(kPrelude + "c = reshape(a)\noutput a\n", 3, 5, 10, "requires the attribute 'shape'");
  expect_single_error(kPrelude + "c = einsum(\"ij\")\noutput a\n", 3, 5, 12, "at least one tensor");
  expect_single_error(kPrelude + "c = einsum()\noutput a\n", 3, 5, 8, "subscripts string and at least one tensor");
  expect_single_error(kPrelude + "c = transpose((1, 0))\noutput a\n", 3, 15, 6, "argument 1 of transpose must be a tensor");
}
TEST(TcErrors, NamesUnknownRebindingUsedBeforeDefinition) {
  expect_single_error(kPrelude + "c = dot(a, bb)\noutput a\n", 3, 12, 2, "unknown name 'bb'");
  expect_single_error(kPrelude + "c = dot(a, b)\nc = dot(a, b)\noutput c\n", 4, 1, 1,
                      "'c' is already defined on line 3");
  expect_single_error(kPrelude + "input a: f32[2]\noutput a\n", 3, 7, 1, "'a' is already defined on line 1");
  expect_single_error(kPrelude + "c = dot(a, d)\nd = b\noutput c\n", 3, 12, 1, "'d' is used before its definition on line 4");
  expect_single_error(kPrelude + "c = dot(a, c)\noutput a\n", 3, 12, 1, "'c' is used in its own definition");
  expect_single_error(kPrelude + "output zz\n", 3, 8, 2, "unknown name 'zz'");
}
TEST(TcErrors, InputDeclarations) {
  expect_single_error("input a: f16[3]\noutput a\n", 1, 10, 3, "unknown dtype 'f16'");
  expect_single_error("input a: f32[3, -1]\noutput a\n", 1, 17, 2, "dimension must be an integer >= 0, got -1");
  // A symbol is a size known later (symbolic_dims_test.cpp); the sizes beside it still must fit.
  expect_single_error("input a: f32[N, 4294967296, 4294967296]\noutput a\n", 1, 10, 30, "too many elements");
  expect_single_error("input a: f32[4294967296, 4294967296]\noutput a\n", 1, 10, 27, "too many elements");
}
TEST(TcErrors, MissingOutputPointsPastTheLastStatement) {
  TcProgram p = load_tc_source("input a: f32[3]\n\n# a comment\n", "m.tc");
  std::vector<Diagnostic> errors = errors_of(p);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 1);
  EXPECT_EQ(errors[0].render(),
            "m.tc:1:16: error: no 'output' statement: a .tc file must name its outputs, e.g. 'output c'\n"
            "input a: f32[3]\n"
            "               ^\n");
  // An empty file has no line to point at.
  EXPECT_EQ(errors_of(load_tc_source("", "empty.tc"))[0].render(),
            "empty.tc: error: no 'output' statement: a .tc file must name its outputs, e.g. 'output c'\n");
  // An `output` line that fails to parse still counts as one: no cascading "missing output".
  EXPECT_EQ(errors_of(load_tc_source("input a: f32[3]\noutput a,\n", "t.tc")).size(), 1u);
}
TEST(TcErrors, ShapeAndDTypeErrorsFromTheOps) {
  expect_single_error(kPrelude + "c = dot(b, a)\noutput a\n", 3, 5, 9, "dot:");
  expect_single_error(kPrelude + "c = a @ b @ b\noutput a\n", 3, 11, 1, "(3,5)");
  expect_single_error(kPrelude + "input d: f64[4, 5]\nc = matmul(a, d)\noutput a\n", 4, 5, 12, "f64");
  expect_single_error(kPrelude + "c = transpose(a, (0, 0))\noutput a\n", 3, 5, 20, "transpose");
  expect_single_error(kPrelude + "c = reshape(a, (5, -1))\noutput a\n", 3, 5, 19, "reshape");
  expect_single_error(kPrelude + "c = einsum(\"ij,jk->ik\", a)\noutput a\n", 3, 5, 22, "einsum");
}
TEST(TcErrors, ElementwiseErrorsPointAtTheOperatorOrCall) {
  // Shape errors name the operands as the C++ rule does (x and y), at the operator.
  expect_single_error(kPrelude + "c = a + b\noutput a\n", 3, 7, 1,
                      "+: dims must be equal or 1, but are 3 (x axis 0) and 4 (y axis 0); x: (3,4), y: (4,5) "
                      "(where x is a, y is b)");
  expect_single_error(kPrelude + "c = a @ b - a\noutput a\n", 3, 11, 1, "-: dims must be equal or 1");
  expect_single_error(kPrelude + "c = maximum(a, b)\noutput a\n", 3, 5, 13, "maximum: dims must be equal or 1");
  expect_single_error(kPrelude + "input d: f64[3, 4]\nc = a * d\noutput a\n", 4, 7, 1,
                      "*: operands must have the same dtype, but are f32 (x) and f64 (y) (where x is a, y is d)");
  // Floats only: '/', pow and the transcendental functions; no cast op yet.
  const std::string ints = "input i: i32[3]\n";
  expect_single_error(ints + "c = i / 2\noutput i\n", 2, 7, 1, "/: takes float tensors (f32, f64), not i32");
  expect_single_error(ints + "c = exp(i)\noutput i\n", 2, 5, 6, "exp: takes float tensors");
  expect_single_error(ints + "c = pow(i, 2)\noutput i\n", 2, 5, 9, "pow: takes float tensors");
  expect_single_error(ints + "c = gelu(i, approximate=true)\noutput i\n", 2, 5, 25, "gelu(approximate=true): takes float");
  // A number takes the tensor's dtype, or is an error at the number.
  expect_single_error(ints + "c = i * 2.5\noutput i\n", 2, 9, 3, "the scalar 2.5 is not a whole i32 value");
  expect_single_error(ints + "c = i + -3000000000\noutput i\n", 2, 9, 11, "the scalar -3000000000 does not fit in i32");
  // Numbers alone: .tc computes no constants.
  expect_single_error(ints + "c = i + 2 * 3\noutput i\n", 2, 11, 1, "both operands of '*' are numbers");
  expect_single_error(ints + "c = 2 - 1\noutput i\n", 2, 7, 1, "both operands of '-' are numbers");
  expect_single_error(ints + "c = maximum(1, 2)\noutput i\n", 2, 5, 13, "maximum needs a tensor argument, got only numbers");
  // Arguments and keywords are checked as the other ops' are.
  expect_single_error(ints + "c = relu(i, i)\noutput i\n", 2, 13, 1, "too many arguments to relu");
  expect_single_error(ints + "c = pow(i)\noutput i\n", 2, 5, 6, "pow expects 2 tensor arguments (x, y), got 1");
  expect_single_error(ints + "c = gelu(i, approx=true)\noutput i\n", 2, 13, 6,
                      "unknown keyword 'approx' for gelu; signature: gelu(x, approximate=false)");
  expect_single_error(ints + "c = relu(i, approximate=true)\noutput i\n", 2, 13, 11, "(it takes no attributes)");
  expect_single_error(ints + "c = abs(\"x\")\noutput i\n", 2, 9, 3, "argument 1 of abs must be a tensor (x) or a number");
  expect_single_error(ints + "c = i + (1, 2)\noutput i\n", 2, 9, 6, "operand of '+' must be a tensor or a number, got a tuple");
  expect_single_error(ints + "c = 2 @ i\noutput i\n", 2, 5, 1, "operand of '@' must be a tensor, got integer 2");
  expect_single_error(ints + "c = gelu_tanh(i)\noutput i\n", 2, 5, 9, "unknown op 'gelu_tanh': write gelu(x, approximate=true)");
  expect_single_error(ints + "c = sigmod(i)\noutput i\n", 2, 5, 6, "unknown op 'sigmod' (did you mean 'sigmoid'?)");
  expect_single_error(ints + "c = Relu(i)\noutput i\n", 2, 5, 4, "unknown op 'Relu' (did you mean 'relu'?)");
  expect_single_error(ints + "c = 2.5\noutput i\n", 2, 5, 3, "must be a tensor expression, got number 2.5");
  expect_single_error(ints + "c = -1\noutput i\n", 2, 5, 2, "must be a tensor expression, got integer -1");
  expect_single_error(ints + "c = reshape(i, (3 * 1,))\noutput i\n", 2, 17, 5, "got a tensor expression");
  // An error inside an operand poisons the expression without a second message.
  expect_single_error(kPrelude + "c = relu(a @ a) + 1\noutput a\n", 3, 12, 1, "@");
  expect_single_error(ints + "relu = i\noutput i\n", 2, 1, 4, "reserved word");
}

TEST(TcErrors, LexicalErrors) {
  expect_single_error(kPrelude + "c = dot(a, b) $\noutput a\n", 3, 15, 1, "unexpected character '$'");
  expect_single_error(kPrelude + "c = reshape(a, (99999999999999999999,))\noutput a\n", 3, 17, 20, "does not fit");
  // Columns count characters: the two-byte 'é' in the string is one column.
  expect_single_error(kPrelude + "c = einsum(\"\xC3\xA9\", a) ?\noutput a\n", 3, 20, 1, "unexpected character '?'");
  // A NUL byte: a binary file, reported once for the whole file, none of its bytes echoed.
  std::vector<Diagnostic> nul = errors_of(load_tc_source(kPrelude + std::string("c = a\0b\noutput a\n", 17), "b.tc"));
  ASSERT_EQ(nul.size(), 1u);
  EXPECT_EQ(nul[0].render(), "b.tc: error: not a .tc text file: it holds binary data (a NUL byte at offset " +
                                 std::to_string(kPrelude.size() + 5) + ")\n");
  expect_single_error(kPrelude + "c = a \xFF\xFE b\noutput a\n", 3, 7, 1, "invalid byte");
}

// ---------------------------------------------------------------- several errors, recovery, rendering

TEST(TcErrors, SeveralErrorsInFileOrderWithoutCascades) {
  const std::string src =
      "input a: f32[3, 4]\n"           // 1
      "input b: f32[5, 6]\n"           // 2
      "c = dot(a, b)\n"                // 3 shape error: c is poisoned
      "d = transpose(c) @ c\n"         // 4 silent (uses c)
      "e = dot(a, d, legacy=true\n"    // 5 syntax error: e is poisoned
      "f = e\n"                        // 6 silent
      "g = batch_dot(qq, a, foo=1)\n"  // 7 two errors, reported in column order
      "output c, d, e, f\n";           // 8 silent
  TcProgram p = load_tc_source(src, "t.tc");
  std::vector<Diagnostic> errors = errors_of(p);
  ASSERT_EQ(errors.size(), 4u) << p.render_diagnostics();
  EXPECT_EQ(errors[0].line, 3);
  EXPECT_EQ(errors[1].line, 5);
  EXPECT_EQ(errors[2].line, 7);
  EXPECT_EQ(errors[2].column, 15);  // qq
  EXPECT_EQ(errors[3].line, 7);
  EXPECT_EQ(errors[3].column, 22);  // foo
  EXPECT_TRUE(p.outputs.empty());
  EXPECT_EQ(p.values.size(), 2u);  // only the inputs succeeded
}

TEST(TcErrors, AtMostTwentyErrors) {
  std::string src = "input a: f32[3]\n";
  for (int i = 0; i < 30; ++i) src += std::string("v").append(std::to_string(i)).append(" = nope(a)\n");  // lines 2..31
  TcProgram p = load_tc_source(src, "t.tc");  // and no output
  std::vector<Diagnostic> errors = errors_of(p);
  ASSERT_EQ(errors.size(), 21u);  // twenty, then how many more there were
  EXPECT_EQ(errors.front().line, 2);
  EXPECT_EQ(errors[19].line, 21);
  EXPECT_EQ(errors.back().render(), "t.tc: error: 11 more errors not shown (the first 20 are)\n");
  // Twenty errors on one line are capped too.
  std::string one_line = "input a: f32[3]\nc = einsum(\"i\", ";
  for (int i = 0; i < 50; ++i) one_line.append("u").append(std::to_string(i)).append(", ");
  one_line += "a)\noutput a\n";
  std::vector<Diagnostic> capped = errors_of(load_tc_source(one_line, "t.tc"));
  ASSERT_EQ(capped.size(), 21u);
  EXPECT_EQ(capped.back().render(), "t.tc: error: 30 more errors not shown (the first 20 are)\n");
}

TEST(TcDiagnostics, RenderFormatWithCaretAndTabs) {
  TcProgram p = load_tc_source("input a: f32[3, 4]\n\tc = dott(a, a)\noutput a\n", "r.tc");
  ASSERT_EQ(p.diagnostics.size(), 1u);
  EXPECT_EQ(p.diagnostics[0].render(),
            "r.tc:2:6: error: unknown op 'dott' (did you mean 'dot'?)\n"
            "\tc = dott(a, a)\n"
            "\t    ^~~~\n");
  EXPECT_EQ(p.render_diagnostics(), p.diagnostics[0].render());

  Diagnostic past_end;
  past_end.file = "x.tc";
  past_end.line = 1;
  past_end.column = 4;
  past_end.message = "m";
  past_end.source_line = "ab";
  past_end.severity = Severity::warning;
  EXPECT_EQ(past_end.render(), "x.tc:1:4: warning: m\nab\n   ^\n");
}

TEST(TcDiagnostics, UnreadableFile) {
  TcProgram p = load_tc_file("/nonexistent/dir/prog.tc");
  ASSERT_EQ(p.diagnostics.size(), 1u);
  EXPECT_FALSE(p.ok());
  EXPECT_EQ(p.diagnostics[0].render(), "/nonexistent/dir/prog.tc: error: cannot read: No such file or directory\n");
  EXPECT_NE(p.graph, nullptr);
  TcProgram dir = load_tc_file("/");
  ASSERT_EQ(dir.diagnostics.size(), 1u);
  EXPECT_NE(dir.diagnostics[0].message.find("cannot read"), std::string::npos);
}

TEST(TcDiagnostics, LoadsFromFile) {
  std::string path = ::testing::TempDir() + "tc_language_test_file.tc";
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fputs("input a: f32[2, 3]\nb = transpose(a)\noutput b\n", f);
  std::fclose(f);
  TcProgram p = load_tc_file(path);
  std::remove(path.c_str());
  ASSERT_TRUE(p.ok()) << p.render_diagnostics();
  EXPECT_EQ(p.outputs.at(0).shape(), (Shape{3, 2}));
}

// ---------------------------------------------------------------- robustness

TEST(TcRobustness, ArbitraryBytesNeverThrow) {
  std::mt19937 rng(1234);
  const std::vector<std::string> pieces = {"input a: f32[2, 3]\n", "output a\n", "b = a @ a\n", "dot(", "(", ")", ",",
                                           "=", "@", "[", "]", "\"ij\"", "-1", "true", "none", "axes=", "\n", "#",
                                           "+", "-", "*", "/", "1.5", ".5e-3", "relu(", "gelu(", "approximate=",
                                           std::string(1, '\0'), "\xFF", "\xC3", "einsum", "transpose", "x"};
  for (int i = 0; i < 3000; ++i) {
    std::string src;
    int n = static_cast<int>(rng() % 40);
    for (int k = 0; k < n; ++k) {
      if (rng() % 4 == 0) src += static_cast<char>(rng() % 256);
      else src += pieces[rng() % pieces.size()];
    }
    TcProgram p;
    ASSERT_NO_THROW(p = load_tc_source(src, "fuzz.tc"));
    EXPECT_LE(errors_of(p).size(), 20u);
    for (const auto& d : p.diagnostics) {
      if (d.line > 0) {
        EXPECT_GE(d.column, 1);
        EXPECT_GE(d.length, 1);
      }
      EXPECT_FALSE(d.render().empty());
    }
  }
}

TEST(TcRobustness, LongLinesAndLongChains) {
  std::string chain = "input a: f32[2, 2]\nc = a";
  for (int i = 0; i < 2000; ++i) chain += " @ a";
  chain += "\noutput c\n";
  TcProgram p = load_tc_source(chain, "t.tc");
  ASSERT_TRUE(p.ok()) << p.render_diagnostics();
  EXPECT_EQ(p.outputs.at(0).shape(), (Shape{2, 2}));

  std::string long_comment = "input a: f32[2]\n#" + std::string(1 << 20, 'x') + "\noutput a\n";
  EXPECT_TRUE(load_tc_source(long_comment, "t.tc").ok());
}

}  // namespace
}  // namespace tcc::lang
