// The runtime's thread pool and the C ABI generated code calls to run a parallel loop.
#pragma once
#include <cstdint>

extern "C" {
// Runs task(closure, i) for i in [0, n), on the pool's threads and the caller; returns 0, or
// the first non-zero task result. With one thread, inside a task, or while the pool is busy
// with another caller's loop, it runs every iteration on the calling thread.
int tcc_parallel_for(int (*task)(void* closure, int64_t i), void* closure, int64_t n);
}

namespace tcc::runtime {

// The CPUs this process may run on (sched_getaffinity), at least 1.
int available_cpus();

}  // namespace tcc::runtime
