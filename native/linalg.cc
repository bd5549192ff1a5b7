// Matrix products.
#include "macros.h"

namespace perennial {

void RegisterLinalg(Napi::Env env, Napi::Object exports) {
  DEF("matmul") { return WrapTensor(info.Env(), at::matmul(TensorArg(info, 0), TensorArg(info, 1))); });
  DEF("bmm") { return WrapTensor(info.Env(), at::bmm(TensorArg(info, 0), TensorArg(info, 1))); });
  DEF("mv") { return WrapTensor(info.Env(), at::mv(TensorArg(info, 0), TensorArg(info, 1))); });
  DEF("dot") { return WrapTensor(info.Env(), at::dot(TensorArg(info, 0), TensorArg(info, 1))); });
  DEF("outer") { return WrapTensor(info.Env(), at::outer(TensorArg(info, 0), TensorArg(info, 1))); });
  // addmm(input, a, b, beta, alpha) = beta * input + alpha * (a @ b)
  DEF("addmm") {
    return WrapTensor(info.Env(), at::addmm(TensorArg(info, 0), TensorArg(info, 1), TensorArg(info, 2), ScalarArg(info, 3), ScalarArg(info, 4)));
  });
}

}  // namespace perennial
