// libFuzzer target: the C++ graph API driven by fuzzed ops, shapes, dtypes and axes (shape
// inference of every op, including bad arguments), then the middle end (graph passes, kernel
// program, schedules, loop IR; no LLVM) on the values built. A tcc::Error other than
// InternalError is a rejection; a crash, a sanitizer report or another exception is a finding.
#include <tcc/error.h>
#include <tcc/tcc.h>

#include "driver/driver.h"
#include "frontend/graph_access.h"

#include "ir/elementwise.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <vector>

namespace {

using tcc::Value;

// Sizes 0..6, or one of two symbolic dimensions (shape inference carries them; the middle end
// refuses them for now).
tcc::Shape small_shape(FuzzedDataProvider& in) {
  static const int64_t symbols[] = {tcc::dim("N"), tcc::dim("M")};
  tcc::Shape s(in.ConsumeIntegralInRange<size_t>(0, 5));
  for (int64_t& d : s) {
    d = in.ConsumeIntegralInRange<int64_t>(0, 7);
    if (d == 7) d = symbols[in.ConsumeBool()];
  }
  return s;
}

// An axes argument: None, an int, a pair of ints or a pair of lists (some out of range).
tcc::Axes axes(FuzzedDataProvider& in) {
  auto axis = [&] { return tcc::Axes(in.ConsumeIntegralInRange<int64_t>(-6, 6)); };
  auto list = [&] {
    std::vector<tcc::Axes> items(in.ConsumeIntegralInRange<size_t>(0, 3));
    for (tcc::Axes& a : items) a = axis();
    return tcc::Axes::list(items);
  };
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: return {};
    case 1: return axis();
    case 2: return tcc::Axes::list({axis(), axis()});
    default: return tcc::Axes::list({list(), list()});
  }
}

Value op(FuzzedDataProvider& in, const std::vector<Value>& values) {
  auto pick = [&] { return values[in.ConsumeIntegralInRange<size_t>(0, values.size() - 1)]; };
  const Value x = pick(), y = pick();
  switch (in.ConsumeIntegralInRange(0, 12)) {
    case 0: return tcc::dot(x, y);
    case 1:
      return tcc::batch_dot(x, y, axes(in),
                            in.ConsumeBool() ? tcc::BatchDotConvention::legacy : tcc::BatchDotConvention::modern);
    case 2: {
      tcc::MatmulFlags f;
      f.transpose_a = in.ConsumeBool(), f.transpose_b = in.ConsumeBool();
      f.adjoint_a = in.ConsumeBool(), f.adjoint_b = in.ConsumeBool();
      return tcc::matmul(x, y, f);
    }
    case 3: return tcc::np::matmul(x, y);
    case 4: return tcc::tensordot(x, y, axes(in));
    case 5: {
      std::vector<Value> operands{x};
      for (size_t n = in.ConsumeIntegralInRange<size_t>(0, 4); n > 0; --n) operands.push_back(pick());
      return tcc::einsum(in.ConsumeRandomLengthString(24), operands);
    }
    case 6: {
      if (in.ConsumeBool()) return tcc::transpose(x);
      std::vector<int64_t> perm(in.ConsumeIntegralInRange<size_t>(0, 5));
      for (int64_t& p : perm) p = in.ConsumeIntegralInRange<int64_t>(-1, 5);
      return tcc::transpose(x, perm);
    }
    case 7: {
      tcc::Shape s = small_shape(in);
      if (!s.empty() && in.ConsumeBool()) s[in.ConsumeIntegralInRange<size_t>(0, s.size() - 1)] = -1;
      return tcc::reshape(x, s);
    }
    case 8: {  // an element-wise function of the table, or one with a scalar
      const auto& table = tcc::ir::elem_op_table();
      const tcc::ir::ElemOpInfo& f = table[in.ConsumeIntegralInRange<size_t>(0, table.size() - 1)];
      if (f.arity == 2 && in.ConsumeBool()) return tcc::elementwise(std::string(f.name), {x, tcc::scalar_like(x, in.ConsumeFloatingPoint<double>())});
      return tcc::elementwise(std::string(f.name), f.arity == 1 ? std::vector<Value>{x} : std::vector<Value>{x, y});
    }
    case 9: {
      const tcc::Axes a = in.ConsumeBool() ? tcc::Axes() : tcc::Axes(in.ConsumeIntegralInRange<int64_t>(-6, 6));
      const bool keepdims = in.ConsumeBool();
      switch (in.ConsumeIntegralInRange(0, 4)) {
        case 0: return tcc::sum(x, a, keepdims);
        case 1: return tcc::max(x, a, keepdims);
        case 2: return tcc::min(x, a, keepdims);
        case 3: return tcc::logsumexp(x, a, keepdims);
        default: return tcc::mean(x, a, keepdims);
      }
    }
    case 10:
      if (in.ConsumeBool()) {
        const tcc::DType to[] = {tcc::f32, tcc::f64, tcc::i32, tcc::i64};
        return tcc::cast(x, to[in.ConsumeIntegralInRange(0, 3)]);
      }
      return tcc::softmax(x, in.ConsumeIntegralInRange<int64_t>(-6, 6));
    case 11: return tcc::bias_add(x, y);
    default: return tcc::einsum(in.ConsumeRandomLengthString(24), {x, y});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  tcc::Graph g;
  std::vector<Value> values;
  const tcc::DType dtypes[] = {tcc::f32, tcc::f64, tcc::i32, tcc::i64};
  const tcc::DType dtype = dtypes[in.ConsumeIntegralInRange(0, 3)];
  for (size_t n = in.ConsumeIntegralInRange<size_t>(1, 4); n > 0; --n)
    values.push_back(g.input("x" + std::to_string(values.size()), in.ConsumeBool() ? dtype : dtypes[in.ConsumeIntegralInRange(0, 3)],
                             small_shape(in)));
  const size_t inputs = values.size();
  for (int steps = in.ConsumeIntegralInRange(1, 8); steps > 0 && in.remaining_bytes() > 0; --steps) {
    try {
      values.push_back(op(in, values));
    } catch (const tcc::InternalError&) {
      throw;
    } catch (const tcc::Error&) {
      // a refused op: the graph is unchanged
    }
  }
  (void)g.take_warnings();
  if (values.size() == inputs) return 0;
  std::vector<int> outputs;
  for (size_t i = inputs; i < values.size(); ++i) outputs.push_back(values[i].id());
  try {
    (void)tcc::driver::plan_for_model(tcc::detail::graph_ir(g), outputs, {});
  } catch (const tcc::InternalError&) {
    throw;
  } catch (const tcc::Error&) {
  }
  return 0;
}
