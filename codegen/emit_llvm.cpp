#include "codegen/emit_llvm.h"
#include "codegen/emit_elementwise.h"

#include <tcc/error.h>

#include <functional>
#include <optional>
#include <unordered_map>

namespace tcc::codegen {

namespace {

using namespace ir::loop;

class KernelEmitter {
 public:
  KernelEmitter(llvm::LLVMContext& ctx, llvm::Module& m) : ctx_(ctx), m_(m), b_(ctx) {
    // Reassociation lets LLVM vectorise reductions; contraction fuses mul+add into FMA.
    // No nnan/ninf: NaN and Inf inputs propagate as in NumPy.
    llvm::FastMathFlags fmf;
    fmf.setAllowReassoc();
    fmf.setAllowContract(true);
    fmf.setNoSignedZeros();
    b_.setFastMathFlags(fmf);
  }

  // Whether LLVM's vectorisers have work in what emit() wrote: a kernel of micro-kernels whose
  // vectorised loops were all short (emit_short_vector_loop) has none.
  bool needs_vectorizers() const { return micro_kernels_ == 0 || vectorizer_loops_ > 0; }
  // Whether InstCombine has work: vectorisers' loops, or arithmetic on data (element-wise ops,
  // epilogues, softmax). Without either, a module of micro-kernels, packing copies and loop
  // nests has only index arithmetic, which instruction selection folds as well.
  bool needs_instcombine() const { return needs_vectorizers() || data_math_; }

  llvm::Function* emit(const LoopKernel& k, const TargetInfo& target, bool with_entry) {
    target_ = target;
    llvm::Type* ptr = b_.getPtrTy();
    // Buffers, then i64 scalar parameters, then the scratch block.
    const size_t num_buffers = k.params.size(), num_scalars = k.scalar_params.size();
    const size_t num_args = num_buffers + num_scalars + (k.scratch_bytes > 0 ? 1 : 0);
    std::vector<llvm::Type*> params(num_args, ptr);
    for (size_t i = 0; i < num_scalars; ++i) params[num_buffers + i] = b_.getInt64Ty();
    auto* impl_ty = llvm::FunctionType::get(b_.getVoidTy(), params, false);
    auto* impl = llvm::Function::Create(impl_ty, llvm::Function::InternalLinkage, k.name + ".impl", m_);
    set_target_attributes(impl, target);
    impl->addFnAttr(llvm::Attribute::AlwaysInline);
    for (size_t i = 0; i < k.params.size(); ++i) {
      // The output never aliases an operand; operands may alias each other, which noalias
      // allows since they are only read. Alignment: only the element's (borrowed NumPy arrays,
      // ahead-of-time callers' buffers).
      impl->addParamAttr(i, llvm::Attribute::NoAlias);
      impl->addParamAttr(i, llvm::Attribute::NoCapture);
      if (i > 0) impl->addParamAttr(i, llvm::Attribute::ReadOnly);
      buffers_[k.params[i].get()] = impl->getArg(i);
    }
    for (size_t i = 0; i < num_scalars; ++i) vars_[k.scalar_params[i].get()] = impl->getArg(num_buffers + i);
    if (k.scratch_bytes > 0) {
      // The caller's scratch block: 64-byte aligned, private to this call.
      const unsigned at = static_cast<unsigned>(num_buffers + num_scalars);
      impl->addParamAttr(at, llvm::Attribute::NoAlias);
      impl->addParamAttr(at, llvm::Attribute::getWithAlignment(ctx_, llvm::Align(64)));
      scratch_block_ = impl->getArg(at);
    }
    auto* entry = llvm::BasicBlock::Create(ctx_, "entry", impl);
    b_.SetInsertPoint(entry);
    alloca_point_ = entry;
    stmt_then_store_fence(k.body);
    b_.CreateRetVoid();
    if (!with_entry) return impl;

    // The exported entry: unpacks the argument array and calls the kernel (inlined by the pipeline).
    auto* wrapper_ty = llvm::FunctionType::get(b_.getVoidTy(), {ptr}, false);
    auto* wrapper = llvm::Function::Create(wrapper_ty, llvm::Function::ExternalLinkage, k.name, m_);
    set_target_attributes(wrapper, target);
    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", wrapper));
    std::vector<llvm::Value*> args;
    for (size_t i = 0; i < num_args; ++i) {
      llvm::Value* slot = b_.CreateConstInBoundsGEP1_64(ptr, wrapper->getArg(0), i);
      llvm::Value* arg = b_.CreateAlignedLoad(ptr, slot, llvm::Align(8));
      // A scalar's slot holds the value itself.
      if (i >= num_buffers && i < num_buffers + num_scalars) arg = b_.CreatePtrToInt(arg, b_.getInt64Ty());
      args.push_back(arg);
    }
    b_.CreateCall(impl, args);
    b_.CreateRetVoid();
    return impl;
  }

 private:

  llvm::Type* type_of(DType t) {
    const unsigned bits = static_cast<unsigned>(dtype_size(t) * 8);
    if (!is_float(t)) return b_.getIntNTy(bits);
    if (bits == 32) return b_.getFloatTy();
    if (bits == 64) return b_.getDoubleTy();
    throw InternalError("codegen: no LLVM type for " + std::string(dtype_name(t)));
  }

  llvm::Value* base(const Buffer& buffer) {
    auto it = buffers_.find(buffer.get());
    if (it == buffers_.end()) throw InternalError("codegen: buffer " + buffer->name + " not in scope");
    return it->second;
  }
  llvm::Value* var_value(const Var& v) {
    auto it = vars_.find(v.get());
    if (it == vars_.end()) throw InternalError("codegen: var " + v->name + " not in scope");
    return it->second;
  }
  llvm::Value* address(const Buffer& buffer, const Expr& index) {
    return b_.CreateInBoundsGEP(type_of(buffer->dtype), base(buffer), expr(index));
  }

  llvm::Value* expr(const Expr& e) {
    switch (e->kind) {
      case ExprKind::int_imm: return llvm::ConstantInt::get(type_of(e->type), e->int_value, true);
      case ExprKind::float_imm: return llvm::ConstantFP::get(type_of(e->type), e->float_value);
      case ExprKind::var: return var_value(e->var);
      case ExprKind::add:
      case ExprKind::sub:
      case ExprKind::mul: return arithmetic(*e, expr(e->a), expr(e->b));
      case ExprKind::div:  // both non-negative (loop_ir.h): unsigned division is exact and cheaper
        return b_.CreateUDiv(expr(e->a), expr(e->b));
      case ExprKind::min: {
        llvm::Value *a = expr(e->a), *b = expr(e->b);
        data_math_ = data_math_ || e->type != DType::i64;
        return is_float(e->type) ? b_.CreateMinNum(a, b) : b_.CreateSelect(b_.CreateICmpSLT(a, b), a, b);
      }
      case ExprKind::select_lt: {
        llvm::Value* less = b_.CreateICmpSLT(expr(e->a), expr(e->b));
        return b_.CreateSelect(less, expr(e->t), expr(e->f));
      }
      case ExprKind::load:
        return b_.CreateAlignedLoad(type_of(e->type), address(e->buffer, e->index), llvm::Align(dtype_size(e->type)));
      case ExprKind::elem: return function(*e, expr(e->a), e->b ? expr(e->b) : nullptr, type_of(e->type));
    }
    throw InternalError("codegen: unknown expression");
  }

  // e's add, sub or mul of the values a and b (scalars or vectors); integers wrap, as NumPy's.
  llvm::Value* arithmetic(const ExprNode& e, llvm::Value* a, llvm::Value* b) {
    const bool f = is_float(e.type);
    data_math_ = data_math_ || e.type != DType::i64;
    if (e.kind == ExprKind::add) return f ? b_.CreateFAdd(a, b) : b_.CreateAdd(a, b);
    if (e.kind == ExprKind::sub) return f ? b_.CreateFSub(a, b) : b_.CreateSub(a, b);
    return f ? b_.CreateFMul(a, b) : b_.CreateMul(a, b);
  }

  // e's element-wise function of a (and b) (scalars or vectors); a cast converts to `to_type`.
  llvm::Value* function(const ExprNode& e, llvm::Value* a, llvm::Value* b, llvm::Type* to_type) {
    data_math_ = true;
    if (e.elem == ir::ElemOp::cast) return emit_convert(b_, a, e.a->type, e.type, to_type);
    return emit_elementwise(b_, e.elem, e.type, a, b);
  }

  void stmt(const Stmt& s) {
    switch (s->kind) {
      case StmtKind::block:
        for (const Stmt& c : s->stmts) stmt(c);
        return;
      case StmtKind::store:
        b_.CreateAlignedStore(expr(s->value), address(s->buffer, s->index), llvm::Align(dtype_size(s->buffer->dtype)));
        return;
      case StmtKind::micro_kernel:
        ++micro_kernels_;
        emit_micro_kernel(*s->micro);
        return;
      case StmtKind::transpose_block:
        emit_transpose_block(*s);
        return;
      case StmtKind::if_lt: {
        llvm::Function* f = b_.GetInsertBlock()->getParent();
        auto* then_bb = llvm::BasicBlock::Create(ctx_, "if.then", f);
        auto* else_bb = llvm::BasicBlock::Create(ctx_, "if.else", f);
        auto* end_bb = llvm::BasicBlock::Create(ctx_, "if.end", f);
        b_.CreateCondBr(b_.CreateICmpSLT(expr(s->lhs), expr(s->rhs)), then_bb, else_bb);
        b_.SetInsertPoint(then_bb);
        stmt(s->body);
        b_.CreateBr(end_bb);
        b_.SetInsertPoint(else_bb);
        if (s->otherwise) stmt(s->otherwise);
        b_.CreateBr(end_bb);
        b_.SetInsertPoint(end_bb);
        return;
      }
      case StmtKind::allocate: {
        if (s->buffer->scope == BufferDecl::Scope::heap) {
          buffers_[s->buffer.get()] =
              b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), scratch_block_, s->buffer->scratch_offset);
          stmt(s->body);
          buffers_.erase(s->buffer.get());
          return;
        }
        // Allocas go in the entry block, typed as arrays, so that SROA turns them into registers
        // (it leaves an `alloca T, i64 n` alone).
        llvm::IRBuilder<> entry_builder(alloca_point_, alloca_point_->begin());
        llvm::AllocaInst* slot =
            entry_builder.CreateAlloca(llvm::ArrayType::get(type_of(s->buffer->dtype), constant_extent(s->extent)));
        slot->setAlignment(llvm::Align(64));  // packed blocks: whole cache lines, as in the scratch block
        buffers_[s->buffer.get()] = slot;
        stmt(s->body);
        buffers_.erase(s->buffer.get());
        return;
      }
      case StmtKind::for_loop:
        if (s->tiles) throw InternalError("codegen: a tile loop reached codegen (the tails pass splits it)");
        if (s->for_kind == ForKind::parallel)
          throw InternalError("codegen: a parallel loop reached codegen (the outline_parallel pass makes it a task)");
        if (s->for_kind == ForKind::streaming) emit_streaming_loop(s);
        else emit_loop(s);
        return;
      case StmtKind::parallel_task:
        emit_parallel_task(s);
        return;
      case StmtKind::pack_panels:
        throw InternalError("codegen: a pack_panels statement reached codegen (the pack pass expands it)");
    }
  }

  // ---- A lanes x lanes transposed copy in registers ----

  // Row c of the source block (lanes elements along r) is one vector. Transposing swaps, for
  // every bit b of the indices, bit b of the row index with bit b of the column index: one
  // round of two-source shuffles per bit (vshuff32x4, vunpcklpd, vpermt2ps and the like).
  void emit_transpose_block(const StmtNode& s) {
    const int lanes = s.transpose.lanes;
    llvm::Type* elem = type_of(s.buffer->dtype);
    auto* vec = llvm::FixedVectorType::get(elem, lanes);
    const llvm::Align align(dtype_size(s.buffer->dtype));
    llvm::Value* src = address(s.src, s.src_index);
    llvm::Value* dst = address(s.buffer, s.index);
    std::vector<llvm::Value*> rows(lanes);
    for (int c = 0; c < lanes; ++c)
      rows[c] = b_.CreateAlignedLoad(vec, b_.CreateInBoundsGEP(elem, src, b_.getInt64(c * s.transpose.src_stride)), align);
    for (int bit = lanes / 2; bit >= 1; bit /= 2) {
      std::vector<int> keep_low(lanes), keep_high(lanes);  // indices into (rows[i], rows[i + bit])
      for (int j = 0; j < lanes; ++j) {
        keep_low[j] = (j & bit) ? lanes + j - bit : j;
        keep_high[j] = (j & bit) ? lanes + j : j + bit;
      }
      for (int i = 0; i < lanes; ++i) {
        if (i & bit) continue;
        llvm::Value *low = rows[i], *high = rows[i + bit];
        rows[i] = b_.CreateShuffleVector(low, high, keep_low);
        rows[i + bit] = b_.CreateShuffleVector(low, high, keep_high);
      }
    }
    for (int r = 0; r < lanes; ++r)
      b_.CreateAlignedStore(rows[r], b_.CreateInBoundsGEP(elem, dst, b_.getInt64(r * s.transpose.dst_stride)), align);
  }

  // ---- The micro-kernel: MR x NR accumulators in vector registers, explicit FMAs ----

  // A tile operand's first element, computed once per tile into one register. It passes
  // through an empty inline asm, opaque to every pass, so that instruction selection cannot
  // fold the tile's offset back into each access as a base + index address: an FMA or a store
  // with an indexed memory operand issues as two micro-ops instead of one (Intel's
  // "unlamination"), which left the load-heavy narrow tiles bound by the renamer (freeze is
  // not enough: the DAG combiner pushes it into the address arithmetic).
  llvm::Value* tile_origin(const TileOperand& o) {
    llvm::Value* p = address(o.buffer, o.offset);
    auto* opaque = llvm::InlineAsm::get(llvm::FunctionType::get(p->getType(), {p->getType()}, false), "", "=r,0",
                                        /*hasSideEffects=*/false);
    return b_.CreateCall(opaque, {p});
  }

  // Element (i, j) of a tile operand whose first element is at `origin`.
  llvm::Value* element_ptr(const TileOperand& o, llvm::Value* origin, llvm::Value* i, llvm::Value* j) {
    llvm::Value* index = b_.getInt64(0);
    if (o.stride_i) index = b_.CreateAdd(index, b_.CreateMul(i, b_.getInt64(o.stride_i)));
    if (o.stride_j) index = b_.CreateAdd(index, b_.CreateMul(j, b_.getInt64(o.stride_j)));
    return b_.CreateInBoundsGEP(type_of(o.buffer->dtype), origin, index);
  }

  llvm::Value* lane_mask(int active, int lanes) {
    std::vector<llvm::Constant*> bits;
    for (int l = 0; l < lanes; ++l) bits.push_back(b_.getInt1(l < active));
    return llvm::ConstantVector::get(bits);
  }

  // A vector load; with a mask, lanes outside it are not read (and come back as 0).
  llvm::Value* load_vector(llvm::FixedVectorType* vec, llvm::Value* p, llvm::Align align, llvm::Value* mask) {
    if (mask) return b_.CreateMaskedLoad(vec, p, align, mask, llvm::Constant::getNullValue(vec));
    return b_.CreateAlignedLoad(vec, p, align);
  }

  llvm::Value* multiply_add(llvm::Value* a, llvm::Value* b, llvm::Value* acc, DType t) {
    // Without FMA instructions llvm.fma becomes a call to libm's fmaf/fma, which an
    // ahead-of-time object must not need: a multiply and an add instead.
    if (is_float(t) && !target_.fma) return b_.CreateFAdd(b_.CreateFMul(a, b), acc);
    // The first step's sum is the product (signed zeros are not kept: nsz).
    if (is_float(t) && llvm::isa<llvm::Constant>(acc) && llvm::cast<llvm::Constant>(acc)->isNullValue())
      return b_.CreateFMul(a, b);
    if (is_float(t)) {
      // Without fast-math flags: with nsz, instruction selection searches each FMA's chain of
      // accumulators for a cheaper negation, a few percent of a GEMM's compile.
      llvm::IRBuilderBase::FastMathFlagGuard plain(b_);
      b_.clearFastMathFlags();
      return b_.CreateIntrinsic(llvm::Intrinsic::fma, {acc->getType()}, {a, b, acc});
    }
    return b_.CreateAdd(b_.CreateMul(a, b), acc);  // integers wrap, as NumPy's
  }

  // Asks for the cache line at `p`, for reading or for writing, with the plan's locality hint.
  void prefetch_line(llvm::Value* p, bool write, int locality) {
    b_.CreateIntrinsic(llvm::Intrinsic::prefetch, {b_.getPtrTy()},
                       {p, b_.getInt32(write ? 1 : 0), b_.getInt32(locality), b_.getInt32(/*data*/ 1)});
  }

  // The micro-kernel's prefetch streams, spread over its k loop: step k asks for segments
  // k * per_step .. k * per_step + per_step - 1, the last one repeated once they run out (a
  // cheap clamp rather than a branch in the k loop); each segment is all of its cache lines.
  void prefetch_step(const MicroKernel& mk, const std::vector<llvm::Value*>& origins, llvm::Value* k) {
    const int64_t kc = mk.kc->int_value;
    for (size_t n = 0; n < mk.prefetch.size(); ++n) {
      const PrefetchStream& s = mk.prefetch[n];
      const int64_t element_bytes = static_cast<int64_t>(dtype_size(s.buffer->dtype));
      const int64_t line_elements = 64 / element_bytes;
      const int64_t lines = (s.segment_elements + line_elements - 1) / line_elements;
      const int64_t per_step = (s.segments + kc - 1) / kc;
      llvm::Value* last = b_.getInt64(s.segments - 1);
      for (int64_t i = 0; i < per_step; ++i) {
        llvm::Value* segment = b_.CreateAdd(b_.CreateMul(k, b_.getInt64(per_step)), b_.getInt64(i));
        segment = b_.CreateSelect(b_.CreateICmpSLT(segment, last), segment, last);
        for (int64_t l = 0; l < lines; ++l) {
          llvm::Value* index = b_.CreateAdd(b_.CreateMul(segment, b_.getInt64(s.segment_stride)), b_.getInt64(l * line_elements));
          prefetch_line(b_.CreateGEP(type_of(s.buffer->dtype), origins[n], index), /*write=*/false, mk.prefetch_locality);
        }
      }
    }
  }

  void emit_micro_kernel(const MicroKernel& mk) {
    const DType t = mk.c.buffer->dtype;
    const int lanes = mk.lanes, nv = (mk.cols + lanes - 1) / lanes;
    const int last = mk.cols - (nv - 1) * lanes;  // active lanes of the last vector
    llvm::Type* elem = type_of(t);
    auto* vec = llvm::FixedVectorType::get(elem, lanes);
    const llvm::Align elem_align(dtype_size(t));
    auto b_mask = [&](int v) { return v == nv - 1 && last < lanes ? lane_mask(last, lanes) : nullptr; };

    llvm::Function* f = b_.GetInsertBlock()->getParent();
    llvm::Value *a_origin = tile_origin(mk.a), *b_origin = tile_origin(mk.b), *c_origin = tile_origin(mk.c);
    // Prefetch addresses may run past the buffer (the last matrix's "next" one): no inbounds,
    // whose out-of-bounds result would be poison; a prefetch itself never faults.
    std::vector<llvm::Value*> prefetch_origins;
    for (const PrefetchStream& s : mk.prefetch)
      prefetch_origins.push_back(b_.CreateGEP(type_of(s.buffer->dtype), base(s.buffer), expr(s.offset)));
    // One k step: load the B row's vectors, broadcast each A element, one FMA per accumulator.
    // Step k reads A and B `step` k after a_at and b_at (the tile's origins, or the k loop's
    // pointers).
    auto k_step = [&](llvm::Value* k, const std::vector<llvm::Value*>& in, llvm::Value* a_at, llvm::Value* b_at,
                      int64_t step) {
      if (!mk.prefetch.empty()) prefetch_step(mk, prefetch_origins, k);
      std::vector<llvm::Value*> bvec, out(in.size());
      for (int v = 0; v < nv; ++v)
        bvec.push_back(load_vector(vec, element_ptr(mk.b, b_at, b_.getInt64(step), b_.getInt64(int64_t(v) * lanes)), elem_align, b_mask(v)));
      for (int r = 0; r < mk.rows; ++r) {
        llvm::Value* a = b_.CreateAlignedLoad(elem, element_ptr(mk.a, a_at, b_.getInt64(r), b_.getInt64(step)), elem_align);
        llvm::Value* splat = b_.CreateVectorSplat(lanes, a);
        for (int v = 0; v < nv; ++v) out[r * nv + v] = multiply_add(splat, bvec[v], in[r * nv + v], t);
      }
      return out;
    };
    llvm::Value* out_origin = mk.out.buffer ? tile_origin(mk.out) : c_origin;
    if (mk.prefetch_c) {
      // C is only touched after the k loop: ask for its lines (for writing) before it starts,
      // or the output's, when every store is a finishing one into it.
      auto constant = [](const Expr& e, bool nonzero) { return e && e->kind == ExprKind::int_imm && (e->int_value != 0) == nonzero; };
      const bool into_out = mk.out.buffer && constant(mk.finish, true) && constant(mk.accumulate, false);
      const TileOperand& written = into_out ? mk.out : mk.c;
      const int64_t line = 64 / static_cast<int64_t>(dtype_size(written.buffer->dtype));
      for (int r = 0; r < mk.rows; ++r)
        for (int64_t col = 0; col < mk.cols; col += line)
          prefetch_line(element_ptr(written, into_out ? out_origin : c_origin, b_.getInt64(r), b_.getInt64(col)),
                        /*write=*/true, mk.prefetch_locality);
    }
    std::vector<llvm::Value*> acc(static_cast<size_t>(mk.rows * nv), llvm::Constant::getNullValue(vec));
    if (mk.kc->kind == ExprKind::int_imm && mk.kc->int_value <= mk.full_unroll_max_k) {
      // A short, known K (small matrices): straight-line code, no loop at all.
      for (int64_t k = 0; k < mk.kc->int_value; ++k) acc = k_step(b_.getInt64(k), acc, a_origin, b_origin, k);
    } else {
      // The k loop, with the accumulators as loop-carried values, mk.k_steps k steps per
      // iteration (fewer when they do not divide a constant kc); a runtime kc that may not be
      // a multiple (kc_multiple) ends in a loop of single steps.
      int64_t unroll = std::max(1, mk.k_steps);
      const bool constant_kc = mk.kc->kind == ExprKind::int_imm;
      while (constant_kc && mk.kc->int_value % unroll != 0) unroll /= 2;
      llvm::Value* kc = expr(mk.kc);
      auto k_loop = [&](const char* name, llvm::Value* first, llvm::Value* iterations, int64_t steps) {
        // A and B through pointers that move `steps` k a iteration (LSR's form already).
        llvm::Value* a_first = element_ptr(mk.a, a_origin, b_.getInt64(0), first);
        llvm::Value* b_first = element_ptr(mk.b, b_origin, first, b_.getInt64(0));
        CountedLoop kloop = open_loop(name);
        std::vector<llvm::PHINode*> phis;
        for (size_t i = 0; i < acc.size(); ++i) {
          phis.push_back(b_.CreatePHI(vec, 2, "acc"));
          phis.back()->addIncoming(acc[i], kloop.pre);
        }
        llvm::PHINode* a_at = b_.CreatePHI(b_.getPtrTy(), 2, "a.k");
        llvm::PHINode* b_at = b_.CreatePHI(b_.getPtrTy(), 2, "b.k");
        a_at->addIncoming(a_first, kloop.pre);
        b_at->addIncoming(b_first, kloop.pre);
        enter_body(kloop, iterations);
        std::vector<llvm::Value*> next(phis.begin(), phis.end());
        llvm::Value* k0 = b_.CreateAdd(first, b_.CreateMul(kloop.index, b_.getInt64(steps)));
        for (int64_t u = 0; u < steps; ++u) next = k_step(b_.CreateAdd(k0, b_.getInt64(u)), next, a_at, b_at, u);
        llvm::Value* a_next = element_ptr(mk.a, a_at, b_.getInt64(0), b_.getInt64(steps));
        llvm::Value* b_next = element_ptr(mk.b, b_at, b_.getInt64(steps), b_.getInt64(0));
        llvm::BasicBlock* latch = close_loop(kloop, loop_metadata(false));
        a_at->addIncoming(a_next, latch);
        b_at->addIncoming(b_next, latch);
        for (size_t i = 0; i < phis.size(); ++i) {
          phis[i]->addIncoming(next[i], latch);
          acc[i] = phis[i];
        }
      };
      llvm::Value* whole = b_.CreateSDiv(kc, b_.getInt64(unroll));
      k_loop("mk.k", b_.getInt64(0), whole, unroll);
      if (unroll > 1 && !constant_kc && mk.kc_multiple % unroll != 0) {
        llvm::Value* done = b_.CreateMul(whole, b_.getInt64(unroll));
        k_loop("mk.k.rest", done, b_.CreateSub(kc, done), 1);
      }
    }

    // C update, only where the tile exists: C = acc, or C += acc when accumulating, then the
    // epilogue when finishing, stored into C or, when it converts the sums to another dtype,
    // into the output (mk.out). The overwriting variant never reads C (no extra memory traffic
    // on the first K block).
    std::vector<llvm::Value*> epilogue_origins;
    for (const TileOperand& o : mk.epilogue_operands) epilogue_origins.push_back(address(o.buffer, o.offset));
    const TileOperand& out = mk.out.buffer ? mk.out : mk.c;
    // The dtype of each of the epilogue's values: the sums', an operand's, or a cast's.
    std::vector<DType> value_types;
    for (const ir::ElemInstr& in : mk.epilogue)
      value_types.push_back(in.operand == 0  ? t
                            : in.operand > 0 ? mk.epilogue_operands[in.operand - 1].buffer->dtype
                            : in.op == ir::ElemOp::cast ? in.to
                                                        : value_types[in.args[0]]);
    auto vector_of = [&](DType d) { return llvm::FixedVectorType::get(type_of(d), lanes); };
    auto epilogue = [&](llvm::Value* sum, int r, int v, llvm::Value* mask) {
      auto operand = [&](int i) -> llvm::Value* {
        if (i == 0) return sum;
        const TileOperand& o = mk.epilogue_operands[i - 1];
        const DType d = o.buffer->dtype;
        const llvm::Align align(dtype_size(d));
        llvm::Value* p = element_ptr(o, epilogue_origins[i - 1], b_.getInt64(r), b_.getInt64(int64_t(v) * lanes));
        return o.stride_j == 0 ? b_.CreateVectorSplat(lanes, b_.CreateAlignedLoad(type_of(d), p, align))
                               : load_vector(vector_of(d), p, align, mask);
      };
      return ir::evaluate_program<llvm::Value*>(mk.epilogue, operand, [&](const ir::ElemInstr& in, llvm::Value* a, llvm::Value* b) {
        const DType from = value_types[in.args[0]];
        if (in.op == ir::ElemOp::cast) return emit_convert(b_, a, from, in.to, vector_of(in.to));
        return emit_elementwise(b_, in.op, from, a, b);
      });
    };
    auto update = [&](int r, int v, llvm::Value* mask, bool finishing) {
      llvm::Value* p = element_ptr(mk.c, c_origin, b_.getInt64(r), b_.getInt64(int64_t(v) * lanes));
      llvm::Value* sum = acc[r * nv + v];
      llvm::Align align = elem_align;
      if (finishing) {
        sum = epilogue(sum, r, v, mask);
        p = element_ptr(out, out_origin, b_.getInt64(r), b_.getInt64(int64_t(v) * lanes));
        align = llvm::Align(dtype_size(out.buffer->dtype));
      }
      if (mask) b_.CreateMaskedStore(sum, p, align, mask);
      else b_.CreateAlignedStore(sum, p, align);
    };
    // Rows below skip_rows are not stored: a switch on it enters the rows' updates at that
    // row, each falling through to the next (the last row always runs).
    auto store_full = [&](bool finishing) {
      std::vector<llvm::BasicBlock*> entries;
      if (mk.skip_rows) {
        for (int r = 0; r < mk.rows; ++r) entries.push_back(llvm::BasicBlock::Create(ctx_, "mk.row", f));
        llvm::SwitchInst* enter = b_.CreateSwitch(expr(mk.skip_rows), entries.back(), mk.rows - 1);
        for (int r = 0; r + 1 < mk.rows; ++r) enter->addCase(b_.getInt64(r), entries[r]);
      }
      for (int r = 0; r < mk.rows; ++r) {
        if (!entries.empty()) {
          if (r > 0) b_.CreateBr(entries[r]);
          b_.SetInsertPoint(entries[r]);
        }
        for (int v = 0; v < nv; ++v) update(r, v, b_mask(v), finishing);
      }
    };
    // One variant when a condition is a constant, else a branch to both.
    auto variants = [&](const Expr& condition, const char* name, const std::function<void(bool)>& body) {
      if (!condition || condition->kind == ExprKind::int_imm) {
        body(condition && condition->int_value != 0);
        return;
      }
      auto* yes_bb = llvm::BasicBlock::Create(ctx_, std::string(name), f);
      auto* no_bb = llvm::BasicBlock::Create(ctx_, std::string(name) + ".not", f);
      auto* end_bb = llvm::BasicBlock::Create(ctx_, std::string(name) + ".done", f);
      b_.CreateCondBr(b_.CreateICmpNE(expr(condition), b_.getInt64(0)), yes_bb, no_bb);
      b_.SetInsertPoint(yes_bb);
      body(true);
      b_.CreateBr(end_bb);
      b_.SetInsertPoint(no_bb);
      body(false);
      b_.CreateBr(end_bb);
      b_.SetInsertPoint(end_bb);
    };
    data_math_ = data_math_ || !mk.epilogue.empty();
    const Expr finish = mk.epilogue.empty() ? nullptr : mk.finish;
    // Accumulating, C is added to the sums first (behind a branch when `accumulate` is known
    // only at run time); one update (per `finish`) then stores them either way.
    auto add_c = [&]() {
      std::vector<llvm::Value*> added(acc.size());
      for (int r = 0; r < mk.rows; ++r)
        for (int v = 0; v < nv; ++v) {
          llvm::Value* old = load_vector(vec, element_ptr(mk.c, c_origin, b_.getInt64(r), b_.getInt64(int64_t(v) * lanes)), elem_align, b_mask(v));
          llvm::Value* sum = acc[r * nv + v];
          added[r * nv + v] = is_float(t) ? b_.CreateFAdd(sum, old) : b_.CreateAdd(sum, old);
        }
      return added;
    };
    if (mk.accumulate->kind != ExprKind::int_imm) {
      llvm::BasicBlock* sums_bb = b_.GetInsertBlock();
      auto* add_bb = llvm::BasicBlock::Create(ctx_, "mk.accumulate", f);
      auto* added_bb = llvm::BasicBlock::Create(ctx_, "mk.accumulate.done", f);
      b_.CreateCondBr(b_.CreateICmpNE(expr(mk.accumulate), b_.getInt64(0)), add_bb, added_bb);
      b_.SetInsertPoint(add_bb);
      std::vector<llvm::Value*> added = add_c();
      b_.CreateBr(added_bb);
      b_.SetInsertPoint(added_bb);
      for (size_t i = 0; i < acc.size(); ++i) {
        llvm::PHINode* merged = b_.CreatePHI(vec, 2, "sum");
        merged->addIncoming(acc[i], sums_bb);
        merged->addIncoming(added[i], add_bb);
        acc[i] = merged;
      }
    } else if (mk.accumulate->int_value != 0) {
      acc = add_c();
    }
    variants(finish, "mk.finish", store_full);
  }

  // A parallel task (outline_parallel): `i32 NAME(ptr closure, i64 i)` runs one iteration; its
  // captures (and the scratch block, when the kernel has one) travel in a closure on the
  // stack, and the runtime's tcc_parallel_for runs the iterations.
  void emit_parallel_task(const Stmt& s) {
    llvm::Function* parent = b_.GetInsertBlock()->getParent();
    llvm::Module& m = *parent->getParent();
    const TaskCaptures& captures = *s->task;
    std::vector<llvm::Value*> values;
    for (const Var& v : captures.vars) values.push_back(var_value(v));
    for (const Buffer& buf : captures.buffers) values.push_back(base(buf));
    if (scratch_block_) values.push_back(scratch_block_);
    std::vector<llvm::Type*> fields;
    for (llvm::Value* v : values) fields.push_back(v->getType());
    auto* closure_ty = llvm::StructType::get(ctx_, fields);
    llvm::Value* closure = llvm::IRBuilder<>(alloca_point_, alloca_point_->begin()).CreateAlloca(closure_ty);
    for (unsigned f = 0; f < values.size(); ++f) b_.CreateStore(values[f], b_.CreateStructGEP(closure_ty, closure, f));
    llvm::Value* extent = expr(s->extent);

    auto* task_ty = llvm::FunctionType::get(b_.getInt32Ty(), {b_.getPtrTy(), b_.getInt64Ty()}, false);
    auto* task = llvm::Function::Create(task_ty, llvm::Function::InternalLinkage, captures.name, m);
    set_target_attributes(task, target_);
    auto saved_ip = b_.saveIP();
    auto saved_vars = std::move(vars_);
    auto saved_buffers = std::move(buffers_);
    llvm::BasicBlock* saved_alloca_point = alloca_point_;
    llvm::Value* saved_scratch = scratch_block_;

    // The task's body sees its captures and its index, nothing else.
    vars_.clear();
    buffers_.clear();
    alloca_point_ = llvm::BasicBlock::Create(ctx_, "entry", task);
    b_.SetInsertPoint(alloca_point_);
    unsigned f = 0;
    auto get = [&]() {
      llvm::Type* type = fields[f];
      return b_.CreateLoad(type, b_.CreateStructGEP(closure_ty, task->getArg(0), f++));
    };
    for (const Var& v : captures.vars) vars_[v.get()] = get();
    for (const Buffer& buf : captures.buffers) buffers_[buf.get()] = get();
    if (scratch_block_) scratch_block_ = get();
    vars_[s->var.get()] = task->getArg(1);
    stmt_then_store_fence(s->body);
    b_.CreateRet(b_.getInt32(0));

    b_.restoreIP(saved_ip);
    vars_ = std::move(saved_vars);
    buffers_ = std::move(saved_buffers);
    alloca_point_ = saved_alloca_point;
    scratch_block_ = saved_scratch;
    auto parallel_for = m.getOrInsertFunction("tcc_parallel_for", b_.getInt32Ty(), b_.getPtrTy(), b_.getPtrTy(),
                                              b_.getInt64Ty());
    b_.CreateCall(parallel_for, {task, closure, extent});
  }

  static uint64_t constant_extent(const Expr& e) {
    if (e->kind != ExprKind::int_imm || e->int_value < 0)
      throw InternalError("codegen: stack allocation of non-constant size");
    return static_cast<uint64_t>(e->int_value);
  }

  // A counted loop `for (index = 0; index < extent; ++index)` in three steps, so that callers
  // can add their own loop-carried phis to the header between open_loop and enter_body.
  struct CountedLoop {
    llvm::BasicBlock *pre, *header, *body, *exit;
    llvm::PHINode* index;
  };
  CountedLoop open_loop(const std::string& name, llvm::BasicBlock* exit = nullptr) {
    llvm::Function* f = b_.GetInsertBlock()->getParent();
    CountedLoop l;
    l.pre = b_.GetInsertBlock();
    l.header = llvm::BasicBlock::Create(ctx_, name + ".header", f);
    l.body = llvm::BasicBlock::Create(ctx_, name + ".body", f);
    l.exit = exit ? exit : llvm::BasicBlock::Create(ctx_, name + ".exit", f);
    b_.CreateBr(l.header);
    b_.SetInsertPoint(l.header);
    l.index = b_.CreatePHI(b_.getInt64Ty(), 2, name);
    l.index->addIncoming(b_.getInt64(0), l.pre);
    return l;
  }
  void enter_body(const CountedLoop& l, llvm::Value* extent) {
    b_.CreateCondBr(b_.CreateICmpSLT(l.index, extent), l.body, l.exit);
    b_.SetInsertPoint(l.body);
  }
  // Closes the body (its current block becomes the latch, returned) and continues after the loop.
  llvm::BasicBlock* close_loop(const CountedLoop& l, llvm::MDNode* metadata) {
    llvm::Value* next = b_.CreateAdd(l.index, b_.getInt64(1), l.index->getName() + ".next", true, true);
    llvm::BranchInst* back = b_.CreateBr(l.header);
    llvm::BasicBlock* latch = b_.GetInsertBlock();
    l.index->addIncoming(next, latch);
    if (metadata) back->setMetadata(llvm::LLVMContext::MD_loop, metadata);
    b_.SetInsertPoint(l.exit);
    return latch;
  }

  // ---- Streaming loops: vectors written past the caches ----

  // A function's body; after it, when it wrote non-temporal stores, the fence that makes them
  // visible before the function returns (they are not ordered with the stores, locked
  // instructions included, that hand the result to the caller or another thread).
  void stmt_then_store_fence(const Stmt& body) {
    const int before = streaming_loops_;
    stmt(body);
    if (streaming_loops_ == before) return;
    if (llvm::Triple(m_.getTargetTriple()).isX86())
      b_.CreateCall(llvm::Intrinsic::getDeclaration(&m_, llvm::Intrinsic::x86_sse_sfence));
    else
      b_.CreateFence(llvm::AtomicOrdering::SequentiallyConsistent);
  }

  // How an index moves per step of `var`: a constant, or nullopt when it is not affine in it.
  static std::optional<int64_t> step_of(const Expr& e, const Var& var) {
    switch (e->kind) {
      case ExprKind::int_imm: return 0;
      case ExprKind::var: return e->var == var ? 1 : 0;
      case ExprKind::add:
      case ExprKind::sub: {
        auto a = step_of(e->a, var), b = step_of(e->b, var);
        if (!a || !b) return std::nullopt;
        return e->kind == ExprKind::add ? *a + *b : *a - *b;
      }
      case ExprKind::mul: {
        auto a = step_of(e->a, var), b = step_of(e->b, var);
        if (!a || !b) return std::nullopt;
        if (e->b->kind == ExprKind::int_imm) return *a * e->b->int_value;
        if (e->a->kind == ExprKind::int_imm) return *b * e->a->int_value;
        return *a == 0 && *b == 0 ? std::optional<int64_t>(0) : std::nullopt;
      }
      default: {  // anything else must not depend on var at all
        for (const Expr* sub : {&e->a, &e->b, &e->t, &e->f, &e->index})
          if (*sub && step_of(*sub, var) != std::optional<int64_t>(0)) return std::nullopt;
        return 0;
      }
    }
  }

  // Whether an element value can be computed as a vector of consecutive steps of `var`:
  // functions of loads that are contiguous along it or do not move, and constants.
  static bool vector_value(const Expr& e, const Var& var) {
    switch (e->kind) {
      case ExprKind::int_imm:
      case ExprKind::float_imm: return true;
      case ExprKind::load: {
        auto step = step_of(e->index, var);
        return step && (*step == 0 || *step == 1);
      }
      case ExprKind::elem: return vector_value(e->a, var) && (!e->b || vector_value(e->b, var));
      case ExprKind::add:
      case ExprKind::sub:
      case ExprKind::mul: return vector_value(e->a, var) && vector_value(e->b, var);
      default: return false;
    }
  }

  // The vector of `lanes` consecutive values of e from var = first (vector_value(e)).
  llvm::Value* vector_expr(const Expr& e, const Var& var, llvm::Value* first, int lanes) {
    auto splat = [&](llvm::Value* v) { return b_.CreateVectorSplat(lanes, v); };
    switch (e->kind) {
      case ExprKind::int_imm:
      case ExprKind::float_imm: return splat(expr(e));
      case ExprKind::load: {
        vars_[var.get()] = first;
        llvm::Value* p = address(e->buffer, e->index);
        vars_.erase(var.get());
        const llvm::Align align(dtype_size(e->type));
        if (step_of(e->index, var) == std::optional<int64_t>(0)) return splat(b_.CreateAlignedLoad(type_of(e->type), p, align));
        return b_.CreateAlignedLoad(llvm::FixedVectorType::get(type_of(e->type), lanes), p, align);
      }
      case ExprKind::elem:
        return function(*e, vector_expr(e->a, var, first, lanes), e->b ? vector_expr(e->b, var, first, lanes) : nullptr,
                        llvm::FixedVectorType::get(type_of(e->type), lanes));
      default: return arithmetic(*e, vector_expr(e->a, var, first, lanes), vector_expr(e->b, var, first, lanes));
    }
  }

  // Store st (contiguous along var, of a vector_value) for the `lanes` iterations from `first`.
  llvm::StoreInst* store_vector(const StmtNode& st, const Var& var, llvm::Value* first, int lanes, llvm::Align align) {
    llvm::Value* value = vector_expr(st.value, var, first, lanes);
    vars_[var.get()] = first;
    llvm::StoreInst* store = b_.CreateAlignedStore(value, address(st.buffer, st.index), align);
    vars_.erase(var.get());
    return store;
  }

  // Iterations from .. from + count of loop s, element by element (not vectorised, not unrolled):
  // the parts of a loop that codegen writes in vectors that are shorter than a vector.
  void element_range(const Stmt& s, const std::string& name, llvm::Value* from, llvm::Value* count) {
    CountedLoop l = open_loop(name);
    enter_body(l, count);
    vars_[s->var.get()] = b_.CreateAdd(from, l.index);
    stmt(s->body);
    vars_.erase(s->var.get());
    close_loop(l, loop_metadata(false, true));
  }

  // A loop of one store, contiguous along it, of a vector_value: element by element up to the
  // first whole vector of the output, then whole vectors written with non-temporal stores,
  // then the rest element by element; an sfence orders the stores before whatever follows
  // (a parallel task's end). Anything else is a plain vectorised loop.
  void emit_streaming_loop(const Stmt& s) {
    const StmtNode& st = *s->body;
    const int elem_bytes = st.kind == StmtKind::store ? static_cast<int>(dtype_size(st.buffer->dtype)) : 0;
    const int lanes = elem_bytes ? target_.vector_bits / 8 / elem_bytes : 0;
    if (st.kind != StmtKind::store || lanes < 2 || step_of(st.index, s->var) != std::optional<int64_t>(1) ||
        !vector_value(st.value, s->var)) {
      emit_loop(s);
      return;
    }
    llvm::Value* extent = expr(s->extent);
    // Elements before the first vector-aligned one (all of them when the output is not even
    // aligned to its elements, which a view of bytes can be).
    vars_[s->var.get()] = b_.getInt64(0);
    llvm::Value* start = b_.CreatePtrToInt(address(st.buffer, st.index), b_.getInt64Ty());
    vars_.erase(s->var.get());
    const int64_t vector_bytes = int64_t(lanes) * elem_bytes;
    llvm::Value* to_boundary = b_.CreateUDiv(b_.CreateAnd(b_.CreateSub(b_.getInt64(0), start), b_.getInt64(vector_bytes - 1)),
                                             b_.getInt64(elem_bytes));
    llvm::Value* element_aligned = b_.CreateICmpEQ(b_.CreateAnd(start, b_.getInt64(elem_bytes - 1)), b_.getInt64(0));
    llvm::Value* head = b_.CreateSelect(element_aligned, to_boundary, extent);
    head = b_.CreateSelect(b_.CreateICmpSLT(head, extent), head, extent);
    element_range(s, "stream.head", b_.getInt64(0), head);
    llvm::Value* vectors = b_.CreateSDiv(b_.CreateSub(extent, head), b_.getInt64(lanes));
    CountedLoop l = open_loop("stream");
    enter_body(l, vectors);
    llvm::Value* first = b_.CreateAdd(head, b_.CreateMul(l.index, b_.getInt64(lanes)));
    llvm::StoreInst* store = store_vector(st, s->var, first, lanes, llvm::Align(vector_bytes));
    store->setMetadata(llvm::LLVMContext::MD_nontemporal,
                       llvm::MDNode::get(ctx_, {llvm::ConstantAsMetadata::get(b_.getInt32(1))}));
    close_loop(l, loop_metadata(false));
    llvm::Value* done = b_.CreateAdd(head, b_.CreateMul(vectors, b_.getInt64(lanes)));
    element_range(s, "stream.tail", done, b_.CreateSub(extent, done));
    ++streaming_loops_;
  }

  // A short vectorised loop (a constant extent of at most kMaxExplicitVectors vectors) of
  // stores contiguous along it, of vector_values: whole vectors of iterations (in a loop past
  // kUnrolledVectors), each
  // running the stores in order (iterations are independent), then one over the rest element by
  // element. No work is left to LLVM's loop vectoriser. False when the loop is not of that form.
  static constexpr int64_t kMaxExplicitVectors = 16;
  // Up to this many vectors, straight-line code (a pack's panel row of nr columns) rather than
  // a loop, whose addresses would need Loop Strength Reduction, which micro-kernel modules skip.
  static constexpr int64_t kUnrolledVectors = 4;
  bool emit_short_vector_loop(const Stmt& s) {
    if (s->for_kind != ForKind::vectorized || s->extent->kind != ExprKind::int_imm) return false;
    std::vector<const StmtNode*> stores;
    if (s->body->kind == StmtKind::store) stores.push_back(s->body.get());
    else if (s->body->kind == StmtKind::block)
      for (const Stmt& c : s->body->stmts) stores.push_back(c.get());
    if (stores.empty()) return false;
    int lanes = 0;
    for (const StmtNode* st : stores) {
      if (st->kind != StmtKind::store || step_of(st->index, s->var) != std::optional<int64_t>(1) || !vector_value(st->value, s->var))
        return false;
      const int l = target_.vector_bits / 8 / static_cast<int>(dtype_size(st->buffer->dtype));
      if (lanes != 0 && l != lanes) return false;
      lanes = l;
    }
    const int64_t extent = s->extent->int_value, vectors = extent / lanes;
    if (lanes < 2 || vectors > kMaxExplicitVectors) return false;
    // The stores of the vector of iterations from `first`.
    auto vector_stores = [&](llvm::Value* first) {
      for (const StmtNode* st : stores) store_vector(*st, s->var, first, lanes, llvm::Align(dtype_size(st->buffer->dtype)));
    };
    if (vectors <= kUnrolledVectors) {
      for (int64_t v = 0; v < vectors; ++v) vector_stores(b_.getInt64(v * lanes));
    } else {
      CountedLoop l = open_loop(s->var->name + ".v");
      enter_body(l, b_.getInt64(vectors));
      vector_stores(b_.CreateMul(l.index, b_.getInt64(lanes)));
      close_loop(l, loop_metadata(false, true));
    }
    if (extent > vectors * lanes)
      element_range(s, s->var->name + ".rest", b_.getInt64(vectors * lanes), b_.getInt64(extent - vectors * lanes));
    return true;
  }

  void emit_loop(const Stmt& s) {
    if (emit_short_vector_loop(s)) return;
    if (s->for_kind == ForKind::vectorized) ++vectorizer_loops_;
    llvm::Value* extent = expr(s->extent);
    CountedLoop l = open_loop(s->var->name);
    enter_body(l, extent);
    vars_[s->var.get()] = l.index;
    stmt(s->body);
    vars_.erase(s->var.get());
    // A Vectorized loop is left to LLVM's vectoriser, which takes it anyway; forcing it with
    // llvm.loop.vectorize.enable only adds warnings where it declines (e.g. gathers).
    const bool scalar = s->for_kind == ForKind::scalar;
    close_loop(l, loop_metadata(scalar ? std::optional<bool>(false) : std::nullopt, scalar));
  }

  // vectorize: true asks for vectorisation, false forbids it (loops already written in vectors).
  llvm::MDNode* loop_metadata(std::optional<bool> vectorize, bool no_unroll = false) {
    llvm::SmallVector<llvm::Metadata*, 4> ops;
    ops.push_back(nullptr);  // the self reference every loop ID starts with
    ops.push_back(llvm::MDNode::get(ctx_, llvm::MDString::get(ctx_, "llvm.loop.mustprogress")));
    if (no_unroll) ops.push_back(llvm::MDNode::get(ctx_, llvm::MDString::get(ctx_, "llvm.loop.unroll.disable")));
    if (vectorize)
      ops.push_back(llvm::MDNode::get(ctx_, {llvm::MDString::get(ctx_, "llvm.loop.vectorize.enable"),
                                             llvm::ConstantAsMetadata::get(b_.getInt1(*vectorize))}));
    llvm::MDNode* id = llvm::MDNode::getDistinct(ctx_, ops);
    id->replaceOperandWith(0, id);
    return id;
  }

  llvm::LLVMContext& ctx_;
  llvm::Module& m_;
  llvm::IRBuilder<> b_;
  llvm::BasicBlock* alloca_point_ = nullptr;
  llvm::Value* scratch_block_ = nullptr;
  TargetInfo target_;
  std::unordered_map<const void*, llvm::Value*> buffers_;
  std::unordered_map<const void*, llvm::Value*> vars_;
  int streaming_loops_ = 0;  // emitted so far (stmt_then_store_fence)
  int vectorizer_loops_ = 0;  // vectorised loops left to LLVM's loop vectoriser
  bool data_math_ = false;    // arithmetic on data emitted (needs_instcombine)
  int micro_kernels_ = 0;
};

}  // namespace

void set_target_attributes(llvm::Function* f, const TargetInfo& target) {
  f->addFnAttr("target-cpu", target.cpu);
  f->addFnAttr("target-features", target.features);
  // Without this, Intel tunings pick ymm even on AVX-512 hosts.
  f->addFnAttr("prefer-vector-width", std::to_string(target.vector_bits));
  f->addFnAttr("min-legal-vector-width", std::to_string(target.vector_bits));
  f->addFnAttr(llvm::Attribute::NoUnwind);
  f->setMustProgress();
}

llvm::Function* emit_kernel(const LoopKernel& k, llvm::Module& m, const TargetInfo& target, bool with_entry) {
  KernelEmitter emitter(m.getContext(), m);
  llvm::Function* f = emitter.emit(k, target, with_entry);
  if (emitter.needs_vectorizers()) m.getOrInsertNamedMetadata(kNeedsVectorizers);  // optimize() runs them
  if (emitter.needs_instcombine()) m.getOrInsertNamedMetadata(kNeedsInstCombine);
  return f;
}

std::unique_ptr<llvm::Module> new_module(const std::string& name, llvm::LLVMContext& ctx, llvm::TargetMachine& tm) {
  auto m = std::make_unique<llvm::Module>(name, ctx);
  m->setDataLayout(tm.createDataLayout());
  m->setTargetTriple(tm.getTargetTriple().str());
  return m;
}

void verify(const llvm::Module& m) {
  std::string errors;
  llvm::raw_string_ostream os(errors);
  if (llvm::verifyModule(m, &os)) throw InternalError("codegen produced invalid LLVM IR: " + os.str());
}

}  // namespace tcc::codegen
