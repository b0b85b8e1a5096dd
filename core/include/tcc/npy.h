// NumPy .npy files: read versions 1.0/2.0/3.0, little-endian <f4 <f8 <i4 <i8, C or Fortran order;
// write version 1.0, C order. Every failure throws tcc::InputError with a one-line reason.
#pragma once
#include <tcc/tensor.h>

#include <string>

namespace tcc {

Tensor read_npy(const std::string& path);
Tensor parse_npy(const void* bytes, std::size_t size);  // the same, from memory
// Writes atomically (a temp file renamed into place): a failed write leaves no file.
void write_npy(const std::string& path, const Tensor& tensor);
std::string encode_npy(const Tensor& tensor);
// The header encode_npy puts before the tensor's bytes (its size is a multiple of 64).
std::string encode_npy_header(const Tensor& tensor);

}  // namespace tcc
