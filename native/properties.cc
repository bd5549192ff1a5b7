// Read-only facts about a tensor: shape, dtype, device, layout.
#include "macros.h"

namespace perennial {

void RegisterProperties(Napi::Env env, Napi::Object exports) {
  DEF("shape") {
    const at::Tensor& t = TensorArg(info, 0);
    auto sizes = t.sizes();
    auto array = Napi::Array::New(info.Env(), sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i) array.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(sizes[i])));
    return array;
  });
  DEF("dtype") { return Napi::String::New(info.Env(), DTypeName(TensorArg(info, 0).scalar_type())); });
  DEF("device") { return Napi::String::New(info.Env(), TensorArg(info, 0).device().str()); });
  DEF("isContiguous") { return Napi::Boolean::New(info.Env(), TensorArg(info, 0).is_contiguous()); });
  DEF("sameStorage") {
    return Napi::Boolean::New(info.Env(), TensorArg(info, 0).is_alias_of(TensorArg(info, 1)));
  });
}

}  // namespace perennial
