// NumPy .npz archives (numpy.savez / savez_compressed): a ZIP file of .npy members.
// Reading accepts stored and deflated members, ZIP64, data descriptors and a trailing comment;
// it checks every offset, size and CRC-32 before use and refuses encrypted or split archives.
// Writing stores the members uncompressed, as numpy.savez does, atomically (a temp file renamed
// into place), and refuses archives of 4 GiB or more (write .npy files instead).
// Every failure throws tcc::InputError with a one-line reason.
#pragma once
#include <tcc/tensor.h>

#include <string>
#include <vector>

namespace tcc {

struct NamedTensor {
  std::string name;  // the member's name without its ".npy" suffix, as numpy.load's keys
  Tensor tensor;
};

std::vector<NamedTensor> read_npz(const std::string& path);
std::vector<NamedTensor> parse_npz(const void* bytes, std::size_t size);  // the same, from memory
void write_npz(const std::string& path, const std::vector<NamedTensor>& tensors);
std::string encode_npz(const std::vector<NamedTensor>& tensors);

}  // namespace tcc
