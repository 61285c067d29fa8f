// The real platform: std::atomic, std::mutex, std::condition_variable,
// steady_clock and std::thread pinned to a CPU.
//
// This is one implementation of the engine's platform seam (see
// docs/SEAM.md for the full list of what a platform provides). The engine is
// a template over the platform, so every call below is a direct, inlinable
// call: the real world pays nothing for the seam. The simulated platform
// (sim/) and the Relacy platform (models/) provide the same names.
#pragma once

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "lazywq/annotations.hpp"
#include "lazywq/guarded.hpp"
#include "lazywq/types.hpp"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LAZYWQ_TSAN 1
#endif
#endif
#if !defined(LAZYWQ_TSAN) && defined(__SANITIZE_THREAD__)
#define LAZYWQ_TSAN 1
#endif
#if !defined(LAZYWQ_TSAN)
#define LAZYWQ_TSAN 0
#endif
#if LAZYWQ_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace lazywq {

struct RealPlatform {
  static constexpr const char* kName = "real";

  // The deadline of a wait whose timeout only covers a wake-up the engine
  // may miss (the rescuer's looks every rescue_poll_ns()): kept here. The
  // simulator may drop it (WorldConfig::safety_nets), so that a missed
  // wake-up is a hang it reports rather than a stall it never sees.
  static constexpr int64_t safety_net(int64_t deadline_ns) { return deadline_ns; }

  template <class T>
  using Atomic = std::atomic<T>;

  // A plain field shared between threads and guarded by a lock (the
  // engine's "Q:"/"W:" fields). Here it is the type itself: the real world
  // pays nothing, and ThreadSanitizer checks it. Under Relacy it is an
  // rl::var, so a field touched without the lock that guards it is a data
  // race Relacy reports (models/platform_relacy.hpp).
  template <class T>
  using Var = T;
  // The links of the engine's intrusive lists (detail::IntrusiveList):
  // guarded by the lock of the structure holding the list, like a Var.
  // The simulator checks them as Vars; here and under Relacy they are the
  // type itself.
  template <class T>
  using ListVar = T;
  // An immutable field ("I:"), written by its constructor and then only
  // read. The simulator checks that every read is ordered after the
  // construction (an object reached through a pointer published without
  // ordering); here and under Relacy it is the type itself.
  template <class T>
  using Immutable = T;
  // A lock-guarded container reached through -> and *: the object itself
  // (lazywq/guarded.hpp); the simulator checks each access.
  template <class T>
  using Guarded = detail::PlainGuarded<T>;

  // A mutex the thread-safety analysis understands.
  class LAZYWQ_CAPABILITY("mutex") Mutex {
   public:
    Mutex() = default;
    Mutex(const Mutex&) = delete;
    Mutex& operator=(const Mutex&) = delete;
    // libstdc++'s std::mutex has a trivial destructor, so ThreadSanitizer
    // never learns that it died: a later mutex at the same address (an
    // engine on the stack of the next test) would inherit its lock-order
    // edges and make a false "lock-order-inversion" cycle. Tell it.
    ~Mutex() {
#if LAZYWQ_TSAN
      __tsan_mutex_destroy(m_.native_handle(), 0);
#endif
    }
    void lock() LAZYWQ_ACQUIRE() { m_.lock(); }
    void unlock() LAZYWQ_RELEASE() { m_.unlock(); }
    std::mutex& native() { return m_; }

   private:
    std::mutex m_;
  };

  class CondVar {
   public:
    void wait(Mutex& m) LAZYWQ_REQUIRES(m) {
      std::unique_lock<std::mutex> ul(m.native(), std::adopt_lock);
      cv_.wait(ul);
      ul.release();
    }
    // Waits until notified or until `deadline_ns` on now_ns()'s clock.
    // Returns false when the deadline passed (spurious wake-ups return true;
    // callers re-check their condition either way). kNever: no timeout at
    // all, rather than trusting a time_point 292 years away to every
    // conversion between it and the C library's timed wait.
    bool wait_until(Mutex& m, int64_t deadline_ns) LAZYWQ_REQUIRES(m) {
      if (deadline_ns == kNever) {
        wait(m);
        return true;
      }
      std::unique_lock<std::mutex> ul(m.native(), std::adopt_lock);
      auto tp = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline_ns));
      bool notified = cv_.wait_until(ul, tp) == std::cv_status::no_timeout;
      ul.release();
      return notified;
    }
    void notify_one() { cv_.notify_one(); }
    void notify_all() { cv_.notify_all(); }

   private:
    std::condition_variable cv_;
  };

  // Monotonic clock in nanoseconds.
  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  class Thread {
   public:
    Thread() = default;
    explicit Thread(std::thread t) : t_(std::move(t)) {}
    void join() {
      if (t_.joinable()) t_.join();
    }
    bool joinable() const { return t_.joinable(); }

   private:
    std::thread t_;
  };

  // Starts `body` on a new thread pinned to virtual CPU `vcpu` (real CPU
  // vcpu mod the CPUs this process may use). Returns nullopt when the
  // system refuses the thread (EAGAIN); the engine treats that exactly like
  // an injected creation failure. Pinning is best effort: a container may
  // forbid it, and placement in the contract is about virtual CPUs.
  // `name` (at most 15 characters are kept) shows in top, gdb and perf.
  static std::optional<Thread> spawn(int vcpu, const std::string& name, std::function<void()> body) {
    try {
      std::thread t(std::move(body));
      pin(t.native_handle(), vcpu);
      (void)pthread_setname_np(t.native_handle(), name.substr(0, 15).c_str());
      return Thread(std::move(t));
    } catch (const std::system_error&) {
      return std::nullopt;
    }
  }

  static void yield() { std::this_thread::yield(); }

  // Per-thread slot the engine uses to know which worker (if any) runs the
  // calling code.
  static void* context() { return tls_context(); }
  static void set_context(void* ctx) { tls_context() = ctx; }

  // A small number naming the calling thread in events (threads outside
  // the engine); distinct per thread within a process.
  static uint32_t thread_tag() {
    static std::atomic<uint32_t> next{1};
    static thread_local uint32_t tag = next.fetch_add(1, std::memory_order_relaxed);
    return tag;
  }

  // CPU the caller runs on, for queue_work without a CPU.
  static int current_cpu() {
    int c = sched_getcpu();
    return c < 0 ? 0 : c;
  }

  // Scheduling point hook: a no-op here; the simulator switches threads.
  static void sched_point(const char* /*why*/) {}

  // Race-window probes (types.hpp, RaceWindow): no-ops on real threads.
  static void window_enter(RaceWindow) {}
  static void window_exit(RaceWindow) {}

 private:
  static void*& tls_context() {
    static thread_local void* ctx = nullptr;
    return ctx;
  }
  static const std::vector<int>& allowed_cpus() {
    static const std::vector<int> cpus = [] {
      std::vector<int> v;
      cpu_set_t set;
      CPU_ZERO(&set);
      if (sched_getaffinity(0, sizeof(set), &set) == 0)
        for (int i = 0; i < CPU_SETSIZE; ++i)
          if (CPU_ISSET(i, &set)) v.push_back(i);
      if (v.empty()) v.push_back(0);
      return v;
    }();
    return cpus;
  }
  static void pin(pthread_t handle, int vcpu) {
    const auto& cpus = allowed_cpus();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpus[static_cast<size_t>(vcpu) % cpus.size()], &set);
    (void)pthread_setaffinity_np(handle, sizeof(set), &set);
  }
};

}  // namespace lazywq
