#include "ir/graph/contraction_path.h"

#include "ir/symbolic_extents.h"

#include <tcc/error.h>

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace tcc::ir {

namespace {

std::string term(const std::vector<int>& dims) {
  std::string s;
  for (int d : dims) s += d == IndexSpec::kBroadcast ? '1' : dim_letter(d);
  return s;
}

// A dim's size where no axis indexes it (symbols are negative codes, so not any negative).
constexpr int64_t kAbsent = -1;

// The size of a dim indexed by two axes (kAbsent: not indexed): a size-1 axis broadcasts
// against the other (also against 0).
int64_t combined_size(int64_t x, int64_t y) {
  if (x == kAbsent) return y;
  if (y == kAbsent) return x;
  return x != 1 ? x : y;
}

// A tensor of the search: its axes (global loop dims; an input may repeat one for a diagonal
// or hold kBroadcast) and their sizes.
struct Term {
  std::vector<int> dims;
  Shape sizes;
  int64_t size_of(int d) const {  // kAbsent: does not index d
    int64_t s = kAbsent;
    for (size_t a = 0; a < dims.size(); ++a)
      if (dims[a] == d) s = combined_size(s, sizes[a]);
    return s;
  }
  bool has(int d) const { return size_of(d) != kAbsent; }
  double numel() const { return planning_numel(sizes); }  // costs see symbols at their planning extent
};

class PathPlanner {
 public:
  PathPlanner(const IndexSpec& spec, const std::vector<Shape>& shapes, DType dtype, const sched::TargetModel& target,
              int64_t min_cap_bytes)
      : spec_(spec), dtype_(dtype), target_(target), n_(static_cast<int>(shapes.size())) {
    for (int i = 0; i < n_; ++i) inputs_.push_back({spec.operands[i], shapes[i]});
    const double elem = static_cast<double>(dtype_size(dtype));
    double largest = Term{spec.out, spec.out_shape()}.numel();
    for (const Term& t : inputs_) largest = std::max(largest, t.numel());
    cap_bytes_ = target.max_intermediate_bytes > 0 ? static_cast<double>(target.max_intermediate_bytes) : largest * elem;
    cap_bytes_ = std::max(cap_bytes_, static_cast<double>(min_cap_bytes));
  }

  ContractionPath plan() {
    ContractionPath path;
    path.einsum = einsum_text(spec_);
    path.memory_cap = static_cast<int64_t>(cap_bytes_);
    path.single = single_cost();
    path.total = path.single;
    path.method = "single";
    if (n_ < 3) return path;
    if (n_ > 31) {
      path.why_single = "more than 31 operands";
      return path;
    }
    const bool exhaustive = n_ <= std::min(target_.tuning.path_exhaustive_max_operands, 12);
    // One kernel cannot take this many operands: a path it must be, over the cap if need be.
    const bool must_split = n_ > target_.max_kernel_operands;
    std::vector<Join> joins = exhaustive ? search_optimal() : search_greedy();
    if (joins.empty() && must_split) {
      cap_bytes_ = std::numeric_limits<double>::infinity();
      joins = search_greedy();
    }
    if (joins.empty()) {
      path.why_single = fmt::format("every pairwise path needs an intermediate above the memory cap of {} bytes",
                                    path.memory_cap);
      return path;
    }
    std::vector<PathStep> steps = build_steps(joins);
    sched::CostEstimate total;
    for (const PathStep& s : steps) {
      total.flops += s.cost.flops;
      total.bytes += s.cost.bytes;
      total.cycles += s.cost.cycles;
    }
    if (total.cycles >= path.single.cycles && !must_split) {
      path.why_single = fmt::format("one loop nest is estimated faster ({:.0f} cycles) than the best pairwise path ({:.0f})",
                                    path.single.cycles, total.cycles);
      return path;
    }
    path.steps = std::move(steps);
    path.total = total;
    path.method = exhaustive ? "optimal" : "greedy";
    for (const PathStep& s : path.steps)
      if (&s != &path.steps.back())
        path.largest_intermediate = std::max(path.largest_intermediate, static_cast<int64_t>(planning_numel(s.shape)));
    return path;
  }

 private:
  // One pairwise contraction of the search: the operand sets (bit masks) it joins.
  struct Join {
    uint32_t lhs = 0, rhs = 0;
  };

  bool needed_outside(int d, uint32_t set) const {
    if (std::find(spec_.out.begin(), spec_.out.end(), d) != spec_.out.end()) return true;
    for (int i = 0; i < n_; ++i)
      if (!(set >> i & 1) && inputs_[i].has(d)) return true;
    return false;
  }

  // The intermediate that joining a and b (the operand set `set`) makes: the dims the rest
  // of the contraction needs. The final result keeps the output's order; an intermediate
  // keeps the axis order of the operand with more of its dims, with the other's new dims
  // where the first summed dim was, as one writes such einsums by hand ("ijkl,sl->ijks",
  // "pjkl,rk->pjrl"): runs of dims stay adjacent, so the steps are GEMMs over merged dims.
  Term term_of(uint32_t set, const Term& a, const Term& b) const {
    if (set == (1u << n_) - 1) return {spec_.out, spec_.out_shape()};
    auto kept = [&](int d) { return d != IndexSpec::kBroadcast && needed_outside(d, set); };
    auto count_kept = [&](const Term& t) {
      int k = 0;
      for (int d : t.dims) k += kept(d);
      return k;
    };
    const Term& big = count_kept(b) > count_kept(a) ? b : a;
    const Term& small = &big == &a ? b : a;
    Term t;
    auto add = [&](int d) {
      if (!kept(d) || std::find(t.dims.begin(), t.dims.end(), d) != t.dims.end()) return;
      t.dims.push_back(d);
      t.sizes.push_back(combined_size(a.size_of(d), b.size_of(d)));
    };
    bool small_added = false;
    for (int d : big.dims) {
      if (kept(d) || d == IndexSpec::kBroadcast || small_added) {
        add(d);
        continue;
      }
      for (int e : small.dims) add(e);
      small_added = true;
    }
    for (int e : small.dims) add(e);
    return t;
  }

  // The kernel form of contracting a and b into r: a GEMM when a dim longer than 1 in both
  // is summed, else a streaming product.
  static sched::KernelForm join_form(const Term& a, const Term& b, const Term& r) {
    for (int d : a.dims)
      if (d != IndexSpec::kBroadcast && !r.has(d) && planning_extent(a.size_of(d)) > 1 &&
          planning_extent(b.size_of(d)) > 1) return sched::KernelForm::gemm;
    return sched::KernelForm::stream;
  }

  // The cost of contracting a and b into r.
  sched::CostEstimate join_cost(const Term& a, const Term& b, const Term& r) const {
    double points = 1;
    bool sums = false;
    std::vector<int> seen;
    for (const Term* t : {&a, &b})
      for (int d : t->dims) {
        if (d == IndexSpec::kBroadcast || std::find(seen.begin(), seen.end(), d) != seen.end()) continue;
        seen.push_back(d);
        points *= static_cast<double>(planning_extent(combined_size(a.size_of(d), b.size_of(d))));
        sums = sums || !r.has(d);
      }
    const double elem = static_cast<double>(dtype_size(dtype_));
    return sched::estimate_cost(target_, join_form(a, b, r), dtype_, points * (sums ? 2 : 1),
                                elem * (a.numel() + b.numel() + r.numel()));
  }

  sched::CostEstimate single_cost() const {
    double points = planning_numel(spec_.extents);
    const bool sums = spec_.out.size() < spec_.extents.size();
    double elems = Term{spec_.out, spec_.out_shape()}.numel();
    for (const Term& t : inputs_) elems += t.numel();
    const sched::KernelForm form = n_ >= 3 ? sched::KernelForm::generic : sched::KernelForm::gemm;
    return sched::estimate_cost(target_, form, dtype_, points * (n_ - 1 + (sums ? 1 : 0)),
                                elems * static_cast<double>(dtype_size(dtype_)));
  }

  bool over_cap(const Term& t, uint32_t set) const {
    return set != (1u << n_) - 1 && t.numel() * static_cast<double>(dtype_size(dtype_)) > cap_bytes_;
  }

  // The cheapest tree of pairwise joins (dynamic programming over subsets, O(3^n)).
  std::vector<Join> search_optimal() const {
    const uint32_t full = (1u << n_) - 1;
    constexpr double kInf = std::numeric_limits<double>::infinity();
    std::vector<double> best(full + 1, kInf);
    std::vector<Join> split(full + 1);
    std::vector<Term> terms(full + 1);
    for (int i = 0; i < n_; ++i) best[1u << i] = 0, terms[1u << i] = inputs_[i];
    // Sets in order of size, so that both halves of a split are solved first.
    std::vector<uint32_t> sets;
    for (uint32_t s = 1; s <= full; ++s)
      if (__builtin_popcount(s) >= 2) sets.push_back(s);
    std::stable_sort(sets.begin(), sets.end(),
                     [](uint32_t x, uint32_t y) { return __builtin_popcount(x) < __builtin_popcount(y); });
    for (uint32_t s : sets) {
      const uint32_t low = s & (~s + 1);
      for (uint32_t l = (s - 1) & s; l; l = (l - 1) & s) {
        if (!(l & low)) continue;  // each split once: the half with the lowest operand on the left
        const uint32_t r = s ^ l;
        if (best[l] == kInf || best[r] == kInf) continue;
        Term t = term_of(s, terms[l], terms[r]);
        if (over_cap(t, s)) continue;
        const double c = best[l] + best[r] + join_cost(terms[l], terms[r], t).cycles;
        if (c < best[s]) best[s] = c, split[s] = {l, r}, terms[s] = std::move(t);
      }
    }
    if (best[full] == kInf) return {};
    std::vector<Join> joins;  // post-order: both halves before their join
    std::vector<std::pair<uint32_t, bool>> stack{{full, false}};
    while (!stack.empty()) {
      auto [s, expanded] = stack.back();
      stack.pop_back();
      if (__builtin_popcount(s) < 2) continue;
      if (expanded) {
        joins.push_back(split[s]);
        continue;
      }
      stack.push_back({s, true});
      stack.push_back({split[s].rhs, false});
      stack.push_back({split[s].lhs, false});
    }
    return joins;
  }

  // Greedy: repeatedly the cheapest join of two current tensors, preferring pairs that share
  // a dim (no outer products while a contraction is left).
  std::vector<Join> search_greedy() const {
    std::vector<uint32_t> live;
    std::vector<Term> terms;
    for (int i = 0; i < n_; ++i) live.push_back(1u << i), terms.push_back(inputs_[i]);
    std::vector<Join> joins;
    while (live.size() > 1) {
      int bi = -1, bj = -1;
      bool best_shares = false;
      double best_cycles = 0;
      Term best_term;
      for (size_t i = 0; i < live.size(); ++i)
        for (size_t j = i + 1; j < live.size(); ++j) {
          const uint32_t s = live[i] | live[j];
          Term t = term_of(s, terms[i], terms[j]);
          if (over_cap(t, s)) continue;
          bool shares = false;
          for (int d : terms[i].dims) shares = shares || (d != IndexSpec::kBroadcast && terms[j].has(d));
          const double c = join_cost(terms[i], terms[j], t).cycles;
          if (bi < 0 || (shares && !best_shares) || (shares == best_shares && c < best_cycles))
            bi = static_cast<int>(i), bj = static_cast<int>(j), best_shares = shares, best_cycles = c, best_term = t;
        }
      if (bi < 0) return {};
      joins.push_back({live[bi], live[bj]});
      live[bi] |= live[bj];
      terms[bi] = std::move(best_term);
      live.erase(live.begin() + bj);
      terms.erase(terms.begin() + bj);
    }
    return joins;
  }

  // The joins as steps with their own index specs.
  std::vector<PathStep> build_steps(const std::vector<Join>& joins) const {
    std::vector<PathStep> steps;
    std::vector<std::pair<uint32_t, std::pair<int, Term>>> made;  // set -> (operand id, term)
    for (int i = 0; i < n_; ++i) made.push_back({1u << i, {i, inputs_[i]}});
    auto find = [&](uint32_t set) -> const std::pair<int, Term>& {
      for (const auto& m : made)
        if (m.first == set) return m.second;
      throw InternalError("contraction path: a join of an operand set not made yet");
    };
    for (const Join& j : joins) {
      const auto& [lhs_id, a] = find(j.lhs);
      const auto& [rhs_id, b] = find(j.rhs);
      Term r = term_of(j.lhs | j.rhs, a, b);
      PathStep step;
      step.lhs = lhs_id;
      step.rhs = rhs_id;
      step.cost = join_cost(a, b, r);
      // Local loop dims in order of first appearance; broadcast axes stay kBroadcast.
      std::vector<int> global;
      auto local = [&](int d) {
        if (d == IndexSpec::kBroadcast) return IndexSpec::kBroadcast;
        auto it = std::find(global.begin(), global.end(), d);
        if (it != global.end()) return static_cast<int>(it - global.begin());
        global.push_back(d);
        // An output dim no operand indexes (a size-1 axis the rule adds) keeps its extent.
        const int64_t size = combined_size(a.size_of(d), b.size_of(d));
        step.spec.extents.push_back(size != kAbsent ? size : spec_.extents[d]);
        return static_cast<int>(global.size()) - 1;
      };
      for (const Term* t : {&a, &b}) {
        step.spec.operands.emplace_back();
        for (int d : t->dims) step.spec.operands.back().push_back(local(d));
      }
      step.form = join_form(a, b, r);
      for (int d : r.dims) step.spec.out.push_back(local(d));
      step.shape = step.spec.out_shape();
      step.spec.verify({a.sizes, b.sizes});
      step.einsum = term(a.dims) + "," + term(b.dims) + "->" + term(r.dims);
      made.push_back({j.lhs | j.rhs, {n_ + static_cast<int>(steps.size()), std::move(r)}});
      steps.push_back(std::move(step));
    }
    return steps;
  }

  const IndexSpec& spec_;
  DType dtype_;
  const sched::TargetModel& target_;
  int n_;
  std::vector<Term> inputs_;
  double cap_bytes_ = 0;
};

}  // namespace

std::string einsum_text(const IndexSpec& spec) {
  std::string s;
  for (size_t i = 0; i < spec.operands.size(); ++i) {
    if (i) s += ',';
    s += term(spec.operands[i]);
  }
  return s + "->" + term(spec.out);
}

ContractionPath plan_contraction_path(const IndexSpec& spec, const std::vector<Shape>& operand_shapes, DType dtype,
                                      const sched::TargetModel& target, int64_t min_cap_bytes) {
  if (operand_shapes.size() != spec.operands.size())
    throw InternalError("plan_contraction_path: operand count");
  return PathPlanner(spec, operand_shapes, dtype, target, min_cap_bytes).plan();
}

}  // namespace tcc::ir
