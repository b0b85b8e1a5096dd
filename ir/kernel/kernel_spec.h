// The kernel form: what one kernel computes, whatever op the user wrote. A step is a
// contraction over loop dims with roles B/M/N/K and per-operand strides (broadcasting is
// stride 0, transposes and diagonals are strides, never copies), or a copy of a strided view
// into a dense buffer, or an element-wise expression. A dim may carry a symbol (its extent a
// runtime parameter); operands, accumulator and output each have a dtype; a contraction may
// end in an epilogue, an element-wise expression of each result applied as it is stored (a
// fused bias and activation).
#pragma once
#include <tcc/dtype.h>
#include <tcc/tensor.h>

#include "ir/elementwise.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tcc::ir {

// B: indexes the output and every operand. M: the output and the first operand only.
// N: the output and not the first operand only. K: summed (not in the output).
enum class DimRole { B, M, N, K };
char role_letter(DimRole r);

struct KernelDim {
  int64_t extent = 0;
  DimRole role = DimRole::K;
  // Empty: a static extent. Else the extent is the runtime value of this symbol (a kernel
  // scalar parameter), and `extent` the value plans assume.
  std::string symbol;
  bool symbolic() const { return !symbol.empty(); }
  // The extent as a shape holds it: the size, or the symbol's tcc::dim code.
  int64_t shape_extent() const;
};

struct StridedOperand {
  int buffer = -1;
  std::vector<int64_t> strides;  // elements, one per loop dim (0: not indexed or broadcast)
  DType dtype = DType::f32;
};

enum class StepKind {
  contraction,  // out = sum over K dims of the product of the operands
  copy,         // out = operands[0] (one operand, no K dim): a strided view made dense
  elementwise,  // out = program(operands' elements) (no K dim): a fused element-wise expression
  // out[b.., i, d] = sum_j softmax_j(score(sum_e q[b.., i, e] k[b.., j, e])) v[b.., j, d]:
  // `softmax(score(q @ kᵀ)) @ v` as one step that never stores the score matrix. Dims: the
  // batch dims (B), then i (M), j (K), e (K), d (N), in that order (attention_dims()).
  // Operands q, k, v, then the score expression's: `program` is score(), its operand 0 the
  // dot product and operand i >= 1 operands[2 + i].
  attention,
};

// Where an attention step's dims are: the last four of its dims.
struct AttentionDims {
  int i, j, e, d;
};

struct KernelSpec {
  StepKind kind = StepKind::contraction;
  DType acc_dtype = DType::f32;  // what products are summed in
  DType out_dtype = DType::f32;  // what is stored
  std::vector<KernelDim> dims;
  std::vector<int> out_axes;  // loop dim of each output axis; the output is dense row-major
  std::vector<StridedOperand> operands;
  std::vector<ElemInstr> program;  // elementwise: the expression, over the operands' elements
  // contraction: what is stored instead of each result r (empty: r itself). Its operand 0 is
  // r, operand i >= 1 the element of epilogue_operands[i - 1] (stride 0 along K dims).
  std::vector<ElemInstr> epilogue;
  std::vector<StridedOperand> epilogue_operands;
  // contraction: how the products over K dims combine (add: a sum; maximum, minimum: the max
  // and min reductions, of one operand).
  ElemOp combine = ElemOp::add;
  int out_buffer = -1;
  // contraction whose epilogue converts its sums to another dtype (out_dtype != acc_dtype): a
  // temp of acc_dtype, the output's size, that holds partial sums until the last K block
  // (a plan that sums K in one block never touches it).
  int acc_buffer = -1;

  AttentionDims attention_dims() const {
    const int n = static_cast<int>(dims.size());
    return {n - 4, n - 3, n - 2, n - 1};
  }
  // The one dtype of operands, accumulator and output, or nullopt when they differ.
  std::optional<DType> uniform_dtype() const;
  // The buffers a kernel is passed, in its argument order: output, operands, epilogue
  // operands, the accumulator (acc_buffer, when there is one).
  std::vector<int> arg_buffers() const;
  // Calls f(op) for every strided read: the operands, then the epilogue's.
  template <typename F>
  void for_each_read(F&& f) {
    for (StridedOperand& op : operands) f(op);
    for (StridedOperand& op : epilogue_operands) f(op);
  }
  template <typename F>
  void for_each_read(F&& f) const {
    for (const StridedOperand& op : operands) f(op);
    for (const StridedOperand& op : epilogue_operands) f(op);
  }
  // The symbols of symbolic dims, in dim order without repeats: the kernel's scalar parameters.
  std::vector<std::string> scalar_params() const;

  Shape out_shape() const;  // symbolic dims as their tcc::dim codes
  std::vector<int64_t> out_strides() const;  // per loop dim; 0 for K dims
  // Arithmetic of one run: n - 1 multiplies per point of the loop space for n operands, plus
  // one add when something is summed; a copy costs nothing.
  double flops() const;
  // Bytes moved at least once: each operand's elements and the output's.
  double bytes() const;
  // Everything that determines the kernel's code and nothing else (no buffer ids): the key
  // under which identical kernels are shared. Fields: dtype, roles, extents, out, strides.
  std::vector<std::pair<std::string, std::string>> descriptor_fields() const;
  std::string descriptor() const;  // the fields in one line (join_descriptor)
};

// "dtype=f32 roles=MNK ..." from descriptor fields.
std::string join_descriptor(const std::vector<std::pair<std::string, std::string>>& fields);

struct BufferInfo {
  enum class Kind { input, constant, temp };
  Kind kind = Kind::temp;
  DType dtype = DType::f32;
  int64_t numel = 0;  // elements; with a symbol, elements per unit of it
  std::string name;   // input name
  Tensor data;        // constant data
  int64_t symbol = 0;  // the symbol (a tcc::dim code) the buffer's outermost axis runs to; 0: none
  // A strided input read with negative strides: the element its view's (0, 0, ...) is at, where
  // the runtime points the kernels (offsets below it reach the lower elements).
  int64_t origin = 0;
  // Elements as planners see them (a symbol at its planning extent).
  int64_t planned_numel() const;
};

// A graph output: a dense row-major view of a whole buffer.
struct OutputView {
  int buffer = -1;
  Shape shape;
};

// What fusion did with a graph node, and why (tcc explain): "`node` <text> `other`" (other -1:
// "`node` <text>").
struct FusionNote {
  int node = -1;
  std::string text;
  int other = -1;
};

struct KernelProgram {
  std::vector<BufferInfo> buffers;
  std::vector<KernelSpec> steps;  // in execution order; each writes a fresh temp buffer
  std::vector<OutputView> outputs;
  std::vector<FusionNote> fusion;  // canonicalize's decisions, in node order
  std::string str() const;
};

// What canonicalize_contractions may fuse into one step (off: the unfused forms, for A/B
// measurements).
struct Fusion {
  bool epilogues = true;  // an element-wise tail becomes its contraction's epilogue
  bool attention = true;  // softmax(score(q @ kᵀ)) @ v becomes one attention step
};

// Why today's loop lowering cannot take this spec (mixed dtypes), or empty when it can.
std::string unsupported_by_lowering(const KernelSpec& c);

// Strides in range of their buffers, buffers written once before they are read.
void verify_program(const KernelProgram& p);

}  // namespace tcc::ir
