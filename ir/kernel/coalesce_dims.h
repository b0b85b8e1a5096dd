// Kernel-form pass: two loop dims of one role that every operand and the output walk as one
// (the outer's stride is the inner's times its extent everywhere) become one dim, and dims of
// extent 1 go. A tensordot over two axes becomes a GEMM with one K; a batch of (10, 12)
// becomes one batch loop; the 4-index transform's steps become single large GEMMs.
#pragma once
#include "ir/kernel/kernel_spec.h"

namespace tcc::ir {

KernelSpec coalesce_dims(KernelSpec c);
KernelProgram coalesce_dims(KernelProgram p);

}  // namespace tcc::ir
