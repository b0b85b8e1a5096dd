// The C API (include/tcc/tcc_c.h) over the C++ one: handles own a Graph or a CompiledGraph,
// every entry point turns exceptions into a status and a per-thread message.
#include <tcc/tcc.h>
#include <tcc/tcc_c.h>

#include <cstring>
#include <memory>
#include <optional>
#include <new>
#include <string>
#include <vector>

struct tcc_graph {
  tcc::Graph graph;
  std::vector<tcc::Value> values;  // tcc_value i is values[i]
};

struct tcc_compiled {
  tcc::CompiledGraph compiled;
  std::vector<std::pair<tcc::DType, tcc::Shape>> outputs;  // as declared (symbols unsized)
};

namespace {

thread_local std::string last_error;

// The one table between the C and C++ dtypes.
constexpr tcc::DType kDTypes[] = {tcc::f32, tcc::f64, tcc::i32, tcc::i64};

// A caller may pass any int as a tcc_dtype: its bytes are read as an int, since loading an
// enum outside its values is undefined in C++.
tcc::DType to_dtype(const tcc_dtype& d) {
  int raw = 0;
  static_assert(sizeof raw == sizeof d);
  std::memcpy(&raw, &d, sizeof raw);
  if (raw < 0 || raw > 3) throw tcc::ArgumentError("unknown tcc_dtype " + std::to_string(raw));
  return kDTypes[raw];
}
tcc_dtype from_dtype(tcc::DType d) {
  for (int i = 0; i < 4; ++i)
    if (kDTypes[i] == d) return static_cast<tcc_dtype>(i);
  throw tcc::InternalError("a dtype the C API does not know");
}

// The status of each kind of tcc::Error (ArgumentError, DTypeError, ParseError: ARGUMENT).
tcc_status status_of(const tcc::Error& e) {
  if (dynamic_cast<const tcc::ShapeError*>(&e)) return TCC_ERROR_SHAPE;
  if (dynamic_cast<const tcc::InputError*>(&e)) return TCC_ERROR_INPUT;
  if (dynamic_cast<const tcc::CompileError*>(&e)) return TCC_ERROR_COMPILE;
  if (dynamic_cast<const tcc::InternalError*>(&e)) return TCC_ERROR_INTERNAL;
  return TCC_ERROR_ARGUMENT;
}

// Runs `body`, mapping what it throws to a status and the thread's message.
template <typename Body>
tcc_status guarded(Body&& body) {
  try {
    body();
    return TCC_OK;
  } catch (const tcc::Error& e) {
    last_error = e.what();
    return status_of(e);
  } catch (const std::bad_alloc&) {
    last_error = "out of memory";
    return TCC_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    last_error = e.what();
    return TCC_ERROR_INTERNAL;
  } catch (...) {
    last_error = "an unknown exception";
    return TCC_ERROR_INTERNAL;
  }
}

template <typename T>
T& need(T* p, const char* what) {
  if (!p) throw tcc::ArgumentError(std::string(what) + " is NULL");
  return *p;
}

const char* text(const char* s, const char* what) {
  if (!s) throw tcc::ArgumentError(std::string(what) + " is NULL");
  return s;
}

// `count` entries of `data` (which may be NULL only when count is 0).
std::vector<int64_t> list(int count, const int64_t* data, const char* what) {
  if (count < 0) throw tcc::ArgumentError(std::string(what) + ": a negative count");
  if (count > 0 && !data) throw tcc::ArgumentError(std::string(what) + " is NULL");
  return std::vector<int64_t>(data, data + count);
}

const tcc::Value& value(const tcc_graph& g, tcc_value v) {
  if (v < 0 || static_cast<size_t>(v) >= g.values.size())
    throw tcc::ArgumentError("tcc_value " + std::to_string(v) + " is not a value of this graph");
  return g.values[static_cast<size_t>(v)];
}

tcc_value add(tcc_graph& g, tcc::Value v) {
  g.values.push_back(v);
  return static_cast<tcc_value>(g.values.size() - 1);
}

// Builds one op's value into *out.
template <typename Op>
tcc_status make(tcc_graph* g, tcc_value* out, Op&& op) {
  return guarded([&] {
    tcc_graph& graph = need(g, "the graph");
    tcc_value& result = need(out, "out");
    result = add(graph, op(graph));
  });
}

int64_t strided_offset(const tcc_buffer& b, int64_t flat_index, const tcc::Shape& shape) {
  // Element `flat_index` (row-major over `shape`) at the buffer's strides.
  int64_t offset = 0;
  for (int a = static_cast<int>(shape.size()) - 1; a >= 0; --a) {
    const int64_t i = flat_index % shape[a];
    flat_index /= shape[a];
    offset += i * b.strides[a];
  }
  return offset;
}

tcc::Shape buffer_shape(const tcc_buffer& b, const char* what) {
  if (b.rank < 0 || (b.rank > 0 && !b.shape)) throw tcc::InputError(std::string(what) + ": a bad rank or shape");
  tcc::Shape s(b.shape, b.shape + b.rank);
  for (int64_t e : s)
    if (e < 0) throw tcc::InputError(std::string(what) + ": a negative extent");
  if (!b.data && tcc::checked_numel(s) > 0) throw tcc::InputError(std::string(what) + ": data is NULL");
  return s;
}

// Copies between a dense tensor and a strided caller buffer (to_buffer: tensor -> buffer).
void copy_strided(tcc::Tensor& t, const tcc_buffer& b, bool to_buffer) {
  const size_t elem = tcc::dtype_size(t.dtype());
  auto* dense = static_cast<std::byte*>(t.data());
  auto* strided = static_cast<std::byte*>(b.data);
  const int64_t n = t.numel();
  if (!b.strides) {
    if (n > 0) to_buffer ? std::memcpy(strided, dense, n * elem) : std::memcpy(dense, strided, n * elem);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    std::byte* at = strided + strided_offset(b, i, t.shape()) * static_cast<int64_t>(elem);
    to_buffer ? std::memcpy(at, dense + i * elem, elem) : std::memcpy(dense + i * elem, at, elem);
  }
}

void check_strides(const tcc_buffer& b, const char* what) {
  if (b.strides)
    for (int a = 0; a < b.rank; ++a)
      if (b.strides[a] < 0) throw tcc::InputError(std::string(what) + ": a negative stride");
}

}  // namespace

extern "C" {

const char* tcc_last_error(void) { return last_error.c_str(); }

int64_t tcc_dim(const char* name) {
  int64_t code = 0;
  if (guarded([&] { code = tcc::dim(text(name, "the name")); }) != TCC_OK) return 0;
  return code;
}

tcc_status tcc_graph_create(tcc_graph** graph) {
  return guarded([&] { need(graph, "graph") = new tcc_graph(); });
}

void tcc_graph_destroy(tcc_graph* graph) { delete graph; }

tcc_status tcc_input(tcc_graph* g, const char* name, tcc_dtype dtype, int rank, const int64_t* shape, tcc_value* out) {
  return make(g, out, [&](tcc_graph& graph) {
    return graph.graph.input(text(name, "the name"), to_dtype(dtype), list(rank, shape, "the shape"));
  });
}

tcc_status tcc_dot(tcc_graph* g, tcc_value x, tcc_value y, tcc_value* out) {
  return make(g, out, [&](tcc_graph& graph) { return tcc::dot(value(graph, x), value(graph, y)); });
}

tcc_status tcc_matmul(tcc_graph* g, tcc_value a, tcc_value b, int flags, tcc_value* out) {
  return make(g, out, [&](tcc_graph& graph) {
    if (flags & ~(TCC_TRANSPOSE_A | TCC_TRANSPOSE_B | TCC_ADJOINT_A | TCC_ADJOINT_B))
      throw tcc::ArgumentError("tcc_matmul: unknown flags " + std::to_string(flags));
    tcc::MatmulFlags f{.transpose_a = (flags & TCC_TRANSPOSE_A) != 0, .transpose_b = (flags & TCC_TRANSPOSE_B) != 0,
                       .adjoint_a = (flags & TCC_ADJOINT_A) != 0, .adjoint_b = (flags & TCC_ADJOINT_B) != 0};
    return tcc::matmul(value(graph, a), value(graph, b), f);
  });
}

tcc_status tcc_batch_dot(tcc_graph* g, tcc_value x, tcc_value y, int n_axes, const int64_t* axes, int convention,
                         tcc_value* out) {
  return make(g, out, [&](tcc_graph& graph) {
    const std::vector<int64_t> a = list(n_axes, axes, "axes");
    tcc::Axes spec;
    if (a.size() == 1) spec = tcc::Axes(a[0]);
    else if (a.size() == 2) spec = tcc::Axes{a[0], a[1]};
    else if (!a.empty()) throw tcc::ArgumentError("tcc_batch_dot: axes are None, an int or a pair (n_axes 0, 1 or 2)");
    std::optional<tcc::BatchDotConvention> c;
    if (convention == 0) c = tcc::BatchDotConvention::modern;
    else if (convention == 1) c = tcc::BatchDotConvention::legacy;
    else if (convention != -1) throw tcc::ArgumentError("tcc_batch_dot: convention is -1, 0 or 1");
    return tcc::batch_dot(value(graph, x), value(graph, y), spec, c);
  });
}

tcc_status tcc_tensordot(tcc_graph* g, tcc_value x, tcc_value y, int64_t n, tcc_value* out) {
  return make(g, out, [&](tcc_graph& graph) { return tcc::tensordot(value(graph, x), value(graph, y), tcc::Axes(n)); });
}

tcc_status tcc_tensordot_axes(tcc_graph* g, tcc_value x, tcc_value y, int count, const int64_t* x_axes,
                              const int64_t* y_axes, tcc_value* out) {
  return make(g, out, [&](tcc_graph& graph) {
    std::vector<tcc::Axes> xs, ys;
    for (int64_t a : list(count, x_axes, "x_axes")) xs.emplace_back(a);
    for (int64_t a : list(count, y_axes, "y_axes")) ys.emplace_back(a);
    return tcc::tensordot(value(graph, x), value(graph, y), tcc::Axes::list({tcc::Axes::list(xs), tcc::Axes::list(ys)}));
  });
}

tcc_status tcc_einsum(tcc_graph* g, const char* spec, int count, const tcc_value* operands, tcc_value* out) {
  return make(g, out, [&](tcc_graph& graph) {
    if (count < 0 || (count > 0 && !operands)) throw tcc::ArgumentError("tcc_einsum: bad operand list");
    std::vector<tcc::Value> ops;
    for (int i = 0; i < count; ++i) ops.push_back(value(graph, operands[i]));
    return tcc::einsum(text(spec, "the spec"), ops);
  });
}

tcc_status tcc_transpose(tcc_graph* g, tcc_value x, int count, const int64_t* perm, tcc_value* out) {
  return make(g, out, [&](tcc_graph& graph) {
    std::optional<std::vector<int64_t>> p;
    if (perm) p = list(count, perm, "perm");
    else if (count != 0) throw tcc::ArgumentError("tcc_transpose: perm is NULL but count is not 0");
    return tcc::transpose(value(graph, x), p);
  });
}

tcc_status tcc_reshape(tcc_graph* g, tcc_value x, int rank, const int64_t* shape, tcc_value* out) {
  return make(g, out, [&](tcc_graph& graph) { return tcc::reshape(value(graph, x), list(rank, shape, "the shape")); });
}

tcc_status tcc_value_type(const tcc_graph* g, tcc_value v, tcc_dtype* dtype, int* rank, int64_t* shape, int capacity) {
  return guarded([&] {
    const tcc::Value& val = value(need(g, "the graph"), v);
    if (dtype) *dtype = from_dtype(val.dtype());
    if (rank) *rank = static_cast<int>(val.shape().size());
    if (capacity > 0 && !shape) throw tcc::ArgumentError("tcc_value_type: shape is NULL");
    for (int a = 0; a < capacity && a < static_cast<int>(val.shape().size()); ++a) shape[a] = val.shape()[a];
  });
}

tcc_status tcc_compile(const tcc_graph* g, int count, const tcc_value* outputs, tcc_compiled** out) {
  return guarded([&] {
    const tcc_graph& graph = need(g, "the graph");
    tcc_compiled*& result = need(out, "out");
    if (count <= 0 || !outputs) throw tcc::ArgumentError("tcc_compile: no outputs");
    std::vector<tcc::Value> values;
    auto f = std::make_unique<tcc_compiled>();
    for (int i = 0; i < count; ++i) {
      values.push_back(value(graph, outputs[i]));
      f->outputs.emplace_back(values.back().dtype(), values.back().shape());
    }
    f->compiled = graph.graph.compile(values);
    result = f.release();
  });
}

void tcc_compiled_destroy(tcc_compiled* f) { delete f; }

tcc_status tcc_run(const tcc_compiled* f, int n_inputs, const tcc_buffer* inputs, int n_outputs, const tcc_buffer* outputs) {
  return guarded([&] {
    const tcc_compiled& compiled = need(f, "the compiled graph");
    if (n_inputs < 0 || (n_inputs > 0 && !inputs)) throw tcc::ArgumentError("tcc_run: bad input list");
    if (n_outputs != static_cast<int>(compiled.outputs.size()) || !outputs)
      throw tcc::ArgumentError("tcc_run: " + std::to_string(compiled.outputs.size()) + " output buffers expected, got " +
                               std::to_string(n_outputs));
    tcc::Feeds feeds;
    for (int i = 0; i < n_inputs; ++i) {
      const tcc_buffer& b = inputs[i];
      const std::string name = text(b.name, "an input's name");
      const std::string what = "input '" + name + "'";
      check_strides(b, what.c_str());
      tcc::Tensor t = tcc::Tensor::empty(to_dtype(b.dtype), buffer_shape(b, what.c_str()));
      copy_strided(t, b, /*to_buffer=*/false);
      if (!feeds.emplace(name, std::move(t)).second) throw tcc::InputError(what + " is given twice");
    }
    std::vector<tcc::Tensor> results;
    compiled.compiled.run(feeds, results);
    // Every output buffer is checked before any is written: all or nothing.
    for (int o = 0; o < n_outputs; ++o) {
      const std::string what = "output " + std::to_string(o);
      check_strides(outputs[o], what.c_str());
      const tcc::Shape shape = buffer_shape(outputs[o], what.c_str());
      if (to_dtype(outputs[o].dtype) != results[o].dtype() || shape != results[o].shape())
        throw tcc::InputError(what + ": the buffer is " + tcc::type_str(to_dtype(outputs[o].dtype), shape) +
                              ", the result " + tcc::type_str(results[o].dtype(), results[o].shape()));
    }
    for (int o = 0; o < n_outputs; ++o) copy_strided(results[o], outputs[o], /*to_buffer=*/true);
  });
}

}  // extern "C"
