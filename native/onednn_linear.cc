// Linear layers, and matrix products needing no gradient (the Fisher's closed
// forms), in float32 through oneDNN's sgemm. libtorch computes a linear
// layer's products with the BLAS it was built with (OpenBLAS on Debian),
// whose kernels may be narrower than the CPU allows (the development
// machine's environment pins them to AVX2 with OPENBLAS_CORETYPE=Haswell),
// while oneDNN, which libtorch loads for its convolutions anyway, picks
// AVX-512 where the CPU has it. The layer is the
// same function (y = x W^T + b and its gradients); only the kernel computing
// the three products differs, so results agree with at::linear to float32
// rounding, not bit for bit.
//
// oneDNN is found at run time (Debian's libdnnl, loaded by libtorch_cpu); where
// libtorch does not export it (an official download links it in privately),
// every call goes to at::linear, as it does for anything this path does not
// cover: small products (below), other dtypes or devices, non-contiguous or
// empty operands, double backward (create_graph), whose products must be
// recorded, and more than one OpenMP thread (below).
//
// Signals: oneDNN 2.6's JIT sgemm kernels corrupt the heap when a signal
// handler runs on a thread inside them (seen with V8's profiler, whose SIGPROF
// goes to the main thread, and in a C program with any handler and a timer).
// So the calling thread blocks signals for the call, which delays them by a
// product's duration, and only a single-threaded call is made: OpenMP workers
// could take a process-wide signal (Ctrl-C) in the middle of one.
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <torch/csrc/autograd/custom_function.h>

#include "macros.h"

namespace perennial {
namespace {

// The C API's row-major sgemm: C = alpha op(A) op(B) + beta C, op = 'N' or 'T'.
using Sgemm = int (*)(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
                      int64_t ldb, float beta, float* c, int64_t ldc);

// `name` in the first of `libraries` that is already loaded and has it.
void* LoadedSymbol(std::initializer_list<const char*> libraries, const char* name) {
  for (const char* library : libraries) {
    void* handle = dlopen(library, RTLD_NOW | RTLD_NOLOAD);
    if (handle == nullptr) continue;
    if (void* symbol = dlsym(handle, name)) return symbol;
  }
  return nullptr;
}

Sgemm sgemm = nullptr;
// OpenMP's team size, which oneDNN's sgemm uses (libgomp, loaded by libtorch_cpu).
int (*maxThreads)() = nullptr;
bool enabled = true;

// C [m, n] = op(A) op(B) (+ C when accumulate), all contiguous row-major float32.
void Product(char transa, char transb, int64_t m, int64_t n, int64_t k, const at::Tensor& a, const at::Tensor& b, at::Tensor& c, bool accumulate) {
  int64_t lda = transa == 'N' ? k : m;
  int64_t ldb = transb == 'N' ? n : k;
  // See the top of the file: no signal handler may run inside the kernel.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  int status = sgemm(transa, transb, m, n, k, 1.0f, a.data_ptr<float>(), lda, b.data_ptr<float>(), ldb, accumulate ? 1.0f : 0.0f, c.data_ptr<float>(), n);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (status != 0) throw std::runtime_error("oneDNN sgemm failed with status " + std::to_string(status));
}

// Whether products go to oneDNN at all: it was found, is chosen, and one thread runs (see the top).
bool Usable() { return sgemm != nullptr && enabled && maxThreads() == 1; }

// Products below this many multiply-adds take libtorch's path: a oneDNN call
// costs a fixed few microseconds more (the signal mask, its own set-up, the
// custom autograd node), which outweighs its faster kernel on a small
// product. Measured here, a layer's forward and backward: 16 x 256 -> 10,
// 33 us through oneDNN against 22 us through libtorch; 64 x 256 -> 64,
// 59 us against 65 us; 64 x 784 -> 256, 124 us against 195 us.
constexpr int64_t kMinMultiplyAdds = int64_t{1} << 20;

bool Float32Cpu(const at::Tensor& t) { return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.numel() > 0; }

bool Covered(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b) {
  auto plain = [](const at::Tensor& t) { return Float32Cpu(t) && t.is_contiguous(); };
  return Usable() && x.dim() >= 1 && w.dim() == 2 && plain(x) && plain(w) && x.size(-1) == w.size(1) &&
         x.numel() / x.size(-1) * w.numel() >= kMinMultiplyAdds &&
         (!b.has_value() || !b->defined() || (plain(*b) && b->dim() == 1 && b->size(0) == w.size(0)));
}

// y [N, M] = x [N, K] W^T (+ b), x flattened to 2-D.
at::Tensor Forward(const at::Tensor& x2, const at::Tensor& w, const at::Tensor& b) {
  int64_t n = x2.size(0), k = x2.size(1), m = w.size(0);
  at::Tensor y = at::empty({n, m}, x2.options());
  // A copy, never contiguous(): with one row the expanded bias is already
  // contiguous, and the product would be added into the bias itself.
  if (b.defined()) y.copy_(b.expand({n, m}));
  Product('N', 'T', n, m, k, x2, w, y, b.defined());
  return y;
}

class OneDnnLinear : public torch::autograd::Function<OneDnnLinear> {
 public:
  // An absent bias is an empty optional: libtorch then gives it no gradient edge.
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x2, const at::Tensor& w, const c10::optional<at::Tensor>& b) {
    ctx->save_for_backward({x2, w});
    ctx->saved_data["bias"] = b.has_value();
    return Forward(x2, w, b.has_value() ? *b : at::Tensor());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& x2 = saved[0];
    const at::Tensor& w = saved[1];
    at::Tensor g = grads[0].contiguous();
    bool bias = ctx->saved_data["bias"].toBool();
    at::Tensor dx, dw, db;
    if (at::GradMode::is_enabled()) {
      // create_graph: the products must be recorded, so they are libtorch's.
      if (ctx->needs_input_grad(0)) dx = g.mm(w);
      if (ctx->needs_input_grad(1)) dw = g.t().mm(x2);
    } else {
      int64_t n = x2.size(0), k = x2.size(1), m = w.size(0);
      if (ctx->needs_input_grad(0)) {
        dx = at::empty({n, k}, x2.options());
        Product('N', 'N', n, k, m, g, w, dx, false);
      }
      if (ctx->needs_input_grad(1)) {
        dw = at::empty({m, k}, w.options());
        Product('T', 'N', m, k, n, g, x2, dw, false);
      }
    }
    if (bias && ctx->needs_input_grad(2)) db = g.sum(0);
    return {dx, dw, db};
  }
};

// The 2-D result y [N, M] in the shape of the input x [..., K]: [..., M].
at::Tensor Reshaped(const at::Tensor& y, const at::Tensor& x, const at::Tensor& w) {
  if (x.dim() == 2) return y;
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = w.size(0);
  return y.view(shape);
}

at::Tensor Linear(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b) {
  if (!Covered(x, w, b)) return at::linear(x, w, b);
  at::Tensor bias = b.has_value() ? *b : at::Tensor();
  at::Tensor x2 = x.reshape({-1, x.size(-1)});
  bool tracked = at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad() || (bias.defined() && bias.requires_grad()));
  if (!tracked) return Reshaped(Forward(x2, w, bias), x, w);
  return Reshaped(OneDnnLinear::apply(x2, w, bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt), x, w);
}

// A 2-D operand as sgemm reads it: row-major itself ('N'), or the transpose of
// a row-major matrix ('T', as t() gives); 0 for any other layout.
char Layout(const at::Tensor& t) {
  if (t.stride(1) == 1 && t.stride(0) == t.size(1)) return 'N';
  if (t.stride(0) == 1 && t.stride(1) == t.size(0)) return 'T';
  return 0;
}

at::Tensor MatrixProduct(const at::Tensor& a, const at::Tensor& b) {
  auto plain = [](const at::Tensor& t) { return t.dim() == 2 && Float32Cpu(t); };
  bool tracked = at::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad());
  if (!Usable() || tracked || !plain(a) || !plain(b) || a.size(1) != b.size(0) || a.size(0) * b.numel() < kMinMultiplyAdds) return at::mm(a, b);
  char ta = Layout(a), tb = Layout(b);
  if (ta == 0 || tb == 0) return at::mm(a, b);
  int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  at::Tensor c = at::empty({m, n}, a.options());
  // A transposed operand's storage is the row-major matrix it transposes.
  Product(ta, tb, m, n, k, ta == 'N' ? a : a.t(), tb == 'N' ? b : b.t(), c, false);
  return c;
}

}  // namespace

void RegisterOneDnnLinear(Napi::Env env, Napi::Object exports) {
  maxThreads = reinterpret_cast<int (*)()>(LoadedSymbol({"libgomp.so.1"}, "omp_get_max_threads"));
  if (maxThreads != nullptr) sgemm = reinterpret_cast<Sgemm>(LoadedSymbol({"libdnnl.so.3", "libdnnl.so.2", "libtorch_cpu.so"}, "dnnl_sgemm"));
  DEF("linear") { return WrapTensor(info.Env(), Linear(TensorArg(info, 0), TensorArg(info, 1), OptionalTensorArg(info, 2))); });
  DEF("mm") { return WrapTensor(info.Env(), MatrixProduct(TensorArg(info, 0), TensorArg(info, 1))); });
  // Whether linear layers can use oneDNN here, and whether they do.
  DEF("oneDnnLinearAvailable") { return Napi::Boolean::New(info.Env(), sgemm != nullptr); });
  DEF("linearUsesOneDnn") { return Napi::Boolean::New(info.Env(), Usable()); });
  DEF("useOneDnnLinear") {
    enabled = BoolArg(info, 0);
    return info.Env().Undefined();
  });
}

}  // namespace perennial
