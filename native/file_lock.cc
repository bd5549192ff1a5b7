// An exclusive advisory lock on an open file, for the lock of a run directory.
// flock, not fcntl: an fcntl lock belongs to the process and is dropped when
// any descriptor of the file is closed (reading the lock file to report its
// holder would release it), while a flock lock belongs to the open file
// description and the kernel releases it when the holder exits, however it
// ends: a lock left by a killed process never blocks anyone.
//
// Only napi.h is included: nothing here touches tensors.
#include <napi.h>

#include <sys/file.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace perennial {

void RegisterFileLock(Napi::Env env, Napi::Object exports) {
  // tryLockFile(fd): true when this process now holds the exclusive lock, false when another one holds it.
  exports.Set("tryLockFile", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "tryLockFile: expected a file descriptor");
    const int fd = info[0].As<Napi::Number>().Int32Value();
    int result;
    do {
      result = flock(fd, LOCK_EX | LOCK_NB);
    } while (result != 0 && errno == EINTR);
    if (result == 0) return Napi::Boolean::New(info.Env(), true);
    if (errno == EWOULDBLOCK) return Napi::Boolean::New(info.Env(), false);
    throw Napi::Error::New(info.Env(), std::string("tryLockFile: flock: ") + std::strerror(errno));
  }, "tryLockFile"));
}

}  // namespace perennial
