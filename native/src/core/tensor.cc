#include "core/tensor.h"

#include <cstdlib>
#include <new>

namespace ssm {

Shape::Shape(std::initializer_list<int64_t> dims) {
  if (dims.size() > static_cast<std::size_t>(kMaxRank)) throw std::invalid_argument("tensor rank above 6");
  for (int64_t v : dims) d[rank++] = v;
}

Shape Shape::FromVector(const std::vector<int64_t>& dims) {
  if (dims.size() > static_cast<std::size_t>(kMaxRank)) {
    throw std::invalid_argument("tensor rank " + std::to_string(dims.size()) + " above the maximum of 6");
  }
  Shape s;
  for (int64_t v : dims) s.d[s.rank++] = v;
  return s;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank; ++i) n *= d[i];
  return n;
}

bool Shape::operator==(const Shape& o) const {
  if (rank != o.rank) return false;
  for (int i = 0; i < rank; ++i)
    if (d[i] != o.d[i]) return false;
  return true;
}

std::string Shape::str() const {
  std::string s = "(";
  for (int i = 0; i < rank; ++i) {
    if (i) s += ", ";
    s += std::to_string(d[i]);
  }
  return s + ")";
}

BufferPool& BufferPool::Get() {
  static BufferPool* pool = new BufferPool();  // intentionally leaked: outlives every Tensor at exit
  return *pool;
}

Buffer* BufferPool::Acquire(std::size_t n) {
  // Round small sizes up to a multiple of 16 floats (64 bytes) so near-identical sizes share buckets.
  const std::size_t cap = n == 0 ? 16 : (n + 15) & ~static_cast<std::size_t>(15);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.find(cap);
    if (it != free_.end() && !it->second.empty()) {
      Buffer* b = it->second.back();
      it->second.pop_back();
      b->refs.store(1);
      return b;
    }
  }
  auto* b = new Buffer();
  b->data = static_cast<float*>(std::aligned_alloc(64, cap * sizeof(float)));
  if (!b->data) {
    delete b;
    throw std::bad_alloc();
  }
  b->capacity = cap;
  b->refs.store(1);
  allocations_.fetch_add(1);
  bytes_held_.fetch_add(cap * sizeof(float));
  return b;
}

void BufferPool::Release(Buffer* b) {
  std::lock_guard<std::mutex> lock(mu_);
  free_[b->capacity].push_back(b);
}

void BufferPool::Trim() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& kv : free_) {
    for (Buffer* b : kv.second) {
      bytes_held_.fetch_sub(b->capacity * sizeof(float));
      std::free(b->data);
      delete b;
    }
  }
  free_.clear();
}

Tensor::Tensor(const Shape& shape) : shape_(shape), numel_(shape.numel()) {
  for (int i = 0; i < shape.rank; ++i) {
    if (shape.d[i] < 0) throw std::invalid_argument("negative dimension in shape " + shape.str());
  }
  buf_ = BufferPool::Get().Acquire(static_cast<std::size_t>(numel_));
}

Tensor Tensor::Zeros(const Shape& shape) {
  Tensor t(shape);
  t.zero();
  return t;
}

Tensor Tensor::Full(const Shape& shape, float value) {
  Tensor t(shape);
  t.fill(value);
  return t;
}

Tensor::Tensor(const Tensor& o) : shape_(o.shape_), numel_(o.numel_), buf_(o.buf_) {
  if (buf_) buf_->refs.fetch_add(1);
}

Tensor::Tensor(Tensor&& o) noexcept : shape_(o.shape_), numel_(o.numel_), buf_(o.buf_) {
  o.buf_ = nullptr;
  o.numel_ = 0;
  o.shape_ = Shape();
}

Tensor& Tensor::operator=(const Tensor& o) {
  if (this == &o) return *this;
  if (o.buf_) o.buf_->refs.fetch_add(1);
  reset();
  shape_ = o.shape_;
  numel_ = o.numel_;
  buf_ = o.buf_;
  return *this;
}

Tensor& Tensor::operator=(Tensor&& o) noexcept {
  if (this == &o) return *this;
  reset();
  shape_ = o.shape_;
  numel_ = o.numel_;
  buf_ = o.buf_;
  o.buf_ = nullptr;
  o.numel_ = 0;
  o.shape_ = Shape();
  return *this;
}

void Tensor::reset() {
  if (buf_ && buf_->refs.fetch_sub(1) == 1) BufferPool::Get().Release(buf_);
  buf_ = nullptr;
  numel_ = 0;
  shape_ = Shape();
}

void Tensor::fill(float v) {
  float* p = data();
  for (int64_t i = 0; i < numel_; ++i) p[i] = v;
}

Tensor Tensor::clone() const {
  Tensor t(shape_);
  if (numel_) std::memcpy(t.data(), data(), sizeof(float) * numel_);
  return t;
}

Tensor Tensor::view(const Shape& shape) const {
  if (shape.numel() != numel_) {
    throw std::invalid_argument("cannot view a tensor of shape " + shape_.str() + " as " + shape.str());
  }
  Tensor t(*this);
  t.shape_ = shape;
  return t;
}

void CheckSameShape(const Shape& a, const Shape& b, const char* what) {
  if (a != b) throw std::invalid_argument(std::string(what) + ": shapes differ, " + a.str() + " vs " + b.str());
}

}  // namespace ssm
