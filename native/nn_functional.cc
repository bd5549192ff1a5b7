// Neural-network functions: layers, activations, losses.
#include "macros.h"

namespace perennial {
namespace {

int64_t ReductionArg(const Napi::CallbackInfo& info, size_t i) {
  std::string name = StringArg(info, i);
  if (name == "mean") return at::Reduction::Mean;
  if (name == "sum") return at::Reduction::Sum;
  if (name == "none") return at::Reduction::None;
  throw ArgumentError("reduction must be 'mean', 'sum' or 'none', got '" + name + "'");
}

}  // namespace

void RegisterNNFunctional(Napi::Env env, Napi::Object exports) {
  // conv2d(x, weight, bias | null, stride, padding, dilation, groups)
  DEF("conv2d") {
    return WrapTensor(info.Env(), at::conv2d(TensorArg(info, 0), TensorArg(info, 1), OptionalTensorArg(info, 2), IntListArg(info, 3),
                                             IntListArg(info, 4), IntListArg(info, 5), IntArg(info, 6)));
  });
  // maxPool2d(x, kernel, stride, padding, dilation, ceilMode)
  DEF("maxPool2d") {
    return WrapTensor(info.Env(), at::max_pool2d(TensorArg(info, 0), IntListArg(info, 1), IntListArg(info, 2), IntListArg(info, 3),
                                                 IntListArg(info, 4), BoolArg(info, 5)));
  });
  // avgPool2d(x, kernel, stride, padding, ceilMode, countIncludePad)
  DEF("avgPool2d") {
    return WrapTensor(info.Env(), at::avg_pool2d(TensorArg(info, 0), IntListArg(info, 1), IntListArg(info, 2), IntListArg(info, 3),
                                                 BoolArg(info, 4), BoolArg(info, 5)));
  });
  DEF("adaptiveAvgPool2d") { return WrapTensor(info.Env(), at::adaptive_avg_pool2d(TensorArg(info, 0), IntListArg(info, 1))); });
  // batchNorm(x, runningMean | null, runningVar | null, weight | null, bias | null, training, momentum, eps)
  DEF("batchNorm") {
    return WrapTensor(info.Env(), at::batch_norm(TensorArg(info, 0), OptionalTensorArg(info, 3), OptionalTensorArg(info, 4), OptionalTensorArg(info, 1),
                                                 OptionalTensorArg(info, 2), BoolArg(info, 5), DoubleArg(info, 6), DoubleArg(info, 7), false));
  });
  DEF("dropout") { return WrapTensor(info.Env(), at::dropout(TensorArg(info, 0), DoubleArg(info, 1), BoolArg(info, 2))); });
  // unfold(x, kernel, dilation, padding, stride): im2col, [N, C*kh*kw, L].
  DEF("unfold") {
    return WrapTensor(info.Env(), at::im2col(TensorArg(info, 0), IntListArg(info, 1), IntListArg(info, 2), IntListArg(info, 3), IntListArg(info, 4)));
  });
  DEF("relu") { return WrapTensor(info.Env(), at::relu(TensorArg(info, 0))); });
  DEF("leakyRelu") { return WrapTensor(info.Env(), at::leaky_relu(TensorArg(info, 0), ScalarArg(info, 1))); });
  DEF("sigmoid") { return WrapTensor(info.Env(), at::sigmoid(TensorArg(info, 0))); });
  DEF("tanh") { return WrapTensor(info.Env(), at::tanh(TensorArg(info, 0))); });
  DEF("gelu") { return WrapTensor(info.Env(), at::gelu(TensorArg(info, 0), StringArg(info, 1))); });
  DEF("softmax") { return WrapTensor(info.Env(), at::softmax(TensorArg(info, 0), IntArg(info, 1))); });
  DEF("logSoftmax") { return WrapTensor(info.Env(), at::log_softmax(TensorArg(info, 0), IntArg(info, 1))); });
  // crossEntropy(input, target, weight | null, reduction, ignoreIndex, labelSmoothing)
  DEF("crossEntropy") {
    return WrapTensor(info.Env(), at::cross_entropy_loss(TensorArg(info, 0), TensorArg(info, 1), OptionalTensorArg(info, 2), ReductionArg(info, 3),
                                                         IntArg(info, 4), DoubleArg(info, 5)));
  });
  // nllLoss(input, target, weight | null, reduction, ignoreIndex)
  DEF("nllLoss") {
    return WrapTensor(info.Env(), at::nll_loss_nd(TensorArg(info, 0), TensorArg(info, 1), OptionalTensorArg(info, 2), ReductionArg(info, 3), IntArg(info, 4)));
  });
  DEF("mseLoss") { return WrapTensor(info.Env(), at::mse_loss(TensorArg(info, 0), TensorArg(info, 1), ReductionArg(info, 2))); });
  DEF("oneHot") { return WrapTensor(info.Env(), at::one_hot(TensorArg(info, 0), IntArg(info, 1))); });
}

}  // namespace perennial
