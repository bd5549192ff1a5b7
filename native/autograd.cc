// Autograd: gradient tracking flags, backward, the functional grad, and the
// global grad mode used by no-grad scopes.
#include <torch/csrc/autograd/autograd.h>

#include "macros.h"

namespace perennial {

void RegisterAutograd(Napi::Env env, Napi::Object exports) {
  DEF("requiresGrad") { return Napi::Boolean::New(info.Env(), TensorArg(info, 0).requires_grad()); });
  DEF("setRequiresGrad") {
    const at::Tensor& t = TensorArg(info, 0);
    const_cast<at::Tensor&>(t).requires_grad_(BoolArg(info, 1));
    return info.Env().Undefined();
  });
  DEF("isLeaf") { return Napi::Boolean::New(info.Env(), TensorArg(info, 0).is_leaf()); });
  DEF("grad") { return WrapTensor(info.Env(), TensorArg(info, 0).grad()); });
  // setGrad(t, grad | null). mutable_grad() takes anything, so PyTorch's checks
  // on `t.grad = g` are repeated here: a mismatched gradient would otherwise
  // be accepted and break, or silently broadcast, in the next backward.
  DEF("setGrad") {
    const at::Tensor& t = TensorArg(info, 0);
    auto grad = OptionalTensorArg(info, 1);
    if (grad) {
      TORCH_CHECK(!t.is_same(*grad), "can't assign Variable as its own grad");
      TORCH_CHECK(grad->dtype() == t.dtype(), "assigned grad has data of a different type (", grad->dtype(), " for a ", t.dtype(), " tensor)");
      TORCH_CHECK(grad->device().type() == t.device().type(), "assigned grad has data located on a different device");
      TORCH_CHECK(grad->sizes().equals(t.sizes()), "assigned grad has data of a different size (", grad->sizes(), " for a tensor of size ", t.sizes(), ")");
    }
    const_cast<at::Tensor&>(t).mutable_grad() = grad ? *grad : at::Tensor();
    return info.Env().Undefined();
  });
  DEF("retainGrad") { TensorArg(info, 0).retain_grad(); return info.Env().Undefined(); });
  DEF("detach") { return WrapTensor(info.Env(), TensorArg(info, 0).detach()); });
  // setData(t, src): t now refers to src's data (shape, dtype and device may change), like PyTorch's `t.data = src`.
  DEF("setData") { const_cast<at::Tensor&>(TensorArg(info, 0)).set_data(TensorArg(info, 1)); return info.Env().Undefined(); });
  DEF("detach_") { const_cast<at::Tensor&>(TensorArg(info, 0)).detach_(); return info.Env().Undefined(); });
  // backward(t, gradient | null, retainGraph, createGraph)
  DEF("backward") {
    const at::Tensor& t = TensorArg(info, 0);
    auto gradient = OptionalTensorArg(info, 1);
    t.backward(gradient ? *gradient : at::Tensor(), BoolArg(info, 2), BoolArg(info, 3));
    return info.Env().Undefined();
  });
  // grad(outputs[], inputs[], gradOutputs[] | null, retainGraph, createGraph, allowUnused)
  // -> one gradient per input, null where an input is unused (allowUnused).
  DEF("autogradGrad") {
    auto outputs = TensorListArg(info, 0);
    auto inputs = TensorListArg(info, 1);
    std::vector<at::Tensor> gradOutputs;
    if (!IsMissing(info, 2)) gradOutputs = TensorListArg(info, 2);
    bool retainGraph = BoolArg(info, 3);
    bool createGraph = BoolArg(info, 4);
    auto grads = torch::autograd::grad(outputs, inputs, gradOutputs, retainGraph, createGraph, BoolArg(info, 5));
    return WrapTensorList(info.Env(), grads);
  });
  // setGradEnabled(enabled) -> the previous mode.
  DEF("setGradEnabled") {
    bool previous = c10::GradMode::is_enabled();
    c10::GradMode::set_enabled(BoolArg(info, 0));
    return Napi::Boolean::New(info.Env(), previous);
  });
  DEF("isGradEnabled") { return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled()); });
}

}  // namespace perennial
