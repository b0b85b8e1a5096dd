// The extension tcc._tcc (python/README.md): tcc's ops on NumPy arrays (run at once, each op
// compiled once per signature) and on graph values (lazy, mirroring the C++ Graph API), tcc's
// errors as Python exceptions, and the batch_dot convention warning as a Python warning.
#include "eager_cache.h"
#include "errors.h"
#include "numpy_bridge.h"
#include "vectorcall.h"

#include <tcc/tcc.h>

#include <pybind11/pybind11.h>

#include <fmt/format.h>

#include <array>
#include <map>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tcc::python {

namespace {

using namespace pybind11::literals;

// ---- what the module counts ----

struct CompileCounters {
  int64_t graphs = 0;  // compiles: eager cache misses and Graph.compile calls
  int64_t kernels = 0;
  int64_t compiled = 0;  // kernels LLVM compiled; the rest were found in memory or on disk
  int64_t memory_hits = 0;
  int64_t disk_hits = 0;
  double compile_ms = 0;
};

CompileCounters& compile_counters() {
  static CompileCounters counters;
  return counters;
}

void record_compile(const CompileStats& stats) {
  CompileCounters& c = compile_counters();
  ++c.graphs;
  c.kernels += stats.kernels;
  c.compiled += stats.compiled;
  c.memory_hits += stats.memory_hits;
  c.disk_hits += stats.disk_hits;
  c.compile_ms += stats.compile_ms;
}

py::dict compile_stats_dict(const CompileStats& s) {
  return py::dict("compile_ms"_a = s.compile_ms, "kernels"_a = s.kernels, "compiled"_a = s.compiled,
                  "memory_hits"_a = s.memory_hits, "disk_hits"_a = s.disk_hits, "disk_cache"_a = s.disk_cache,
                  "flops"_a = s.flops);
}

// Leaked on purpose: compiled graphs must not be destroyed by static destructors after the
// interpreter and the JIT they came from may be gone.
EagerCache& eager_cache() {
  static auto* cache = new EagerCache(128);
  return *cache;
}

py::dict module_stats() {
  const EagerCache& cache = eager_cache();
  const TransferCounters& t = transfer_counters();
  const CompileCounters& c = compile_counters();
  return py::dict("eager_cache_size"_a = cache.size(), "eager_cache_capacity"_a = cache.capacity(),
                  "eager_cache_hits"_a = cache.hits(), "eager_cache_misses"_a = cache.misses(),
                  "inputs_borrowed"_a = t.inputs_borrowed, "inputs_copied"_a = t.inputs_copied,
                  "bytes_copied"_a = t.bytes_copied, "outputs_copied"_a = t.outputs_copied, "graphs_compiled"_a = c.graphs,
                  "kernels"_a = c.kernels, "kernels_compiled"_a = c.compiled, "kernel_memory_hits"_a = c.memory_hits,
                  "kernel_disk_hits"_a = c.disk_hits, "compile_ms"_a = c.compile_ms);
}

// ---- graph values ----

// A tcc::Value with the graph it belongs to, which it keeps alive as Python users expect.
struct GraphValue {
  std::shared_ptr<Graph> graph;
  Value value;
};

PyTypeObject* graph_value_type = nullptr;  // set when the class is registered

bool is_graph_value(py::handle object) { return PyObject_TypeCheck(object.ptr(), graph_value_type); }

// ---- Python arguments ----

// An int from anything with __index__ (NumPy integers too); TypeError otherwise.
int64_t int_from_python(py::handle object) {
  PyObject* index = PyNumber_Index(object.ptr());
  if (!index) throw py::error_already_set();
  const long long value = PyLong_AsLongLong(index);
  Py_DECREF(index);
  if (value == -1 && PyErr_Occurred()) throw py::error_already_set();
  return value;
}

bool is_sequence(py::handle object) { return PySequence_Check(object.ptr()) && !PyUnicode_Check(object.ptr()); }

// A shape: ints, and str for a symbolic dimension ("N" is tcc::dim("N")); a lone int is (n,).
Shape shape_from_python(py::handle shape) {
  if (PyIndex_Check(shape.ptr())) return {int_from_python(shape)};
  if (!is_sequence(shape)) throw py::type_error("a shape is a sequence of ints and str (symbolic dimensions)");
  Shape out;
  for (py::handle d : shape) out.push_back(PyUnicode_Check(d.ptr()) ? dim(d.cast<std::string>()) : int_from_python(d));
  return out;
}

py::tuple shape_to_python(const Shape& shape) {
  py::tuple out(shape.size());
  for (size_t i = 0; i < shape.size(); ++i)
    out[i] = is_symbol(shape[i]) ? py::object(py::str(symbol_name(shape[i]))) : py::object(py::int_(shape[i]));
  return out;
}

// None, an int or a (nested) sequence of ints, as Keras and NumPy take `axes`.
Axes axes_from_python(py::handle axes) {
  if (axes.is_none()) return Axes();
  if (PyIndex_Check(axes.ptr())) return Axes(int_from_python(axes));
  if (!is_sequence(axes)) throw py::type_error("axes must be None, an int or a sequence of ints");
  std::vector<Axes> items;
  for (py::handle item : axes) items.push_back(axes_from_python(item));
  return Axes::list(std::move(items));
}

std::vector<int64_t> ints_from_python(py::handle sequence) {
  if (!is_sequence(sequence)) throw py::type_error("expected a sequence of ints");
  std::vector<int64_t> out;
  for (py::handle item : sequence) out.push_back(int_from_python(item));
  return out;
}

std::string_view bytes_of(const std::vector<int64_t>& values) {
  return {reinterpret_cast<const char*>(values.data()), values.size() * sizeof(int64_t)};
}

// ---- running ----

// Releases the GIL for a scope. CPython's calls directly: pybind11's gil_scoped_release also
// looks its internals up in thread-local storage, which shows on sub-microsecond kernels.
class WithoutGil {
 public:
  WithoutGil() : state_(PyEval_SaveThread()) {}
  ~WithoutGil() { PyEval_RestoreThread(state_); }
  WithoutGil(const WithoutGil&) = delete;
  WithoutGil& operator=(const WithoutGil&) = delete;

 private:
  PyThreadState* state_;
};

// Kernels run without the GIL: other Python threads go on meanwhile. The feeds are tensors
// over arrays the caller's frame references, so they outlive the run.
void run_without_gil(const CompiledGraph& compiled, const Feeds& feeds, std::vector<Tensor>& results) {
  WithoutGil released;
  compiled.run(feeds, results);
}

// Graph passes and LLVM without the GIL too: the graph is private to this call.
std::shared_ptr<const EagerGraph> compile_and_cache(const std::string& key, const std::vector<ArrayOperand>& operands,
                                                    const BuildOp& build) {
  std::shared_ptr<const EagerGraph> graph;
  {
    WithoutGil released;
    graph = compile_eager(operands, build);
  }
  record_compile(graph->compiled.stats());
  eager_cache().insert(key, graph);
  return graph;
}

// An op on arrays: the compiled graph of its signature (cached), run at once.
py::object run_eager(std::string_view op, std::string_view attributes, std::span<const py::handle> operands,
                     py::handle out, const BuildOp& build) {
  std::vector<ArrayOperand> arrays;
  arrays.reserve(operands.size());
  for (py::handle operand : operands) arrays.push_back(operand_from_array(operand));
  static std::string key;  // its capacity is reused; used under the GIL only (a miss copies it)
  make_eager_key(key, op, attributes, arrays);
  std::shared_ptr<const EagerGraph> graph = eager_cache().find(key);
  if (!graph) graph = compile_and_cache(std::string(key), arrays, build);
  for (const std::string& warning : graph->warnings) warn_convention(warning);
  std::optional<OutArray> out_array;
  std::optional<ResultArray> result;
  EagerCallLease call(*graph);  // emptied on the way out, before `result` can free its memory
  if (!out.is_none()) {
    out_array.emplace(out, graph->dtype, graph->shape, op);
    call->results[0] = out_array->target(arrays);
  } else {
    result.emplace(graph->dtype, graph->shape, graph->numel);
    call->results[0] = result->unowned_tensor();
  }
  for (size_t i = 0; i < arrays.size(); ++i) *call->operands[i] = std::move(arrays[i].data);
  run_without_gil(graph->compiled, call->feeds, call->results);
  if (out_array) return out_array->finish(call->results[0]);
  // run() writes a fitting output in place; should it ever replace it, hand over its tensor.
  if (call->results[0].data() != result->data()) return array_from_tensor(std::move(call->results[0]));
  return result->release();
}

// An op on graph values: a new node; arrays among the operands become constants of the graph.
py::object build_node(std::string_view op, std::span<const py::handle> operands, py::handle out, const BuildOp& build) {
  if (!out.is_none())
    throw ArgumentError(fmt::format("{}: out= is for arrays; a graph value is computed when its compiled graph runs", op));
  std::shared_ptr<Graph> graph;
  for (py::handle operand : operands)
    if (is_graph_value(operand)) {
      graph = operand.cast<const GraphValue&>().graph;
      break;
    }
  std::vector<Value> values;
  for (py::handle operand : operands)
    values.push_back(is_graph_value(operand) ? operand.cast<const GraphValue&>().value
                                             : graph->constant(tensor_from_array(operand)));
  const Value result = build(values);
  for (const Warning& warning : graph->take_warnings()) warn_convention(warning.message);
  return py::cast(GraphValue{graph, result});
}

// Every op: lazy on graph values, at once on arrays. `attributes` tell calls of one op apart
// in the eager cache (any bytes that determine what `build` builds).
py::object apply(std::string_view op, std::string_view attributes, std::span<const py::handle> operands,
                 py::handle out, const BuildOp& build) {
  for (py::handle operand : operands)
    if (!is_ndarray(operand) && is_graph_value(operand)) return build_node(op, operands, out, build);
  return run_eager(op, attributes, operands, out, build);
}

// ---- the ops ----

py::object dot_op(py::handle x, py::handle y, py::handle out) {
  return apply("dot", {}, std::array{x, y}, out, [](const std::vector<Value>& v) { return dot(v[0], v[1]); });
}

py::object matmul_op(py::handle a, py::handle b, MatmulFlags flags, py::handle out) {
  const char bits =
      static_cast<char>(flags.transpose_a | flags.transpose_b << 1 | flags.adjoint_a << 2 | flags.adjoint_b << 3);
  return apply("matmul", {&bits, 1}, std::array{a, b}, out,
               [flags](const std::vector<Value>& v) { return matmul(v[0], v[1], flags); });
}

py::object np_matmul_op(py::handle a, py::handle b, py::handle out) {
  return apply("np.matmul", {}, std::array{a, b}, out, [](const std::vector<Value>& v) { return np::matmul(v[0], v[1]); });
}

// No convention: modern, with a warning where legacy gives another shape.
py::object batch_dot_op(py::handle x, py::handle y, const Axes& axes, std::optional<BatchDotConvention> convention,
                        py::handle out) {
  const std::string attributes =
      axes.str() + (!convention ? " default" : *convention == BatchDotConvention::legacy ? " legacy" : " modern");
  return apply("batch_dot", attributes, std::array{x, y}, out,
               [&](const std::vector<Value>& v) { return batch_dot(v[0], v[1], axes, convention); });
}

py::object tensordot_op(py::handle x, py::handle y, const Axes& axes, py::handle out) {
  return apply("tensordot", axes.str(), std::array{x, y}, out,
               [&](const std::vector<Value>& v) { return tensordot(v[0], v[1], axes); });
}

py::object einsum_op(const std::string& spec, std::span<const py::handle> operands, py::handle out) {
  return apply("einsum", spec, operands, out, [&](const std::vector<Value>& v) { return einsum(spec, v); });
}

py::object transpose_op(py::handle x, py::handle axes) {
  std::optional<std::vector<int64_t>> perm;
  if (!axes.is_none()) perm = ints_from_python(axes);
  const std::string attributes = perm ? std::string(bytes_of(*perm)) : std::string("None");
  return apply("transpose", attributes, std::array{x}, py::none(),
               [&](const std::vector<Value>& v) { return transpose(v[0], perm); });
}

py::object reshape_op(py::handle x, py::handle shape) {
  const Shape target = shape_from_python(shape);
  return apply("reshape", bytes_of(target), std::array{x}, py::none(),
               [&](const std::vector<Value>& v) { return reshape(v[0], target); });
}

// An element-wise function by its name (tcc::elementwise); Python scalars among the operands
// arrive as 0-d arrays of the other operand's dtype (tcc/__init__.py).
py::object elementwise_op(const std::string& name, py::args operands, py::handle out) {
  std::vector<py::handle> handles(operands.begin(), operands.end());
  return apply(name, name, handles, out, [&](const std::vector<Value>& v) { return elementwise(name, v); });
}

// sum, mean, max, min.
py::object reduce_op(const std::string& name, py::handle x, py::handle axis, bool keepdims) {
  const Axes axes = axes_from_python(axis);
  using Reduce = Value (*)(const Value&, const Axes&, bool);
  static const std::map<std::string, Reduce> reductions{{"sum", &sum}, {"mean", &mean}, {"max", &max}, {"min", &min},
                                                           {"logsumexp", &logsumexp}};
  const Reduce reduce = reductions.at(name);
  return apply(name, name + " " + axes.str() + (keepdims ? " keepdims" : ""), std::array{x}, py::none(),
               [&](const std::vector<Value>& v) { return reduce(v[0], axes, keepdims); });
}

py::object softmax_op(py::handle x, int64_t axis) {
  return apply("softmax", std::to_string(axis), std::array{x}, py::none(),
               [&](const std::vector<Value>& v) { return softmax(v[0], axis); });
}

py::object cast_op(py::handle x, py::handle dtype_like) {
  const DType dtype = dtype_from_object(dtype_like);
  return apply("cast", std::string(dtype_name(dtype)), std::array{x}, py::none(),
               [&](const std::vector<Value>& v) { return cast(v[0], dtype); });
}

py::object bias_add_op(py::handle x, py::handle bias) {
  return apply("bias_add", {}, std::array{x, bias}, py::none(), [](const std::vector<Value>& v) { return bias_add(v[0], v[1]); });
}

// ---- the ops' Python signatures (vectorcall.h) ----

py::object dot_call(PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  static constexpr Signature<3> signature{"dot", {"x", "y", "out"}, 2, 2};
  const auto p = bind_arguments(signature, args, nargs, kwnames);
  return dot_op(p[0], p[1], or_default(p[2]));
}

py::object matmul_call(PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  static constexpr Signature<7> signature{
      "matmul", {"a", "b", "transpose_a", "transpose_b", "adjoint_a", "adjoint_b", "out"}, 6, 2};
  const auto p = bind_arguments(signature, args, nargs, kwnames);
  return matmul_op(p[0], p[1], {truth(p[2]), truth(p[3]), truth(p[4]), truth(p[5])}, or_default(p[6]));
}

py::object np_matmul_call(PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  static constexpr Signature<3> signature{"matmul", {"a", "b", "out"}, 2, 2};
  const auto p = bind_arguments(signature, args, nargs, kwnames);
  return np_matmul_op(p[0], p[1], or_default(p[2]));
}

// legacy: True (Keras <= 2.2.4), False (modern, the default), None (no convention chosen).
py::object batch_dot_call(PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  static constexpr Signature<5> signature{"batch_dot", {"x", "y", "axes", "legacy", "out"}, 4, 2};
  const auto p = bind_arguments(signature, args, nargs, kwnames);
  std::optional<BatchDotConvention> convention = BatchDotConvention::modern;
  if (p[3] == Py_None) convention.reset();
  else if (truth(p[3])) convention = BatchDotConvention::legacy;
  return batch_dot_op(p[0], p[1], axes_from_python(or_default(p[2])), convention, or_default(p[4]));
}

py::object tensordot_call(PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  static constexpr Signature<4> signature{"tensordot", {"x", "y", "axes", "out"}, 3, 2};
  const auto p = bind_arguments(signature, args, nargs, kwnames);
  return tensordot_op(p[0], p[1], p[2] ? axes_from_python(p[2]) : Axes(2), or_default(p[3]));
}

// NumPy's signature: einsum(subscripts, *operands, out=None, optimize=...). tcc always plans
// its own contraction path, so `optimize` is accepted for drop-in use and ignored.
py::object einsum_call(PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  if (nargs < 1) throw py::type_error("einsum() missing required argument 'subscripts'");
  if (!PyUnicode_Check(args[0])) throw py::type_error("einsum() subscripts must be a str such as 'ij,jk->ik'");
  py::handle out = py::none();
  const Py_ssize_t keywords = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t k = 0; k < keywords; ++k) {
    const std::string name = py::str(PyTuple_GET_ITEM(kwnames, k));
    if (name == "out") out = args[nargs + k];
    else if (name != "optimize") throw py::type_error("einsum() got an unexpected keyword argument '" + name + "'");
  }
  const std::vector<py::handle> operands(args + 1, args + nargs);
  return einsum_op(py::str(args[0]), operands, out);
}

template <VectorcallBody Body>
constexpr PyMethodDef vectorcall_method(const char* name, const char* doc) {
  return {name, reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&vectorcall_entry<Body>)),
          METH_FASTCALL | METH_KEYWORDS, doc};
}

PyMethodDef dot_method = vectorcall_method<dot_call>("dot", "dot(x, y, *, out=None)\n--\n\nKeras K.dot (NumPy dot).");
PyMethodDef matmul_method = vectorcall_method<matmul_call>(
    "matmul",
    "matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False, *, out=None)\n--\n\n"
    "tf.matmul: rank >= 2, broadcast batch dimensions, the transpose and adjoint flags.");
PyMethodDef batch_dot_method = vectorcall_method<batch_dot_call>(
    "batch_dot",
    "batch_dot(x, y, axes=None, legacy=False, *, out=None)\n--\n\n"
    "Keras K.batch_dot. legacy=True: Keras <= 2.2.4; False: modern; None: modern, with a tcc.ConventionWarning "
    "where legacy would give another shape.");
PyMethodDef tensordot_method = vectorcall_method<tensordot_call>(
    "tensordot", "tensordot(x, y, axes=2, *, out=None)\n--\n\nNumPy tensordot.");
PyMethodDef einsum_method = vectorcall_method<einsum_call>(
    "einsum",
    "einsum(subscripts, *operands, out=None, optimize=False)\n--\n\n"
    "NumPy einsum; optimize is accepted and ignored (tcc plans the contraction path).");
PyMethodDef np_matmul_method = vectorcall_method<np_matmul_call>(
    "matmul", "matmul(a, b, *, out=None)\n--\n\nNumPy a @ b (matmul with 1-D promotion).");

// ---- the Graph API ----

std::vector<Value> output_values(py::handle outputs) {
  if (is_graph_value(outputs)) return {outputs.cast<const GraphValue&>().value};
  if (!is_sequence(outputs)) throw py::type_error("outputs must be a tcc.Value or a sequence of them");
  std::vector<Value> values;
  for (py::handle item : outputs) {
    if (!is_graph_value(item)) throw py::type_error("outputs must be tcc.Value objects of this graph");
    values.push_back(item.cast<const GraphValue&>().value);
  }
  return values;
}

// What Graph.compile returns: the compiled graph, and what its outputs are known to be. When
// no output shape has a symbol, results are allocated here before the run, as for the ops on
// arrays (Tensor's own allocation asks the system for its memory size every time).
struct CompiledFunction {
  struct Output {
    DType dtype;
    Shape shape;
    int64_t numel;
  };
  CompiledGraph graph;
  std::vector<Output> outputs;
  bool static_outputs = true;
};

std::shared_ptr<CompiledFunction> compile_graph(const Graph& graph, py::handle outputs) {
  const std::vector<Value> values = output_values(outputs);
  auto compiled = std::make_shared<CompiledFunction>();
  // With the GIL held: another Python thread could otherwise add nodes to this graph meanwhile.
  compiled->graph = graph.compile(values);
  record_compile(compiled->graph.stats());
  for (const Value& v : values) {
    compiled->static_outputs = compiled->static_outputs && !has_symbols(v.shape());
    compiled->outputs.push_back({v.dtype(), v.shape(), has_symbols(v.shape()) ? 0 : checked_numel(v.shape())});
  }
  return compiled;
}

// Feeds from a dict, keyword arguments, or both.
Feeds feeds_from_python(py::handle mapping, const py::kwargs& named) {
  Feeds feeds;
  auto add = [&](py::handle name, py::handle value) {
    const std::string key = py::str(name);
    if (!feeds.emplace(key, tensor_from_array(value)).second)
      throw ArgumentError(fmt::format("input '{}' is fed twice", key));
  };
  if (!mapping.is_none()) {
    if (!PyDict_Check(mapping.ptr())) throw py::type_error("feeds must be a dict of input names to arrays");
    for (auto [name, value] : py::reinterpret_borrow<py::dict>(mapping)) add(name, value);
  }
  for (auto [name, value] : named) add(name, value);
  return feeds;
}

py::list run_compiled(const CompiledFunction& compiled, const Feeds& feeds) {
  std::vector<Tensor> results(compiled.outputs.size());
  std::vector<ResultArray> arrays;
  if (compiled.static_outputs) {
    arrays.reserve(compiled.outputs.size());
    for (size_t o = 0; o < compiled.outputs.size(); ++o) {
      const CompiledFunction::Output& out = compiled.outputs[o];
      results[o] = arrays.emplace_back(out.dtype, out.shape, out.numel).tensor();
    }
  }
  run_without_gil(compiled.graph, feeds, results);
  py::list out;
  for (size_t o = 0; o < results.size(); ++o) {
    // An output that views another's buffer (c and reshape(c)) comes back as a view of it.
    const bool in_place = compiled.static_outputs && results[o].data() == arrays[o].data();
    out.append(in_place ? arrays[o].release() : array_from_tensor(std::move(results[o])));
  }
  return out;
}

py::list inputs_to_python(const std::vector<InputInfo>& inputs) {
  py::list out;
  for (const InputInfo& in : inputs) out.append(py::make_tuple(in.name, numpy_dtype(in.dtype), shape_to_python(in.shape)));
  return out;
}

void bind_graph_api(py::module_& m) {
  py::class_<GraphValue> value(m, "Value", "A node of a tcc.Graph: what the ops return on graph values.");
  graph_value_type = reinterpret_cast<PyTypeObject*>(value.ptr());
  value.def_property_readonly("shape", [](const GraphValue& v) { return shape_to_python(v.value.shape()); },
                              "The shape; a symbolic dimension is its name (str).")
      .def_property_readonly("dtype", [](const GraphValue& v) { return numpy_dtype(v.value.dtype()); })
      .def_property_readonly("ndim", [](const GraphValue& v) { return v.value.rank(); })
      .def_property_readonly("graph", [](const GraphValue& v) { return v.graph; })
      .def("__repr__", [](const GraphValue& v) { return "tcc.Value(" + type_str(v.value.dtype(), v.value.shape()) + ")"; })
      .def("__matmul__", [](py::handle a, py::handle b) { return np_matmul_op(a, b, py::none()); }, py::is_operator())
      .def("__rmatmul__", [](py::handle a, py::handle b) { return np_matmul_op(b, a, py::none()); }, py::is_operator());
  value.attr("__array_ufunc__") = py::none();  // array @ value: NumPy defers to __rmatmul__
  value.attr("__module__") = "tcc";

  py::class_<CompiledFunction, std::shared_ptr<CompiledFunction>> compiled(
      m, "CompiledGraph", "What Graph.compile returns: call it with the feeds.");
  compiled
      .def("__call__",
           [](const CompiledFunction& f, py::handle feeds, const py::kwargs& named) {
             return run_compiled(f, feeds_from_python(feeds, named));
           },
           "feeds"_a = py::none(), py::pos_only(),
           "Runs on the feeds (a dict of input names to arrays, keyword arguments, or both); returns one array per "
           "output. A symbolic dimension takes the size the feeds give it.")
      .def_property_readonly("inputs", [](const CompiledFunction& f) { return inputs_to_python(f.graph.inputs()); },
                             "The inputs the outputs depend on: (name, dtype, shape) tuples.")
      .def_property_readonly("stats", [](const CompiledFunction& f) { return compile_stats_dict(f.graph.stats()); });
  compiled.attr("__module__") = "tcc";

  py::class_<Graph, std::shared_ptr<Graph>> graph(m, "Graph", "A lazy graph of contractions, as tcc::Graph in C++.");
  graph.def(py::init<>())
      .def("input",
           [](const std::shared_ptr<Graph>& g, const std::string& name, py::handle dtype, py::handle shape) {
             return GraphValue{g, g->input(name, dtype_from_object(dtype), shape_from_python(shape))};
           },
           "name"_a, "dtype"_a, "shape"_a,
           "A named input: dtype as NumPy takes it or a tcc name (\"f32\"); shape of ints and str (symbolic).")
      .def("constant",
           [](const std::shared_ptr<Graph>& g, py::handle array) { return GraphValue{g, g->constant(tensor_from_array(array))}; },
           "array"_a, "A constant (the array's data is copied).")
      .def("compile", [](const Graph& g, py::handle outputs) { return compile_graph(g, outputs); }, "outputs"_a,
           "Compiles the subgraph computing the outputs (a Value or a list of them).")
      .def("eval",
           [](const Graph& g, py::handle outputs, py::handle feeds, const py::kwargs& named) {
             return run_compiled(*compile_graph(g, outputs), feeds_from_python(feeds, named));
           },
           "outputs"_a, "feeds"_a = py::none(), py::pos_only(), "Compiles and runs once.")
      .def("inputs", [](const Graph& g) { return inputs_to_python(g.inputs()); },
           "Every input: (name, dtype, shape) tuples.");
  graph.attr("__module__") = "tcc";
}

void bind_ops(py::module_& m) {
  for (PyMethodDef* method : {&dot_method, &matmul_method, &batch_dot_method, &tensordot_method, &einsum_method})
    add_vectorcall_function(m, *method);
  m.def("transpose", &transpose_op, "x"_a, "axes"_a = py::none(), "NumPy transpose (a copy for arrays).");
  m.def("reshape", &reshape_op, "x"_a, "shape"_a, "NumPy reshape, row-major; one entry may be -1.");
  m.def("_elementwise", &elementwise_op, "name"_a, "out"_a = py::none(),
        "An element-wise function by name of its operands (arrays or graph values of one dtype).");
  m.def("_reduce", &reduce_op, "name"_a, "x"_a, "axis"_a = py::none(), "keepdims"_a = false);
  m.def("softmax", &softmax_op, "x"_a, "axis"_a = -1, "Keras softmax along axis (floats).");
  m.def("bias_add", &bias_add_op, "x"_a, "bias"_a, "Keras bias_add: bias of shape (C,) for x's last dim C.");
  m.def("cast", &cast_op, "x"_a, "dtype"_a,
        "x converted to dtype, as NumPy's astype (floats to integers truncate and saturate, NaN to 0).");
  py::module_ np_ops = m.def_submodule("np", "NumPy's spellings of ops that differ from Keras / TensorFlow's.");
  add_vectorcall_function(np_ops, np_matmul_method);
}

// Seconds per call of BoundRun on these feeds, over `calls` calls (after one untimed call).
double bound_run_seconds(const CompiledFunction& compiled, py::handle feeds, int64_t calls) {
  BoundRun call = compiled.graph.bind(feeds_from_python(feeds, py::kwargs()));
  call();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < calls; ++i) call();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / static_cast<double>(calls);
}

void bind_runtime(py::module_& m) {
  m.def("set_num_threads", &set_num_threads, "threads"_a, "The kernels' thread count (>= 1).");
  m.def("num_threads", &num_threads);
  m.def("stats", &module_stats,
        "Counters: the eager cache, arrays read in place or copied, and compiles (kernels compiled by LLVM, "
        "found in this process's JIT, or loaded from the on-disk cache).");
  m.def("clear_cache", [] { eager_cache().clear(); }, "Drops the compiled graphs of the ops on arrays.");
  m.def("is_zero_copy", [](py::handle array) { return is_zero_copy(array); }, "array"_a,
        "Whether tcc reads this array in place: a tcc dtype in native byte order, aligned to its elements, "
        "with strides >= 0 (any layout: C or Fortran order, a transpose, a slice, a broadcast).");
  // For bench_overhead.py: the C++ BoundRun call on the same kernel and memory, in this process.
  m.def("_bound_run_seconds", &bound_run_seconds, "compiled"_a, "feeds"_a, "calls"_a);
  m.def("_set_eager_cache_capacity", [](size_t capacity) { eager_cache().set_capacity(capacity); });
  m.def("_use_aligned_allocator", &use_aligned_numpy_allocator);
  m.def("_restore_allocator", [](py::handle previous) { restore_numpy_allocator(previous); });
  m.attr("ALIGNED_ALLOCATOR_NAME") = aligned_allocator_name();
  m.attr("__version__") = TCC_VERSION;
}

}  // namespace

}  // namespace tcc::python

PYBIND11_MODULE(_tcc, m) {
  using namespace tcc::python;
  import_numpy();
  m.doc() = "tcc's compiled contractions on NumPy arrays and lazy graphs (import tcc, not tcc._tcc).";
  register_errors(m);
  py::register_exception_translator(&translate_tcc_error);
  bind_graph_api(m);
  bind_ops(m);
  bind_runtime(m);
}
