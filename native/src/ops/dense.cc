#include "core/thread_pool.h"
#include "ops/common.h"
#include "ops/gemm.h"

namespace ssm::ops {

void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  GlobalPool().parallel_for(
      static_cast<std::size_t>(n), static_cast<std::size_t>(grain < 1 ? 1 : grain),
      [&](std::size_t b, std::size_t e) { fn(static_cast<int64_t>(b), static_cast<int64_t>(e)); });
}

WorkerScratch::WorkerScratch(int64_t per_worker)
    : per_worker_(per_worker), buf_(Shape{GlobalPool().threads(), per_worker}) {}

float* WorkerScratch::get() { return buf_.data() + CurrentWorkerIndex() * per_worker_; }

Var* Linear(Tape& t, Var* x, Var* w, Var* b) {
  const Shape& xs = x->value.shape();
  const Shape& ws = w->value.shape();
  if (ws.rank != 2) ShapeError("linear", "weight must be (out, in), got " + ws.str());
  if (xs.rank < 1 || xs[-1] != ws[1]) {
    ShapeError("linear", "input " + xs.str() + " does not end in in_features=" + std::to_string(ws[1]));
  }
  if (b && (b->value.rank() != 1 || b->value.dim(0) != ws[0])) {
    ShapeError("linear", "bias must be (" + std::to_string(ws[0]) + "), got " + b->value.shape().str());
  }
  const int64_t in = ws[1], out = ws[0], n = xs.numel() / in;
  Shape ys = xs;
  ys[-1] = out;
  Tensor y(ys);  // (N, out)
  Gemm(false, true, n, out, in, x->value.data(), in, w->value.data(), in, y.data(), out, 0.0f);
  if (b) {
    const float* bp = b->value.data();
    float* yp = y.data();
    for (int64_t r = 0; r < n; ++r)
      for (int64_t j = 0; j < out; ++j) yp[r * out + j] += bp[j];
  }
  Var* yv = MakeOut(t, std::move(y), {x, w, b});
  if (yv->requires_grad) {
    t.Record([&t, x, w, b, yv, n, in, out] {
      const float* gy = yv->grad.data();  // (N, out)
      if (x->requires_grad) {             // dx (N, in) += gy (N, out) . W (out, in)
        Gemm(false, false, n, in, out, gy, out, w->value.data(), in, t.Grad(x).data(), in, 1.0f);
      }
      if (w->requires_grad) {  // dW (out, in) += gy^T (out, N) . x (N, in)
        Gemm(true, false, out, in, n, gy, out, x->value.data(), in, t.Grad(w).data(), in, 1.0f);
      }
      if (b && b->requires_grad) {
        float* gb = t.Grad(b).data();
        for (int64_t r = 0; r < n; ++r)
          for (int64_t j = 0; j < out; ++j) gb[j] += gy[r * out + j];
      }
    });
  }
  return yv;
}

Var* MatMul(Tape& t, Var* a, Var* b) {
  const Shape& as = a->value.shape();
  const Shape& bs = b->value.shape();
  if (as.rank != 2 || bs.rank != 2 || as[1] != bs[0])
    ShapeError("matmul", "cannot multiply " + as.str() + " by " + bs.str());
  const int64_t M = as[0], K = as[1], N = bs[1];
  Tensor y(Shape{M, N});
  Gemm(false, false, M, N, K, a->value.data(), K, b->value.data(), N, y.data(), N, 0.0f);
  Var* yv = MakeOut(t, std::move(y), {a, b});
  if (yv->requires_grad) {
    t.Record([&t, a, b, yv, M, N, K] {
      const float* gy = yv->grad.data();  // (M, N)
      if (a->requires_grad) Gemm(false, true, M, K, N, gy, N, b->value.data(), N, t.Grad(a).data(), K, 1.0f);
      if (b->requires_grad) Gemm(true, false, K, N, M, a->value.data(), K, gy, N, t.Grad(b).data(), N, 1.0f);
    });
  }
  return yv;
}

}  // namespace ssm::ops
