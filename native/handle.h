// Tensor handles: how an at::Tensor crosses into JavaScript.
//
// Live tensors sit in a slot table; JavaScript holds a number that packs the
// slot's index with the slot's generation (so that a handle outliving its
// tensor is recognised as stale). dispose() empties the slot at once
// (deterministic freeing). A tensor that may outlive every scope also gets a
// guard: an external whose finalizer empties the slot when the garbage
// collector finds the tensor unreachable (the safety net). Guards are left off
// tensors that a scope will free anyway, because a finalizer costs more than a
// small operation. Slot contents are reported to V8 as external memory so that
// the collector sees native memory pressure.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>

#include <vector>

namespace perennial {

// Stores a tensor in a new slot and returns its handle. An undefined tensor becomes null.
Napi::Value WrapTensor(Napi::Env env, at::Tensor tensor);
Napi::Value WrapTensorList(Napi::Env env, const std::vector<at::Tensor>& tensors);

// The tensor behind a live handle, or null for anything else (without
// building the error message that UnwrapTensor would need).
const at::Tensor* LiveTensor(const Napi::Value& value);

// The tensor behind a handle; throws an ArgumentError for anything that is not
// a live tensor handle (including a disposed one).
const at::Tensor& UnwrapTensor(const Napi::Value& value, const char* what);

void RegisterHandle(Napi::Env env, Napi::Object exports);

}  // namespace perennial
