// Shorthand for defining guarded native functions inside a Register* function,
// where `env` and `exports` are in scope:  DEF(name) { ...body using info... });
#pragma once

#include "args.h"
#include "errors.h"
#include "handle.h"

#define DEF(name) ::perennial::Define(env, exports, name, [](const Napi::CallbackInfo& info) -> Napi::Value
