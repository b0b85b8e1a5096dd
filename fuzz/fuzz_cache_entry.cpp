// libFuzzer target: the on-disk kernel cache's entry reader (driver/kernel_cache.cpp) on
// arbitrary bytes: an entry is accepted whole (magic, key, size and checksum agree) or
// refused with a reason, never read out of bounds.
#include "driver/kernel_cache.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  std::string why;
  auto entry = tcc::driver::detail::parse_cache_entry(bytes, why);
  if (!entry) {
    if (why.empty()) std::abort();  // a refusal must say why
    return 0;
  }
  if (entry->object.size() > bytes.size() || entry->key_text.size() > bytes.size()) std::abort();
  (void)tcc::driver::detail::parse_key_text(entry->key_text);
  return 0;
}
