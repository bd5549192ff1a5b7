#include "handle.h"

#include "errors.h"

#include <cmath>

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

// A handle is a slot's index (the low 32 bits) plus its generation (the 21
// bits above, keeping the whole an exact double), so that a handle kept past
// its tensor's freeing no longer matches once the slot holds another tensor,
// instead of acting on that tensor. The generation wraps, which lets a stale
// handle through only after two million reuses of its slot.
constexpr double kIndexSpan = 4294967296.0;  // 2^32
constexpr uint32_t kGenerationMask = (1u << 21) - 1;
constexpr double kHandleBound = 9007199254740992.0;  // 2^53

double EncodeHandle(uint32_t index, uint32_t generation) {
  return static_cast<double>(generation & kGenerationMask) * kIndexSpan + index;
}

enum class HandleKind { kLive, kDisposed, kStale, kNotAHandle };

struct Lookup {
  HandleKind kind;
  uint32_t index;
};

// Rejects what the addon never issued (a fraction, NaN, a negative or
// out-of-range number would otherwise be truncated to some live slot's index).
Lookup Find(const Napi::Value& value) {
  if (!value.IsNumber()) return {HandleKind::kNotAHandle, 0};
  double h = value.As<Napi::Number>().DoubleValue();
  if (h == kDisposedHandle) return {HandleKind::kDisposed, 0};
  if (!(h >= 0 && h < kHandleBound) || std::trunc(h) != h) return {HandleKind::kNotAHandle, 0};
  auto bits = static_cast<uint64_t>(h);
  uint64_t index = bits & 0xffffffffu;
  auto generation = static_cast<uint32_t>(bits >> 32);
  if (index >= slots.size()) return {HandleKind::kNotAHandle, 0};
  const Slot& slot = slots[index];
  if (!slot.tensor.defined() || (slot.generation & kGenerationMask) != generation) return {HandleKind::kStale, 0};
  return {HandleKind::kLive, static_cast<uint32_t>(index)};
}

// Index of a live slot, or -1.
int64_t LiveIndex(const Napi::Value& value) {
  Lookup found = Find(value);
  return found.kind == HandleKind::kLive ? static_cast<int64_t>(found.index) : -1;
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
  return Napi::Number::New(env, EncodeHandle(index, slot.generation));
}

Napi::Value WrapTensorList(Napi::Env env, const std::vector<at::Tensor>& tensors) {
  auto array = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) array.Set(static_cast<uint32_t>(i), WrapTensor(env, tensors[i]));
  return array;
}

const at::Tensor& UnwrapTensor(const Napi::Value& value, const char* what) {
  Lookup found = Find(value);
  switch (found.kind) {
    case HandleKind::kLive:
      return slots[found.index].tensor;
    case HandleKind::kDisposed:
      throw std::runtime_error(std::string(what) + " is a disposed Tensor (it was freed by dispose() or by the scope that created it; keep() it or return it from the scope to use it later)");
    case HandleKind::kStale:
      throw std::runtime_error(std::string(what) + " is a stale tensor handle: its tensor was freed (by dispose() or by the scope that created it); pass the Tensor itself, not a copy of its handle");
    case HandleKind::kNotAHandle:
      break;
  }
  if (value.IsNumber()) {
    throw ArgumentError(std::string(what) + " must be a Tensor, got the number " + FormatNumber(value.As<Napi::Number>().DoubleValue()) +
                        ", which is not a tensor handle");
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
    if (index < 0) UnwrapTensor(info[0], "argument 1");  // throws, saying why the handle is not live
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
