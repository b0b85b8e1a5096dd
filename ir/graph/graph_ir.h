// Graph IR: the lazy, hash-consed expression graph the frontend builds.
// Nodes are immutable once added; identical (op, attrs, inputs) give the same node.
#pragma once
#include <tcc/dtype.h>
#include <tcc/tensor.h>

#include "ir/elementwise.h"
#include "ir/graph/index_spec.h"
#include "ir/graph/ops.h"
#include "ir/graph/shape_constraints.h"

#include <string>
#include <unordered_map>
#include <vector>

namespace tcc::ir {


struct Node {
  int id = -1;
  OpKind op = OpKind::input;
  std::vector<int> inputs;
  DType dtype = DType::f32;
  Shape shape;
  std::string name;   // input: its name
  std::vector<int64_t> strides;  // input: a strided input's element strides (empty: dense)
  std::string attrs;  // printable attributes, part of the identity: "axes=(1, 2), legacy"
  IndexSpec spec;     // contraction and element-wise ops
  ElemOp elem = ElemOp::add;  // element-wise ops: the function; reduce: how elements combine
  Tensor data;        // constant
  // What the shape rule left to the inputs (symbols where sizes must be equal). A function of
  // (op, attrs, inputs) like the shape, so interning stays correct without them in the key.
  std::vector<ShapeConstraint> constraints;
};

class GraphIR {
 public:
  // Adds `node` unless an identical one exists; returns the id either way.
  int add(Node node);
  const Node& node(int id) const { return nodes_.at(static_cast<size_t>(id)); }
  int size() const { return static_cast<int>(nodes_.size()); }
  // -1 when there is no input of that name.
  int find_input(const std::string& name) const;

 private:
  std::vector<Node> nodes_;
  std::unordered_map<std::string, int> interned_;  // identity key -> id
  std::unordered_map<std::string, int> inputs_;    // input name -> id
};

// The node's op as the graph IR prints it: an element-wise node by its function ("relu").
std::string_view node_op_name(const Node& n);
// A contraction of two or more operands (a unary one, transpose, is a view).
inline bool is_product(const Node& n) { return is_contraction(n.op) && n.inputs.size() >= 2; }

// The nodes reachable from `outputs`, in topological order (inputs first).
std::vector<int> reachable_nodes(const GraphIR& g, const std::vector<int>& outputs);
// "%3 = batch_dot(%1, %2) axes=None : f32[10,12,4,12,8]  dims[...] ..." one line per node,
// ending in "  requires N == 5, M == N" when the node has constraints.
std::string print_graph(const GraphIR& g, const std::vector<int>& outputs);
// Checks types, index specs and acyclicity; throws InternalError.
void verify_graph(const GraphIR& g, const std::vector<int>& outputs);


}  // namespace tcc::ir
