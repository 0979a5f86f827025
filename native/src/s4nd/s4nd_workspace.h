// Grow-only buffers of the S4ND layer: S4ndWorkspace (scratch reused across calls) and S4ndSaved (what Backward needs
// from Forward). Nothing here shrinks; every growth is counted in GrowEvents() so callers can check that the steady
// state allocates nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "s4nd/s4nd_layer.h"

namespace ssm::s4nd {

constexpr int kMaxDim = 3;

// Process-wide count of grow events of S4ND buffers (workspace, saved, thread-local scratch).
std::atomic<uint64_t>& GrowEventCounter();
inline uint64_t GrowEvents() { return GrowEventCounter().load(); }

template <typename T>
T* GrowTo(std::vector<T>& v, std::size_t n) {
  if (v.size() < n) {
    v.resize(n);
    GrowEventCounter().fetch_add(1);
  }
  return v.data();
}

// Thread-local grow-only scratch, one vector per (type, slot).
template <typename T>
T* ThreadScratch(int slot, std::size_t n) {
  thread_local std::vector<T> bufs[8];
  return GrowTo(bufs[slot], n);
}

// Convolution data of one axis for one call: the two-sided circular kernel and what each algorithm needs.
struct AxisConvData {
  ConvAlgo algo = ConvAlgo::kFft;  // resolved (never kAuto)
  int L = 0, Lk = 0, P = 0;
  std::vector<float> kb;     // (C*H, P) circular two-sided kernel: index j < L is lag j, j >= L is lag j - P
  std::vector<float> spec;   // FFT: (C*H, P/2+1, 2) spectrum of kb scaled by 1/P
  std::vector<float> toe;    // direct: (C*H, L, L) T[i][p] = K(i - p)
  std::vector<float> toe_t;  // direct: (C*H, L, L) T^T
};

class S4ndWorkspace {
 public:
  std::vector<double> k[kMaxDim];   // (rows, H, Lk) per axis
  std::vector<double> dk[kMaxDim];  // (rows, H, Lk) per axis
  std::vector<float> dkb[kMaxDim];  // (C*H, P) per axis
  std::vector<float> g0;            // (B, C, H, L...) K^T g per head (the chain's input gradient)
  std::vector<float> gy;            // linear=false: (B, C, H, L...) gradient w.r.t. y before the head
  std::vector<float> head;          // linear=false scratch
  std::vector<float> head2;
  std::size_t CapacityBytes() const;
};

class S4ndSaved {
 public:
  bool valid = false;
  int batch = 0;
  double rate = 1.0;
  int L[kMaxDim] = {0, 0, 0};
  AxisConvData conv[kMaxDim];
  std::vector<float> u;               // (B, H, L...)
  std::vector<float> chain[kMaxDim];  // chain[a] = input of the axis-a convolution for a < D-1: (B, C, H, L...)
  std::vector<float> xspec[kMaxDim];  // FFT axes: spectra of the axis-a input lines (see SavedSpectrumSize)
  std::vector<float> ypre;            // linear=false: (B, C*H, L...) before GELU
  std::vector<float> v;               // linear=false: (B, 2H, L...) after the linear map
  std::size_t CapacityBytes() const;
};

}  // namespace ssm::s4nd
