#include "ir/elementwise.h"

#include <tcc/error.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace tcc::ir {

namespace {

constexpr double kSqrtHalf = 0.70710678118654752440;
constexpr double kSqrtTwoOverPi = 0.79788456080286535588;

double gelu_erf(double x, double) { return 0.5 * x * (1.0 + std::erf(x * kSqrtHalf)); }
// Keras' approximate=True: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
double gelu_tanh(double x, double) { return 0.5 * x * (1.0 + std::tanh(kSqrtTwoOverPi * (x + 0.044715 * x * x * x))); }
// NumPy's maximum and minimum propagate NaN.
double maximum(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b); }
double minimum(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b); }
// NumPy's logaddexp: log(e^a + e^b) without overflow; equal infinities give themselves.
double logaddexp(double a, double b) {
  if (a == b) return a + std::log(2.0);
  return std::max(a, b) + std::log1p(std::exp(-std::fabs(a - b)));
}

}  // namespace

const std::vector<ElemOpInfo>& elem_op_table() {
  static const std::vector<ElemOpInfo> table = [] {
    std::vector<ElemOpInfo> t{
        {ElemOp::add, "add", "+", 2, true, [](double a, double b) { return a + b; }},
        {ElemOp::sub, "subtract", "-", 2, true, [](double a, double b) { return a - b; }},
        {ElemOp::mul, "multiply", "*", 2, true, [](double a, double b) { return a * b; }},
        {ElemOp::div, "divide", "/", 2, false, [](double a, double b) { return a / b; }},
        {ElemOp::maximum, "maximum", "", 2, true, maximum},
        {ElemOp::minimum, "minimum", "", 2, true, minimum},
        {ElemOp::pow, "pow", "", 2, false, [](double a, double b) { return std::pow(a, b); }},
        {ElemOp::logaddexp, "logaddexp", "", 2, false, logaddexp},
        {ElemOp::neg, "neg", "-", 1, true, [](double a, double) { return -a; }},
        {ElemOp::abs, "abs", "", 1, true, [](double a, double) { return std::fabs(a); }},
        {ElemOp::square, "square", "", 1, true, [](double a, double) { return a * a; }},
        {ElemOp::sqrt, "sqrt", "", 1, false, [](double a, double) { return std::sqrt(a); }},
        {ElemOp::rsqrt, "rsqrt", "", 1, false, [](double a, double) { return 1.0 / std::sqrt(a); }},
        {ElemOp::exp, "exp", "", 1, false, [](double a, double) { return std::exp(a); }},
        {ElemOp::log, "log", "", 1, false, [](double a, double) { return std::log(a); }},
        {ElemOp::tanh, "tanh", "", 1, false, [](double a, double) { return std::tanh(a); }},
        {ElemOp::sigmoid, "sigmoid", "", 1, false, [](double a, double) { return 1.0 / (1.0 + std::exp(-a)); }},
        {ElemOp::relu, "relu", "", 1, true, [](double a, double) { return std::isnan(a) ? a : a > 0 ? a : 0.0; }},
        {ElemOp::gelu, "gelu", "", 1, false, gelu_erf},
        {ElemOp::gelu_tanh, "gelu_tanh", "gelu(approximate=true)", 1, false, gelu_tanh},
        // The value itself: what converting it means depends on the dtypes (semantics.md, cast).
        {ElemOp::cast, "cast", "", 1, true, [](double a, double) { return a; }},
    };
    for (size_t i = 0; i < t.size(); ++i)
      if (static_cast<size_t>(t[i].op) != i) throw InternalError("element-wise op table rows are not in ElemOp order");
    return t;
  }();
  return table;
}

const ElemOpInfo& elem_op_info(ElemOp op) { return elem_op_table().at(static_cast<size_t>(op)); }
std::string_view elem_op_name(ElemOp op) { return elem_op_info(op).name; }
std::string_view elem_op_spelling(ElemOp op) {
  const ElemOpInfo& info = elem_op_info(op);
  return info.spelling.empty() ? info.name : info.spelling;
}

std::optional<ElemOp> find_elem_op(std::string_view name) {
  for (const ElemOpInfo& info : elem_op_table())
    if (info.name == name) return info.op;
  return std::nullopt;
}

std::string_view reduction_name(ElemOp combine) {
  switch (combine) {
    case ElemOp::add: return "sum";
    case ElemOp::maximum: return "max";
    case ElemOp::minimum: return "min";
    case ElemOp::logaddexp: return "logsumexp";
    default: return "";
  }
}

ReductionIdentity reduction_identity(ElemOp combine, DType dtype) {
  if (reduction_name(combine).empty())
    throw InternalError("reduction_identity: " + std::string(elem_op_name(combine)) + " is no reduction");
  if (combine == ElemOp::add) return {};
  const bool highest = combine == ElemOp::minimum;  // logsumexp: -inf, as max
  return visit_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::numeric_limits<T>::has_infinity)
      return ReductionIdentity{highest ? double(std::numeric_limits<T>::infinity()) : -double(std::numeric_limits<T>::infinity()), 0};
    else
      return ReductionIdentity{0, highest ? int64_t(std::numeric_limits<T>::max()) : int64_t(std::numeric_limits<T>::lowest())};
  });
}

int64_t function_count(const std::vector<ElemInstr>& program) {
  return std::count_if(program.begin(), program.end(), [](const ElemInstr& i) { return i.operand < 0; });
}

std::string elem_program_str(const std::vector<ElemInstr>& program) {
  std::string s;
  for (size_t i = 0; i < program.size(); ++i) {
    const ElemInstr& in = program[i];
    s += fmt::format("{}%{}=", i ? " " : "", i);
    if (in.operand >= 0) {
      s += fmt::format("x{}", in.operand);
    } else {
      std::string args;
      for (int a : in.args) args += fmt::format("{}%{}", args.empty() ? "" : ",", a);
      if (in.op == ElemOp::cast) s += fmt::format("cast<{}>({})", dtype_name(in.to), args);
      else s += fmt::format("{}({})", elem_op_name(in.op), args);
    }
  }
  return s;
}

}  // namespace tcc::ir
