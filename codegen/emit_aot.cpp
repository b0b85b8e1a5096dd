// One object for a whole graph: its kernels plus a C entry point that runs them in order.
#include "codegen/emit_llvm.h"

#include <fmt/format.h>

namespace tcc::codegen {

namespace {

int64_t buffer_bytes(const ir::BufferInfo& info) {
  return info.numel * static_cast<int64_t>(dtype_size(info.dtype));
}

class GraphEntryEmitter {
 public:
  GraphEntryEmitter(const ir::LoweredProgram& p, llvm::Module& m, const TargetInfo& target)
      : p_(p), m_(m), ctx_(m.getContext()), b_(ctx_), target_(target) {}

  void emit(const std::vector<int>& inputs, const std::string& name) {
    std::vector<llvm::Function*> kernels;
    for (const ir::LoweredKernel& k : p_.kernels)
      if (!k.loops->scalar_params.empty())
        throw CompileError("ahead-of-time objects do not pass scalar kernel parameters yet (kernel " + k.name + ")");
    for (const ir::LoweredKernel& k : p_.kernels)
      kernels.push_back(emit_kernel(*k.loops, m_, target_, /*aligned_buffers=*/false, /*with_entry=*/false));

    llvm::Type* ptr = b_.getPtrTy();
    const size_t num_outputs = p_.program.outputs.size();
    std::vector<llvm::Type*> params(inputs.size() + num_outputs, ptr);
    fn_ = llvm::Function::Create(llvm::FunctionType::get(b_.getInt32Ty(), params, false),
                                 llvm::Function::ExternalLinkage, name, m_);
    set_target_attributes(fn_, target_);
    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn_));

    // Where each buffer lives: a caller's input or output, a constant global, or the heap.
    std::vector<llvm::Value*> storage(p_.program.buffers.size(), nullptr);
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i] >= 0) storage[inputs[i]] = fn_->getArg(i);
    std::vector<std::pair<size_t, int>> output_copies;  // outputs whose buffer an earlier output holds
    for (size_t o = 0; o < num_outputs; ++o) {
      int buffer = p_.program.outputs[o].buffer;
      if (storage[buffer]) output_copies.emplace_back(o, buffer);
      else storage[buffer] = fn_->getArg(inputs.size() + o);
    }
    for (size_t b = 0; b < p_.program.buffers.size(); ++b) {
      const ir::BufferInfo& info = p_.program.buffers[b];
      if (storage[b]) continue;
      if (info.kind == ir::BufferInfo::Kind::constant) storage[b] = constant(info, b);
      else if (info.kind == ir::BufferInfo::Kind::temp) storage[b] = allocate(buffer_bytes(info));
    }
    // One scratch block (packing buffers) serves every kernel in turn.
    int64_t scratch_bytes = 0;
    for (const ir::LoweredKernel& k : p_.kernels) scratch_bytes = std::max(scratch_bytes, k.schedule.scratch_bytes());
    llvm::Value* scratch = scratch_bytes > 0 ? allocate(scratch_bytes) : nullptr;
    for (size_t s = 0; s < p_.program.steps.size(); ++s) {
      const ir::KernelSpec& c = p_.program.steps[s];
      std::vector<llvm::Value*> args{storage[c.out_buffer]};
      for (const ir::StridedOperand& op : c.operands) args.push_back(storage[op.buffer]);
      if (p_.kernels[p_.step_kernel[s]].schedule.scratch_bytes() > 0) args.push_back(scratch);
      b_.CreateCall(kernels[p_.step_kernel[s]], args);
    }
    for (auto [o, buffer] : output_copies)
      b_.CreateMemCpy(fn_->getArg(inputs.size() + o), llvm::MaybeAlign(), storage[buffer], llvm::MaybeAlign(),
                      buffer_bytes(p_.program.buffers[buffer]));
    free_all();
    b_.CreateRet(b_.getInt32(0));

    if (out_of_memory_) {
      b_.SetInsertPoint(out_of_memory_);
      free_all();  // free(NULL) is a no-op: slots not yet allocated hold NULL
      b_.CreateRet(b_.getInt32(1));
    }
  }

 private:
  llvm::Value* constant(const ir::BufferInfo& info, size_t b) {
    auto data = llvm::ArrayRef<char>(static_cast<const char*>(info.data.data()), info.data.nbytes());
    auto* init = llvm::ConstantDataArray::get(ctx_, data);
    auto* g = new llvm::GlobalVariable(m_, init->getType(), true, llvm::GlobalValue::PrivateLinkage, init,
                                       fmt::format("constant.{}", b));
    g->setAlignment(llvm::Align(64));
    return g;
  }

  // aligned_alloc(64, bytes) into a NULL-initialised slot, branching to the out-of-memory exit on NULL.
  llvm::Value* allocate(int64_t bytes) {
    llvm::Type* ptr = b_.getPtrTy();
    llvm::IRBuilder<> entry(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
    llvm::AllocaInst* slot = entry.CreateAlloca(ptr);
    entry.CreateStore(llvm::ConstantPointerNull::get(b_.getPtrTy()), slot);
    slots_.push_back(slot);
    // aligned_alloc (C11): the kernels' scratch wants 64-byte alignment; the size must be a multiple.
    auto alloc_fn = m_.getOrInsertFunction("aligned_alloc", ptr, b_.getInt64Ty(), b_.getInt64Ty());
    llvm::Value* p = b_.CreateCall(alloc_fn, {b_.getInt64(64), b_.getInt64(std::max<int64_t>((bytes + 63) / 64 * 64, 64))});
    b_.CreateStore(p, slot);
    if (!out_of_memory_) out_of_memory_ = llvm::BasicBlock::Create(ctx_, "out_of_memory", fn_);
    auto* ok = llvm::BasicBlock::Create(ctx_, "allocated", fn_);
    b_.CreateCondBr(b_.CreateIsNull(p), out_of_memory_, ok);
    b_.SetInsertPoint(ok);
    return p;
  }

  void free_all() {
    auto free_fn = m_.getOrInsertFunction("free", b_.getVoidTy(), b_.getPtrTy());
    for (llvm::AllocaInst* slot : slots_) b_.CreateCall(free_fn, {b_.CreateLoad(b_.getPtrTy(), slot)});
  }

  const ir::LoweredProgram& p_;
  llvm::Module& m_;
  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> b_;
  TargetInfo target_;
  llvm::Function* fn_ = nullptr;
  llvm::BasicBlock* out_of_memory_ = nullptr;
  std::vector<llvm::AllocaInst*> slots_;
};

}  // namespace

std::string compile_graph_object(const ir::LoweredProgram& program, const std::vector<int>& inputs,
                                 const std::string& name, const CompileOptions& options) {
  auto tm = make_machine(options);
  llvm::LLVMContext ctx;
  auto m = new_module(name, ctx, *tm);
  GraphEntryEmitter(program, *m, target_info(*tm)).emit(inputs, name);
  verify(*m);
  optimize(*m, *tm);
  llvm::SmallVector<char, 0> object = emit_machine_code(*m, *tm, llvm::CodeGenFileType::ObjectFile);
  return std::string(object.data(), object.size());
}

}  // namespace tcc::codegen
