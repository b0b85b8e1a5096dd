// Semantic analysis: walks the parsed statements in file order and builds the tcc::Graph
// through the public API, turning every problem into a diagnostic.
#include "functions.h"
#include "parser.h"
#include "tc_program.h"

#include "frontend/graph_access.h"
#include "ir/graph/ops.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>
#include <unordered_map>

namespace tcc::lang {

namespace {

// ---- Op signatures ----

using ir::AttrKind;
using ir::AttrSpec;
using OpSpec = ir::OpInfo;  // the op table's row: name, tensors, attributes

const OpSpec* find_op(std::string_view name) { return find_tc_function(name); }

std::string signature(const OpSpec& op) {
  if (op.variadic) return std::string(op.name) + "(\"spec\", x, ...)";
  std::string s = std::string(op.name) + "(";
  bool first = true;
  for (auto t : op.tensors) {
    s += (first ? "" : ", ") + std::string(t);
    first = false;
  }
  for (const auto& a : op.attrs) {
    s += ", " + std::string(a.name);
    if (!a.default_text.empty()) s += "=" + std::string(a.default_text);
  }
  return s + ")";
}

std::string expected_kind(AttrKind kind) {
  switch (kind) {
    case AttrKind::axes_or_none: return "none, an integer or a tuple/list of integers";
    case AttrKind::axes: return "an integer or a tuple/list of axes such as ((1, 2), (0, 1))";
    case AttrKind::boolean: return "true or false";
    case AttrKind::perm: return "none or a tuple/list of integers";
    case AttrKind::shape: return "a tuple/list of integers such as (2, -1)";
    case AttrKind::dtype: return "a dtype (f32, f64, i32, i64)";
  }
  return "a value";
}

// A float literal's value as messages show it: the shortest text that reads back the same.
std::string number_text(double value) {
  char text[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

std::string describe_value(const Expr& e) {
  switch (e.kind) {
    case ExprKind::name: return "tensor '" + e.text + "'";
    case ExprKind::call: return "the tensor '" + e.text + "(...)'";
    case ExprKind::chain:
    case ExprKind::negate: return "a tensor expression";
    case ExprKind::integer: return "integer " + std::to_string(e.integer);
    case ExprKind::floating: return "number " + number_text(e.number);
    case ExprKind::boolean: return e.boolean ? "true" : "false";
    case ExprKind::none: return "none";
    case ExprKind::string: return "string " + quoted_excerpt(e.text);
    case ExprKind::tuple: return "a tuple";
    case ExprKind::list: return "a list";
  }
  return "a value";
}

std::string plural(std::size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::string join_names(const std::vector<std::string_view>& names) {
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + std::string(names[i]);
  return s;
}

std::optional<DType> parse_dtype(std::string_view name) { return find_dtype(&DTypeInfo::name, name); }

std::vector<std::string> dtype_names() {
  std::vector<std::string> names;
  for (const DTypeInfo& info : kDTypes) names.emplace_back(info.name);
  return names;
}

// "f32, f64, i32 or i64"
std::string dtype_choices() {
  std::vector<std::string> names = dtype_names();
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) s += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return s;
}

// An integer literal beside an integer tensor, as a scalar of its dtype: exactly (scalar_like
// takes a double, which would round an i64 beyond 2^53).
Value integer_scalar_like(const Value& like, int64_t value) {
  Tensor t(like.dtype(), {});
  visit_dtype(like.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_integral_v<T>) {
      if (value < std::numeric_limits<T>::min() || value > std::numeric_limits<T>::max())
        throw ArgumentError("the scalar " + std::to_string(value) + " does not fit in " +
                            std::string(dtype_name(like.dtype())) + ", the dtype of the tensor it goes with");
      *t.data_as<T>() = static_cast<T>(value);
    } else {
      throw InternalError("integer_scalar_like: a float dtype");
    }
  });
  return like.graph().constant(t);
}

// An operand of an element-wise op: a tensor, or a number written in the file (`expr`), which
// becomes a scalar of the dtype of the tensor beside it (NumPy's weak scalars).
struct Operand {
  std::optional<Value> tensor;
  const Expr* expr = nullptr;
};

// An attribute after conversion; only the member matching its kind is meaningful.
struct AttrValue {
  bool present = false;
  Axes axes;
  bool boolean = false;
  std::optional<std::vector<int64_t>> ints;
  DType dtype = DType::f32;
};

// ---- The analyzer ----

class Analyzer {
 public:
  Analyzer(DiagnosticSink& sink, TcProgram& program) : sink_(sink), program_(program), graph_(*program.graph) {}

  void run(const std::vector<ParsedLine>& lines) {
    collect_definitions(lines);
    bool saw_output = false;
    // Every line, also past the error limit: the sink only counts what it no longer shows.
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const ParsedLine& line = lines[i];
      if (line.blank) continue;
      line_ = static_cast<int>(i) + 1;
      saw_output = saw_output || line.is_output_line || (line.stmt && line.stmt->kind == StmtKind::output);
      sink_.begin_statement();
      if (line.error) {
        sink_.error(line.error->span, line.error->message);
        if (line.defines && !scope_.count(line.defines->name)) scope_[line.defines->name] = Binding{false, {}, line_};
      } else {
        statement(*line.stmt);
      }
      drain_warnings(line.stmt ? line.stmt->span : Span{line_, 0, 1});
      sink_.end_statement();
    }
    if (!saw_output) {
      // Where it would go: after the last statement (a caret just past its end).
      const std::string message = "no 'output' statement: a .tc file must name its outputs, e.g. 'output c'";
      std::size_t last = lines.size();
      while (last > 0 && lines[last - 1].blank) --last;
      if (last == 0) {
        sink_.file_error(message);
      } else {
        constexpr uint32_t kPastEnd = UINT32_MAX / 2;
        sink_.error(Span{static_cast<int>(last), kPastEnd, kPastEnd + 1}, message);
      }
    }
  }

 private:
  struct Binding {
    bool ok = false;  // false: its definition failed ("poisoned"), uses are silently skipped
    Value value;
    int line = 0;
  };

  void collect_definitions(const std::vector<ParsedLine>& lines) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::string* name = nullptr;
      if (lines[i].stmt && lines[i].stmt->kind != StmtKind::output) name = &lines[i].stmt->name.name;
      else if (lines[i].defines) name = &lines[i].defines->name;
      if (name) first_definition_.emplace(*name, static_cast<int>(i) + 1);
    }
  }

  void statement(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::input: input_statement(s); break;
      case StmtKind::binding: binding_statement(s); break;
      case StmtKind::output: output_statement(s); break;
    }
  }

  // Reports a rebinding; returns true when `name` is free.
  bool check_new_name(const NameRef& name) {
    auto it = scope_.find(name.name);
    if (it == scope_.end()) return true;
    sink_.error(name.span, "'" + name.name + "' is already defined on line " + std::to_string(it->second.line) +
                               "; a name cannot be rebound");
    return false;
  }

  void bind(const NameRef& name, std::optional<Value> value, bool is_input) {
    scope_[name.name] = Binding{value.has_value(), value.value_or(Value()), line_};
    if (value) program_.values.push_back(NamedValue{name.name, *value, is_input, line_});
  }

  void input_statement(const Stmt& s) {
    bool fresh = check_new_name(s.name);
    bool ok = true;
    std::optional<DType> dtype = parse_dtype(s.dtype.name);
    if (!dtype) {
      sink_.error(s.dtype.span, "unknown dtype '" + s.dtype.name + "'; expected " + dtype_choices() +
                                    did_you_mean(s.dtype.name, dtype_names()));
      ok = false;
    }
    Shape shape;
    for (const auto& dim : s.dims) {
      if (!dim.is_integer) {
        shape.push_back(tcc::dim(dim.name));  // a symbol: the same name is the same size everywhere
      } else if (dim.value < 0) {
        sink_.error(dim.span, "dimension must be an integer >= 0, got " + std::to_string(dim.value));
        ok = false;
      } else {
        shape.push_back(dim.value);
      }
    }
    if (ok) {
      // The element count must fit in int64 (the graph checks too; this gives a located error).
      int64_t count = 1;
      for (int64_t d : shape) {
        if (is_symbol(d)) continue;
        if (d != 0 && count > INT64_MAX / d) {
          sink_.error(s.shape_span, "input '" + s.name.name + "' has too many elements (more than 2^63 - 1)");
          ok = false;
          break;
        }
        count *= d;
      }
    }
    if (!fresh) return;
    std::optional<Value> value;
    if (ok) {
      try {
        value = graph_.input(s.name.name, *dtype, shape);
      } catch (const std::exception& e) {
        sink_.error(s.shape_span, e.what());
      }
    }
    bind(s.name, value, true);
  }

  void binding_statement(const Stmt& s) {
    bool fresh = check_new_name(s.name);
    std::optional<Value> value;
    if (!s.value->is_tensor_syntax())
      sink_.error(s.value->span, "the value of '" + s.name.name + "' must be a tensor expression, got " +
                                     describe_value(*s.value));
    else
      value = tensor(*s.value);
    if (fresh) bind(s.name, value, false);
  }

  void output_statement(const Stmt& s) {
    for (const auto& name : s.outputs) {
      Expr ref;
      ref.kind = ExprKind::name;
      ref.text = name.name;
      ref.span = name.span;
      if (std::optional<Value> v = tensor(ref)) {
        program_.outputs.push_back(*v);
        program_.output_names.push_back(name.name);
      }
    }
  }

  // ---- Tensor expressions: nullopt when they failed (already reported) ----

  std::optional<Value> tensor(const Expr& e) {
    switch (e.kind) {
      case ExprKind::name: return lookup(e);
      case ExprKind::call: return call(e);
      case ExprKind::chain: return chain(e);
      case ExprKind::negate: return negate(e);
      default:
        sink_.error(e.span, "expected a tensor, got " + describe_value(e));
        return std::nullopt;
    }
  }

  std::optional<Value> lookup(const Expr& e) {
    auto it = scope_.find(e.text);
    if (it != scope_.end()) {
      if (!it->second.ok) return std::nullopt;  // poisoned: its error was already reported
      return it->second.value;
    }
    auto later = first_definition_.find(e.text);
    if (later != first_definition_.end() && later->second == line_) {
      sink_.error(e.span, "'" + e.text + "' is used in its own definition");
    } else if (later != first_definition_.end() && later->second > line_) {
      sink_.error(e.span, "'" + e.text + "' is used before its definition on line " + std::to_string(later->second));
    } else {
      std::string hint;
      if (scope_.size() <= 1000 && sink_.accepts_errors()) {
        std::vector<std::string> known;
        for (const auto& [name, binding] : scope_) known.push_back(name);
        std::sort(known.begin(), known.end());  // deterministic suggestion
        hint = did_you_mean(e.text, known);
      }
      sink_.error(e.span, "unknown name '" + e.text + "'" + hint);
    }
    return std::nullopt;
  }

  // An operator chain, left to right: `@` is NumPy's matmul (operands a and b, as its
  // messages name them); the others are element-wise functions of the table (x and y).
  std::optional<Value> chain(const Expr& e) {
    std::vector<std::optional<Operand>> operands;
    bool ok = true;
    for (std::size_t i = 0; i < e.items.size(); ++i) {
      // A matmul's operands: the item after an '@', and the first item before one (later left
      // operands are results: `x * 2 @ w` is (x * 2) @ w).
      const bool beside_at = e.ops[i > 0 ? i - 1 : 0] == "@";
      const Expr& item = *e.items[i];
      if (beside_at && !item.is_tensor_syntax()) {
        sink_.error(item.span, "operand of '@' must be a tensor, got " + describe_value(item));
        operands.emplace_back();
      } else {
        operands.push_back(operand(item, e.ops[i > 0 ? i - 1 : 0]));
      }
      ok = ok && operands.back().has_value();
    }
    if (!ok) return std::nullopt;
    Operand acc = *operands[0];
    for (std::size_t i = 1; i < operands.size(); ++i) {
      const std::string& op = e.ops[i - 1];
      const Expr* left = i == 1 ? e.items[0].get() : nullptr;  // later left operands are results
      std::optional<Value> next;
      if (op == "@") {
        const std::string note = operand_names_note({{"a", left}, {"b", e.items[i].get()}});
        next = apply(e.op_spans[i - 1], [&] { return np::matmul(*acc.tensor, *operands[i]->tensor); }, note);
      } else {
        const std::optional<ir::ElemOp> fn = elem_operator(op, 2);
        if (!fn) throw InternalError("tc language: operator '" + op + "' is in no op table");
        if (!acc.tensor && !operands[i]->tensor) {
          sink_.error(e.op_spans[i - 1], "both operands of '" + op + "' are numbers; one must be a tensor "
                                         "(.tc computes no constants)");
          return std::nullopt;
        }
        next = elementwise(*fn, {acc, *operands[i]}, e.op_spans[i - 1],
                           operand_names_note({{"x", left}, {"y", e.items[i].get()}}));
      }
      if (!next) return std::nullopt;
      acc = Operand{next, nullptr};
    }
    return acc.tensor;
  }

  // `-x` (a number's minus sign is part of the literal).
  std::optional<Value> negate(const Expr& e) {
    const std::optional<ir::ElemOp> fn = elem_operator("-", 1);
    if (!fn) throw InternalError("tc language: unary '-' is in no op table");
    std::optional<Value> x = tensor(*e.items[0]);
    if (!x) return std::nullopt;
    return apply(e.name_span, [&] { return detail::elementwise(*fn, {*x}); });
  }

  // A tensor or number operand of an element-wise operator or call; nullopt when it failed
  // (reported).
  std::optional<Operand> operand(const Expr& e, std::string_view op) {
    if (e.is_number()) return Operand{std::nullopt, &e};
    if (!e.is_tensor_syntax()) {
      sink_.error(e.span, "operand of '" + std::string(op) + "' must be a tensor or a number, got " + describe_value(e));
      return std::nullopt;
    }
    std::optional<Value> v = tensor(e);
    if (!v) return std::nullopt;
    return Operand{v, &e};
  }

  // `fn` of operands of which at least one is a tensor: numbers become scalars of the first
  // tensor's dtype (an error at the number when they cannot: 2.5 for an i32 tensor).
  std::optional<Value> elementwise(ir::ElemOp fn, const std::vector<Operand>& operands, const Span& where,
                                   const std::string& note) {
    const Value* like = nullptr;
    for (const Operand& o : operands)
      if (o.tensor && !like) like = &*o.tensor;
    if (!like) throw InternalError("tc language: an element-wise op of numbers only");
    std::vector<Value> values;
    for (const Operand& o : operands) {
      if (o.tensor) {
        values.push_back(*o.tensor);
        continue;
      }
      std::optional<Value> s = scalar(*like, *o.expr);
      if (!s) return std::nullopt;
      values.push_back(*s);
    }
    return apply(where, [&] { return detail::elementwise(fn, values); }, note);
  }

  // A number as a scalar of `like`'s dtype, or an error at the number.
  std::optional<Value> scalar(const Value& like, const Expr& number) {
    try {
      if (number.kind == ExprKind::integer && !is_float(like.dtype())) return integer_scalar_like(like, number.integer);
      return scalar_like(like, number.kind == ExprKind::integer ? static_cast<double>(number.integer) : number.number);
    } catch (const InternalError& e) {
      sink_.error(number.span, e.what());
    } catch (const std::exception& e) {
      sink_.error(number.span, e.what());
    }
    return std::nullopt;
  }

  // " (where a is x, b is y)": which of the user's values the op's parameter names in a message
  // are, for the operands written as names that differ from them.
  static std::string operand_names_note(const std::vector<std::pair<std::string_view, const Expr*>>& operands) {
    std::string note;
    for (const auto& [param, arg] : operands)
      if (arg && arg->kind == ExprKind::name && arg->text != param)
        note += (note.empty() ? " (where " : ", ") + std::string(param) + " is " + arg->text;
    return note.empty() ? note : note + ")";
  }

  // Runs an op wrapper, turning its exception into a diagnostic at `where`; a user-facing
  // error gets `note` (operand_names_note) appended.
  template <typename F>
  std::optional<Value> apply(const Span& where, F&& build, const std::string& note = "") {
    try {
      Value v = build();
      node_spans_[v.id()] = where;
      return v;
    } catch (const InternalError& e) {
      sink_.error(where, e.what());
    } catch (const Error& e) {
      sink_.error(where, e.what() + note);
    } catch (const std::exception& e) {
      sink_.error(where, e.what());
    } catch (...) {
      sink_.error(where, "internal error: unknown exception while building the node");
    }
    return std::nullopt;
  }

  std::optional<Value> call(const Expr& e) {
    const OpSpec* op = find_op(e.text);
    if (!op) {
      std::vector<std::string> names(op_names().begin(), op_names().end());
      sink_.error(e.name_span, "unknown op '" + e.text + "'" + variant_hint(e.text).value_or(did_you_mean(e.text, names)));
      for (const auto& arg : e.items)
        if (arg->is_tensor_syntax()) tensor(*arg);
      return std::nullopt;
    }
    if (op->variadic) return einsum_call(e);

    bool ok = true;
    // An element-wise function takes numbers for tensors too: pow(x, 2), maximum(x, 0).
    const bool numbers_ok = op->kind == ir::OpKind::elementwise && !find_library_function(op->name);
    auto is_operand = [&](const Expr& arg) { return arg.is_tensor_syntax() || (numbers_ok && arg.is_number()); };
    const std::size_t n_tensors = op->tensors.size();
    std::vector<const Expr*> attr_exprs(op->attrs.size(), nullptr);
    std::vector<bool> attr_by_keyword(op->attrs.size(), false);
    std::vector<const Expr*> tensor_args;

    std::size_t given_tensors = 0;
    for (const auto& arg : e.items) given_tensors += is_operand(*arg) ? 1 : 0;
    if (e.items.size() < n_tensors) {
      sink_.error(e.span, std::string(op->name) + " expects " + plural(n_tensors, "tensor argument") + " (" +
                              join_names(op->tensors) + "), got " + std::to_string(e.items.size()) +
                              "; signature: " + signature(*op));
      ok = false;
    }
    for (std::size_t i = 0; i < e.items.size(); ++i) {
      const Expr& arg = *e.items[i];
      if (i < n_tensors) {
        if (!is_operand(arg)) {
          sink_.error(arg.span, "argument " + std::to_string(i + 1) + " of " + std::string(op->name) +
                                    " must be a tensor (" + std::string(op->tensors[i]) + ")" +
                                    (numbers_ok ? " or a number" : "") + ", got " + describe_value(arg));
          ok = false;
        } else {
          tensor_args.push_back(&arg);
        }
        continue;
      }
      std::size_t j = i - n_tensors;
      if (j >= op->attrs.size()) {
        std::string msg = "too many arguments to " + std::string(op->name) + ": ";
        if (given_tensors > n_tensors)
          msg += "it takes " + plural(n_tensors, "tensor") + ", got " + std::to_string(given_tensors);
        else
          msg += "got " + std::to_string(e.items.size()) + " positional arguments";
        sink_.error(arg.span, msg + "; signature: " + signature(*op));
        ok = false;
        break;
      }
      attr_exprs[j] = &arg;
    }
    for (const auto& kw : e.keywords) {
      std::size_t j = 0;
      while (j < op->attrs.size() && op->attrs[j].name != kw.name) ++j;
      if (j == op->attrs.size()) {
        bool is_tensor_param = false;
        for (auto t : op->tensors) is_tensor_param = is_tensor_param || t == kw.name;
        std::string msg;
        if (is_tensor_param) {
          msg = "tensor argument '" + kw.name + "' of " + std::string(op->name) + " must be given positionally";
        } else {
          std::vector<std::string> names;
          for (const auto& a : op->attrs) names.emplace_back(a.name);
          msg = "unknown keyword '" + kw.name + "' for " + std::string(op->name);
          msg += names.empty() ? std::string(" (it takes no attributes)") : did_you_mean(kw.name, names);
          msg += "; signature: " + signature(*op);
        }
        sink_.error(kw.name_span, msg);
        ok = false;
      } else if (attr_exprs[j]) {
        sink_.error(kw.name_span, attr_by_keyword[j]
                                      ? "repeated keyword '" + kw.name + "'"
                                      : "attribute '" + kw.name + "' of " + std::string(op->name) +
                                            " is given both positionally and by keyword");
        ok = false;
      } else {
        attr_exprs[j] = kw.value.get();
        attr_by_keyword[j] = true;
      }
    }

    std::vector<AttrValue> attrs(op->attrs.size());
    for (std::size_t j = 0; j < op->attrs.size(); ++j) {
      if (!attr_exprs[j]) {
        if (op->attrs[j].default_text.empty()) {
          sink_.error(e.span, std::string(op->name) + " requires the attribute '" + std::string(op->attrs[j].name) +
                                  "'; signature: " + signature(*op));
          ok = false;
        }
        continue;
      }
      if (!convert(*op, op->attrs[j], *attr_exprs[j], attrs[j])) ok = false;
    }

    std::vector<std::optional<Operand>> operands;
    for (const Expr* arg : tensor_args) {
      operands.push_back(operand(*arg, op->name));
      ok = ok && operands.back().has_value();
    }
    if (!ok) return std::nullopt;

    const ir::OpKind kind = op->kind;
    std::vector<std::pair<std::string_view, const Expr*>> named;
    for (std::size_t i = 0; i < tensor_args.size() && i < op->tensors.size(); ++i) named.emplace_back(op->tensors[i], tensor_args[i]);
    if (const LibraryFunction* lib = find_library_function(op->name)) {
      std::vector<Value> tensors;
      for (const auto& o : operands) tensors.push_back(*o->tensor);
      LibraryArgs args;
      for (size_t j = 0; j < op->attrs.size(); ++j) {
        if (!attrs[j].present) continue;
        if (op->attrs[j].name == "axis") args.axis = attrs[j].axes;
        if (op->attrs[j].name == "keepdims") args.keepdims = attrs[j].boolean;
        if (op->attrs[j].kind == AttrKind::dtype) args.dtype = attrs[j].dtype;
      }
      return apply(e.span, [&]() -> Value { return lib->build(tensors, args); }, operand_names_note(named));
    }
    if (kind == ir::OpKind::elementwise) return elementwise_call(e, *op, operands, attrs, operand_names_note(named));
    return apply(e.span, [&]() -> Value {
      const Value& x = *operands[0]->tensor;
      if (kind == ir::OpKind::dot) return tcc::dot(x, *operands[1]->tensor);
      if (kind == ir::OpKind::batch_dot) {
        Axes axes = attrs[0].present ? attrs[0].axes : Axes();
        // legacy= written out is the user's choice (no warning); left out, the default.
        std::optional<BatchDotConvention> convention;
        if (attrs[1].present) convention = attrs[1].boolean ? BatchDotConvention::legacy : BatchDotConvention::modern;
        return tcc::batch_dot(x, *operands[1]->tensor, axes, convention);
      }
      if (kind == ir::OpKind::matmul) {
        MatmulFlags flags;
        flags.transpose_a = attrs[0].present && attrs[0].boolean;
        flags.transpose_b = attrs[1].present && attrs[1].boolean;
        flags.adjoint_a = attrs[2].present && attrs[2].boolean;
        flags.adjoint_b = attrs[3].present && attrs[3].boolean;
        return tcc::matmul(x, *operands[1]->tensor, flags);
      }
      if (kind == ir::OpKind::tensordot) return tcc::tensordot(x, *operands[1]->tensor, attrs[0].present ? attrs[0].axes : Axes(2));
      if (kind == ir::OpKind::transpose) return tcc::transpose(x, attrs[0].present ? attrs[0].ints : std::nullopt);
      if (kind == ir::OpKind::reshape) return tcc::reshape(x, *attrs[0].ints);
      throw InternalError("tc language: op '" + std::string(op->name) + "' has no builder");
    }, operand_names_note(named));
  }

  // A call of an element-wise function: its keywords select the table's function (gelu's
  // approximate=true is gelu_tanh); numbers take the dtype of the tensor argument.
  std::optional<Value> elementwise_call(const Expr& e, const OpSpec& op, const std::vector<std::optional<Operand>>& args,
                                        const std::vector<AttrValue>& attrs, const std::string& note) {
    std::vector<bool> flags;
    for (const AttrValue& a : attrs) flags.push_back(a.present && a.boolean);
    std::vector<Operand> operands;
    bool has_tensor = false;
    for (const auto& a : args) {
      operands.push_back(*a);
      has_tensor = has_tensor || a->tensor.has_value();
    }
    if (!has_tensor) {
      sink_.error(e.span, std::string(op.name) + " needs a tensor argument, got only numbers (.tc computes no constants)");
      return std::nullopt;
    }
    return elementwise(elem_op_of_call(op, flags), operands, e.span, note);
  }

  // ": write gelu(x, approximate=true)" for gelu_tanh, a function .tc spells with a keyword.
  static std::optional<std::string> variant_hint(std::string_view name) {
    for (const KeywordVariant& v : keyword_variants())
      if (ir::elem_op_name(v.when_true) == name)
        return ": write " + std::string(ir::elem_op_name(v.base)) + "(x, " + std::string(v.keyword) + "=true)";
    return std::nullopt;
  }

  std::optional<Value> einsum_call(const Expr& e) {
    bool ok = true;
    for (const auto& kw : e.keywords) {
      sink_.error(kw.name_span, "unknown keyword '" + kw.name + "' for einsum (it takes no attributes); signature: " +
                                    signature(*find_op("einsum")));
      ok = false;
    }
    if (e.items.empty()) {
      sink_.error(e.span, "einsum expects a subscripts string and at least one tensor, e.g. einsum(\"ij,jk->ik\", a, b)");
      return std::nullopt;
    }
    const Expr& spec = *e.items[0];
    if (spec.kind != ExprKind::string) {
      sink_.error(spec.span, "the first argument of einsum must be the subscripts string, e.g. \"ij,jk->ik\"; got " +
                                 describe_value(spec));
      ok = false;
    }
    if (e.items.size() < 2 && spec.kind == ExprKind::string) {
      sink_.error(e.span, "einsum expects at least one tensor after the subscripts string");
      ok = false;
    }
    std::vector<Value> operands;
    for (std::size_t i = 1; i < e.items.size(); ++i) {
      const Expr& arg = *e.items[i];
      if (!arg.is_tensor_syntax()) {
        sink_.error(arg.span, "argument " + std::to_string(i + 1) + " of einsum must be a tensor, got " +
                                  describe_value(arg));
        ok = false;
        continue;
      }
      std::optional<Value> v = tensor(arg);
      if (v) operands.push_back(*v);
      else ok = false;
    }
    if (!ok) return std::nullopt;
    return apply(e.span, [&] { return tcc::einsum(spec.text, operands); });
  }

  // ---- Attribute values ----

  bool kind_error(const OpSpec& op, const AttrSpec& attr, const Expr& at) {
    sink_.error(at.span, "attribute '" + std::string(attr.name) + "' of " + std::string(op.name) + " must be " +
                             expected_kind(attr.kind) + ", got " + describe_value(at));
    return false;
  }

  // Axes: an integer or a (nested) tuple/list of them.
  bool to_axes(const OpSpec& op, const AttrSpec& attr, const Expr& e, Axes& out) {
    if (e.kind == ExprKind::integer) {
      out = Axes(e.integer);
      return true;
    }
    if (e.kind != ExprKind::tuple && e.kind != ExprKind::list) return kind_error(op, attr, e);
    std::vector<Axes> items;
    for (const auto& item : e.items) {
      Axes a;
      if (!to_axes(op, attr, *item, a)) return false;
      items.push_back(std::move(a));
    }
    out = Axes::list(std::move(items));
    return true;
  }

  bool to_ints(const OpSpec& op, const AttrSpec& attr, const Expr& e, std::vector<int64_t>& out) {
    if (e.kind != ExprKind::tuple && e.kind != ExprKind::list) return kind_error(op, attr, e);
    for (const auto& item : e.items) {
      if (item->kind != ExprKind::integer) return kind_error(op, attr, *item);
      out.push_back(item->integer);
    }
    return true;
  }

  bool convert(const OpSpec& op, const AttrSpec& attr, const Expr& e, AttrValue& out) {
    out.present = true;
    switch (attr.kind) {
      case AttrKind::boolean:
        if (e.kind != ExprKind::boolean) return kind_error(op, attr, e);
        out.boolean = e.boolean;
        return true;
      case AttrKind::axes_or_none:
        if (e.kind == ExprKind::none) {
          out.axes = Axes();
          return true;
        }
        return to_axes(op, attr, e, out.axes);
      case AttrKind::axes:
        return to_axes(op, attr, e, out.axes);
      case AttrKind::perm: {
        if (e.kind == ExprKind::none) {
          out.ints = std::nullopt;
          return true;
        }
        std::vector<int64_t> perm;
        if (!to_ints(op, attr, e, perm)) return false;
        out.ints = std::move(perm);
        return true;
      }
      case AttrKind::shape: {
        std::vector<int64_t> shape;
        if (e.kind == ExprKind::integer) shape.push_back(e.integer);  // reshape(x, 6), as NumPy
        else if (!to_ints(op, attr, e, shape)) return false;
        out.ints = std::move(shape);
        return true;
      }
      case AttrKind::dtype: {
        const std::optional<DType> dtype = e.kind == ExprKind::name ? parse_dtype(e.text) : std::nullopt;
        if (!dtype) return kind_error(op, attr, e);
        out.dtype = *dtype;
        return true;
      }
    }
    return false;
  }

  void drain_warnings(const Span& statement_span) {
    std::vector<Warning> warnings;
    try {
      warnings = graph_.take_warnings();
    } catch (const std::exception& e) {
      sink_.error(statement_span, std::string("internal error: ") + e.what());
      return;
    }
    for (const auto& w : warnings) {
      auto it = node_spans_.find(w.node);
      sink_.warning(it != node_spans_.end() ? it->second : statement_span, w.message);
    }
  }

  DiagnosticSink& sink_;
  TcProgram& program_;
  Graph& graph_;
  int line_ = 0;
  std::unordered_map<std::string, Binding> scope_;
  std::unordered_map<std::string, int> first_definition_;
  std::unordered_map<int, Span> node_spans_;  // node id -> the call or '@' that built it last
};

}  // namespace

TcProgram load_tc_source(const std::string& source, const std::string& file_name) {
  TcProgram program;
  program.graph = std::make_unique<Graph>();
  SourceText text(source, file_name);
  DiagnosticSink sink(text);
  // A binary file (an object, a .npy given by mistake): one line saying so, none of its bytes.
  if (const std::size_t nul = source.find('\0'); nul != std::string::npos) {
    sink.file_error("not a .tc text file: it holds binary data (a NUL byte at offset " + std::to_string(nul) + ")");
    program.diagnostics = sink.take();
    return program;
  }
  try {
    std::vector<ParsedLine> lines;
    lines.reserve(static_cast<std::size_t>(text.line_count()));
    for (int i = 1; i <= text.line_count(); ++i) lines.push_back(parse_line(text.line(i), i));
    Analyzer(sink, program).run(lines);
  } catch (const std::exception& e) {
    // Never escapes: a bug or an exhausted resource becomes one more diagnostic.
    sink.file_error(std::string("internal error while reading the file: ") + e.what());
  }
  program.diagnostics = sink.take();
  return program;
}

TcProgram load_tc_file(const std::string& path) {
  std::string bytes;
  errno = 0;
  FILE* f = std::fopen(path.c_str(), "rb");
  int read_errno = 0;
  if (!f) {
    read_errno = errno;
  } else {
    char buffer[1 << 16];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) bytes.append(buffer, n);
    if (std::ferror(f)) read_errno = errno ? errno : EIO;
    std::fclose(f);
  }
  if (f == nullptr || read_errno != 0) {
    TcProgram program;
    program.graph = std::make_unique<Graph>();
    Diagnostic d;
    d.file = path;
    d.line = 0;
    d.message = std::string("cannot read: ") + std::strerror(read_errno ? read_errno : EIO);
    program.diagnostics.push_back(std::move(d));
    return program;
  }
  return load_tc_source(bytes, path);
}

}  // namespace tcc::lang
