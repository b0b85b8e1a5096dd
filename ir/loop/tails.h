// Pass: every tile loop (lower_gemm's loops over full-size tiles) gets its partial last tile
// as an exact one: fewer rows or columns (masked vectors), in the style the loop names (the
// loop's last iteration behind a branch, peeled after the loop, or a loop of its own over the
// partial tiles of a block). Loops inside a copied body get fresh vars.
#pragma once
#include "ir/loop/loop_ir.h"

namespace tcc::ir::loop {

LoopKernel split_tails(LoopKernel k);

}  // namespace tcc::ir::loop
