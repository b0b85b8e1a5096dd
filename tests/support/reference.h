// tcc::ref: an independent, deliberately naive reference evaluator of every op of
// spec/semantics.md, written from the spec with plain index loops. It shares no code with tcc's
// shape rules or IR, so that the differential tests compare two independent readings of the spec.
//
// Floats are computed in float64, and next to every value the evaluator carries its
// "magnitude": the same computation applied to the absolute values of the inputs
// (sum over k of |a_k|*|b_k|, recursively through chains of ops). A float result of dtype
// `t` is then accepted when |got - value| <= error_units * eps(t) * magnitude, a per-element
// forward-error bound (see compare()).
// Integers are computed modulo 2^64 in uint64_t and wrapped to the dtype's width at the end,
// which is exactly NumPy's fixed-width wrap-around.
#pragma once
#include <tcc/dtype.h>
#include <tcc/error.h>
#include <tcc/graph.h>  // only the attribute types Axes and MatmulFlags
#include <tcc/tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tcc::ref {

struct RefTensor {
  DType dtype = DType::f32;
  Shape shape;
  // Float dtypes: the float64 results and their magnitudes (see the file comment).
  std::vector<double> values;
  std::vector<double> magnitudes;
  // Float dtypes: allowed error per element, in units of eps(dtype) * magnitude.
  double error_units = 0;
  // Float dtypes: how many leaf products contribute to one element (1 for inputs).
  double terms = 1;
  // Integer dtypes: the values modulo 2^64.
  std::vector<uint64_t> bits;

  int64_t numel() const;
  bool is_float() const { return tcc::is_float(dtype); }
};

// Conversions. from_tensor treats the tensor as an exact input (magnitude = |value|).
RefTensor from_tensor(const Tensor& t);
// Rounds floats to the dtype and wraps integers to its width.
Tensor to_tensor(const RefTensor& r);
RefTensor make_floats(DType dtype, Shape shape, const std::vector<double>& values);
RefTensor make_ints(DType dtype, Shape shape, const std::vector<int64_t>& values);
// Element `flat` as the dtype would hold it: integers wrapped to the width, floats rounded.
double float_at(const RefTensor& r, int64_t flat);
int64_t int_at(const RefTensor& r, int64_t flat);

// ---- The ops. Invalid arguments throw tcc::ShapeError (or ArgumentError for bad flags). ----
RefTensor dot(const RefTensor& x, const RefTensor& y);
RefTensor batch_dot(const RefTensor& x, const RefTensor& y, const Axes& axes = {}, bool legacy = false);
RefTensor matmul(const RefTensor& a, const RefTensor& b, MatmulFlags flags = {});
RefTensor np_matmul(const RefTensor& a, const RefTensor& b);
RefTensor tensordot(const RefTensor& x, const RefTensor& y, const Axes& axes = 2);
RefTensor einsum(const std::string& spec, const std::vector<RefTensor>& operands);
RefTensor transpose(const RefTensor& x, const std::optional<std::vector<int64_t>>& perm = std::nullopt);
RefTensor reshape(const RefTensor& x, const Shape& shape);

// ---- Comparison ----
struct Comparison {
  bool ok = true;
  std::string message;       // the first few mismatching elements, when !ok
  double worst_ratio = 0;    // max over float elements of |got - want| / allowed error
};
// Same dtype and shape; integers bit-exact; floats within the per-element bound.
Comparison compare(const Tensor& got, const RefTensor& want);

std::string shape_text(const Shape& s);  // "(3,4)", independent of tcc::shape_str

}  // namespace tcc::ref
