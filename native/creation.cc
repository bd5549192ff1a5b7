// Tensor creation: from JavaScript typed arrays, factories, and copying data
// back out to JavaScript.
#include <torch/csrc/autograd/generated/variable_factories.h>

#include <cstring>

#include "macros.h"

namespace perennial {
void RegisterCreation(Napi::Env env, Napi::Object exports) {
  // fromTypedArray(typedArray, dtype, shape, device?, requiresGrad?): copies.
  DEF("fromTypedArray") {
    if (!info[0].IsTypedArray()) throw ArgumentError("data must be a typed array");
    auto array = info[0].As<Napi::TypedArray>();
    at::ScalarType dtype = DTypeArg(info, 1);
    std::vector<int64_t> shape = ShapeArg(info, 2);
    // ShapeArg bounds the element count, so this product cannot overflow.
    size_t bytes = static_cast<size_t>(c10::multiply_integers(shape)) * c10::elementSize(dtype);
    if (array.ByteLength() != bytes) {
      throw ArgumentError("data holds " + std::to_string(array.ByteLength()) + " bytes but shape and dtype need " + std::to_string(bytes));
    }
    auto* src = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (bytes > 0) std::memcpy(t.data_ptr(), src, bytes);
    at::Device device = DeviceArg(info, 3);
    if (!device.is_cpu()) t = t.to(device);
    if (!IsMissing(info, 4) && BoolArg(info, 4)) t.set_requires_grad(true);
    return WrapTensor(info.Env(), t);
  });

  // toArrayBuffer(t): a copy of the elements in row-major order.
  DEF("toArrayBuffer") {
    at::Tensor t = TensorArg(info, 0).detach().to(at::kCPU).contiguous();
    size_t bytes = t.numel() * t.element_size();
    auto buffer = Napi::ArrayBuffer::New(info.Env(), bytes);
    if (bytes > 0) std::memcpy(buffer.Data(), t.data_ptr(), bytes);
    return buffer;
  });

  DEF("item") {
    const at::Tensor& t = TensorArg(info, 0);
    at::Scalar s = t.item();
    if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
    if (s.isIntegral(false)) return Napi::Number::New(info.Env(), static_cast<double>(s.toLong()));
    return Napi::Number::New(info.Env(), s.toDouble());
  });

  DEF("empty") { return WrapTensor(info.Env(), torch::empty(ShapeArg(info, 0), FactoryOptions(info, 1))); });
  DEF("zeros") { return WrapTensor(info.Env(), torch::zeros(ShapeArg(info, 0), FactoryOptions(info, 1))); });
  DEF("ones") { return WrapTensor(info.Env(), torch::ones(ShapeArg(info, 0), FactoryOptions(info, 1))); });
  DEF("full") { return WrapTensor(info.Env(), torch::full(ShapeArg(info, 0), ScalarArg(info, 1), FactoryOptions(info, 2))); });
  DEF("scalarTensor") { return WrapTensor(info.Env(), torch::scalar_tensor(ScalarArg(info, 0), FactoryOptions(info, 1))); });
  DEF("arange") {
    return WrapTensor(info.Env(), torch::arange(ScalarArg(info, 0), ScalarArg(info, 1), ScalarArg(info, 2), FactoryOptions(info, 3)));
  });
  DEF("linspace") {
    return WrapTensor(info.Env(), torch::linspace(ScalarArg(info, 0), ScalarArg(info, 1), IntArg(info, 2), FactoryOptions(info, 3)));
  });
  DEF("eye") { return WrapTensor(info.Env(), torch::eye(IntArg(info, 0), IntArg(info, 1), FactoryOptions(info, 2))); });
}

}  // namespace perennial
