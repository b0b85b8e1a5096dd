#include "codegen/emit_elementwise.h"

#include <cmath>

namespace tcc::codegen {

namespace {

using ir::ElemOp;

// A call of the C library's float or double function `name` ("tanh": tanhf for f32).
llvm::Value* libm_call(llvm::IRBuilder<>& b, const char* name, llvm::Value* x) {
  llvm::Type* t = x->getType();
  const std::string symbol = std::string(name) + (t->isFloatTy() ? "f" : "");
  llvm::Module& m = *b.GetInsertBlock()->getModule();
  llvm::FunctionCallee f = m.getOrInsertFunction(symbol, llvm::FunctionType::get(t, {t}, false));
  if (auto* fn = llvm::dyn_cast<llvm::Function>(f.getCallee())) {
    fn->setDoesNotThrow();
    fn->setWillReturn();
    fn->setOnlyAccessesInaccessibleMemory();  // errno, at most
  }
  return b.CreateCall(f, {x});
}

llvm::Value* constant(llvm::Value* like, double v) { return llvm::ConstantFP::get(like->getType(), v); }

llvm::Value* emit_float(llvm::IRBuilder<>& b, ElemOp op, llvm::Value* x, llvm::Value* y) {
  switch (op) {
    case ElemOp::add: return b.CreateFAdd(x, y);
    case ElemOp::sub: return b.CreateFSub(x, y);
    case ElemOp::mul: return b.CreateFMul(x, y);
    case ElemOp::div: return b.CreateFDiv(x, y);
    case ElemOp::maximum: return b.CreateBinaryIntrinsic(llvm::Intrinsic::maximum, x, y);  // NaN in, NaN out
    case ElemOp::minimum: return b.CreateBinaryIntrinsic(llvm::Intrinsic::minimum, x, y);
    case ElemOp::pow: return b.CreateBinaryIntrinsic(llvm::Intrinsic::pow, x, y);
    case ElemOp::neg: return b.CreateFNeg(x);
    case ElemOp::abs: return b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
    case ElemOp::square: return b.CreateFMul(x, x);
    case ElemOp::sqrt: return b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x);
    case ElemOp::rsqrt: return b.CreateFDiv(constant(x, 1.0), b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x));
    case ElemOp::exp: return b.CreateUnaryIntrinsic(llvm::Intrinsic::exp, x);
    case ElemOp::log: return b.CreateUnaryIntrinsic(llvm::Intrinsic::log, x);
    case ElemOp::tanh: return libm_call(b, "tanh", x);
    case ElemOp::sigmoid: {  // 1 / (1 + exp(-x)): 0 and 1 at the ends, NaN for NaN
      llvm::Value* e = b.CreateUnaryIntrinsic(llvm::Intrinsic::exp, b.CreateFNeg(x));
      return b.CreateFDiv(constant(x, 1.0), b.CreateFAdd(constant(x, 1.0), e));
    }
    case ElemOp::relu:  // x < 0 ? 0 : x keeps a NaN
      return b.CreateSelect(b.CreateFCmpOLT(x, constant(x, 0.0)), constant(x, 0.0), x);
    case ElemOp::gelu: {  // x/2 (1 + erf(x / sqrt 2))
      llvm::Value* erf = libm_call(b, "erf", b.CreateFMul(x, constant(x, 0.70710678118654752440)));
      return b.CreateFMul(b.CreateFMul(constant(x, 0.5), x), b.CreateFAdd(constant(x, 1.0), erf));
    }
    case ElemOp::gelu_tanh: {  // x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      llvm::Value* cube = b.CreateFMul(b.CreateFMul(x, x), x);
      llvm::Value* inner = b.CreateFMul(constant(x, 0.79788456080286535588),
                                        b.CreateFAdd(x, b.CreateFMul(constant(x, 0.044715), cube)));
      return b.CreateFMul(b.CreateFMul(constant(x, 0.5), x), b.CreateFAdd(constant(x, 1.0), libm_call(b, "tanh", inner)));
    }
  }
  throw InternalError("codegen: no float emitter for " + std::string(ir::elem_op_name(op)));
}

// Two's complement, wrapping as NumPy's integers do.
llvm::Value* emit_integer(llvm::IRBuilder<>& b, ElemOp op, llvm::Value* x, llvm::Value* y) {
  switch (op) {
    case ElemOp::add: return b.CreateAdd(x, y);
    case ElemOp::sub: return b.CreateSub(x, y);
    case ElemOp::mul: return b.CreateMul(x, y);
    case ElemOp::maximum: return b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, x, y);
    case ElemOp::minimum: return b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, x, y);
    case ElemOp::neg: return b.CreateNeg(x);
    case ElemOp::abs: return b.CreateBinaryIntrinsic(llvm::Intrinsic::abs, x, b.getFalse());  // abs(MIN) = MIN
    case ElemOp::square: return b.CreateMul(x, x);
    case ElemOp::relu: return b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, x, llvm::ConstantInt::get(x->getType(), 0));
    default: break;
  }
  throw InternalError("codegen: " + std::string(ir::elem_op_name(op)) + " of integers (the graph refuses it)");
}

}  // namespace

llvm::Value* emit_elementwise(llvm::IRBuilder<>& b, ElemOp op, DType type, llvm::Value* x, llvm::Value* y) {
  return is_float(type) ? emit_float(b, op, x, y) : emit_integer(b, op, x, y);
}

const std::vector<LibmSymbol>& libm_symbols() {
  static const std::vector<LibmSymbol> symbols{
      {"tanhf", reinterpret_cast<void*>(static_cast<float (*)(float)>(&::tanhf))},
      {"tanh", reinterpret_cast<void*>(static_cast<double (*)(double)>(&::tanh))},
      {"erff", reinterpret_cast<void*>(static_cast<float (*)(float)>(&::erff))},
      {"erf", reinterpret_cast<void*>(static_cast<double (*)(double)>(&::erf))},
      // What LLVM lowers its intrinsics to where the target has no instruction.
      {"expf", reinterpret_cast<void*>(static_cast<float (*)(float)>(&::expf))},
      {"exp", reinterpret_cast<void*>(static_cast<double (*)(double)>(&::exp))},
      {"logf", reinterpret_cast<void*>(static_cast<float (*)(float)>(&::logf))},
      {"log", reinterpret_cast<void*>(static_cast<double (*)(double)>(&::log))},
      {"powf", reinterpret_cast<void*>(static_cast<float (*)(float, float)>(&::powf))},
      {"pow", reinterpret_cast<void*>(static_cast<double (*)(double, double)>(&::pow))},
  };
  return symbols;
}

}  // namespace tcc::codegen
