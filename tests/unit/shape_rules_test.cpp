// Tests of the pure shape rules (frontend/shape_rules.h) against spec/semantics.md: result
// shapes, IndexSpec structure, the meaning of the IndexSpec (evaluated naively and compared with
// independent element-space references), warnings, and every error branch with its message.
#include "shape_rules.h"

#include <tcc/error.h>
#include <tcc/tensor.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <ostream>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

namespace tcc::rules {
namespace {

using ir::IndexSpec;
constexpr int kB = IndexSpec::kBroadcast;
constexpr BatchDotConvention kModern = BatchDotConvention::modern;
constexpr BatchDotConvention kLegacy = BatchDotConvention::legacy;

// ---------------------------------------------------------------------------------------------
// A small dense array and element-space helpers, written independently of the rules.

struct Nd {
  Shape shape;
  std::vector<double> v;

  int64_t offset(const std::vector<int64_t>& idx) const {
    int64_t off = 0;
    for (size_t a = 0; a < shape.size(); ++a) off = off * shape[a] + idx[a];
    return off;
  }
  double at(const std::vector<int64_t>& idx) const { return v[offset(idx)]; }
  double& at(const std::vector<int64_t>& idx) { return v[offset(idx)]; }
};

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Nd zeros(const Shape& s) { return Nd{s, std::vector<double>(numel(s), 0.0)}; }

// Small integers in [-5, 5], different per seed, so sums are exact in double.
Nd sample(const Shape& s, int seed) {
  Nd a = zeros(s);
  for (size_t k = 0; k < a.v.size(); ++k) a.v[k] = static_cast<double>(static_cast<int64_t>((k * 7 + seed * 5 + 3) % 11) - 5);
  return a;
}

Nd literal(const Shape& s, std::vector<double> values) {
  EXPECT_EQ(static_cast<int64_t>(values.size()), numel(s));
  return Nd{s, std::move(values)};
}

// Calls f(index) for every index of `shape` in row-major order (once for a scalar).
void for_each_index(const Shape& shape, const std::function<void(const std::vector<int64_t>&)>& f) {
  if (numel(shape) == 0) return;
  std::vector<int64_t> idx(shape.size(), 0);
  while (true) {
    f(idx);
    int a = static_cast<int>(shape.size()) - 1;
    for (; a >= 0; --a) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
    if (a < 0) return;
  }
}

// Whether axis `axis` (of size `size`) of operand i is stretched over a longer loop dim. The
// spec names that dim (so its role stays known) rather than marking the axis kBroadcast.
bool broadcasts(const IndexSpec& spec, size_t i, size_t axis, int64_t size) {
  int d = spec.operands[i][axis];
  return size == 1 && d != kB && spec.extents[d] != 1;
}

// The naive meaning of an IndexSpec: for every tuple of loop indices, add the product of the
// operand elements it addresses to the output element it addresses.
Nd evaluate(const IndexSpec& spec, const std::vector<Nd>& operands) {
  Nd out = zeros(spec.out_shape());
  for_each_index(spec.extents, [&](const std::vector<int64_t>& loop) {
    double product = 1;
    for (size_t i = 0; i < operands.size(); ++i) {
      std::vector<int64_t> idx;
      // A size-1 axis is read at index 0 also when it names a longer (broadcast) loop dim.
      for (size_t a = 0; a < spec.operands[i].size(); ++a) {
        int d = spec.operands[i][a];
        idx.push_back(d == kB || operands[i].shape[a] == 1 ? 0 : loop[d]);
      }
      product *= operands[i].at(idx);
    }
    std::vector<int64_t> oidx;
    for (int d : spec.out) oidx.push_back(loop[d]);
    out.at(oidx) += product;
  });
  return out;
}

// NumPy tensordot by definition: x's free axes ++ y's free axes, summing over the pairs.
Nd ref_tensordot(const Nd& x, const Nd& y, const std::vector<int64_t>& ax, const std::vector<int64_t>& ay) {
  auto contains = [](const std::vector<int64_t>& v, int64_t a) { return std::find(v.begin(), v.end(), a) != v.end(); };
  std::vector<int64_t> fx, fy;
  Shape out_shape, sum_shape;
  for (int64_t a = 0; a < static_cast<int64_t>(x.shape.size()); ++a)
    if (!contains(ax, a)) fx.push_back(a), out_shape.push_back(x.shape[a]);
  for (int64_t a = 0; a < static_cast<int64_t>(y.shape.size()); ++a)
    if (!contains(ay, a)) fy.push_back(a), out_shape.push_back(y.shape[a]);
  for (int64_t a : ax) sum_shape.push_back(x.shape[a]);
  Nd out = zeros(out_shape);
  for_each_index(out_shape, [&](const std::vector<int64_t>& o) {
    double acc = 0;
    for_each_index(sum_shape, [&](const std::vector<int64_t>& s) {
      std::vector<int64_t> ix(x.shape.size()), iy(y.shape.size());
      for (size_t k = 0; k < fx.size(); ++k) ix[fx[k]] = o[k];
      for (size_t k = 0; k < fy.size(); ++k) iy[fy[k]] = o[fx.size() + k];
      for (size_t k = 0; k < ax.size(); ++k) ix[ax[k]] = iy[ay[k]] = s[k];
      acc += x.at(ix) * y.at(iy);
    });
    out.at(o) = acc;
  });
  return out;
}

// The last two axes swapped.
Nd swap_last2(const Nd& a) {
  Shape s = a.shape;
  std::swap(s[s.size() - 1], s[s.size() - 2]);
  Nd out = zeros(s);
  for_each_index(a.shape, [&](const std::vector<int64_t>& i) {
    auto j = i;
    std::swap(j[j.size() - 1], j[j.size() - 2]);
    out.at(j) = a.at(i);
  });
  return out;
}

// tf.matmul by definition, with NumPy batch broadcasting.
Nd ref_matmul(Nd a, Nd b, bool ta, bool tb) {
  if (ta) a = swap_last2(a);
  if (tb) b = swap_last2(b);
  const size_t ra = a.shape.size(), rb = b.shape.size(), nb = std::max(ra, rb) - 2;
  Shape batch(nb);
  for (size_t p = 0; p < nb; ++p) {
    int64_t sa = p + ra - 2 >= nb ? a.shape[p + ra - 2 - nb] : 1;
    int64_t sb = p + rb - 2 >= nb ? b.shape[p + rb - 2 - nb] : 1;
    batch[p] = sa == 1 ? sb : sa;
  }
  const int64_t m = a.shape[ra - 2], k = a.shape[ra - 1], n = b.shape[rb - 1];
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Nd out = zeros(out_shape);
  for_each_index(out_shape, [&](const std::vector<int64_t>& o) {
    std::vector<int64_t> ia(ra), ib(rb);
    for (size_t p = 0; p + 2 < ra; ++p) ia[p] = a.shape[p] == 1 ? 0 : o[p + nb - (ra - 2)];
    for (size_t p = 0; p + 2 < rb; ++p) ib[p] = b.shape[p] == 1 ? 0 : o[p + nb - (rb - 2)];
    double acc = 0;
    for (int64_t r = 0; r < k; ++r) {
      ia[ra - 2] = o[nb], ia[ra - 1] = r;
      ib[rb - 2] = r, ib[rb - 1] = o[nb + 1];
      acc += a.at(ia) * b.at(ib);
    }
    out.at(o) = acc;
  });
  return out;
}

// Slice b of axis 0.
Nd take0(const Nd& a, int64_t b) {
  Shape s(a.shape.begin() + 1, a.shape.end());
  const int64_t n = numel(s);
  return Nd{s, std::vector<double>(a.v.begin() + b * n, a.v.begin() + (b + 1) * n)};
}

// The structural invariants every rule result must satisfy.
void expect_well_formed(const RuleResult& r, const std::vector<Shape>& operands) {
  EXPECT_NO_THROW(r.spec.verify(operands)) << r.spec.str();
  EXPECT_EQ(r.spec.out_shape(), r.shape) << r.spec.str();
  // Output dims first, in output order.
  for (size_t i = 0; i < r.spec.out.size(); ++i) EXPECT_EQ(r.spec.out[i], static_cast<int>(i)) << r.spec.str();
}

bool loop_space_small(const IndexSpec& spec) {
  double n = 1;
  for (int64_t e : spec.extents) n *= static_cast<double>(std::max<int64_t>(e, 1));
  return n <= 400000;
}

void expect_same(const Nd& got, const Nd& want, const std::string& what) {
  ASSERT_EQ(got.shape, want.shape) << what;
  for (size_t k = 0; k < want.v.size(); ++k) ASSERT_EQ(got.v[k], want.v[k]) << what << " at flat " << k;
}

std::string describe(const std::vector<Shape>& shapes) {
  std::string s;
  for (const auto& sh : shapes) s += shape_str(sh) + " ";
  return s;
}

// ---------------------------------------------------------------------------------------------
// dot

struct DotRow {
  Shape x, y, want;
};

std::ostream& operator<<(std::ostream& os, const DotRow& r) { return os << shape_str(r.x) << "." << shape_str(r.y); }

const std::vector<DotRow> kDotRows = {
    // The seed's examples.
    {{3, 4}, {4, 5}, {3, 5}},
    {{2, 3, 4}, {7, 4, 5}, {2, 3, 7, 5}},
    {{1, 2, 3, 4}, {8, 7, 4, 5}, {1, 2, 3, 8, 7, 5}},
    {{1, 2, 4}, {8, 7, 4, 5}, {1, 2, 8, 7, 5}},
    // 0-D: elementwise scaling.
    {{}, {3, 4}, {3, 4}},
    {{3, 4}, {}, {3, 4}},
    {{}, {}, {}},
    {{}, {5}, {5}},
    {{2, 0}, {}, {2, 0}},
    // 1-D cases.
    {{4}, {4}, {}},
    {{3, 4}, {4}, {3}},
    {{2, 3, 4}, {4}, {2, 3}},
    {{4}, {4, 5}, {5}},
    {{4}, {2, 4, 5}, {2, 5}},
    {{4}, {3, 2, 4, 5}, {3, 2, 5}},
    // Zero sizes, size 1.
    {{0, 4}, {4, 5}, {0, 5}},
    {{3, 0}, {0, 5}, {3, 5}},
    {{0}, {0}, {}},
    {{3, 4}, {2, 4, 0}, {3, 2, 0}},
    {{1, 4}, {4, 1}, {1, 1}},
    {{2, 1}, {3, 1, 2}, {2, 3, 2}},
};

class DotTest : public ::testing::TestWithParam<DotRow> {};

TEST_P(DotTest, ShapeSpecAndValues) {
  const DotRow& row = GetParam();
  RuleResult r = dot_rule(row.x, row.y);
  EXPECT_EQ(r.shape, row.want) << describe({row.x, row.y});
  expect_well_formed(r, {row.x, row.y});
  EXPECT_TRUE(r.warnings.empty());
  if (!loop_space_small(r.spec)) return;
  Nd x = sample(row.x, 1), y = sample(row.y, 2);
  Nd want;
  if (row.x.empty() || row.y.empty()) {
    const Nd& s = row.x.empty() ? x : y;
    want = row.x.empty() ? y : x;
    for (double& e : want.v) e *= s.v[0];
  } else {
    const int64_t ya = row.y.size() == 1 ? 0 : static_cast<int64_t>(row.y.size()) - 2;
    want = ref_tensordot(x, y, {static_cast<int64_t>(row.x.size()) - 1}, {ya});
  }
  expect_same(evaluate(r.spec, {x, y}), want, describe({row.x, row.y}));
}

INSTANTIATE_TEST_SUITE_P(Table, DotTest, ::testing::ValuesIn(kDotRows));

TEST(DotSpec, ExactIndexSpecOfTheBriefExample) {
  RuleResult r = dot_rule({2, 3, 4}, {7, 4, 5});
  EXPECT_EQ(r.spec.extents, (std::vector<int64_t>{2, 3, 7, 5, 4}));
  EXPECT_EQ(r.spec.operands, (std::vector<std::vector<int>>{{0, 1, 4}, {2, 4, 3}}));
  EXPECT_EQ(r.spec.out, (std::vector<int>{0, 1, 2, 3}));
}

TEST(DotSpec, InnerProductHasNoOutputDims) {
  RuleResult r = dot_rule({4}, {4});
  EXPECT_EQ(r.spec.extents, (std::vector<int64_t>{4}));
  EXPECT_EQ(r.spec.operands, (std::vector<std::vector<int>>{{0}, {0}}));
  EXPECT_TRUE(r.spec.out.empty());
}

TEST(DotValues, HandComputedMatrixProduct) {
  RuleResult r = dot_rule({2, 3}, {3, 2});
  Nd x = literal({2, 3}, {1, 2, 3, 4, 5, 6}), y = literal({3, 2}, {1, 2, 3, 4, 5, 6});
  expect_same(evaluate(r.spec, {x, y}), literal({2, 2}, {22, 28, 49, 64}), "2x3 . 3x2");
}

TEST(DotValues, SeedFourDimExampleByDefinition) {
  // c[a,b,c,i,j,k] = sum_r w[a,b,c,r] * x[i,j,r,k]
  RuleResult r = dot_rule({1, 2, 3, 4}, {2, 2, 4, 3});
  Nd w = sample({1, 2, 3, 4}, 3), x = sample({2, 2, 4, 3}, 4);
  Nd want = zeros({1, 2, 3, 2, 2, 3});
  for_each_index(want.shape, [&](const std::vector<int64_t>& o) {
    double acc = 0;
    for (int64_t q = 0; q < 4; ++q) acc += w.at({o[0], o[1], o[2], q}) * x.at({o[3], o[4], q, o[5]});
    want.at(o) = acc;
  });
  expect_same(evaluate(r.spec, {w, x}), want, "seed 4-D dot");
}

TEST(DotValues, ZeroSizeContractionYieldsZeros) {
  RuleResult r = dot_rule({3, 0}, {0, 5});
  Nd got = evaluate(r.spec, {zeros({3, 0}), zeros({0, 5})});
  ASSERT_EQ(got.v.size(), 15u);
  for (double e : got.v) EXPECT_EQ(e, 0.0);
}

// ---------------------------------------------------------------------------------------------
// batch_dot

struct BatchDotRow {
  Shape x, y;
  Axes axes;
  BatchDotConvention convention;
  Shape want;
  bool legacy_axes_warning;
};

std::ostream& operator<<(std::ostream& os, const BatchDotRow& r) {
  return os << shape_str(r.x) << "," << shape_str(r.y) << " axes=" << r.axes.str()
            << (r.convention == kLegacy ? " legacy" : " modern");
}

const std::vector<BatchDotRow> kBatchDotRows = {
    // modern
    {{10, 12, 4, 5}, {10, 12, 5, 8}, {}, kModern, {10, 12, 4, 12, 8}, false},
    {{9, 8, 7, 4, 2}, {9, 8, 7, 2, 5}, {}, kModern, {9, 8, 7, 4, 8, 7, 5}, false},
    {{32, 10, 5}, {32, 5}, {}, kModern, {32, 10}, false},
    {{32, 20, 5}, {32, 5, 30}, {}, kModern, {32, 20, 30}, false},
    {{32, 20}, {32, 20}, {}, kModern, {32, 1}, false},
    {{32, 20}, {32, 20}, 1, kModern, {32, 1}, false},
    {{32, 20}, {32, 20}, -1, kModern, {32, 1}, false},
    {{2, 3, 4}, {2, 5, 3}, {1, 2}, kModern, {2, 4, 5}, false},
    {{2, 3, 4}, {2, 3, 5}, 1, kModern, {2, 4, 5}, false},
    {{2, 3, 4}, {2, 5, 3}, {-2, -1}, kModern, {2, 4, 5}, false},
    {{2, 3}, {2, 4, 3}, {1, 2}, kModern, {2, 4}, false},
    {{2, 3}, {2, 3, 4}, {}, kModern, {2, 4}, false},
    {{2, 3, 4}, {2, 3, 4, 6}, {}, kModern, {2, 3, 3, 6}, false},
    {{2, 3, 4}, {2, 4}, {}, kModern, {2, 3}, false},
    {{0, 3, 4}, {0, 4, 5}, {}, kModern, {0, 3, 5}, false},
    {{2, 3, 0}, {2, 0, 5}, {}, kModern, {2, 3, 5}, false},
    {{1, 3, 4}, {1, 4, 5}, {}, kModern, {1, 3, 5}, false},
    {{2, 1}, {2, 1}, {}, kModern, {2, 1}, false},
    // legacy
    {{10, 12, 4, 5}, {10, 12, 5, 8}, {}, kLegacy, {10, 12, 4, 8}, false},
    {{9, 8, 7, 4, 2}, {9, 8, 7, 2, 5}, {}, kLegacy, {9, 8, 7, 4, 5}, false},
    {{32, 10, 5}, {32, 5}, {}, kLegacy, {32, 10}, true},
    {{32, 10, 5}, {32, 5}, {2, 0}, kLegacy, {32, 10}, true},
    {{3, 4, 5}, {3, 5}, {2, 1}, kLegacy, {3, 4}, false},
    {{32, 20}, {32, 20}, 1, kLegacy, {32, 1}, false},
    {{32, 20}, {32, 1}, 1, kLegacy, {32, 1}, false},
    {{32, 1}, {32, 20}, -1, kLegacy, {32, 1}, false},
    {{1, 20}, {32, 20}, 1, kLegacy, {32, 1}, false},
    {{4, 5}, {4, 5}, 0, kLegacy, {5, 1}, false},  // literally sum(x * y, axis=0), then (n, 1)
    {{2, 3, 4}, {2, 3, 5}, 1, kLegacy, {2, 4, 5}, false},
    {{2, 3, 4}, {2, 5, 4}, 2, kLegacy, {2, 3, 5}, false},
    {{2, 3, 4}, {2, 5, 3}, {1, 2}, kLegacy, {2, 4, 5}, false},
    {{2, 3, 4}, {2, 4, 5}, {2, 1}, kLegacy, {2, 3, 5}, false},
    {{2, 3, 4}, {2, 4, 5}, {-1, -2}, kLegacy, {2, 3, 5}, false},
    {{2, 3, 3}, {2, 3, 3}, 0, kLegacy, {2, 3, 3}, true},
    {{2, 3, 4}, {2, 3, 4, 6}, {}, kLegacy, {2, 3, 6}, false},
    {{2, 5}, {2, 5, 4}, {}, kLegacy, {2, 4}, false},
    {{2, 1}, {2, 1, 1, 5}, {}, kLegacy, {2, 5}, true},
    {{0, 3, 4}, {0, 4, 5}, {}, kLegacy, {0, 3, 5}, false},
    {{2, 3, 0}, {2, 0, 5}, {}, kLegacy, {2, 3, 5}, false},
};

class BatchDotTest : public ::testing::TestWithParam<BatchDotRow> {};

// Legacy reference: pad, then either sum(x * y, axis=a0) or matmul with adjoint flags; the squeeze
// and reshape of steps 5 do not move elements, so only the shape changes.
Nd ref_legacy(const Nd& x, const Nd& y, int64_t a0, int64_t a1, const Shape& want) {
  const size_t r = std::max(x.shape.size(), y.shape.size());
  Nd xp = x, yp = y;
  xp.shape.resize(r, 1);
  yp.shape.resize(r, 1);
  Nd out;
  if (r == 2) {
    Shape prod{std::max(xp.shape[0], yp.shape[0]), std::max(xp.shape[1], yp.shape[1])};
    if (xp.shape[0] == 0 || yp.shape[0] == 0) prod[0] = 0;
    if (xp.shape[1] == 0 || yp.shape[1] == 0) prod[1] = 0;
    out = zeros({prod[1 - a0]});
    for_each_index(prod, [&](const std::vector<int64_t>& i) {
      auto bx = [&](const Nd& a) { return a.at({a.shape[0] == 1 ? 0 : i[0], a.shape[1] == 1 ? 0 : i[1]}); };
      out.v[i[1 - a0]] += bx(xp) * bx(yp);
    });
  } else {
    out = ref_matmul(xp, yp, a0 != static_cast<int64_t>(r) - 1, a1 == static_cast<int64_t>(r) - 1);
  }
  EXPECT_EQ(numel(out.shape), numel(want));
  out.shape = want;
  return out;
}

TEST_P(BatchDotTest, ShapeSpecAndValues) {
  const BatchDotRow& row = GetParam();
  const bool legacy = row.convention == kLegacy;
  const std::string what = describe({row.x, row.y}) + "axes=" + row.axes.str() + (legacy ? " legacy" : " modern");
  RuleResult r = batch_dot_rule(row.x, row.y, row.axes, row.convention);
  EXPECT_EQ(r.shape, row.want) << what;
  expect_well_formed(r, {row.x, row.y});
  if (row.legacy_axes_warning) {
    ASSERT_EQ(r.warnings.size(), 1u) << what;
    EXPECT_NE(r.warnings[0].find("the legacy convention contracts the last dims regardless of axes"), std::string::npos)
        << r.warnings[0];
    EXPECT_NE(r.warnings[0].find(shape_str(row.x)), std::string::npos) << r.warnings[0];
  } else {
    EXPECT_TRUE(r.warnings.empty()) << what << ": " << (r.warnings.empty() ? "" : r.warnings[0]);
  }
  if (!loop_space_small(r.spec)) return;

  Nd x = sample(row.x, 5), y = sample(row.y, 6);
  const int64_t rx = row.x.size(), ry = row.y.size();
  int64_t a0, a1;
  if (row.axes.is_none()) {
    a0 = rx - 1;
    a1 = (!legacy && ry == 2) ? ry - 1 : ry - 2;
  } else if (row.axes.is_int()) {
    a0 = a1 = row.axes.value();
  } else {
    a0 = row.axes.items()[0].value();
    a1 = row.axes.items()[1].value();
  }
  if (a0 < 0) a0 += rx;
  if (a1 < 0) a1 += ry;
  Nd want;
  if (legacy) {
    want = ref_legacy(x, y, a0, a1, row.want);
  } else {
    // out[b] = tensordot(x[b], y[b], axes=(a0-1, a1-1)), plus a trailing 1 for rank-1 results.
    want = zeros(row.want);
    const int64_t per = row.want[0] == 0 ? 0 : numel(row.want) / row.want[0];
    for (int64_t b = 0; b < row.x[0]; ++b) {
      Nd slice = ref_tensordot(take0(x, b), take0(y, b), {a0 - 1}, {a1 - 1});
      ASSERT_EQ(numel(slice.shape), per);
      std::copy(slice.v.begin(), slice.v.end(), want.v.begin() + b * per);
    }
  }
  expect_same(evaluate(r.spec, {x, y}), want, what);
}

INSTANTIATE_TEST_SUITE_P(Table, BatchDotTest, ::testing::ValuesIn(kBatchDotRows));

TEST(BatchDotSpec, RankTwoModernAppendsAnUnreferencedUnitDim) {
  RuleResult r = batch_dot_rule({4, 3}, {4, 3}, {}, kModern);
  EXPECT_EQ(r.spec.extents, (std::vector<int64_t>{4, 1, 3}));
  EXPECT_EQ(r.spec.operands, (std::vector<std::vector<int>>{{0, 2}, {0, 2}}));
  EXPECT_EQ(r.spec.out, (std::vector<int>{0, 1}));
}

TEST(BatchDotSpec, LegacyRankTwoBroadcastsSizeOne) {
  RuleResult r = batch_dot_rule({4, 1}, {4, 3}, 1, kLegacy);
  EXPECT_EQ(r.shape, (Shape{4, 1}));
  EXPECT_TRUE(broadcasts(r.spec, 0, 1, 1));
  EXPECT_EQ(r.spec.operands[0][1], r.spec.operands[1][1]);
  EXPECT_FALSE(broadcasts(r.spec, 1, 1, 3));
  RuleResult batch = batch_dot_rule({1, 3}, {4, 3}, 1, kLegacy);
  EXPECT_TRUE(broadcasts(batch.spec, 0, 0, 1));
  EXPECT_EQ(batch.spec.operands[0][0], batch.spec.operands[1][0]);
}

TEST(BatchDotSpec, LegacyOperandsCoverOnlyRealAxes) {
  RuleResult r = batch_dot_rule({32, 10, 5}, {32, 5}, {}, kLegacy);
  ASSERT_EQ(r.spec.operands.size(), 2u);
  EXPECT_EQ(r.spec.operands[0].size(), 3u);
  EXPECT_EQ(r.spec.operands[1].size(), 2u);
  // (b,i,k),(b,k)->(b,i)
  EXPECT_EQ(r.spec.extents, (std::vector<int64_t>{32, 10, 5}));
  EXPECT_EQ(r.spec.operands, (std::vector<std::vector<int>>{{0, 1, 2}, {0, 2}}));
}

TEST(BatchDotValues, HandComputedRankTwo) {
  Nd x = literal({2, 3}, {1, 2, 3, 4, 5, 6});
  RuleResult modern = batch_dot_rule({2, 3}, {2, 3}, {}, kModern);
  expect_same(evaluate(modern.spec, {x, x}), literal({2, 1}, {14, 77}), "modern rank 2");
  // Legacy: sum(x * y, axis=1) with x (2,1) broadcast: [[2],[3]] * [[1,2,3],[4,5,6]].
  RuleResult legacy = batch_dot_rule({2, 1}, {2, 3}, 1, kLegacy);
  expect_same(evaluate(legacy.spec, {literal({2, 1}, {2, 3}), x}), literal({2, 1}, {12, 45}), "legacy rank 2");
}

TEST(BatchDotValues, LegacyDefaultAxesQuirkIsABatchedMatrixVectorProduct) {
  // (2,2,3)·(2,3) with default axes (2,0): legacy contracts x's last dim with y's last dim.
  Nd x = literal({2, 2, 3}, {1, 0, 2, 0, 1, 1, 3, 1, 0, 1, 1, 1});
  Nd y = literal({2, 3}, {1, 2, 3, 2, 0, 1});
  RuleResult r = batch_dot_rule({2, 2, 3}, {2, 3}, {}, kLegacy);
  expect_same(evaluate(r.spec, {x, y}), literal({2, 2}, {7, 5, 6, 3}), "legacy (2,2,3).(2,3)");
}

// ---------------------------------------------------------------------------------------------
// The convention warning

TEST(BatchDotConventionWarning, ShowsBothShapesAndHowToChoose) {
  auto w = batch_dot_convention_warning({10, 12, 4, 5}, {10, 12, 5, 8}, {});
  ASSERT_TRUE(w.has_value());
  for (const char* part : {"batch_dot", "modern (the default) gives (10,12,4,12,8)", "legacy (Keras <= 2.2.4) gives (10,12,4,8)",
                           "legacy=false or legacy=true", "BatchDotConvention", "(10,12,4,5)", "(10,12,5,8)"})
    EXPECT_NE(w->find(part), std::string::npos) << part << " missing in: " << *w;
  EXPECT_EQ(w->find('\n'), std::string::npos);  // one line
  auto w5 = batch_dot_convention_warning({9, 8, 7, 4, 2}, {9, 8, 7, 2, 5}, {});
  ASSERT_TRUE(w5.has_value());
  for (const char* part : {"(9,8,7,4,8,7,5)", "(9,8,7,4,5)"}) EXPECT_NE(w5->find(part), std::string::npos) << *w5;
}

TEST(BatchDotConventionWarning, SilentWhenShapesAgreeOrOneConventionRejects) {
  // Rank 3 with default axes: both are matmul.
  EXPECT_FALSE(batch_dot_convention_warning({32, 20, 5}, {32, 5, 30}, {}));
  // Same shape (32,10) from both, although legacy warns about its axes.
  EXPECT_FALSE(batch_dot_convention_warning({32, 10, 5}, {32, 5}, {}));
  // Legacy rejects rank-2 default axes (1, 0).
  EXPECT_FALSE(batch_dot_convention_warning({32, 20}, {32, 20}, {}));
  // Modern rejects contracting the batch axis.
  EXPECT_FALSE(batch_dot_convention_warning({2, 3, 3}, {2, 3, 3}, 0));
  // Both reject.
  EXPECT_FALSE(batch_dot_convention_warning({2, 3, 4}, {3, 4, 5}, {}));
  // Differ with explicit axes: modern (2,3,3,6) vs legacy (2,3,6).
  EXPECT_TRUE(batch_dot_convention_warning({2, 3, 4}, {2, 3, 4, 6}, {}));
}

// Only a call that left the convention to its default warns: a convention given, either one,
// is the caller's choice.
TEST(BatchDotConventionWarning, OnlyWhenTheConventionWasLeftToTheDefault) {
  tcc::Graph g;
  auto w = g.input("w", tcc::f32, {10, 12, 4, 5}), k = g.input("k", tcc::f32, {10, 12, 5, 8});
  (void)tcc::batch_dot(w, k);
  EXPECT_EQ(g.take_warnings().size(), 1u);
  (void)tcc::batch_dot(w, k, {}, tcc::BatchDotConvention::modern);
  (void)tcc::batch_dot(w, k, {}, tcc::BatchDotConvention::legacy);
  EXPECT_TRUE(g.take_warnings().empty());
}

// ---------------------------------------------------------------------------------------------
// matmul

struct MatmulRow {
  Shape a, b;
  MatmulFlags flags;
  Shape want;
};

std::ostream& operator<<(std::ostream& os, const MatmulRow& r) { return os << shape_str(r.a) << "@" << shape_str(r.b); }

MatmulFlags flags(bool ta, bool tb, bool ja = false, bool jb = false) { return MatmulFlags{ta, tb, ja, jb}; }

const std::vector<MatmulRow> kMatmulRows = {
    {{2, 3, 4}, {2, 4, 5}, {}, {2, 3, 5}},
    {{3, 4}, {4, 5}, {}, {3, 5}},
    {{3, 4}, {2, 4, 5}, {}, {2, 3, 5}},
    {{2, 3, 4}, {4, 5}, {}, {2, 3, 5}},
    {{1, 3, 4}, {5, 4, 6}, {}, {5, 3, 6}},
    {{5, 3, 4}, {1, 4, 6}, {}, {5, 3, 6}},
    {{2, 1, 3, 4}, {5, 4, 6}, {}, {2, 5, 3, 6}},
    {{2, 1, 3, 4}, {1, 7, 4, 6}, {}, {2, 7, 3, 6}},
    {{4, 3}, {4, 5}, flags(true, false), {3, 5}},
    {{3, 4}, {5, 4}, flags(false, true), {3, 5}},
    {{4, 3}, {5, 4}, flags(true, true), {3, 5}},
    {{4, 3}, {4, 5}, flags(false, false, true, false), {3, 5}},
    {{4, 3}, {5, 4}, flags(false, false, true, true), {3, 5}},
    {{2, 4, 3}, {2, 5, 4}, flags(true, false, false, true), {2, 3, 5}},
    {{0, 3, 4}, {1, 4, 5}, {}, {0, 3, 5}},
    {{3, 0}, {0, 5}, {}, {3, 5}},
    {{1, 3, 4}, {1, 4, 5}, {}, {1, 3, 5}},
    {{1, 1}, {1, 1}, {}, {1, 1}},
};

class MatmulTest : public ::testing::TestWithParam<MatmulRow> {};

TEST_P(MatmulTest, ShapeSpecAndValues) {
  const MatmulRow& row = GetParam();
  RuleResult r = matmul_rule(row.a, row.b, row.flags);
  const std::string what = describe({row.a, row.b});
  EXPECT_EQ(r.shape, row.want) << what;
  expect_well_formed(r, {row.a, row.b});
  Nd a = sample(row.a, 7), b = sample(row.b, 8);
  const bool ta = row.flags.transpose_a || row.flags.adjoint_a, tb = row.flags.transpose_b || row.flags.adjoint_b;
  expect_same(evaluate(r.spec, {a, b}), ref_matmul(a, b, ta, tb), what);
}

INSTANTIATE_TEST_SUITE_P(Table, MatmulTest, ::testing::ValuesIn(kMatmulRows));

TEST(MatmulSpec, ExactIndexSpecOfTheBriefExample) {
  RuleResult r = matmul_rule({2, 3, 4}, {2, 4, 5}, {});
  EXPECT_EQ(r.spec.extents, (std::vector<int64_t>{2, 3, 5, 4}));
  EXPECT_EQ(r.spec.operands, (std::vector<std::vector<int>>{{0, 1, 3}, {0, 3, 2}}));
  EXPECT_EQ(r.spec.out, (std::vector<int>{0, 1, 2}));
}

TEST(MatmulSpec, BroadcastBatchDimIsMarked) {
  RuleResult r = matmul_rule({1, 3, 4}, {5, 4, 6}, {});
  EXPECT_TRUE(broadcasts(r.spec, 0, 0, 1));
  EXPECT_EQ(r.spec.operands[0][0], 0);  // the batch dim it is stretched over
  EXPECT_EQ(r.spec.operands[1][0], 0);
  EXPECT_EQ(r.spec.extents[0], 5);
  // A size-1 dim that meets size 1 is not a broadcast.
  RuleResult same = matmul_rule({1, 3, 4}, {1, 4, 6}, {});
  EXPECT_EQ(same.spec.operands[0][0], 0);
  // A size-1 batch dim stretched to 0.
  RuleResult zero = matmul_rule({0, 3, 4}, {1, 4, 5}, {});
  EXPECT_TRUE(broadcasts(zero.spec, 1, 0, 1));
}

TEST(MatmulValues, HandComputedBroadcast) {
  Nd a = literal({1, 2, 2}, {1, 2, 3, 4});
  Nd b = literal({2, 2, 1}, {1, 1, 2, 0});
  RuleResult r = matmul_rule({1, 2, 2}, {2, 2, 1}, {});
  expect_same(evaluate(r.spec, {a, b}), literal({2, 2, 1}, {3, 7, 2, 6}), "broadcast matmul");
}

// ---------------------------------------------------------------------------------------------
// a @ b

struct NpMatmulRow {
  Shape a, b, want;
};

std::ostream& operator<<(std::ostream& os, const NpMatmulRow& r) { return os << shape_str(r.a) << "@" << shape_str(r.b); }

const std::vector<NpMatmulRow> kNpMatmulRows = {
    {{3}, {3}, {}},
    {{3}, {3, 5}, {5}},
    {{3}, {2, 3, 5}, {2, 5}},
    {{2, 4, 3}, {3}, {2, 4}},
    {{4, 3}, {3}, {4}},
    {{2, 3, 4}, {4, 5}, {2, 3, 5}},
    {{1, 3, 4}, {2, 4, 5}, {2, 3, 5}},
    {{3, 4}, {4, 5}, {3, 5}},
    {{0}, {0}, {}},
    {{0}, {0, 5}, {5}},
    {{2, 0}, {0}, {2}},
    {{1}, {1}, {}},
};

class NpMatmulTest : public ::testing::TestWithParam<NpMatmulRow> {};

TEST_P(NpMatmulTest, ShapeSpecAndValues) {
  const NpMatmulRow& row = GetParam();
  RuleResult r = np_matmul_rule(row.a, row.b);
  const std::string what = describe({row.a, row.b});
  EXPECT_EQ(r.shape, row.want) << what;
  expect_well_formed(r, {row.a, row.b});
  Nd a = sample(row.a, 9), b = sample(row.b, 10);
  // NumPy's promotion: (k,) -> (1,k) for a and (k,1) for b; the result keeps its elements.
  Nd pa = a, pb = b;
  if (row.a.size() == 1) pa.shape = {1, row.a[0]};
  if (row.b.size() == 1) pb.shape = {row.b[0], 1};
  Nd want = ref_matmul(pa, pb, false, false);
  want.shape = row.want;
  expect_same(evaluate(r.spec, {a, b}), want, what);
}

INSTANTIATE_TEST_SUITE_P(Table, NpMatmulTest, ::testing::ValuesIn(kNpMatmulRows));

TEST(NpMatmulValues, HandComputedVectorMatrix) {
  RuleResult r = np_matmul_rule({2}, {2, 2});
  EXPECT_EQ(r.spec.operands[0].size(), 1u);
  expect_same(evaluate(r.spec, {literal({2}, {1, 2}), literal({2, 2}, {1, 2, 3, 4})}), literal({2}, {7, 10}), "v@M");
}

// ---------------------------------------------------------------------------------------------
// tensordot

struct TensordotRow {
  Shape x, y;
  Axes axes;
  Shape want;
  std::vector<int64_t> ax, ay;  // the contracted pairs, normalised, for the reference
};

std::ostream& operator<<(std::ostream& os, const TensordotRow& r) {
  return os << shape_str(r.x) << "," << shape_str(r.y) << " axes=" << r.axes.str();
}

const std::vector<TensordotRow> kTensordotRows = {
    {{3, 4, 5}, {4, 5, 6}, 2, {3, 6}, {1, 2}, {0, 1}},
    {{3, 4}, {5, 6}, 0, {3, 4, 5, 6}, {}, {}},
    {{3, 4}, {4, 5}, 1, {3, 5}, {1}, {0}},
    {{3, 4}, {3, 4}, 2, {}, {0, 1}, {0, 1}},
    {{3, 4, 5}, {5, 4, 2}, {{1, 2}, {1, 0}}, {3, 2}, {1, 2}, {1, 0}},
    {{3, 4}, {5, 4}, {1, 1}, {3, 5}, {1}, {1}},
    {{3, 4}, {4, 3}, {{0, 1}, {1, 0}}, {}, {0, 1}, {1, 0}},
    {{3, 4}, {4, 5}, Axes{Axes::list({-1}), Axes::list({0})}, {3, 5}, {1}, {0}},
    {{3, 4}, {4, 5}, Axes{1, Axes::list({-2})}, {3, 5}, {1}, {0}},
    {{3, 4}, {4, 5}, Axes{Axes::list({}), Axes::list({})}, {3, 4, 4, 5}, {}, {}},
    {{2, 3, 4}, {4, 3, 2}, {{0, 1, 2}, {2, 1, 0}}, {}, {0, 1, 2}, {2, 1, 0}},
    {{0, 4}, {4, 0}, 1, {0, 0}, {1}, {0}},
    {{3, 0}, {0, 2}, 1, {3, 2}, {1}, {0}},
    {{}, {}, 0, {}, {}, {}},
    {{}, {3}, 0, {3}, {}, {}},
    {{3}, {3}, 1, {}, {0}, {0}},
};

class TensordotTest : public ::testing::TestWithParam<TensordotRow> {};

TEST_P(TensordotTest, ShapeSpecAndValues) {
  const TensordotRow& row = GetParam();
  RuleResult r = tensordot_rule(row.x, row.y, row.axes);
  const std::string what = describe({row.x, row.y}) + "axes=" + row.axes.str();
  EXPECT_EQ(r.shape, row.want) << what;
  expect_well_formed(r, {row.x, row.y});
  Nd x = sample(row.x, 11), y = sample(row.y, 12);
  expect_same(evaluate(r.spec, {x, y}), ref_tensordot(x, y, row.ax, row.ay), what);
}

INSTANTIATE_TEST_SUITE_P(Table, TensordotTest, ::testing::ValuesIn(kTensordotRows));

// ---------------------------------------------------------------------------------------------
// einsum

struct EinsumRow {
  std::string spec;
  std::vector<Shape> operands;
  Shape want;
};

std::ostream& operator<<(std::ostream& os, const EinsumRow& r) { return os << "'" << r.spec << "' " << describe(r.operands); }

const std::vector<EinsumRow> kEinsumRows = {
    {"ij,jk->ik", {{2, 3}, {3, 4}}, {2, 4}},
    {"ij,jk", {{2, 3}, {3, 4}}, {2, 4}},
    {"bij,bjk->bik", {{5, 2, 3}, {5, 3, 4}}, {5, 2, 4}},
    {"...ij,...jk->...ik", {{5, 2, 3}, {5, 3, 4}}, {5, 2, 4}},
    {"...ij,...jk->...ik", {{2, 1, 2, 3}, {5, 3, 4}}, {2, 5, 2, 4}},
    {"...ij,...jk", {{2, 1, 2, 3}, {5, 3, 4}}, {2, 5, 2, 4}},
    {"ii->", {{3, 3}}, {}},
    {"ii", {{3, 3}}, {}},
    {"ii->i", {{3, 3}}, {3}},
    {"i,j->ij", {{2}, {3}}, {2, 3}},
    {"ij->ji", {{2, 3}}, {3, 2}},
    {"ba", {{2, 3}}, {3, 2}},
    {"aB", {{2, 3}}, {3, 2}},
    {"Ba,a", {{2, 3}, {3}}, {2}},
    {"ij,jk", {{2, 1}, {3, 4}}, {2, 4}},
    {"ij,jk", {{2, 1}, {0, 4}}, {2, 4}},
    {"i,i", {{3}, {1}}, {}},
    {"ij,ij->ij", {{1, 3}, {2, 1}}, {2, 3}},
    {"ii,i->i", {{1, 1}, {3}}, {3}},
    {"", {{}}, {}},
    {"->", {{}}, {}},
    {"i->", {{0}}, {}},
    {"i->i", {{0}}, {0}},
    {"...,...", {{2, 1}, {3}}, {2, 3}},
    {"...->", {{}}, {}},
    {"i...->i", {{3}}, {3}},
    {"ij->...ij", {{2, 3}}, {2, 3}},
    {" i j , j k -> i k ", {{2, 3}, {3, 4}}, {2, 4}},
    {"ijk,ikl,ilm->jm", {{2, 3, 4}, {2, 4, 5}, {2, 5, 6}}, {3, 6}},
    {"ij,jk->ik", {{2, 0}, {0, 4}}, {2, 4}},
    {"...i,...i->...", {{2, 3}, {3}}, {2}},
    {"abc->cab", {{2, 3, 4}}, {4, 2, 3}},
    {"iij->ji", {{2, 2, 3}}, {3, 2}},
    {"a...b->b...a", {{2, 3, 4, 5}}, {5, 3, 4, 2}},
    {"...", {{2, 3}}, {2, 3}},
};

class EinsumTest : public ::testing::TestWithParam<EinsumRow> {};

TEST_P(EinsumTest, ShapeAndSpec) {
  const EinsumRow& row = GetParam();
  RuleResult r = einsum_rule(row.spec, row.operands);
  EXPECT_EQ(r.shape, row.want) << row.spec << " " << describe(row.operands);
  expect_well_formed(r, row.operands);
}

INSTANTIATE_TEST_SUITE_P(Table, EinsumTest, ::testing::ValuesIn(kEinsumRows));

TEST(EinsumValues, TraceDiagonalTransposeOuter) {
  Nd m = literal({2, 2}, {1, 2, 3, 4});
  expect_same(evaluate(einsum_rule("ii->", {{2, 2}}).spec, {m}), literal({}, {5}), "trace");
  expect_same(evaluate(einsum_rule("ii", {{2, 2}}).spec, {m}), literal({}, {5}), "implicit trace");
  expect_same(evaluate(einsum_rule("ii->i", {{2, 2}}).spec, {m}), literal({2}, {1, 4}), "diagonal");
  expect_same(evaluate(einsum_rule("ij->ji", {{2, 2}}).spec, {m}), literal({2, 2}, {1, 3, 2, 4}), "transpose");
  expect_same(evaluate(einsum_rule("i,j->ij", {{2}, {3}}).spec, {literal({2}, {1, 2}), literal({3}, {3, 4, 5})}),
              literal({2, 3}, {3, 4, 5, 6, 8, 10}), "outer");
  expect_same(evaluate(einsum_rule("ij,ij->", {{2, 2}, {2, 2}}).spec, {m, m}), literal({}, {30}), "frobenius");
}

TEST(EinsumValues, SizeOneLabelBroadcasts) {
  // 'ij,jk' with x (2,1): out[i,k] = x[i,0] * sum_j y[j,k].
  RuleResult r = einsum_rule("ij,jk", {{2, 1}, {3, 2}});
  EXPECT_TRUE(broadcasts(r.spec, 0, 1, 1));
  Nd x = literal({2, 1}, {2, -1}), y = literal({3, 2}, {1, 2, 3, 4, 5, 6});
  expect_same(evaluate(r.spec, {x, y}), literal({2, 2}, {18, 24, -9, -12}), "label broadcast");
  // A diagonal of size-1 axes against a larger size: both axes read index 0.
  RuleResult d = einsum_rule("ii,i->i", {{1, 1}, {3}});
  EXPECT_TRUE(broadcasts(d.spec, 0, 0, 1));
  EXPECT_TRUE(broadcasts(d.spec, 0, 1, 1));
  expect_same(evaluate(d.spec, {literal({1, 1}, {2}), literal({3}, {1, 2, 3})}), literal({3}, {2, 4, 6}),
              "broadcast diagonal");
}

TEST(EinsumValues, EllipsisMatmulMatchesMatmulReference) {
  Nd a = sample({2, 1, 2, 3}, 13), b = sample({5, 3, 4}, 14);
  RuleResult r = einsum_rule("...ij,...jk->...ik", {a.shape, b.shape});
  EXPECT_TRUE(broadcasts(r.spec, 0, 1, 1));
  expect_same(evaluate(r.spec, {a, b}), ref_matmul(a, b, false, false), "ellipsis matmul");
}

TEST(EinsumValues, ThreeOperandChain) {
  Nd a = sample({2, 3, 4}, 15), b = sample({2, 4, 5}, 16), c = sample({2, 5, 6}, 17);
  RuleResult r = einsum_rule("ijk,ikl,ilm->jm", {a.shape, b.shape, c.shape});
  Nd want = zeros({3, 6});
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 4; ++k)
        for (int64_t l = 0; l < 5; ++l)
          for (int64_t m = 0; m < 6; ++m) want.at({j, m}) += a.at({i, j, k}) * b.at({i, k, l}) * c.at({i, l, m});
  expect_same(evaluate(r.spec, {a, b, c}), want, "chain");
}

TEST(EinsumValues, RepeatedLabelPlusOtherLabel) {
  // 'iij->ji': out[j,i] = x[i,i,j]
  Nd x = sample({2, 2, 3}, 18);
  Nd want = zeros({3, 2});
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j) want.at({j, i}) = x.at({i, i, j});
  expect_same(evaluate(einsum_rule("iij->ji", {x.shape}).spec, {x}), want, "iij->ji");
}

// ---------------------------------------------------------------------------------------------
// transpose and reshape

struct TransposeRow {
  Shape x;
  std::optional<std::vector<int64_t>> perm;
  Shape want;
};

std::ostream& operator<<(std::ostream& os, const TransposeRow& r) { return os << shape_str(r.x); }

const std::vector<TransposeRow> kTransposeRows = {
    {{2, 3, 4}, std::nullopt, {4, 3, 2}},
    {{2, 3, 4}, std::vector<int64_t>{1, 0, 2}, {3, 2, 4}},
    {{2, 3, 4}, std::vector<int64_t>{-1, 0, 1}, {4, 2, 3}},
    {{2, 3, 4}, std::vector<int64_t>{0, 1, 2}, {2, 3, 4}},
    {{}, std::nullopt, {}},
    {{}, std::vector<int64_t>{}, {}},
    {{5}, std::nullopt, {5}},
    {{0, 3}, std::vector<int64_t>{1, 0}, {3, 0}},
    {{2, 3}, std::nullopt, {3, 2}},
};

class TransposeTest : public ::testing::TestWithParam<TransposeRow> {};

TEST_P(TransposeTest, ShapeSpecAndValues) {
  const TransposeRow& row = GetParam();
  RuleResult r = transpose_rule(row.x, row.perm);
  EXPECT_EQ(r.shape, row.want);
  expect_well_formed(r, {row.x});
  std::vector<int64_t> perm;
  if (row.perm) {
    for (int64_t p : *row.perm) perm.push_back(p < 0 ? p + static_cast<int64_t>(row.x.size()) : p);
  } else {
    for (int64_t a = static_cast<int64_t>(row.x.size()) - 1; a >= 0; --a) perm.push_back(a);
  }
  Nd x = sample(row.x, 19);
  Nd want = zeros(row.want);
  for_each_index(row.want, [&](const std::vector<int64_t>& o) {
    std::vector<int64_t> i(row.x.size());
    for (size_t k = 0; k < perm.size(); ++k) i[perm[k]] = o[k];  // out[i] = x[perm[i]]
    want.at(o) = x.at(i);
  });
  expect_same(evaluate(r.spec, {x}), want, shape_str(row.x));
}

INSTANTIATE_TEST_SUITE_P(Table, TransposeTest, ::testing::ValuesIn(kTransposeRows));

struct ReshapeRow {
  Shape x, target, want;
};

std::ostream& operator<<(std::ostream& os, const ReshapeRow& r) { return os << shape_str(r.x) << "->" << shape_str(r.target); }

const std::vector<ReshapeRow> kReshapeRows = {
    {{2, 3}, {3, 2}, {3, 2}},     {{2, 3}, {-1}, {6}},           {{2, 3, 4}, {4, -1}, {4, 6}},
    {{2, 3}, {-1, 1, 3}, {2, 1, 3}}, {{}, {1, 1}, {1, 1}},       {{1}, {}, {}},
    {{0, 3}, {3, 0}, {3, 0}},     {{0, 3}, {-1, 3}, {0, 3}},     {{6}, {-1}, {6}},
    {{2, 3}, {2, 3}, {2, 3}},     {{}, {-1}, {1}},               {{0}, {0, 5}, {0, 5}},
};

class ReshapeTest : public ::testing::TestWithParam<ReshapeRow> {};

TEST_P(ReshapeTest, Shape) {
  const ReshapeRow& row = GetParam();
  EXPECT_EQ(reshape_rule(row.x, row.target), row.want) << shape_str(row.x) << " -> " << shape_str(row.target);
}

INSTANTIATE_TEST_SUITE_P(Table, ReshapeTest, ::testing::ValuesIn(kReshapeRows));

// ---------------------------------------------------------------------------------------------
// Axes::str

TEST(AxesStr, PythonSpelling) {
  EXPECT_EQ(Axes().str(), "None");
  EXPECT_EQ(Axes(2).str(), "2");
  EXPECT_EQ(Axes(-1).str(), "-1");
  EXPECT_EQ((Axes{1, 2}).str(), "(1, 2)");
  EXPECT_EQ((Axes{{1, 2}, {0, 1}}).str(), "((1, 2), (0, 1))");
  EXPECT_EQ(Axes::list({3}).str(), "(3,)");
  EXPECT_EQ(Axes::list({}).str(), "()");
}

// ---------------------------------------------------------------------------------------------
// Errors

enum class Kind { shape, argument };

struct ErrorRow {
  std::string name;
  std::function<void()> call;
  Kind kind;
  std::vector<std::string> fragments;  // all must appear in what()
  std::string prefix;                  // what() must start with it
};

std::ostream& operator<<(std::ostream& os, const ErrorRow& row) { return os << row.name; }

const std::vector<ErrorRow> kErrorRows = {
    // dot
    {"dot_seed", [] { dot_rule({3, 4, 5, 2}, {2, 5, 3, 7}); }, Kind::shape,
     {"dot: contraction dims must be equal, but are 2 (x axis 3) and 3 (y axis 2); x: (3,4,5,2), y: (2,5,3,7)"},
     "dot: "},
    {"dot_1d_1d", [] { dot_rule({3}, {4}); }, Kind::shape,
     {"but are 3 (x axis 0) and 4 (y axis 0)", "x: (3,), y: (4,)"}, "dot: "},
    {"dot_nd_1d", [] { dot_rule({3, 4}, {5}); }, Kind::shape,
     {"but are 4 (x axis 1) and 5 (y axis 0)", "x: (3,4), y: (5,)"}, "dot: "},
    {"dot_1d_md", [] { dot_rule({4}, {2, 3, 5}); }, Kind::shape,
     {"but are 4 (x axis 0) and 3 (y axis 1)", "x: (4,), y: (2,3,5)"}, "dot: "},
    {"dot_2d", [] { dot_rule({2, 3}, {2, 3}); }, Kind::shape,
     {"but are 3 (x axis 1) and 2 (y axis 0)", "x: (2,3), y: (2,3)"}, "dot: "},
    {"dot_zero", [] { dot_rule({3, 0}, {1, 5}); }, Kind::shape,
     {"but are 0 (x axis 1) and 1 (y axis 0)", "x: (3,0), y: (1,5)"}, "dot: "},

    // batch_dot, modern
    {"bd_rank_x", [] { batch_dot_rule({3}, {3, 4}, {}, kModern); }, Kind::shape,
     {"rank >= 2", "x has rank 1", "x: (3,), y: (3,4)"}, "batch_dot: "},
    {"bd_rank_y", [] { batch_dot_rule({3, 4}, {}, {}, kModern); }, Kind::shape,
     {"y has rank 0", "x: (3,4), y: ()"}, "batch_dot: "},
    {"bd_batch", [] { batch_dot_rule({2, 3, 4}, {3, 4, 5}, {}, kModern); }, Kind::shape,
     {"batch dims must be equal, but are 2 (x axis 0) and 3 (y axis 0); x: (2,3,4), y: (3,4,5)"}, "batch_dot: "},
    {"bd_batch_one_does_not_broadcast", [] { batch_dot_rule({1, 3, 4}, {3, 4, 5}, {}, kModern); }, Kind::shape,
     {"but are 1 (x axis 0) and 3 (y axis 0)"}, "batch_dot: "},
    {"bd_axis0", [] { batch_dot_rule({2, 3, 4}, {2, 3, 4}, 0, kModern); }, Kind::shape,
     {"batch axis 0", "x: (2,3,4), y: (2,3,4)"}, "batch_dot: "},
    {"bd_negative_to_axis0", [] { batch_dot_rule({2, 3, 4}, {2, 3, 4}, {-3, 1}, kModern); }, Kind::shape,
     {"batch axis 0", "(0, 1)"}, "batch_dot: "},
    {"bd_axis_range_x", [] { batch_dot_rule({2, 3, 4}, {2, 3, 4}, {3, 1}, kModern); }, Kind::shape,
     {"axis 3 is out of range for x of rank 3", "x: (2,3,4), y: (2,3,4)"}, "batch_dot: "},
    {"bd_axis_range_y", [] { batch_dot_rule({2, 3, 4}, {2, 3, 4}, {1, -4}, kModern); }, Kind::shape,
     {"axis -4 is out of range for y of rank 3"}, "batch_dot: "},
    {"bd_contraction", [] { batch_dot_rule({2, 3, 4}, {2, 5, 6}, {}, kModern); }, Kind::shape,
     {"contraction dims must be equal, but are 4 (x axis 2) and 5 (y axis 1); x: (2,3,4), y: (2,5,6)"}, "batch_dot: "},
    {"bd_contraction_negative_axes", [] { batch_dot_rule({2, 3, 4}, {2, 5, 6}, {-1, -1}, kModern); }, Kind::shape,
     {"but are 4 (x axis 2) and 6 (y axis 2)"}, "batch_dot: "},
    {"bd_nested", [] { batch_dot_rule({2, 3, 4}, {2, 4, 5}, Axes{{1, 2}, 1}, kModern); }, Kind::argument,
     {"multiple target dimensions are not supported", "((1, 2), 1)", "x: (2,3,4), y: (2,4,5)"}, "batch_dot: "},
    {"bd_three_axes", [] { batch_dot_rule({2, 3, 4}, {2, 4, 5}, Axes{1, 2, 3}, kModern); }, Kind::argument,
     {"pair of ints", "(1, 2, 3)"}, "batch_dot: "},
    {"bd_one_axis_list", [] { batch_dot_rule({2, 3, 4}, {2, 4, 5}, Axes::list({1}), kModern); }, Kind::argument,
     {"(1,)"}, "batch_dot: "},
    // batch_dot, legacy
    {"bdl_rank", [] { batch_dot_rule({3}, {3, 4}, {}, kLegacy); }, Kind::shape, {"x has rank 1"}, "batch_dot: "},
    {"bdl_nested", [] { batch_dot_rule({2, 3, 4}, {2, 4, 5}, Axes{{1, 2}, {1, 2}}, kLegacy); }, Kind::argument,
     {"multiple target dimensions are not supported"}, "batch_dot: "},
    {"bdl_rank2_default_axes_differ", [] { batch_dot_rule({32, 20}, {32, 20}, {}, kLegacy); }, Kind::shape,
     {"(1, 0)", "x: (32,20), y: (32,20)"}, "batch_dot: "},
    {"bdl_rank2_product", [] { batch_dot_rule({4, 3}, {4, 5}, 1, kLegacy); }, Kind::shape,
     {"must be equal or 1, but are 3 (x axis 1) and 5 (y axis 1); x: (4,3), y: (4,5)"}, "batch_dot: "},
    {"bdl_rank2_batch", [] { batch_dot_rule({2, 3}, {4, 3}, 1, kLegacy); }, Kind::shape,
     {"but are 2 (x axis 0) and 4 (y axis 0)"}, "batch_dot: "},
    {"bdl_axis_range", [] { batch_dot_rule({2, 3, 4}, {2, 4, 5}, {3, 1}, kLegacy); }, Kind::shape,
     {"axis 3 is out of range for x of rank 3"}, "batch_dot: "},
    {"bdl_axis_range_y_rank2", [] { batch_dot_rule({2, 3, 4}, {2, 4}, 2, kLegacy); }, Kind::shape,
     {"axis 2 is out of range for y of rank 2"}, "batch_dot: "},
    {"bdl_contraction", [] { batch_dot_rule({2, 3, 4}, {2, 5, 6}, {}, kLegacy); }, Kind::shape,
     {"contraction dims must be equal, but are 4 (x axis 2) and 5 (y axis 1); x: (2,3,4), y: (2,5,6)"}, "batch_dot: "},
    {"bdl_batch_no_broadcast", [] { batch_dot_rule({2, 3, 4}, {1, 4, 5}, {}, kLegacy); }, Kind::shape,
     {"batch dims must be equal, but are 2 (x axis 0) and 1 (y axis 0)"}, "batch_dot: "},
    {"bdl_inner_batch", [] { batch_dot_rule({2, 3, 4, 5}, {2, 4, 5, 6}, {}, kLegacy); }, Kind::shape,
     {"batch dims must be equal, but are 3 (x axis 1) and 4 (y axis 1)"}, "batch_dot: "},
    {"bdl_padded_contraction", [] { batch_dot_rule({2, 4, 5}, {2, 6}, {}, kLegacy); }, Kind::shape,
     {"but are 5 (x axis 2) and 6 (y axis 1)", "x: (2,4,5), y: (2,6)", "y padded to (2,6,1)"}, "batch_dot: "},
    {"bdl_squeeze_not_one", [] { batch_dot_rule({2, 3}, {2, 3, 1, 5}, {}, kLegacy); }, Kind::shape,
     {"squeezes axis 1", "(2,3,1,5)", "must be 1 but is 3", "x: (2,3), y: (2,3,1,5)"}, "batch_dot: "},
    {"bdl_squeeze_out_of_range", [] { batch_dot_rule({2, 5, 4, 1}, {2, 5}, {}, kLegacy); }, Kind::shape,
     {"squeezes axis 4", "only 4 axes", "x: (2,5,4,1), y: (2,5)"}, "batch_dot: "},

    // matmul
    {"mm_rank", [] { matmul_rule({3}, {3, 4}, {}); }, Kind::shape, {"a has rank 1", "a: (3,), b: (3,4)"}, "matmul: "},
    {"mm_rank_b", [] { matmul_rule({3, 4}, {}, {}); }, Kind::shape, {"b has rank 0", "a: (3,4), b: ()"}, "matmul: "},
    {"mm_inner", [] { matmul_rule({3, 4}, {5, 6}, {}); }, Kind::shape,
     {"matmul: contraction dims must be equal, but are 4 (a axis 1) and 5 (b axis 0); a: (3,4), b: (5,6)"},
     "matmul: "},
    {"mm_inner_transposed", [] { matmul_rule({4, 3}, {5, 6}, flags(true, false)); }, Kind::shape,
     {"but are 4 (a axis 0) and 5 (b axis 0)"}, "matmul: "},
    {"mm_inner_adjoint_b", [] { matmul_rule({2, 3, 4}, {2, 6, 5}, flags(false, false, false, true)); }, Kind::shape,
     {"but are 4 (a axis 2) and 5 (b axis 2)"}, "matmul: "},
    {"mm_batch", [] { matmul_rule({2, 3, 4}, {3, 4, 5}, {}); }, Kind::shape,
     {"batch dims must be equal or 1, but are 2 (a axis 0) and 3 (b axis 0); a: (2,3,4), b: (3,4,5)"}, "matmul: "},
    {"mm_batch_ranks_differ", [] { matmul_rule({2, 3, 4}, {7, 3, 4, 5}, {}); }, Kind::shape,
     {"but are 2 (a axis 0) and 3 (b axis 1)"}, "matmul: "},
    {"mm_flags_a", [] { matmul_rule({3, 4}, {4, 5}, flags(true, false, true, false)); }, Kind::argument,
     {"transpose_a and adjoint_a are mutually exclusive", "a: (3,4), b: (4,5)"}, "matmul: "},
    {"mm_flags_b", [] { matmul_rule({3, 4}, {4, 5}, flags(false, true, false, true)); }, Kind::argument,
     {"transpose_b and adjoint_b are mutually exclusive"}, "matmul: "},

    // @
    {"np_0d_a", [] { np_matmul_rule({}, {3}); }, Kind::shape, {"a has rank 0", "a: (), b: (3,)"}, "@: "},
    {"np_0d_b", [] { np_matmul_rule({3, 4}, {}); }, Kind::shape, {"b has rank 0", "a: (3,4), b: ()"}, "@: "},
    {"np_1d_1d", [] { np_matmul_rule({3}, {4}); }, Kind::shape,
     {"@: contraction dims must be equal, but are 3 (a axis 0) and 4 (b axis 0); a: (3,), b: (4,)"}, "@: "},
    {"np_1d_nd", [] { np_matmul_rule({3}, {2, 4, 5}); }, Kind::shape, {"but are 3 (a axis 0) and 4 (b axis 1)"},
     "@: "},
    {"np_nd_1d", [] { np_matmul_rule({2, 4, 3}, {4}); }, Kind::shape, {"but are 3 (a axis 2) and 4 (b axis 0)"},
     "@: "},
    {"np_batch", [] { np_matmul_rule({2, 3, 4}, {3, 4, 5}); }, Kind::shape,
     {"batch dims must be equal or 1, but are 2 (a axis 0) and 3 (b axis 0)"}, "@: "},

    // tensordot
    {"td_none", [] { tensordot_rule({3, 4}, {4, 5}, Axes()); }, Kind::argument, {"None", "x: (3,4), y: (4,5)"},
     "tensordot: "},
    {"td_negative_n", [] { tensordot_rule({3, 4}, {4, 5}, -1); }, Kind::argument, {"-1"}, "tensordot: "},
    {"td_n_too_big", [] { tensordot_rule({3, 4}, {4, 5, 6}, 3); }, Kind::shape,
     {"x has rank 2", "x: (3,4), y: (4,5,6)"}, "tensordot: "},
    {"td_sizes", [] { tensordot_rule({3, 4, 5}, {4, 6, 6}, 2); }, Kind::shape,
     {"tensordot: contraction dims must be equal, but are 5 (x axis 2) and 6 (y axis 1); x: (3,4,5), y: (4,6,6)"},
     "tensordot: "},
    {"td_sizes_lists", [] { tensordot_rule({3, 4}, {4, 3}, {{0, 1}, {0, 1}}); }, Kind::shape,
     {"but are 3 (x axis 0) and 4 (y axis 0)"}, "tensordot: "},
    {"td_length", [] { tensordot_rule({3, 4}, {4, 3}, Axes{{0, 1}, Axes::list({0})}); }, Kind::argument,
     {"equal length", "2 and 1"}, "tensordot: "},
    {"td_range", [] { tensordot_rule({3, 4}, {4, 3}, Axes{Axes::list({2}), Axes::list({0})}); }, Kind::shape,
     {"axis 2 is out of range for x of rank 2", "x: (3,4), y: (4,3)"}, "tensordot: "},
    {"td_range_negative", [] { tensordot_rule({3, 4}, {4, 3}, Axes{Axes::list({0}), Axes::list({-3})}); },
     Kind::shape, {"axis -3 is out of range for y of rank 2"}, "tensordot: "},
    {"td_repeat", [] { tensordot_rule({3, 3}, {3, 3}, Axes{{0, -2}, {0, 1}}); }, Kind::argument,
     {"x axis 0 is repeated"}, "tensordot: "},
    {"td_not_pair", [] { tensordot_rule({3, 3}, {3, 3}, Axes{0, 1, 1}); }, Kind::argument, {"(0, 1, 1)"},
     "tensordot: "},
    {"td_too_nested", [] { tensordot_rule({3, 3}, {3, 3}, Axes{Axes{Axes{0}, 1}, Axes{0, 1}}); }, Kind::argument,
     {"pair of axis lists"}, "tensordot: "},

    // einsum
    {"es_label_sizes", [] { einsum_rule("ij,jk", {{2, 3}, {4, 5}}); }, Kind::shape,
     {"einsum: sizes of label 'j' must be equal or 1, but are 3 (operand 0 axis 1) and 4 (operand 1 axis 0); "
      "operand 0: (2,3), operand 1: (4,5)"},
     "einsum: "},
    {"es_diagonal_sizes", [] { einsum_rule("ii->i", {{1, 3}}); }, Kind::shape,
     {"sizes of label 'i' must be equal, but are 1 (operand 0 axis 0) and 3 (operand 0 axis 1); operand 0: (1,3)"},
     "einsum: "},
    {"es_rank", [] { einsum_rule("ij", {{2, 3, 4}}); }, Kind::shape,
     {"operand 0 has rank 3", "'ij' has 2 labels", "operand 0: (2,3,4)"}, "einsum: "},
    {"es_rank_ellipsis", [] { einsum_rule("i,ij...", {{2}, {2}}); }, Kind::shape,
     {"operand 1 has rank 1", "operand 0: (2,), operand 1: (2,)"}, "einsum: "},
    {"es_ellipsis_missing_in_output", [] { einsum_rule("...i->i", {{2, 3}}); }, Kind::shape,
     {"'...'", "(2,)", "operand 0: (2,3)"}, "einsum: "},
    {"es_ellipsis_sizes", [] { einsum_rule("...ij,...jk", {{2, 2, 3}, {3, 3, 4}}); }, Kind::shape,
     {"ellipsis dims must be equal or 1, but are 2 (operand 0 axis 0) and 3 (operand 1 axis 0)",
      "operand 0: (2,2,3), operand 1: (3,3,4)"},
     "einsum: "},
    {"es_operand_count", [] { einsum_rule("ij,jk", {{2, 3}}); }, Kind::argument, {"2 operand terms", "1 operands"},
     "einsum: "},
    {"es_no_operands", [] { einsum_rule("", {}); }, Kind::argument, {"at least one operand"}, "einsum: "},
    {"es_output_repeat", [] { einsum_rule("ij->ii", {{2, 2}}); }, Kind::argument, {"'i' appears more than once"},
     "einsum: "},
    {"es_output_unknown", [] { einsum_rule("ij->k", {{2, 2}}); }, Kind::argument, {"'k' appears in no input"},
     "einsum: "},
    {"es_single_dot", [] { einsum_rule("i.j", {{2, 2}}); }, Kind::argument, {"'...'"}, "einsum: "},
    {"es_two_ellipses", [] { einsum_rule("i......", {{2, 2}}); }, Kind::argument, {"at most one '...'"},
     "einsum: "},
    {"es_bad_char", [] { einsum_rule("i1", {{2, 2}}); }, Kind::argument, {"invalid character '1'"}, "einsum: "},
    {"es_stray_dash", [] { einsum_rule("i-j", {{2, 2}}); }, Kind::argument, {"invalid character '-'"}, "einsum: "},
    {"es_two_arrows", [] { einsum_rule("i->i->i", {{2}}); }, Kind::argument, {"more than one '->'"}, "einsum: "},

    // transpose
    {"tr_length", [] { transpose_rule({2, 3, 4}, std::vector<int64_t>{0, 1}); }, Kind::argument,
     {"(0, 1)", "x: (2,3,4)"}, "transpose: "},
    {"tr_repeat", [] { transpose_rule({2, 3, 4}, std::vector<int64_t>{0, 0, 1}); }, Kind::argument,
     {"repeats axis 0", "x: (2,3,4)"}, "transpose: "},
    {"tr_repeat_negative", [] { transpose_rule({2, 3, 4}, std::vector<int64_t>{2, -1, 0}); }, Kind::argument,
     {"repeats axis 2"}, "transpose: "},
    {"tr_range", [] { transpose_rule({2, 3, 4}, std::vector<int64_t>{0, 1, 3}); }, Kind::shape,
     {"axis 3 is out of range for x of rank 3", "x: (2,3,4)"}, "transpose: "},
    {"tr_range_negative", [] { transpose_rule({2, 3, 4}, std::vector<int64_t>{0, 1, -4}); }, Kind::shape,
     {"axis -4 is out of range"}, "transpose: "},

    // reshape
    {"rs_count", [] { reshape_rule({2, 3}, {4, 2}); }, Kind::shape, {"6 elements", "(4,2)", "x: (2,3)"},
     "reshape: "},
    {"rs_infer_indivisible", [] { reshape_rule({2, 3}, {4, -1}); }, Kind::shape, {"(4,-1)", "x: (2,3)"},
     "reshape: "},
    {"rs_infer_ambiguous_zero", [] { reshape_rule({0, 3}, {0, -1}); }, Kind::shape, {"(0,-1)", "x: (0,3)"},
     "reshape: "},
    {"rs_two_minus_one", [] { reshape_rule({2, 3}, {-1, -1}); }, Kind::argument, {"at most one -1", "x: (2,3)"},
     "reshape: "},
    {"rs_negative", [] { reshape_rule({2, 3}, {-2, 3}); }, Kind::argument, {"-2", "x: (2,3)"}, "reshape: "},
    {"rs_overflow", [] { reshape_rule({2, 3}, {int64_t{1} << 40, int64_t{1} << 40}); }, Kind::shape,
     {"x: (2,3)"}, "reshape: "},
};

class ErrorTest : public ::testing::TestWithParam<ErrorRow> {};

TEST_P(ErrorTest, ThrowsWithFullMessage) {
  const ErrorRow& row = GetParam();
  if (row.kind == Kind::shape) {
    EXPECT_THROW(row.call(), ShapeError);
  } else {
    EXPECT_THROW(row.call(), ArgumentError);
  }
  try {
    row.call();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(row.prefix, 0), 0u) << what;
    for (const std::string& fragment : row.fragments)
      EXPECT_NE(what.find(fragment), std::string::npos) << "missing \"" << fragment << "\" in: " << what;
  }
}

INSTANTIATE_TEST_SUITE_P(Table, ErrorTest, ::testing::ValuesIn(kErrorRows),
                         [](const ::testing::TestParamInfo<ErrorRow>& info) { return info.param.name; });

TEST(Errors, SeedDotMessageIsVerbatim) {
  try {
    dot_rule({3, 4, 5, 2}, {2, 5, 3, 7});
    FAIL() << "no error";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(),
                 "dot: contraction dims must be equal, but are 2 (x axis 3) and 3 (y axis 2); x: (3,4,5,2), y: (2,5,3,7)");
  }
}

}  // namespace
}  // namespace tcc::rules
