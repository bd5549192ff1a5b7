#include "handle.h"

#include "errors.h"

namespace perennial {
namespace {

// Marks our boxes. Checked on every unwrap instead of napi type tags, which
// cost a property definition per tensor created.
constexpr uint64_t kBoxMagic = 0x70657265'6e6e6961ULL;

struct TensorBox {
  uint64_t magic = kBoxMagic;
  at::Tensor tensor;
  int64_t accountedBytes = 0;
};

// Tensors currently held by JavaScript handles; lets tests prove that a long
// run frees what it creates.
int64_t liveHandles = 0;

// Reporting every allocation to V8 costs as much as a small operation, so
// changes are gathered here and reported once they add up to a megabyte.
constexpr int64_t kReportThreshold = 1 << 20;
int64_t unreportedBytes = 0;

void Account(Napi::BasicEnv env, int64_t delta) {
  unreportedBytes += delta;
  if (unreportedBytes >= kReportThreshold || unreportedBytes <= -kReportThreshold) {
    Napi::MemoryManagement::AdjustExternalMemory(env, unreportedBytes);
    unreportedBytes = 0;
  }
}

int64_t AccountableBytes(const at::Tensor& t) {
  // Only host memory matters to V8's heuristics; device memory is not its concern.
  if (!t.defined() || !t.device().is_cpu()) return 0;
  return static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size());
}

// Runs from JavaScript (dispose) or from the garbage collector (finalizer), so
// it may only use the basic environment: no JavaScript calls.
void Release(Napi::BasicEnv env, TensorBox* box) {
  if (box->tensor.defined()) --liveHandles;
  if (box->accountedBytes != 0) {
    Account(env, -box->accountedBytes);
    box->accountedBytes = 0;
  }
  box->tensor = at::Tensor();
}

// A basic finalizer runs inside the garbage collection that found the handle
// unreachable. Node defers ordinary finalizers to the event loop, so a
// synchronous training loop that never yields would free nothing until it ends.
void Finalize(Napi::BasicEnv env, TensorBox* box) {
  Release(env, box);
  delete box;
}

TensorBox* BoxOf(const Napi::Value& value) {
  if (!value.IsExternal()) return nullptr;
  auto* box = value.As<Napi::External<TensorBox>>().Data();
  return box != nullptr && box->magic == kBoxMagic ? box : nullptr;
}

}  // namespace

Napi::Value WrapTensor(Napi::Env env, at::Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  auto* box = new TensorBox{kBoxMagic, std::move(tensor), 0};
  ++liveHandles;
  box->accountedBytes = AccountableBytes(box->tensor);
  if (box->accountedBytes != 0) Account(env, box->accountedBytes);
  return Napi::External<TensorBox>::New(env, box, Finalize);
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
  Define(env, exports, "liveTensorCount", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(liveHandles));
  });
  Define(env, exports, "isTensorHandle", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), BoxOf(info[0]) != nullptr);
  });
}

}  // namespace perennial
