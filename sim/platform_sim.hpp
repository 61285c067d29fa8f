// The simulated platform: the engine's seam (docs/SEAM.md) implemented on
// the deterministic scheduler of sim/world.hpp. Every operation is a
// scheduling point. Memory is sequentially consistent here: weak-memory
// behaviour is Relacy's job (models/).
//
// Outside a running World (e.g. a Work destroyed after the run) the
// operations act directly, without scheduling.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "lazywq/annotations.hpp"
#include "sim/world.hpp"

namespace lazywq::sim {

struct SimPlatform {
  static constexpr const char* kName = "sim";

  // A wait whose timeout only covers a missed wake-up (RealPlatform::
  // safety_net) waits untimed in a world without safety nets: a wake-up
  // the engine forgets is then a hang the explorer reports (C15), not a
  // stall of up to a second that no rule sees (issue #14).
  static int64_t safety_net(int64_t deadline_ns) {
    World* w = World::current();
    if (!w || w->safety_nets()) return deadline_ns;
    w->drop_safety_net();
    return kNever;
  }

  static void sched_point(const char* why) {
    if (World* w = World::current()) w->point(why);
  }

  static void window_enter(RaceWindow w) {
    if (World* wd = World::current()) wd->window_enter(w);
  }
  static void window_exit(RaceWindow w) {
    if (World* wd = World::current()) wd->window_exit(w);
  }

  // Lock-guarded plain fields: one simulated thread runs at a time, so a
  // plain field is all it needs (Relacy checks these for data races).
  template <class T>
  using Var = T;

  template <class T>
  class Atomic {
   public:
    constexpr Atomic() noexcept : v_() {}
    constexpr Atomic(T v) noexcept : v_(v) {}  // NOLINT: mirrors std::atomic
    Atomic(const Atomic&) = delete;
    Atomic& operator=(const Atomic&) = delete;

    T load(std::memory_order = std::memory_order_seq_cst) const {
      sched_point("atomic load");
      return v_;
    }
    void store(T v, std::memory_order = std::memory_order_seq_cst) {
      sched_point("atomic store");
      v_ = v;
    }
    T fetch_add(T d, std::memory_order = std::memory_order_seq_cst) {
      sched_point("atomic rmw");
      T old = v_;
      v_ = static_cast<T>(v_ + d);
      return old;
    }
    T fetch_or(T d, std::memory_order = std::memory_order_seq_cst) {
      sched_point("atomic rmw");
      T old = v_;
      v_ = static_cast<T>(v_ | d);
      return old;
    }
    T fetch_and(T d, std::memory_order = std::memory_order_seq_cst) {
      sched_point("atomic rmw");
      T old = v_;
      v_ = static_cast<T>(v_ & d);
      return old;
    }
    bool compare_exchange_strong(T& expected, T desired, std::memory_order = std::memory_order_seq_cst,
                                 std::memory_order = std::memory_order_seq_cst) {
      sched_point("atomic cas");
      if (v_ == expected) {
        v_ = desired;
        return true;
      }
      expected = v_;
      return false;
    }

   private:
    T v_;
  };

  // Misuse (destroyed while held or waited for, used after destruction) ends
  // the run as a crash: World::sync_destroyed. Every check reads the world's
  // record of this address before any member, which may be freed memory.
  class LAZYWQ_CAPABILITY("mutex") Mutex {
   public:
    Mutex() {
      if (World* w = World::current()) w->sync_created(this);
    }
    ~Mutex() {
      if (World* w = World::current()) w->sync_destroyed(this, "mutex", owner_, waiters_);
    }
    Mutex(const Mutex&) = delete;
    Mutex& operator=(const Mutex&) = delete;
    void lock() LAZYWQ_ACQUIRE() {
      World* w = World::current();
      if (!w) return;
      check_alive(w, "locked");
      w->point("lock");
      check_alive(w, "locked");
      while (owner_ != kNoThread) {
        w->block(waiters_, -1, "mutex lock");
        check_alive(w, "locked");
      }
      owner_ = w->self();
    }
    void unlock() LAZYWQ_RELEASE() {
      World* w = World::current();
      if (!w) return;
      check_alive(w, "unlocked");
      release_for_wait();
      w->point("unlock");
    }
    // Used by CondVar: release without a scheduling point in between.
    void release_for_wait() {
      owner_ = kNoThread;
      if (World* w = World::current()) w->wake_one(waiters_);
    }
    void relock_after_wait() {
      World* w = World::current();
      check_alive(w, "locked again after a wait");
      while (owner_ != kNoThread) {
        w->block(waiters_, -1, "mutex relock after wait");
        check_alive(w, "locked again after a wait");
      }
      owner_ = w->self();
    }

   private:
    void check_alive(World* w, const char* what) const {
      if (w->sync_dead(this)) w->misuse(std::string("a mutex was ") + what + " after it was destroyed (use after free)");
    }
    uint32_t owner_ = kNoThread;
    WaitQueue waiters_;
  };

  class CondVar {
   public:
    CondVar() {
      if (World* w = World::current()) w->sync_created(this);
    }
    ~CondVar() {
      if (World* w = World::current()) w->sync_destroyed(this, "condition variable", kNoThread, waiters_);
    }
    CondVar(const CondVar&) = delete;
    CondVar& operator=(const CondVar&) = delete;
    void wait(Mutex& m) LAZYWQ_REQUIRES(m) {
      World* w = World::current();
      check_alive(w, "waited on");
      const char* why = w->wait_why("condvar wait");
      m.release_for_wait();
      if (w->spurious_wakeup())
        w->point("spurious wake-up");  // returns unnotified: a caller that does not re-check its condition is caught
      else
        w->block(waiters_, -1, why);
      m.relock_after_wait();
    }
    // kNever: an untimed wait (the clock must never jump to "never").
    bool wait_until(Mutex& m, int64_t deadline_ns) LAZYWQ_REQUIRES(m) {
      if (deadline_ns == kNever) {
        wait(m);
        return true;
      }
      World* w = World::current();
      check_alive(w, "waited on");
      m.release_for_wait();
      bool notified = true;  // a spurious wake-up looks like a notify to the caller
      if (w->spurious_wakeup())
        w->point("spurious wake-up");
      else
        notified = w->block(waiters_, deadline_ns < w->now() ? w->now() : deadline_ns, "condvar timed wait");
      m.relock_after_wait();
      return notified;
    }
    void notify_one() {
      if (World* w = World::current()) {
        check_alive(w, "notified");
        w->wake_one(waiters_);
        w->point("notify");
      }
    }
    void notify_all() {
      if (World* w = World::current()) {
        check_alive(w, "notified");
        w->wake_all(waiters_);
        w->point("notify");
      }
    }

   private:
    void check_alive(World* w, const char* what) const {
      if (w->sync_dead(this)) w->misuse(std::string("a condition variable was ") + what + " after it was destroyed (use after free)");
    }
    WaitQueue waiters_;
  };

  static int64_t now_ns() {
    World* w = World::current();
    if (!w) return 0;
    w->point("clock");
    return w->now();
  }

  class Thread {
   public:
    Thread() = default;
    explicit Thread(uint32_t id) : id_(id) {}
    void join() {
      if (id_ != kNoThread) World::current()->join(id_);
      id_ = kNoThread;
    }
    bool joinable() const { return id_ != kNoThread; }
    uint32_t id() const { return id_; }

   private:
    uint32_t id_ = kNoThread;
  };

  static std::optional<Thread> spawn(int vcpu, const std::string& name, std::function<void()> body) {
    World* w = World::current();
    return Thread(w->spawn(vcpu, name, std::move(body)));
  }

  static void yield() {
    if (World* w = World::current()) w->yield();
  }

  static void* context() {
    World* w = World::current();
    return w ? w->context_slot() : nullptr;
  }
  static void set_context(void* ctx) {
    if (World* w = World::current()) w->context_slot() = ctx;
  }
  static uint32_t thread_tag() {
    World* w = World::current();
    return w ? w->self() : 0;
  }
  static int current_cpu() {
    World* w = World::current();
    return w ? w->cpu() : 0;
  }
};

}  // namespace lazywq::sim
