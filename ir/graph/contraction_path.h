// Contraction paths: a contraction of three or more operands (an einsum, or a chain of
// contractions merged into one) computed as a sequence of pairwise contractions, as
// opt_einsum and NumPy's einsum_path do. The search is exact (dynamic programming over
// operand subsets) up to Tuning::path_exhaustive_max_operands operands and greedy beyond;
// paths are ranked by tcc's speed model of its kernels (FLOPs and bytes, cost_model.h), and
// no intermediate may exceed the memory cap.
#pragma once
#include "ir/graph/index_spec.h"
#include "ir/schedule/cost_model.h"
#include "ir/schedule/target_model.h"

#include <tcc/dtype.h>
#include <tcc/tensor.h>

#include <string>
#include <vector>

namespace tcc::ir {

struct PathStep {
  // What the step contracts: operand i < n is the contraction's operand i; n + s is the
  // result of step s.
  int lhs = -1, rhs = -1;
  IndexSpec spec;      // the pairwise contraction, over its own loop dims
  std::string einsum;  // the step as an einsum over the contraction's labels: "ij,jk->ik"
  Shape shape;         // of the result
  sched::KernelForm form = sched::KernelForm::gemm;
  sched::CostEstimate cost;
};

struct ContractionPath {
  std::vector<PathStep> steps;  // empty: computed as one kernel (see `why_single`)
  std::string method;           // "optimal", "greedy" or "single"
  std::string why_single;       // why no pairwise path is used, when steps is empty
  std::string einsum;           // the whole contraction over the same labels
  sched::CostEstimate single;   // the contraction as one loop nest
  sched::CostEstimate total;    // the sum over the steps (== single when unplanned)
  int64_t memory_cap = 0;       // bytes, the cap the search obeyed
  int64_t largest_intermediate = 0;  // elements
};

// Plans `spec` over operands of these shapes. One or two operands: a single step. The memory
// cap is the target's (or the largest operand or result), and at least `min_cap_bytes`.
ContractionPath plan_contraction_path(const IndexSpec& spec, const std::vector<Shape>& operand_shapes, DType dtype,
                                      const sched::TargetModel& target, int64_t min_cap_bytes = 0);

// "ij,jk->ik" for an index spec, one letter per loop dim (a-z, A-Z).
std::string einsum_text(const IndexSpec& spec);

}  // namespace tcc::ir
