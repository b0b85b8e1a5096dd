// The compiled graphs behind the ops on arrays (tcc.matmul(a, b), ...): one per op, attributes,
// operand dtypes and shapes, so that a repeated call costs a lookup and a run, not a graph
// build and a compile. The kernels themselves are cached process-wide (and on disk) by the
// driver, as for C++ callers; this cache saves the graph passes around them.
#pragma once
#include <tcc/graph.h>

#include "numpy_bridge.h"

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tcc::python {

// What one call of an EagerGraph runs with: its feeds by input name, and its result. Reused
// by the graph's next call (no map nodes or vectors allocated per call); empty between calls.
struct EagerCall {
  Feeds feeds;                    // one entry per input name
  std::vector<Tensor*> operands;  // those entries' tensors, in operand order
  std::vector<Tensor> results = std::vector<Tensor>(1);
};

// One op compiled for one signature.
struct EagerGraph {
  CompiledGraph compiled;
  std::vector<std::string> input_names;  // one per operand, in order
  std::vector<std::string> warnings;     // raised when the node was built; repeated per call
  DType dtype = DType::f32;              // the result's
  Shape shape;
  int64_t numel = 0;

  // A call to fill, and back once the run is over (emptied, so that it holds no array). Under
  // the GIL only; calls running at once (without it) each have their own.
  std::unique_ptr<EagerCall> take_call() const;
  void give_back(std::unique_ptr<EagerCall> call) const;

 private:
  mutable std::vector<std::unique_ptr<EagerCall>> spare_calls_;
};

// Lends an EagerGraph's call for a scope.
class EagerCallLease {
 public:
  explicit EagerCallLease(const EagerGraph& graph) : graph_(graph), call_(graph.take_call()) {}
  ~EagerCallLease() { graph_.give_back(std::move(call_)); }
  EagerCallLease(const EagerCallLease&) = delete;
  EagerCallLease& operator=(const EagerCallLease&) = delete;
  EagerCall* operator->() const { return call_.get(); }

 private:
  const EagerGraph& graph_;
  std::unique_ptr<EagerCall> call_;
};

// Builds the op's node on graph inputs standing for the operands.
using BuildOp = std::function<Value(const std::vector<Value>&)>;

// Graph passes and LLVM: builds the op on inputs of the operands' dtypes and shapes and
// compiles it. ShapeError and the other build errors propagate. Touches no Python object (the
// caller releases the GIL around it).
// A strided operand is a strided input of the graph.
std::shared_ptr<const EagerGraph> compile_eager(const std::vector<ArrayOperand>& operands, const BuildOp& build);

// The key of a call: op, attributes (any bytes), then each operand's dtype, shape and strides;
// written into `key` (whose capacity is reused). Unambiguous: every part is length-prefixed.
void make_eager_key(std::string& key, std::string_view op, std::string_view attributes,
                    const std::vector<ArrayOperand>& operands);

// A least-recently-used map from call keys to compiled graphs, bounded to `capacity` entries.
// Not thread-safe: the module uses it under the GIL. Entries are shared, so an evicted graph
// lives on until the calls running it finish.
class EagerCache {
 public:
  explicit EagerCache(size_t capacity) : capacity_(capacity) {}
  std::shared_ptr<const EagerGraph> find(const std::string& key);
  void insert(const std::string& key, std::shared_ptr<const EagerGraph> graph);
  void clear();
  void set_capacity(size_t capacity);

  size_t size() const { return index_.size(); }
  size_t capacity() const { return capacity_; }
  int64_t hits() const { return hits_; }
  int64_t misses() const { return misses_; }

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const EagerGraph>>;
  void evict_to(size_t size);
  size_t capacity_;
  std::list<Entry> recent_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // views of the entries' keys
  int64_t hits_ = 0;
  int64_t misses_ = 0;
};

}  // namespace tcc::python
