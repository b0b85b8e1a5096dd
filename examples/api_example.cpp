// The C++ graph API in a few lines, Keras style: build lazily, compile once, run.
#include <tcc/tcc.h>

#include <cstdio>

int main() {
  tcc::Graph g;
  auto w = g.input("w", tcc::f32, {10, 12, 4, 5});
  auto k = g.input("k", tcc::f32, {10, 12, 5, 8});

  auto z = tcc::matmul(w, k);                                               // tf.matmul: (10,12,4,8)
  auto zb = tcc::batch_dot(w, k);                                           // modern Keras: (10,12,4,12,8)
  auto zl = tcc::batch_dot(w, k, {}, tcc::BatchDotConvention::legacy);      // Keras <= 2.2.4: (10,12,4,8)
  auto zt = tcc::matmul(w, w, {.transpose_b = true});                      // w @ w^T: (10,12,4,4)
  for (const tcc::Warning& warning : g.take_warnings()) std::printf("warning: %s\n", warning.message.c_str());

  tcc::CompiledGraph fn = g.compile({z, zb, zl, zt});

  tcc::Tensor wt(tcc::f32, w.shape()), kt(tcc::f32, k.shape());
  for (int64_t i = 0; i < wt.numel(); ++i) wt.data_as<float>()[i] = static_cast<float>(i % 7) - 3;
  for (int64_t i = 0; i < kt.numel(); ++i) kt.data_as<float>()[i] = static_cast<float>(i % 5) - 2;

  std::vector<tcc::Tensor> outs = fn({{"w", wt}, {"k", kt}});
  const char* names[] = {"z", "zb", "zl", "zt"};
  for (size_t i = 0; i < outs.size(); ++i)
    std::printf("%s: shape %s, first element %g\n", names[i], tcc::shape_str(outs[i].shape()).c_str(),
                static_cast<double>(outs[i].data_as<float>()[0]));
  // legacy batch_dot of these shapes is tf.matmul: the two agree element by element.
  bool same = outs[0].to_vector<float>() == outs[2].to_vector<float>();
  std::printf("matmul == legacy batch_dot: %s\n", same ? "yes" : "no");
  return same ? 0 : 1;
}
