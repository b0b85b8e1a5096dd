// The shape rules of spec/semantics.md as pure functions: input shapes and attributes in,
// result shape + IndexSpec out, or a ShapeError with the message the spec requires. With
// symbolic dimensions, what only the inputs can decide comes out as constraints.
// No graph, no dtype: the graph wrapper checks dtypes and element-count overflow.
#pragma once
#include <tcc/graph.h>

#include "ir/graph/index_spec.h"
#include "ir/graph/shape_constraints.h"

#include <optional>
#include <string>
#include <vector>

namespace tcc::rules {

struct RuleResult {
  Shape shape;                        // == spec.out_shape()
  ir::IndexSpec spec;
  std::vector<std::string> warnings;  // e.g. the legacy batch_dot axes warning
  // Sizes that must be equal but involve a symbol, to check when the inputs arrive
  // (semantics.md, "Symbolic dimensions"); the shape holds the static size where one was known.
  std::vector<ir::ShapeConstraint> constraints;
};

RuleResult dot_rule(const Shape& x, const Shape& y);
RuleResult batch_dot_rule(const Shape& x, const Shape& y, const Axes& axes, BatchDotConvention convention);
RuleResult matmul_rule(const Shape& a, const Shape& b, MatmulFlags flags);
RuleResult np_matmul_rule(const Shape& a, const Shape& b);
RuleResult tensordot_rule(const Shape& x, const Shape& y, const Axes& axes);
RuleResult einsum_rule(const std::string& spec, const std::vector<Shape>& operands);
RuleResult transpose_rule(const Shape& x, const std::optional<std::vector<int64_t>>& perm);
Shape reshape_rule(const Shape& x, const Shape& target);
// A reduction of x over `axis` (an int, ints, or None: every axis; negative counts from the
// end): the kept axes are the output (and with keepdims each reduced axis as a 1), the reduced
// ones summed dims.
RuleResult reduce_rule(const std::string& op, const Shape& x, const Axes& axis, bool keepdims);
// NumPy broadcasting of element-wise operands (named `names` in messages): right-aligned axes,
// a 1 stretching to the other size; the result has one loop dim per axis and sums none.
RuleResult elementwise_rule(const std::string& op, const std::vector<std::string>& names, const std::vector<Shape>& operands);

// The "Telling the user" warning of semantics.md, for a call that left the convention to its
// default (modern): when both conventions accept it and their result shapes differ, a short
// message with both shapes and how to choose (which also silences it).
std::optional<std::string> batch_dot_convention_warning(const Shape& x, const Shape& y, const Axes& axes);

}  // namespace tcc::rules
