// tcc's C++ errors as Python exceptions (tcc.Error and its subclasses, each also a ValueError or
// TypeError where Python code would raise one), and the batch_dot convention warning.
#pragma once
#include <pybind11/pybind11.h>

#include <exception>
#include <string>

namespace tcc::python {

namespace py = pybind11;

// Adds tcc.Error, tcc.ShapeError, ..., tcc.ConventionWarning to the module.
void register_errors(py::module_& m);
// For py::register_exception_translator: a tcc::Error becomes its Python class with the same
// message; anything else is rethrown for pybind11's own translation.
void translate_tcc_error(std::exception_ptr thrown);
// Sets the Python error for any exception (functions outside pybind11's dispatcher): tcc's
// errors as above, pybind11's Python errors as they are, other C++ exceptions as RuntimeError.
void set_python_error(std::exception_ptr thrown);
// warnings.warn(message, tcc.ConventionWarning), attributed to the Python caller's line;
// throws py::error_already_set when a warnings filter turns it into an error.
void warn_convention(const std::string& message);

}  // namespace tcc::python
