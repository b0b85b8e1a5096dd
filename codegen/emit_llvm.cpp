#include "codegen/emit_llvm.h"

#include <tcc/error.h>

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

  llvm::Function* emit(const LoopKernel& k, const TargetInfo& target, bool aligned_buffers, bool with_entry) {
    llvm::Type* ptr = b_.getPtrTy();
    std::vector<llvm::Type*> params(k.params.size(), ptr);
    auto* impl_ty = llvm::FunctionType::get(b_.getVoidTy(), params, false);
    auto* impl = llvm::Function::Create(impl_ty, llvm::Function::InternalLinkage, k.name + ".impl", m_);
    set_target_attributes(impl, target);
    impl->addFnAttr(llvm::Attribute::AlwaysInline);
    for (size_t i = 0; i < k.params.size(); ++i) {
      // The output never aliases an operand; operands may alias each other, which noalias
      // allows since they are only read. Alignment is a promise only the JIT runtime makes.
      impl->addParamAttr(i, llvm::Attribute::NoAlias);
      impl->addParamAttr(i, llvm::Attribute::NoCapture);
      if (aligned_buffers) impl->addParamAttr(i, llvm::Attribute::getWithAlignment(ctx_, llvm::Align(64)));
      if (i > 0) impl->addParamAttr(i, llvm::Attribute::ReadOnly);
      buffers_[k.params[i].get()] = impl->getArg(i);
    }
    auto* entry = llvm::BasicBlock::Create(ctx_, "entry", impl);
    b_.SetInsertPoint(entry);
    alloca_point_ = entry;
    stmt(k.body);
    b_.CreateRetVoid();
    if (!with_entry) return impl;

    // The exported entry: unpacks the argument array and calls the kernel (inlined by O3).
    auto* wrapper_ty = llvm::FunctionType::get(b_.getVoidTy(), {ptr}, false);
    auto* wrapper = llvm::Function::Create(wrapper_ty, llvm::Function::ExternalLinkage, k.name, m_);
    set_target_attributes(wrapper, target);
    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", wrapper));
    std::vector<llvm::Value*> args;
    for (size_t i = 0; i < k.params.size(); ++i) {
      llvm::Value* slot = b_.CreateConstInBoundsGEP1_64(ptr, wrapper->getArg(0), i);
      args.push_back(b_.CreateAlignedLoad(ptr, slot, llvm::Align(8)));
    }
    b_.CreateCall(impl, args);
    b_.CreateRetVoid();
    return impl;
  }

 private:

  llvm::Type* type_of(DType t) {
    switch (t) {
      case DType::f32: return b_.getFloatTy();
      case DType::f64: return b_.getDoubleTy();
      case DType::i32: return b_.getInt32Ty();
      case DType::i64: return b_.getInt64Ty();
    }
    throw InternalError("codegen: unknown dtype");
  }

  llvm::Value* address(const Buffer& buffer, const Expr& index) {
    auto it = buffers_.find(buffer.get());
    if (it == buffers_.end()) throw InternalError("codegen: buffer " + buffer->name + " not in scope");
    return b_.CreateInBoundsGEP(type_of(buffer->dtype), it->second, expr(index));
  }

  llvm::Value* expr(const Expr& e) {
    switch (e->kind) {
      case ExprKind::int_imm: return llvm::ConstantInt::get(type_of(e->type), e->int_value, true);
      case ExprKind::float_imm: return llvm::ConstantFP::get(type_of(e->type), e->float_value);
      case ExprKind::var: {
        auto it = vars_.find(e->var.get());
        if (it == vars_.end()) throw InternalError("codegen: var " + e->var->name + " not in scope");
        return it->second;
      }
      case ExprKind::add: {
        llvm::Value *a = expr(e->a), *b = expr(e->b);
        return is_float(e->type) ? b_.CreateFAdd(a, b) : b_.CreateAdd(a, b);  // integers wrap, as NumPy's
      }
      case ExprKind::mul: {
        llvm::Value *a = expr(e->a), *b = expr(e->b);
        return is_float(e->type) ? b_.CreateFMul(a, b) : b_.CreateMul(a, b);
      }
      case ExprKind::load:
        return b_.CreateAlignedLoad(type_of(e->type), address(e->buffer, e->index), llvm::Align(dtype_size(e->type)));
    }
    throw InternalError("codegen: unknown expression");
  }

  void stmt(const Stmt& s) {
    switch (s->kind) {
      case StmtKind::block:
        for (const Stmt& c : s->stmts) stmt(c);
        return;
      case StmtKind::store:
        b_.CreateAlignedStore(expr(s->value), address(s->buffer, s->index), llvm::Align(dtype_size(s->buffer->dtype)));
        return;
      case StmtKind::allocate: {
        // Allocas go in the entry block so that SROA/mem2reg turn them into registers.
        llvm::IRBuilder<> entry_builder(alloca_point_, alloca_point_->begin());
        buffers_[s->buffer.get()] = entry_builder.CreateAlloca(type_of(s->buffer->dtype), expr_const(s->index));
        stmt(s->body);
        buffers_.erase(s->buffer.get());
        return;
      }
      case StmtKind::for_loop:
        emit_loop(s);
        return;
    }
  }

  llvm::Value* expr_const(const Expr& e) {
    if (e->kind != ExprKind::int_imm) throw InternalError("codegen: stack allocation of non-constant size");
    return b_.getInt64(e->int_value);
  }

  void emit_loop(const Stmt& s) {
    llvm::Function* f = b_.GetInsertBlock()->getParent();
    llvm::Value* extent = expr(s->extent);
    llvm::BasicBlock* pre = b_.GetInsertBlock();
    auto* header = llvm::BasicBlock::Create(ctx_, s->var->name + ".header", f);
    auto* body = llvm::BasicBlock::Create(ctx_, s->var->name + ".body", f);
    auto* exit = llvm::BasicBlock::Create(ctx_, s->var->name + ".exit", f);
    b_.CreateBr(header);

    b_.SetInsertPoint(header);
    llvm::PHINode* iv = b_.CreatePHI(b_.getInt64Ty(), 2, s->var->name);
    iv->addIncoming(b_.getInt64(0), pre);
    b_.CreateCondBr(b_.CreateICmpSLT(iv, extent), body, exit);

    b_.SetInsertPoint(body);
    vars_[s->var.get()] = iv;
    stmt(s->body);
    vars_.erase(s->var.get());
    llvm::Value* next = b_.CreateAdd(iv, b_.getInt64(1), s->var->name + ".next", true, true);
    llvm::BranchInst* back = b_.CreateBr(header);
    iv->addIncoming(next, b_.GetInsertBlock());
    back->setMetadata(llvm::LLVMContext::MD_loop, loop_metadata(s->for_kind));
    b_.SetInsertPoint(exit);
  }

  llvm::MDNode* loop_metadata(ForKind kind) {
    llvm::SmallVector<llvm::Metadata*, 3> ops;
    ops.push_back(nullptr);  // the self reference every loop ID starts with
    ops.push_back(llvm::MDNode::get(ctx_, llvm::MDString::get(ctx_, "llvm.loop.mustprogress")));
    if (kind == ForKind::vectorized)
      ops.push_back(llvm::MDNode::get(ctx_, {llvm::MDString::get(ctx_, "llvm.loop.vectorize.enable"),
                                             llvm::ConstantAsMetadata::get(b_.getTrue())}));
    llvm::MDNode* id = llvm::MDNode::getDistinct(ctx_, ops);
    id->replaceOperandWith(0, id);
    return id;
  }

  llvm::LLVMContext& ctx_;
  llvm::Module& m_;
  llvm::IRBuilder<> b_;
  llvm::BasicBlock* alloca_point_ = nullptr;
  std::unordered_map<const void*, llvm::Value*> buffers_;
  std::unordered_map<const void*, llvm::Value*> vars_;
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

llvm::Function* emit_kernel(const LoopKernel& k, llvm::Module& m, const TargetInfo& target, bool aligned_buffers,
                            bool with_entry) {
  return KernelEmitter(m.getContext(), m).emit(k, target, aligned_buffers, with_entry);
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
