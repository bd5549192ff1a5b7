// Interrupting a run: training is synchronous, so a JavaScript signal handler
// would only run after the whole run. Instead a sigaction handler records
// SIGINT or SIGTERM in an atomic (the only thing it may safely do), and the
// run polls it at every step boundary. A second signal restores the default
// action and re-raises, so it stops the process at once.
//
// Only napi.h is included: nothing here touches tensors, and leaving out the
// libtorch headers keeps this file quick to compile.
#include <napi.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

namespace perennial {
namespace {

std::atomic<int> pendingSignal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the handler may only touch a lock-free atomic");

struct sigaction previousInt;
struct sigaction previousTerm;
bool installed = false;

void OnSignal(int signo) {
  const int savedErrno = errno;
  int none = 0;
  if (!pendingSignal.compare_exchange_strong(none, signo)) {
    // The second signal. It is blocked while this handler runs, so the raise
    // takes effect, with the default action, as soon as the handler returns.
    struct sigaction defaultAction;
    std::memset(&defaultAction, 0, sizeof defaultAction);
    defaultAction.sa_handler = SIG_DFL;
    sigemptyset(&defaultAction.sa_mask);
    sigaction(signo, &defaultAction, nullptr);
    raise(signo);
  }
  errno = savedErrno;
}

void Check(Napi::Env env, int result, const char* what) {
  if (result != 0) throw Napi::Error::New(env, std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

void RegisterInterrupt(Napi::Env env, Napi::Object exports) {
  exports.Set("installInterruptHandlers", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (installed) return info.Env().Undefined();
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_handler = OnSignal;
    sigemptyset(&action.sa_mask);
    // One handler at a time, whichever signal comes second.
    sigaddset(&action.sa_mask, SIGINT);
    sigaddset(&action.sa_mask, SIGTERM);
    // System calls in progress (a write of the results) resume instead of failing with EINTR.
    action.sa_flags = SA_RESTART;
    pendingSignal.store(0);
    Check(info.Env(), sigaction(SIGINT, &action, &previousInt), "installInterruptHandlers: sigaction(SIGINT)");
    if (sigaction(SIGTERM, &action, &previousTerm) != 0) {
      const int savedErrno = errno;
      sigaction(SIGINT, &previousInt, nullptr);
      errno = savedErrno;
      Check(info.Env(), -1, "installInterruptHandlers: sigaction(SIGTERM)");
    }
    installed = true;
    return info.Env().Undefined();
  }, "installInterruptHandlers"));

  // The first signal received since the handlers were installed (2 for SIGINT, 15 for SIGTERM), or 0.
  exports.Set("pendingInterrupt", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), pendingSignal.load());
  }, "pendingInterrupt"));

  // Puts back the actions that were there before (Node's own), and forgets any pending signal.
  exports.Set("removeInterruptHandlers", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (!installed) return info.Env().Undefined();
    Check(info.Env(), sigaction(SIGINT, &previousInt, nullptr), "removeInterruptHandlers: sigaction(SIGINT)");
    Check(info.Env(), sigaction(SIGTERM, &previousTerm, nullptr), "removeInterruptHandlers: sigaction(SIGTERM)");
    installed = false;
    pendingSignal.store(0);
    return info.Env().Undefined();
  }, "removeInterruptHandlers"));
}

}  // namespace perennial
