#include "handle.h"

#include "errors.h"

namespace perennial {
namespace {

struct TensorBox {
  at::Tensor tensor;
  int64_t accountedBytes = 0;
};

// Distinguishes our externals from any other external value.
const napi_type_tag kTensorTag = {0x7065'7265'6e6e'6961ULL, 0x6c2d'7465'6e73'6f72ULL};

int64_t AccountableBytes(const at::Tensor& t) {
  // Only host memory matters to V8's heuristics; device memory is not its concern.
  if (!t.defined() || !t.device().is_cpu()) return 0;
  return static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size());
}

void Release(Napi::Env env, TensorBox* box) {
  if (box->accountedBytes != 0) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -box->accountedBytes);
    box->accountedBytes = 0;
  }
  box->tensor = at::Tensor();
}

void Finalize(Napi::Env env, TensorBox* box) {
  Release(env, box);
  delete box;
}

TensorBox* BoxOf(const Napi::Value& value) {
  if (!value.IsExternal()) return nullptr;
  bool tagged = false;
  napi_check_object_type_tag(value.Env(), value, &kTensorTag, &tagged);
  if (!tagged) return nullptr;
  return value.As<Napi::External<TensorBox>>().Data();
}

}  // namespace

Napi::Value WrapTensor(Napi::Env env, at::Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  auto* box = new TensorBox{std::move(tensor), 0};
  box->accountedBytes = AccountableBytes(box->tensor);
  if (box->accountedBytes != 0) Napi::MemoryManagement::AdjustExternalMemory(env, box->accountedBytes);
  auto external = Napi::External<TensorBox>::New(env, box, Finalize);
  napi_type_tag_object(env, external, &kTensorTag);
  return external;
}

Napi::Value WrapTensorList(Napi::Env env, const std::vector<at::Tensor>& tensors) {
  auto array = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) array.Set(static_cast<uint32_t>(i), WrapTensor(env, tensors[i]));
  return array;
}

const at::Tensor& UnwrapTensor(const Napi::Value& value, const char* what) {
  TensorBox* box = BoxOf(value);
  if (box == nullptr) throw ArgumentError(std::string(what) + " must be a Tensor");
  if (!box->tensor.defined()) {
    throw std::runtime_error(std::string(what) + " is a disposed Tensor (it was freed by dispose() or by the scope that created it; keep() it or return it from the scope to use it later)");
  }
  return box->tensor;
}

void DisposeHandle(const Napi::Value& value) {
  TensorBox* box = BoxOf(value);
  if (box != nullptr) Release(value.Env(), box);
}

void RegisterHandle(Napi::Env env, Napi::Object exports) {
  Define(env, exports, "dispose", [](const Napi::CallbackInfo& info) -> Napi::Value {
    DisposeHandle(info[0]);
    return info.Env().Undefined();
  });
  Define(env, exports, "isTensorHandle", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), BoxOf(info[0]) != nullptr);
  });
}

}  // namespace perennial
