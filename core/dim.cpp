#include <tcc/dim.h>
#include <tcc/error.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace tcc {

namespace {

// Interned names, process-wide: a symbol's code is its index below kFirstSymbolCode.
struct Registry {
  std::mutex mutex;
  std::vector<std::string> names;
  std::unordered_map<std::string, int64_t> codes;
};

Registry& registry() {
  static Registry r;
  return r;
}

// The name behind a code, or nothing for a size or a code no dim() call returned.
std::optional<std::string> name_of(int64_t code) {
  if (!is_symbol(code)) return std::nullopt;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (kFirstSymbolCode - code >= static_cast<int64_t>(r.names.size())) return std::nullopt;
  return r.names[static_cast<size_t>(kFirstSymbolCode - code)];
}

constexpr size_t kMaxSymbols = size_t{1} << 20;  // a bound on what a fuzzed or looping caller can intern

bool is_identifier(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

}  // namespace

int64_t dim(std::string_view name) {
  if (!is_identifier(name))
    throw ArgumentError("dim: a symbolic dimension is named like a C identifier, got '" + std::string(name) + "'");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (auto it = r.codes.find(std::string(name)); it != r.codes.end()) return it->second;
  if (r.names.size() >= kMaxSymbols) throw ArgumentError("dim: too many symbolic dimensions in one process");
  const int64_t code = kFirstSymbolCode - static_cast<int64_t>(r.names.size());
  r.names.emplace_back(name);
  r.codes.emplace(std::string(name), code);
  return code;
}

std::string symbol_name(int64_t code) {
  if (std::optional<std::string> name = name_of(code)) return *name;
  throw ArgumentError("symbol_name: " + std::to_string(code) + " is not a symbolic dimension");
}

bool has_symbols(const Shape& shape) { return std::any_of(shape.begin(), shape.end(), is_symbol); }

std::string dim_str(int64_t extent) {
  // A code no dim() made is shown as the invalid number it is.
  return name_of(extent).value_or(std::to_string(extent));
}

}  // namespace tcc
