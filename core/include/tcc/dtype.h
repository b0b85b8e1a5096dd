// Element types of tcc tensors.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace tcc {

enum class DType : uint8_t { f32, f64, i32, i64 };
inline constexpr DType f32 = DType::f32;
inline constexpr DType f64 = DType::f64;
inline constexpr DType i32 = DType::i32;
inline constexpr DType i64 = DType::i64;

// A static shape: one extent per axis, row-major (C order).
using Shape = std::vector<int64_t>;

constexpr std::size_t dtype_size(DType t) {
  return (t == DType::f32 || t == DType::i32) ? 4 : 8;
}
constexpr bool is_float(DType t) { return t == DType::f32 || t == DType::f64; }
constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
  }
  return "?";
}

template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };

}  // namespace tcc
