#include "memory.h"

#include <cstdlib>
#include <limits>

#include <sys/mman.h>
#include <unistd.h>

namespace tcc {

uint64_t physical_memory_bytes() {
  static const uint64_t bytes = [] {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page)
                                 : std::numeric_limits<uint64_t>::max();
  }();
  return bytes;
}

void* allocate_tensor_memory(uint64_t bytes) {
  constexpr uint64_t kHugePage = uint64_t{2} << 20;
  if (bytes < 2 * kHugePage) return std::aligned_alloc(64, bytes);
  const uint64_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* block = std::aligned_alloc(kHugePage, rounded);
  if (block) madvise(block, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing
  return block;
}

}  // namespace tcc
