// The element-wise functions: every fact about one (its name in .tc files and the C++ API,
// its operator spelling, arity, which dtypes take it, its float64 meaning) is one row of
// elem_op_table(). The graph's element-wise nodes, the kernel form's fused expressions, the
// loop IR and codegen all name functions by ElemOp.
#pragma once
#include <tcc/dtype.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcc::ir {

enum class ElemOp : uint8_t {
  add, sub, mul, div, maximum, minimum, pow, logaddexp,                      // binary
  neg, abs, square, sqrt, rsqrt, exp, log, tanh, sigmoid, relu, gelu, gelu_tanh,  // unary
  cast,  // unary: to ElemInstr::to (NumPy's astype; floats to integers truncate and saturate)
};

struct ElemOpInfo {
  ElemOp op;
  std::string_view name;      // the graph IR's, .tc's and the C++ API's: "add", "relu"
  std::string_view spelling;  // how messages name it: "+"; empty: `name`
  int arity;
  bool integers;              // integer dtypes take it (wrapping as NumPy's); else floats only
  double (*reference)(double, double);  // the float64 meaning (b unused when unary)
};

const std::vector<ElemOpInfo>& elem_op_table();
const ElemOpInfo& elem_op_info(ElemOp op);
std::string_view elem_op_name(ElemOp op);
std::string_view elem_op_spelling(ElemOp op);
// The function of this name (binary operators by name too: "add"), or nullopt.
std::optional<ElemOp> find_elem_op(std::string_view name);

// A reduction's name by the function combining its elements: "sum", "max", "min",
// "logsumexp"; empty for functions that are not one (they must be associative and have an
// identity).
std::string_view reduction_name(ElemOp combine);
// The identity of a reduction in `dtype`: 0, the lowest value (-inf) or the highest (+inf),
// in `value` for a float dtype and `int_value` for an integer one.
struct ReductionIdentity {
  double value = 0;
  int64_t int_value = 0;
};
ReductionIdentity reduction_identity(ElemOp combine, DType dtype);

// One step of a fused element-wise expression: the element of operand `operand` (>= 0), or
// `op` of the values of earlier steps `args`. The last step is the result.
struct ElemInstr {
  int operand = -1;
  ElemOp op = ElemOp::add;
  std::vector<int> args;
  DType to = DType::f32;  // cast: the dtype converted to
};
// "%0=x0 %1=x1 %2=add(%0,%1) %3=relu(%2)": printed IR and kernel descriptors.
std::string elem_program_str(const std::vector<ElemInstr>& program);
// How many functions the expression applies (its flops per point).
int64_t function_count(const std::vector<ElemInstr>& program);

// The expression's value over values of any kind (loop IR, LLVM): operand(i) for an operand
// step, apply(step, a, b) for a function step (b a default Value when unary).
template <typename Value, typename Operand, typename Apply>
Value evaluate_program(const std::vector<ElemInstr>& program, Operand&& operand, Apply&& apply) {
  std::vector<Value> values;
  for (const ElemInstr& in : program)
    values.push_back(in.operand >= 0 ? operand(in.operand)
                                     : apply(in, values[in.args[0]], in.args.size() > 1 ? values[in.args[1]] : Value{}));
  return values.back();
}

}  // namespace tcc::ir
