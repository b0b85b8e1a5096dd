// Loop IR: a small Halide-style tree of immutable, shared nodes. Expressions compute an
// element or index; statements are loops, stores, blocks and scratch allocations.
// Vars and buffers are compared by identity, never by name.
#pragma once
#include <tcc/dtype.h>

#include <memory>
#include <string>
#include <vector>

namespace tcc::ir::loop {

// A buffer a kernel reads or writes: a parameter (0 = the output) or a stack scratch.
struct BufferDecl {
  enum class Scope { param, stack };
  std::string name;
  DType dtype = DType::f32;
  Scope scope = Scope::param;
  int param_index = -1;
};
using Buffer = std::shared_ptr<const BufferDecl>;

// A loop variable (always i64).
struct VarDecl {
  std::string name;
};
using Var = std::shared_ptr<const VarDecl>;

// ---- Expressions ----
enum class ExprKind { int_imm, float_imm, var, add, mul, load };

struct ExprNode;
using Expr = std::shared_ptr<const ExprNode>;

struct ExprNode {
  ExprKind kind;
  // The type of the value: i64 for index arithmetic, else the element dtype.
  DType type;
  int64_t int_value = 0;   // int_imm
  double float_value = 0;  // float_imm
  Var var;                 // var
  Expr a, b;               // add, mul
  Buffer buffer;           // load
  Expr index;              // load: element offset (i64)
};

Expr int_imm(int64_t v);
Expr zero(DType type);  // 0 of a dtype (float_imm or int_imm)
Expr var_ref(const Var& v);
Expr add(Expr a, Expr b);
Expr mul(Expr a, Expr b);
Expr load(const Buffer& buffer, Expr index);

// ---- Statements ----
enum class StmtKind { for_loop, store, block, allocate };
// Serial: plain loop. Vectorized: a hint for codegen that the loop is the contiguous innermost
// one and should be vectorised at the host width.
enum class ForKind { serial, vectorized };

struct StmtNode;
using Stmt = std::shared_ptr<const StmtNode>;

struct StmtNode {
  StmtKind kind;
  // for_loop
  Var var;
  Expr extent;
  ForKind for_kind = ForKind::serial;
  Stmt body;
  // store: buffer[index] = value; allocate: buffer of `extent` elements live in `body`
  Buffer buffer;
  Expr index, value;
  // block
  std::vector<Stmt> stmts;
};

Stmt for_loop(const Var& v, Expr extent, ForKind kind, Stmt body);
Stmt store(const Buffer& buffer, Expr index, Expr value);
Stmt block(std::vector<Stmt> stmts);
Stmt allocate(const Buffer& buffer, Expr extent, Stmt body);

// A kernel: `void name(params...)`, params[0] the output.
struct LoopKernel {
  std::string name;
  DType dtype = DType::f32;
  std::vector<Buffer> params;
  Stmt body;
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
