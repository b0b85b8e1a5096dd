// Tensors from and to doubles, for tests that compute their expectations in double.
#pragma once
#include <tcc/tensor.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace tcc::test {

// A tensor of `dtype` holding `values` (one per element, converted as static_cast does).
inline Tensor filled(DType dtype, const Shape& shape, const std::vector<double>& values) {
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.numel(); ++i)
    visit_dtype(dtype, [&](auto zero) { t.data_as<decltype(zero)>()[i] = static_cast<decltype(zero)>(values[i]); });
  return t;
}

// Element `i` (row-major) as a double.
inline double element(const Tensor& t, int64_t i) {
  return visit_dtype(t.dtype(), [&](auto zero) { return static_cast<double>(t.data_as<decltype(zero)>()[i]); });
}

// n values uniform in [lo, hi) from `seed`, rounded to whole numbers for integer dtypes.
inline std::vector<double> random_values(int64_t n, double lo, double hi, uint32_t seed, bool integers) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(n);
  for (double& x : v) x = integers ? std::round(u(rng)) : u(rng);
  return v;
}

}  // namespace tcc::test
