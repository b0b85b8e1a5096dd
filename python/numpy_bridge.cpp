// NumPy arrays <-> tcc tensors through NumPy's C API (numpy_bridge.h says what each direction
// promises), and the 64-byte-aligned NumPy allocator.
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include "numpy_bridge.h"

#include "core/memory.h"

#include <numpy/arrayobject.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

// NumPy 2 moved the item size behind an accessor; NumPy 1 has the field.
#ifndef PyDataType_ELSIZE
#define PyDataType_ELSIZE(descr) ((descr)->elsize)
#endif

namespace tcc::python {

namespace {

// Every fact the module needs about a dtype on the NumPy side, in DType order.
struct NumpyDType {
  DType dtype;
  char kind;  // NumPy's dtype.kind
  int itemsize;
  int type_num;
  const char* name;
};
constexpr std::array<NumpyDType, 4> kNumpyDTypes{{
    {DType::f32, 'f', 4, NPY_FLOAT32, "float32"},
    {DType::f64, 'f', 8, NPY_FLOAT64, "float64"},
    {DType::i32, 'i', 4, NPY_INT32, "int32"},
    {DType::i64, 'i', 8, NPY_INT64, "int64"},
}};
static_assert(kNumpyDTypes.size() == kDTypes.size(), "one NumPy row per tcc dtype");

const NumpyDType& numpy_row(DType dtype) { return kNumpyDTypes[static_cast<size_t>(dtype)]; }

// By kind and size rather than type number: int64 is both NPY_LONG and NPY_LONGLONG.
std::optional<DType> tcc_dtype(const PyArray_Descr* descr) {
  for (const NumpyDType& row : kNumpyDTypes)
    if (row.kind == descr->kind && row.itemsize == PyDataType_ELSIZE(descr)) return row.dtype;
  return std::nullopt;
}

// NumPy's name of a dtype: "float16", "complex128", ">f4" spelled as NumPy spells it.
std::string numpy_name(PyArray_Descr* descr) {
  return py::str(py::handle(reinterpret_cast<PyObject*>(descr)).attr("name")).cast<std::string>();
}

[[noreturn]] void unsupported_dtype(PyArray_Descr* descr) {
  throw DTypeError(fmt::format("tcc computes on float32, float64, int32 and int64 arrays, not {}", numpy_name(descr)));
}

DType array_dtype(PyArrayObject* array) {
  PyArray_Descr* descr = PyArray_DESCR(array);
  if (auto dtype = tcc_dtype(descr)) return *dtype;
  unsupported_dtype(descr);
}

// What kernels ask of memory they read or write in place: native byte order, and data aligned
// to the elements (NumPy's ALIGNED flag also covers every stride).
bool native_aligned(PyArrayObject* array) { return PyArray_ISNOTSWAPPED(array) && PyArray_ISALIGNED(array); }

bool dense_native(PyArrayObject* array) { return PyArray_IS_C_CONTIGUOUS(array) && PyArray_ISNOTSWAPPED(array); }

PyArrayObject* as_array(py::handle object) { return reinterpret_cast<PyArrayObject*>(object.ptr()); }

Shape shape_of(PyArrayObject* array) {
  const npy_intp* dims = PyArray_DIMS(array);
  return Shape(dims, dims + PyArray_NDIM(array));
}

// Runs `f` holding the GIL, taken when this thread lacks it: this module drops its tensors with
// the GIL held, but a copy of a tensor may outlive the call and go on any thread.
template <typename F>
void holding_gil(F&& f) {
  if (PyGILState_Check()) {
    f();
    return;
  }
  PyGILState_STATE state = PyGILState_Ensure();
  f();
  PyGILState_Release(state);
}

// Drops the reference a borrowed tensor holds on its array.
void release_array(void* object) {
  if (!Py_IsInitialized()) return;  // the interpreter is gone: nothing left to free it into
  holding_gil([&] { Py_DECREF(static_cast<PyObject*>(object)); });
}

// `data`: where the tensor starts in the array's memory (its data pointer unless given).
Tensor borrow_array(PyArrayObject* array, DType dtype, Shape shape, void* data = nullptr) {
  PyObject* object = reinterpret_cast<PyObject*>(array);
  Py_INCREF(object);
  std::shared_ptr<void> owner(object, release_array);
  return Tensor::borrow(dtype, std::move(shape), data ? data : PyArray_DATA(array), std::move(owner));
}

// An ndarray over memory tcc owns, kept alive by `base` (whose reference it steals; may be null).
PyObject* array_over(void* data, DType dtype, const Shape& shape, PyObject* base) {
  if (shape.size() > NPY_MAXDIMS) {
    Py_XDECREF(base);
    throw ArgumentError(fmt::format("a result of rank {} is more than NumPy's {} dimensions", shape.size(), NPY_MAXDIMS));
  }
  std::array<npy_intp, NPY_MAXDIMS> dims{};
  std::copy(shape.begin(), shape.end(), dims.begin());
  PyObject* array = PyArray_New(&PyArray_Type, static_cast<int>(shape.size()), dims.data(), numpy_row(dtype).type_num,
                                nullptr, data, 0, NPY_ARRAY_CARRAY, nullptr);
  if (!array) {
    Py_XDECREF(base);
    throw py::error_already_set();
  }
  if (base && PyArray_SetBaseObject(as_array(array), base) < 0) {  // steals base, even on failure
    Py_DECREF(array);
    throw py::error_already_set();
  }
  return array;
}

// ---- memory for results and copies ----
// Allocated here rather than by Tensor::empty, so that freed blocks can be kept for the next
// result of the same size (below).

// The size of a 64-byte-aligned block for `bytes` of a tensor of this shape, refused as Tensor
// refuses it: InputError beyond the machine's memory.
size_t block_size(uint64_t bytes, const Shape& shape) {
  if (bytes > physical_memory_bytes())
    throw InputError("a tensor of shape " + shape_str(shape) + " needs " + std::to_string(bytes) +
                     " bytes, more than this machine's memory");
  return std::max<size_t>((bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment, kTensorAlignment);
}

// Freed blocks kept for the next block of the same size: an op called again reuses the memory
// of its last result and input copies instead of asking malloc for large blocks every time
// (which also makes glibc consolidate its free lists every time). A few blocks of up to 1 MiB,
// and two of up to 256 MiB: a fresh large block is mapped anew and every page of it faulted in
// and zeroed by the kernel on first write, which took longer than a streaming kernel writing
// it (bench/elementwise). Taken and given back under the GIL.
class BlockPool {
 public:
  void* take(size_t size) {
    for (Slot& s : slots_)
      if (s.block && s.size == size) return std::exchange(s.block, nullptr);
    return nullptr;
  }
  void give_back(void* block, size_t size) {
    if (size <= kMaxLargeBytes) {
      // Slots [0, kSmall) hold blocks up to kMaxSmallBytes, the rest larger ones.
      const bool large = size > kMaxSmallBytes;
      Slot* first = slots_.data() + (large ? kSmall : 0);
      Slot* last = large ? slots_.data() + slots_.size() : slots_.data() + kSmall;
      for (Slot* s = first; s != last; ++s)
        if (!s->block) {
          *s = {block, size};
          return;
        }
      if (large) {  // a kept large block makes room: the one given back now is likelier reused
        std::free(first->block);
        std::move(first + 1, last, first);
        *(last - 1) = {block, size};
        return;
      }
    }
    std::free(block);
  }

 private:
  static constexpr size_t kMaxSmallBytes = size_t{1} << 20, kMaxLargeBytes = size_t{256} << 20;
  static constexpr size_t kSmall = 8;
  struct Slot {
    void* block = nullptr;
    size_t size = 0;
  };
  std::array<Slot, kSmall + 2> slots_{};
};

BlockPool& block_pool() {
  static auto* pool = new BlockPool;  // leaked: blocks may still come back while Python shuts down
  return *pool;
}

// A block of `size` bytes (from block_size), 64-byte aligned: a pooled one, else a new one.
void* take_block(size_t size, const Shape& shape) {
  if (void* block = block_pool().take(size)) return block;
  void* block = allocate_tensor_memory(size);
  if (!block) throw InputError("out of memory allocating " + std::to_string(size) + " bytes for shape " + shape_str(shape));
  return block;
}

// Gives a block back from whichever thread drops it.
void give_back_block(void* block, size_t size) {
  if (!Py_IsInitialized()) {
    std::free(block);
    return;
  }
  holding_gil([&] { block_pool().give_back(block, size); });
}

// The destructor of a result's capsule (run with the GIL): its context is the block's size.
void release_result(PyObject* capsule) {
  block_pool().give_back(PyCapsule_GetPointer(capsule, nullptr), reinterpret_cast<size_t>(PyCapsule_GetContext(capsule)));
}

// A tensor over a block of its own.
Tensor aligned_tensor(DType dtype, Shape shape) {
  const size_t size = block_size(static_cast<uint64_t>(checked_numel(shape)) * dtype_size(dtype), shape);
  void* block = take_block(size, shape);
  std::shared_ptr<void> owner(block, [size](void* b) { give_back_block(b, size); });
  return Tensor::borrow(dtype, std::move(shape), block, std::move(owner));
}

// A C-ordered copy: memcpy when the array is dense already (only its address was wrong), else
// NumPy's own copy, which takes any strides and swaps bytes.
Tensor copy_array(PyArrayObject* array, DType dtype, Shape shape) {
  Tensor copy = aligned_tensor(dtype, std::move(shape));
  if (dense_native(array)) {
    if (copy.nbytes()) std::memcpy(copy.data(), PyArray_DATA(array), copy.nbytes());
  } else {
    // A view of the copy's memory, gone before the copy is returned: it needs no base.
    py::object view = py::reinterpret_steal<py::object>(array_over(copy.data(), dtype, copy.shape(), nullptr));
    if (PyArray_CopyInto(as_array(view), array) < 0) throw py::error_already_set();
  }
  TransferCounters& counters = transfer_counters();
  ++counters.inputs_copied;
  counters.bytes_copied += static_cast<int64_t>(copy.nbytes());
  return copy;
}

// An ndarray for an array-like: the object itself when it is one (new reference either way).
py::object to_ndarray(py::handle object) {
  if (PyArray_Check(object.ptr())) return py::reinterpret_borrow<py::object>(object);
  PyObject* array = PyArray_FromAny(object.ptr(), nullptr, 0, 0, 0, nullptr);
  if (!array) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(array);
}

bool readable_in_place(PyArrayObject* array) { return PyArray_IS_C_CONTIGUOUS(array) && native_aligned(array); }

// An array's strides in elements when kernels can read it through them in place (those of
// 1-long axes, never stepped along, as 0), else nullopt.
std::optional<std::vector<int64_t>> element_strides(PyArrayObject* array) {
  if (!native_aligned(array)) return std::nullopt;
  const int64_t itemsize = PyArray_ITEMSIZE(array);
  std::vector<int64_t> strides(static_cast<size_t>(PyArray_NDIM(array)));
  for (size_t a = 0; a < strides.size(); ++a) {
    const int64_t bytes = PyArray_STRIDE(array, static_cast<int>(a));
    if (PyArray_DIM(array, static_cast<int>(a)) == 1) continue;
    if (bytes % itemsize != 0) return std::nullopt;
    strides[a] = bytes / itemsize;
  }
  return strides;
}

}  // namespace

void import_numpy() {
  if (_import_array() < 0) throw py::error_already_set();
}

DType dtype_from_object(py::handle dtype_like) {
  if (PyUnicode_Check(dtype_like.ptr()))
    if (auto dtype = find_dtype(&DTypeInfo::name, dtype_like.cast<std::string>())) return *dtype;
  PyArray_Descr* descr = nullptr;
  if (!PyArray_DescrConverter(dtype_like.ptr(), &descr)) throw py::error_already_set();
  py::object owned = py::reinterpret_steal<py::object>(reinterpret_cast<PyObject*>(descr));
  if (auto dtype = tcc_dtype(descr)) return *dtype;
  unsupported_dtype(descr);
}

py::object numpy_dtype(DType dtype) {
  return py::reinterpret_steal<py::object>(reinterpret_cast<PyObject*>(PyArray_DescrFromType(numpy_row(dtype).type_num)));
}

bool is_ndarray(py::handle object) { return PyArray_Check(object.ptr()); }

Tensor tensor_from_array(py::handle array_like) {
  py::object object = to_ndarray(array_like);
  PyArrayObject* array = as_array(object);
  const DType dtype = array_dtype(array);
  if (readable_in_place(array)) {
    ++transfer_counters().inputs_borrowed;
    return borrow_array(array, dtype, shape_of(array));
  }
  return copy_array(array, dtype, shape_of(array));
}

ArrayOperand operand_from_array(py::handle array_like) {
  py::object object = to_ndarray(array_like);
  PyArrayObject* array = as_array(object);
  const DType dtype = array_dtype(array);
  Shape shape = shape_of(array);
  if (readable_in_place(array)) {
    ++transfer_counters().inputs_borrowed;
    return {borrow_array(array, dtype, shape), {}, std::move(shape)};
  }
  if (std::optional<std::vector<int64_t>> strides = element_strides(array)) {
    ++transfer_counters().inputs_borrowed;
    // The run of elements the view spans starts at its lowest element (below the first one
    // along a negative stride).
    const int64_t span = checked_span(shape, *strides), origin = strided_origin(shape, *strides);
    auto* lowest = static_cast<std::byte*>(PyArray_DATA(array)) - origin * PyArray_ITEMSIZE(array);
    return {borrow_array(array, dtype, {span}, lowest), std::move(*strides), std::move(shape)};
  }
  return {copy_array(array, dtype, shape), {}, std::move(shape)};
}

bool is_zero_copy(py::handle object) {
  if (!is_ndarray(object)) return false;
  PyArrayObject* array = as_array(object);
  return tcc_dtype(PyArray_DESCR(array)) && (readable_in_place(array) || element_strides(array));
}

py::object array_from_tensor(Tensor tensor) {
  auto* holder = new Tensor(std::move(tensor));
  PyObject* base = PyCapsule_New(holder, nullptr, [](PyObject* capsule) {
    delete static_cast<Tensor*>(PyCapsule_GetPointer(capsule, nullptr));
  });
  if (!base) {
    delete holder;
    throw py::error_already_set();
  }
  PyObject* array = array_over(holder->data(), holder->dtype(), holder->shape(), base);
  // NumPy returns scalars for 0-d results; PyArray_Return steals the array.
  if (holder->rank() == 0) return py::reinterpret_steal<py::object>(PyArray_Return(as_array(array)));
  return py::reinterpret_steal<py::object>(array);
}

// ---- results ----

ResultArray::ResultArray(DType dtype, const Shape& shape, int64_t numel) : dtype_(dtype), shape_(shape) {
  const size_t size = block_size(static_cast<uint64_t>(numel) * dtype_size(dtype), shape);
  data_ = take_block(size, shape);
  PyObject* capsule = PyCapsule_New(data_, nullptr, release_result);
  if (!capsule || PyCapsule_SetContext(capsule, reinterpret_cast<void*>(size)) < 0) {
    if (capsule) Py_DECREF(capsule);  // gives the block back through release_result
    else block_pool().give_back(data_, size);
    throw py::error_already_set();
  }
  owner_ = py::reinterpret_steal<py::object>(capsule);
}

Tensor ResultArray::tensor() const {
  Py_INCREF(owner_.ptr());
  return Tensor::borrow(dtype_, shape_, data_, std::shared_ptr<void>(owner_.ptr(), release_array));
}

Tensor ResultArray::unowned_tensor() const { return Tensor::borrow(dtype_, shape_, data_, nullptr); }

py::object ResultArray::release() {
  PyObject* array = array_over(data_, dtype_, shape_, owner_.release().ptr());
  if (shape_.empty()) return py::reinterpret_steal<py::object>(PyArray_Return(as_array(array)));
  return py::reinterpret_steal<py::object>(array);
}

// ---- out= ----

namespace {

bool same_shape(PyArrayObject* array, const Shape& shape) {
  return static_cast<size_t>(PyArray_NDIM(array)) == shape.size() &&
         std::equal(shape.begin(), shape.end(), PyArray_DIMS(array));
}

// What keeps `out` from being the result, for the error: "its dtype is float64, ...".
std::vector<std::string> out_problems(PyArrayObject* array, DType dtype, const Shape& shape) {
  std::vector<std::string> problems;
  if (tcc_dtype(PyArray_DESCR(array)) != dtype) problems.push_back("its dtype is " + numpy_name(PyArray_DESCR(array)));
  if (!same_shape(array, shape)) problems.push_back("its shape is " + shape_str(shape_of(array)));
  if (!PyArray_IS_C_CONTIGUOUS(array)) problems.push_back("it is not C-contiguous");
  if (!PyArray_ISNOTSWAPPED(array)) problems.push_back("its byte order is not native");
  if (!PyArray_ISWRITEABLE(array)) problems.push_back("it is read-only");
  return problems;
}

}  // namespace

OutArray::OutArray(py::handle out, DType dtype, const Shape& shape, std::string_view op)
    : array_(py::reinterpret_borrow<py::object>(out)), dtype_(dtype), shape_(shape) {
  auto wanted = [&] {
    return fmt::format("a writeable, C-contiguous {} array of shape {}", numpy_row(dtype).name, shape_str(shape));
  };
  if (!is_ndarray(out))
    throw ArgumentError(fmt::format("{}: out= must be {}, not a {}", op, wanted(), Py_TYPE(out.ptr())->tp_name));
  const std::vector<std::string> problems = out_problems(as_array(out), dtype, shape);
  if (!problems.empty())
    throw ArgumentError(fmt::format("{}: out= must be {}, but {}", op, wanted(), fmt::join(problems, ", ")));
}

Tensor OutArray::target(const std::vector<ArrayOperand>& inputs) const {
  PyArrayObject* array = as_array(array_);
  const auto* begin = static_cast<const std::byte*>(PyArray_DATA(array));
  const std::byte* end = begin + PyArray_NBYTES(array);
  // A kernel's output must not overlap its operands (they are noalias): compute apart then.
  for (const ArrayOperand& in : inputs) {
    const auto* in_begin = static_cast<const std::byte*>(in.data.data());
    if (in_begin < end && begin < in_begin + in.data.nbytes()) return Tensor();
  }
  if (!PyArray_ISALIGNED(array)) return Tensor();
  // No owner: this object holds out for as long as the call, and the tensor does not outlive it.
  return Tensor::borrow(dtype_, shape_, PyArray_DATA(array), nullptr);
}

py::object OutArray::finish(const Tensor& result) const {
  void* data = PyArray_DATA(as_array(array_));
  if (result.data() != data) {
    if (result.nbytes()) std::memcpy(data, result.data(), result.nbytes());
    ++transfer_counters().outputs_copied;
  }
  return array_;
}

TransferCounters& transfer_counters() {
  static TransferCounters counters;
  return counters;
}

// ---- NumPy's allocator (NEP 49) ----

namespace {

// Each block starts 64-byte aligned inside a malloc'd one; the header just before it records
// where that one starts (for free) and the size (for realloc, which cannot keep the offset).
struct BlockHeader {
  void* base;
  size_t size;
};
constexpr size_t kSlack = kTensorAlignment + sizeof(BlockHeader);

void* place(void* base, size_t size) {
  if (!base) return nullptr;
  uintptr_t at = reinterpret_cast<uintptr_t>(base) + sizeof(BlockHeader);
  at = (at + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  auto* header = reinterpret_cast<BlockHeader*>(at) - 1;
  header->base = base;
  header->size = size;
  return reinterpret_cast<void*>(at);
}

BlockHeader& header_of(void* block) { return reinterpret_cast<BlockHeader*>(block)[-1]; }

void* aligned_malloc(void*, size_t size) {
  if (size > std::numeric_limits<size_t>::max() - kSlack) return nullptr;
  return place(std::malloc(size + kSlack), size);
}

// calloc, not malloc + memset: large zeroed arrays keep the kernel's lazily zeroed pages.
void* aligned_calloc(void*, size_t count, size_t item) {
  if (item && count > (std::numeric_limits<size_t>::max() - kSlack) / item) return nullptr;
  const size_t size = count * item;
  return place(std::calloc(1, size + kSlack), size);
}

void aligned_free(void*, void* block, size_t) {
  if (block) std::free(header_of(block).base);
}

void* aligned_realloc(void* context, void* block, size_t size) {
  if (!block) return aligned_malloc(context, size);
  void* moved = aligned_malloc(context, size);
  if (!moved) return nullptr;  // the old block stays valid, as realloc leaves it
  std::memcpy(moved, block, std::min(size, header_of(block).size));
  aligned_free(context, block, 0);
  return moved;
}

PyDataMem_Handler aligned_handler = {
    "tcc_aligned_64", 1, {nullptr, aligned_malloc, aligned_calloc, aligned_realloc, aligned_free}};

}  // namespace

const char* aligned_allocator_name() { return aligned_handler.name; }

py::object use_aligned_numpy_allocator() {
  // Made once and never freed: arrays allocated with the handler keep referring to it.
  static PyObject* capsule = PyCapsule_New(&aligned_handler, "mem_handler", nullptr);
  if (!capsule) throw py::error_already_set();
  PyObject* previous = PyDataMem_SetHandler(capsule);
  if (!previous) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(previous);
}

void restore_numpy_allocator(py::handle previous) {
  PyObject* replaced = PyDataMem_SetHandler(previous.ptr());
  if (!replaced) throw py::error_already_set();
  Py_DECREF(replaced);
}

}  // namespace tcc::python
