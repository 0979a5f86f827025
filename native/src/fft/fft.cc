#include "fft/fft.h"

#include "fft/simd_dispatch.h"

#pragma GCC diagnostic ignored "-Wpsabi"  // 32-byte vectors stay inside inlined code

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace ssm::fft {

namespace {

constexpr int kMaxGenericRadix = 31;  // larger prime factors go through Bluestein

template <typename T>
inline Cx<T> Mul(Cx<T> a, Cx<T> b) {
  return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}
template <typename T>
inline Cx<T> Add(Cx<T> a, Cx<T> b) {
  return {a.re + b.re, a.im + b.im};
}
template <typename T>
inline Cx<T> Sub(Cx<T> a, Cx<T> b) {
  return {a.re - b.re, a.im - b.im};
}

// exp(sign * 2 pi i * num / den) computed in long double from a reduced fraction for accuracy.
template <typename T>
Cx<T> Root(long long num, long long den, int sign) {
  num %= den;
  if (num < 0) num += den;
  const long double a =
      2.0L * 3.14159265358979323846264338327950288L * static_cast<long double>(num) / static_cast<long double>(den);
  return {static_cast<T>(std::cos(a)), static_cast<T>(sign * std::sin(a))};
}

std::vector<int> Factorize(int n, bool* needs_bluestein) {
  std::vector<int> f;
  *needs_bluestein = false;
  while (n % 4 == 0) {
    f.push_back(4);
    n /= 4;
  }
  while (n % 2 == 0) {
    f.push_back(2);
    n /= 2;
  }
  for (int p : {3, 5}) {
    while (n % p == 0) {
      f.push_back(p);
      n /= p;
    }
  }
  for (int p = 7; p * p <= n || n > 1; p += 2) {
    if (p * p > n) p = n;  // n is prime
    while (n % p == 0) {
      if (p > kMaxGenericRadix) *needs_bluestein = true;
      f.push_back(p);
      n /= p;
    }
    if (n == 1) break;
  }
  return f;
}

template <typename T>
std::vector<Cx<T>>& ThreadScratch(int slot, std::size_t n) {
  thread_local std::vector<Cx<T>> bufs[4];
  auto& v = bufs[slot];
  if (v.size() < n) v.resize(n);
  return v;
}

}  // namespace

template <typename T>
ComplexPlan<T>::ComplexPlan(int n) : n_(n) {
  if (n < 1) throw std::invalid_argument("fft: length must be >= 1, got " + std::to_string(n));
  bool blue = false;
  const std::vector<int> radices = Factorize(n, &blue);
  if (blue) {
    bluestein_ = true;
    m_ = 1;
    while (m_ < 2 * n - 1) m_ *= 2;
    sub_ = std::make_unique<ComplexPlan<T>>(m_);
    chirp_.resize(n);
    for (int k = 0; k < n; ++k) {
      const long long k2 = static_cast<long long>(k) * k % (2LL * n);
      chirp_[k] = Root<T>(k2, 2LL * n, -1);
    }
    std::vector<Cx<T>> b(m_, Cx<T>{0, 0});
    const T inv_m = T(1) / static_cast<T>(m_);
    for (int k = 0; k < n; ++k) {
      const Cx<T> c{chirp_[k].re * inv_m, -chirp_[k].im * inv_m};
      b[k] = c;
      if (k > 0) b[m_ - k] = c;
    }
    chirp_spec_.resize(m_);
    sub_->Execute(b.data(), chirp_spec_.data(), false);
    return;
  }
  int s = 1, len = n;
  for (int r : radices) {
    Stage st;
    st.radix = r;
    st.m = len / r;
    st.s = s;
    st.tw_fwd.resize(static_cast<std::size_t>(st.m) * r);
    st.tw_inv.resize(st.tw_fwd.size());
    for (int p = 0; p < st.m; ++p) {
      for (int u = 0; u < r; ++u) {
        st.tw_fwd[p * r + u] = Root<T>(static_cast<long long>(p) * u, len, -1);
        st.tw_inv[p * r + u] = Root<T>(static_cast<long long>(p) * u, len, +1);
      }
    }
    if (r == 4 && s == 1) {
      st.tw_t_fwd.resize(st.tw_fwd.size());
      st.tw_t_inv.resize(st.tw_fwd.size());
      for (int p = 0; p < st.m; ++p)
        for (int u = 0; u < r; ++u) {
          st.tw_t_fwd[u * st.m + p] = st.tw_fwd[p * r + u];
          st.tw_t_inv[u * st.m + p] = st.tw_inv[p * r + u];
        }
    }
    if (r > 5) {
      st.root_fwd.resize(r * r);
      st.root_inv.resize(r * r);
      for (int t = 0; t < r; ++t) {
        for (int u = 0; u < r; ++u) {
          st.root_fwd[t * r + u] = Root<T>(static_cast<long long>(t) * u, r, -1);
          st.root_inv[t * r + u] = Root<T>(static_cast<long long>(t) * u, r, +1);
        }
      }
    }
    stages_.push_back(std::move(st));
    s *= r;
    len /= r;
  }
}

namespace {

// ---- float SIMD stages (GCC vector extensions; 4 interleaved complex per v8f). Twiddles depend on p only, so
// the contiguous q loop (stride s >= 4) multiplies by a broadcast complex.
typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

inline __attribute__((always_inline)) v8f LoadV(const Cx<float>* p) {
  v8f v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline __attribute__((always_inline)) void StoreV(Cx<float>* p, v8f v) { std::memcpy(p, &v, sizeof(v)); }
inline __attribute__((always_inline)) v8f SwapReIm(v8f x) {
  const v8i mask = {1, 0, 3, 2, 5, 4, 7, 6};
  return __builtin_shuffle(x, mask);
}
inline __attribute__((always_inline)) v8f CMulW(v8f x, Cx<float> w) {
  const v8f wr = {w.re, w.re, w.re, w.re, w.re, w.re, w.re, w.re};
  const v8f wi = {-w.im, w.im, -w.im, w.im, -w.im, w.im, -w.im, w.im};
  return x * wr + SwapReIm(x) * wi;
}

inline __attribute__((always_inline)) void Radix4Vec(int m, int s, const Cx<float>* tw, float sg, const Cx<float>* src,
                                                     Cx<float>* dst) {
  const v8f sgv = {-sg, sg, -sg, sg, -sg, sg, -sg, sg};  // j*x = sg*i*x = swap(x) * (-sg, sg)
  for (int p = 0; p < m; ++p) {
    const Cx<float> w1 = tw[p * 4 + 1], w2 = tw[p * 4 + 2], w3 = tw[p * 4 + 3];
    const Cx<float>* x0 = src + s * p;
    const Cx<float>* x1 = src + s * (p + m);
    const Cx<float>* x2 = src + s * (p + 2 * m);
    const Cx<float>* x3 = src + s * (p + 3 * m);
    Cx<float>* y0 = dst + s * (4 * p);
    for (int q = 0; q < s; q += 4) {
      const v8f a = LoadV(x0 + q), b = LoadV(x1 + q), c = LoadV(x2 + q), d = LoadV(x3 + q);
      const v8f apc = a + c, amc = a - c, bpd = b + d, bmd = b - d;
      const v8f jbmd = SwapReIm(bmd) * sgv;
      StoreV(y0 + q, apc + bpd);
      StoreV(y0 + q + s, CMulW(amc + jbmd, w1));
      StoreV(y0 + q + 2 * s, CMulW(apc - bpd, w2));
      StoreV(y0 + q + 3 * s, CMulW(amc - jbmd, w3));
    }
  }
}

inline __attribute__((always_inline)) void Radix2Vec(int m, int s, const Cx<float>* tw, const Cx<float>* src,
                                                     Cx<float>* dst) {
  for (int p = 0; p < m; ++p) {
    const Cx<float> w1 = tw[p * 2 + 1];
    const Cx<float>* x0 = src + s * p;
    const Cx<float>* x1 = src + s * (p + m);
    Cx<float>* y0 = dst + s * (2 * p);
    for (int q = 0; q < s; q += 4) {
      const v8f a = LoadV(x0 + q), b = LoadV(x1 + q);
      StoreV(y0 + q, a + b);
      StoreV(y0 + q + s, CMulW(a - b, w1));
    }
  }
}

// Stockham autosort, decimation in frequency. Stage: x (n_sub = r*m blocks of stride s) -> y.
//   y[q + s*(r*p + u)] = (sum_t x[q + s*(p + t*m)] w_r^{t u}) * w_{r m}^{p u}
inline __attribute__((always_inline)) v8f RevCx(v8f x) {
  const v8i mask = {6, 7, 4, 5, 2, 3, 0, 1};
  return __builtin_shuffle(x, mask);
}
inline __attribute__((always_inline)) v8f CMulV(v8f w, v8f x) {  // elementwise complex w * x
  const v8i re = {0, 0, 2, 2, 4, 4, 6, 6}, im = {1, 1, 3, 3, 5, 5, 7, 7};
  const v8f sg = {-1, 1, -1, 1, -1, 1, -1, 1};
  return __builtin_shuffle(w, re) * x + __builtin_shuffle(w, im) * SwapReIm(x) * sg;
}

// First radix-4 stage (s == 1): vectorised over 4 consecutive p (inputs contiguous in p), twiddles from the
// transposed table tw_t[u][p], outputs y[4p + u] written after a 4x4 transpose of complex (64-bit) elements.
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4l __attribute__((vector_size(32)));
inline __attribute__((always_inline)) v4d AsCx64(v8f x) {
  v4d r;
  std::memcpy(&r, &x, sizeof(r));
  return r;
}
inline __attribute__((always_inline)) void StoreCx64(Cx<float>* p, v4d v) { std::memcpy(p, &v, sizeof(v)); }

inline __attribute__((always_inline)) void Radix4FirstVec(int m, const Cx<float>* tw_t, float sg, const Cx<float>* src,
                                                          Cx<float>* dst) {
  const v8f sgv = {-sg, sg, -sg, sg, -sg, sg, -sg, sg};
  const v4l lo = {0, 4, 2, 6}, hi = {1, 5, 3, 7}, first = {0, 1, 4, 5}, second = {2, 3, 6, 7};
  for (int p = 0; p < m; p += 4) {
    const v8f a = LoadV(src + p), b = LoadV(src + p + m), c = LoadV(src + p + 2 * m), d = LoadV(src + p + 3 * m);
    const v8f apc = a + c, amc = a - c, bpd = b + d, bmd = b - d;
    const v8f jbmd = SwapReIm(bmd) * sgv;
    const v8f y0 = apc + bpd;
    const v8f y1 = CMulV(LoadV(tw_t + m + p), amc + jbmd);
    const v8f y2 = CMulV(LoadV(tw_t + 2 * m + p), apc - bpd);
    const v8f y3 = CMulV(LoadV(tw_t + 3 * m + p), amc - jbmd);
    const v4d t0 = __builtin_shuffle(AsCx64(y0), AsCx64(y1), lo), t1 = __builtin_shuffle(AsCx64(y0), AsCx64(y1), hi);
    const v4d t2 = __builtin_shuffle(AsCx64(y2), AsCx64(y3), lo), t3 = __builtin_shuffle(AsCx64(y2), AsCx64(y3), hi);
    Cx<float>* out = dst + 4 * p;
    StoreCx64(out, __builtin_shuffle(t0, t2, first));
    StoreCx64(out + 4, __builtin_shuffle(t1, t3, first));
    StoreCx64(out + 8, __builtin_shuffle(t0, t2, second));
    StoreCx64(out + 12, __builtin_shuffle(t1, t3, second));
  }
}

template <typename T>
inline __attribute__((always_inline)) void StockhamBody(const std::vector<typename ComplexPlan<T>::Stage>& stages_,
                                                        int n, const Cx<T>* in, Cx<T>* out, bool inverse, Cx<T>* work) {
  if (stages_.empty()) {  // n == 1
    out[0] = in[0];
    return;
  }
  // Choose buffers so that the last stage writes into `out`.
  const int ns = static_cast<int>(stages_.size());
  const Cx<T>* src = in;
  Cx<T>* bufs[2] = {out, work};
  // stage i writes into bufs[(ns - 1 - i) % 2] so the last stage lands in out.
  for (int i = 0; i < ns; ++i) {
    const typename ComplexPlan<T>::Stage& st = stages_[i];
    Cx<T>* dst = bufs[(ns - 1 - i) % 2];
    if (dst == src) dst = bufs[(ns - i) % 2];  // in-place input: never read and write the same buffer
    const int r = st.radix, m = st.m, s = st.s;
    const Cx<T>* tw = inverse ? st.tw_inv.data() : st.tw_fwd.data();
    const T sg = inverse ? T(1) : T(-1);  // sign of i in w_4 = exp(sg * i * pi/2)
    if constexpr (std::is_same_v<T, float>) {
      if (r == 4 && s == 1 && m % 4 == 0) {
        Radix4FirstVec(m, inverse ? st.tw_t_inv.data() : st.tw_t_fwd.data(), sg, src, dst);
        src = dst;
        continue;
      }
      if ((r == 4 || r == 2) && s % 4 == 0) {
        if (r == 4) {
          Radix4Vec(m, s, tw, sg, src, dst);
        } else {
          Radix2Vec(m, s, tw, src, dst);
        }
        src = dst;
        continue;
      }
    }
    switch (r) {
      case 2:
        for (int p = 0; p < m; ++p) {
          const Cx<T> w1 = tw[p * 2 + 1];
          const Cx<T>* x0 = src + s * p;
          const Cx<T>* x1 = src + s * (p + m);
          Cx<T>* y0 = dst + s * (2 * p);
          Cx<T>* y1 = y0 + s;
          for (int q = 0; q < s; ++q) {
            const Cx<T> a = x0[q], b = x1[q];
            y0[q] = Add(a, b);
            y1[q] = Mul(Sub(a, b), w1);
          }
        }
        break;
      case 4:
        for (int p = 0; p < m; ++p) {
          const Cx<T> w1 = tw[p * 4 + 1], w2 = tw[p * 4 + 2], w3 = tw[p * 4 + 3];
          const Cx<T>* x0 = src + s * p;
          const Cx<T>* x1 = src + s * (p + m);
          const Cx<T>* x2 = src + s * (p + 2 * m);
          const Cx<T>* x3 = src + s * (p + 3 * m);
          Cx<T>* y0 = dst + s * (4 * p);
          for (int q = 0; q < s; ++q) {
            const Cx<T> a = x0[q], b = x1[q], c = x2[q], d = x3[q];
            const Cx<T> apc = Add(a, c), amc = Sub(a, c), bpd = Add(b, d), bmd = Sub(b, d);
            // j*bmd with j = exp(sg i pi/2) = sg*i
            const Cx<T> jbmd{-sg * bmd.im, sg * bmd.re};
            y0[q] = Add(apc, bpd);
            y0[q + s] = Mul(Add(amc, jbmd), w1);
            y0[q + 2 * s] = Mul(Sub(apc, bpd), w2);
            y0[q + 3 * s] = Mul(Sub(amc, jbmd), w3);
          }
        }
        break;
      case 3: {
        const T c1 = T(-0.5), s1 = sg * static_cast<T>(0.86602540378443864676372317075294L);
        for (int p = 0; p < m; ++p) {
          const Cx<T> w1 = tw[p * 3 + 1], w2 = tw[p * 3 + 2];
          const Cx<T>* x0 = src + s * p;
          const Cx<T>* x1 = src + s * (p + m);
          const Cx<T>* x2 = src + s * (p + 2 * m);
          Cx<T>* y0 = dst + s * (3 * p);
          for (int q = 0; q < s; ++q) {
            const Cx<T> a = x0[q], b = x1[q], c = x2[q];
            const Cx<T> bpc = Add(b, c), bmc = Sub(b, c);
            const Cx<T> t{a.re + c1 * bpc.re, a.im + c1 * bpc.im};
            const Cx<T> u{-s1 * bmc.im, s1 * bmc.re};  // i*s1*(b-c)
            y0[q] = Add(a, bpc);
            y0[q + s] = Mul(Add(t, u), w1);
            y0[q + 2 * s] = Mul(Sub(t, u), w2);
          }
        }
        break;
      }
      case 5: {
        const T c1 = static_cast<T>(0.30901699437494742410229341718282L);   // cos(2pi/5)
        const T c2 = static_cast<T>(-0.80901699437494742410229341718282L);  // cos(4pi/5)
        const T s1 = sg * static_cast<T>(0.95105651629515357211643933337938L);
        const T s2 = sg * static_cast<T>(0.58778525229247312916870595463907L);
        for (int p = 0; p < m; ++p) {
          const Cx<T> w1 = tw[p * 5 + 1], w2 = tw[p * 5 + 2], w3 = tw[p * 5 + 3], w4 = tw[p * 5 + 4];
          const Cx<T>* x0 = src + s * p;
          Cx<T>* y0 = dst + s * (5 * p);
          for (int q = 0; q < s; ++q) {
            const Cx<T> a = x0[q], b = x0[q + s * m], c = x0[q + 2 * s * m], d = x0[q + 3 * s * m],
                        e = x0[q + 4 * s * m];
            const Cx<T> bpe = Add(b, e), bme = Sub(b, e), cpd = Add(c, d), cmd = Sub(c, d);
            const Cx<T> t1{a.re + c1 * bpe.re + c2 * cpd.re, a.im + c1 * bpe.im + c2 * cpd.im};
            const Cx<T> t2{a.re + c2 * bpe.re + c1 * cpd.re, a.im + c2 * bpe.im + c1 * cpd.im};
            // i*(s1*bme + s2*cmd) and i*(s2*bme - s1*cmd)
            const Cx<T> u1{-(s1 * bme.im + s2 * cmd.im), s1 * bme.re + s2 * cmd.re};
            const Cx<T> u2{-(s2 * bme.im - s1 * cmd.im), s2 * bme.re - s1 * cmd.re};
            y0[q] = Add(a, Add(bpe, cpd));
            y0[q + s] = Mul(Add(t1, u1), w1);
            y0[q + 2 * s] = Mul(Add(t2, u2), w2);
            y0[q + 3 * s] = Mul(Sub(t2, u2), w3);
            y0[q + 4 * s] = Mul(Sub(t1, u1), w4);
          }
        }
        break;
      }
      default: {
        const Cx<T>* root = inverse ? st.root_inv.data() : st.root_fwd.data();
        for (int p = 0; p < m; ++p) {
          for (int q = 0; q < s; ++q) {
            for (int u = 0; u < r; ++u) {
              Cx<T> acc{0, 0};
              for (int t = 0; t < r; ++t) acc = Add(acc, Mul(src[q + s * (p + t * m)], root[t * r + u]));
              dst[q + s * (r * p + u)] = Mul(acc, tw[p * r + u]);
            }
          }
        }
        break;
      }
    }
    src = dst;
  }
  if (src != out) {
    for (int i = 0; i < n; ++i) out[i] = src[i];
  }
}

// ---- float SIMD pre/post-processing of the real transform (k and h - k processed as 4-wide blocks) ----
// Forward post-processing for k = 1 .. while both blocks are disjoint; returns the first k left to the scalar loop.
inline __attribute__((always_inline)) int RealPostBody(int h, Cx<float>* out, const Cx<float>* w) {
  const v8f half = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  const v8f pm = {1, -1, 1, -1, 1, -1, 1, -1};
  int k = 1;
  for (; k + 3 < h - k - 3; k += 4) {
    const int k2 = h - k - 3;  // block [k2, k2 + 3] holds h-k-3 .. h-k; reversed it pairs with k .. k+3
    const v8f a = LoadV(out + k), b = RevCx(LoadV(out + k2));
    const v8f fe = half * (a + b * pm);
    const v8f fo = half * (SwapReIm(a) * pm + SwapReIm(b));
    const v8f w1 = LoadV(w + k), w2 = RevCx(LoadV(w + k2));
    const v8f x1 = fe + CMulV(w1, fo);
    const v8f x2 = fe * pm + CMulV(w2, fo * pm);
    StoreV(out + k, x1);
    StoreV(out + k2, RevCx(x2));
  }
  return k;
}

// Inverse pre-processing z[k] for k = 1 .. ; returns the first k left to the scalar loop.
inline __attribute__((always_inline)) int RealPreBody(int h, const Cx<float>* in, const Cx<float>* w, Cx<float>* z) {
  const v8f pm = {1, -1, 1, -1, 1, -1, 1, -1};
  const v8f sg = {-1, 1, -1, 1, -1, 1, -1, 1};
  int k = 1;
  for (; k + 3 <= h - 1; k += 4) {
    const v8f a = LoadV(in + k), b = RevCx(LoadV(in + h - k - 3));
    const v8f sum = a + b * pm, dif = a - b * pm;
    const v8f d = CMulV(LoadV(w + k) * pm, dif);
    StoreV(z + k, sum + SwapReIm(d) * sg);
  }
  return k;
}

int RealPostGeneric(int h, Cx<float>* out, const Cx<float>* w) { return RealPostBody(h, out, w); }
int RealPreGeneric(int h, const Cx<float>* in, const Cx<float>* w, Cx<float>* z) { return RealPreBody(h, in, w, z); }
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) int RealPostAvx2(int h, Cx<float>* out, const Cx<float>* w) {
  return RealPostBody(h, out, w);
}
__attribute__((target("avx2,fma"))) int RealPreAvx2(int h, const Cx<float>* in, const Cx<float>* w, Cx<float>* z) {
  return RealPreBody(h, in, w, z);
}
#endif
bool UseAvx2() {
#if defined(__x86_64__) || defined(__i386__)
  return simd::UseAvx2Fma();
#else
  return false;
#endif
}
int RealPost(int h, Cx<float>* out, const Cx<float>* w) {
#if defined(__x86_64__) || defined(__i386__)
  static const bool avx2 = UseAvx2();
  if (avx2) return RealPostAvx2(h, out, w);
#endif
  return RealPostGeneric(h, out, w);
}
int RealPre(int h, const Cx<float>* in, const Cx<float>* w, Cx<float>* z) {
#if defined(__x86_64__) || defined(__i386__)
  static const bool avx2 = UseAvx2();
  if (avx2) return RealPreAvx2(h, in, w, z);
#endif
  return RealPreGeneric(h, in, w, z);
}

void StockhamFloatGeneric(const std::vector<ComplexPlan<float>::Stage>& st, int n, const Cx<float>* in, Cx<float>* out,
                          bool inverse, Cx<float>* work) {
  StockhamBody<float>(st, n, in, out, inverse, work);
}
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) void StockhamFloatAvx2(const std::vector<ComplexPlan<float>::Stage>& st, int n,
                                                           const Cx<float>* in, Cx<float>* out, bool inverse,
                                                           Cx<float>* work) {
  StockhamBody<float>(st, n, in, out, inverse, work);
}
#endif
using StockhamFloatFn = void (*)(const std::vector<ComplexPlan<float>::Stage>&, int, const Cx<float>*, Cx<float>*, bool,
                                 Cx<float>*);
StockhamFloatFn SelectStockhamFloat() {
#if defined(__x86_64__) || defined(__i386__)
  if (simd::UseAvx2Fma()) return StockhamFloatAvx2;
#endif
  return StockhamFloatGeneric;
}

}  // namespace

template <typename T>
void ComplexPlan<T>::RunStockham(const Cx<T>* in, Cx<T>* out, bool inverse, Cx<T>* work) const {
  if constexpr (std::is_same_v<T, float>) {
    static const StockhamFloatFn fn = SelectStockhamFloat();
    fn(stages_, n_, in, out, inverse, work);
  } else {
    StockhamBody<T>(stages_, n_, in, out, inverse, work);
  }
}

template <typename T>
void ComplexPlan<T>::RunBluestein(const Cx<T>* in, Cx<T>* out, bool inverse) const {
  // X_k = c_k * sum_j (x_j c_j) conj(c_{k-j}),  c_k = exp(-pi i k^2/n). Inverse: conjugate in and out.
  auto& a = ThreadScratch<T>(1, m_);
  const int n = n_;
  for (int k = 0; k < n; ++k) {
    Cx<T> x = in[k];
    if (inverse) x.im = -x.im;
    a[k] = Mul(x, chirp_[k]);
  }
  for (int k = n; k < m_; ++k) a[k] = Cx<T>{0, 0};
  sub_->Execute(a.data(), a.data(), false);
  for (int k = 0; k < m_; ++k) a[k] = Mul(a[k], chirp_spec_[k]);
  sub_->Execute(a.data(), a.data(), true);
  for (int k = 0; k < n; ++k) {
    Cx<T> y = Mul(a[k], chirp_[k]);
    if (inverse) y.im = -y.im;
    out[k] = y;
  }
}

template <typename T>
void ComplexPlan<T>::Execute(const Cx<T>* in, Cx<T>* out, bool inverse) const {
  if (bluestein_) {
    RunBluestein(in, out, inverse);
    return;
  }
  // Scratch slots: 0 = Stockham work, 1 = Bluestein data (its inner power-of-two plan uses slot 0),
  // 2 = RealPlan packing, 3 = N-D line buffer. In-place is safe: stage 0 reads `in` before anything is written to it.
  auto& work = ThreadScratch<T>(0, static_cast<std::size_t>(n_));
  RunStockham(in, out, inverse, work.data());
}

template <typename T>
RealPlan<T>::RealPlan(int n) : n_(n) {
  if (n < 1) throw std::invalid_argument("fft: real length must be >= 1, got " + std::to_string(n));
  if (n % 2 == 0) {
    half_ = &GetComplexPlan<T>(n / 2);
    w_.resize(n / 2 + 1);
    for (int k = 0; k <= n / 2; ++k) w_[k] = Root<T>(k, n, -1);
  } else {
    full_ = &GetComplexPlan<T>(n);
  }
}

template <typename T>
void RealPlan<T>::Forward(const T* in, Cx<T>* out) const {
  const int n = n_;
  if (full_) {
    auto& z = ThreadScratch<T>(2, n);
    for (int j = 0; j < n; ++j) z[j] = Cx<T>{in[j], 0};
    full_->Execute(z.data(), z.data(), false);
    for (int k = 0; k <= n / 2; ++k) out[k] = z[k];
    return;
  }
  const int h = n / 2;
  // Pack z[j] = x[2j] + i x[2j+1] directly into out (h complex values fit in h+1 slots).
  for (int j = 0; j < h; ++j) out[j] = Cx<T>{in[2 * j], in[2 * j + 1]};
  half_->Execute(out, out, false);
  const Cx<T> z0 = out[0];
  out[h] = Cx<T>{z0.re - z0.im, 0};
  out[0] = Cx<T>{z0.re + z0.im, 0};
  int k0 = 1;
  if constexpr (std::is_same_v<T, float>) k0 = RealPost(h, out, w_.data());
  for (int k = k0; k <= h / 2; ++k) {
    const int k2 = h - k;
    const Cx<T> a = out[k], b = out[k2];
    // Fe = (Z[k] + conj Z[h-k]) / 2, Fo = (Z[k] - conj Z[h-k]) / (2i); X[k] = Fe + w^k Fo
    const Cx<T> fe{T(0.5) * (a.re + b.re), T(0.5) * (a.im - b.im)};
    const Cx<T> fo{T(0.5) * (a.im + b.im), T(-0.5) * (a.re - b.re)};
    const Cx<T> fe2{fe.re, -fe.im};  // for k2: Fe[h-k] = conj Fe[k], Fo[h-k] = conj Fo[k]
    const Cx<T> fo2{fo.re, -fo.im};
    out[k] = Add(fe, Mul(w_[k], fo));
    out[k2] = Add(fe2, Mul(w_[k2], fo2));
  }
}

template <typename T>
void RealPlan<T>::Inverse(const Cx<T>* in, T* out) const {
  const int n = n_;
  if (full_) {
    auto& z = ThreadScratch<T>(2, n);
    z[0] = Cx<T>{in[0].re, 0};
    for (int k = 1; k <= n / 2; ++k) {
      z[k] = in[k];
      z[n - k] = Cx<T>{in[k].re, -in[k].im};
    }
    full_->Execute(z.data(), z.data(), true);
    for (int j = 0; j < n; ++j) out[j] = z[j].re;
    return;
  }
  const int h = n / 2;
  auto& z = ThreadScratch<T>(2, h);
  // Z[k] = (X[k] + conj X[h-k]) + i (X[k] - conj X[h-k]) / w^k
  int k1 = 1;
  if constexpr (std::is_same_v<T, float>) k1 = RealPre(h, in, w_.data(), z.data());
  for (int k = 0; k < h; k = (k == 0 ? k1 : k + 1)) {
    Cx<T> a = in[k], b = in[h - k];
    if (k == 0) {
      a.im = 0;
      b.im = 0;
    }
    if (h - k == h) b.im = 0;
    const Cx<T> sum{a.re + b.re, a.im - b.im};
    const Cx<T> dif{a.re - b.re, a.im + b.im};
    const Cx<T> wc{w_[k].re, -w_[k].im};  // 1/w^k = conj(w^k)
    const Cx<T> d = Mul(dif, wc);
    z[k] = Cx<T>{sum.re - d.im, sum.im + d.re};
  }
  half_->Execute(z.data(), z.data(), true);
  for (int j = 0; j < h; ++j) {
    out[2 * j] = z[j].re;
    out[2 * j + 1] = z[j].im;
  }
}

template <typename T>
const ComplexPlan<T>& GetComplexPlan(int n) {
  static std::mutex mu;
  static std::map<int, std::unique_ptr<ComplexPlan<T>>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(n);
  if (it != cache.end()) return *it->second;
  auto plan = std::make_unique<ComplexPlan<T>>(n);
  const ComplexPlan<T>& ref = *plan;
  cache.emplace(n, std::move(plan));
  return ref;
}

template <typename T>
const RealPlan<T>& GetRealPlan(int n) {
  static std::mutex mu;
  static std::map<int, std::unique_ptr<RealPlan<T>>> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(n);
    if (it != cache.end()) return *it->second;
  }
  auto plan = std::make_unique<RealPlan<T>>(n);  // may take the complex-plan lock; not under ours
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(n);
  if (it != cache.end()) return *it->second;
  const RealPlan<T>& ref = *plan;
  cache.emplace(n, std::move(plan));
  return ref;
}

namespace {

// Complex transform along axis `axis` of a row-major complex array with shape dims (in place).
template <typename T>
void ComplexAlongAxis(const std::vector<int>& dims, int axis, Cx<T>* data, bool inverse) {
  const int n = dims[axis];
  std::size_t outer = 1, inner = 1;
  for (int a = 0; a < axis; ++a) outer *= dims[a];
  for (std::size_t a = axis + 1; a < dims.size(); ++a) inner *= dims[a];
  const ComplexPlan<T>& plan = GetComplexPlan<T>(n);
  auto& buf = ThreadScratch<T>(3, static_cast<std::size_t>(n));
  for (std::size_t o = 0; o < outer; ++o) {
    for (std::size_t i = 0; i < inner; ++i) {
      Cx<T>* base = data + o * n * inner + i;
      for (int j = 0; j < n; ++j) buf[j] = base[j * inner];
      plan.Execute(buf.data(), buf.data(), inverse);
      for (int j = 0; j < n; ++j) base[j * inner] = buf[j];
    }
  }
}

}  // namespace

template <typename T>
void RealForwardNd(const std::vector<int>& dims, const T* in, Cx<T>* out) {
  const int nd = static_cast<int>(dims.size());
  const int last = dims[nd - 1], bins = last / 2 + 1;
  std::size_t rows = 1;
  for (int a = 0; a < nd - 1; ++a) rows *= dims[a];
  const RealPlan<T>& plan = GetRealPlan<T>(last);
  for (std::size_t r = 0; r < rows; ++r) plan.Forward(in + r * last, out + r * bins);
  std::vector<int> cdims = dims;
  cdims[nd - 1] = bins;
  for (int a = 0; a < nd - 1; ++a) ComplexAlongAxis(cdims, a, out, false);
}

template <typename T>
void RealInverseNd(const std::vector<int>& dims, const Cx<T>* in, T* out) {
  const int nd = static_cast<int>(dims.size());
  const int last = dims[nd - 1], bins = last / 2 + 1;
  std::size_t rows = 1;
  for (int a = 0; a < nd - 1; ++a) rows *= dims[a];
  std::vector<int> cdims = dims;
  cdims[nd - 1] = bins;
  thread_local std::vector<Cx<T>> tmp;  // grow-only copy of the input spectrum (the transform runs in place)
  if (tmp.size() < rows * bins) tmp.resize(rows * bins);
  std::copy(in, in + rows * bins, tmp.begin());
  for (int a = 0; a < nd - 1; ++a) ComplexAlongAxis(cdims, a, tmp.data(), true);
  const RealPlan<T>& plan = GetRealPlan<T>(last);
  for (std::size_t r = 0; r < rows; ++r) plan.Inverse(tmp.data() + r * bins, out + r * last);
}

#define SSM_FFT_INSTANTIATE(T)                                               \
  template class ComplexPlan<T>;                                             \
  template class RealPlan<T>;                                                \
  template const ComplexPlan<T>& GetComplexPlan<T>(int);                     \
  template const RealPlan<T>& GetRealPlan<T>(int);                           \
  template void RealForwardNd<T>(const std::vector<int>&, const T*, Cx<T>*); \
  template void RealInverseNd<T>(const std::vector<int>&, const Cx<T>*, T*);

SSM_FFT_INSTANTIATE(float)
SSM_FFT_INSTANTIATE(double)

}  // namespace ssm::fft
