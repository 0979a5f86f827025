// Elementwise add/mul, dropout, concat, reshape, permute.
#include <cstring>

#include "core/rng.h"
#include "ops/common.h"

namespace ssm::ops {

Var* Add(Tape& t, Var* a, Var* b) {
  CheckSameShape(a->value.shape(), b->value.shape(), "add");
  Tensor y(a->value.shape());
  const float* ap = a->value.data();
  const float* bp = b->value.data();
  float* yp = y.data();
  ParallelFor(y.numel(), kElemGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) yp[i] = ap[i] + bp[i];
  });
  Var* yv = MakeOut(t, std::move(y), {a, b});
  if (yv->requires_grad) {
    t.Record([&t, a, b, yv] {
      const float* gy = yv->grad.data();
      const int64_t n = yv->value.numel();
      for (Var* v : {a, b}) {
        if (!v->requires_grad) continue;
        float* g = t.Grad(v).data();
        ParallelFor(n, kElemGrain, [&](int64_t s, int64_t e) {
          for (int64_t i = s; i < e; ++i) g[i] += gy[i];
        });
      }
    });
  }
  return yv;
}

Var* Mul(Tape& t, Var* a, Var* b) {
  CheckSameShape(a->value.shape(), b->value.shape(), "mul");
  Tensor y(a->value.shape());
  const float* ap = a->value.data();
  const float* bp = b->value.data();
  float* yp = y.data();
  ParallelFor(y.numel(), kElemGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) yp[i] = ap[i] * bp[i];
  });
  Var* yv = MakeOut(t, std::move(y), {a, b});
  if (yv->requires_grad) {
    t.Record([&t, a, b, yv] {
      const float* gy = yv->grad.data();
      const int64_t n = yv->value.numel();
      if (a->requires_grad) {
        float* g = t.Grad(a).data();
        const float* o = b->value.data();
        ParallelFor(n, kElemGrain, [&](int64_t s, int64_t e) {
          for (int64_t i = s; i < e; ++i) g[i] += gy[i] * o[i];
        });
      }
      if (b->requires_grad) {
        float* g = t.Grad(b).data();
        const float* o = a->value.data();
        ParallelFor(n, kElemGrain, [&](int64_t s, int64_t e) {
          for (int64_t i = s; i < e; ++i) g[i] += gy[i] * o[i];
        });
      }
    });
  }
  return yv;
}

Var* Dropout(Tape& t, Var* x, float p) {
  if (!t.training || p <= 0.0f) return x;
  if (p >= 1.0f) ShapeError("dropout", "p must be below 1");
  const uint64_t seed = t.NextSeed();
  const float scale = 1.0f / (1.0f - p);
  Tensor y(x->value.shape());
  const float* xp = x->value.data();
  float* yp = y.data();
  ParallelFor(y.numel(), kElemGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) yp[i] = HashUniform(seed, static_cast<uint64_t>(i)) < p ? 0.0f : xp[i] * scale;
  });
  Var* yv = MakeOut(t, std::move(y), {x});
  if (yv->requires_grad) {
    t.Record([&t, x, yv, seed, p, scale] {
      const float* gy = yv->grad.data();
      float* gx = t.Grad(x).data();
      ParallelFor(x->value.numel(), kElemGrain, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i)
          if (HashUniform(seed, static_cast<uint64_t>(i)) >= p) gx[i] += gy[i] * scale;
      });
    });
  }
  return yv;
}

Var* Concat(Tape& t, const std::vector<Var*>& xs, int dim) {
  if (xs.empty()) ShapeError("concat", "no inputs");
  const Shape& s0 = xs[0]->value.shape();
  if (dim < 0) dim += s0.rank;
  if (dim < 0 || dim >= s0.rank) ShapeError("concat", "dim out of range for " + s0.str());
  Shape ys = s0;
  ys[dim] = 0;
  for (Var* v : xs) {
    const Shape& s = v->value.shape();
    bool ok = s.rank == s0.rank;
    for (int i = 0; ok && i < s.rank; ++i) ok = (i == dim) || s[i] == s0[i];
    if (!ok)
      ShapeError("concat", "shapes " + s0.str() + " and " + s.str() + " differ outside dim " + std::to_string(dim));
    ys[dim] += s[dim];
  }
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < dim; ++i) outer *= s0[i];
  for (int i = dim + 1; i < s0.rank; ++i) inner *= s0[i];
  Tensor y(ys);  // (outer, sum Ci, inner)
  const int64_t row = ys[dim] * inner;
  int64_t off = 0;
  bool any = false;
  for (Var* v : xs) {
    const int64_t n = v->value.dim(dim) * inner;
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(y.data() + o * row + off, v->value.data() + o * n, sizeof(float) * n);
    off += n;
    any = any || v->requires_grad;
  }
  t.CheckCancelled();
  Var* yv = t.Make(std::move(y), t.recording && any);
  if (yv->requires_grad) {
    t.Record([&t, xs, yv, dim, outer, inner, row] {
      const float* gy = yv->grad.data();
      int64_t off = 0;
      for (Var* v : xs) {
        const int64_t n = v->value.dim(dim) * inner;
        if (v->requires_grad) {
          float* g = t.Grad(v).data();
          for (int64_t o = 0; o < outer; ++o)
            for (int64_t i = 0; i < n; ++i) g[o * n + i] += gy[o * row + off + i];
        }
        off += n;
      }
    });
  }
  return yv;
}

Var* Reshape(Tape& t, Var* x, const Shape& shape) {
  if (shape.numel() != x->value.numel())
    ShapeError("reshape", "cannot reshape " + x->value.shape().str() + " to " + shape.str());
  Var* yv = MakeOut(t, x->value.view(shape), {x});
  if (yv->requires_grad) {
    t.Record([&t, x, yv] {
      const float* gy = yv->grad.data();
      float* gx = t.Grad(x).data();
      const int64_t n = x->value.numel();
      for (int64_t i = 0; i < n; ++i) gx[i] += gy[i];
    });
  }
  return yv;
}

namespace {

// dst[perm-index] = src: dst dim i is src dim perm[i]. (Or the reverse scatter when `inverse`.)
void PermuteCopy(const float* src, const Shape& ss, const std::vector<int>& perm, float* dst, bool accumulate_inverse) {
  const int r = ss.rank;
  int64_t sstride[kMaxRank];
  int64_t acc = 1;
  for (int i = r - 1; i >= 0; --i) sstride[i] = acc, acc *= ss[i];
  int64_t dshape[kMaxRank], dstride_src[kMaxRank];
  for (int i = 0; i < r; ++i) dshape[i] = ss[perm[i]], dstride_src[i] = sstride[perm[i]];
  const int64_t n = ss.numel();
  int64_t idx[kMaxRank] = {0, 0, 0, 0, 0, 0};
  int64_t soff = 0;
  for (int64_t k = 0; k < n; ++k) {
    if (accumulate_inverse) {
      dst[soff] += src[k];  // src here is the gradient in permuted layout, dst the input gradient
    } else {
      dst[k] = src[soff];
    }
    for (int i = r - 1; i >= 0; --i) {
      soff += dstride_src[i];
      if (++idx[i] < dshape[i]) break;
      soff -= dstride_src[i] * dshape[i];
      idx[i] = 0;
    }
  }
}

}  // namespace

Var* Permute(Tape& t, Var* x, const std::vector<int>& perm) {
  const Shape& xs = x->value.shape();
  if (static_cast<int>(perm.size()) != xs.rank)
    ShapeError("permute", "permutation length differs from rank of " + xs.str());
  bool seen[kMaxRank] = {false, false, false, false, false, false};
  for (int p : perm) {
    if (p < 0 || p >= xs.rank || seen[p])
      ShapeError("permute", "not a permutation of 0.." + std::to_string(xs.rank - 1));
    seen[p] = true;
  }
  Shape ys;
  ys.rank = xs.rank;
  for (int i = 0; i < xs.rank; ++i) ys[i] = xs[perm[i]];
  Tensor y(ys);
  PermuteCopy(x->value.data(), xs, perm, y.data(), false);
  Var* yv = MakeOut(t, std::move(y), {x});
  if (yv->requires_grad) {
    t.Record([&t, x, yv, perm] { PermuteCopy(yv->grad.data(), x->value.shape(), perm, t.Grad(x).data(), true); });
  }
  return yv;
}

}  // namespace ssm::ops
