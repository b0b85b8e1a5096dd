// OpenBLAS (Debian's OpenMP build), linked normally. Its kernels are chosen by a load-time
// constructor from OPENBLAS_CORETYPE, which main() sets before the process starts (re-exec).
#include <cblas.h>

#include "bench.h"

namespace tcc_bench {
namespace {

void gemm(CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b, int64_t ldb,
          float* c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, m, n, k, 1.0f, a, k, b, ldb, 0.0f, c, n);
}
void gemm(CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, const double* a, const double* b, int64_t ldb,
          double* c) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, tb, m, n, k, 1.0, a, k, b, ldb, 0.0, c, n);
}
// y(1×N) = x(1×K) · op(B): OpenBLAS 0.3.21 does not forward M = 1 gemm to gemv (6 vs 20 GF/s).
void gemv(const Problem& p, const float* x, const float* b, float* y) {
  if (p.transpose_b) cblas_sgemv(CblasRowMajor, CblasNoTrans, p.n, p.k, 1.0f, b, p.k, x, 1, 0.0f, y, 1);
  else cblas_sgemv(CblasRowMajor, CblasTrans, p.k, p.n, 1.0f, b, p.n, x, 1, 0.0f, y, 1);
}
void gemv(const Problem& p, const double* x, const double* b, double* y) {
  if (p.transpose_b) cblas_dgemv(CblasRowMajor, CblasNoTrans, p.n, p.k, 1.0, b, p.k, x, 1, 0.0, y, 1);
  else cblas_dgemv(CblasRowMajor, CblasTrans, p.k, p.n, 1.0, b, p.n, x, 1, 0.0, y, 1);
}

template <typename T>
PreparedCall prepare_typed(const Problem& p, ProblemData& data, int threads) {
  const T* a = data.a.data_as<T>();
  const T* b = data.b.data_as<T>();
  T* c = data.c.data_as<T>();
  CBLAS_TRANSPOSE tb = p.transpose_b ? CblasTrans : CblasNoTrans;
  PreparedCall call;
  // Batched problems: one OpenBLAS thread per call, the batch split over OpenMP threads.
  int library_threads = p.batch() == 1 ? threads : 1;
  call.activate = [library_threads] { openblas_set_num_threads(library_threads); };
  call.result = [c] { return static_cast<const void*>(c); };
  if (p.batch() == 1 && p.m == 1) {
    call.run = [p, a, b, c] { gemv(p, a, b, c); };
  } else {
    call.run = run_batched(p, threads, a, b, c,
                           [p, tb](const T* a, const T* b, T* c) { gemm(tb, p.m, p.n, p.k, a, b, p.ldb(), c); });
  }
  return call;
}

}  // namespace

Library make_openblas_library() {
  Library library;
  library.name = "OpenBLAS";
  library.prepare = [](const Problem& p, ProblemData& data, int threads) {
    return p.dtype == tcc::f32 ? prepare_typed<float>(p, data, threads) : prepare_typed<double>(p, data, threads);
  };
  library.describe = [] {
    return std::string("core ") + openblas_get_corename() + ", config: " + openblas_get_config();
  };
  return library;
}

}  // namespace tcc_bench
