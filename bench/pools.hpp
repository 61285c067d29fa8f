// The pools under test, each behind the same small shape so every benchmark
// is one template:
//
//   Pool(const PoolConfig&, TaskBody body, std::size_t slots);
//   void submit(std::size_t slot);   // run body(slot) on the pool, once
//
// `slots` is how many distinct tasks may be in flight at once. The peers
// post a fresh closure per submit; a lazywq work is an object the user owns
// and queues (kernel style), so the lazywq adapter preallocates `slots`
// works and submit(slot) queues work number `slot`.
//
// Every pool gets the same number of threads that run tasks: the number of
// CPUs this process may use (PoolConfig::threads).
#pragma once

#include <glib.h>

#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#define ASIO_NO_DEPRECATED
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <unsupported/Eigen/CXX11/ThreadPool>

#include "common.hpp"
#include "lazywq/lazywq.hpp"

namespace lazywq_bench {

// The lazywq kinds measured, in table order. Issue #8 adds WqKind::shared
// (concurrency-managed pools): append it here and every benchmark, table
// row and plot picks it up.
inline constexpr std::array kLazywqKinds = {lazywq::WqKind::lazy, lazywq::WqKind::per_cpu, lazywq::WqKind::shared};

// Where a lazywq producer queues its works.
enum class Placement : uint8_t {
  caller_cpu,  // queue_work: the caller's CPU (the kernel's default; a same-CPU wake)
  spread,      // queue_work_on(slot % ncpus): round robin over the CPUs
};
std::string_view to_string(Placement p);

struct PoolConfig {
  int threads = 2;                              // threads that run tasks
  std::chrono::milliseconds idle_timeout{250};  // pools with idle exit: lazywq lazy, GLib
  lazywq::WqKind kind = lazywq::WqKind::lazy;   // lazywq only
  Placement placement = Placement::caller_cpu;  // lazywq only
  std::optional<int> fixed_cpu;                 // lazywq only: queue_work_on(this CPU), overrides placement
};

// lazywq: one Engine with ncpus = threads and one queue of the given kind.
class LazywqPool {
 public:
  LazywqPool(const PoolConfig& cfg, TaskBody body, std::size_t slots)
      : body_(body), ncpus_(cfg.threads), placement_(cfg.placement), fixed_cpu_(cfg.fixed_cpu),
        engine_(make_engine_config(cfg)),
        queue_(engine_.create_workqueue("bench", cfg.kind)) {
    for (std::size_t slot = 0; slot < slots; ++slot)
      works_.emplace_back([this, slot](lazywq::Work&) { body_(slot); });
  }

  void submit(std::size_t slot) {
    lazywq::Work& work = works_[slot];
    bool queued;
    if (fixed_cpu_)
      queued = queue_.queue_work_on(*fixed_cpu_, work);
    else if (placement_ == Placement::spread)
      queued = queue_.queue_work_on(static_cast<int>(slot % static_cast<std::size_t>(ncpus_)), work);
    else
      queued = queue_.queue_work(work);
    // A benchmark never requeues a work that is still pending; if it did,
    // its task would be lost and the benchmark would wait forever.
    if (!queued) throw std::logic_error("lazywq bench: work " + std::to_string(slot) + " was still pending");
  }

  lazywq::Workqueue& queue() { return queue_; }
  lazywq::Engine& engine() { return engine_; }

 private:
  static lazywq::EngineConfig make_engine_config(const PoolConfig& cfg) {
    lazywq::EngineConfig ec;
    ec.ncpus = cfg.threads;
    ec.idle_timeout = cfg.idle_timeout;
    return ec;
  }

  const TaskBody body_;
  const int ncpus_;
  const Placement placement_;
  const std::optional<int> fixed_cpu_;
  lazywq::Engine engine_;
  lazywq::Workqueue& queue_;
  // After the engine: works are destroyed first (a Work's destructor
  // cancels it through the engine). A deque never moves its elements.
  std::deque<lazywq::Work> works_;
};

// oneTBB: a task_arena and fire-and-forget enqueue. TBB sizes its worker
// count for callers that join the work (max_allowed_parallelism - 1 workers
// by default); enqueued tasks run on workers only, so the arena reserves no
// slot for the caller and the global limit allows `threads` workers:
// `threads` threads run tasks, as in every other pool.
class TbbPool {
 public:
  TbbPool(const PoolConfig& cfg, TaskBody body, std::size_t /*slots*/)
      : body_(body),
        parallelism_(oneapi::tbb::global_control::max_allowed_parallelism,
                     static_cast<std::size_t>(cfg.threads) + 1),
        arena_(cfg.threads, /*reserved_for_masters=*/0) {}

  void submit(std::size_t slot) {
    arena_.enqueue([this, slot] { body_(slot); });
  }

 private:
  const TaskBody body_;
  oneapi::tbb::global_control parallelism_;
  oneapi::tbb::task_arena arena_;
};

// Asio: asio::thread_pool and asio::post.
class AsioPool {
 public:
  AsioPool(const PoolConfig& cfg, TaskBody body, std::size_t /*slots*/)
      : body_(body), pool_(static_cast<std::size_t>(cfg.threads)) {}
  ~AsioPool() { pool_.join(); }

  void submit(std::size_t slot) {
    asio::post(pool_, [this, slot] { body_(slot); });
  }

 private:
  const TaskBody body_;
  asio::thread_pool pool_;
};

// GLib: a shared (non-exclusive) GThreadPool, the configuration that
// creates threads on demand and lets idle ones exit, like a lazy queue.
// Its idle-exit time is process-wide (g_thread_pool_set_max_idle_time):
// set to the same idle timeout as lazywq's.
class GlibPool {
 public:
  GlibPool(const PoolConfig& cfg, TaskBody body, std::size_t /*slots*/) : body_(body) {
    g_thread_pool_set_max_idle_time(static_cast<guint>(cfg.idle_timeout.count()));
    GError* error = nullptr;
    pool_ = g_thread_pool_new(&GlibPool::run, this, cfg.threads, /*exclusive=*/FALSE, &error);
    if (!pool_) {
      std::string why = error ? error->message : "unknown error";
      if (error) g_error_free(error);
      throw std::runtime_error("g_thread_pool_new: " + why);
    }
  }
  ~GlibPool() { g_thread_pool_free(pool_, /*immediate=*/FALSE, /*wait_=*/TRUE); }
  GlibPool(const GlibPool&) = delete;
  GlibPool& operator=(const GlibPool&) = delete;

  // GLib refuses NULL task data, so slot n travels as the pointer n + 1.
  void submit(std::size_t slot) {
    g_thread_pool_push(pool_, reinterpret_cast<gpointer>(static_cast<uintptr_t>(slot) + 1), nullptr);
  }

 private:
  static void run(gpointer data, gpointer self) {
    static_cast<GlibPool*>(self)->body_(static_cast<std::size_t>(reinterpret_cast<uintptr_t>(data) - 1));
  }

  const TaskBody body_;
  GThreadPool* pool_ = nullptr;
};

// Eigen: Eigen::ThreadPool (the non-blocking pool of unsupported/CXX11),
// with its defaults (idle workers spin a while before they sleep).
class EigenPool {
 public:
  EigenPool(const PoolConfig& cfg, TaskBody body, std::size_t /*slots*/)
      : body_(body), pool_(cfg.threads) {}

  void submit(std::size_t slot) {
    pool_.Schedule([this, slot] { body_(slot); });
  }

 private:
  const TaskBody body_;
  Eigen::ThreadPool pool_;
};

// The floor: the pool anyone writes in twenty lines, one mutex and one
// condition variable around a deque of std::function.
class MutexCvPool {
 public:
  MutexCvPool(const PoolConfig& cfg, TaskBody body, std::size_t /*slots*/) : body_(body) {
    for (int i = 0; i < cfg.threads; ++i) threads_.emplace_back([this] { worker(); });
  }
  ~MutexCvPool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) t.join();
  }
  MutexCvPool(const MutexCvPool&) = delete;
  MutexCvPool& operator=(const MutexCvPool&) = delete;

  void submit(std::size_t slot) {
    {
      std::lock_guard lock(mutex_);
      tasks_.emplace_back([this, slot] { body_(slot); });
    }
    ready_.notify_one();
  }

 private:
  void worker() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, and nothing left to run
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  const TaskBody body_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace lazywq_bench
