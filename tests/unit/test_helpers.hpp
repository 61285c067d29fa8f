// Shared helpers of the unit tests (tests/unit/*.cpp).
//
// Synchronisation rules of these tests: a test waits only through the
// engine's own flush/drain/cancel calls, std::latch/std::barrier, condition
// variables (Gate) or a bounded poll of an atomic (wait_until) whose deadline
// FAILs the test instead of hanging it. Nothing sleeps to wait for a result;
// spin_for() only widens a race window and never stands in for a wait.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lazywq/lazywq.hpp"

namespace lwqt {

using namespace std::chrono_literals;
using lazywq::DelayedWork;
using lazywq::Engine;
using lazywq::EngineConfig;
using lazywq::Errc;
using lazywq::Error;
using lazywq::Event;
using lazywq::EventType;
using lazywq::Work;
using lazywq::Workqueue;
using lazywq::WqKind;

// Generous deadline for anything that must happen "soon". A correct engine
// needs milliseconds; the deadline only turns a hang into a failure.
inline constexpr std::chrono::milliseconds kDeadline = 10s;

// A configuration for tests: events on, no idle exit during a test unless the
// test asks for it, a short creation cooldown.
inline EngineConfig test_config(int ncpus = 4) {
  EngineConfig c;
  c.ncpus = ncpus;
  c.core_cpu = 0;
  c.idle_timeout = 5s;
  c.spawn_cooldown = 10ms;
  c.record_events = true;
  // Proving the suite's teeth: in a planted-bug build (LAZYWQ_PLANTED_BUGS=ON),
  // LAZYWQ_UNIT_PLANTED_BUG=<name> switches that bug on in every test engine.
  if (const char* bug = std::getenv("LAZYWQ_UNIT_PLANTED_BUG")) c.planted_bug = lazywq::planted_bug_from_string(bug);
  return c;
}

// Polls `pred` (yielding) until it holds or `timeout` passes. Returns the
// final value of `pred`, so `ASSERT_TRUE(wait_until(...))` fails on timeout.
template <class Pred>
bool wait_until(Pred&& pred, std::chrono::milliseconds timeout = kDeadline) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::yield();
  }
  return true;
}

// Busy-waits (yielding) for `d`. Only to widen a race window or to let
// engine time pass (idle timeout, cooldown); never to wait for a result.
inline void spin_for(std::chrono::nanoseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) std::this_thread::yield();
}

// A duration in nanoseconds, the unit of Event::time_ns and Engine::now_ns().
inline int64_t ns(std::chrono::nanoseconds d) { return d.count(); }

// Lets the engine clock pass `ns` (engine time, as in Event::time_ns).
inline bool wait_engine_time(const Engine& eng, int64_t ns) {
  return wait_until([&] { return eng.now_ns() >= ns; });
}

// A one-shot gate: wait() blocks until open(). wait() gives up after the
// deadline (and reports it) so a failing test cannot hang in a callback.
class Gate {
 public:
  void open() {
    {
      std::lock_guard<std::mutex> g(m_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout = kDeadline) {
    std::unique_lock<std::mutex> ul(m_);
    bool ok = cv_.wait_for(ul, timeout, [&] { return open_; });
    if (!ok) timed_out_.store(true);
    return ok;
  }
  bool is_open() {
    std::lock_guard<std::mutex> g(m_);
    return open_;
  }
  bool timed_out() const { return timed_out_.load(); }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool open_ = false;
  std::atomic<bool> timed_out_{false};
};

// Aborts the process with a message when a scope takes longer than `limit`:
// turns a hang (a C15 liveness failure) into a clear report instead of a
// ctest timeout.
class Watchdog {
 public:
  Watchdog(std::chrono::milliseconds limit, std::string what) : what_(std::move(what)) {
    t_ = std::thread([this, limit] {
      std::unique_lock<std::mutex> ul(m_);
      if (!cv_.wait_for(ul, limit, [&] { return done_; })) {
        std::fprintf(stderr, "WATCHDOG: '%s' did not finish within %lld ms: the engine hangs\n",
                     what_.c_str(), static_cast<long long>(limit.count()));
        std::fflush(stderr);
        std::abort();
      }
    });
  }
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> g(m_);
      done_ = true;
    }
    cv_.notify_all();
    t_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::string what_;
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread t_;
};

// Maximum number of simultaneous holders of a region (C3, ordered queues).
class ConcurrencyProbe {
 public:
  void enter() {
    int v = now_.fetch_add(1) + 1;
    int m = max_.load();
    while (v > m && !max_.compare_exchange_weak(m, v)) {
    }
  }
  void exit() { now_.fetch_sub(1); }
  int max() const { return max_.load(); }

 private:
  std::atomic<int> now_{0};
  std::atomic<int> max_{0};
};

// Records the order in which callbacks start, thread-safely.
class OrderLog {
 public:
  void add(int v) {
    std::lock_guard<std::mutex> g(m_);
    v_.push_back(v);
  }
  std::vector<int> get() const {
    std::lock_guard<std::mutex> g(m_);
    return v_;
  }

 private:
  mutable std::mutex m_;
  std::vector<int> v_;
};

inline std::vector<int> iota_vec(int n, int from = 0) {
  std::vector<int> v;
  for (int i = 0; i < n; ++i) v.push_back(from + i);
  return v;
}

// ---------------------------------------------------------------------------
// Events

inline std::vector<Event> events_where(const Engine& eng, EventType t, uint64_t work = 0,
                                       uint32_t queue = 0) {
  std::vector<Event> out;
  for (const Event& e : eng.events())
    if (e.type == t && (work == 0 || e.work == work) && (queue == 0 || e.queue == queue)) out.push_back(e);
  return out;
}

inline size_t count_events(const Engine& eng, EventType t, uint64_t work = 0, uint32_t queue = 0) {
  return events_where(eng, t, work, queue).size();
}

// The last `n` events, formatted, for failure messages.
inline std::string dump_events(const Engine& eng, size_t n = 60) {
  auto evs = eng.events();
  std::ostringstream os;
  size_t from = evs.size() > n ? evs.size() - n : 0;
  for (size_t i = from; i < evs.size(); ++i) os << "  " << lazywq::format_event(evs[i]) << "\n";
  return os.str();
}

// C4 on the event stream of queue `queue`: every exec_begin runs on its
// target CPU (arg), unless a fallback event of that work precedes it since
// its previous run; a fallback run happens on the core CPU.
inline ::testing::AssertionResult placement_ok(const std::vector<Event>& evs, uint32_t queue, int core_cpu) {
  std::map<uint64_t, bool> fallback_pending;
  size_t runs = 0;
  for (const Event& e : evs) {
    if (e.queue != queue) continue;
    if (e.type == EventType::fallback) fallback_pending[e.work] = true;
    if (e.type != EventType::exec_begin) continue;
    ++runs;
    bool fb = fallback_pending[e.work];
    fallback_pending[e.work] = false;
    if (fb) {
      if (e.cpu != core_cpu)
        return ::testing::AssertionFailure() << "fallback run not on the core: " << lazywq::format_event(e);
    } else if (e.cpu != e.arg) {
      return ::testing::AssertionFailure()
             << "work ran on cpu " << e.cpu << " instead of its target " << e.arg
             << " without a fallback event: " << lazywq::format_event(e);
    }
  }
  if (runs == 0) return ::testing::AssertionFailure() << "no exec_begin events for queue " << queue;
  return ::testing::AssertionSuccess();
}

// Runs `fn` and returns the Errc of the lazywq::Error it throws, or -1 when it
// throws nothing (-2 for another exception). For use inside callbacks, where
// an escaping exception would be swallowed by the worker.
template <class Fn>
int error_code_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return static_cast<int>(e.code());
  } catch (...) {
    return -2;
  }
  return -1;
}

inline int code(Errc e) { return static_cast<int>(e); }

// EXPECT that `stmt` throws lazywq::Error with code `errc`.
#define EXPECT_LAZYWQ_ERROR(stmt, errc)                                                    \
  do {                                                                                     \
    bool lwqt_thrown_ = false;                                                             \
    try {                                                                                  \
      (void)(stmt);                                                                        \
    } catch (const ::lazywq::Error& lwqt_e_) {                                             \
      lwqt_thrown_ = true;                                                                 \
      EXPECT_EQ(lwqt_e_.code(), (errc)) << #stmt << " threw " << lwqt_e_.what();           \
    } catch (const std::exception& lwqt_e_) {                                              \
      lwqt_thrown_ = true;                                                                 \
      ADD_FAILURE() << #stmt << " threw a non-lazywq exception: " << lwqt_e_.what();       \
    }                                                                                      \
    if (!lwqt_thrown_) ADD_FAILURE() << #stmt << " did not throw lazywq::Error";           \
  } while (0)

}  // namespace lwqt
