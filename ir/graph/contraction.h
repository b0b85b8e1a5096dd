// The canonical form every contraction op is lowered to: one general contraction over loop
// dims with roles B/M/N/K and per-operand strides. Broadcasting is stride 0, transposes and
// diagonals are strides, never copies. After canonicalize_contractions no pass knows Keras.
#pragma once
#include <tcc/dtype.h>
#include <tcc/tensor.h>

#include "ir/graph/graph_ir.h"

#include <string>
#include <utility>
#include <vector>

namespace tcc::ir {

// B: indexes the output and every operand. M: the output and the first operand only.
// N: the output and not the first operand only. K: summed (not in the output).
enum class DimRole { B, M, N, K };
char role_letter(DimRole r);

struct ContractionDim {
  int64_t extent = 0;
  DimRole role = DimRole::K;
};

struct StridedOperand {
  int buffer = -1;
  std::vector<int64_t> strides;  // elements, one per loop dim (0: not indexed or broadcast)
};

struct Contraction {
  DType dtype = DType::f32;
  std::vector<ContractionDim> dims;
  std::vector<int> out_axes;  // loop dim of each output axis; the output is dense row-major
  std::vector<StridedOperand> operands;
  int out_buffer = -1;

  Shape out_shape() const;
  std::vector<int64_t> out_strides() const;  // per loop dim; 0 for K dims
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
  int64_t numel = 0;
  std::string name;  // input name
  Tensor data;       // constant data
};

// A graph output: a dense row-major view of a whole buffer.
struct OutputView {
  int buffer = -1;
  Shape shape;
};

struct ContractionProgram {
  std::vector<BufferInfo> buffers;
  std::vector<Contraction> steps;  // in execution order; each writes a fresh temp buffer
  std::vector<OutputView> outputs;
  std::string str() const;
};

// Graph pass: contraction ops -> Contraction steps; transposes, diagonals and reshapes of
// dense data fold into strides; only what must be materialised (a reshape of a strided view,
// a strided graph output) becomes a copy step. Dead nodes are dropped.
ContractionProgram canonicalize_contractions(const GraphIR& g, const std::vector<int>& outputs);
// Strides in range of their buffers, buffers written once before they are read.
void verify_program(const ContractionProgram& p);

}  // namespace tcc::ir
