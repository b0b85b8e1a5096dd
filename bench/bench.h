// Shared definitions of the tcc_bench program: the benchmark problems and the interface every
// library (tcc and the baselines) implements.
//
// All products are row-major C = A · op(B) with alpha = 1, beta = 0:
//   A: batch × M × K, B: batch × K × N (or N × K when transposed, or one matrix shared by the
//   whole batch), C: batch × M × N. FLOPs are counted as 2·M·N·K per matrix product.
#pragma once
#include <tcc/dtype.h>
#include <tcc/tensor.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace tcc_bench {

struct Problem {
  std::string name;         // short id used in benchmark names, e.g. "sq512"
  std::string description;  // what the table prints, e.g. "512³"
  tcc::DType dtype = tcc::f32;
  tcc::Shape batch_dims;    // batch dims of A (and of B unless shared_b); empty for one GEMM
  int64_t m = 0, n = 0, k = 0;
  bool transpose_b = false;  // B is stored N × K and used transposed (tf.matmul transpose_b)
  bool shared_b = false;     // one B broadcast over the batch of A (tf.matmul broadcasting)
  bool seed_shape = false;   // compared against the compile-time-size loop (naive_fixed)

  int64_t batch() const {
    int64_t product = 1;
    for (int64_t d : batch_dims) product *= d;
    return product;
  }
  double flops() const { return 2.0 * static_cast<double>(batch()) * m * n * k; }
  int64_t a_stride() const { return m * k; }
  int64_t b_stride() const { return shared_b ? 0 : k * n; }
  int64_t c_stride() const { return m * n; }
  int64_t ldb() const { return transpose_b ? k : n; }  // row stride of B as stored
  int64_t b_matrices() const { return shared_b ? 1 : batch(); }
  double bytes() const {  // each operand read or written once
    return static_cast<double>((batch() * (m * k + m * n) + b_matrices() * k * n) * tcc::dtype_size(dtype));
  }
  std::string full_name() const { return name + "_" + std::string(tcc::dtype_name(dtype)); }
};

// The operands of one problem, shared by every library (tcc reads A and B as tensors; the
// baselines write C).
struct ProblemData {
  tcc::Tensor a, b, c;
};

// A library does not support a problem (e.g. oneDNN 2.x has no f64): shown as "n/a", not an error.
class Unsupported : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One library prepared for one problem and thread count: `activate` re-applies the library's
// thread settings before every timed loop (other benchmarks change them), `run` is the timed
// call, `result` points at C after a run (row-major batch × M × N, the problem's dtype).
struct PreparedCall {
  std::function<void()> activate = [] {};
  std::function<void()> run;
  std::function<const void*()> result;
};

struct Library {
  std::string name;
  bool is_tcc = false;
  // Whether the library takes part in this problem at all (checked at registration).
  std::function<bool(const Problem&)> applies = [](const Problem&) { return true; };
  // Builds the call outside the timed loop (primitives, JIT kernels, compiled graphs).
  // Throws Unsupported, or anything else for a real failure.
  std::function<PreparedCall(const Problem&, ProblemData&, int threads)> prepare;
  // The thread count the library really runs with when `threads` are asked for.
  std::function<int(int threads)> effective_threads = [](int threads) { return threads; };
  // One line for the header: version and detected configuration.
  std::function<std::string()> describe;
};

Library make_tcc_library();
Library make_openblas_library();
Library make_blis_library();
Library make_eigen_library();
Library make_onednn_library();
Library make_libxsmm_library();
Library make_naive_fixed_library();

// Runs body(i) for i in [0, count), split over `threads` OpenMP threads when threads > 1: how
// the per-matrix libraries are parallelised on batched problems. A template so that the tiny
// per-matrix bodies are inlined (a std::function call would cost as much as a 4×5·5×8 product).
template <typename Body>
inline void parallel_for(int64_t count, int threads, const Body& body) {
  if (threads <= 1) {
    for (int64_t i = 0; i < count; ++i) body(i);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < count; ++i) body(i);
}

// The run step of a per-matrix library: one product(a, b, c) call, or one per batch element
// with the batch split over `threads` OpenMP threads.
template <typename T, typename Product>
std::function<void()> run_batched(const Problem& p, int threads, const T* a, const T* b, T* c, Product product) {
  if (p.batch() == 1) return [=] { product(a, b, c); };
  return [=] {
    parallel_for(p.batch(), threads,
                 [&](int64_t i) { product(a + i * p.a_stride(), b + i * p.b_stride(), c + i * p.c_stride()); });
  };
}

}  // namespace tcc_bench
