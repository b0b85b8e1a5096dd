#include "ir/graph/index_spec.h"

#include <tcc/dim.h>
#include <tcc/error.h>

#include <fmt/format.h>

namespace tcc::ir {

Shape IndexSpec::out_shape() const {
  Shape s;
  for (int d : out) s.push_back(extents.at(d));
  return s;
}

void IndexSpec::verify(const std::vector<Shape>& operand_shapes,
                       const std::vector<ShapeConstraint>& constraints) const {
  auto fail = [&](const std::string& why) { throw InternalError("IndexSpec " + str() + ": " + why); };
  const int D = static_cast<int>(extents.size());
  if (operand_shapes.size() != operands.size()) fail("operand count");
  for (size_t i = 0; i < operands.size(); ++i) {
    if (operands[i].size() != operand_shapes[i].size()) fail(fmt::format("rank of operand {}", i));
    for (size_t a = 0; a < operands[i].size(); ++a) {
      int d = operands[i][a];
      if (d == kBroadcast) {
        if (!constrained_equal(operand_shapes[i][a], 1, constraints))
          fail(fmt::format("operand {} axis {} broadcast but not size 1", i, a));
        continue;
      }
      if (d < 0 || d >= D) fail("loop dim out of range");
      const int64_t size = operand_shapes[i][a];
      if (size != 1 && !constrained_equal(size, extents[d], constraints))
        fail(fmt::format("operand {} axis {} has size {}, loop dim {} has {}", i, a, dim_str(size), d,
                         dim_str(extents[d])));
    }
  }
  std::vector<bool> seen(D, false);
  for (int d : out) {
    if (d < 0 || d >= D) fail("output loop dim out of range");
    if (seen[d]) fail("output loop dim repeated");
    seen[d] = true;
  }
}

char dim_letter(int d) {
  static const char* letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  return d >= 0 && d < 52 ? letters[d] : '?';
}

std::string IndexSpec::str() const {
  std::string s = "dims[";
  for (size_t d = 0; d < extents.size(); ++d)
    s += fmt::format("{}{}={}", d ? "," : "", dim_letter(static_cast<int>(d)), dim_str(extents[d]));
  s += "] ";
  for (size_t i = 0; i < operands.size(); ++i) {
    s += i ? ",(" : "(";
    for (size_t a = 0; a < operands[i].size(); ++a) {
      if (a) s += ",";
      s += operands[i][a] == kBroadcast ? '1' : dim_letter(operands[i][a]);
    }
    s += ")";
  }
  s += "->(";
  for (size_t a = 0; a < out.size(); ++a) {
    if (a) s += ",";
    s += dim_letter(out[a]);
  }
  return s + ")";
}

}  // namespace tcc::ir
