// Reductions over all elements or over chosen dims, with keepdim.
#include "macros.h"

namespace perennial {
namespace {

// Reductions take (t, dims | null, keepdim, ...); null reduces over everything.
at::OptionalIntArrayRef DimsOrAll(const c10::optional<std::vector<int64_t>>& dims) {
  if (!dims) return c10::nullopt;
  return at::IntArrayRef(*dims);
}

}  // namespace

void RegisterReduction(Napi::Env env, Napi::Object exports) {
  DEF("sum") {
    auto dims = OptionalIntListArg(info, 1);
    return WrapTensor(info.Env(), at::sum(TensorArg(info, 0), DimsOrAll(dims), BoolArg(info, 2), OptionalDTypeArg(info, 3)));
  });
  DEF("mean") {
    auto dims = OptionalIntListArg(info, 1);
    return WrapTensor(info.Env(), at::mean(TensorArg(info, 0), DimsOrAll(dims), BoolArg(info, 2), OptionalDTypeArg(info, 3)));
  });
  DEF("prod") {
    const at::Tensor& t = TensorArg(info, 0);
    auto dim = OptionalIntArg(info, 1);
    return WrapTensor(info.Env(), dim ? at::prod(t, *dim, BoolArg(info, 2)) : at::prod(t));
  });
  // var/std(t, dims | null, correction, keepdim)
  DEF("var") {
    auto dims = OptionalIntListArg(info, 1);
    return WrapTensor(info.Env(), at::var(TensorArg(info, 0), DimsOrAll(dims), c10::optional<int64_t>(IntArg(info, 2)), BoolArg(info, 3)));
  });
  DEF("std") {
    auto dims = OptionalIntListArg(info, 1);
    return WrapTensor(info.Env(), at::std(TensorArg(info, 0), DimsOrAll(dims), c10::optional<int64_t>(IntArg(info, 2)), BoolArg(info, 3)));
  });
  // norm(t, p, dims | null, keepdim): the vector p-norm.
  DEF("norm") {
    auto dims = OptionalIntListArg(info, 2);
    return WrapTensor(info.Env(), at::linalg_vector_norm(TensorArg(info, 0), ScalarArg(info, 1), DimsOrAll(dims), BoolArg(info, 3), c10::nullopt));
  });
  DEF("logsumexp") {
    return WrapTensor(info.Env(), at::logsumexp(TensorArg(info, 0), IntListArg(info, 1), BoolArg(info, 2)));
  });
  // max/min(t): the extreme element; maxDim/minDim(t, dim, keepdim): [values, indices].
  DEF("max") { return WrapTensor(info.Env(), at::max(TensorArg(info, 0))); });
  DEF("min") { return WrapTensor(info.Env(), at::min(TensorArg(info, 0))); });
  DEF("maxDim") { return WrapPair(info.Env(), at::max(TensorArg(info, 0), IntArg(info, 1), BoolArg(info, 2))); });
  DEF("minDim") { return WrapPair(info.Env(), at::min(TensorArg(info, 0), IntArg(info, 1), BoolArg(info, 2))); });
  DEF("argmax") { return WrapTensor(info.Env(), at::argmax(TensorArg(info, 0), OptionalIntArg(info, 1), BoolArg(info, 2))); });
  DEF("argmin") { return WrapTensor(info.Env(), at::argmin(TensorArg(info, 0), OptionalIntArg(info, 1), BoolArg(info, 2))); });
  DEF("all") {
    const at::Tensor& t = TensorArg(info, 0);
    auto dim = OptionalIntArg(info, 1);
    return WrapTensor(info.Env(), dim ? at::all(t, *dim, BoolArg(info, 2)) : at::all(t));
  });
  DEF("any") {
    const at::Tensor& t = TensorArg(info, 0);
    auto dim = OptionalIntArg(info, 1);
    return WrapTensor(info.Env(), dim ? at::any(t, *dim, BoolArg(info, 2)) : at::any(t));
  });
  DEF("cumsum") { return WrapTensor(info.Env(), at::cumsum(TensorArg(info, 0), IntArg(info, 1))); });
  DEF("countNonzero") { return WrapTensor(info.Env(), at::count_nonzero(TensorArg(info, 0), OptionalIntArg(info, 1))); });
}

}  // namespace perennial
