// Ordering: sort, top-k, k-th value, quantiles.
#include "macros.h"

namespace perennial {

void RegisterSorting(Napi::Env env, Napi::Object exports) {
  // sort(t, dim, descending, stable) -> [values, indices]
  DEF("sort") {
    return WrapPair(info.Env(), at::sort(TensorArg(info, 0), BoolArg(info, 3), IntArg(info, 1), BoolArg(info, 2)));
  });
  DEF("argsort") {
    return WrapTensor(info.Env(), std::get<1>(at::sort(TensorArg(info, 0), BoolArg(info, 3), IntArg(info, 1), BoolArg(info, 2))));
  });
  // topk(t, k, dim, largest, sorted) -> [values, indices]
  DEF("topk") {
    return WrapPair(info.Env(), at::topk(TensorArg(info, 0), IntArg(info, 1), IntArg(info, 2), BoolArg(info, 3), BoolArg(info, 4)));
  });
  // kthvalue(t, k, dim, keepdim) -> [values, indices]; k counts from 1.
  DEF("kthvalue") {
    return WrapPair(info.Env(), at::kthvalue(TensorArg(info, 0), IntArg(info, 1), IntArg(info, 2), BoolArg(info, 3)));
  });
  // quantile(t, q (number or tensor), dim | null, keepdim, interpolation)
  DEF("quantile") {
    const at::Tensor& t = TensorArg(info, 0);
    auto dim = OptionalIntArg(info, 2);
    bool keepdim = BoolArg(info, 3);
    std::string interpolation = StringArg(info, 4);
    if (auto q = BoxedScalarArg(info, 1)) return WrapTensor(info.Env(), at::quantile(t, q->toDouble(), dim, keepdim, interpolation));
    return WrapTensor(info.Env(), at::quantile(t, TensorArg(info, 1), dim, keepdim, interpolation));
  });
}

}  // namespace perennial
