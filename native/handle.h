// Tensor handles: how an at::Tensor crosses into JavaScript.
//
// A tensor is passed to JavaScript as a napi external that owns a TensorBox.
// dispose() releases the at::Tensor at once (deterministic freeing); the
// external's finalizer deletes the box when the garbage collector collects the
// JavaScript wrapper, which also releases the tensor if dispose() was never
// called (the safety net). Each live box reports its tensor's size to V8 as
// external memory so that the collector sees native memory pressure.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>

#include <vector>

namespace perennial {

// Wraps a tensor into a new JavaScript handle. An undefined tensor becomes null.
Napi::Value WrapTensor(Napi::Env env, at::Tensor tensor);
Napi::Value WrapTensorList(Napi::Env env, const std::vector<at::Tensor>& tensors);

// The tensor behind a handle; throws a JavaScript TypeError for anything that is
// not a live tensor handle (including a disposed one).
const at::Tensor& UnwrapTensor(const Napi::Value& value, const char* what);

// Releases the tensor behind a handle now. Idempotent.
void DisposeHandle(const Napi::Value& value);

void RegisterHandle(Napi::Env env, Napi::Object exports);

}  // namespace perennial
