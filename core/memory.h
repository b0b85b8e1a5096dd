// The machine's physical memory, which allocations of tensors, a run's intermediates and the
// Python module's result blocks are checked against (core internal; not installed).
#pragma once
#include <cstdint>

namespace tcc {

// Bytes of physical memory (asked of the kernel once per process: each ask is a system call);
// the largest uint64_t when it cannot be known.
uint64_t physical_memory_bytes();

}  // namespace tcc
