// The reference evaluator (see reference.h). Written straight from spec/semantics.md with plain
// index loops; speed is secondary to being obviously right. Deliberately shares nothing with
// frontend/shape_rules.* or ir/.
#include "support/reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <tuple>
#include <utility>

namespace tcc::ref {
namespace {

int64_t count(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape row_major_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

[[noreturn]] void fail(const std::string& op, const std::string& why) { throw ShapeError(op + ": " + why); }

void check_same_dtype(const std::string& op, const RefTensor& a, const RefTensor& b) {
  if (a.dtype != b.dtype)
    throw DTypeError(op + ": dtypes differ: " + std::string(dtype_name(a.dtype)) + " and " +
                     std::string(dtype_name(b.dtype)));
}

// Advances a row-major multi-index over `sizes`; false after the last one.
bool next_index(std::vector<int64_t>& idx, const Shape& sizes) {
  for (size_t i = sizes.size(); i-- > 0;) {
    if (++idx[i] < sizes[i]) return true;
    idx[i] = 0;
  }
  return false;
}

double eps_of(DType t) {
  return t == DType::f32 ? std::numeric_limits<float>::epsilon() : std::numeric_limits<double>::epsilon();
}
double tiny_of(DType t) { return t == DType::f32 ? std::numeric_limits<float>::min() : std::numeric_limits<double>::min(); }
// For f64 the reference itself rounds at the same eps, so both errors count.
double ref_factor(DType t) { return t == DType::f64 ? 2.0 : 1.0; }

// The error compare() allows an element of `magnitude` in a tensor of `units`.
double allowed_error(DType t, double units, double magnitude) {
  const double u = ref_factor(t) * units + 0.5;  // + the final rounding to the dtype
  return u * eps_of(t) * magnitude + u * tiny_of(t);
}

// How far tcc's value of element i may be from the reference's, as an input to a later op:
// the bound compare() allows, or 0 for an exact element (an input, a NaN or an infinity, a
// sum of no terms).
double distance(const RefTensor& r, int64_t i) {
  const double m = r.magnitudes[i];
  if (r.error_units == 0 || m == 0 || !std::isfinite(r.values[i])) return 0;
  return allowed_error(r.dtype, r.error_units, m);
}

// Whether element i's error interval reaches 0 from a nonzero value (its sign is uncertain).
bool straddles_zero(const RefTensor& r, int64_t i) {
  const double d = distance(r, i);
  return std::isfinite(r.values[i]) && d > 0 && d >= std::fabs(r.values[i]);
}

// The arithmetic of a sum of products, shared by every op: floats in float64 (with magnitudes),
// integers modulo 2^64. Also derives the output's error budget from the inputs'.
class Sums {
 public:
  Sums(std::vector<const RefTensor*> operands, Shape out_shape, int64_t terms_per_element)
      : ops_(std::move(operands)) {
    out_.dtype = ops_[0]->dtype;
    out_.shape = std::move(out_shape);
    const int64_t n = count(out_.shape);
    if (out_.is_float()) {
      out_.values.assign(n, 0.0);
      out_.magnitudes.assign(n, 0.0);
      double units_in = 0, terms_in = 1;
      for (const RefTensor* op : ops_) {
        units_in += op->error_units;
        terms_in *= op->terms;
      }
      const double k = std::max<double>(1.0, static_cast<double>(terms_per_element));
      out_.terms = k * terms_in;
      // First-order forward error: the inputs' relative errors add up, a sum of k terms adds
      // about sqrt(k) roundings (round-to-nearest errors are unbiased), and each of the
      // (operands - 1) multiplications one more. sqrt(total leaf terms) covers an
      // implementation that fuses a chain into one long sum.
      out_.error_units = std::max(units_in + std::sqrt(k), std::sqrt(out_.terms)) +
                         static_cast<double>(ops_.size() - 1);
    } else {
      out_.bits.assign(n, 0);
    }
  }

  void add2(int64_t out, int64_t ia, int64_t ib) {
    const RefTensor& a = *ops_[0];
    const RefTensor& b = *ops_[1];
    if (out_.is_float()) {
      const double v = a.values[ia] * b.values[ib];
      out_.values[out] += v;
      out_.magnitudes[out] += a.magnitudes[ia] * b.magnitudes[ib];
      if (!std::isfinite(v)) check_infinite_term(out, {ia, ib});
    } else {
      out_.bits[out] += a.bits[ia] * b.bits[ib];
    }
  }

  void add(int64_t out, const std::vector<int64_t>& offsets) {
    if (out_.is_float()) {
      double v = 1, m = 1;
      for (size_t o = 0; o < ops_.size(); ++o) {
        v *= ops_[o]->values[offsets[o]];
        m *= ops_[o]->magnitudes[offsets[o]];
      }
      out_.values[out] += v;
      out_.magnitudes[out] += m;
      if (!std::isfinite(v)) check_infinite_term(out, offsets);
    } else {
      uint64_t p = 1;
      for (size_t o = 0; o < ops_.size(); ++o) p *= ops_[o]->bits[offsets[o]];
      out_.bits[out] += p;
    }
  }

  RefTensor finish() { return std::move(out_); }

 private:
  // inf times a factor whose sign is uncertain (its error interval reaches 0) may be -inf or
  // NaN in tcc: the element is unknown.
  void check_infinite_term(int64_t out, const std::vector<int64_t>& offsets) {
    bool infinite = false, uncertain = false;
    for (size_t o = 0; o < ops_.size(); ++o) {
      infinite |= std::isinf(ops_[o]->values[offsets[o]]);
      uncertain |= straddles_zero(*ops_[o], offsets[o]);
    }
    if (infinite && uncertain) out_.magnitudes[out] = NAN;
  }

  std::vector<const RefTensor*> ops_;
  RefTensor out_;
};

// A reshape that keeps the data (row-major), for the ops defined through reshapes.
RefTensor with_shape(RefTensor t, Shape shape) {
  t.shape = std::move(shape);
  return t;
}

// Sum of products over a labelled index space. Axis `a` of operand `o` is indexed by label
// labels[o][a]; an axis of size 1 under a longer label is read at index 0 (broadcast); two
// axes of one operand with the same label walk the diagonal. Labels in `out_labels` index the
// output in that order; every other label is summed. `out_shape` must hold as many elements
// as the output labels span (it may add size-1 dims).
RefTensor sum_over_labels(const std::vector<const RefTensor*>& ops, const std::vector<std::vector<int>>& labels,
                          const std::vector<int64_t>& label_size, const std::vector<int>& out_labels,
                          Shape out_shape) {
  const size_t n_labels = label_size.size();
  // label_stride[o][l]: how far operand o's flat offset moves when label l moves by one.
  std::vector<std::vector<int64_t>> label_stride(ops.size(), std::vector<int64_t>(n_labels, 0));
  for (size_t o = 0; o < ops.size(); ++o) {
    const Shape st = row_major_strides(ops[o]->shape);
    for (size_t a = 0; a < labels[o].size(); ++a) {
      const int l = labels[o][a];
      if (ops[o]->shape[a] == 1 && label_size[l] != 1) continue;  // broadcast: stays at 0
      label_stride[o][l] += st[a];
    }
  }
  std::vector<int> summed;
  for (size_t l = 0; l < n_labels; ++l)
    if (std::find(out_labels.begin(), out_labels.end(), static_cast<int>(l)) == out_labels.end())
      summed.push_back(static_cast<int>(l));
  Shape out_sizes, sum_sizes;
  for (int l : out_labels) out_sizes.push_back(label_size[l]);
  for (int l : summed) sum_sizes.push_back(label_size[l]);
  if (count(out_sizes) != count(out_shape)) throw InternalError("reference: bad output shape");

  Sums sums(ops, std::move(out_shape), count(sum_sizes));
  if (count(out_sizes) == 0 || count(sum_sizes) == 0) return sums.finish();

  std::vector<int64_t> out_idx(out_sizes.size(), 0), offsets(ops.size());
  int64_t flat = 0;
  do {
    std::vector<int64_t> base(ops.size(), 0);
    for (size_t o = 0; o < ops.size(); ++o)
      for (size_t d = 0; d < out_labels.size(); ++d) base[o] += out_idx[d] * label_stride[o][out_labels[d]];
    std::vector<int64_t> sum_idx(sum_sizes.size(), 0);
    do {
      for (size_t o = 0; o < ops.size(); ++o) {
        offsets[o] = base[o];
        for (size_t d = 0; d < summed.size(); ++d) offsets[o] += sum_idx[d] * label_stride[o][summed[d]];
      }
      sums.add(flat, offsets);
    } while (next_index(sum_idx, sum_sizes));
    ++flat;
  } while (next_index(out_idx, out_sizes));
  return sums.finish();
}

int64_t normalise_axis(const std::string& op, int64_t axis, int64_t rank) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    fail(op, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return a;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string shape_text(const Shape& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ",";
    r += std::to_string(s[i]);
  }
  if (s.size() == 1) r += ",";
  return r + ")";
}

int64_t RefTensor::numel() const { return count(shape); }

RefTensor from_tensor(const Tensor& t) {
  RefTensor r;
  r.dtype = t.dtype();
  r.shape = t.shape();
  const int64_t n = t.numel();
  switch (t.dtype()) {
    case DType::f32: {
      const float* p = t.data_as<float>();
      r.values.assign(p, p + n);
      break;
    }
    case DType::f64: {
      const double* p = t.data_as<double>();
      r.values.assign(p, p + n);
      break;
    }
    case DType::i32: {
      const int32_t* p = t.data_as<int32_t>();
      for (int64_t i = 0; i < n; ++i) r.bits.push_back(static_cast<uint64_t>(static_cast<int64_t>(p[i])));
      break;
    }
    case DType::i64: {
      const int64_t* p = t.data_as<int64_t>();
      for (int64_t i = 0; i < n; ++i) r.bits.push_back(static_cast<uint64_t>(p[i]));
      break;
    }
  }
  for (double v : r.values) r.magnitudes.push_back(std::isfinite(v) ? std::fabs(v) : 0.0);  // NaN, inf: exact
  return r;
}

double float_at(const RefTensor& r, int64_t flat) {
  if (r.dtype == DType::f32) return static_cast<double>(static_cast<float>(r.values[flat]));
  if (r.dtype == DType::f64) return r.values[flat];
  return static_cast<double>(int_at(r, flat));
}

int64_t int_at(const RefTensor& r, int64_t flat) {
  if (r.dtype == DType::i32) return static_cast<int32_t>(static_cast<uint32_t>(r.bits[flat]));
  if (r.dtype == DType::i64) return static_cast<int64_t>(r.bits[flat]);
  return static_cast<int64_t>(r.values[flat]);
}

Tensor to_tensor(const RefTensor& r) {
  Tensor t(r.dtype, r.shape);
  const int64_t n = r.numel();
  for (int64_t i = 0; i < n; ++i) {
    switch (r.dtype) {
      case DType::f32: t.data_as<float>()[i] = static_cast<float>(r.values[i]); break;
      case DType::f64: t.data_as<double>()[i] = r.values[i]; break;
      case DType::i32: t.data_as<int32_t>()[i] = static_cast<int32_t>(int_at(r, i)); break;
      case DType::i64: t.data_as<int64_t>()[i] = int_at(r, i); break;
    }
  }
  return t;
}

RefTensor make_floats(DType dtype, Shape shape, const std::vector<double>& values) {
  if (!is_float(dtype)) throw ArgumentError("make_floats: not a float dtype");
  if (static_cast<int64_t>(values.size()) != count(shape)) throw ArgumentError("make_floats: wrong count");
  RefTensor r;
  r.dtype = dtype;
  r.shape = std::move(shape);
  for (double v : values) {
    const double stored = dtype == DType::f32 ? static_cast<double>(static_cast<float>(v)) : v;
    r.values.push_back(stored);
    r.magnitudes.push_back(std::isfinite(stored) ? std::fabs(stored) : 0.0);
  }
  return r;
}

RefTensor make_ints(DType dtype, Shape shape, const std::vector<int64_t>& values) {
  if (is_float(dtype)) throw ArgumentError("make_ints: not an integer dtype");
  if (static_cast<int64_t>(values.size()) != count(shape)) throw ArgumentError("make_ints: wrong count");
  RefTensor r;
  r.dtype = dtype;
  r.shape = std::move(shape);
  for (int64_t v : values) r.bits.push_back(static_cast<uint64_t>(v));
  return r;
}

// ---- dot: Keras K.dot = NumPy dot ----------------------------------------------------------

RefTensor dot(const RefTensor& x, const RefTensor& y) {
  check_same_dtype("dot", x, y);
  const size_t rx = x.shape.size(), ry = y.shape.size();
  if (rx == 0 || ry == 0) {
    // Elementwise product with a scalar.
    const Shape out = rx == 0 ? y.shape : x.shape;
    Sums sums({&x, &y}, out, 1);
    const int64_t n = count(out);
    for (int64_t i = 0; i < n; ++i) sums.add2(i, rx == 0 ? 0 : i, ry == 0 ? 0 : i);
    return sums.finish();
  }
  // x is viewed as (P, R) and y as (Q, R, S); the result is (P, Q, S) in row-major order.
  const int64_t r_size = x.shape.back();
  const size_t y_axis = ry == 1 ? 0 : ry - 2;
  if (r_size != y.shape[y_axis])
    fail("dot", "contraction dims must be equal, but are " + std::to_string(r_size) + " and " +
                    std::to_string(y.shape[y_axis]) + "; x: " + shape_text(x.shape) + ", y: " + shape_text(y.shape));
  Shape out(x.shape.begin(), x.shape.end() - 1);
  const int64_t p_size = count(out);
  int64_t q_size = 1, s_size = 1;
  if (ry >= 2) {
    for (size_t i = 0; i + 2 < ry; ++i) {
      out.push_back(y.shape[i]);
      q_size *= y.shape[i];
    }
    s_size = y.shape.back();
    out.push_back(s_size);
  }
  Sums sums({&x, &y}, out, r_size);
  for (int64_t p = 0; p < p_size; ++p)
    for (int64_t q = 0; q < q_size; ++q)
      for (int64_t s = 0; s < s_size; ++s)
        for (int64_t r = 0; r < r_size; ++r)
          sums.add2((p * q_size + q) * s_size + s, p * r_size + r, (q * r_size + r) * s_size + s);
  return sums.finish();
}

// ---- matmul: tf.matmul ---------------------------------------------------------------------

RefTensor matmul(const RefTensor& a, const RefTensor& b, MatmulFlags flags) {
  check_same_dtype("matmul", a, b);
  if ((flags.transpose_a && flags.adjoint_a) || (flags.transpose_b && flags.adjoint_b))
    throw ArgumentError("matmul: transpose and adjoint are mutually exclusive");
  const size_t ra = a.shape.size(), rb = b.shape.size();
  if (ra < 2 || rb < 2) fail("matmul", "both operands need rank >= 2");
  const bool ta = flags.transpose_a || flags.adjoint_a;
  const bool tb = flags.transpose_b || flags.adjoint_b;
  const int64_t a_rows = a.shape[ra - 2], a_cols = a.shape[ra - 1];
  const int64_t b_rows = b.shape[rb - 2], b_cols = b.shape[rb - 1];
  const int64_t rows = ta ? a_cols : a_rows, inner_a = ta ? a_rows : a_cols;
  const int64_t cols = tb ? b_rows : b_cols, inner_b = tb ? b_cols : b_rows;
  if (inner_a != inner_b)
    fail("matmul", "inner dims differ: " + std::to_string(inner_a) + " vs " + std::to_string(inner_b));

  // Batch dims broadcast right-aligned; a missing or size-1 dim reads index 0.
  const size_t nb = std::max(ra, rb) - 2, off_a = nb - (ra - 2), off_b = nb - (rb - 2);
  const Shape sa = row_major_strides(a.shape), sb = row_major_strides(b.shape);
  Shape batch(nb);
  std::vector<int64_t> a_bstride(nb, 0), b_bstride(nb, 0);
  for (size_t i = 0; i < nb; ++i) {
    const int64_t da = i >= off_a ? a.shape[i - off_a] : 1;
    const int64_t db = i >= off_b ? b.shape[i - off_b] : 1;
    if (da != db && da != 1 && db != 1)
      fail("matmul", "batch dims do not broadcast: " + std::to_string(da) + " vs " + std::to_string(db));
    batch[i] = da == 1 ? db : da;
    if (i >= off_a && da != 1) a_bstride[i] = sa[i - off_a];
    if (i >= off_b && db != 1) b_bstride[i] = sb[i - off_b];
  }
  Shape out = batch;
  out.push_back(rows);
  out.push_back(cols);
  Sums sums({&a, &b}, out, inner_a);
  if (count(out) == 0) return sums.finish();

  std::vector<int64_t> bi(nb, 0);
  int64_t batch_flat = 0;
  do {
    int64_t base_a = 0, base_b = 0;
    for (size_t i = 0; i < nb; ++i) {
      base_a += bi[i] * a_bstride[i];
      base_b += bi[i] * b_bstride[i];
    }
    const int64_t base_out = batch_flat * rows * cols;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        for (int64_t k = 0; k < inner_a; ++k) {
          const int64_t ia = base_a + (ta ? k * a_cols + i : i * a_cols + k);
          const int64_t ib = base_b + (tb ? j * b_cols + k : k * b_cols + j);
          sums.add2(base_out + i * cols + j, ia, ib);
        }
    ++batch_flat;
  } while (next_index(bi, batch));
  return sums.finish();
}

// ---- a @ b: NumPy matmul with 1-D promotion -------------------------------------------------

RefTensor np_matmul(const RefTensor& a, const RefTensor& b) {
  check_same_dtype("@", a, b);
  if (a.shape.empty() || b.shape.empty()) fail("@", "0-D operands are not allowed");
  const bool a_vec = a.shape.size() == 1, b_vec = b.shape.size() == 1;
  const RefTensor ap = a_vec ? with_shape(a, {1, a.shape[0]}) : a;
  const RefTensor bp = b_vec ? with_shape(b, {b.shape[0], 1}) : b;
  RefTensor r = matmul(ap, bp);
  Shape out = r.shape;
  // Drop the promoted dims (size 1, so the row-major data is unchanged).
  if (b_vec) out.erase(out.end() - 1);
  if (a_vec) out.erase(out.end() - (b_vec ? 1 : 2));
  return with_shape(std::move(r), out);
}

// ---- tensordot: NumPy tensordot -------------------------------------------------------------

RefTensor tensordot(const RefTensor& x, const RefTensor& y, const Axes& axes) {
  check_same_dtype("tensordot", x, y);
  const int64_t rx = static_cast<int64_t>(x.shape.size()), ry = static_cast<int64_t>(y.shape.size());
  std::vector<int64_t> ax, ay;
  if (axes.is_int()) {
    const int64_t n = axes.value();
    if (n < 0 || n > rx || n > ry) fail("tensordot", "axes=" + std::to_string(n) + " out of range");
    for (int64_t i = 0; i < n; ++i) {
      ax.push_back(rx - n + i);
      ay.push_back(i);
    }
  } else if (axes.is_list() && axes.items().size() == 2) {
    auto read = [](const Axes& a) {
      std::vector<int64_t> v;
      if (a.is_int()) {
        v.push_back(a.value());
      } else if (a.is_list()) {
        for (const Axes& item : a.items()) {
          if (!item.is_int()) fail("tensordot", "axes lists must hold ints");
          v.push_back(item.value());
        }
      } else {
        fail("tensordot", "bad axes");
      }
      return v;
    };
    ax = read(axes.items()[0]);
    ay = read(axes.items()[1]);
  } else {
    fail("tensordot", "axes must be an int or a pair");
  }
  if (ax.size() != ay.size()) fail("tensordot", "axes lists differ in length");
  std::vector<int> lx(rx, -1), ly(ry, -1);
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < ax.size(); ++i) {
    const int64_t a = normalise_axis("tensordot", ax[i], rx), b = normalise_axis("tensordot", ay[i], ry);
    if (lx[a] >= 0 || ly[b] >= 0) fail("tensordot", "repeated axis");
    if (x.shape[a] != y.shape[b])
      fail("tensordot", "sizes differ: " + std::to_string(x.shape[a]) + " vs " + std::to_string(y.shape[b]));
    lx[a] = ly[b] = static_cast<int>(sizes.size());
    sizes.push_back(x.shape[a]);
  }
  std::vector<int> out_labels;
  Shape out;
  // The free dims of x, then of y, become the output's, in order.
  auto keep_free = [&](std::vector<int>& labels, const Shape& shape) {
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] < 0) {
        labels[i] = static_cast<int>(sizes.size());
        out_labels.push_back(labels[i]);
        sizes.push_back(shape[i]);
        out.push_back(shape[i]);
      }
  };
  keep_free(lx, x.shape);
  keep_free(ly, y.shape);
  return sum_over_labels({&x, &y}, {lx, ly}, sizes, out_labels, out);
}

// ---- batch_dot: Keras K.batch_dot ------------------------------------------------------------

namespace {

// The (a0, a1) pair of an `axes` argument before normalisation; nullopt for None.
std::optional<std::pair<int64_t, int64_t>> batch_axes(const Axes& axes) {
  if (axes.is_none()) return std::nullopt;
  if (axes.is_int()) return std::make_pair(axes.value(), axes.value());
  if (axes.items().size() != 2) fail("batch_dot", "axes must be None, an int or a pair");
  for (const Axes& item : axes.items())
    if (!item.is_int()) fail("batch_dot", "multiple target dimensions are not supported");
  return std::make_pair(axes.items()[0].value(), axes.items()[1].value());
}

RefTensor batch_dot_modern(const RefTensor& x, const RefTensor& y, const Axes& axes) {
  const int64_t rx = static_cast<int64_t>(x.shape.size()), ry = static_cast<int64_t>(y.shape.size());
  if (rx < 2 || ry < 2) fail("batch_dot", "both operands need rank >= 2");
  if (x.shape[0] != y.shape[0])
    fail("batch_dot", "batch sizes differ: " + std::to_string(x.shape[0]) + " vs " + std::to_string(y.shape[0]));
  auto given = batch_axes(axes);
  int64_t a0, a1;
  if (given) {
    a0 = given->first < 0 ? given->first + rx : given->first;
    a1 = given->second < 0 ? given->second + ry : given->second;
  } else {
    a0 = rx - 1;
    a1 = ry == 2 ? ry - 1 : ry - 2;
  }
  if (a0 == 0 || a1 == 0) fail("batch_dot", "cannot contract the batch axis");
  if (a0 < 1 || a0 >= rx || a1 < 1 || a1 >= ry) fail("batch_dot", "axes out of range");
  if (x.shape[a0] != y.shape[a1])
    fail("batch_dot", "contracted sizes differ: " + std::to_string(x.shape[a0]) + " vs " + std::to_string(y.shape[a1]));
  // Labels: 0 the batch, 1 the contracted pair, then x's and y's free axes.
  std::vector<int64_t> sizes = {x.shape[0], x.shape[a0]};
  std::vector<int> lx(rx), ly(ry), out_labels = {0};
  Shape out = {x.shape[0]};
  lx[0] = ly[0] = 0;
  lx[a0] = ly[a1] = 1;
  for (int64_t i = 1; i < rx; ++i)
    if (i != a0) {
      lx[i] = static_cast<int>(sizes.size());
      out_labels.push_back(lx[i]);
      sizes.push_back(x.shape[i]);
      out.push_back(x.shape[i]);
    }
  for (int64_t i = 1; i < ry; ++i)
    if (i != a1) {
      ly[i] = static_cast<int>(sizes.size());
      out_labels.push_back(ly[i]);
      sizes.push_back(y.shape[i]);
      out.push_back(y.shape[i]);
    }
  if (out.size() == 1) out.push_back(1);
  return sum_over_labels({&x, &y}, {lx, ly}, sizes, out_labels, out);
}

// Keras <= 2.2.4, step by step as semantics.md lists it.
RefTensor batch_dot_legacy(const RefTensor& x, const RefTensor& y, const Axes& axes) {
  const int64_t rx = static_cast<int64_t>(x.shape.size()), ry = static_cast<int64_t>(y.shape.size());
  // 1. axes, from the original ranks.
  auto given = batch_axes(axes);
  int64_t a0 = given ? given->first : rx - 1;
  int64_t a1 = given ? given->second : ry - 2;
  if (a0 < 0) a0 += rx;
  if (a1 < 0) a1 += ry;
  // 2. pad the lower-rank operand with trailing 1-dims.
  const int64_t r = std::max(rx, ry);
  Shape xs = x.shape, ys = y.shape;
  xs.resize(r, 1);
  ys.resize(r, 1);
  const RefTensor xp = with_shape(x, xs), yp = with_shape(y, ys);
  RefTensor out;
  if (r == 2) {
    // 3. sum(x * y, axis=a0) with broadcasting.
    if (a0 != a1) fail("batch_dot", "legacy rank-2 case needs equal axes");
    if (a0 < 0 || a0 >= 2) fail("batch_dot", "axis out of range");
    std::vector<int64_t> sizes(2);
    for (int i = 0; i < 2; ++i) {
      if (xs[i] != ys[i] && xs[i] != 1 && ys[i] != 1)
        fail("batch_dot", "shapes do not broadcast: " + shape_text(xs) + " vs " + shape_text(ys));
      sizes[i] = xs[i] == 1 ? ys[i] : xs[i];
    }
    const int kept = a0 == 0 ? 1 : 0;
    out = sum_over_labels({&xp, &yp}, {{0, 1}, {0, 1}}, sizes, {kept}, {sizes[kept]});
  } else {
    if (r < 2) fail("batch_dot", "operands need rank >= 2 after padding");
    // 4. matmul with the adjoint flags; batch dims must be identical.
    if (!std::equal(xs.begin(), xs.end() - 2, ys.begin()))
      fail("batch_dot", "legacy batch dims differ: " + shape_text(xs) + " vs " + shape_text(ys));
    MatmulFlags flags;
    flags.adjoint_a = a0 != r - 1;
    flags.adjoint_b = a1 == r - 1;
    out = matmul(xp, yp, flags);
  }
  // 5. squeeze the padded dims, then make a rank-1 result (n, 1).
  const int64_t d = std::abs(rx - ry);
  if (d > 0) {
    const int64_t i = rx > ry ? rx + ry - 3 : rx - 1;
    Shape s = out.shape;
    if (i < 0 || i + d > static_cast<int64_t>(s.size())) fail("batch_dot", "legacy squeeze out of range");
    for (int64_t k = i; k < i + d; ++k)
      if (s[k] != 1) fail("batch_dot", "legacy squeeze of a dim that is not 1");
    s.erase(s.begin() + i, s.begin() + i + d);
    out = with_shape(std::move(out), s);
  }
  if (out.shape.size() == 1) {
    // The shape first: a by-value parameter may be moved into before the other argument is read.
    Shape column{out.shape[0], 1};
    out = with_shape(std::move(out), std::move(column));
  }
  return out;
}

}  // namespace

RefTensor batch_dot(const RefTensor& x, const RefTensor& y, const Axes& axes, bool legacy) {
  check_same_dtype("batch_dot", x, y);
  return legacy ? batch_dot_legacy(x, y, axes) : batch_dot_modern(x, y, axes);
}

// ---- einsum ------------------------------------------------------------------------------------

namespace {

constexpr char kEllipsis = '.';

// A term as a list of letters, with kEllipsis standing for "...".
std::vector<char> parse_term(const std::string& text) {
  std::vector<char> term;
  bool seen_ellipsis = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      if (text.compare(i, 3, "...") != 0) fail("einsum", "'.' outside of '...'");
      if (seen_ellipsis) fail("einsum", "more than one '...' in a term");
      seen_ellipsis = true;
      term.push_back(kEllipsis);
      i += 2;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      term.push_back(c);
    } else {
      fail("einsum", std::string("invalid character '") + c + "'");
    }
  }
  return term;
}

}  // namespace

RefTensor einsum(const std::string& spec_with_spaces, const std::vector<RefTensor>& operands) {
  if (operands.empty()) fail("einsum", "needs at least one operand");
  for (const RefTensor& op : operands) check_same_dtype("einsum", operands[0], op);
  std::string spec;
  for (char c : spec_with_spaces)
    if (c != ' ') spec += c;
  const size_t arrow = spec.find("->");
  const bool explicit_out = arrow != std::string::npos;
  const std::string lhs = explicit_out ? spec.substr(0, arrow) : spec;
  std::vector<std::vector<char>> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(parse_term(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != operands.size())
    fail("einsum", std::to_string(terms.size()) + " terms for " + std::to_string(operands.size()) + " operands");

  // How many dims each operand's "..." covers; the broadcast ellipsis has the most.
  std::vector<int64_t> ellipsis_dims(operands.size(), 0);
  int64_t n_ellipsis = 0;
  for (size_t o = 0; o < operands.size(); ++o) {
    const int64_t letters = std::count_if(terms[o].begin(), terms[o].end(), [](char c) { return c != kEllipsis; });
    const bool has_ellipsis = letters != static_cast<int64_t>(terms[o].size());
    const int64_t rank = static_cast<int64_t>(operands[o].shape.size());
    if (has_ellipsis ? letters > rank : letters != rank)
      fail("einsum", "term " + std::to_string(o) + " does not match rank " + std::to_string(rank));
    ellipsis_dims[o] = has_ellipsis ? rank - letters : 0;
    n_ellipsis = std::max(n_ellipsis, ellipsis_dims[o]);
  }

  // Labels 0..n_ellipsis-1 are the broadcast ellipsis dims; letters follow.
  std::vector<int64_t> sizes(n_ellipsis, 1);
  std::map<char, int> letter_label;
  std::map<char, int> uses;
  auto merge = [&](int label, int64_t size) {
    if (sizes[label] == size || size == 1) return;
    if (sizes[label] != 1) fail("einsum", "sizes " + std::to_string(sizes[label]) + " and " + std::to_string(size) + " disagree");
    sizes[label] = size;
  };
  std::vector<std::vector<int>> labels(operands.size());
  for (size_t o = 0; o < operands.size(); ++o) {
    std::map<char, int64_t> size_in_term;
    size_t axis = 0;
    for (char c : terms[o]) {
      if (c == kEllipsis) {
        for (int64_t j = 0; j < ellipsis_dims[o]; ++j) {
          const int label = static_cast<int>(n_ellipsis - ellipsis_dims[o] + j);
          labels[o].push_back(label);
          merge(label, operands[o].shape[axis++]);
        }
        continue;
      }
      const int64_t size = operands[o].shape[axis++];
      if (size_in_term.count(c) && size_in_term[c] != size)
        fail("einsum", std::string("repeated label '") + c + "' has different sizes within one operand");
      size_in_term[c] = size;
      if (!letter_label.count(c)) {
        letter_label[c] = static_cast<int>(sizes.size());
        sizes.push_back(size);
      }
      labels[o].push_back(letter_label[c]);
      merge(letter_label[c], size);
      ++uses[c];
    }
  }

  std::vector<int> out_labels;
  if (explicit_out) {
    const std::vector<char> out_term = parse_term(spec.substr(arrow + 2));
    bool out_has_ellipsis = false;
    for (char c : out_term) {
      if (c == kEllipsis) {
        out_has_ellipsis = true;
        for (int64_t j = 0; j < n_ellipsis; ++j) out_labels.push_back(static_cast<int>(j));
        continue;
      }
      if (!letter_label.count(c)) fail("einsum", std::string("output label '") + c + "' is in no input");
      if (std::find(out_labels.begin(), out_labels.end(), letter_label[c]) != out_labels.end())
        fail("einsum", std::string("output label '") + c + "' repeated");
      out_labels.push_back(letter_label[c]);
    }
    if (n_ellipsis > 0 && !out_has_ellipsis) fail("einsum", "broadcast '...' dims missing from the output");
  } else {
    for (int64_t j = 0; j < n_ellipsis; ++j) out_labels.push_back(static_cast<int>(j));
    for (const auto& [c, n] : uses)  // std::map orders by ASCII: uppercase before lowercase
      if (n == 1) out_labels.push_back(letter_label[c]);
  }
  Shape out;
  for (int l : out_labels) out.push_back(sizes[l]);
  std::vector<const RefTensor*> ptrs;
  for (const RefTensor& op : operands) ptrs.push_back(&op);
  return sum_over_labels(ptrs, labels, sizes, out_labels, out);
}

// ---- transpose and reshape --------------------------------------------------------------------

RefTensor transpose(const RefTensor& x, const std::optional<std::vector<int64_t>>& perm_arg) {
  const int64_t r = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> perm;
  if (perm_arg) {
    if (static_cast<int64_t>(perm_arg->size()) != r) fail("transpose", "perm has the wrong length");
    std::vector<bool> seen(r, false);
    for (int64_t p : *perm_arg) {
      const int64_t a = normalise_axis("transpose", p, r);
      if (seen[a]) fail("transpose", "repeated axis in perm");
      seen[a] = true;
      perm.push_back(a);
    }
  } else {
    for (int64_t i = r - 1; i >= 0; --i) perm.push_back(i);
  }
  RefTensor out = x;
  for (int64_t i = 0; i < r; ++i) out.shape[i] = x.shape[perm[i]];
  const Shape in_strides = row_major_strides(x.shape);
  const int64_t n = count(out.shape);
  if (n == 0) return out;
  std::vector<int64_t> idx(r, 0);
  int64_t flat = 0;
  do {
    int64_t src = 0;
    for (int64_t i = 0; i < r; ++i) src += idx[i] * in_strides[perm[i]];
    if (x.is_float()) {
      out.values[flat] = x.values[src];
      out.magnitudes[flat] = x.magnitudes[src];
    } else {
      out.bits[flat] = x.bits[src];
    }
    ++flat;
  } while (next_index(idx, out.shape));
  return out;
}

RefTensor reshape(const RefTensor& x, const Shape& shape) {
  Shape out = shape;
  int64_t inferred = -1, known = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (inferred >= 0) fail("reshape", "more than one -1");
      inferred = static_cast<int64_t>(i);
    } else if (out[i] < 0) {
      fail("reshape", "negative size");
    } else {
      known *= out[i];
    }
  }
  if (inferred >= 0) {
    if (known == 0 || x.numel() % known != 0) fail("reshape", "cannot infer the -1 entry");
    out[inferred] = x.numel() / known;
  }
  if (count(out) != x.numel())
    fail("reshape", "cannot reshape " + shape_text(x.shape) + " into " + shape_text(shape));
  return with_shape(x, out);
}

// ---- element-wise ops ----------------------------------------------------------------------------

namespace {

enum class Fn {
  add, subtract, multiply, divide, maximum, minimum, pow,
  neg, abs, square, sqrt, rsqrt, exp, log, tanh, sigmoid, relu, gelu, gelu_tanh
};

// How an element's error is carried to the result (reference.h):
//   exact     the result is one of the inputs, or its negation: the input's error, no rounding;
//   linear    + - * square: magnitudes add (+ -) or multiply (*), as in a contraction;
//   interval  the function at the ends of each input's error interval, plus its own error.
enum class Carry { exact, linear, interval };

struct FnDef {
  Fn fn;
  const char* name;
  int arity;
  bool integers;  // takes integer tensors
  Carry carry;
  double own_ulps;
};

constexpr double kT = kTranscendentalUlps;
const FnDef kFns[] = {
    {Fn::add, "add", 2, true, Carry::linear, 1},
    {Fn::subtract, "subtract", 2, true, Carry::linear, 1},
    {Fn::multiply, "multiply", 2, true, Carry::linear, 1},
    {Fn::divide, "divide", 2, false, Carry::interval, 1},
    {Fn::maximum, "maximum", 2, true, Carry::exact, 0},
    {Fn::minimum, "minimum", 2, true, Carry::exact, 0},
    {Fn::pow, "pow", 2, false, Carry::interval, kT},
    {Fn::neg, "neg", 1, true, Carry::exact, 0},
    {Fn::abs, "abs", 1, true, Carry::exact, 0},
    {Fn::square, "square", 1, true, Carry::linear, 1},
    {Fn::sqrt, "sqrt", 1, false, Carry::interval, 1},
    {Fn::rsqrt, "rsqrt", 1, false, Carry::interval, 2},
    {Fn::exp, "exp", 1, false, Carry::interval, kT},
    {Fn::log, "log", 1, false, Carry::interval, kT},
    {Fn::tanh, "tanh", 1, false, Carry::interval, kT},
    {Fn::sigmoid, "sigmoid", 1, false, Carry::interval, kT},
    {Fn::relu, "relu", 1, true, Carry::exact, 0},
    {Fn::gelu, "gelu", 1, false, Carry::interval, kT},
    {Fn::gelu_tanh, "gelu_tanh", 1, false, Carry::interval, kT},
};

const FnDef& find_fn(const std::string& name) {
  for (const FnDef& f : kFns)
    if (name == f.name) return f;
  throw ArgumentError("reference: unknown element-wise function '" + name + "'");
}

// NumPy's maximum and minimum: NaN if either is; a tie of two zeros as IEEE 754-2019's
// maximum and minimum order them (-0 < +0), which NumPy leaves unspecified.
double nan_max(double x, double y) {
  if (std::isnan(x) || std::isnan(y)) return NAN;
  if (x == y) return std::signbit(x) ? y : x;
  return x > y ? x : y;
}
double nan_min(double x, double y) {
  if (std::isnan(x) || std::isnan(y)) return NAN;
  if (x == y) return std::signbit(x) ? x : y;
  return x < y ? x : y;
}

// What each function means on float64, from NumPy's and Keras' definitions.
double float_meaning(Fn f, double x, double y) {
  switch (f) {
    case Fn::add: return x + y;
    case Fn::subtract: return x - y;
    case Fn::multiply: return x * y;
    case Fn::divide: return x / y;
    case Fn::maximum: return nan_max(x, y);
    case Fn::minimum: return nan_min(x, y);
    case Fn::pow: return std::pow(x, y);  // C99's pow, as NumPy's power: pow(x, 0) = 1, pow(1, y) = 1
    case Fn::neg: return -x;
    case Fn::abs: return std::fabs(x);
    case Fn::square: return x * x;
    case Fn::sqrt: return std::sqrt(x);
    case Fn::rsqrt: return 1.0 / std::sqrt(x);
    case Fn::exp: return std::exp(x);
    case Fn::log: return std::log(x);
    case Fn::tanh: return std::tanh(x);
    case Fn::sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Fn::relu: return x < 0 ? 0.0 : x;  // max(x, 0) that keeps a NaN (and a -0)
    case Fn::gelu: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case Fn::gelu_tanh: {
      const double c = std::sqrt(2.0 / 3.14159265358979323846);
      return 0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x)));
    }
  }
  throw InternalError("reference: no float meaning");
}

int64_t wrap_to(DType t, uint64_t bits) {
  return t == DType::i32 ? static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(bits)))
                         : static_cast<int64_t>(bits);
}

// Two's complement at the dtype's width (x and y already wrapped to it).
uint64_t int_meaning(Fn f, DType t, int64_t x, int64_t y) {
  const uint64_t ux = static_cast<uint64_t>(x), uy = static_cast<uint64_t>(y);
  uint64_t r = 0;
  switch (f) {
    case Fn::add: r = ux + uy; break;
    case Fn::subtract: r = ux - uy; break;
    case Fn::multiply: r = ux * uy; break;
    case Fn::maximum: r = static_cast<uint64_t>(x > y ? x : y); break;
    case Fn::minimum: r = static_cast<uint64_t>(x < y ? x : y); break;
    case Fn::neg: r = 0 - ux; break;
    case Fn::abs: r = x < 0 ? 0 - ux : ux; break;  // abs of the least value is itself
    case Fn::square: r = ux * ux; break;
    case Fn::relu: r = x < 0 ? 0 : ux; break;
    default: throw InternalError("reference: no integer meaning");
  }
  return static_cast<uint64_t>(wrap_to(t, r));
}

// A float64 result as the dtype holds it, as far as its range goes: inf past the largest
// finite value (after rounding).
double to_range(DType t, double v) {
  if (t == DType::f32 && std::isfinite(v) && std::isinf(static_cast<float>(v))) return std::copysign(INFINITY, v);
  return v;
}

double overflow_threshold(DType t) {
  // Results from here on round to inf: FLT_MAX + half an ulp; for f64 the largest double.
  return t == DType::f32 ? 3.4028235677973366e38 : std::numeric_limits<double>::max();
}

// An input element: value, magnitude (NaN: unknown) and distance (how far tcc's may be).
// A zero computed by an op (not an input's, or a sign change of one) may be +0 or -0: a sum of
// products does not say which, and 1 / x, rsqrt and pow tell them apart.
struct In {
  double v = 0, mag = 0, d = 0;
  bool either_zero = false;
  bool unknown() const { return std::isnan(mag); }
  bool reaches_zero() const { return v - d <= 0 && v + d >= 0; }
};

In element_of(const RefTensor& r, int64_t i) {
  return {r.values[i], r.magnitudes[i], distance(r, i), r.values[i] == 0 && r.error_units > 0};
}

// One element by carrying its inputs' error intervals through the function (Carry::interval).
// Returns {value, magnitude} with the magnitude scaled to the tensor's `units`, NaN if unknown.
std::pair<double, double> interval_element(const FnDef& f, DType t, double units, const In& x, const In& y) {
  auto eval = [&](double a, double b) { return to_range(t, float_meaning(f.fn, a, b)); };
  const double v = eval(x.v, y.v);
  const std::pair<double, double> unknown{NAN, NAN};
  std::vector<double> xs{x.v}, ys{y.v};
  if (x.d > 0) xs.insert(xs.end(), {x.v - x.d, x.v + x.d});
  if (f.arity == 2 && y.d > 0) ys.insert(ys.end(), {y.v - y.d, y.v + y.d});
  if (x.either_zero) xs.push_back(-x.v);
  if (f.arity == 2 && y.either_zero) ys.push_back(-y.v);
  // Poles and branch points inside an interval, which its ends do not show.
  if (f.fn == Fn::divide) {
    if (y.d > 0 && y.reaches_zero()) return unknown;                            // x / (0 ± d)
    if (y.v == 0 && x.d > 0 && x.reaches_zero()) return unknown;                // NaN or inf
  }
  if (f.fn == Fn::pow && !(x.v - x.d > 0) && !(x.d == 0 && y.d == 0)) {
    // A base that may be <= 0: only an exact integer exponent has a value there.
    if (!(y.d == 0 && std::isfinite(y.v) && y.v == std::trunc(y.v))) return unknown;
    if (x.reaches_zero()) {
      if (y.v < 0) return unknown;  // a pole at 0
      xs.push_back(0.0);            // x^2n is smallest at 0
    }
  }
  double spread = 0;
  for (double a : xs)
    for (double b : ys) {
      const double c = eval(a, b);
      if (std::isnan(v) ? !std::isnan(c) : std::isinf(v) ? c != v : !std::isfinite(c)) return unknown;
      if (std::isfinite(v)) spread = std::max(spread, std::fabs(c - v));
    }
  if (!std::isfinite(v)) return {v, 0.0};  // NaN or inf at every end: exact
  double scale = std::fabs(v);
  if (f.fn == Fn::gelu || f.fn == Fn::gelu_tanh) {
    // Not monotonic: its slope is at most 1.129 (at x = sqrt 2), for both forms.
    spread = std::max(spread, 1.13 * x.d);
    scale += std::fabs(x.v) + x.d;
  }
  const double eps = eps_of(t);
  const double error = spread + f.own_ulps * eps * (scale + spread);
  return {v, std::max(std::fabs(v), error / (units * eps))};
}

// The shape x and y broadcast to, NumPy's rule.
Shape broadcast(const std::string& op, const std::vector<const RefTensor*>& ops) {
  size_t rank = 0;
  for (const RefTensor* o : ops) rank = std::max(rank, o->shape.size());
  Shape out(rank, 1);
  for (const RefTensor* o : ops)
    for (size_t i = 0; i < o->shape.size(); ++i) {
      int64_t& d = out[rank - o->shape.size() + i];
      const int64_t e = o->shape[i];
      if (e == d || e == 1) continue;
      if (d != 1) {
        std::string shapes;
        for (const RefTensor* p : ops) shapes += (shapes.empty() ? "" : " and ") + shape_text(p->shape);
        fail(op, "shapes do not broadcast: " + shapes);
      }
      d = e;
    }
  return out;
}

// Adjusts a float result to the dtype's range: past the largest finite value tcc holds inf,
// and an element whose bound reaches that edge is unknown.
void settle(DType t, double units, double& v, double& mag) {
  if (std::isnan(mag)) {
    v = NAN;
    return;
  }
  if (!std::isfinite(v)) {
    mag = 0;
    return;
  }
  const double d = allowed_error(t, units, mag), thr = overflow_threshold(t);
  if (std::fabs(v) - d >= thr) {
    v = std::copysign(INFINITY, v);
    mag = 0;
  } else if (std::fabs(v) + d >= thr) {
    mag = NAN;
    v = NAN;
  }
}

RefTensor apply_fn(const FnDef& f, const std::vector<const RefTensor*>& ops) {
  const std::string op = f.name;
  if (static_cast<int>(ops.size()) != f.arity)
    throw ArgumentError(op + ": takes " + std::to_string(f.arity) + " operands, not " + std::to_string(ops.size()));
  for (const RefTensor* o : ops) check_same_dtype(op, *ops[0], *o);
  const DType t = ops[0]->dtype;
  if (!is_float(t) && !f.integers)
    throw DTypeError(op + ": takes float tensors (f32, f64), not " + std::string(dtype_name(t)));
  RefTensor out;
  out.dtype = t;
  out.shape = broadcast(op, ops);
  const int64_t n = count(out.shape);
  const size_t rank = out.shape.size();
  // Per operand, its flat offset's stride along each output axis (0 where it broadcasts).
  std::vector<std::vector<int64_t>> strides(ops.size(), std::vector<int64_t>(rank, 0));
  for (size_t o = 0; o < ops.size(); ++o) {
    const Shape st = row_major_strides(ops[o]->shape);
    const size_t lead = rank - ops[o]->shape.size();
    for (size_t i = 0; i < ops[o]->shape.size(); ++i)
      if (ops[o]->shape[i] != 1) strides[o][lead + i] = st[i];
  }
  const RefTensor& x = *ops[0];
  const RefTensor& y = *ops.back();
  if (out.is_float()) {
    const double ux = x.error_units, uy = f.arity == 2 ? y.error_units : 0, eps = eps_of(t);
    switch (f.carry) {
      case Carry::exact: out.error_units = std::max(ux, uy); break;
      case Carry::linear:
        out.error_units = f.fn == Fn::multiply ? ux + uy + ux * uy * eps + 1
                          : f.fn == Fn::square ? 2 * ux + ux * ux * eps + 1
                                               : std::max(ux, uy) + 1;
        break;
      case Carry::interval: out.error_units = std::max(ux, uy) + f.own_ulps; break;
    }
    out.terms = std::max(x.terms, y.terms);
    out.values.resize(n);
    out.magnitudes.resize(n);
  } else {
    out.bits.resize(n);
  }
  if (n == 0) return out;
  std::vector<int64_t> idx(rank, 0);
  int64_t flat = 0;
  do {
    int64_t off[2] = {0, 0};
    for (size_t o = 0; o < ops.size(); ++o)
      for (size_t i = 0; i < rank; ++i) off[o] += idx[i] * strides[o][i];
    const int64_t oy = f.arity == 2 ? off[1] : off[0];
    if (!out.is_float()) {
      out.bits[flat] = int_meaning(f.fn, t, int_at(x, off[0]), int_at(y, oy));
    } else {
      const In a = element_of(x, off[0]), b = element_of(y, oy);
      double v = NAN, mag = NAN;
      if (!a.unknown() && !b.unknown()) {
        switch (f.carry) {
          case Carry::exact:
            v = float_meaning(f.fn, a.v, b.v);
            mag = f.arity == 2 ? std::max(a.mag, b.mag) : a.mag;  // 1-Lipschitz; NaN and inf have 0
            break;
          case Carry::linear:
            v = float_meaning(f.fn, a.v, b.v);
            mag = f.fn == Fn::multiply ? a.mag * b.mag : f.fn == Fn::square ? a.mag * a.mag : a.mag + b.mag;
            // inf * (0 ± d) may be -inf or NaN.
            if (f.fn == Fn::multiply && ((std::isinf(a.v) && straddles_zero(y, oy)) || (std::isinf(b.v) && straddles_zero(x, off[0]))))
              mag = NAN;
            break;
          case Carry::interval:
            std::tie(v, mag) = interval_element(f, t, out.error_units, a, b);
            break;
        }
      }
      settle(t, out.error_units, v, mag);
      out.values[flat] = v;
      out.magnitudes[flat] = mag;
    }
    ++flat;
  } while (next_index(idx, out.shape));
  return out;
}

// Which axes of a rank-`rank` operand `axis` reduces.
std::vector<bool> reduced_axes(const std::string& op, int64_t rank, const Axes& axis) {
  std::vector<bool> reduced(rank, axis.is_none());
  std::vector<Axes> items;
  if (axis.is_int()) items = {axis};
  if (axis.is_list()) items = axis.items();
  for (const Axes& item : items) {
    if (!item.is_int()) throw ArgumentError(op + ": axis must be an int, a tuple of ints or None");
    const int64_t a = normalise_axis(op, item.value(), rank);
    if (reduced[a]) throw ArgumentError(op + ": axis " + std::to_string(a) + " named twice");
    reduced[a] = true;
  }
  return reduced;
}

Shape reduced_shape(const Shape& x, const std::vector<bool>& reduced, bool keepdims) {
  Shape out;
  for (size_t a = 0; a < x.size(); ++a)
    if (!reduced[a]) out.push_back(x[a]);
    else if (keepdims) out.push_back(1);
  return out;
}

// max (or min) over the reduced axes: NaN if any element is; the error of the worst element.
RefTensor extreme(const std::string& op, bool is_max, const RefTensor& x, const Axes& axis, bool keepdims) {
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const std::vector<bool> reduced = reduced_axes(op, rank, axis);
  Shape kept, red, kept_st, red_st;
  const Shape st = row_major_strides(x.shape);
  for (int64_t a = 0; a < rank; ++a) {
    if (reduced[a] && x.shape[a] == 0)
      fail(op, "x axis " + std::to_string(a) + " has size 0: the " + op + " of no elements has no value");
    (reduced[a] ? red : kept).push_back(x.shape[a]);
    (reduced[a] ? red_st : kept_st).push_back(st[a]);
  }
  RefTensor out;
  out.dtype = x.dtype;
  out.shape = reduced_shape(x.shape, reduced, keepdims);
  out.error_units = x.error_units;
  out.terms = x.terms;
  const int64_t n = count(out.shape);
  if (out.is_float()) {
    out.values.resize(n);
    out.magnitudes.resize(n);
  } else {
    out.bits.resize(n);
  }
  if (n == 0) return out;
  std::vector<int64_t> ki(kept.size(), 0);
  int64_t flat = 0;
  do {
    int64_t base = 0;
    for (size_t i = 0; i < kept.size(); ++i) base += ki[i] * kept_st[i];
    std::vector<int64_t> ri(red.size(), 0);
    bool first = true;
    double v = 0, mag = 0;
    int64_t iv = 0;
    do {
      int64_t off = base;
      for (size_t i = 0; i < red.size(); ++i) off += ri[i] * red_st[i];
      if (out.is_float()) {
        const double e = x.values[off];
        v = first ? e : is_max ? nan_max(v, e) : nan_min(v, e);
        mag = std::isnan(mag) || std::isnan(x.magnitudes[off]) ? NAN : std::max(mag, x.magnitudes[off]);
      } else {
        const int64_t e = int_at(x, off);
        iv = first ? e : is_max ? std::max(iv, e) : std::min(iv, e);
      }
      first = false;
    } while (next_index(ri, red));
    if (out.is_float()) {
      settle(out.dtype, out.error_units, v, mag);
      out.values[flat] = v;
      out.magnitudes[flat] = mag;
    } else {
      out.bits[flat] = static_cast<uint64_t>(iv);
    }
    ++flat;
  } while (next_index(ki, kept));
  return out;
}

}  // namespace

RefTensor elementwise(const std::string& name, const std::vector<RefTensor>& operands) {
  std::vector<const RefTensor*> ops;
  for (const RefTensor& o : operands) ops.push_back(&o);
  return apply_fn(find_fn(name), ops);
}

RefTensor scalar(DType dtype, double value) {
  if (is_float(dtype)) return make_floats(dtype, {}, {value});
  const double lo = dtype == DType::i32 ? -2147483648.0 : -9223372036854775808.0;
  if (!(value == std::trunc(value) && value >= lo && value < -lo))
    throw ArgumentError("scalar: " + std::to_string(value) + " is no whole " + std::string(dtype_name(dtype)));
  return make_ints(dtype, {}, {static_cast<int64_t>(value)});
}

RefTensor sum(const RefTensor& x, const Axes& axis, bool keepdims) {
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const std::vector<bool> reduced = reduced_axes("sum", rank, axis);
  std::vector<int> labels(rank), out_labels;
  for (int64_t a = 0; a < rank; ++a) {
    labels[a] = static_cast<int>(a);
    if (!reduced[a]) out_labels.push_back(static_cast<int>(a));
  }
  return sum_over_labels({&x}, {labels}, x.shape, out_labels, reduced_shape(x.shape, reduced, keepdims));
}

RefTensor mean(const RefTensor& x, const Axes& axis, bool keepdims) {
  if (!x.is_float()) throw DTypeError("mean: takes float tensors (f32, f64), not " + std::string(dtype_name(x.dtype)));
  const std::vector<bool> reduced = reduced_axes("mean", static_cast<int64_t>(x.shape.size()), axis);
  double n = 1;
  for (size_t a = 0; a < reduced.size(); ++a)
    if (reduced[a]) n *= static_cast<double>(x.shape[a]);
  return elementwise("divide", {sum(x, axis, keepdims), scalar(x.dtype, n)});
}

RefTensor max(const RefTensor& x, const Axes& axis, bool keepdims) { return extreme("max", true, x, axis, keepdims); }
RefTensor min(const RefTensor& x, const Axes& axis, bool keepdims) { return extreme("min", false, x, axis, keepdims); }

RefTensor softmax(const RefTensor& x, int64_t axis) {
  if (!x.is_float()) throw DTypeError("softmax: takes float tensors (f32, f64), not " + std::string(dtype_name(x.dtype)));
  const RefTensor e = elementwise("exp", {elementwise("subtract", {x, max(x, Axes(axis), true)})});
  return elementwise("divide", {e, sum(e, Axes(axis), true)});
}

RefTensor bias_add(const RefTensor& x, const RefTensor& bias) {
  const Shape& xs = x.shape;
  const Shape& bs = bias.shape;
  const bool channels = bs.size() == 1 && !xs.empty() && bs[0] == xs.back();
  const bool trailing = bs.size() >= 2 && bs.size() + 1 == xs.size() && std::equal(bs.begin(), bs.end(), xs.begin() + 1);
  if (!channels && !trailing)
    fail("bias_add", "the bias " + shape_text(bs) + " is neither (C,) for x's last dim nor x's shape without its first axis; x: " +
                         shape_text(xs));
  return elementwise("add", {x, bias});
}

RefTensor cast(const RefTensor& x, DType to) {
  RefTensor out;
  out.dtype = to;
  out.shape = x.shape;
  out.terms = x.terms;
  const int64_t n = x.numel();
  if (!is_float(to)) {
    if (x.is_float()) throw InternalError("reference: a cast of floats to integers is not modelled");
    out.bits.resize(n);
    for (int64_t i = 0; i < n; ++i) out.bits[i] = static_cast<uint64_t>(int_at(x, i));  // sign-extended from x's width
    return out;
  }
  // The value converted, as an interval: x's (an integer is exact) rounded to `to`, which adds
  // half an ulp of the interval's far end; one unit of error, the magnitude scaled to carry it.
  out.error_units = 1;
  out.values.resize(n);
  out.magnitudes.resize(n);
  const double eps = eps_of(to);
  for (int64_t i = 0; i < n; ++i) {
    const In a = x.is_float() ? element_of(x, i) : In{static_cast<double>(int_at(x, i)), 0, 0};
    double v = a.v, mag = a.unknown() ? NAN : std::max(std::fabs(v), (a.d + 0.5 * eps * (std::fabs(v) + a.d)) / eps);
    if (!a.unknown() && !std::isfinite(v)) mag = 0;  // NaN and inf convert exactly
    settle(to, out.error_units, v, mag);
    out.values[i] = v;
    out.magnitudes[i] = mag;
  }
  return out;
}

// ---- comparison -------------------------------------------------------------------------------

Comparison compare(const Tensor& got, const RefTensor& want) {
  Comparison c;
  if (got.dtype() != want.dtype || got.shape() != want.shape) {
    c.ok = false;
    c.message = "expected " + std::string(dtype_name(want.dtype)) + shape_text(want.shape) + ", got " +
                std::string(dtype_name(got.dtype())) + shape_text(got.shape());
    return c;
  }
  const int64_t n = want.numel();
  const Shape st = row_major_strides(want.shape);
  auto where = [&](int64_t flat) {
    std::string s = "[";
    for (size_t i = 0; i < st.size(); ++i) {
      if (i) s += ",";
      s += std::to_string(flat / st[i]);
      flat %= st[i];
    }
    return s + "]";
  };
  int reported = 0, bad = 0;
  std::ostringstream msg;
  msg.precision(17);
  for (int64_t i = 0; i < n; ++i) {
    bool mismatch = false;
    std::string got_text, want_text;
    if (want.is_float()) {
      const double g = want.dtype == DType::f32 ? static_cast<double>(got.data_as<float>()[i]) : got.data_as<double>()[i];
      const double w = want.values[i];
      if (std::isnan(want.magnitudes[i])) {  // unknown
        ++c.unchecked;
        continue;
      }
      if (!std::isfinite(w)) {
        ++c.special;
        mismatch = std::isnan(w) ? !std::isnan(g) : g != w;
      } else {
        const double allowed = allowed_error(want.dtype, want.error_units, want.magnitudes[i]);
        const double err = std::fabs(g - w);
        if (!(err <= allowed)) mismatch = true;
        c.worst_ratio = std::max(c.worst_ratio, std::isnan(err) ? INFINITY : err / allowed);
      }
      if (mismatch) {
        std::ostringstream t;
        t.precision(10);
        t << w;
        if (std::isfinite(w)) t << " (allowed error " << allowed_error(want.dtype, want.error_units, want.magnitudes[i]) << ")";
        want_text = t.str();
        t.str("");
        t << g;
        got_text = t.str();
      }
    } else {
      const int64_t g = want.dtype == DType::i32 ? got.data_as<int32_t>()[i] : got.data_as<int64_t>()[i];
      const int64_t w = int_at(want, i);
      mismatch = g != w;
      got_text = std::to_string(g);
      want_text = std::to_string(w);
    }
    if (mismatch) {
      ++bad;
      if (reported++ < 5) msg << "  at " << where(i) << ": expected " << want_text << ", got " << got_text << "\n";
    }
  }
  if (bad) {
    c.ok = false;
    c.message = std::to_string(bad) + " of " + std::to_string(n) + " elements differ:\n" + msg.str();
  }
  return c;
}

}  // namespace tcc::ref
