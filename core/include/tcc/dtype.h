// Element types of tcc tensors. Every fact about a dtype is one row of kDTypes: adding a dtype
// means one enumerator, one row, and whatever is genuinely dtype-specific in kernels.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
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

struct DTypeInfo {
  DType dtype;
  std::string_view name;        // in .tc files and printed IR: f32
  std::size_t size;             // bytes
  bool is_float;                // IEEE float (else two's-complement integer, wrapping like NumPy's)
  std::string_view c_type;      // in generated C headers: float
  std::string_view npy_code;    // .npy descr without the byte order: f4
};

// Indexed by DType.
inline constexpr std::array<DTypeInfo, 4> kDTypes{{
    {DType::f32, "f32", 4, true, "float", "f4"},
    {DType::f64, "f64", 8, true, "double", "f8"},
    {DType::i32, "i32", 4, false, "int32_t", "i4"},
    {DType::i64, "i64", 8, false, "int64_t", "i8"},
}};

static_assert([] {
  for (std::size_t i = 0; i < kDTypes.size(); ++i)
    if (static_cast<std::size_t>(kDTypes[i].dtype) != i) return false;
  return true;
}(), "kDTypes rows must be in DType order");

constexpr const DTypeInfo& dtype_info(DType t) { return kDTypes[static_cast<std::size_t>(t)]; }
constexpr std::size_t dtype_size(DType t) { return dtype_info(t).size; }
constexpr bool is_float(DType t) { return dtype_info(t).is_float; }
constexpr std::string_view dtype_name(DType t) { return dtype_info(t).name; }

// The dtype whose `field` (a DTypeInfo member such as &DTypeInfo::name) equals `value`.
constexpr std::optional<DType> find_dtype(std::string_view DTypeInfo::*field, std::string_view value) {
  for (const DTypeInfo& info : kDTypes)
    if (info.*field == value) return info.dtype;
  return std::nullopt;
}

template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };

// Calls f(T{}) with the C++ type of `t`: code that is generic over element types writes the
// body once instead of a switch.
template <typename F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    case DType::i32: return f(int32_t{});
    case DType::i64: return f(int64_t{});
  }
  return f(float{});
}

}  // namespace tcc
