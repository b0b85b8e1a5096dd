// The extents of a kernel's dims as loop IR: a constant for a static dim, the kernel's scalar
// parameter for a symbolic one. Both lowerings (GEMM and simple) declare the parameters
// through this, in the order of KernelSpec::scalar_params(), which the runtime passes.
#pragma once
#include "ir/kernel/kernel_spec.h"
#include "ir/loop/index_math.h"

#include <algorithm>
#include <vector>

namespace tcc::ir::loop {

class DimExtents {
 public:
  // Declares k's scalar parameters for c's symbols.
  DimExtents(const KernelSpec& c, LoopKernel& k) : c_(c), symbols_(c.scalar_params()) {
    for (const std::string& s : symbols_) params_.push_back(new_var(s));
    k.scalar_params = params_;
  }
  Expr operator()(int d) const {
    const KernelDim& dim = c_.dims[d];
    if (!dim.symbolic()) return c64(dim.extent);
    return v(params_[std::find(symbols_.begin(), symbols_.end(), dim.symbol) - symbols_.begin()]);
  }
  // The product of the extents of `dims`.
  Expr product(const std::vector<int>& dims) const {
    int64_t constant = 1;
    Expr e;
    for (int d : dims) {
      if (c_.dims[d].symbolic()) e = e ? mul(e, (*this)(d)) : (*this)(d);
      else constant *= c_.dims[d].extent;
    }
    return e ? times(e, constant) : c64(constant);
  }

 private:
  const KernelSpec& c_;
  std::vector<std::string> symbols_;
  std::vector<Var> params_;
};

}  // namespace tcc::ir::loop
