// tcc::Tensor: a dense, row-major host tensor with shared storage (its own, 64-byte aligned,
// or memory borrowed from an owner such as a NumPy array: Tensor::borrow).
#pragma once
#include <tcc/dim.h>
#include <tcc/dtype.h>
#include <tcc/error.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace tcc {

inline constexpr std::size_t kTensorAlignment = 64;

// Product of the extents; throws ShapeError on a negative extent, a symbol, or int64 overflow.
int64_t checked_numel(const Shape& shape);
// Product of the sizes a shape knows (symbols left out): ShapeError on a negative extent that
// is no symbol, or on overflow. What a graph checks when it builds a value.
int64_t checked_static_numel(const Shape& shape);
// The elements a strided view of `shape` spans (element (i, j, ...) at origin + i*strides[0] +
// j*strides[1] + ... of them): 1 + the distance from its lowest element to its highest, 0 for an
// empty shape. Strides are elements, of either sign (0 repeats an element along its axis, a
// negative one walks down, as NumPy's x[::-1]); ShapeError for a count that is not the rank or
// a span beyond 64 bits (and as checked_numel for the shape).
int64_t checked_span(const Shape& shape, const std::vector<int64_t>& strides);
// Where element (0, 0, ...) of that view is among the elements it spans: the sum over negative
// strides of (extent - 1) * -stride (0 when every stride is >= 0).
int64_t strided_origin(const Shape& shape, const std::vector<int64_t>& strides);
// "(3,4,5)"; "()" for a scalar; "(5,)" for rank 1, as NumPy prints; a symbol by its name.
std::string shape_str(const Shape& shape);
// "f32[2,3]"; "f32[]" for a scalar: a dtype and shape as .tc files and tcc's messages write them.
std::string type_str(DType dtype, const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled storage. Throws InputError when the byte size overflows or exceeds memory.
  Tensor(DType dtype, Shape shape);
  // Uninitialised storage (NumPy's empty), for results about to be overwritten.
  static Tensor empty(DType dtype, Shape shape);
  // A tensor over memory it does not own, for zero-copy interop (the Python module borrows
  // NumPy arrays this way): `data` holds the shape's elements in row-major order and stays
  // valid while `owner` lives. Nothing is copied; the storage is an aliasing shared_ptr of
  // `owner`, so every copy and view of the tensor keeps `owner` alive and the last one to go
  // releases it, on whichever thread drops it (the owner's deleter must be safe there: the
  // Python module's takes the GIL). `owner` may be null when the caller keeps the memory alive
  // longer than every copy. Kernels write into a borrowed tensor given as an output and only
  // read one given as a feed, as with any tensor. `data` must be aligned to the dtype's
  // element size (kernels assume no more; a tensor's own storage is kTensorAlignment-aligned,
  // which keeps vectors within cache lines): ArgumentError otherwise, and for null `data`;
  // ShapeError as checked_numel for the shape.
  static Tensor borrow(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner);

  template <typename T>
  static Tensor from(Shape shape, const std::vector<T>& values) {
    Tensor t(dtype_of<T>::value, std::move(shape));
    if (static_cast<int64_t>(values.size()) != t.numel())
      throw ArgumentError("Tensor::from: " + std::to_string(values.size()) +
                          " values for shape " + shape_str(t.shape()));
    if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * sizeof(T));
    return t;
  }

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numel() const { return numel_; }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel_) * dtype_size(dtype_); }

  void* data() { return storage_.get(); }
  const void* data() const { return storage_.get(); }
  template <typename T> T* data_as() { check_type<T>(); return static_cast<T*>(data()); }
  template <typename T> const T* data_as() const { check_type<T>(); return static_cast<const T*>(data()); }
  // Copies the elements out, for tests and examples.
  template <typename T> std::vector<T> to_vector() const {
    const T* p = data_as<T>();
    return std::vector<T>(p, p + numel_);
  }

  // Same storage, new shape of equal element count (a NumPy view).
  Tensor reshaped(Shape shape) const;
  // A deep copy.
  Tensor clone() const;

 private:
  template <typename T> void check_type() const {
    if (dtype_of<std::remove_const_t<T>>::value != dtype_)
      throw ArgumentError("Tensor: element type does not match dtype " + std::string(dtype_name(dtype_)));
  }
  Tensor(DType dtype, Shape shape, bool zero_fill);
  DType dtype_ = DType::f32;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<std::byte> storage_;
};

}  // namespace tcc
