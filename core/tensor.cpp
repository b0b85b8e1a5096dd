// Tensor storage: 64-byte-aligned, zero-filled, shared between views.
#include <tcc/tensor.h>

#include "memory.h"

#include <cstdint>
#include <limits>
#include <new>

namespace tcc {

namespace {

int64_t numel_of(const Shape& shape, bool symbols_allowed) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (is_symbol(d)) {
      if (symbols_allowed) continue;
      throw ShapeError("the symbolic dimension " + dim_str(d) + " in shape " + shape_str(shape) +
                       " has no size here (only a graph's values may have one)");
    }
    if (d < 0) throw ShapeError("negative dimension " + std::to_string(d) + " in shape " + shape_str(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      throw ShapeError("the element count of shape " + shape_str(shape) + " overflows 64 bits");
    n *= d;
  }
  // A zero extent anywhere makes the tensor empty, even after an earlier overflow check passed.
  for (int64_t d : shape)
    if (d == 0) return 0;
  return n;
}

}  // namespace

int64_t checked_numel(const Shape& shape) { return numel_of(shape, /*symbols_allowed=*/false); }
int64_t checked_static_numel(const Shape& shape) { return numel_of(shape, /*symbols_allowed=*/true); }

int64_t checked_span(const Shape& shape, const std::vector<int64_t>& strides) {
  if (strides.size() != shape.size())
    throw ShapeError(std::to_string(strides.size()) + " strides for shape " + shape_str(shape) + " of rank " +
                     std::to_string(shape.size()));
  if (checked_numel(shape) == 0) return 0;
  int64_t last = 0;  // the distance from the lowest element to the highest
  for (size_t a = 0; a < shape.size(); ++a) {
    if (strides[a] == std::numeric_limits<int64_t>::min())
      throw ShapeError("stride " + std::to_string(strides[a]) + " of shape " + shape_str(shape) + " is out of range");
    const int64_t step = strides[a] < 0 ? -strides[a] : strides[a];
    if (step != 0 && shape[a] - 1 > (std::numeric_limits<int64_t>::max() - 1 - last) / step)
      throw ShapeError("the elements of shape " + shape_str(shape) + " with its strides span more than 64 bits");
    last += (shape[a] - 1) * step;
  }
  return last + 1;
}

int64_t strided_origin(const Shape& shape, const std::vector<int64_t>& strides) {
  if (checked_span(shape, strides) == 0) return 0;
  int64_t origin = 0;
  for (size_t a = 0; a < shape.size(); ++a)
    if (strides[a] < 0) origin += (shape[a] - 1) * -strides[a];
  return origin;
}

std::string shape_str(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += dim_str(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

std::string type_str(DType dtype, const Shape& shape) {
  std::string s = std::string(dtype_name(dtype)) + "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + dim_str(shape[i]);
  return s + "]";
}

Tensor::Tensor(DType dtype, Shape shape) : Tensor(dtype, std::move(shape), true) {}

Tensor Tensor::empty(DType dtype, Shape shape) { return Tensor(dtype, std::move(shape), false); }

Tensor Tensor::borrow(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner) {
  if (!data) throw ArgumentError("Tensor::borrow: null data for shape " + shape_str(shape));
  if (reinterpret_cast<std::uintptr_t>(data) % dtype_size(dtype) != 0)
    throw ArgumentError("Tensor::borrow: the data of shape " + shape_str(shape) + " is not aligned to its " +
                        std::string(dtype_name(dtype)) + " elements");
  Tensor t;
  t.dtype_ = dtype;
  t.numel_ = checked_numel(shape);
  t.shape_ = std::move(shape);
  // The aliasing constructor: no allocation; owner's control block counts the tensor's copies.
  t.storage_ = std::shared_ptr<std::byte>(std::move(owner), static_cast<std::byte*>(data));
  return t;
}

Tensor::Tensor(DType dtype, Shape shape, bool zero_fill) : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = checked_numel(shape_);
  const uint64_t elem = dtype_size(dtype_);
  if (static_cast<uint64_t>(numel_) > std::numeric_limits<uint64_t>::max() / elem - kTensorAlignment)
    throw InputError("tensor of shape " + shape_str(shape_) + " is too large to address");
  uint64_t bytes = static_cast<uint64_t>(numel_) * elem;
  if (bytes > physical_memory_bytes())
    throw InputError("tensor of shape " + shape_str(shape_) + " needs " + std::to_string(bytes) +
                     " bytes, more than this machine's memory");
  uint64_t rounded = (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  if (rounded == 0) rounded = kTensorAlignment;
  void* p = allocate_tensor_memory(rounded);
  if (!p) throw InputError("out of memory allocating " + std::to_string(bytes) + " bytes for shape " + shape_str(shape_));
  if (zero_fill) std::memset(p, 0, rounded);
  storage_ = std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}

Tensor Tensor::reshaped(Shape shape) const {
  if (checked_numel(shape) != numel_)
    throw ShapeError("cannot reshape tensor of shape " + shape_str(shape_) + " into shape " + shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes()) std::memcpy(t.data(), data(), nbytes());
  return t;
}

}  // namespace tcc
