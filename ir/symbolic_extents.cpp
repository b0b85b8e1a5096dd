#include "ir/symbolic_extents.h"

#include <tcc/error.h>

#include <fmt/format.h>

namespace tcc::ir {

int64_t outer_symbol(const Shape& shape, const std::string& what) {
  int64_t symbol = 0;
  bool sized_outside = false;  // an axis longer than 1 before the symbol
  for (int64_t e : shape) {
    if (!is_symbol(e)) {
      sized_outside = sized_outside || (symbol == 0 && e != 1);
      continue;
    }
    if (symbol != 0)
      throw CompileError(fmt::format("{} has the shape {}: only one symbolic dimension per array is supported yet",
                                     what, shape_str(shape)));
    if (sized_outside)
      throw CompileError(fmt::format("{} has the shape {}: a symbolic dimension ({}) is supported only as the "
                                     "outermost axis of an array yet (put it first, e.g. with transpose)",
                                     what, shape_str(shape), dim_str(e)));
    symbol = e;
  }
  return symbol;
}

}  // namespace tcc::ir
