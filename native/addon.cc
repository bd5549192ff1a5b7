// Module entry point: each native file registers its own functions.
#include <napi.h>


namespace perennial {
void InstallCpuAllocator();
void RegisterHandle(Napi::Env env, Napi::Object exports);
void RegisterProperties(Napi::Env env, Napi::Object exports);
void RegisterCreation(Napi::Env env, Napi::Object exports);
void RegisterPointwise(Napi::Env env, Napi::Object exports);
void RegisterReduction(Napi::Env env, Napi::Object exports);
void RegisterLinalg(Napi::Env env, Napi::Object exports);
void RegisterShape(Napi::Env env, Napi::Object exports);
void RegisterSorting(Napi::Env env, Napi::Object exports);
void RegisterNNFunctional(Napi::Env env, Napi::Object exports);
void RegisterAutograd(Napi::Env env, Napi::Object exports);
void RegisterRandom(Napi::Env env, Napi::Object exports);
void RegisterRuntime(Napi::Env env, Napi::Object exports);
void RegisterInterrupt(Napi::Env env, Napi::Object exports);
void RegisterFileLock(Napi::Env env, Napi::Object exports);
void RegisterOneDnnLinear(Napi::Env env, Napi::Object exports);
}  // namespace perennial

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  perennial::InstallCpuAllocator();
  perennial::RegisterHandle(env, exports);
  perennial::RegisterProperties(env, exports);
  perennial::RegisterCreation(env, exports);
  perennial::RegisterPointwise(env, exports);
  perennial::RegisterReduction(env, exports);
  perennial::RegisterLinalg(env, exports);
  perennial::RegisterShape(env, exports);
  perennial::RegisterSorting(env, exports);
  perennial::RegisterNNFunctional(env, exports);
  perennial::RegisterAutograd(env, exports);
  perennial::RegisterRandom(env, exports);
  perennial::RegisterRuntime(env, exports);
  perennial::RegisterInterrupt(env, exports);
  perennial::RegisterFileLock(env, exports);
  perennial::RegisterOneDnnLinear(env, exports);
  return exports;
}

NODE_API_MODULE(perennial, Init)
