// Process-wide settings and facts: threads, CUDA availability, build info.
#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include "macros.h"

namespace perennial {

void RegisterRuntime(Napi::Env env, Napi::Object exports) {
  DEF("setNumThreads") {
    int64_t n = IntArg(info, 0);
    if (n < 1) throw ArgumentError("the number of threads must be at least 1, got " + std::to_string(n));
    at::set_num_threads(static_cast<int>(n));
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
