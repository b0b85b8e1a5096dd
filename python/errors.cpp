// tcc's errors and warnings as Python's (errors.h).
#include "errors.h"

#include <tcc/error.h>

#include <fmt/format.h>

#include <new>

namespace tcc::python {

namespace {

// The Python classes of tcc's errors. Each is also a tcc.Error, as each C++ error is a
// tcc::Error, and a ValueError or TypeError where Python code would raise one.
struct PythonErrors {
  PyObject* error = nullptr;
  PyObject* shape = nullptr;
  PyObject* dtype = nullptr;
  PyObject* argument = nullptr;
  PyObject* input = nullptr;
  PyObject* parse = nullptr;
  PyObject* compile = nullptr;
  PyObject* internal = nullptr;
  PyObject* convention_warning = nullptr;
};

PythonErrors& python_errors() {
  static PythonErrors errors;
  return errors;
}

// A new exception class tcc.<name>, added to the module (which keeps it alive).
PyObject* add_exception(py::module_& m, const char* name, const py::tuple& bases, const char* doc) {
  const std::string qualified = fmt::format("tcc.{}", name);
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (!type) throw py::error_already_set();
  m.add_object(name, py::reinterpret_steal<py::object>(type));
  return type;
}

}  // namespace

void register_errors(py::module_& m) {
  PythonErrors& e = python_errors();
  e.error = add_exception(m, "Error", py::make_tuple(py::handle(PyExc_RuntimeError)),
                          "Every error tcc raises (tcc::Error in C++).");
  auto bases = [&](PyObject* python_base) { return py::make_tuple(py::handle(e.error), py::handle(python_base)); };
  e.shape = add_exception(m, "ShapeError", bases(PyExc_ValueError),
                          "A shape rule was broken: the message names the op, both shapes, the axes and the sizes that disagree.");
  e.dtype = add_exception(m, "DTypeError", bases(PyExc_TypeError),
                          "Operands of different dtypes (tcc does not promote), or a dtype tcc has no kernels for.");
  e.argument = add_exception(m, "ArgumentError", bases(PyExc_ValueError),
                             "A bad argument that is not a shape mismatch: a bad attribute, an unknown input, a bad out=.");
  e.input = add_exception(m, "InputError", bases(PyExc_ValueError),
                          "Bad data at run time: a missing or mis-shaped feed, a size that does not fit memory.");
  e.parse = add_exception(m, "ParseError", bases(PyExc_ValueError), "Text tcc cannot parse.");
  e.compile = add_exception(m, "CompileError", py::make_tuple(py::handle(e.error)), "LLVM failed to compile a kernel.");
  e.internal = add_exception(m, "InternalError", py::make_tuple(py::handle(e.error)), "A bug in tcc itself.");
  e.convention_warning = add_exception(
      m, "ConventionWarning", py::make_tuple(py::handle(PyExc_UserWarning)),
      "batch_dot without legacy= on shapes where Keras <= 2.2.4 (legacy) gives another result than modern Keras.");
}

void translate_tcc_error(std::exception_ptr thrown) {
  const PythonErrors& e = python_errors();
  try {
    std::rethrow_exception(thrown);
  } catch (const ShapeError& x) {
    PyErr_SetString(e.shape, x.what());
  } catch (const DTypeError& x) {
    PyErr_SetString(e.dtype, x.what());
  } catch (const ArgumentError& x) {
    PyErr_SetString(e.argument, x.what());
  } catch (const InputError& x) {
    PyErr_SetString(e.input, x.what());
  } catch (const ParseError& x) {
    PyErr_SetString(e.parse, x.what());
  } catch (const CompileError& x) {
    PyErr_SetString(e.compile, x.what());
  } catch (const InternalError& x) {
    PyErr_SetString(e.internal, x.what());
  } catch (const Error& x) {
    PyErr_SetString(e.error, x.what());
  }
}

void set_python_error(std::exception_ptr thrown) {
  try {
    std::rethrow_exception(thrown);
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const py::builtin_exception& e) {
    e.set_error();
  } catch (const Error&) {
    translate_tcc_error(std::current_exception());
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  } catch (...) {
    PyErr_SetString(PyExc_RuntimeError, "an unknown C++ exception");
  }
}

// stacklevel 1 is the Python line that called the op: a C function adds no frame.
void warn_convention(const std::string& message) {
  if (PyErr_WarnEx(python_errors().convention_warning, message.c_str(), 1) < 0) throw py::error_already_set();
}

}  // namespace tcc::python
