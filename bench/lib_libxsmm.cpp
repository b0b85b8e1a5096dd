// LIBXSMM: one JIT kernel dispatched per shape, called on the unpacked operands. LIBXSMM is
// column-major, so row-major C = A·op(B) runs as column-major Cᵀ = op(B)ᵀ·Aᵀ (A and B swap
// places). Its kernels are single-threaded: a batch is split over OpenMP threads, and a single
// product over 2 threads is split into row blocks of C (column blocks when M = 1).
#include <libxsmm.h>

#include <vector>

#include "bench.h"

namespace tcc_bench {
namespace {

void initialise() {
  static const bool done = [] {
    libxsmm_init();
    return true;
  }();
  (void)done;
}

template <typename T> struct Dispatch;
template <> struct Dispatch<float> {
  using Kernel = libxsmm_smmfunction;
  static Kernel get(libxsmm_blasint m, libxsmm_blasint n, libxsmm_blasint k, libxsmm_blasint lda,
                    libxsmm_blasint ldb, libxsmm_blasint ldc, int flags) {
    float alpha = 1, beta = 0;
    int prefetch = LIBXSMM_GEMM_PREFETCH_NONE;
    return libxsmm_smmdispatch(m, n, k, &lda, &ldb, &ldc, &alpha, &beta, &flags, &prefetch);
  }
};
template <> struct Dispatch<double> {
  using Kernel = libxsmm_dmmfunction;
  static Kernel get(libxsmm_blasint m, libxsmm_blasint n, libxsmm_blasint k, libxsmm_blasint lda,
                    libxsmm_blasint ldb, libxsmm_blasint ldc, int flags) {
    double alpha = 1, beta = 0;
    int prefetch = LIBXSMM_GEMM_PREFETCH_NONE;
    return libxsmm_dmmdispatch(m, n, k, &lda, &ldb, &ldc, &alpha, &beta, &flags, &prefetch);
  }
};

// One kernel call on a block of C: element offsets into A, B and C.
template <typename T>
struct Block {
  typename Dispatch<T>::Kernel kernel;
  int64_t a_offset, b_offset, c_offset;
};

template <typename T>
PreparedCall prepare_typed(const Problem& p, ProblemData& data, int threads) {
  initialise();
  const T* a = data.a.data_as<T>();
  const T* b = data.b.data_as<T>();
  T* c = data.c.data_as<T>();
  const int flags = p.transpose_b ? LIBXSMM_GEMM_FLAG_TRANS_A : LIBXSMM_GEMM_FLAG_NONE;
  const libxsmm_blasint lda = p.transpose_b ? p.k : p.n;  // op(B)ᵀ as LIBXSMM's "A"
  auto dispatch = [&](int64_t rows, int64_t cols) {  // a rows × cols block of row-major C
    auto kernel = Dispatch<T>::get(cols, rows, p.k, lda, p.k, p.n, flags);
    if (!kernel)
      throw Unsupported("LIBXSMM: no kernel for " + std::to_string(rows) + "x" + std::to_string(cols) + "x" +
                        std::to_string(p.k) + (p.transpose_b ? " with transposed B" : ""));
    return kernel;
  };

  std::vector<Block<T>> blocks;
  const bool split_single = p.batch() == 1 && threads > 1;
  if (!split_single) {
    blocks.push_back({dispatch(p.m, p.n), 0, 0, 0});
  } else if (p.m >= threads) {
    for (int t = 0; t < threads; ++t) {
      int64_t r0 = p.m * t / threads, r1 = p.m * (t + 1) / threads;
      blocks.push_back({dispatch(r1 - r0, p.n), r0 * p.k, 0, r0 * p.n});
    }
  } else {
    for (int t = 0; t < threads; ++t) {
      int64_t c0 = p.n * t / threads, c1 = p.n * (t + 1) / threads;
      blocks.push_back({dispatch(p.m, c1 - c0), 0, p.transpose_b ? c0 * p.k : c0, c0});
    }
  }

  PreparedCall call;
  call.result = [c] { return static_cast<const void*>(c); };
  if (split_single) {
    call.run = [blocks, a, b, c, threads] {
      parallel_for(static_cast<int64_t>(blocks.size()), threads, [&](int64_t i) {
        const Block<T>& block = blocks[i];
        block.kernel(b + block.b_offset, a + block.a_offset, c + block.c_offset);
      });
    };
  } else {
    auto kernel = blocks.front().kernel;
    call.run = [p, kernel, a, b, c, threads] {
      parallel_for(p.batch(), threads, [&](int64_t i) {
        kernel(b + i * p.b_stride(), a + i * p.a_stride(), c + i * p.c_stride());
      });
    };
  }
  return call;
}

}  // namespace

Library make_libxsmm_library() {
  Library library;
  library.name = "LIBXSMM";
  library.prepare = [](const Problem& p, ProblemData& data, int threads) {
    return p.dtype == tcc::f32 ? prepare_typed<float>(p, data, threads) : prepare_typed<double>(p, data, threads);
  };
  library.describe = [] {
    initialise();
    return std::string("version ") + LIBXSMM_VERSION + ", JIT target " + libxsmm_get_target_arch();
  };
  return library;
}

}  // namespace tcc_bench
