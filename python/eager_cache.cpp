// The cache of compiled single-op graphs behind the ops on arrays (eager_cache.h).
#include "eager_cache.h"

#include <fmt/format.h>

namespace tcc::python {

namespace {

template <typename T>
void append_raw(std::string& key, const T& value) {
  key.append(reinterpret_cast<const char*>(&value), sizeof(value));
}

void append_bytes(std::string& key, std::string_view bytes) {
  append_raw(key, static_cast<uint32_t>(bytes.size()));
  key.append(bytes);
}

}  // namespace

void make_eager_key(std::string& key, std::string_view op, std::string_view attributes,
                    const std::vector<ArrayOperand>& operands) {
  key.clear();
  append_bytes(key, op);
  append_bytes(key, attributes);
  append_raw(key, static_cast<uint32_t>(operands.size()));
  for (const ArrayOperand& operand : operands) {
    key.push_back(static_cast<char>(operand.data.dtype()));
    append_raw(key, static_cast<uint32_t>(operand.shape.size()));
    key.append(reinterpret_cast<const char*>(operand.shape.data()), operand.shape.size() * sizeof(int64_t));
    append_raw(key, static_cast<uint32_t>(operand.strides.size()));
    key.append(reinterpret_cast<const char*>(operand.strides.data()), operand.strides.size() * sizeof(int64_t));
  }
}

std::shared_ptr<const EagerGraph> compile_eager(const std::vector<ArrayOperand>& operands, const BuildOp& build) {
  auto graph = std::make_shared<EagerGraph>();
  Graph g;
  std::vector<Value> inputs;
  for (size_t i = 0; i < operands.size(); ++i) {
    graph->input_names.push_back(fmt::format("x{}", i));
    const ArrayOperand& operand = operands[i];
    inputs.push_back(g.input(graph->input_names.back(), operand.data.dtype(), operand.shape, operand.strides));
  }
  const Value result = build(inputs);
  for (Warning& w : g.take_warnings()) graph->warnings.push_back(std::move(w.message));
  graph->dtype = result.dtype();
  graph->shape = result.shape();
  graph->numel = checked_numel(graph->shape);
  graph->compiled = g.compile({result});
  return graph;
}

std::unique_ptr<EagerCall> EagerGraph::take_call() const {
  if (!spare_calls_.empty()) {
    std::unique_ptr<EagerCall> call = std::move(spare_calls_.back());
    spare_calls_.pop_back();
    return call;
  }
  auto call = std::make_unique<EagerCall>();
  for (const std::string& name : input_names) call->operands.push_back(&call->feeds[name]);  // map nodes stay put
  return call;
}

void EagerGraph::give_back(std::unique_ptr<EagerCall> call) const {
  for (Tensor* operand : call->operands) *operand = Tensor();
  call->results.assign(1, Tensor());
  constexpr size_t kSpareCalls = 4;  // as many as threads usually run one graph at once
  if (spare_calls_.size() < kSpareCalls) spare_calls_.push_back(std::move(call));
}

std::shared_ptr<const EagerGraph> EagerCache::find(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  recent_.splice(recent_.begin(), recent_, it->second);  // iterators and key views stay valid
  return it->second->second;
}

void EagerCache::insert(const std::string& key, std::shared_ptr<const EagerGraph> graph) {
  if (capacity_ == 0) return;
  if (auto it = index_.find(key); it != index_.end()) {  // another thread compiled it meanwhile
    recent_.splice(recent_.begin(), recent_, it->second);
    return;
  }
  evict_to(capacity_ - 1);
  recent_.emplace_front(key, std::move(graph));
  index_.emplace(recent_.front().first, recent_.begin());
}

void EagerCache::clear() {
  index_.clear();
  recent_.clear();
}

void EagerCache::set_capacity(size_t capacity) {
  capacity_ = capacity;
  evict_to(capacity);
}

void EagerCache::evict_to(size_t size) {
  while (index_.size() > size) {
    index_.erase(recent_.back().first);
    recent_.pop_back();
  }
}

}  // namespace tcc::python
