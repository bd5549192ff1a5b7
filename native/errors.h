// Error mapping: every native entry point runs inside Guarded(), which turns a
// C++ exception (c10::Error from libtorch, std::exception from anywhere) into a
// JavaScript Error that names the operation. Nothing reaches std::terminate.
#pragma once

#include <napi.h>
#include <c10/util/Exception.h>

#include <stdexcept>
#include <string>

namespace perennial {

// A bad argument detected before libtorch is called; surfaces as a TypeError.
struct ArgumentError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// libtorch messages end with a newline and sometimes carry C++ source context;
// keep the first paragraph, which is the human-readable part.
inline std::string CleanMessage(const std::string& raw) {
  std::string msg = raw;
  auto cut = msg.find("\nException raised from");
  if (cut != std::string::npos) msg.resize(cut);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

template <typename Body>
Napi::Value Guarded(const Napi::CallbackInfo& info, const char* op, Body&& body) {
  try {
    return body();
  } catch (const ArgumentError& e) {
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": " + e.what());
  } catch (const Napi::Error& e) {
    throw Napi::Error::New(info.Env(), std::string(op) + ": " + e.Message());
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), std::string(op) + ": " + CleanMessage(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string(op) + ": " + CleanMessage(e.what()));
  } catch (...) {
    throw Napi::Error::New(info.Env(), std::string(op) + ": unknown native error");
  }
}

using NativeCallback = Napi::Value (*)(const Napi::CallbackInfo&);

// Exports `fn` under `name`, guarded, with the name as the operation in errors.
inline void Define(Napi::Env env, Napi::Object exports, const char* name, NativeCallback fn) {
  struct Entry { const char* name; NativeCallback fn; };
  auto* entry = new Entry{name, fn};  // lives as long as the module
  exports.Set(name, Napi::Function::New(
                        env,
                        [](const Napi::CallbackInfo& info) -> Napi::Value {
                          auto* e = static_cast<Entry*>(info.Data());
                          return Guarded(info, e->name, [&] { return e->fn(info); });
                        },
                        name, entry));
}

}  // namespace perennial
