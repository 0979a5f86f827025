#include "core/thread_pool.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace ssm {

namespace {
thread_local bool tls_in_pool = false;
thread_local int tls_worker_index = 0;
std::mutex g_pool_mu;
std::unique_ptr<ThreadPool> g_pool;
}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_work_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::worker_loop(int index) {
  tls_in_pool = true;
  tls_worker_index = index;
  unsigned seen = 0;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_work_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    run_chunks(lock);
  }
}

void ThreadPool::run_chunks(std::unique_lock<std::mutex>& lock) {
  while (next_ < n_) {
    const std::size_t b = next_;
    const std::size_t e = std::min(n_, b + chunk_);
    next_ = e;
    ++active_;
    const auto* task = task_;
    lock.unlock();
    std::exception_ptr err;
    try {
      (*task)(b, e);
    } catch (...) {
      err = std::current_exception();
    }
    lock.lock();
    if (err) {
      // Keep the first error for the caller and stop handing out chunks.
      if (!error_) error_ = err;
      next_ = n_;
    }
    if (--active_ == 0 && next_ >= n_) cv_done_.notify_all();
  }
}

void ThreadPool::parallel_for(std::size_t n, std::size_t grain,
                              const std::function<void(std::size_t, std::size_t)>& fn) {
  if (n == 0) return;
  grain = std::max<std::size_t>(1, grain);
  if (threads_ == 1 || tls_in_pool || n <= grain) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> run_lock(run_mu_);
  const std::size_t parts = std::min<std::size_t>(static_cast<std::size_t>(threads_) * 4, (n + grain - 1) / grain);
  std::unique_lock<std::mutex> lock(mu_);
  task_ = &fn;
  n_ = n;
  chunk_ = (n + parts - 1) / parts;
  next_ = 0;
  active_ = 0;
  error_ = nullptr;
  ++generation_;
  cv_work_.notify_all();
  tls_in_pool = true;
  run_chunks(lock);
  tls_in_pool = false;
  // Every chunk has been handed out; wait only for chunks still running (they use `fn`, which lives in the caller's
  // frame). Workers that have not woken up yet are not waited for: they will find no chunk left.
  cv_done_.wait(lock, [&] { return active_ == 0; });
  task_ = nullptr;
  n_ = 0;
  next_ = 0;
  if (error_) {
    std::exception_ptr err = error_;
    error_ = nullptr;
    std::rethrow_exception(err);
  }
}

int CurrentWorkerIndex() { return tls_worker_index; }

int DefaultThreads() {
  if (const char* env = std::getenv("SSM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

ThreadPool& GlobalPool() {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  if (!g_pool) g_pool = std::make_unique<ThreadPool>(DefaultThreads());
  return *g_pool;
}

void SetThreads(int n) {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  g_pool = std::make_unique<ThreadPool>(n > 0 ? n : DefaultThreads());
}

}  // namespace ssm
