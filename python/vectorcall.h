// Module functions in CPython's vectorcall convention (METH_FASTCALL | METH_KEYWORDS): the ops
// on arrays run in tight loops on sub-microsecond kernels, where pybind11's dispatcher (an
// argument tuple and dict built per call, then overload resolution) cost 0.2-0.4 µs a call of
// the 1.5 µs the issue allows over the C++ BoundRun call.
#pragma once
#include "errors.h"

#include <pybind11/pybind11.h>

#include <fmt/format.h>

#include <array>
#include <cstddef>

namespace tcc::python {

namespace py = pybind11;

// A Python signature: `names` in order, the first `positional` of them may be passed by
// position (the rest only by keyword), the first `required` must be passed.
template <size_t N>
struct Signature {
  const char* function;
  std::array<const char*, N> names;
  size_t positional;
  size_t required;
};

// The arguments of a vectorcall bound to the signature's parameters (borrowed; null where not
// passed), with Python's TypeErrors for a call that does not fit.
template <size_t N>
std::array<PyObject*, N> bind_arguments(const Signature<N>& signature, PyObject* const* args, Py_ssize_t nargs,
                                        PyObject* kwnames) {
  std::array<PyObject*, N> bound{};
  const size_t given = static_cast<size_t>(nargs);
  if (given > signature.positional)
    throw py::type_error(fmt::format("{}() takes at most {} positional arguments ({} given)", signature.function,
                                     signature.positional, given));
  for (size_t i = 0; i < given; ++i) bound[i] = args[i];
  const Py_ssize_t keywords = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t k = 0; k < keywords; ++k) {
    PyObject* name = PyTuple_GET_ITEM(kwnames, k);
    size_t i = 0;
    while (i < N && PyUnicode_CompareWithASCIIString(name, signature.names[i]) != 0) ++i;
    if (i == N)
      throw py::type_error(fmt::format("{}() got an unexpected keyword argument '{}'", signature.function,
                                       py::str(name).cast<std::string>()));
    if (bound[i])
      throw py::type_error(fmt::format("{}() got multiple values for argument '{}'", signature.function, signature.names[i]));
    bound[i] = args[nargs + k];
  }
  for (size_t i = 0; i < signature.required; ++i)
    if (!bound[i])
      throw py::type_error(fmt::format("{}() missing required argument '{}'", signature.function, signature.names[i]));
  return bound;
}

// An optional argument: the object passed, or `fallback` (None by default).
inline py::handle or_default(PyObject* argument, py::handle fallback = py::none()) {
  return argument ? py::handle(argument) : fallback;
}

// Python truth of an optional argument (false when not passed).
inline bool truth(PyObject* argument) {
  if (!argument) return false;
  const int value = PyObject_IsTrue(argument);
  if (value < 0) throw py::error_already_set();
  return value != 0;
}

using VectorcallBody = py::object (*)(PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames);

// The C entry of a vectorcall function: runs `Body`, turning C++ exceptions into Python ones.
template <VectorcallBody Body>
PyObject* vectorcall_entry(PyObject* /*module*/, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  try {
    return Body(args, nargs, kwnames).release().ptr();
  } catch (...) {
    set_python_error(std::current_exception());
    return nullptr;
  }
}

// Adds a vectorcall function to the module. `doc` starts with "name(signature)\n--\n\n" so
// that inspect.signature and help() show the parameters. The definition must outlive the
// module (a static).
inline void add_vectorcall_function(py::module_& m, PyMethodDef& definition) {
  PyObject* function = PyCFunction_NewEx(&definition, nullptr, m.attr("__name__").ptr());
  if (!function) throw py::error_already_set();
  m.add_object(definition.ml_name, py::reinterpret_steal<py::object>(function));
}

}  // namespace tcc::python
