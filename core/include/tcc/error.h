// The errors the public API throws. Every one is a tcc::Error.
#pragma once
#include <stdexcept>
#include <string>

namespace tcc {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A shape rule of spec/semantics.md was broken (raised when the node is built).
struct ShapeError : Error { using Error::Error; };
// Operands of different dtypes (no implicit promotion).
struct DTypeError : Error { using Error::Error; };
// A bad argument that is not a shape mismatch: unknown input name, bad attribute, ...
struct ArgumentError : Error { using Error::Error; };
// A .tc file that cannot be parsed or checked; what() holds every rendered diagnostic.
struct ParseError : Error { using Error::Error; };
// Bad data given at run time: a missing feed, a corrupt .npy, a size that does not fit memory.
struct InputError : Error { using Error::Error; };
// LLVM failed to compile a kernel (an llvm::Error converted at the codegen boundary).
struct CompileError : Error { using Error::Error; };
// A bug in tcc itself.
struct InternalError : Error { using Error::Error; };

}  // namespace tcc
