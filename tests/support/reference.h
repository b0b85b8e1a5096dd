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
//
// Element-wise functions, reductions, softmax and bias_add keep the same invariant, |tcc's
// value - the reference's| <= the bound compare() allows, element by element: linear and
// piecewise-linear functions (+ - * neg abs square relu maximum minimum, sum, max, min) carry
// magnitudes as a contraction does; the others (/ pow sqrt rsqrt exp log tanh sigmoid gelu)
// evaluate the function at the ends of each input's error interval, so the bound grows with
// the function's slope there, and add their own rounding (kOwnUlps below). Where that
// interval meets a pole, a branch point or the edge of the dtype's range (log near 0, x / y
// with y near 0, exp near overflow, inf * y with y near 0) the element is "unknown": its
// magnitude is NaN, compare() skips it, and everything computed from it is unknown too.
// NaN and ±inf values are exact: compare() wants the same NaN or the same infinity.
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
  // Float dtypes: the float64 results and their magnitudes (see the file comment). A NaN
  // magnitude marks an element whose value the reference cannot pin down (not compared); a
  // NaN or infinite value has magnitude 0 (it is exact).
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

// ---- Element-wise ops: NumPy's ufuncs, with NumPy broadcasting ----
// `name` is the .tc name: add subtract multiply divide maximum minimum pow (two operands);
// neg abs square sqrt rsqrt exp log tanh sigmoid relu gelu gelu_tanh (one). One dtype;
// integers take add subtract multiply maximum minimum neg abs square relu, wrapping as NumPy's
// (DTypeError for the others); ArgumentError for an unknown name or a wrong operand count;
// ShapeError when the shapes do not broadcast.
RefTensor elementwise(const std::string& name, const std::vector<RefTensor>& operands);
// A rank-0 tensor of `dtype` (a float is rounded to the dtype; an integer dtype takes only a
// whole number in its range: ArgumentError otherwise), exact as an input is.
RefTensor scalar(DType dtype, double value);
// NumPy's sum, mean, max, min over `axis` (None: every axis; an int; a tuple as Axes::list),
// negative axes counting from the end, keepdims leaving each reduced axis as a 1. mean takes
// floats only (DTypeError); max and min of an axis of size 0 are a ShapeError.
RefTensor sum(const RefTensor& x, const Axes& axis = {}, bool keepdims = false);
RefTensor mean(const RefTensor& x, const Axes& axis = {}, bool keepdims = false);
RefTensor max(const RefTensor& x, const Axes& axis = {}, bool keepdims = false);
RefTensor min(const RefTensor& x, const Axes& axis = {}, bool keepdims = false);
// Keras softmax along `axis`: exp(x - max(x)) / sum(exp(x - max(x))), floats only.
RefTensor softmax(const RefTensor& x, int64_t axis = -1);
// Keras bias_add (channels last): the bias is (C,) for x's last dim C, or x's shape without its
// first axis (rank >= 2); ShapeError otherwise.
RefTensor bias_add(const RefTensor& x, const RefTensor& bias);
// NumPy's x.astype(to) for floats to floats, integers to floats and integers to integers (wrap).
// Floats to integers, where an error interval across a whole number leaves the result open,
// are not modelled (integers here are exact): InternalError.
RefTensor cast(const RefTensor& x, DType to);

// Own error of each float element-wise function, in ulps of the dtype relative to its result,
// on top of what its inputs' errors make of it: exact functions (neg abs relu maximum minimum)
// 0; + - * square, / and sqrt one rounding (counted as 1, as a contraction counts a product),
// rsqrt two; the transcendental functions (exp log pow tanh sigmoid gelu gelu_tanh)
// kTranscendentalUlps. gelu and gelu_tanh are measured against |gelu(x)| + |x|: their
// 1 + erf / 1 + tanh cancels for x < 0, leaving an error of a few ulps of |x|.
constexpr double kTranscendentalUlps = 16;

// ---- Comparison ----
struct Comparison {
  bool ok = true;
  std::string message;       // the first few mismatching elements, when !ok
  double worst_ratio = 0;    // max over float elements of |got - want| / allowed error
  int64_t unchecked = 0;     // float elements the reference left unknown (not compared)
  int64_t special = 0;       // float elements compared as NaN or ±inf
};
// Same dtype and shape; integers bit-exact; floats within the per-element bound (NaN and ±inf
// exactly; unknown elements not at all).
Comparison compare(const Tensor& got, const RefTensor& want);

std::string shape_text(const Shape& s);  // "(3,4)", independent of tcc::shape_str

}  // namespace tcc::ref
