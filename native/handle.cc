#include "handle.h"

#include "errors.h"

namespace perennial {
namespace {

// A handle that the TypeScript layer puts in place of a disposed tensor's.
constexpr int64_t kDisposedHandle = -1;

struct Slot {
  at::Tensor tensor;
  uint32_t generation = 0;  // bumped on reuse, so a stale guard cannot free a newer tensor
  int64_t accountedBytes = 0;
};

std::vector<Slot> slots;
std::vector<uint32_t> freeSlots;
int64_t liveSlots = 0;

// Reporting every allocation to V8 costs as much as a small operation, so
// changes are gathered here and reported once they add up to a megabyte.
// Only calls from JavaScript report: V8 must not be told about memory from
// inside a garbage collection (a guard's finalizer), which corrupts its
// marking state and aborts the process.
constexpr int64_t kReportThreshold = 1 << 20;
int64_t unreportedBytes = 0;

void Account(Napi::Env env, int64_t delta) {
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

// Empties a slot. Called from JavaScript (dispose) or from inside a garbage
// collection (a guard's finalizer), so it calls nothing of V8's: the freed
// bytes are reported by the next call from JavaScript.
void Release(uint32_t index) {
  Slot& slot = slots[index];
  if (!slot.tensor.defined()) return;
  unreportedBytes -= slot.accountedBytes;
  slot.accountedBytes = 0;
  slot.tensor = at::Tensor();
  ++slot.generation;
  freeSlots.push_back(index);
  --liveSlots;
}

// Index of a live slot, or -1.
int64_t LiveIndex(const Napi::Value& value) {
  if (!value.IsNumber()) return -1;
  int64_t index = value.As<Napi::Number>().Int64Value();
  if (index < 0 || index >= static_cast<int64_t>(slots.size()) || !slots[index].tensor.defined()) return -1;
  return index;
}

struct Guard {
  uint32_t index;
  uint32_t generation;
};

// A basic finalizer runs inside the garbage collection that found the guard
// unreachable. Node defers ordinary finalizers to the event loop, so a
// synchronous loop that never yields would free nothing until it ended.
void FinalizeGuard(Napi::BasicEnv, Guard* guard) {
  if (slots[guard->index].generation == guard->generation) Release(guard->index);
  delete guard;
}

}  // namespace

Napi::Value WrapTensor(Napi::Env env, at::Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  uint32_t index;
  if (freeSlots.empty()) {
    index = static_cast<uint32_t>(slots.size());
    slots.emplace_back();
  } else {
    index = freeSlots.back();
    freeSlots.pop_back();
  }
  Slot& slot = slots[index];
  slot.accountedBytes = AccountableBytes(tensor);
  slot.tensor = std::move(tensor);
  ++liveSlots;
  if (slot.accountedBytes != 0) Account(env, slot.accountedBytes);
  return Napi::Number::New(env, index);
}

Napi::Value WrapTensorList(Napi::Env env, const std::vector<at::Tensor>& tensors) {
  auto array = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) array.Set(static_cast<uint32_t>(i), WrapTensor(env, tensors[i]));
  return array;
}

const at::Tensor& UnwrapTensor(const Napi::Value& value, const char* what) {
  int64_t index = LiveIndex(value);
  if (index >= 0) return slots[index].tensor;
  if (value.IsNumber() && value.As<Napi::Number>().Int64Value() == kDisposedHandle) {
    throw std::runtime_error(std::string(what) + " is a disposed Tensor (it was freed by dispose() or by the scope that created it; keep() it or return it from the scope to use it later)");
  }
  throw ArgumentError(std::string(what) + " must be a Tensor");
}

void RegisterHandle(Napi::Env env, Napi::Object exports) {
  Define(env, exports, "dispose", [](const Napi::CallbackInfo& info) -> Napi::Value {
    int64_t index = LiveIndex(info[0]);
    if (index >= 0) Release(static_cast<uint32_t>(index));
    Account(info.Env(), 0);
    return info.Env().Undefined();
  });
  // guard(handle): an object that frees the tensor when it is garbage collected.
  Define(env, exports, "guard", [](const Napi::CallbackInfo& info) -> Napi::Value {
    int64_t index = LiveIndex(info[0]);
    if (index < 0) throw ArgumentError("argument 1 must be a live Tensor");
    auto* guard = new Guard{static_cast<uint32_t>(index), slots[index].generation};
    return Napi::External<Guard>::New(info.Env(), guard, FinalizeGuard);
  });
  Define(env, exports, "liveTensorCount", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(liveSlots));
  });
  Define(env, exports, "isTensorHandle", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), LiveIndex(info[0]) >= 0);
  });
}

}  // namespace perennial
