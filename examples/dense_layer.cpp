// A Keras Dense layer, relu(x · W + b), and a softmax head in the C++ API: build lazily, compile
// once, run on a batch. tcc computes the bias add and the ReLU in the matmul's kernel, as each
// result is stored (no extra pass over the activations), and the softmax in two kernels.
#include <tcc/tcc.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  const int64_t batch = 64, features = 256, units = 128, classes = 10;
  tcc::Graph g;
  auto x = g.input("x", tcc::f32, {batch, features});
  auto w1 = g.input("w1", tcc::f32, {features, units});
  auto b1 = g.input("b1", tcc::f32, {units});
  auto w2 = g.input("w2", tcc::f32, {units, classes});
  auto b2 = g.input("b2", tcc::f32, {classes});

  auto hidden = tcc::relu(tcc::bias_add(tcc::dot(x, w1), b1));  // Dense(units, activation="relu")
  auto probabilities = tcc::softmax(tcc::bias_add(tcc::dot(hidden, w2), b2));  // Dense(classes, "softmax")
  tcc::CompiledGraph fn = g.compile({hidden, probabilities});
  std::printf("kernels: %d\n", fn.stats().kernels);

  auto fill = [](const tcc::Value& v, int seed) {
    tcc::Tensor t(tcc::f32, v.shape());
    for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = static_cast<float>(std::sin(0.37 * double(i + seed)));
    return t;
  };
  tcc::Feeds feeds{{"x", fill(x, 1)}, {"w1", fill(w1, 2)}, {"b1", fill(b1, 3)}, {"w2", fill(w2, 4)}, {"b2", fill(b2, 5)}};
  std::vector<tcc::Tensor> out = fn(feeds);

  // The same layer as plain loops, in double.
  auto at = [&](const char* name, int64_t i) { return static_cast<double>(feeds.at(name).data_as<float>()[i]); };
  double worst = 0;
  for (int64_t r = 0; r < batch; ++r) {
    std::vector<double> h(units), logits(classes);
    for (int64_t u = 0; u < units; ++u) {
      double s = at("b1", u);
      for (int64_t f = 0; f < features; ++f) s += at("x", r * features + f) * at("w1", f * units + u);
      h[u] = std::max(s, 0.0);
      worst = std::max(worst, std::fabs(h[u] - out[0].data_as<float>()[r * units + u]));
    }
    for (int64_t c = 0; c < classes; ++c) {
      logits[c] = at("b2", c);
      for (int64_t u = 0; u < units; ++u) logits[c] += h[u] * at("w2", u * classes + c);
    }
    const double top = *std::max_element(logits.begin(), logits.end());
    double total = 0;
    for (double l : logits) total += std::exp(l - top);
    for (int64_t c = 0; c < classes; ++c)
      worst = std::max(worst, std::fabs(std::exp(logits[c] - top) / total - out[1].data_as<float>()[r * classes + c]));
  }
  std::printf("hidden: %s, probabilities: %s, largest difference from double loops: %.2g\n",
              tcc::shape_str(out[0].shape()).c_str(), tcc::shape_str(out[1].shape()).c_str(), worst);
  const bool ok = worst < 1e-3;
  std::printf("dense layer matches: %s\n", ok ? "yes" : "no");
  return ok ? 0 : 1;
}
