#include "ir/loop/epilogue.h"

#include "ir/loop/index_math.h"

#include <fmt/format.h>

namespace tcc::ir::loop {

std::vector<Buffer> add_epilogue_params(const KernelSpec& c, LoopKernel& k) {
  std::vector<Buffer> params;
  for (size_t i = 0; i < c.epilogue_operands.size(); ++i) {
    params.push_back(std::make_shared<const BufferDecl>(BufferDecl{fmt::format("e{}", i), c.epilogue_operands[i].dtype,
                                                                   BufferDecl::Scope::param, static_cast<int>(k.params.size())}));
    k.params.push_back(params.back());
  }
  return params;
}

Buffer add_accumulator_param(const KernelSpec& c, LoopKernel& k) {
  if (c.acc_buffer < 0) return nullptr;
  k.params.push_back(std::make_shared<const BufferDecl>(
      BufferDecl{"acc", c.acc_dtype, BufferDecl::Scope::param, static_cast<int>(k.params.size())}));
  return k.params.back();
}

Expr epilogue_value(const KernelSpec& c, const std::vector<Buffer>& params, Expr value,
                    const std::function<Expr(const std::vector<int64_t>&)>& offset_of) {
  if (c.epilogue.empty()) return value;
  return evaluate_program<Expr>(
      c.epilogue,
      [&](int i) { return i == 0 ? value : load(params[i - 1], offset_of(c.epilogue_operands[i - 1].strides)); },
      apply_instr);
}

Stmt epilogue_over_output(const KernelSpec& c, const Buffer& sums, const Buffer& out, const DimExtents& extent,
                          const std::vector<Buffer>& params) {
  std::vector<Var> vars(c.dims.size());
  for (int d : c.out_axes) vars[d] = new_var(fmt::format("p{}", d));
  auto offset_of = [&](const std::vector<int64_t>& strides) {
    Expr e = c64(0);
    for (int d : c.out_axes) e = plus(e, times(v(vars[d]), strides[d]));
    return e;
  };
  const Expr index = offset_of(c.out_strides());
  Stmt body = store(out, index, epilogue_value(c, params, load(sums, index), offset_of));
  for (size_t a = c.out_axes.size(); a-- > 0;) {
    const int d = c.out_axes[a];
    body = for_loop(vars[d], extent(d), a + 1 == c.out_axes.size() ? ForKind::vectorized : ForKind::serial, body);
  }
  return body;
}

}  // namespace tcc::ir::loop
