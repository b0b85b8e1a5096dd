// Helpers shared by the .npy and .npz tests: a temporary directory, file bytes, deterministic
// tensors whose values NumPy recomputes independently, and a way to run a NumPy script.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <tcc/tensor.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace tcc::test {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "tcc_npy_XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (!::mkdtemp(buffer.data())) throw std::runtime_error("mkdtemp failed");
    path_ = buffer.data();
  }
  ~TempDir() {
    std::error_code ignored;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ignored);
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename().string());
    return names;
  }

 private:
  fs::path path_;
};

inline std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_file_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Deterministic test values, element i of the flattened C-order array; the NumPy side computes
// the same formulas independently (see kNumpyValues).
template <typename T> T value_at(int64_t i);
template <> inline float value_at<float>(int64_t i) { return static_cast<float>(i) * 0.25f - 3.0f; }
template <> inline double value_at<double>(int64_t i) { return static_cast<double>(i) * 0.125 - 1.5; }
template <> inline int32_t value_at<int32_t>(int64_t i) { return static_cast<int32_t>(i * 7 - 50); }
template <> inline int64_t value_at<int64_t>(int64_t i) { return i * 1000000007 - 5; }

template <typename T>
Tensor make_tensor(const Shape& shape) {
  Tensor t(tcc::dtype_of<T>::value, shape);
  T* p = t.data_as<T>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = value_at<T>(i);
  return t;
}

template <typename T>
void expect_values(const Tensor& t, DType dtype, const Shape& shape) {
  ASSERT_EQ(t.dtype(), dtype);
  ASSERT_EQ(t.shape(), shape);
  std::vector<T> got = t.to_vector<T>();
  ASSERT_EQ(static_cast<int64_t>(got.size()), tcc::checked_numel(shape));
  for (int64_t i = 0; i < static_cast<int64_t>(got.size()); ++i) ASSERT_EQ(got[i], value_at<T>(i)) << "element " << i;
}

inline const char* const kPython = "/usr/bin/python3";

inline bool numpy_available() {
  static const bool available =
      std::system((std::string(kPython) + " -c 'import numpy' >/dev/null 2>&1").c_str()) == 0;
  return available;
}

// The formulas of value_at, computed by NumPy.
inline const char* const kNumpyValues = R"(
import sys
import numpy as np
def values(dtype, shape):
    n = int(np.prod(shape, dtype=np.int64))
    i = np.arange(n, dtype=np.int64)
    if dtype == 'f4': v = (i.astype(np.float32) * np.float32(0.25) - np.float32(3)).astype(np.float32)
    elif dtype == 'f8': v = i.astype(np.float64) * 0.125 - 1.5
    elif dtype == 'i4': v = (i * 7 - 50).astype(np.int32)
    else: v = i * 1000000007 - 5
    return v.reshape(shape)
)";

// Runs a Python script with NumPy; returns its exit status (0 = success).
inline int run_python(const TempDir& dir, const std::string& body) {
  std::string script = dir.file("script.py");
  write_file_bytes(script, std::string(kNumpyValues) + body);
  std::string command = std::string(kPython) + " '" + script + "' '" + dir.path().string() + "'";
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace tcc::test
