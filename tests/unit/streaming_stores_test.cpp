// Outputs past the caches are written with non-temporal stores (ForKind::streaming): element
// by element up to the first vector-aligned element, whole aligned vectors, then the rest.
// Every alignment of the output and of the inputs gives the plain loop's results exactly
// (TCC_STREAM_STORES=0), in one loop and in rows of a broadcast (a loop per row), on one
// thread and on two.
#include <tcc/tcc.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

using tcc::Shape;
using tcc::Tensor;

// A float tensor over `storage` from element `offset` on (4-byte steps off a 64-byte boundary).
Tensor borrowed(std::vector<float>& storage, size_t offset, const Shape& shape) {
  return Tensor::borrow(tcc::f32, shape, storage.data() + offset, nullptr);
}

tcc::CompiledGraph compile(const Shape& a_shape, const Shape& b_shape, bool stream) {
  setenv("TCC_STREAM_STORES", stream ? "1" : "0", 1);
  tcc::Graph g;
  auto a = g.input("a", tcc::f32, a_shape), b = g.input("b", tcc::f32, b_shape);
  tcc::CompiledGraph fn = g.compile({tcc::relu(a * 2.0 + b) - a});
  unsetenv("TCC_STREAM_STORES");
  return fn;
}

TEST(StreamingStores, EveryAlignmentMatchesThePlainLoop) {
  struct Case {
    Shape a, b;
  };
  // 16 MiB and a little more: one loop of 4M + 13 elements; rows of 2051 (a broadcast row).
  const std::vector<Case> cases{{{(4 << 20) + 13}, {(4 << 20) + 13}}, {{2053, 2051}, {2051}}};
  const int threads_before = tcc::num_threads();
  for (int threads : {1, 2}) {
    tcc::set_num_threads(threads);
    for (const Case& c : cases) {
      const int64_t n = tcc::checked_static_numel(c.a), nb = tcc::checked_static_numel(c.b);
      std::vector<float> a(n + 16), b(nb + 16), out(n + 16), want(n + 16);
      for (int64_t i = 0; i < n + 16; ++i) a[i] = static_cast<float>(i % 1000) * 0.01f - 5;
      for (int64_t i = 0; i < nb + 16; ++i) b[i] = static_cast<float>(i % 777) * 0.02f - 7;
      tcc::CompiledGraph streaming = compile(c.a, c.b, true), plain = compile(c.a, c.b, false);
      for (size_t out_offset : {0, 1, 7, 15})
        for (size_t in_offset : {0, 3}) {
          const std::string what = std::to_string(threads) + " thread(s), " + std::to_string(c.a.size()) +
                                   "-D, output offset " + std::to_string(out_offset) + ", input offset " +
                                   std::to_string(in_offset);
          const tcc::Feeds feeds{{"a", borrowed(a, in_offset, c.a)}, {"b", borrowed(b, in_offset, c.b)}};
          std::fill(out.begin(), out.end(), -1.0f);
          std::vector<Tensor> outputs{borrowed(out, out_offset, c.a)}, expected{borrowed(want, 0, c.a)};
          streaming.run(feeds, outputs);
          plain.run(feeds, expected);
          ASSERT_EQ(outputs[0].data(), static_cast<void*>(out.data() + out_offset)) << what << ": written in place";
          EXPECT_EQ(std::memcmp(out.data() + out_offset, want.data(), n * sizeof(float)), 0) << what;
          // Nothing written outside the output.
          for (size_t i = 0; i < out_offset; ++i) EXPECT_EQ(out[i], -1.0f) << what;
          for (size_t i = out_offset + n; i < out.size(); ++i) EXPECT_EQ(out[i], -1.0f) << what;
        }
    }
  }
  tcc::set_num_threads(threads_before);
}

}  // namespace
