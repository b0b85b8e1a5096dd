// Between NumPy arrays and tcc tensors, without copies wherever the memory allows: arrays are
// borrowed as feeds and outputs, results are handed to NumPy with tcc's storage. The only file
// of the module that uses NumPy's C API (its function table is private to numpy_bridge.cpp).
#pragma once
#include <tcc/tensor.h>

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string_view>
#include <vector>

namespace tcc::python {

namespace py = pybind11;

// Loads NumPy's C API; called once, from the module's initialisation.
void import_numpy();

// ---- dtypes ----

// The tcc dtype of a dtype-like: a NumPy dtype or scalar type ("float32", np.int64, float, ...)
// or a tcc name ("f32"). DTypeError for a dtype tcc has no kernels for.
DType dtype_from_object(py::handle dtype_like);
// NumPy's dtype object for a tcc dtype.
py::object numpy_dtype(DType dtype);

// ---- arrays in ----

bool is_ndarray(py::handle object);
// The dense tensor of an array-like (anything np.asarray takes): the array's own memory, kept
// alive by a reference to it, when it is C-contiguous, in native byte order and aligned to its
// elements; otherwise a C-ordered, 64-byte-aligned copy. DTypeError unless its dtype is
// float32, float64, int32 or int64.
Tensor tensor_from_array(py::handle array_like);

// An array as an op's operand: read in place whenever its memory allows.
struct ArrayOperand {
  Tensor data;                   // what the op's graph input is fed
  std::vector<int64_t> strides;  // empty: `data` is the array, dense; else the array is the view
                                 // of `data` (the run of elements it spans) with these strides
  Shape shape;                   // the array's
};
// As tensor_from_array, and also in place when the array is not C-contiguous but has strides
// that are multiples of its item size (a transpose, Fortran order, a slice, a broadcast, a
// reversal): its memory as a strided input (Graph::input with strides). Copied only when the
// byte order is swapped or the data misaligned.
ArrayOperand operand_from_array(py::handle array_like);
// Whether operand_from_array would use this object's memory in place.
bool is_zero_copy(py::handle object);

// ---- arrays out ----

// An ndarray over the tensor's storage, which the array keeps alive: no copy. A 0-d result
// becomes a NumPy scalar, as NumPy's own functions return one.
py::object array_from_tensor(Tensor tensor);

// A result the kernels write in place and NumPy then owns: 64-byte-aligned memory held by a
// capsule, with no Tensor storage around it (Tensor's allocation asks the system for its
// memory size every time), reused from the last result of its size when that is gone.
// `numel`: the shape's element count, already checked. InputError when it does not fit the
// machine's memory, as for a Tensor.
class ResultArray {
 public:
  // `shape` must outlive this object (the eager graph's).
  ResultArray(DType dtype, const Shape& shape, int64_t numel);
  // The memory as a tensor to run into, holding the memory as the array will.
  Tensor tensor() const;
  // The same without an owner (one allocation less): only for a run whose tensors are all
  // dropped before this object and its array could be.
  Tensor unowned_tensor() const;
  const void* data() const { return data_; }
  // The ndarray owning the memory (a NumPy scalar for a 0-d result).
  py::object release();

 private:
  py::object owner_;  // the capsule that frees the memory
  void* data_ = nullptr;
  DType dtype_;
  const Shape& shape_;
};

// The out= of an op on arrays. The constructor checks it fits the result (ArgumentError
// otherwise, naming what does not): a writeable, C-contiguous ndarray of the result's dtype
// and shape in native byte order.
class OutArray {
 public:
  OutArray(py::handle out, DType dtype, const Shape& shape, std::string_view op);
  // The tensor to run the kernels into: out's memory when they can write it in place (aligned
  // to its elements, overlapping no input), else an undefined tensor (the run allocates a result).
  Tensor target(const std::vector<ArrayOperand>& inputs) const;
  // After the run: copies the result into out unless the kernels wrote it there. Returns out.
  py::object finish(const Tensor& result) const;

 private:
  py::object array_;
  DType dtype_;
  Shape shape_;
};

// ---- counters (read and written under the GIL) ----

struct TransferCounters {
  int64_t inputs_borrowed = 0;  // arrays read in place
  int64_t inputs_copied = 0;    // arrays copied first (negative strides, misaligned, swapped)
  int64_t bytes_copied = 0;     // by those copies
  int64_t outputs_copied = 0;   // out= arrays the result had to be copied into
};
TransferCounters& transfer_counters();

// ---- NumPy's allocator (NEP 49) ----

// Makes NumPy allocate the data of arrays created from now on in the current context (thread
// or task) 64-byte aligned, so that tcc reads them in place; returns the handler it replaced.
py::object use_aligned_numpy_allocator();
// Puts back a handler use_aligned_numpy_allocator returned.
void restore_numpy_allocator(py::handle previous);
// The name NumPy knows the aligned handler by ("tcc_aligned_64").
const char* aligned_allocator_name();

}  // namespace tcc::python
