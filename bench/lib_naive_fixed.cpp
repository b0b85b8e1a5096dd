// "naive_fixed" (BASELINES.md): a plain C++ loop nest whose sizes are compile-time constants,
// the best known code for the seed's tiny batched shapes (library call overhead dominates
// there). Compiled with the bench's -O3 -march=native. Only the seed shapes are instantiated.
#include "bench.h"

namespace tcc_bench {
namespace {

// Row-axpy order (i, k, j) with one row of C kept in registers.
template <typename T, int M, int N, int K>
void fixed_product(const T* __restrict a, const T* __restrict b, T* __restrict c) {
  for (int i = 0; i < M; ++i) {
    T row[N];
    for (int j = 0; j < N; ++j) row[j] = 0;
    for (int k = 0; k < K; ++k) {
      const T a_ik = a[i * K + k];
      for (int j = 0; j < N; ++j) row[j] += a_ik * b[k * N + j];
    }
    for (int j = 0; j < N; ++j) c[i * N + j] = row[j];
  }
}

template <typename T, int M, int N, int K>
PreparedCall prepare_fixed(const Problem& p, ProblemData& data, int threads) {
  const T* a = data.a.data_as<T>();
  const T* b = data.b.data_as<T>();
  T* c = data.c.data_as<T>();
  const int64_t batch = p.batch();
  PreparedCall call;
  call.run = [a, b, c, batch, threads] {
    parallel_for(batch, threads, [&](int64_t i) {
      fixed_product<T, M, N, K>(a + i * (M * K), b + i * (K * N), c + i * (M * N));
    });
  };
  call.result = [c] { return static_cast<const void*>(c); };
  return call;
}

template <typename T>
PreparedCall prepare_typed(const Problem& p, ProblemData& data, int threads) {
  if (p.m == 4 && p.n == 8 && p.k == 5) return prepare_fixed<T, 4, 8, 5>(p, data, threads);
  if (p.m == 4 && p.n == 5 && p.k == 2) return prepare_fixed<T, 4, 5, 2>(p, data, threads);
  throw Unsupported("naive_fixed: shape not instantiated");
}

}  // namespace

Library make_naive_fixed_library() {
  Library library;
  library.name = "naive_fixed";
  library.applies = [](const Problem& p) { return p.seed_shape && !p.transpose_b && !p.shared_b; };
  library.prepare = [](const Problem& p, ProblemData& data, int threads) {
    return p.dtype == tcc::f32 ? prepare_typed<float>(p, data, threads) : prepare_typed<double>(p, data, threads);
  };
  library.describe = [] {
    return std::string("compile-time-size loop nest, ") + "g++ " + __VERSION__ + " -O3 -march=native";
  };
  return library;
}

}  // namespace tcc_bench
