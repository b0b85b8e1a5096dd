// One object for a whole graph: its kernels plus a C entry point that runs them in order.
#include "codegen/emit_llvm.h"

#include <fmt/format.h>

#include <limits>
#include <map>

namespace tcc::codegen {

namespace {

// Bytes of a buffer, or per unit of its symbol.
int64_t buffer_bytes(const ir::BufferInfo& info) {
  return info.numel * static_cast<int64_t>(dtype_size(info.dtype));
}

class GraphEntryEmitter {
 public:
  GraphEntryEmitter(const ir::LoweredProgram& p, llvm::Module& m, const TargetInfo& target)
      : p_(p), m_(m), ctx_(m.getContext()), b_(ctx_), target_(target) {}

  void emit(const std::vector<int>& inputs, const AotSymbols& symbols, const std::string& name) {
    std::vector<llvm::Function*> kernels;
    for (const ir::LoweredKernel& k : p_.kernels)
      kernels.push_back(emit_kernel(*k.loops, m_, target_, /*with_entry=*/false));

    llvm::Type* ptr = b_.getPtrTy();
    const size_t num_outputs = p_.program.outputs.size(), first_buffer = symbols.params.size();
    std::vector<llvm::Type*> params(first_buffer, b_.getInt64Ty());
    params.resize(first_buffer + inputs.size() + num_outputs, ptr);
    fn_ = llvm::Function::Create(llvm::FunctionType::get(b_.getInt32Ty(), params, false),
                                 llvm::Function::ExternalLinkage, name, m_);
    set_target_attributes(fn_, target_);
    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn_));
    check_cpu(name);
    for (size_t i = 0; i < symbols.params.size(); ++i) symbol_values_[symbols.params[i]] = fn_->getArg(i);
    check_symbols(symbols);

    // Where each buffer lives: a caller's input or output, a constant global, or the heap.
    std::vector<llvm::Value*> storage(p_.program.buffers.size(), nullptr);
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i] >= 0) storage[inputs[i]] = fn_->getArg(first_buffer + i);
    std::vector<std::pair<size_t, int>> output_copies;  // outputs whose buffer an earlier output holds
    for (size_t o = 0; o < num_outputs; ++o) {
      int buffer = p_.program.outputs[o].buffer;
      if (storage[buffer]) output_copies.emplace_back(o, buffer);
      else storage[buffer] = fn_->getArg(first_buffer + inputs.size() + o);
    }
    for (size_t b = 0; b < p_.program.buffers.size(); ++b) {
      const ir::BufferInfo& info = p_.program.buffers[b];
      if (storage[b]) continue;
      if (info.kind == ir::BufferInfo::Kind::constant) storage[b] = constant(info, b);
      else if (info.kind == ir::BufferInfo::Kind::temp) storage[b] = allocate(bytes_of(info));
    }
    // One scratch block (packing buffers) serves every kernel in turn.
    int64_t scratch_bytes = 0;
    for (const ir::LoweredKernel& k : p_.kernels) scratch_bytes = std::max(scratch_bytes, k.schedule.scratch_bytes());
    llvm::Value* scratch = scratch_bytes > 0 ? allocate(b_.getInt64(scratch_bytes)) : nullptr;
    for (size_t s = 0; s < p_.program.steps.size(); ++s) {
      const ir::KernelSpec& c = p_.program.steps[s];
      std::vector<llvm::Value*> args;
      for (int b : c.arg_buffers()) args.push_back(storage[b]);
      for (const std::string& symbol : c.scalar_params()) args.push_back(symbol_value(tcc::dim(symbol)));
      if (p_.kernels[p_.step_kernel[s]].schedule.scratch_bytes() > 0) args.push_back(scratch);
      b_.CreateCall(kernels[p_.step_kernel[s]], args);
    }
    for (auto [o, buffer] : output_copies)
      b_.CreateMemCpy(fn_->getArg(first_buffer + inputs.size() + o), llvm::MaybeAlign(), storage[buffer],
                      llvm::MaybeAlign(), bytes_of(p_.program.buffers[buffer]));
    free_all();
    b_.CreateRet(b_.getInt32(0));

    if (out_of_memory_) {
      b_.SetInsertPoint(out_of_memory_);
      free_all();  // free(NULL) is a no-op: slots not yet allocated hold NULL
      b_.CreateRet(b_.getInt32(1));
    }
  }

 private:
  llvm::Value* symbol_value(int64_t code) {
    auto it = symbol_values_.find(code);
    if (it == symbol_values_.end()) throw InternalError("aot: symbol " + dim_str(code) + " is no parameter");
    return it->second;
  }
  llvm::Value* size_value(int64_t extent) { return is_symbol(extent) ? symbol_value(extent) : b_.getInt64(extent); }

  // Returns 3 at once for a negative symbol value or unequal values where equality is required.
  void check_symbols(const AotSymbols& symbols) {
    llvm::Value* bad = b_.getFalse();
    for (int64_t code : symbols.params) bad = b_.CreateOr(bad, b_.CreateICmpSLT(symbol_value(code), b_.getInt64(0)));
    for (const auto& [a, b] : symbols.equal) bad = b_.CreateOr(bad, b_.CreateICmpNE(size_value(a), size_value(b)));
    if (symbols.params.empty()) return;
    auto* refuse = llvm::BasicBlock::Create(ctx_, "bad_symbols", fn_);
    auto* ok = llvm::BasicBlock::Create(ctx_, "symbols_ok", fn_);
    b_.CreateCondBr(bad, refuse, ok);
    b_.SetInsertPoint(refuse);
    b_.CreateRet(b_.getInt32(3));
    b_.SetInsertPoint(ok);
  }

  // A buffer's bytes as an i64 value: its size times its symbol's value. A product past half of
  // int64 is reported as out of memory (no allocation could hold it).
  llvm::Value* bytes_of(const ir::BufferInfo& info) {
    const int64_t per_unit = buffer_bytes(info);
    if (!info.symbol || per_unit == 0) return b_.getInt64(per_unit);
    llvm::Value* n = symbol_value(info.symbol);
    if (!out_of_memory_) out_of_memory_ = llvm::BasicBlock::Create(ctx_, "out_of_memory", fn_);
    auto* ok = llvm::BasicBlock::Create(ctx_, "size_ok", fn_);
    b_.CreateCondBr(b_.CreateICmpSGT(n, b_.getInt64(std::numeric_limits<int64_t>::max() / 2 / per_unit)), out_of_memory_, ok);
    b_.SetInsertPoint(ok);
    return b_.CreateMul(n, b_.getInt64(per_unit));
  }

  // Returns 2 at once unless this CPU has every instruction set the kernels were compiled for
  // (a SIGILL otherwise). Checked once per process: 0 not yet, 1 yes, 2 no, in a private
  // global (a race only repeats the same check).
  void check_cpu(const std::string& name) {
    if (target_.checked_features.empty()) return;
    llvm::Type* i32 = b_.getInt32Ty();
    auto* state = new llvm::GlobalVariable(m_, i32, false, llvm::GlobalValue::PrivateLinkage, b_.getInt32(0),
                                           name + ".cpu_state");
    llvm::LoadInst* known = b_.CreateAlignedLoad(i32, state, llvm::Align(4));
    known->setAtomic(llvm::AtomicOrdering::Monotonic);
    auto* probe = llvm::BasicBlock::Create(ctx_, "cpu.probe", fn_);
    auto* decide = llvm::BasicBlock::Create(ctx_, "cpu.decide", fn_);
    auto* lacking = llvm::BasicBlock::Create(ctx_, "cpu.lacking", fn_);
    auto* run = llvm::BasicBlock::Create(ctx_, "cpu.ok", fn_);
    llvm::BasicBlock* from_entry = b_.GetInsertBlock();
    b_.CreateCondBr(b_.CreateICmpEQ(known, b_.getInt32(0)), probe, decide);
    b_.SetInsertPoint(probe);
    llvm::Value* has_all = cpu_has_features();
    llvm::Value* fresh = b_.CreateSelect(has_all, b_.getInt32(1), b_.getInt32(2));
    llvm::StoreInst* store = b_.CreateAlignedStore(fresh, state, llvm::Align(4));
    store->setAtomic(llvm::AtomicOrdering::Monotonic);
    llvm::BasicBlock* from_probe = b_.GetInsertBlock();
    b_.CreateBr(decide);
    b_.SetInsertPoint(decide);
    llvm::PHINode* verdict = b_.CreatePHI(i32, 2);
    verdict->addIncoming(known, from_entry);
    verdict->addIncoming(fresh, from_probe);
    b_.CreateCondBr(b_.CreateICmpEQ(verdict, b_.getInt32(1)), run, lacking);
    b_.SetInsertPoint(lacking);
    b_.CreateRet(b_.getInt32(2));
    b_.SetInsertPoint(run);
  }

  // cpuid(leaf, subleaf) -> {eax, ebx, ecx, edx}, each leaf asked once (all in one block).
  llvm::Value* cpuid(uint32_t leaf, uint32_t subleaf) {
    llvm::Value*& result = cpuid_results_[{leaf, subleaf}];
    if (result) return result;
    llvm::Type* i32 = b_.getInt32Ty();
    auto* type = llvm::FunctionType::get(llvm::StructType::get(ctx_, {i32, i32, i32, i32}), {i32, i32}, false);
    auto* fn = llvm::InlineAsm::get(type, "cpuid", "={ax},={bx},={cx},={dx},{ax},{cx},~{dirflag},~{fpsr},~{flags}",
                                    /*hasSideEffects=*/true);
    return result = b_.CreateCall(type, fn, {b_.getInt32(leaf), b_.getInt32(subleaf)});
  }

  // i1: every checked feature is reported by cpuid (for its leaf, when the CPU has that leaf),
  // and the OS saves the register state they need (XCR0).
  llvm::Value* cpu_has_features() {
    llvm::Value* max_leaf = b_.CreateExtractValue(cpuid(0, 0), 0);
    llvm::Value* max_extended = b_.CreateExtractValue(cpuid(0x80000000u, 0), 0);
    llvm::Value* ok = b_.getTrue();
    uint32_t xcr0_mask = 0;
    for (const CpuidFeature& f : target_.checked_features) {
      xcr0_mask |= f.xcr0;
      llvm::Value* has_leaf = b_.CreateICmpUGE(f.leaf >= 0x80000000u ? max_extended : max_leaf, b_.getInt32(f.leaf));
      llvm::Value* reg = b_.CreateExtractValue(cpuid(f.leaf, f.subleaf), static_cast<unsigned>(f.reg));
      llvm::Value* bit = b_.CreateICmpNE(b_.CreateAnd(reg, b_.getInt32(1u << f.bit)), b_.getInt32(0));
      ok = b_.CreateAnd(ok, b_.CreateAnd(has_leaf, bit));
    }
    if (xcr0_mask == 0) return ok;
    // xgetbv only where the OS enabled it (OSXSAVE, leaf 1 ECX bit 27): it faults otherwise.
    llvm::Value* osxsave = b_.CreateICmpNE(
        b_.CreateAnd(b_.CreateExtractValue(cpuid(1, 0), 2), b_.getInt32(1u << 27)), b_.getInt32(0));
    auto* read_xcr0 = llvm::BasicBlock::Create(ctx_, "cpu.xgetbv", fn_);
    auto* done = llvm::BasicBlock::Create(ctx_, "cpu.checked", fn_);
    llvm::BasicBlock* before = b_.GetInsertBlock();
    b_.CreateCondBr(osxsave, read_xcr0, done);
    b_.SetInsertPoint(read_xcr0);
    llvm::Type* i32 = b_.getInt32Ty();
    auto* type = llvm::FunctionType::get(llvm::StructType::get(ctx_, {i32, i32}), {i32}, false);
    auto* xgetbv = llvm::InlineAsm::get(type, "xgetbv", "={ax},={dx},{cx},~{dirflag},~{fpsr},~{flags}", true);
    llvm::Value* xcr0 = b_.CreateExtractValue(b_.CreateCall(type, xgetbv, {b_.getInt32(0)}), 0);
    llvm::Value* saved = b_.CreateICmpEQ(b_.CreateAnd(xcr0, b_.getInt32(xcr0_mask)), b_.getInt32(xcr0_mask));
    llvm::Value* with_os = b_.CreateAnd(ok, saved);
    llvm::BasicBlock* after = b_.GetInsertBlock();
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    llvm::PHINode* result = b_.CreatePHI(b_.getInt1Ty(), 2);
    result->addIncoming(b_.getFalse(), before);
    result->addIncoming(with_os, after);
    return result;
  }

  llvm::Value* constant(const ir::BufferInfo& info, size_t b) {
    auto data = llvm::ArrayRef<char>(static_cast<const char*>(info.data.data()), info.data.nbytes());
    auto* init = llvm::ConstantDataArray::get(ctx_, data);
    auto* g = new llvm::GlobalVariable(m_, init->getType(), true, llvm::GlobalValue::PrivateLinkage, init,
                                       fmt::format("constant.{}", b));
    g->setAlignment(llvm::Align(64));
    return g;
  }

  // aligned_alloc(64, bytes) into a NULL-initialised slot, branching to the out-of-memory exit on NULL.
  llvm::Value* allocate(llvm::Value* bytes) {
    llvm::Type* ptr = b_.getPtrTy();
    llvm::IRBuilder<> entry(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
    llvm::AllocaInst* slot = entry.CreateAlloca(ptr);
    entry.CreateStore(llvm::ConstantPointerNull::get(b_.getPtrTy()), slot);
    slots_.push_back(slot);
    // aligned_alloc (C11): the kernels' scratch wants 64-byte alignment; the size must be a multiple.
    auto alloc_fn = m_.getOrInsertFunction("aligned_alloc", ptr, b_.getInt64Ty(), b_.getInt64Ty());
    // At least 64 (aligned_alloc(64, 0) may return NULL), rounded up to a multiple of 64.
    llvm::Value* rounded = b_.CreateAnd(b_.CreateAdd(bytes, b_.getInt64(63)), b_.getInt64(~int64_t{63}));
    llvm::Value* size = b_.CreateSelect(b_.CreateICmpULT(rounded, b_.getInt64(64)), b_.getInt64(64), rounded);
    llvm::Value* p = b_.CreateCall(alloc_fn, {b_.getInt64(64), size});
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
  std::map<std::pair<uint32_t, uint32_t>, llvm::Value*> cpuid_results_;
  std::map<int64_t, llvm::Value*> symbol_values_;  // symbol code -> its parameter
};

}  // namespace

std::string compile_graph_object(const ir::LoweredProgram& program, const std::vector<int>& inputs,
                                 const AotSymbols& symbols, const std::string& name, const CompileOptions& options) {
  const Machine& machine = machine_for(options);
  llvm::TargetMachine& tm = *machine.tm;
  llvm::LLVMContext ctx;
  auto m = new_module(name, ctx, tm);
  GraphEntryEmitter(program, *m, machine.info).emit(inputs, symbols, name);
  verify(*m);
  optimize(*m, tm);
  llvm::SmallVector<char, 0> object = emit_machine_code(*m, tm, llvm::CodeGenFileType::ObjectFile);
  return std::string(object.data(), object.size());
}

}  // namespace tcc::codegen
