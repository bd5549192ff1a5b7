// Process-wide settings and facts: threads, CUDA availability, build info.
#include <dlfcn.h>

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cmath>
#include <thread>

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

// The most intra-op threads a process may ask for: four per core, and at least
// 64 so that a small container can still oversubscribe for experiments. More
// threads only add overhead, and a huge count is fatal: libgomp aborts the
// process when it cannot allocate a team of 10^9 threads ("Out of memory
// allocating 224000001344 bytes"), and a team of 10^4 took minutes to start.
int64_t MaxThreads() {
  return std::max<int64_t>(4 * static_cast<int64_t>(std::thread::hardware_concurrency()), 64);
}

}  // namespace

void RegisterRuntime(Napi::Env env, Napi::Object exports) {
  DEF("setNumThreads") {
    if (IsMissing(info, 0) || !info[0].IsNumber()) throw ArgumentError("argument 1 must be an integer");
    double n = info[0].As<Napi::Number>().DoubleValue();
    if (!(n >= 1 && n <= static_cast<double>(MaxThreads())) || std::trunc(n) != n) {
      throw RangeArgumentError("the number of threads must be an integer from 1 to " + std::to_string(MaxThreads()) + ", got " +
                               FormatNumber(n) + " (the limit is 4 per CPU and at least 64: more threads only add overhead, and a huge count aborts the process)");
    }
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
  DEF("maxNumThreads") { return Napi::Number::New(info.Env(), static_cast<double>(MaxThreads())); });
}

}  // namespace perennial
