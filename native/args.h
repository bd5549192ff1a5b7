// Argument conversion between JavaScript values and libtorch types.
//
// The TypeScript layer normalises user arguments (defaults, negative dims,
// options objects) and calls native functions positionally, so these helpers
// only convert and type-check; each names the argument in its error.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>


#include <string>
#include <vector>

#include "handle.h"

namespace perennial {

const at::Tensor& TensorArg(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::Tensor> OptionalTensorArg(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> TensorListArg(const Napi::CallbackInfo& info, size_t i);
// An array whose entries are Tensors or null (an index list for at::index).
c10::List<c10::optional<at::Tensor>> OptionalTensorListArg(const Napi::CallbackInfo& info, size_t i);

// A tensor, or a JavaScript number/boolean turned into a 0-dim "wrapped number"
// tensor, which takes part in type promotion the way a Python scalar does
// (float32 tensor + 2.5 stays float32).
// Tensor handles are numbers, so a number used as a scalar operand travels
// boxed in a one-element array: [2.5].
at::Tensor OperandArg(const Napi::CallbackInfo& info, size_t i);
// The scalar in a boxed operand, or nothing when the argument is not boxed.
c10::optional<at::Scalar> BoxedScalarArg(const Napi::CallbackInfo& info, size_t i);

// Integer-valued numbers become integer scalars, others floating; booleans bool.
at::Scalar ScalarArg(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::Scalar> OptionalScalarArg(const Napi::CallbackInfo& info, size_t i);

int64_t IntArg(const Napi::CallbackInfo& info, size_t i);
c10::optional<int64_t> OptionalIntArg(const Napi::CallbackInfo& info, size_t i);
double DoubleArg(const Napi::CallbackInfo& info, size_t i);
c10::optional<double> OptionalDoubleArg(const Napi::CallbackInfo& info, size_t i);
bool BoolArg(const Napi::CallbackInfo& info, size_t i);
std::string StringArg(const Napi::CallbackInfo& info, size_t i);
std::vector<int64_t> IntListArg(const Napi::CallbackInfo& info, size_t i);
// The shape of a tensor to create: non-negative integers whose product is
// small enough to allocate. Checked here because libtorch reports a negative
// size as a negative size but an overflowing product only obscurely, and
// sizes beyond int64 reach it as wrapped garbage.
std::vector<int64_t> ShapeArg(const Napi::CallbackInfo& info, size_t i);
c10::optional<std::vector<int64_t>> OptionalIntListArg(const Napi::CallbackInfo& info, size_t i);

at::ScalarType DTypeArg(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::ScalarType> OptionalDTypeArg(const Napi::CallbackInfo& info, size_t i);
at::Device DeviceArg(const Napi::CallbackInfo& info, size_t i);

// Factory options from (dtype, device, requiresGrad) at positions i, i+1, i+2.
at::TensorOptions FactoryOptions(const Napi::CallbackInfo& info, size_t i);

const char* DTypeName(at::ScalarType type);

inline bool IsMissing(const Napi::CallbackInfo& info, size_t i) {
  return i >= info.Length() || info[i].IsUndefined() || info[i].IsNull();
}

Napi::Value WrapPair(Napi::Env env, const std::tuple<at::Tensor, at::Tensor>& pair);

}  // namespace perennial
