// Float32 N-D contiguous tensors backed by a size-bucketed buffer pool.
//
// A Tensor is a shape plus a reference-counted buffer. Buffers come from BufferPool: when the last Tensor that
// uses a buffer goes away, the buffer goes back to a free list keyed by its capacity, so a training step that
// makes the same-sized tensors every iteration stops calling malloc after the first step (steady state).
// Shapes are stored inline (at most kMaxRank dims), so making a Tensor does not allocate either.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace ssm {

constexpr int kMaxRank = 6;

struct Shape {
  int rank = 0;
  int64_t d[kMaxRank] = {0, 0, 0, 0, 0, 0};

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  static Shape FromVector(const std::vector<int64_t>& dims);
  std::vector<int64_t> ToVector() const { return std::vector<int64_t>(d, d + rank); }

  int64_t operator[](int i) const { return d[i < 0 ? i + rank : i]; }
  int64_t& operator[](int i) { return d[i < 0 ? i + rank : i]; }
  int64_t numel() const;
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const;  // "(2, 3, 4)"
};

// One pooled allocation. Never freed while the pool lives; recycled through the free lists.
struct Buffer {
  float* data = nullptr;
  std::size_t capacity = 0;  // in floats
  std::atomic<int> refs{0};
};

class BufferPool {
 public:
  static BufferPool& Get();
  Buffer* Acquire(std::size_t n);  // refs == 1 on return, contents undefined
  void Release(Buffer* b);
  // Statistics for tests/benchmarks: how many fresh allocations were made, and bytes held.
  std::size_t allocations() const { return allocations_.load(); }
  std::size_t bytes_held() const { return bytes_held_.load(); }
  void Trim();  // frees every idle buffer

 private:
  BufferPool() = default;
  std::mutex mu_;
  std::unordered_map<std::size_t, std::vector<Buffer*>> free_;
  std::atomic<std::size_t> allocations_{0};
  std::atomic<std::size_t> bytes_held_{0};
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(const Shape& shape);  // uninitialised contents
  static Tensor Zeros(const Shape& shape);
  static Tensor Full(const Shape& shape, float value);
  ~Tensor() { reset(); }
  Tensor(const Tensor& o);
  Tensor(Tensor&& o) noexcept;
  Tensor& operator=(const Tensor& o);
  Tensor& operator=(Tensor&& o) noexcept;

  void reset();
  bool defined() const { return buf_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank; }
  int64_t dim(int i) const { return shape_[i]; }
  int64_t numel() const { return numel_; }
  float* data() { return buf_ ? buf_->data : nullptr; }
  const float* data() const { return buf_ ? buf_->data : nullptr; }
  void zero() {
    if (numel_) std::memset(data(), 0, sizeof(float) * numel_);
  }
  void fill(float v);
  Tensor clone() const;
  // Same buffer, new shape (numel must match). Writes through either alias are visible in both.
  Tensor view(const Shape& shape) const;

 private:
  Shape shape_;
  int64_t numel_ = 0;
  Buffer* buf_ = nullptr;
};

// Throws std::invalid_argument with `what` and both shapes when a != b.
void CheckSameShape(const Shape& a, const Shape& b, const char* what);

}  // namespace ssm
