// The machine's physical memory, which allocations of tensors, a run's intermediates and the
// Python module's result blocks are checked against (core internal; not installed).
#pragma once
#include <cstdint>

namespace tcc {

// Bytes of physical memory (asked of the kernel once per process: each ask is a system call);
// the largest uint64_t when it cannot be known.
uint64_t physical_memory_bytes();

// `bytes` (a multiple of 64) of 64-byte-aligned memory for a tensor's data, or null; freed with
// std::free. A block of 4 MiB or more starts on a 2 MiB boundary and is advised to transparent
// huge pages, as NumPy's large arrays are: a fresh result then faults once per 2 MiB instead of
// once per 4 KiB page, which took longer than the kernel writing it.
void* allocate_tensor_memory(uint64_t bytes);

}  // namespace tcc
