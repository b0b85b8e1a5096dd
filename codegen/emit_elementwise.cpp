#include "codegen/emit_elementwise.h"

#include <cmath>
#include <iterator>

namespace tcc::codegen {

namespace {

using ir::ElemOp;

// A call of the C library's float or double function `name` ("tanh": tanhf for f32), one per
// lane of a vector.
llvm::Value* libm_call(llvm::IRBuilder<>& b, const char* name, llvm::Value* x) {
  if (auto* vec = llvm::dyn_cast<llvm::FixedVectorType>(x->getType())) {
    llvm::Value* result = llvm::PoisonValue::get(vec);
    for (unsigned l = 0; l < vec->getNumElements(); ++l)
      result = b.CreateInsertElement(result, libm_call(b, name, b.CreateExtractElement(x, l)), l);
    return result;
  }
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

// sum of r^(k - first) / k! for k = first .. last, by Horner's rule from the last term down:
// e^r's Taylor polynomial (first = 0), or (e^r - 1) / r's (first = 1).
llvm::Value* exp_taylor(llvm::IRBuilder<>& b, llvm::Value* r, int first, int last) {
  double factorial = 1;
  for (int k = 2; k <= last; ++k) factorial *= k;
  llvm::Value* p = constant(r, 1.0 / factorial);
  for (int k = last - 1; k >= first; --k) {
    factorial /= k + 1;  // now k!
    p = b.CreateFAdd(b.CreateFMul(p, r), constant(r, 1.0 / factorial));
  }
  return p;
}

// e^x in straight-line IR the loop vectoriser widens (LLVM lowers llvm.exp to a libm call per
// lane). x = n ln2 + r with n = rint(x / ln2) and |r| <= ln2/2 (ln2 in two parts, so r is
// exact), e^r by its Taylor polynomial to r^7 (f32) or r^13 (f64), whose remainder is below half
// an ulp, times 2^n built in two halves from exponent bits, so that results down to the
// subnormals and up to the largest finite value are right; past those, 0 and inf. NaN stays NaN.
llvm::Value* fast_exp(llvm::IRBuilder<>& b, llvm::Value* x) {
  // The kernels' reassociation would undo the two-part ln2 (n ln2_hi + n ln2_lo -> n ln2).
  llvm::IRBuilderBase::FastMathFlagGuard keep_flags(b);
  llvm::FastMathFlags contract_only;
  contract_only.setAllowContract(true);
  b.setFastMathFlags(contract_only);
  const bool f32 = x->getType()->getScalarType()->isFloatTy();
  const int mantissa = f32 ? 23 : 52, bias = f32 ? 127 : 1023;
  llvm::Type* int_type = f32 ? b.getInt32Ty() : b.getInt64Ty();
  if (auto* vec = llvm::dyn_cast<llvm::FixedVectorType>(x->getType())) int_type = llvm::FixedVectorType::get(int_type, vec->getNumElements());
  // Beyond these e^x is inf or 0 in the type; inside, n stays within two exponents' range.
  const double high = f32 ? 88.72283935546875 : 709.782712893384, low = f32 ? -103.972084045410 : -745.1332191019412;
  const double ln2_hi = f32 ? 0.693145751953125 : 0.6931471803691238, ln2_lo = f32 ? 1.428606765330187e-06 : 1.9082149292705877e-10;
  // Below `low` (e^x is 0: -inf, a masked score) the lane computes e^0 and is set to 0 after:
  // clamped to `low`, its product would be subnormal, which costs a microcode assist per vector.
  llvm::Value* below = b.CreateFCmpOLT(x, constant(x, low));
  llvm::Value* clamped = b.CreateSelect(
      below, constant(x, 0.0),
      b.CreateBinaryIntrinsic(llvm::Intrinsic::minnum, b.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, x, constant(x, low)), constant(x, high)));
  llvm::Value* n = b.CreateUnaryIntrinsic(llvm::Intrinsic::rint, b.CreateFMul(clamped, constant(x, 1.4426950408889634)));
  llvm::Value* r = b.CreateFSub(b.CreateFSub(clamped, b.CreateFMul(n, constant(x, ln2_hi))), b.CreateFMul(n, constant(x, ln2_lo)));
  llvm::Value* p = exp_taylor(b, r, 0, f32 ? 7 : 13);
  // 2^n = 2^h * 2^(n - h), h = n / 2: each factor a normal number.
  llvm::Value* ni = b.CreateFPToSI(n, int_type);
  llvm::Value* half = b.CreateAShr(ni, 1);
  auto power_of_two = [&](llvm::Value* e) {
    return b.CreateBitCast(b.CreateShl(b.CreateAdd(e, llvm::ConstantInt::get(int_type, bias)), mantissa), x->getType());
  };
  llvm::Value* result = b.CreateFMul(b.CreateFMul(p, power_of_two(half)), power_of_two(b.CreateSub(ni, half)));
  result = b.CreateSelect(b.CreateFCmpOGT(x, constant(x, high)), constant(x, INFINITY), result);
  result = b.CreateSelect(below, constant(x, 0.0), result);
  return b.CreateSelect(b.CreateFCmpUNO(x, x), x, result);
}

// tanh x in straight-line IR the loop vectoriser widens (a libm call per lane otherwise):
// sign(x) t with t = -m / (2 + m), m = e^(-2|x|) - 1. Where |x| <= 0.35, m is the Taylor
// polynomial of expm1 (to z^10 for f32, z^17 for f64, remainder below a hundredth of an ulp),
// which keeps tanh's relative accuracy near 0; beyond, m = e^(-2|x|) - 1 from fast_exp loses at
// most a bit (e^-0.7 is about 1/2). inf gives 1, NaN stays NaN.
llvm::Value* fast_tanh(llvm::IRBuilder<>& b, llvm::Value* x) {
  const bool f32 = x->getType()->getScalarType()->isFloatTy();
  llvm::Value* z = b.CreateFMul(constant(x, -2.0), b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x));
  llvm::Value* near_zero = b.CreateFMul(exp_taylor(b, z, 1, f32 ? 10 : 17), z);
  llvm::Value* beyond = b.CreateFSub(fast_exp(b, z), constant(x, 1.0));
  llvm::Value* m = b.CreateSelect(b.CreateFCmpOGE(z, constant(x, -0.7)), near_zero, beyond);
  llvm::Value* t = b.CreateFDiv(b.CreateFNeg(m), b.CreateFAdd(constant(x, 2.0), m));
  return b.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, t, x);
}

// erf of f32 values in straight-line IR, computed in f64: erf(x) = x g(x²) for |x| <= 4, with
// g(s) = erf(√s)/√s as its Chebyshev interpolant of degree 18 on s in [0, 16] (numpy's
// chebinterpolate of math.erf; 4e-10 relative error, so within 1 ulp once rounded to f32, down
// to the subnormals) summed by Clenshaw's recurrence; ±1 beyond 4 (erf(4) rounds to 1 in
// f32); NaN stays NaN. f64's erf stays a libm call: it needs a far longer series.
llvm::Value* fast_erf_f32(llvm::IRBuilder<>& b, llvm::Value* x) {
  static constexpr double coefficients[] = {
      0.48591295690286307,     -0.34540785500494975,    0.16182910121364599,    -0.076482756105508851,
      0.03466993680050745,     -0.014811864147814716,   0.0059229379562320402,  -0.0022118406588100999,
      0.00077141542784019352,  -0.00025159658780946498, 7.6886582210733992e-05, -2.2065495938417001e-05,
      5.961274040189897e-06,   -1.5197750673723893e-06, 3.6649302263167424e-07, -8.378986489438788e-08,
      1.8200716863472471e-08,  -3.76009815096866e-09,   7.1744836971950131e-10};
  llvm::Type* wide = b.getDoubleTy();
  if (auto* vec = llvm::dyn_cast<llvm::FixedVectorType>(x->getType())) wide = llvm::FixedVectorType::get(wide, vec->getNumElements());
  llvm::Value* a = b.CreateBinaryIntrinsic(llvm::Intrinsic::minnum, b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, b.CreateFPExt(x, wide)),
                                           llvm::ConstantFP::get(wide, 4.0));
  llvm::Value* t = b.CreateFSub(b.CreateFMul(b.CreateFMul(a, a), llvm::ConstantFP::get(wide, 1.0 / 8)), llvm::ConstantFP::get(wide, 1.0));
  llvm::Value* two_t = b.CreateFAdd(t, t);
  llvm::Value* b1 = llvm::ConstantFP::get(wide, 0.0);
  llvm::Value* b2 = b1;
  for (size_t k = std::size(coefficients) - 1; k >= 1; --k) {
    llvm::Value* next = b.CreateFSub(b.CreateFAdd(llvm::ConstantFP::get(wide, coefficients[k]), b.CreateFMul(two_t, b1)), b2);
    b2 = b1;
    b1 = next;
  }
  llvm::Value* g = b.CreateFSub(b.CreateFAdd(llvm::ConstantFP::get(wide, coefficients[0]), b.CreateFMul(t, b1)), b2);
  llvm::Value* erf = b.CreateFPTrunc(b.CreateFMul(a, g), x->getType());
  erf = b.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, erf, x);
  return b.CreateSelect(b.CreateFCmpUNO(x, x), x, erf);
}

llvm::Value* emit_float(llvm::IRBuilder<>& b, ElemOp op, llvm::Value* x, llvm::Value* y) {
  switch (op) {
    case ElemOp::add: return b.CreateFAdd(x, y);
    case ElemOp::sub: return b.CreateFSub(x, y);
    case ElemOp::mul: return b.CreateFMul(x, y);
    case ElemOp::div: return b.CreateFDiv(x, y);
    case ElemOp::maximum: return b.CreateBinaryIntrinsic(llvm::Intrinsic::maximum, x, y);  // NaN in, NaN out
    case ElemOp::minimum: return b.CreateBinaryIntrinsic(llvm::Intrinsic::minimum, x, y);
    case ElemOp::pow: return b.CreateBinaryIntrinsic(llvm::Intrinsic::pow, x, y);
    case ElemOp::logaddexp: {  // max + log1p(exp(-|x - y|)); equal values (infinities too): x + log 2
      llvm::Value* high = b.CreateBinaryIntrinsic(llvm::Intrinsic::maximum, x, y);
      llvm::Value* tail = libm_call(b, "log1p", fast_exp(b, b.CreateFNeg(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, b.CreateFSub(x, y)))));
      return b.CreateSelect(b.CreateFCmpOEQ(x, y), b.CreateFAdd(x, constant(x, 0.69314718055994530942)), b.CreateFAdd(high, tail));
    }
    case ElemOp::neg: return b.CreateFNeg(x);
    case ElemOp::abs: return b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
    case ElemOp::square: return b.CreateFMul(x, x);
    case ElemOp::sqrt: return b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x);
    case ElemOp::rsqrt: return b.CreateFDiv(constant(x, 1.0), b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x));
    case ElemOp::exp: return fast_exp(b, x);
    case ElemOp::log: return b.CreateUnaryIntrinsic(llvm::Intrinsic::log, x);
    case ElemOp::tanh: return fast_tanh(b, x);
    case ElemOp::sigmoid: {  // 1 / (1 + exp(-x)): 0 and 1 at the ends, NaN for NaN
      llvm::Value* e = fast_exp(b, b.CreateFNeg(x));
      return b.CreateFDiv(constant(x, 1.0), b.CreateFAdd(constant(x, 1.0), e));
    }
    case ElemOp::relu:  // x < 0 ? 0 : x keeps a NaN
      return b.CreateSelect(b.CreateFCmpOLT(x, constant(x, 0.0)), constant(x, 0.0), x);
    case ElemOp::gelu: {  // x/2 (1 + erf(x / sqrt 2))
      llvm::Value* scaled = b.CreateFMul(x, constant(x, 0.70710678118654752440));
      llvm::Value* erf = x->getType()->getScalarType()->isFloatTy() ? fast_erf_f32(b, scaled) : libm_call(b, "erf", scaled);
      return b.CreateFMul(b.CreateFMul(constant(x, 0.5), x), b.CreateFAdd(constant(x, 1.0), erf));
    }
    case ElemOp::gelu_tanh: {  // x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      llvm::Value* cube = b.CreateFMul(b.CreateFMul(x, x), x);
      llvm::Value* inner = b.CreateFMul(constant(x, 0.79788456080286535588),
                                        b.CreateFAdd(x, b.CreateFMul(constant(x, 0.044715), cube)));
      return b.CreateFMul(b.CreateFMul(constant(x, 0.5), x), b.CreateFAdd(constant(x, 1.0), fast_tanh(b, inner)));
    }
    case ElemOp::cast: return x;  // to its own dtype (emit_convert converts between dtypes)
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
    case ElemOp::cast: return x;
    default: break;
  }
  throw InternalError("codegen: " + std::string(ir::elem_op_name(op)) + " of integers (the graph refuses it)");
}

}  // namespace

llvm::Value* emit_convert(llvm::IRBuilder<>& b, llvm::Value* x, DType from, DType to, llvm::Type* to_type) {
  if (from == to) return x;
  if (is_float(from) && is_float(to)) return b.CreateFPCast(x, to_type);
  if (!is_float(from) && !is_float(to)) return b.CreateIntCast(x, to_type, /*isSigned=*/true);
  if (!is_float(from)) return b.CreateSIToFP(x, to_type);
  // fptosi is poison out of range; the saturating form is defined everywhere.
  return b.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {to_type, x->getType()}, {x});
}

llvm::Value* emit_elementwise(llvm::IRBuilder<>& b, ElemOp op, DType type, llvm::Value* x, llvm::Value* y) {
  // NumPy's meaning exactly: the kernels' reassociation (for sums) would fold (x - y) + y to x,
  // and no-signed-zeros x + 0 to x, where inf, NaN or -0 give another answer.
  llvm::IRBuilderBase::FastMathFlagGuard keep_flags(b);
  llvm::FastMathFlags contract_only;
  contract_only.setAllowContract(true);
  b.setFastMathFlags(contract_only);
  return is_float(type) ? emit_float(b, op, x, y) : emit_integer(b, op, x, y);
}

}  // namespace tcc::codegen
