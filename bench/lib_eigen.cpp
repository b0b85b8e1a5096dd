// Eigen 3.4 products on Maps of the row-major operands (no BLAS backend). Eigen parallelises a
// single large product with OpenMP (setNbThreads); batched problems split the batch instead.
#include <Eigen/Core>

#include "bench.h"

namespace tcc_bench {
namespace {

template <typename T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <typename T>
void product(const Problem& p, const T* a, const T* b, T* c) {
  Eigen::Map<const RowMajor<T>> matrix_a(a, p.m, p.k);
  Eigen::Map<RowMajor<T>> matrix_c(c, p.m, p.n);
  if (p.transpose_b) {
    Eigen::Map<const RowMajor<T>> stored_b(b, p.n, p.k);
    matrix_c.noalias() = matrix_a * stored_b.transpose();
  } else {
    Eigen::Map<const RowMajor<T>> matrix_b(b, p.k, p.n);
    matrix_c.noalias() = matrix_a * matrix_b;
  }
}

template <typename T>
PreparedCall prepare_typed(const Problem& p, ProblemData& data, int threads) {
  const T* a = data.a.data_as<T>();
  const T* b = data.b.data_as<T>();
  T* c = data.c.data_as<T>();
  PreparedCall call;
  int library_threads = p.batch() == 1 ? threads : 1;
  call.activate = [library_threads] { Eigen::setNbThreads(library_threads); };
  call.result = [c] { return static_cast<const void*>(c); };
  call.run = run_batched(p, threads, a, b, c, [p](const T* a, const T* b, T* c) { product(p, a, b, c); });
  return call;
}

}  // namespace

Library make_eigen_library() {
  Library library;
  library.name = "Eigen";
  library.prepare = [](const Problem& p, ProblemData& data, int threads) {
    return p.dtype == tcc::f32 ? prepare_typed<float>(p, data, threads) : prepare_typed<double>(p, data, threads);
  };
  library.describe = [] {
    return "version " + std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
           std::to_string(EIGEN_MINOR_VERSION) + ", SIMD " + Eigen::SimdInstructionSetsInUse();
  };
  return library;
}

}  // namespace tcc_bench
