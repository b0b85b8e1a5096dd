// The graph-building API: a lazy expression graph of contractions, read like Keras / NumPy.
//
//   tcc::Graph g;
//   auto w = g.input("w", tcc::f32, {10, 12, 4, 5});
//   auto k = g.input("k", tcc::f32, {10, 12, 5, 8});
//   auto z = tcc::batch_dot(w, k);                  // (10,12,4,12,8), modern Keras
//   auto fn = g.compile({z});
//   std::vector<tcc::Tensor> outs = fn({{"w", wt}, {"k", kt}});
//
// Building a node infers and checks its shape at once (ShapeError / DTypeError); nothing is
// computed until compile() or eval(). Identical subexpressions are one node.
#pragma once
#include <tcc/dtype.h>
#include <tcc/error.h>
#include <tcc/tensor.h>

#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace tcc {

namespace ir { class GraphIR; }
namespace detail { struct GraphAccess; }
class Graph;
class CompiledGraph;

// A handle to one node of a Graph. Cheap to copy; valid while its Graph lives.
class Value {
 public:
  Value() = default;
  bool valid() const { return graph_ != nullptr; }
  DType dtype() const;
  const Shape& shape() const;
  int64_t rank() const { return static_cast<int64_t>(shape().size()); }
  Graph& graph() const;
  int id() const { return id_; }
  friend bool operator==(const Value& a, const Value& b) { return a.graph_ == b.graph_ && a.id_ == b.id_; }

 private:
  friend class Graph;
  Value(Graph* g, int id) : graph_(g), id_(id) {}
  Graph* graph_ = nullptr;
  int id_ = -1;
};

// An `axes` argument as Keras and NumPy take it: None, an int, or a (possibly nested) list.
//   Axes()          None           Axes(2)         2
//   Axes{1, 2}      (1, 2)         Axes{{1, 2}, {0, 1}}   ((1, 2), (0, 1)) for tensordot
class Axes {
 public:
  Axes() = default;
  Axes(int64_t a) : kind_(Kind::Int), value_(a) {}                     // NOLINT: implicit like Python
  Axes(int a) : Axes(static_cast<int64_t>(a)) {}                        // NOLINT
  Axes(std::initializer_list<Axes> items) : kind_(Kind::List), items_(items) {}
  static Axes list(std::vector<Axes> items) { Axes a; a.kind_ = Kind::List; a.items_ = std::move(items); return a; }

  bool is_none() const { return kind_ == Kind::None; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_list() const { return kind_ == Kind::List; }
  int64_t value() const { return value_; }
  const std::vector<Axes>& items() const { return items_; }
  std::string str() const;  // Python spelling: None, 2, (1, 2), ((1, 2), (0, 1))

 private:
  enum class Kind { None, Int, List };
  Kind kind_ = Kind::None;
  int64_t value_ = 0;
  std::vector<Axes> items_;
};

enum class BatchDotConvention { modern, legacy };

// tf.matmul flags; transpose_x and adjoint_x are mutually exclusive (equal for real dtypes).
struct MatmulFlags {
  bool transpose_a = false;
  bool transpose_b = false;
  bool adjoint_a = false;
  bool adjoint_b = false;
};

// A warning raised while building a node (e.g. the two batch_dot conventions disagree).
struct Warning {
  int node = -1;
  std::string message;
};

using Feeds = std::map<std::string, Tensor>;

struct InputInfo {
  std::string name;
  DType dtype;
  Shape shape;
  std::vector<int64_t> strides;  // a strided input's element strides; empty: dense row-major
  // What the input is fed: a tensor of `shape`, or for a strided input the rank-1 run of
  // elements its view spans (checked_span).
  Shape feed_shape() const;
};

class Graph {
 public:
  Graph();
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // A named, typed placeholder fed at run time. Names are unique per graph.
  Value input(const std::string& name, DType dtype, Shape shape);
  // A placeholder read in place through element strides (a NumPy view, a BLAS leading
  // dimension, a broadcast, a reversal): element (i, j, ...) is data[origin + i*strides[0] +
  // j*strides[1] + ...] of the rank-1 tensor it is fed, which holds the checked_span(shape,
  // strides) elements the view spans from its lowest (origin: strided_origin). Strides may be
  // negative or 0; the shape is static. Transposed, padded and broadcast layouts
  // become the kernels' own strides, as a transpose does: nothing is copied.
  Value input(const std::string& name, DType dtype, Shape shape, std::vector<int64_t> strides);
  // A constant folded into the graph (the tensor's data is copied).
  Value constant(const Tensor& value);

  // Compiles the subgraph that computes `outputs` (JIT, host CPU).
  CompiledGraph compile(const std::vector<Value>& outputs) const;
  // One-shot: compile and run.
  std::vector<Tensor> eval(const std::vector<Value>& outputs, const Feeds& feeds = {}) const;

  std::vector<InputInfo> inputs() const;
  // Warnings raised since the last call.
  std::vector<Warning> take_warnings();

  // The node with this id (as Value::id() gives it).
  Value value(int node_id);

 private:
  friend struct detail::GraphAccess;  // the library's own access to the graph IR
  void warn(int node_id, std::string message);
  std::unique_ptr<ir::GraphIR> ir_;
  std::vector<Warning> warnings_;
};

// ---- Ops (spec/semantics.md). Both operands must come from the same Graph. ----

// Keras K.dot (Theano / NumPy dot).
Value dot(const Value& x, const Value& y);
// Keras K.batch_dot. `legacy` is Keras <= 2.2.4 (what the seed blog prints).
// No convention: modern, with a warning (Graph::take_warnings) when legacy would give another
// shape; a convention given is the caller's choice, never warned about.
Value batch_dot(const Value& x, const Value& y, const Axes& axes = {},
                std::optional<BatchDotConvention> convention = std::nullopt);
// tf.matmul: rank >= 2, broadcast batch dims.
Value matmul(const Value& a, const Value& b, MatmulFlags flags = {});
// NumPy tensordot: axes is an int N or a pair of axis lists.
Value tensordot(const Value& x, const Value& y, const Axes& axes = 2);
// NumPy einsum with one or more operands.
Value einsum(const std::string& spec, const std::vector<Value>& operands);
// The same in NumPy's call form: einsum("ij,jk->ik", a, b).
template <typename... More, typename = std::enable_if_t<(std::is_convertible_v<const More&, const Value&> && ...)>>
Value einsum(const std::string& spec, const Value& first, const More&... more) {
  return einsum(spec, std::vector<Value>{first, more...});
}
// NumPy transpose; no perm reverses the axes.
Value transpose(const Value& x, std::optional<std::vector<int64_t>> perm = std::nullopt);
// NumPy reshape (row-major); one entry may be -1.
Value reshape(const Value& x, const Shape& shape);

namespace np {
// NumPy `a @ b` (matmul with 1-D promotion).
Value matmul(const Value& a, const Value& b);
}  // namespace np

// ---- Element-wise ops (spec/semantics.md, "Element-wise ops") ----
// NumPy broadcasting between operands; one dtype (a scalar takes the tensor's: x * 2.0 of an f32
// x is f32, as NumPy's weak scalars are). Integers wrap as NumPy's; `/`, pow and the
// transcendental functions take float tensors only (DTypeError: cast first). NaN and ±inf
// propagate as in NumPy (maximum, minimum and relu of a NaN are NaN).
Value operator+(const Value& x, const Value& y);
Value operator-(const Value& x, const Value& y);
Value operator*(const Value& x, const Value& y);
Value operator/(const Value& x, const Value& y);
Value operator+(const Value& x, double y);
Value operator-(const Value& x, double y);
Value operator*(const Value& x, double y);
Value operator/(const Value& x, double y);
Value operator+(double x, const Value& y);
Value operator-(double x, const Value& y);
Value operator*(double x, const Value& y);
Value operator/(double x, const Value& y);
Value operator-(const Value& x);
Value maximum(const Value& x, const Value& y);
Value minimum(const Value& x, const Value& y);
Value pow(const Value& x, const Value& y);
Value pow(const Value& x, double y);
// x converted to `dtype`, as NumPy's x.astype(dtype): integers wrap to a narrower integer, floats
// round to nearest, floats to integers truncate toward zero and saturate (NaN: 0).
Value cast(const Value& x, DType dtype);
// log(exp(x) + exp(y)) without overflow, as NumPy's (floats).
Value logaddexp(const Value& x, const Value& y);
Value neg(const Value& x);
Value abs(const Value& x);
Value square(const Value& x);
Value sqrt(const Value& x);
Value rsqrt(const Value& x);  // 1 / sqrt(x)
Value exp(const Value& x);
Value log(const Value& x);
Value tanh(const Value& x);
Value sigmoid(const Value& x);
Value relu(const Value& x);
// Keras gelu: x * Phi(x) (erf), or with `approximate` its tanh approximation.
Value gelu(const Value& x, bool approximate = false);
// The element-wise function of this name ("add", "relu", "gelu_tanh": the .tc names, and
// gelu_tanh for gelu(approximate=true)) of one or two operands; ArgumentError for another name.
Value elementwise(const std::string& name, const std::vector<Value>& operands);
// NumPy's sum, mean, max, min over `axis`: an int, a tuple of ints (Axes::list) or None (every
// axis); negative counts from the end; keepdims leaves each reduced axis as a 1. Integers sum
// with wrap-around; mean takes floats only (NumPy's mean of integers is a float). max and min
// of a NaN are NaN; over an axis of size 0 they are a ShapeError (no identity), sum is 0.
Value sum(const Value& x, const Axes& axis = {}, bool keepdims = false);
Value mean(const Value& x, const Axes& axis = {}, bool keepdims = false);
Value max(const Value& x, const Axes& axis = {}, bool keepdims = false);
Value min(const Value& x, const Axes& axis = {}, bool keepdims = false);
// Keras softmax: exp(x - max(x)) / sum(exp(x - max(x))) along `axis` (floats), computed as
// exp(x - logsumexp(x)): two sweeps over x.
Value softmax(const Value& x, int64_t axis = -1);
// log(sum(exp(x))) over `axis`, without overflow (scipy.special.logsumexp; floats only). Of no
// elements: -inf.
Value logsumexp(const Value& x, const Axes& axis = {}, bool keepdims = false);
// Keras bias_add (channels last): x + bias, bias of shape (C,) for x's last dim C, or of x's
// shape without its first axis.
Value bias_add(const Value& x, const Value& bias);
// A scalar of `dtype` in x's graph, broadcasting to any shape. An integer dtype takes only a
// whole number in its range (ArgumentError otherwise).
Value scalar_like(const Value& x, double value);

// ---- Compiled graphs ----

struct CompileStats {
  double compile_ms = 0;    // graph passes + kernel cache + LLVM, wall time
  int kernels = 0;          // distinct kernels the graph runs
  int compiled = 0;         // of those, compiled by LLVM now
  int memory_hits = 0;      // found compiled in this process
  int disk_hits = 0;        // loaded from the on-disk cache
  bool disk_cache = false;  // whether the on-disk cache was on (TCC_CACHE)
  double flops = 0;         // arithmetic of one run: 2 per multiply-add of a contraction
                            // (symbols at 64: BoundRun::flops() for actual sizes)
};

class BoundRun;

class CompiledGraph {
 public:
  CompiledGraph();
  ~CompiledGraph();
  CompiledGraph(CompiledGraph&&) noexcept;
  CompiledGraph& operator=(CompiledGraph&&) noexcept;

  // Runs the graph. Every input the outputs depend on must be fed with its declared dtype and
  // shape (a strided input: InputInfo::feed_shape()), a symbolic dimension taking the size of the first input that has it and every other
  // matching it (InputError otherwise). Returns one tensor per output, in order.
  std::vector<Tensor> operator()(const Feeds& feeds) const;
  // The same, writing into `outputs`: an entry of the right dtype and shape that shares no
  // storage with a feed is written in place (no allocation); others are replaced. Intermediate
  // buffers are reused across calls. Safe to call from several threads at once.
  void run(const Feeds& feeds, std::vector<Tensor>& outputs) const;
  // Binds the graph to these feeds and outputs (taken as run() takes them) for repeated calls:
  // the checks run() makes on every call are made once, here (InputError as run()).
  BoundRun bind(const Feeds& feeds, std::vector<Tensor> outputs = {}) const;
  // The inputs the outputs depend on, in declaration order.
  const std::vector<InputInfo>& inputs() const;
  const CompileStats& stats() const;

 private:
  friend class Graph;
  friend struct detail::GraphAccess;
  struct Impl;
  explicit CompiledGraph(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A run bound to fixed tensors (CompiledGraph::bind): each call runs the kernels on the feeds'
// current contents and writes outputs() in place, with no per-call lookups or checks (a few
// ns instead of about 20, which shows on sub-microsecond graphs; LIBXSMM's dispatched kernels
// and oneDNN's primitives are used the same way). It shares the tensors' storage and owns its
// intermediates. One thread at a time; valid while the CompiledGraph it came from lives.
class BoundRun {
 public:
  BoundRun();
  ~BoundRun();
  BoundRun(BoundRun&&) noexcept;
  BoundRun& operator=(BoundRun&&) noexcept;

  void operator()();
  const std::vector<Tensor>& outputs() const;
  // The arithmetic of one call at the bound sizes (CompileStats::flops, with symbols sized).
  double flops() const;

 private:
  friend class CompiledGraph;
  struct State;
  explicit BoundRun(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tcc
