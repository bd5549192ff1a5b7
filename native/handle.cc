#include "handle.h"

#include "errors.h"

#include <cmath>

namespace perennial {
namespace {

// A handle that the TypeScript layer puts in place of a disposed tensor's.
constexpr int64_t kDisposedHandle = -1;

struct Slot {
  at::Tensor tensor;
  uint32_t generation = 0;  // bumped on reuse, so that a stale handle is recognised
  int64_t accountedBytes = 0;
  // The finalizer registered on the JavaScript Tensor that owns this slot, if
  // it is guarded. dispose() deletes it, so the collector never has to
  // process a tensor that was already freed.
  napi_ref guard = nullptr;
};

std::vector<Slot> slots;
std::vector<uint32_t> freeSlots;
int64_t liveSlots = 0;

// Guards whose finalizer ran: a finalizer runs inside the garbage collection,
// where deleting a reference is not allowed, so they are deleted by the next
// call from JavaScript.
std::vector<napi_ref> finalizedGuards;

void DeleteFinalizedGuards(napi_env env) {
  for (napi_ref ref : finalizedGuards) napi_delete_reference(env, ref);
  finalizedGuards.clear();
}

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
  // One call into Node-API instead of a type check and a read: this runs for
  // every tensor argument of every operation.
  double h;
  if (napi_get_value_double(value.Env(), value, &h) != napi_ok) return {HandleKind::kNotAHandle, 0};
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

// Empties a slot from JavaScript, dropping its guard first.
void Dispose(napi_env env, uint32_t index) {
  Slot& slot = slots[index];
  if (slot.guard != nullptr) {
    napi_delete_reference(env, slot.guard);
    slot.guard = nullptr;
  }
  Release(index);
}

// A basic finalizer runs inside the garbage collection that found the Tensor
// unreachable. Node defers ordinary finalizers to the event loop, so a
// synchronous loop that never yields would free nothing until it ended. The
// slot's index is the finalizer's data: a guarded slot is emptied only here or
// by Dispose, which deletes the guard, so the slot still holds the tensor.
void FinalizeGuard(node_api_basic_env, void* data, void*) {
  auto index = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data));
  Slot& slot = slots[index];
  finalizedGuards.push_back(slot.guard);
  slot.guard = nullptr;
  Release(index);
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

const at::Tensor* LiveTensor(const Napi::Value& value) {
  Lookup found = Find(value);
  return found.kind == HandleKind::kLive ? &slots[found.index].tensor : nullptr;
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
    if (index >= 0) Dispose(info.Env(), static_cast<uint32_t>(index));
    if (!finalizedGuards.empty()) DeleteFinalizedGuards(info.Env());
    Account(info.Env(), 0);
    return info.Env().Undefined();
  });
  // guard(handle, owner): frees the tensor when `owner` (its Tensor object) is
  // garbage collected, unless dispose() freed it first.
  Define(env, exports, "guard", [](const Napi::CallbackInfo& info) -> Napi::Value {
    int64_t index = LiveIndex(info[0]);
    if (index < 0) UnwrapTensor(info[0], "argument 1");  // throws, saying why the handle is not live
    if (!info[1].IsObject()) throw ArgumentError("argument 2 must be the Tensor that owns the handle");
    Slot& slot = slots[index];
    if (slot.guard == nullptr) {
      void* data = reinterpret_cast<void*>(static_cast<uintptr_t>(index));
      NAPI_THROW_IF_FAILED(info.Env(), napi_add_finalizer(info.Env(), info[1], data, FinalizeGuard, nullptr, &slot.guard), Napi::Value());
    }
    if (!finalizedGuards.empty()) DeleteFinalizedGuards(info.Env());
    return info.Env().Undefined();
  });
  Define(env, exports, "liveTensorCount", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(liveSlots));
  });
  Define(env, exports, "isTensorHandle", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), LiveIndex(info[0]) >= 0);
  });
}

}  // namespace perennial
