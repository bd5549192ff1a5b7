// Error mapping: every native entry point runs inside Guarded(), which turns a
// C++ exception (c10::Error from libtorch, std::exception from anywhere) into a
// JavaScript Error that names the operation. Nothing reaches std::terminate.
// Bad argument types become TypeErrors; values out of range and failed
// allocations become RangeErrors, as JavaScript's own do.
#pragma once

#include <napi.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace perennial {

// A bad argument detected before libtorch is called; surfaces as a TypeError.
struct ArgumentError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// An argument of the right type whose value is outside what is allowed (a
// thread count, a shape too large to exist); surfaces as a RangeError.
struct RangeArgumentError : std::out_of_range {
  using std::out_of_range::out_of_range;
};

// A number as JavaScript's String(v) writes it, so that messages show the
// value the user passed (std::to_string gives 1e300 as 301 digits, %g gives
// 2^64 as 1.84467e+19): the shortest digits that read back exactly, laid out
// by ECMAScript's Number::toString rules.
inline std::string FormatNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == 0) return "0";
  char text[40];
  for (int precision = 0; precision < 17; ++precision) {
    std::snprintf(text, sizeof text, "%.*e", precision, std::fabs(v));
    if (std::strtod(text, nullptr) == std::fabs(v)) break;
  }
  // text is "d.ddde+XX" (or "de+XX"): split into digits and exponent.
  std::string mantissa(text, std::strchr(text, 'e'));
  int exponent = std::atoi(std::strchr(text, 'e') + 1);
  std::string digits;
  for (char c : mantissa) if (c != '.') digits += c;
  int k = static_cast<int>(digits.size());
  int n = exponent + 1;  // position of the decimal point
  std::string out = v < 0 ? "-" : "";
  if (k <= n && n <= 21) {
    out += digits + std::string(n - k, '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, n) + "." + digits.substr(n);
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(-n, '0') + digits;
  } else {
    out += digits.substr(0, 1) + (k > 1 ? "." + digits.substr(1) : "") + "e" + (n - 1 >= 0 ? "+" : "-") + std::to_string(std::abs(n - 1));
  }
  return out;
}

// "4.0 TB": decimal units, one decimal, for messages.
inline std::string FormatBytes(double bytes) {
  static const char* const units[] = {"bytes", "kB", "MB", "GB", "TB", "PB", "EB"};
  int unit = 0;
  while (bytes >= 1000 && unit < 6) {
    bytes /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

// Tensor storage the allocator could not get. std::bad_alloc says only
// "std::bad_alloc"; this says how much was asked for. It stays a
// std::bad_alloc so that code catching allocation failures still sees one.
class AllocationError : public std::bad_alloc {
 public:
  explicit AllocationError(size_t bytes)
      : message_("cannot allocate " + FormatBytes(static_cast<double>(bytes)) + " (" + std::to_string(bytes) +
                 " bytes): out of memory") {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
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
  } catch (const RangeArgumentError& e) {
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": " + e.what());
  } catch (const Napi::Error& e) {
    throw Napi::Error::New(info.Env(), std::string(op) + ": " + e.Message());
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), std::string(op) + ": " + CleanMessage(e.what_without_backtrace()));
  } catch (const AllocationError& e) {
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": " + e.what());
  } catch (const std::bad_alloc&) {
    // From a C++ container rather than tensor storage, so the size is unknown.
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": out of memory (a native allocation failed)");
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
