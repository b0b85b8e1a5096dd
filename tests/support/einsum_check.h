// Runs one einsum through tcc and the reference: inputs x0, x1, ... of the given shapes hold
// small exact integers (floats: eighths), so every dtype compares exactly or within the
// reference's float bound.
#pragma once
#include "support/reference.h"

#include <tcc/tcc.h>

#include <functional>
#include <string>
#include <vector>

namespace tcc::ref {

// Deterministic values in [-6, 6] (floats divided by 8), varying with `salt`.
RefTensor small_values(DType dtype, const Shape& shape, int salt);

// Builds einsum(spec, x0, x1, ...), lets `inspect` look at the graph before it runs, evaluates
// it and compares the result with the reference.
Comparison check_einsum(const std::string& spec, const std::vector<Shape>& shapes, DType dtype,
                        const std::function<void(const Graph&, const Value&)>& inspect = nullptr);

}  // namespace tcc::ref
