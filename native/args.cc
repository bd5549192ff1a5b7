#include "args.h"

#include "errors.h"

#include <cmath>

namespace perennial {
namespace {

std::string ArgName(size_t i) { return "argument " + std::to_string(i + 1); }

// Doubles at or beyond 2^63 do not convert to int64_t (the conversion is
// undefined behaviour and in practice yields INT64_MIN).
constexpr double kInt64Bound = 9223372036854775808.0;

bool IsInteger(double v) { return std::isfinite(v) && std::trunc(v) == v; }
bool FitsInt64(double v) { return v >= -kInt64Bound && v < kInt64Bound; }

// Larger element counts cannot be allocated on any machine (2^60 one-byte
// elements is an exbibyte), and keeping below it means elements times element
// size cannot overflow int64 for any dtype.
constexpr double kMaxElements = 1152921504606846976.0;  // 2^60

ArgumentError TypeErr(const Napi::CallbackInfo&, size_t i, const char* expected) {
  return ArgumentError(ArgName(i) + " must be " + expected);
}

at::Scalar NumberToScalar(double v) {
  if (std::isfinite(v) && std::trunc(v) == v && std::fabs(v) < 9007199254740992.0) return at::Scalar(static_cast<int64_t>(v));
  return at::Scalar(v);
}

}  // namespace

const at::Tensor& TensorArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length()) throw TypeErr(info, i, "a Tensor");
  if (const at::Tensor* live = LiveTensor(info[i])) return *live;
  return UnwrapTensor(info[i], ArgName(i).c_str());
}

c10::optional<at::Tensor> OptionalTensorArg(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return c10::nullopt;
  return TensorArg(info, i);
}

std::vector<at::Tensor> TensorListArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw TypeErr(info, i, "an array of Tensors");
  auto array = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    out.push_back(UnwrapTensor(array.Get(k), (ArgName(i) + "[" + std::to_string(k) + "]").c_str()));
  }
  return out;
}

c10::List<c10::optional<at::Tensor>> OptionalTensorListArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw TypeErr(info, i, "an array of Tensors or nulls");
  auto array = info[i].As<Napi::Array>();
  c10::List<c10::optional<at::Tensor>> out;
  out.reserve(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value v = array.Get(k);
    if (v.IsNull() || v.IsUndefined()) out.push_back(c10::nullopt);
    else out.push_back(UnwrapTensor(v, (ArgName(i) + "[" + std::to_string(k) + "]").c_str()));
  }
  return out;
}

c10::optional<at::Scalar> BoxedScalarArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) return c10::nullopt;
  auto box = info[i].As<Napi::Array>();
  Napi::Value v = box.Get(0u);
  if (box.Length() != 1 || !(v.IsNumber() || v.IsBoolean())) throw TypeErr(info, i, "a Tensor or a number");
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  return NumberToScalar(v.As<Napi::Number>().DoubleValue());
}

at::Tensor OperandArg(const Napi::CallbackInfo& info, size_t i) {
  // A tensor is the common operand, so it is looked for first.
  if (i < info.Length()) {
    if (const at::Tensor* live = LiveTensor(info[i])) return *live;
  }
  if (auto scalar = BoxedScalarArg(info, i)) {
    at::Tensor t = c10::scalar_to_tensor(*scalar);
    t.unsafeGetTensorImpl()->set_wrapped_number(true);
    return t;
  }
  return TensorArg(info, i);
}

at::Scalar ScalarArg(const Napi::CallbackInfo& info, size_t i) {
  if (i < info.Length()) {
    double v;
    if (napi_get_value_double(info.Env(), info[i], &v) == napi_ok) return NumberToScalar(v);
    if (info[i].IsBoolean()) return at::Scalar(info[i].As<Napi::Boolean>().Value());
  }
  throw TypeErr(info, i, "a number");
}

c10::optional<at::Scalar> OptionalScalarArg(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return c10::nullopt;
  return ScalarArg(info, i);
}

int64_t IntArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) throw TypeErr(info, i, "an integer");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!IsInteger(v)) throw TypeErr(info, i, "an integer");
  if (!FitsInt64(v)) throw RangeArgumentError(ArgName(i) + " is " + FormatNumber(v) + ", outside the int64 range");
  return static_cast<int64_t>(v);
}

c10::optional<int64_t> OptionalIntArg(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return c10::nullopt;
  return IntArg(info, i);
}

double DoubleArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) throw TypeErr(info, i, "a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

c10::optional<double> OptionalDoubleArg(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return c10::nullopt;
  return DoubleArg(info, i);
}

bool BoolArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsBoolean()) throw TypeErr(info, i, "a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsString()) throw TypeErr(info, i, "a string");
  return info[i].As<Napi::String>().Utf8Value();
}

std::vector<int64_t> IntListArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw TypeErr(info, i, "an array of integers");
  auto array = info[i].As<Napi::Array>();
  std::vector<int64_t> out(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value v = array.Get(k);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    if (!IsInteger(d)) throw TypeErr(info, i, "an array of integers");
    if (!FitsInt64(d)) {
      throw RangeArgumentError(ArgName(i) + "[" + std::to_string(k) + "] is " + FormatNumber(d) + ", outside the int64 range");
    }
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}

std::vector<int64_t> ShapeArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw ArgumentError("the shape must be an array of integers >= 0");
  auto array = info[i].As<Napi::Array>();
  std::vector<double> sizes(array.Length());
  std::string text;
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value v = array.Get(k);
    if (!v.IsNumber()) throw ArgumentError("shape[" + std::to_string(k) + "] is not a number; sizes must be integers >= 0");
    sizes[k] = v.As<Napi::Number>().DoubleValue();
    text += (k == 0 ? "" : ", ") + FormatNumber(sizes[k]);
  }
  text = "shape [" + text + "]";
  double elements = 1;
  bool empty = false;
  for (size_t k = 0; k < sizes.size(); ++k) {
    std::string size = text + ": dimension " + std::to_string(k) + " has size " + FormatNumber(sizes[k]);
    if (!IsInteger(sizes[k])) throw ArgumentError(size + ", not an integer; sizes must be integers >= 0");
    if (sizes[k] < 0) throw RangeArgumentError(size + ", a negative size; sizes must be integers >= 0");
    if (sizes[k] > kMaxElements) throw RangeArgumentError(size + ", more than can ever be allocated (at most 2^60 elements)");
    empty = empty || sizes[k] == 0;
    elements *= sizes[k];
  }
  // A zero size makes an empty tensor, whatever the other sizes.
  if (!empty && elements > kMaxElements) {
    throw RangeArgumentError(text + " has " + FormatNumber(elements) + " elements, more than can ever be allocated (at most 2^60); check the sizes");
  }
  std::vector<int64_t> shape(sizes.size());
  for (size_t k = 0; k < sizes.size(); ++k) shape[k] = static_cast<int64_t>(sizes[k]);
  return shape;
}

c10::optional<std::vector<int64_t>> OptionalIntListArg(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return c10::nullopt;
  return IntListArg(info, i);
}

at::ScalarType DTypeArg(const Napi::CallbackInfo& info, size_t i) {
  std::string name = StringArg(info, i);
  if (name == "float32") return at::kFloat;
  if (name == "float64") return at::kDouble;
  if (name == "int64") return at::kLong;
  if (name == "int32") return at::kInt;
  if (name == "uint8") return at::kByte;
  if (name == "bool") return at::kBool;
  throw ArgumentError("unknown dtype '" + name + "' (expected float32, float64, int64, int32, uint8 or bool)");
}

c10::optional<at::ScalarType> OptionalDTypeArg(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return c10::nullopt;
  return DTypeArg(info, i);
}

const char* DTypeName(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    default: return "unsupported";
  }
}

at::Device DeviceArg(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info, i)) return at::Device(at::kCPU);
  std::string name = StringArg(info, i);
  try {
    return at::Device(name);
  } catch (const c10::Error&) {
    throw ArgumentError("unknown device '" + name + "' (expected 'cpu', 'cuda' or 'cuda:N')");
  }
}

at::TensorOptions FactoryOptions(const Napi::CallbackInfo& info, size_t i) {
  at::TensorOptions options;
  if (!IsMissing(info, i)) options = options.dtype(DTypeArg(info, i));
  options = options.device(DeviceArg(info, i + 1));
  if (!IsMissing(info, i + 2)) options = options.requires_grad(BoolArg(info, i + 2));
  return options;
}

Napi::Value WrapPair(Napi::Env env, const std::tuple<at::Tensor, at::Tensor>& pair) {
  auto array = Napi::Array::New(env, 2);
  array.Set(0u, WrapTensor(env, std::get<0>(pair)));
  array.Set(1u, WrapTensor(env, std::get<1>(pair)));
  return array;
}

}  // namespace perennial
