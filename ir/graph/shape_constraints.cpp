#include "ir/graph/shape_constraints.h"

#include "ir/graph/graph_ir.h"

#include <tcc/dim.h>
#include <tcc/error.h>

#include <fmt/format.h>

#include <algorithm>

namespace tcc::ir {

namespace {

int64_t bound_value(int64_t extent, const std::unordered_map<int64_t, int64_t>& values, const ShapeConstraint& c) {
  if (!is_symbol(extent)) return extent;
  auto it = values.find(extent);
  if (it == values.end())
    throw InternalError(fmt::format("check_constraints: the symbol {} of the constraint {} has no value",
                                    dim_str(extent), constraint_str(c)));
  return it->second;
}

}  // namespace

void check_constraints(const std::vector<ShapeConstraint>& constraints,
                       const std::unordered_map<int64_t, int64_t>& values) {
  for (const ShapeConstraint& c : constraints)
    if (bound_value(c.a, values, c) != bound_value(c.b, values, c)) throw ShapeError(c.message);
}

std::vector<ShapeConstraint> collect_constraints(const GraphIR& g, const std::vector<int>& outputs) {
  std::vector<ShapeConstraint> all;
  for (int id : reachable_nodes(g, outputs))
    for (const ShapeConstraint& c : g.node(id).constraints)
      if (std::find(all.begin(), all.end(), c) == all.end()) all.push_back(c);
  return all;
}

bool constrained_equal(int64_t a, int64_t b, const std::vector<ShapeConstraint>& constraints) {
  // The extents equal to a, grown until no constraint adds one: the lists are a node's few.
  std::vector<int64_t> equal{a};
  auto known = [&](int64_t e) { return std::find(equal.begin(), equal.end(), e) != equal.end(); };
  for (bool grew = true; grew;) {
    grew = false;
    for (const ShapeConstraint& c : constraints)
      if (known(c.a) != known(c.b)) {
        equal.push_back(known(c.a) ? c.b : c.a);
        grew = true;
      }
  }
  return known(b);
}

std::string constraint_str(const ShapeConstraint& c) { return dim_str(c.a) + " == " + dim_str(c.b); }

}  // namespace tcc::ir
