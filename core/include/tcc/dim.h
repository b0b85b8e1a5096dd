// Symbolic dimensions: a name in a shape that stands for a size known only when the inputs
// arrive (`input a: f32[N, 4, 5]`, `g.input("a", tcc::f32, {tcc::dim("N"), 4, 5})`). A symbol
// is a reserved negative code inside a Shape, so that shapes keep their type; the same name
// always gives the same code, in every graph of the process. Tensors never hold one.
// docs/design/symbolic-dims.md says where this goes.
#pragma once
#include <tcc/dtype.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace tcc {

// Codes at or below this are symbols; any other negative extent is invalid.
inline constexpr int64_t kFirstSymbolCode = -(int64_t{1} << 40);

// The code of the symbol `name` (a C identifier, as .tc names are). Throws ArgumentError for
// another name.
int64_t dim(std::string_view name);
inline bool is_symbol(int64_t extent) { return extent <= kFirstSymbolCode; }
// The name of a symbol's code. Throws ArgumentError for a code no dim() call returned.
std::string symbol_name(int64_t code);
bool has_symbols(const Shape& shape);
// "4" for a size, "N" for a symbol.
std::string dim_str(int64_t extent);

}  // namespace tcc
