// FFTs of any length: complex (mixed radix 2/3/4/5 + generic small odd radix, Bluestein for large primes),
// real-to-complex / complex-to-real, and N-D real transforms. Plans are cached per length and are immutable, so one
// plan may be used by many threads at once. Scratch memory is thread-local and grow-only: no allocation per call once
// a thread has seen a length.
//
// Conventions: forward X[k] = sum_j x[j] exp(-2 pi i jk/n); inverse transforms are UNNORMALISED (sum with the + sign),
// so inverse(forward(x)) = n * x.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace ssm::fft {

template <typename T>
struct Cx {
  T re, im;
};

template <typename T>
class ComplexPlan {
 public:
  explicit ComplexPlan(int n);
  int size() const { return n_; }
  // out-of-place or in-place (in == out allowed). inverse: + sign, unnormalised.
  void Execute(const Cx<T>* in, Cx<T>* out, bool inverse) const;

  struct Stage {
    int radix, m, s;            // n_sub = radix * m at this stage, stride s
    std::vector<Cx<T>> tw_fwd;  // (m, radix) twiddles w_{radix*m}^{p*u}
    std::vector<Cx<T>> tw_inv;
    std::vector<Cx<T>> tw_t_fwd;  // (radix, m) transposed twiddles for the vectorised s == 1 radix-4 stage
    std::vector<Cx<T>> tw_t_inv;
    std::vector<Cx<T>> root_fwd;  // (radix, radix) generic butterfly roots, only for radix > 5
    std::vector<Cx<T>> root_inv;
  };

 private:
  void RunStockham(const Cx<T>* in, Cx<T>* out, bool inverse, Cx<T>* work) const;
  void RunBluestein(const Cx<T>* in, Cx<T>* out, bool inverse) const;

  int n_;
  bool bluestein_ = false;
  std::vector<Stage> stages_;
  // Bluestein
  int m_ = 0;
  std::vector<Cx<T>> chirp_;       // exp(-pi i k^2 / n), k < n
  std::vector<Cx<T>> chirp_spec_;  // forward FFT (length m_) of the conjugate chirp, scaled by 1/m_
  std::unique_ptr<ComplexPlan<T>> sub_;
};

// Real transform of length n: forward gives n/2+1 complex bins; inverse takes n/2+1 bins (imag of bin 0 and, for
// even n, bin n/2 are ignored) and returns n reals, unnormalised.
template <typename T>
class RealPlan {
 public:
  explicit RealPlan(int n);
  int size() const { return n_; }
  int bins() const { return n_ / 2 + 1; }
  void Forward(const T* in, Cx<T>* out) const;
  void Inverse(const Cx<T>* in, T* out) const;

 private:
  int n_;
  const ComplexPlan<T>* half_ = nullptr;  // n even: complex plan of n/2
  const ComplexPlan<T>* full_ = nullptr;  // n odd: complex plan of n
  std::vector<Cx<T>> w_;                  // exp(-2 pi i k/n), k <= n/2
};

// Cached plans (created on first use, never freed; thread-safe lookup).
template <typename T>
const ComplexPlan<T>& GetComplexPlan(int n);
template <typename T>
const RealPlan<T>& GetRealPlan(int n);

// N-D real transform of a row-major array with shape dims[0..nd-1]. Output shape dims with the last replaced by
// dims[nd-1]/2+1. Inverse is unnormalised (result = prod(dims) * x).
template <typename T>
void RealForwardNd(const std::vector<int>& dims, const T* in, Cx<T>* out);
template <typename T>
void RealInverseNd(const std::vector<int>& dims, const Cx<T>* in, T* out);

// The fused per-line convolution (transform, multiply by the kernel spectrum, inverse, slice) used by the S4ND layer
// lives with the layer's convolution (s4nd/s4nd_conv.cc: FftSlab / FftBackwardSlab), next to its data layout.

}  // namespace ssm::fft
