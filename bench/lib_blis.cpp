// BLIS (Debian's OpenMP build), loaded with dlopen(RTLD_LOCAL | RTLD_DEEPBIND): BLIS and
// OpenBLAS both export cblas_* and sgemm_, so BLIS must not enter the global symbol namespace
// and must bind its own internal calls to itself. blis.h is included only for the types of its
// typed API (bli_?gemm / bli_?gemv with row and column strides); nothing links against -lblis.
#include <blis.h>
#include <dlfcn.h>

#include <cstdlib>
#include <string>

#include "bench.h"

#ifndef TCC_BENCH_BLIS_LIBRARY
#define TCC_BENCH_BLIS_LIBRARY "libblis.so.4"
#endif

namespace tcc_bench {
namespace {

struct BlisApi {
  decltype(&bli_init) init = nullptr;
  decltype(&bli_arch_query_id) arch_query_id = nullptr;
  decltype(&bli_arch_string) arch_string = nullptr;
  decltype(&bli_info_get_version_str) version = nullptr;
  decltype(&bli_info_get_enable_openmp) enable_openmp = nullptr;
  decltype(&bli_thread_set_num_threads) set_num_threads = nullptr;
  decltype(&bli_sgemm) sgemm = nullptr;
  decltype(&bli_dgemm) dgemm = nullptr;
  decltype(&bli_sgemv) sgemv = nullptr;
  decltype(&bli_dgemv) dgemv = nullptr;
  std::string path;
};

template <typename F>
void resolve(void* handle, const char* symbol, F& out) {
  out = reinterpret_cast<F>(dlsym(handle, symbol));
  if (!out) throw std::runtime_error(std::string("BLIS: symbol ") + symbol + " not found");
}

// Loaded once, on first use (after main() has put BLIS_ARCH_TYPE in the environment).
const BlisApi& blis() {
  static const BlisApi api = [] {
    BlisApi loaded;
    const char* override_path = std::getenv("TCC_BENCH_BLIS_LIBRARY");
    loaded.path = override_path ? override_path : TCC_BENCH_BLIS_LIBRARY;
    void* handle = dlopen(loaded.path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!handle) throw std::runtime_error("BLIS: dlopen " + loaded.path + " failed: " + dlerror());
    resolve(handle, "bli_init", loaded.init);
    resolve(handle, "bli_arch_query_id", loaded.arch_query_id);
    resolve(handle, "bli_arch_string", loaded.arch_string);
    resolve(handle, "bli_info_get_version_str", loaded.version);
    resolve(handle, "bli_info_get_enable_openmp", loaded.enable_openmp);
    resolve(handle, "bli_thread_set_num_threads", loaded.set_num_threads);
    resolve(handle, "bli_sgemm", loaded.sgemm);
    resolve(handle, "bli_dgemm", loaded.dgemm);
    resolve(handle, "bli_sgemv", loaded.sgemv);
    resolve(handle, "bli_dgemv", loaded.dgemv);
    loaded.init();  // must precede bli_arch_query_id() when BLIS_ARCH_TYPE is set
    return loaded;
  }();
  return api;
}

// op(B) as a K × N matrix with strides: row-major K × N, or the transpose of a row-major N × K.
struct Strides {
  inc_t row, col;
};
Strides b_strides(const Problem& p) { return p.transpose_b ? Strides{1, p.k} : Strides{p.n, 1}; }

void gemm(const Problem& p, const float* a, const float* b, float* c) {
  float one = 1, zero = 0;
  Strides sb = b_strides(p);
  blis().sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, p.m, p.n, p.k, &one, const_cast<float*>(a), p.k, 1,
               const_cast<float*>(b), sb.row, sb.col, &zero, c, p.n, 1);
}
void gemm(const Problem& p, const double* a, const double* b, double* c) {
  double one = 1, zero = 0;
  Strides sb = b_strides(p);
  blis().dgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, p.m, p.n, p.k, &one, const_cast<double*>(a), p.k, 1,
               const_cast<double*>(b), sb.row, sb.col, &zero, c, p.n, 1);
}
// y(1×N) = x(1×K) · op(B) as y = op(B)ᵀ x: BLIS's gemm with m = 1 is 10x slower than its gemv.
void gemv(const Problem& p, const float* x, const float* b, float* y) {
  float one = 1, zero = 0;
  Strides sb = b_strides(p);  // op(B)ᵀ has the swapped strides
  blis().sgemv(BLIS_NO_TRANSPOSE, BLIS_NO_CONJUGATE, p.n, p.k, &one, const_cast<float*>(b), sb.col, sb.row,
               const_cast<float*>(x), 1, &zero, y, 1);
}
void gemv(const Problem& p, const double* x, const double* b, double* y) {
  double one = 1, zero = 0;
  Strides sb = b_strides(p);
  blis().dgemv(BLIS_NO_TRANSPOSE, BLIS_NO_CONJUGATE, p.n, p.k, &one, const_cast<double*>(b), sb.col, sb.row,
               const_cast<double*>(x), 1, &zero, y, 1);
}

template <typename T>
PreparedCall prepare_typed(const Problem& p, ProblemData& data, int threads) {
  const T* a = data.a.data_as<T>();
  const T* b = data.b.data_as<T>();
  T* c = data.c.data_as<T>();
  PreparedCall call;
  // Batched problems: one BLIS thread per call, the batch split over OpenMP threads.
  int library_threads = p.batch() == 1 ? threads : 1;
  call.activate = [library_threads] { blis().set_num_threads(library_threads); };
  call.result = [c] { return static_cast<const void*>(c); };
  if (p.batch() == 1 && p.m == 1) {
    call.run = [p, a, b, c] { gemv(p, a, b, c); };
  } else {
    call.run = run_batched(p, threads, a, b, c, [p](const T* a, const T* b, T* c) { gemm(p, a, b, c); });
  }
  return call;
}

}  // namespace

Library make_blis_library() {
  Library library;
  library.name = "BLIS";
  library.prepare = [](const Problem& p, ProblemData& data, int threads) {
    return p.dtype == tcc::f32 ? prepare_typed<float>(p, data, threads) : prepare_typed<double>(p, data, threads);
  };
  library.describe = [] {
    const BlisApi& api = blis();
    return std::string("version ") + api.version() + ", arch " + api.arch_string(api.arch_query_id()) +
           (api.enable_openmp() ? ", openmp" : ", not openmp") + " (" + api.path + ")";
  };
  return library;
}

}  // namespace tcc_bench
