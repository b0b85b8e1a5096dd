// IndexSpec: the einsum-like index space of one contraction, as the frontend's shape rules
// produce it. Every contraction op (dot, batch_dot, matmul, @, tensordot, einsum, transpose)
// is described by one: a list of loop dims, and for each operand axis and each output axis the
// loop dim that indexes it. Loop dims that index no output axis are summed over.
#pragma once
#include <tcc/dtype.h>

#include "ir/graph/shape_constraints.h"

#include <string>
#include <vector>

namespace tcc::ir {

struct IndexSpec {
  // Extent of each loop dim.
  std::vector<int64_t> extents;
  // operands[i][axis]: the loop dim that indexes axis `axis` of operand i. A size-1 axis may
  // name a longer loop dim: it is broadcast (always read at index 0, stride 0), and naming the
  // dim keeps its role known (a broadcast batch dim is still a batch dim). kBroadcast marks a
  // size-1 axis that corresponds to no loop dim, or a symbolic axis the node's constraints
  // make 1 that is stretched (read at index 0). Two axes of one operand may name the same
  // loop dim (a diagonal, as in einsum "ii->").
  std::vector<std::vector<int>> operands;
  // out[axis]: the loop dim of each output axis; all distinct.
  std::vector<int> out;

  static constexpr int kBroadcast = -1;

  Shape out_shape() const;
  // Throws InternalError when the spec is inconsistent with the operand shapes. An operand
  // axis may differ from its loop dim's extent where `constraints` make them equal (a symbol
  // the rule unified with a size: N names a loop dim of extent 5 under N == 5).
  void verify(const std::vector<Shape>& operand_shapes, const std::vector<ShapeConstraint>& constraints = {}) const;
  std::string str() const;  // e.g. "dims[b=10,i=4,j=8,k=5] (b,i,k),(b,k,j)->(b,i,j)"
};

// The letter printed for loop dim d: a-z, then A-Z, then '?'.
char dim_letter(int d);

}  // namespace tcc::ir
