// A fixed pool of worker threads behind tcc_parallel_for. One parallel loop runs at a time.
// Each thread owns a contiguous share of the iterations, the same share on every call, so
// that the data it touched last time is still in its core's caches; a thread that finishes
// early takes chunks from the others' shares.
#include "runtime/thread_pool.h"

#include <tcc/error.h>
#include <tcc/threads.h>

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tcc::runtime {

int available_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

namespace {

thread_local bool t_inside_task = false;

int default_threads() {
  if (const char* v = std::getenv("TCC_NUM_THREADS"); v && *v) {
    char* end = nullptr;
    errno = 0;
    const long n = std::strtol(v, &end, 10);
    if (errno == 0 && *end == '\0' && n >= 1 && n <= 4096) return static_cast<int>(n);
    // Once per process (the pool reads it once): a typo should not pass unnoticed.
    std::fprintf(stderr, "tcc: warning: TCC_NUM_THREADS='%s' is not a thread count from 1 to 4096; using %d\n", v,
                 available_cpus());
  }
  return available_cpus();
}

class ThreadPool {
 public:
  static ThreadPool& instance() {
    static ThreadPool pool;
    return pool;
  }
  ~ThreadPool() { stop_workers(); }

  void set_threads(int n) {
    std::lock_guard<std::mutex> busy(run_mutex_);
    if (n == threads_) return;
    stop_workers();
    threads_ = n;  // workers start on the next parallel loop
  }
  int threads() const { return threads_; }

  int run(int (*task)(void*, int64_t), void* closure, int64_t n) {
    std::unique_lock<std::mutex> busy(run_mutex_, std::try_to_lock);
    if (threads_ <= 1 || n <= 1 || t_inside_task || !busy.owns_lock()) return run_inline(task, closure, n);
    start_workers();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = {task, closure, n};
      for (int p = 0; p < threads_; ++p) {
        shares_[p].next.store(n * p / threads_, std::memory_order_relaxed);
        shares_[p].end = n * (p + 1) / threads_;
      }
      result_ = 0;
      active_ = static_cast<int>(workers_.size());
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work(0);
    // Workers usually finish within microseconds: spin briefly before sleeping.
    for (int i = 0; i < kSpins && active_.load(std::memory_order_acquire) != 0; ++i) pause();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return active_.load() == 0; });
    return result_;
  }

 private:
  struct Job {
    int (*task)(void*, int64_t) = nullptr;
    void* closure = nullptr;
    int64_t n = 0;
  };

  static constexpr int kSpins = 20000;  // about 20-50 us of pause instructions
  static void pause() { __builtin_ia32_pause(); }

  static int run_inline(int (*task)(void*, int64_t), void* closure, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      if (int r = task(closure, i)) return r;
    return 0;
  }

  // Participant `self` (0: the caller) runs its own share in chunks, then helps with the
  // others'. Chunks of about an eighth of a share keep the counters cold for loops of many
  // tiny iterations (a batch of small matrices) yet still balance uneven ones.
  void work(int self) {
    bool was_inside = t_inside_task;
    t_inside_task = true;
    const int64_t chunk = std::max<int64_t>(1, job_.n / (int64_t(threads_) * 8));
    for (int q = 0; q < threads_; ++q) {
      Share& share = shares_[(self + q) % threads_];
      for (int64_t first; (first = share.next.fetch_add(chunk)) < share.end;)
        for (int64_t i = first; i < std::min(first + chunk, share.end); ++i)
          if (int r = job_.task(job_.closure, i)) {
            int expected = 0;
            result_.compare_exchange_strong(expected, r);
          }
    }
    t_inside_task = was_inside;
  }

  void start_workers() {
    if (!workers_.empty()) return;
    stopping_ = false;
    const uint64_t current = generation_.load();  // a new worker waits for the next loop, not an old one
    shares_ = std::vector<Share>(threads_);
    for (int t = 1; t < threads_; ++t)
      workers_.emplace_back([this, current, t] {
        uint64_t seen = current;
        for (;;) {
          // Loops tend to come in bursts (one per cache block): spin a little before sleeping,
          // so that the next one does not pay for a wake-up.
          for (int i = 0; i < kSpins && generation_.load(std::memory_order_acquire) == seen; ++i) pause();
          {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || generation_.load() != seen; });
            if (stopping_) return;
            seen = generation_.load();
          }
          work(t);
          if (active_.fetch_sub(1) == 1) {
            std::lock_guard<std::mutex> lock(mutex_);
            done_.notify_one();
          }
        }
      });
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

  std::mutex run_mutex_;  // one parallel loop at a time
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  Job job_;
  struct alignas(64) Share {  // one cache line each: the counters are hit concurrently
    std::atomic<int64_t> next{0};
    int64_t end = 0;
  };
  std::vector<Share> shares_;
  std::atomic<int> result_{0};
  std::atomic<int> active_{0};
  std::atomic<uint64_t> generation_{0};
  bool stopping_ = false;
  int threads_ = default_threads();
};

}  // namespace
}  // namespace tcc::runtime

extern "C" int tcc_parallel_for(int (*task)(void* closure, int64_t i), void* closure, int64_t n) {
  return tcc::runtime::ThreadPool::instance().run(task, closure, n);
}

namespace tcc {

void set_num_threads(int threads) {
  if (threads < 1) throw ArgumentError("set_num_threads: the count must be at least 1, got " + std::to_string(threads));
  runtime::ThreadPool::instance().set_threads(threads);
}

int num_threads() { return runtime::ThreadPool::instance().threads(); }

}  // namespace tcc
