// How many threads compiled kernels use. The default is the CPUs this process may run on,
// or TCC_NUM_THREADS when set. 1 starts no thread. Results do not depend on the count.
#pragma once

namespace tcc {

void set_num_threads(int threads);  // >= 1, else ArgumentError
int num_threads();

}  // namespace tcc
