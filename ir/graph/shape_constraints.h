// Equality constraints between symbolic dimensions (docs/design/symbolic-dims.md, step 2): what
// a shape rule could not decide at build time (a symbol where the op needs two sizes equal),
// kept with the node and checked once the inputs give the symbols their values.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace tcc::ir {

class GraphIR;

// a == b must hold; each is a symbol code or a static size, at least one a symbol (the rules
// put a lone symbol first: N == 5). `message` is the ShapeError the rule would have thrown had
// the sizes been known.
struct ShapeConstraint {
  int64_t a = 0, b = 0;
  std::string message;
  bool operator==(const ShapeConstraint&) const = default;
};

// Throws ShapeError(message) for the first constraint violated once symbols take `values`
// (symbol code -> size). A symbol missing from `values` is an InternalError.
void check_constraints(const std::vector<ShapeConstraint>& constraints,
                       const std::unordered_map<int64_t, int64_t>& values);

// The constraints of the nodes reachable from outputs, without duplicates, in node order.
std::vector<ShapeConstraint> collect_constraints(const GraphIR& g, const std::vector<int>& outputs);

// Whether `constraints` make the extents a and b equal, directly or through a chain of them
// (N == M, M == 5 make N equal to 5). Equal extents are.
bool constrained_equal(int64_t a, int64_t b, const std::vector<ShapeConstraint>& constraints);

// "N == 5"
std::string constraint_str(const ShapeConstraint& c);

}  // namespace tcc::ir
