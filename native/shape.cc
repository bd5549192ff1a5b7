// Shape and indexing operations: views, joins, splits, gathers and scatters.
#include "macros.h"

namespace perennial {

void RegisterShape(Napi::Env env, Napi::Object exports) {
  DEF("reshape") { return WrapTensor(info.Env(), TensorArg(info, 0).reshape(IntListArg(info, 1))); });
  DEF("view") { return WrapTensor(info.Env(), TensorArg(info, 0).view(IntListArg(info, 1))); });
  DEF("flatten") { return WrapTensor(info.Env(), TensorArg(info, 0).flatten(IntArg(info, 1), IntArg(info, 2))); });
  DEF("permute") { return WrapTensor(info.Env(), TensorArg(info, 0).permute(IntListArg(info, 1))); });
  DEF("transpose") { return WrapTensor(info.Env(), TensorArg(info, 0).transpose(IntArg(info, 1), IntArg(info, 2))); });
  // t(x): matrix transpose; a 0- or 1-dim tensor comes back as a view of itself.
  DEF("t") { return WrapTensor(info.Env(), TensorArg(info, 0).t()); });
  // alias(x): a new handle viewing x, still connected to x's graph.
  DEF("alias") { return WrapTensor(info.Env(), at::alias(TensorArg(info, 0))); });
  DEF("squeeze") {
    const at::Tensor& t = TensorArg(info, 0);
    auto dim = OptionalIntArg(info, 1);
    return WrapTensor(info.Env(), dim ? t.squeeze(*dim) : t.squeeze());
  });
  DEF("unsqueeze") { return WrapTensor(info.Env(), TensorArg(info, 0).unsqueeze(IntArg(info, 1))); });
  DEF("expand") { return WrapTensor(info.Env(), TensorArg(info, 0).expand(IntListArg(info, 1))); });
  DEF("repeat") { return WrapTensor(info.Env(), TensorArg(info, 0).repeat(IntListArg(info, 1))); });
  DEF("flip") { return WrapTensor(info.Env(), TensorArg(info, 0).flip(IntListArg(info, 1))); });
  DEF("contiguous") { return WrapTensor(info.Env(), TensorArg(info, 0).contiguous()); });
  DEF("clone") { return WrapTensor(info.Env(), TensorArg(info, 0).clone()); });
  // to(t, dtype | null, device | null)
  DEF("to") {
    const at::Tensor& t = TensorArg(info, 0);
    at::ScalarType dtype = OptionalDTypeArg(info, 1).value_or(t.scalar_type());
    at::Device device = IsMissing(info, 2) ? t.device() : DeviceArg(info, 2);
    return WrapTensor(info.Env(), t.to(device, dtype));
  });
  DEF("cat") { return WrapTensor(info.Env(), at::cat(TensorListArg(info, 0), IntArg(info, 1))); });
  DEF("stack") { return WrapTensor(info.Env(), at::stack(TensorListArg(info, 0), IntArg(info, 1))); });
  // split(t, size | sizes, dim)
  DEF("split") {
    const at::Tensor& t = TensorArg(info, 0);
    int64_t dim = IntArg(info, 2);
    if (info[1].IsArray()) return WrapTensorList(info.Env(), t.split_with_sizes(IntListArg(info, 1), dim));
    return WrapTensorList(info.Env(), t.split(IntArg(info, 1), dim));
  });
  DEF("chunk") { return WrapTensorList(info.Env(), TensorArg(info, 0).chunk(IntArg(info, 1), IntArg(info, 2))); });
  DEF("unbind") { return WrapTensorList(info.Env(), TensorArg(info, 0).unbind(IntArg(info, 1))); });
  DEF("narrow") { return WrapTensor(info.Env(), TensorArg(info, 0).narrow(IntArg(info, 1), IntArg(info, 2), IntArg(info, 3))); });
  // slice(t, dim, start | null, end | null, step): Python's t[start:end:step] on one dim.
  DEF("slice") {
    return WrapTensor(info.Env(), TensorArg(info, 0).slice(IntArg(info, 1), OptionalIntArg(info, 2), OptionalIntArg(info, 3), IntArg(info, 4)));
  });
  DEF("select") { return WrapTensor(info.Env(), TensorArg(info, 0).select(IntArg(info, 1), IntArg(info, 2))); });
  DEF("indexSelect") { return WrapTensor(info.Env(), TensorArg(info, 0).index_select(IntArg(info, 1), TensorArg(info, 2))); });
  // index(t, indices): advanced indexing, one entry per leading dim, null for a
  // dim taken whole; the index tensors broadcast together, as in PyTorch.
  DEF("index") { return WrapTensor(info.Env(), at::index(TensorArg(info, 0), OptionalTensorListArg(info, 1))); });
  // indexPut_(t, indices, values, accumulate): t[indices] = values, in place.
  // A number becomes a tensor of t's dtype, as in Python's t[i] = 2: index_put_
  // itself wants equal dtypes, and a wrapped number would be int64 or float64.
  DEF("indexPut_") {
    const at::Tensor& t = TensorArg(info, 0);
    auto number = BoxedScalarArg(info, 2);
    at::Tensor values = number ? at::scalar_tensor(*number, t.options()) : TensorArg(info, 2);
    t.index_put_(OptionalTensorListArg(info, 1), values, BoolArg(info, 3));
    return info.Env().Undefined();
  });
  DEF("gather") { return WrapTensor(info.Env(), at::gather(TensorArg(info, 0), IntArg(info, 1), TensorArg(info, 2))); });
  // scatter(t, dim, index, src | value)
  DEF("scatter") {
    const at::Tensor& t = TensorArg(info, 0);
    if (auto value = BoxedScalarArg(info, 3)) return WrapTensor(info.Env(), at::scatter(t, IntArg(info, 1), TensorArg(info, 2), *value));
    return WrapTensor(info.Env(), at::scatter(t, IntArg(info, 1), TensorArg(info, 2), TensorArg(info, 3)));
  });
  DEF("scatterAdd") {
    return WrapTensor(info.Env(), at::scatter_add(TensorArg(info, 0), IntArg(info, 1), TensorArg(info, 2), TensorArg(info, 3)));
  });
  DEF("maskedFill") { return WrapTensor(info.Env(), at::masked_fill(TensorArg(info, 0), TensorArg(info, 1), ScalarArg(info, 2))); });
  DEF("maskedSelect") { return WrapTensor(info.Env(), at::masked_select(TensorArg(info, 0), TensorArg(info, 1))); });
  DEF("nonzero") { return WrapTensor(info.Env(), at::nonzero(TensorArg(info, 0))); });
}

}  // namespace perennial
