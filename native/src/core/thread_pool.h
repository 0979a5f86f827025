// A small fixed-size thread pool for data-parallel loops.
// Sized to the machine by default (hardware_concurrency), overridable with SSM_THREADS or SetThreads().
// parallel_for splits [0, n) into contiguous chunks, runs them on the pool plus the calling thread,
// and returns when every chunk is done. Calls from inside a pool task run serially (no nested parallelism).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ssm {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }

  // Runs fn(begin, end) over chunks of [0, n). grain = minimum chunk length. If fn throws (on any thread), the
  // remaining chunks are skipped, every thread is waited for, and the first exception is rethrown here.
  void parallel_for(std::size_t n, std::size_t grain, const std::function<void(std::size_t, std::size_t)>& fn);

 private:
  void worker_loop(int index);
  // Runs chunks of the current task until none is left. Called with mu_ held (through lock); returns with it held.
  void run_chunks(std::unique_lock<std::mutex>& lock);

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_work_;
  std::condition_variable cv_done_;
  const std::function<void(std::size_t, std::size_t)>* task_ = nullptr;
  std::size_t n_ = 0;
  std::size_t chunk_ = 0;
  std::size_t next_ = 0;
  int active_ = 0;  // chunks being run right now
  unsigned generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;  // first exception thrown by a chunk of the current parallel_for
  std::mutex run_mu_;         // one parallel_for at a time
};

// The process-wide pool. Thread count: SetThreads(n) if called before first use, else env SSM_THREADS, else the
// machine's hardware concurrency.
ThreadPool& GlobalPool();
// Index of the calling thread within the pool running it: 0 for the thread that called parallel_for (or any thread
// outside a pool), 1..threads-1 for the pool's workers. Lets a loop use one scratch buffer per thread.
int CurrentWorkerIndex();
// Replaces the global pool (not while a parallel_for runs). n <= 0 means "machine default".
void SetThreads(int n);
int DefaultThreads();

}  // namespace ssm
