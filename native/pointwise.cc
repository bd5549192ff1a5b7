// Elementwise operations: arithmetic, math functions, comparisons, logic, and
// the in-place updates that optimizers and algorithms use. Binary operations
// broadcast as in PyTorch, and either operand may be a JavaScript number.
#include "macros.h"

namespace perennial {
namespace {

using Unary = at::Tensor (*)(const at::Tensor&);
using Binary = at::Tensor (*)(const at::Tensor&, const at::Tensor&);

struct UnaryEntry { const char* name; Unary fn; };
struct BinaryEntry { const char* name; Binary fn; };

const UnaryEntry kUnary[] = {
    {"neg", [](const at::Tensor& t) { return at::neg(t); }},
    {"abs", [](const at::Tensor& t) { return at::abs(t); }},
    {"sqrt", [](const at::Tensor& t) { return at::sqrt(t); }},
    {"rsqrt", [](const at::Tensor& t) { return at::rsqrt(t); }},
    {"square", [](const at::Tensor& t) { return at::square(t); }},
    {"exp", [](const at::Tensor& t) { return at::exp(t); }},
    {"log", [](const at::Tensor& t) { return at::log(t); }},
    {"log1p", [](const at::Tensor& t) { return at::log1p(t); }},
    {"expm1", [](const at::Tensor& t) { return at::expm1(t); }},
    {"sign", [](const at::Tensor& t) { return at::sign(t); }},
    {"sin", [](const at::Tensor& t) { return at::sin(t); }},
    {"cos", [](const at::Tensor& t) { return at::cos(t); }},
    {"floor", [](const at::Tensor& t) { return at::floor(t); }},
    {"ceil", [](const at::Tensor& t) { return at::ceil(t); }},
    {"round", [](const at::Tensor& t) { return at::round(t); }},
    {"trunc", [](const at::Tensor& t) { return at::trunc(t); }},
    {"reciprocal", [](const at::Tensor& t) { return at::reciprocal(t); }},
    {"logicalNot", [](const at::Tensor& t) { return at::logical_not(t); }},
    {"isnan", [](const at::Tensor& t) { return at::isnan(t); }},
    {"isinf", [](const at::Tensor& t) { return at::isinf(t); }},
    {"isfinite", [](const at::Tensor& t) { return at::isfinite(t); }},
};

const BinaryEntry kBinary[] = {
    {"mul", [](const at::Tensor& a, const at::Tensor& b) { return at::mul(a, b); }},
    {"pow", [](const at::Tensor& a, const at::Tensor& b) { return at::pow(a, b); }},
    {"remainder", [](const at::Tensor& a, const at::Tensor& b) { return at::remainder(a, b); }},
    {"atan2", [](const at::Tensor& a, const at::Tensor& b) { return at::atan2(a, b); }},
    {"minimum", [](const at::Tensor& a, const at::Tensor& b) { return at::minimum(a, b); }},
    {"maximum", [](const at::Tensor& a, const at::Tensor& b) { return at::maximum(a, b); }},
    {"eq", [](const at::Tensor& a, const at::Tensor& b) { return at::eq(a, b); }},
    {"ne", [](const at::Tensor& a, const at::Tensor& b) { return at::ne(a, b); }},
    {"lt", [](const at::Tensor& a, const at::Tensor& b) { return at::lt(a, b); }},
    {"le", [](const at::Tensor& a, const at::Tensor& b) { return at::le(a, b); }},
    {"gt", [](const at::Tensor& a, const at::Tensor& b) { return at::gt(a, b); }},
    {"ge", [](const at::Tensor& a, const at::Tensor& b) { return at::ge(a, b); }},
    {"logicalAnd", [](const at::Tensor& a, const at::Tensor& b) { return at::logical_and(a, b); }},
    {"logicalOr", [](const at::Tensor& a, const at::Tensor& b) { return at::logical_or(a, b); }},
    {"logicalXor", [](const at::Tensor& a, const at::Tensor& b) { return at::logical_xor(a, b); }},
};

at::Tensor Apply(const UnaryEntry* e, const Napi::CallbackInfo& info) { return e->fn(TensorArg(info, 0)); }
at::Tensor Apply(const BinaryEntry* e, const Napi::CallbackInfo& info) { return e->fn(OperandArg(info, 0), OperandArg(info, 1)); }

// Exports every entry of a table as a guarded function named after the entry.
template <typename Entry, size_t N>
void DefineTable(Napi::Env env, Napi::Object exports, const Entry (&table)[N]) {
  for (const Entry& entry : table) {
    exports.Set(entry.name, Napi::Function::New(
                                env,
                                [](const Napi::CallbackInfo& info) -> Napi::Value {
                                  auto* e = static_cast<const Entry*>(info.Data());
                                  return Guarded(info, e->name, [&] { return WrapTensor(info.Env(), Apply(e, info)); });
                                },
                                entry.name, const_cast<Entry*>(&entry)));
  }
}

}  // namespace

void RegisterPointwise(Napi::Env env, Napi::Object exports) {
  DefineTable(env, exports, kUnary);
  DefineTable(env, exports, kBinary);

  // add(a, b, alpha) = a + alpha * b, and sub likewise.
  DEF("add") { return WrapTensor(info.Env(), at::add(OperandArg(info, 0), OperandArg(info, 1), ScalarArg(info, 2))); });
  DEF("sub") { return WrapTensor(info.Env(), at::sub(OperandArg(info, 0), OperandArg(info, 1), ScalarArg(info, 2))); });
  // div(a, b, roundingMode?) with roundingMode 'trunc' or 'floor'.
  DEF("div") {
    c10::optional<c10::string_view> mode;
    std::string modeText;
    if (!IsMissing(info, 2)) { modeText = StringArg(info, 2); mode = modeText; }
    return WrapTensor(info.Env(), at::div(OperandArg(info, 0), OperandArg(info, 1), mode));
  });
  DEF("clamp") {
    return WrapTensor(info.Env(), at::clamp(TensorArg(info, 0), OptionalScalarArg(info, 1), OptionalScalarArg(info, 2)));
  });
  DEF("where") { return WrapTensor(info.Env(), at::where(TensorArg(info, 0), OperandArg(info, 1), OperandArg(info, 2))); });
  DEF("equal") { return Napi::Boolean::New(info.Env(), at::equal(TensorArg(info, 0), TensorArg(info, 1))); });
  DEF("allclose") {
    return Napi::Boolean::New(info.Env(), at::allclose(TensorArg(info, 0), TensorArg(info, 1), DoubleArg(info, 2), DoubleArg(info, 3), BoolArg(info, 4)));
  });

  // In-place updates. They return nothing: the TypeScript method returns `this`.
  DEF("add_") { TensorArg(info, 0).add_(OperandArg(info, 1), ScalarArg(info, 2)); return info.Env().Undefined(); });
  DEF("sub_") { TensorArg(info, 0).sub_(OperandArg(info, 1), ScalarArg(info, 2)); return info.Env().Undefined(); });
  DEF("mul_") { TensorArg(info, 0).mul_(OperandArg(info, 1)); return info.Env().Undefined(); });
  DEF("div_") { TensorArg(info, 0).div_(OperandArg(info, 1)); return info.Env().Undefined(); });
  DEF("pow_") { TensorArg(info, 0).pow_(OperandArg(info, 1)); return info.Env().Undefined(); });
  DEF("sqrt_") { TensorArg(info, 0).sqrt_(); return info.Env().Undefined(); });
  DEF("abs_") { TensorArg(info, 0).abs_(); return info.Env().Undefined(); });
  DEF("neg_") { TensorArg(info, 0).neg_(); return info.Env().Undefined(); });
  DEF("maximum_") {
    const at::Tensor& t = TensorArg(info, 0);
    at::maximum_out(const_cast<at::Tensor&>(t), t, OperandArg(info, 1));
    return info.Env().Undefined();
  });
  DEF("addcmul_") { TensorArg(info, 0).addcmul_(TensorArg(info, 1), TensorArg(info, 2), ScalarArg(info, 3)); return info.Env().Undefined(); });
  DEF("addcdiv_") { TensorArg(info, 0).addcdiv_(TensorArg(info, 1), TensorArg(info, 2), ScalarArg(info, 3)); return info.Env().Undefined(); });
  DEF("lerp_") { TensorArg(info, 0).lerp_(TensorArg(info, 1), ScalarArg(info, 2)); return info.Env().Undefined(); });
  DEF("clamp_") { TensorArg(info, 0).clamp_(OptionalScalarArg(info, 1), OptionalScalarArg(info, 2)); return info.Env().Undefined(); });
  DEF("copy_") { TensorArg(info, 0).copy_(TensorArg(info, 1)); return info.Env().Undefined(); });
  DEF("zero_") { TensorArg(info, 0).zero_(); return info.Env().Undefined(); });
  DEF("fill_") { TensorArg(info, 0).fill_(ScalarArg(info, 1)); return info.Env().Undefined(); });
  DEF("maskedFill_") { TensorArg(info, 0).masked_fill_(TensorArg(info, 1), ScalarArg(info, 2)); return info.Env().Undefined(); });
}

}  // namespace perennial
