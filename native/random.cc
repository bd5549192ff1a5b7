// Random numbers from libtorch's default CPU generator, the same Mersenne
// Twister that PyTorch uses, so a seeded run draws PyTorch's numbers.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/generated/variable_factories.h>
#include <torch/utils.h>

#include "macros.h"

namespace perennial {

void RegisterRandom(Napi::Env env, Napi::Object exports) {
  DEF("manualSeed") {
    // Seeds every device's default generator, as torch.manual_seed does.
    torch::manual_seed(static_cast<uint64_t>(IntArg(info, 0)));
    return info.Env().Undefined();
  });
  DEF("getRngState") {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    return WrapTensor(info.Env(), gen.get_state());
  });
  DEF("setRngState") {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(TensorArg(info, 0));
    return info.Env().Undefined();
  });
  DEF("rand") { return WrapTensor(info.Env(), torch::rand(ShapeArg(info, 0), FactoryOptions(info, 1))); });
  DEF("randn") { return WrapTensor(info.Env(), torch::randn(ShapeArg(info, 0), FactoryOptions(info, 1))); });
  // randint(low, high, shape, dtype, device, requiresGrad)
  DEF("randint") { return WrapTensor(info.Env(), torch::randint(IntArg(info, 0), IntArg(info, 1), ShapeArg(info, 2), FactoryOptions(info, 3))); });
  DEF("randperm") { return WrapTensor(info.Env(), torch::randperm(IntArg(info, 0), FactoryOptions(info, 1))); });
  DEF("bernoulli") { return WrapTensor(info.Env(), at::bernoulli(TensorArg(info, 0))); });
  // multinomial(probs, numSamples, replacement)
  DEF("multinomial") { return WrapTensor(info.Env(), at::multinomial(TensorArg(info, 0), IntArg(info, 1), BoolArg(info, 2))); });
  DEF("uniform_") { TensorArg(info, 0).uniform_(DoubleArg(info, 1), DoubleArg(info, 2)); return info.Env().Undefined(); });
  DEF("normal_") { TensorArg(info, 0).normal_(DoubleArg(info, 1), DoubleArg(info, 2)); return info.Env().Undefined(); });
}

}  // namespace perennial
