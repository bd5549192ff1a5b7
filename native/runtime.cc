// Process-wide settings and facts: threads, CUDA availability, build info.
#include <dlfcn.h>

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include "macros.h"

namespace perennial {
namespace {

// OpenBLAS keeps its own thread pool, which at::set_num_threads does not
// govern; left at one thread per core it competed with the main thread and
// made the benchmark MLP 30% slower on the 2-core development machine.
// Found at run time because the BLAS is chosen by Debian's alternatives.
void SetBlasThreads(int n) {
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(n);
}

}  // namespace

void RegisterRuntime(Napi::Env env, Napi::Object exports) {
  DEF("setNumThreads") {
    int64_t n = IntArg(info, 0);
    if (n < 1) throw ArgumentError("the number of threads must be at least 1, got " + std::to_string(n));
    at::set_num_threads(static_cast<int>(n));
    SetBlasThreads(static_cast<int>(n));
    return info.Env().Undefined();
  });
  DEF("getNumThreads") { return Napi::Number::New(info.Env(), at::get_num_threads()); });
  DEF("cudaIsAvailable") { return Napi::Boolean::New(info.Env(), torch::cuda::is_available()); });
  DEF("cudaDeviceCount") { return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count())); });
  DEF("cudaSynchronize") {
#if PERENNIAL_WITH_CUDA
    torch::cuda::synchronize();
#endif
    return info.Env().Undefined();
  });
  DEF("buildConfig") { return Napi::String::New(info.Env(), at::show_config()); });
}

}  // namespace perennial
