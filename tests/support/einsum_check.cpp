#include "support/einsum_check.h"

namespace tcc::ref {

RefTensor small_values(DType dtype, const Shape& shape, int salt) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<double> values;
  std::vector<int64_t> ints;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = (i * 7 + salt * 13) % 13 - 6;
    values.push_back(static_cast<double>(v) / 8);
    ints.push_back(v);
  }
  return is_float(dtype) ? make_floats(dtype, shape, values) : make_ints(dtype, shape, ints);
}

Comparison check_einsum(const std::string& spec, const std::vector<Shape>& shapes, DType dtype,
                        const std::function<void(const Graph&, const Value&)>& inspect) {
  Graph g;
  std::vector<Value> values;
  std::vector<RefTensor> refs;
  Feeds feeds;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const std::string name = std::string("x").append(std::to_string(i));
    values.push_back(g.input(name, dtype, shapes[i]));
    refs.push_back(small_values(dtype, shapes[i], static_cast<int>(i)));
    feeds[name] = to_tensor(refs.back());
  }
  Value out = einsum(spec, values);
  if (inspect) inspect(g, out);
  return compare(g.eval({out}, feeds)[0], einsum(spec, refs));
}

}  // namespace tcc::ref
