// Loop IR: a small Halide-style tree of immutable, shared nodes. Expressions compute an
// element or index; statements are loops, stores, blocks and scratch allocations.
// Vars and buffers are compared by identity, never by name.
#pragma once
#include <tcc/dtype.h>

#include "ir/elementwise.h"

#include <memory>
#include <string>
#include <vector>

namespace tcc::ir::loop {

// A buffer a kernel reads or writes: a parameter (0 = the output) or a stack scratch.
struct BufferDecl {
  // param: a kernel argument; stack: the current function's frame (a few scalars in
  // registers, or a parallel task's own packing blocks); heap: scratch (packing buffers) in
  // the block the caller passes. Both 64-byte aligned, freed when the allocation's body ends.
  enum class Scope { param, stack, heap };
  std::string name;
  DType dtype = DType::f32;
  Scope scope = Scope::param;
  int param_index = -1;
  int64_t scratch_offset = -1;  // heap: bytes from the start of the caller's scratch block (the plan's layout)
};
using Buffer = std::shared_ptr<const BufferDecl>;

// A loop variable (always i64).
struct VarDecl {
  std::string name;
};
using Var = std::shared_ptr<const VarDecl>;

// ---- Expressions ----
enum class ExprKind { int_imm, float_imm, var, add, sub, mul, div, min, select_lt, load, elem };

struct ExprNode;
using Expr = std::shared_ptr<const ExprNode>;

struct ExprNode {
  ExprKind kind;
  // The type of the value: i64 for index arithmetic, else the element dtype.
  DType type;
  int64_t int_value = 0;   // int_imm
  double float_value = 0;  // float_imm
  Var var;                 // var
  Expr a, b;               // add, sub, mul, div, min; select_lt compares a < b; elem: its args
  ElemOp elem = ElemOp::add;  // elem: the function, of a (and b when binary), all of `type`
  Expr t, f;               // select_lt: a < b ? t : f
  Buffer buffer;           // load
  Expr index;              // load: element offset (i64)
};

Expr int_imm(int64_t v);
Expr zero(DType type);  // 0 of a dtype (float_imm or int_imm)
Expr float_imm(DType type, double v);  // a float dtype's constant
Expr convert(Expr a, DType to);         // a's value in dtype `to` (ElemOp::cast)
// A function step of an element-wise expression (ElemInstr) of a and b (null when unary).
Expr apply_instr(const ElemInstr& in, Expr a, Expr b);
// a within the finite range of its float dtype (±inf to the largest finite value; NaN stays):
// a max made safe to subtract (logsumexp, softmax).
Expr clamp_to_finite(Expr a);
Expr int_imm(DType type, int64_t v);   // an integer dtype's constant
Expr var_ref(const Var& v);
Expr add(Expr a, Expr b);
Expr sub(Expr a, Expr b);
Expr mul(Expr a, Expr b);
// a / b of i64 values, a >= 0 and b > 0 (a tile count from a runtime extent).
Expr div(Expr a, Expr b);
Expr min(Expr a, Expr b);
Expr select_lt(Expr a, Expr b, Expr t, Expr f);  // a < b ? t : f (a, b i64)
Expr load(const Buffer& buffer, Expr index);
// An element-wise function of element values (b null for a unary one).
Expr elem(ElemOp op, Expr a, Expr b = nullptr);

// ---- Statements ----
enum class StmtKind {
  for_loop, store, block, allocate, micro_kernel, if_lt, transpose_block, parallel_task, pack_panels
};
// Serial: plain loop. Vectorized: a hint for codegen that the loop is the contiguous innermost
// one and should be vectorised at the host width. Parallel: iterations are independent and
// run on the runtime's thread pool (the outline_parallel pass makes the body a task). Scalar: a cold loop (edges)
// LLVM must not vectorise or unroll: it would only add compile time.
// Streaming: vectorized, and its one store, contiguous along the loop, bypasses the caches
// (non-temporal: an output far larger than they are, which the next reader would not find
// there anyway); codegen writes its vectors itself, the store aligned to a whole vector.
enum class ForKind { serial, vectorized, parallel, scalar, streaming };

struct StmtNode;
using Stmt = std::shared_ptr<const StmtNode>;

// One operand of a micro-kernel: element (i, j) is buffer[offset + i*stride_i + j*stride_j].
struct TileOperand {
  Buffer buffer;
  Expr offset;              // i64
  int64_t stride_i = 0;     // A: per row; B: per k;  C: per row
  int64_t stride_j = 0;     // A: per k;   B: per col (1); C: per col (1)
};

// Cache lines a micro-kernel asks for ahead of use: `segments` runs of `segment_elements`
// contiguous elements from buffer[offset], `segment_stride` elements apart. The k loop asks
// for ceil(segments / kc) segments a step, in order.
struct PrefetchStream {
  Buffer buffer;
  Expr offset;  // i64
  int64_t segments = 0, segment_stride = 0, segment_elements = 0;
};

// The register-tiled micro-kernel, expanded by codegen into explicit vector FMAs:
//   s[r, c] = (accumulate ? C[r, c] : 0) + sum_{k < kc} A[r, k] * B[k, c]   r < rows, c < cols
//   C[r, c] = finish ? epilogue(s[r, c], E0[r, c], E1[r, c] ...) : s[r, c]
// rows/cols are compile-time (the tile or its edge); kc, accumulate and finish are i64
// expressions (finish: on the last K block).
struct MicroKernel {
  int rows = 0, cols = 0;  // this tile; cols may end in a partial vector (masked)
  int lanes = 1;           // vector width in elements
  Expr kc, accumulate;
  TileOperand a, b, c;
  // Rows 0 .. skip_rows - 1 are computed but not stored (null: every row is stored): the last
  // row panel as a full tile moved up to end at the last row, over rows the panel above wrote.
  Expr skip_rows;
  // k steps per iteration of a k loop (fewer where they do not divide a constant kc), and the
  // largest constant kc emitted as straight-line code (GemmPlan).
  int k_steps = 1;
  int64_t full_unroll_max_k = 0;
  // Every value kc takes is a multiple of this (the plan's K blocks): a k loop of k_steps that
  // divide it needs no loop of single steps after it.
  int64_t kc_multiple = 1;
  int prefetch_locality = 3;  // of every prefetch the tile issues (llvm.prefetch's 0..3)
  // Prefetch the C tile before the k loop (C is large and the loop long enough to hide a miss).
  bool prefetch_c = false;
  // Memory to prefetch while the k loop runs (the next batch matrix's lines), spread over
  // the k steps. Needs a compile-time kc.
  std::vector<PrefetchStream> prefetch;
  // Where the tile sits, for passes that act per tile (prefetch): its row and column in tiles
  // (or panels) of its matrix, and the offset of B's current matrix (null where unknown).
  struct Place {
    Expr tile_row, tile_col, b_matrix;
  } place;
  // The kernel spec's epilogue (operand 0: the sum; operand i: epilogue_operands[i - 1], whose
  // stride_j is 0, a value per row, or 1, a row of values), applied where `finish` is nonzero.
  std::vector<ElemInstr> epilogue;
  std::vector<TileOperand> epilogue_operands;
  Expr finish;
  // Where `finish` stores the epilogue's value when that is not C: an epilogue converting to
  // another dtype, C then holding the partial sums (same strides as C). Null buffer: C.
  TileOperand out;

  // Every expression the tile holds (null ones included), for visitors and mutators.
  std::vector<const Expr*> exprs() const;
  std::vector<Expr*> exprs();
};

// A lanes x lanes block copied transposed, in vector registers (codegen: lanes vector loads,
// log2(lanes) rounds of shuffles, lanes vector stores): for r, c < lanes,
//   dst[index + r*dst_stride + c] = src[src_offset + c*src_stride + r]
// Packing a transposed operand.
struct TransposeShape {
  int lanes = 0;
  int64_t dst_stride = 0, src_stride = 0;
};

// A loop over tiles whose last tile may be partial (lower_gemm builds every tile full size);
// the tails pass makes that tile exact: `edge` rows or columns instead of a full tile, as the
// loop's last iteration behind a branch, peeled after the loop, or in a loop of its own.
struct TileSplit {
  enum class Axis { rows, cols };
  enum class Style { branch, peel, remainder };
  Axis axis = Axis::rows;
  Style style = Style::peel;
  Expr full;              // i64: the full tiles; the loop's extent counts the partial one too
  int edge = 0;           // rows or columns of the partial tile; 0: there is none
  int edge_k_steps = 0;   // k steps per iteration in the partial tiles (0: as the full ones)
};

// A block of an operand copied into the micro-kernel's panel layout, k-major, zero-padded at
// the edge (the pack pass expands it into copy loops or register transposes, as the plan says):
// panels [first_panel, first_panel + panels) of the matrix at src_offset in `src`, k rows
// [k_block * plan.kc, + kc).
struct PackPanels {
  enum class Operand { a, b };
  Operand operand = Operand::b;
  Buffer dst, src;
  Expr src_offset, first_panel, panels, k_block, kc;  // i64
};

// What a parallel task takes from the code around it (outline_parallel): the vars and
// buffers its body uses, in order of first use; its body sees nothing else. Codegen passes
// them in a closure to `i32 name(ptr closure, i64 index)`, run by the runtime's
// tcc_parallel_for.
struct TaskCaptures {
  std::string name;
  std::vector<Var> vars;
  std::vector<Buffer> buffers;
};

struct StmtNode {
  StmtKind kind;
  // for_loop and parallel_task: `var` in 0..extent, `body` each iteration
  Var var;
  Expr extent;
  ForKind for_kind = ForKind::serial;
  Stmt body;
  // store: buffer[index] = value; allocate: `buffer` of `extent` elements live in `body`;
  // transpose_block: writes from buffer[index]
  Buffer buffer;
  Expr index, value;
  // transpose_block: reads from src[src_index]
  Buffer src;
  Expr src_index;
  // block
  std::vector<Stmt> stmts;
  // micro_kernel
  std::shared_ptr<const MicroKernel> micro;
  // if_lt: `body` when lhs < rhs (i64), else `otherwise` (may be null)
  Expr lhs, rhs;
  Stmt otherwise;
  // transpose_block (with buffer, index and value as above)
  TransposeShape transpose;
  // parallel_task
  std::shared_ptr<const TaskCaptures> task;
  // pack_panels
  std::shared_ptr<const PackPanels> pack;
  // for_loop over tiles before the tails pass
  std::shared_ptr<const TileSplit> tiles;
};

Stmt for_loop(const Var& v, Expr extent, ForKind kind, Stmt body);
Stmt store(const Buffer& buffer, Expr index, Expr value);
Stmt block(std::vector<Stmt> stmts);
Stmt allocate(const Buffer& buffer, Expr extent, Stmt body);
Stmt micro_kernel(MicroKernel mk);
Stmt pack_panels(PackPanels pack);
// A for_loop over tiles whose last one the tails pass makes exact.
Stmt tile_loop(const Var& v, Expr extent, ForKind kind, TileSplit split, Stmt body);
// A parallel loop made a task: `body` for var in 0..extent on the thread pool.
Stmt parallel_task(TaskCaptures captures, const Var& v, Expr extent, Stmt body);
// lhs < rhs ? then : otherwise, e.g. the last iteration of a parallel loop doing an edge tile.
Stmt if_lt(Expr lhs, Expr rhs, Stmt then, Stmt otherwise);
// dst[dst_offset + r*dst_stride + c] = src[src_offset + c*src_stride + r] for r, c < lanes.
Stmt transpose_block(const Buffer& dst, Expr dst_offset, int64_t dst_stride, const Buffer& src, Expr src_offset,
                     int64_t src_stride, int lanes);

// A kernel: `void name(params..., scalar_params..., scratch)`, params[0] the output.
struct LoopKernel {
  std::string name;
  DType dtype = DType::f32;
  std::vector<Buffer> params;
  Stmt body;
  // i64 scalar parameters (a symbolic extent, a runtime batch size ...), bound as vars in the
  // whole body; in the argument array they follow the buffers, each slot holding the value.
  std::vector<Var> scalar_params;
  // Bytes of the scratch block the caller passes as an extra last argument (0: none); heap
  // buffers live in it at their BufferDecl::scratch_offset.
  int64_t scratch_bytes = 0;
};

// ---- Traversal ----
class IRVisitor {
 public:
  virtual ~IRVisitor() = default;
  virtual void visit(const Expr& e);
  virtual void visit(const Stmt& s);
};

// Rebuilds only what changed: a node whose children come back identical is returned as is.
class IRMutator {
 public:
  virtual ~IRMutator() = default;
  virtual Expr mutate(const Expr& e);
  virtual Stmt mutate(const Stmt& s);
};


// Readable text; vars and buffers get unique names.
std::string print_kernel(const LoopKernel& k);
// Every var used is bound by an enclosing loop, buffers are params or allocated, types agree.
void verify_kernel(const LoopKernel& k);

}  // namespace tcc::ir::loop
