// The simulated platform: the engine's seam (docs/SEAM.md) implemented on
// the deterministic scheduler of sim/world.hpp. Every operation is a
// scheduling point. Memory is sequentially consistent here: weak-memory
// behaviour is Relacy's job (models/); what the memory orders do and do not
// order is still checked, by the happens-before check (sim/happens_before.hpp).
//
// Outside a running World (e.g. a Work destroyed after the run) the
// operations act directly, without scheduling.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "lazywq/annotations.hpp"
#include "sim/world.hpp"

// Var's operators: out of line, so that __builtin_return_address(0) is the
// engine's access.
#define LAZYWQ_SIM_ACCESS __attribute__((noinline))

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

  // A lock-guarded plain field of the engine: reads and writes like the
  // field itself, and tells the world of every access, which checks that
  // each one is ordered after the last conflicting one
  // (sim/happens_before.hpp): a field touched without its lock is a data
  // race there, on whichever schedule brings the two accesses together,
  // though memory here is sequentially consistent and the value right.
  // The operators are never inlined: their return address names the
  // engine's line in a report.
  template <class T>
  class Var {
   public:
    LAZYWQ_SIM_ACCESS Var(T v = T()) : v_(v) { wrote(__builtin_return_address(0)); }  // NOLINT: reads like the field
    LAZYWQ_SIM_ACCESS Var(const Var& o) : v_(o.get(__builtin_return_address(0))) { wrote(__builtin_return_address(0)); }
    LAZYWQ_SIM_ACCESS Var& operator=(const Var& o) {
      set(o.get(__builtin_return_address(0)), __builtin_return_address(0));
      return *this;
    }
    LAZYWQ_SIM_ACCESS Var& operator=(T v) {
      set(v, __builtin_return_address(0));
      return *this;
    }
    LAZYWQ_SIM_ACCESS operator T() const { return get(__builtin_return_address(0)); }  // NOLINT: reads like the field
    LAZYWQ_SIM_ACCESS T operator->() const
      requires std::is_pointer_v<T>
    {
      return get(__builtin_return_address(0));
    }
    LAZYWQ_SIM_ACCESS Var& operator++() {
      set(static_cast<T>(get(__builtin_return_address(0)) + 1), __builtin_return_address(0));
      return *this;
    }
    LAZYWQ_SIM_ACCESS Var& operator--() {
      set(static_cast<T>(get(__builtin_return_address(0)) - 1), __builtin_return_address(0));
      return *this;
    }
    LAZYWQ_SIM_ACCESS T operator++(int) {
      T old = get(__builtin_return_address(0));
      set(static_cast<T>(old + 1), __builtin_return_address(0));
      return old;
    }
    LAZYWQ_SIM_ACCESS T operator--(int) {
      T old = get(__builtin_return_address(0));
      set(static_cast<T>(old - 1), __builtin_return_address(0));
      return old;
    }
    LAZYWQ_SIM_ACCESS Var& operator+=(T d) {
      set(static_cast<T>(get(__builtin_return_address(0)) + d), __builtin_return_address(0));
      return *this;
    }
    LAZYWQ_SIM_ACCESS Var& operator-=(T d) {
      set(static_cast<T>(get(__builtin_return_address(0)) - d), __builtin_return_address(0));
      return *this;
    }

   private:
    T get(const void* pc) const {
      if (World* w = World::current(); w && w->checks_races()) w->hb_read(shadow_, pc, kWhat);
      return v_;
    }
    void set(T v, const void* pc) {
      wrote(pc);
      v_ = v;
    }
    void wrote(const void* pc) {
      if (World* w = World::current(); w && w->checks_races()) w->hb_write(shadow_, pc, kWhat);
    }
    static constexpr const char* kWhat = "a lock-guarded engine field (P::Var)";
    T v_;
    mutable AccessShadow shadow_;
  };
  // An intrusive list's links and ends: checked like any Var.
  template <class T>
  using ListVar = Var<T>;

  // A lock-guarded object the engine reaches through -> and * (a
  // container of threads): every access is checked like a Var's, one
  // through a non-const path as a write (conservative: two threads that
  // only read it under its lock are ordered by the lock anyway, and a read
  // without it, next to a writer, is the race). Out of line, so that a
  // report names the engine's line.
  template <class T>
  class Guarded {
   public:
    template <class... A>
    LAZYWQ_SIM_ACCESS explicit Guarded(A&&... a) : v_(std::forward<A>(a)...) {
      access(true, __builtin_return_address(0));
    }
    Guarded(const Guarded&) = delete;
    Guarded& operator=(const Guarded&) = delete;
    LAZYWQ_SIM_ACCESS T* operator->() {
      access(true, __builtin_return_address(0));
      return &v_;
    }
    LAZYWQ_SIM_ACCESS const T* operator->() const {
      access(false, __builtin_return_address(0));
      return &v_;
    }
    LAZYWQ_SIM_ACCESS T& operator*() {
      access(true, __builtin_return_address(0));
      return v_;
    }
    LAZYWQ_SIM_ACCESS const T& operator*() const {
      access(false, __builtin_return_address(0));
      return v_;
    }

   private:
    void access(bool write, const void* pc) const {
      World* w = World::current();
      if (!w || !w->checks_races()) return;
      if (write)
        w->hb_write(shadow_, pc, kWhat);
      else
        w->hb_read(shadow_, pc, kWhat);
    }
    static constexpr const char* kWhat = "a lock-guarded engine container (P::Guarded)";
    T v_;
    mutable AccessShadow shadow_;
  };

  // An immutable field (the engine's "I:"): its constructor writes it, then
  // it is only read, and every read is checked against that write. A
  // thread that reaches the object through nothing that orders it after
  // the construction (a pointer loaded relaxed, or read without its lock)
  // reads a field the constructing thread may not have finished writing:
  // a data race, here on whichever schedule makes both accesses. Read
  // through the conversion (or the owner's accessor), out of line like
  // Var's operators so that a report names the engine's line.
  template <class T>
  class Immutable {
   public:
    LAZYWQ_SIM_ACCESS explicit Immutable(T v) : v_(std::move(v)) {
      if (World* w = World::current(); w && w->checks_races()) w->hb_write(shadow_, __builtin_return_address(0), kWhat);
    }
    Immutable(const Immutable&) = delete;
    Immutable& operator=(const Immutable&) = delete;
    LAZYWQ_SIM_ACCESS operator const T&() const {  // NOLINT: reads like the field
      return read(__builtin_return_address(0));
    }
    // A pointer field reads like one: `w->eng->cfg_`.
    LAZYWQ_SIM_ACCESS T operator->() const
      requires std::is_pointer_v<T>
    {
      return read(__builtin_return_address(0));
    }

   private:
    static constexpr const char* kWhat = "an immutable engine field (I, written by its constructor)";
    const T& read(const void* pc) const {
      if (World* w = World::current(); w && w->checks_races()) w->hb_read(shadow_, pc, kWhat);
      return v_;
    }
    const T v_;
    mutable AccessShadow shadow_;
  };

  // Each operation is a scheduling point and then checks that the atomic
  // still lives: the thread may have switched at the point, and another
  // may have freed the object (a work released while the engine still
  // holds it). A freed one holds the quarantine's fill (sim/quarantine.hpp),
  // a destroyed one kDestroyed: either is a use after free, with its line
  // (the operations are out of line, like Var's).
  template <class T>
  class Atomic {
   public:
    constexpr Atomic() noexcept : v_() {}
    constexpr Atomic(T v) noexcept : v_(v) {}  // NOLINT: mirrors std::atomic
    // Volatile: a store just before the object's lifetime ends is dead to
    // the optimizer, and a stack atomic used after its scope would go unseen.
    ~Atomic() { *static_cast<volatile uint64_t*>(&live_) = kDestroyed; }
    Atomic(const Atomic&) = delete;
    Atomic& operator=(const Atomic&) = delete;

    LAZYWQ_SIM_ACCESS T load(std::memory_order mo = std::memory_order_seq_cst) const {
      sched_point("atomic load");
      check_live(__builtin_return_address(0), false);
      loaded(mo);
      return v_;
    }
    LAZYWQ_SIM_ACCESS void store(T v, std::memory_order mo = std::memory_order_seq_cst) {
      sched_point("atomic store");
      check_live(__builtin_return_address(0), true);
      stored(mo);
      v_ = v;
    }
    LAZYWQ_SIM_ACCESS T fetch_add(T d, std::memory_order mo = std::memory_order_seq_cst) {
      sched_point("atomic rmw");
      check_live(__builtin_return_address(0), true);
      modified(mo);
      T old = v_;
      v_ = static_cast<T>(v_ + d);
      return old;
    }
    LAZYWQ_SIM_ACCESS T fetch_or(T d, std::memory_order mo = std::memory_order_seq_cst) {
      sched_point("atomic rmw");
      check_live(__builtin_return_address(0), true);
      modified(mo);
      T old = v_;
      v_ = static_cast<T>(v_ | d);
      return old;
    }
    LAZYWQ_SIM_ACCESS T fetch_and(T d, std::memory_order mo = std::memory_order_seq_cst) {
      sched_point("atomic rmw");
      check_live(__builtin_return_address(0), true);
      modified(mo);
      T old = v_;
      v_ = static_cast<T>(v_ & d);
      return old;
    }
    // One order: the failure order is the one std derives from it.
    LAZYWQ_SIM_ACCESS bool compare_exchange_strong(T& expected, T desired,
                                                   std::memory_order mo = std::memory_order_seq_cst) {
      const std::memory_order failure = mo == std::memory_order_acq_rel   ? std::memory_order_acquire
                                        : mo == std::memory_order_release ? std::memory_order_relaxed
                                                                          : mo;
      return cas(expected, desired, mo, failure, __builtin_return_address(0));
    }
    LAZYWQ_SIM_ACCESS bool compare_exchange_strong(T& expected, T desired, std::memory_order success,
                                                   std::memory_order failure) {
      return cas(expected, desired, success, failure, __builtin_return_address(0));
    }

   private:
    static constexpr uint64_t kLive = 0x6c69766561746f6dull;       // "liveatom"
    static constexpr uint64_t kDestroyed = 0x6465616461746f6dull;  // "deadatom"
    static constexpr const char* kWhat = "an engine atomic (P::Atomic)";
    bool cas(T& expected, T desired, std::memory_order success, std::memory_order failure, const void* pc) {
      sched_point("atomic cas");
      check_live(pc, true);
      if (v_ == expected) {
        modified(success);
        v_ = desired;
        return true;
      }
      loaded(failure);
      expected = v_;
      return false;
    }
    void check_live(const void* pc, bool writes) const {
      if (live_ == kLive) return;
      if (World* w = World::current())
        w->report_use_after_free(pc, writes, kWhat,
                                 live_ == kDestroyed ? "after its object was destroyed"
                                                     : "in a block the engine freed earlier in this run");
    }
    static bool acquires(std::memory_order mo) {
      return mo != std::memory_order_relaxed && mo != std::memory_order_release;
    }
    static bool releases(std::memory_order mo) {
      return mo == std::memory_order_release || mo == std::memory_order_acq_rel || mo == std::memory_order_seq_cst;
    }
    // Happens-before (sim/happens_before.hpp): sync_ is what the release
    // sequence this atomic's value belongs to carries.
    void loaded(std::memory_order mo) const {
      if (World* w = World::current(); w && w->checks_races() && acquires(mo)) w->hb_acquire(sync_);
    }
    void stored(std::memory_order mo) {
      World* w = World::current();
      if (!w || !w->checks_races()) return;
      if (releases(mo))
        w->hb_release(sync_);
      else
        sync_.clear();  // a relaxed store heads no release sequence and ends the one before
    }
    void modified(std::memory_order mo) {
      World* w = World::current();
      if (!w || !w->checks_races()) return;
      if (acquires(mo)) w->hb_acquire(sync_);
      if (releases(mo)) w->hb_release_more(sync_);  // a relaxed RMW carries the sequence on unchanged
    }
    uint64_t live_ = kLive;
    T v_;
    VectorClock sync_;
  };

  // Misuse (destroyed while held or waited for, used after destruction) ends
  // the run as a crash: World::sync_destroyed. Every check reads the world's
  // record of this address before any member, which may be freed memory.
  class LAZYWQ_CAPABILITY("mutex") Mutex {
   public:
    LAZYWQ_SIM_ACCESS Mutex() {
      if (World* w = World::current()) {
        w->sync_created(this);
        if (w->checks_races()) w->hb_write(obj_, __builtin_return_address(0), kWhat);
      }
    }
    LAZYWQ_SIM_ACCESS ~Mutex() {
      if (World* w = World::current()) {
        w->sync_destroyed(this, "mutex", owner_, waiters_);
        if (w->checks_races()) w->hb_write(obj_, __builtin_return_address(0), kWhat);
      }
    }
    Mutex(const Mutex&) = delete;
    Mutex& operator=(const Mutex&) = delete;
    LAZYWQ_SIM_ACCESS void lock() LAZYWQ_ACQUIRE() {
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
      acquired(w, __builtin_return_address(0));
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
      if (World* w = World::current()) {
        if (w->checks_races()) w->hb_release(sync_);
        w->wake_one(waiters_);
      }
    }
    LAZYWQ_SIM_ACCESS void relock_after_wait() {
      World* w = World::current();
      check_alive(w, "locked again after a wait");
      while (owner_ != kNoThread) {
        w->block(waiters_, -1, "mutex relock after wait");
        check_alive(w, "locked again after a wait");
      }
      owner_ = w->self();
      acquired(w, __builtin_return_address(0));
    }

   private:
    static constexpr const char* kWhat = "a mutex object (its construction, a lock or its destruction)";
    // A lock reads the mutex object (its construction and destruction write
    // it) and acquires what the last unlock released.
    void acquired(World* w, const void* pc) {
      if (!w->checks_races()) return;
      w->hb_read(obj_, pc, kWhat);
      w->hb_acquire(sync_);
    }
    VectorClock sync_;
    mutable AccessShadow obj_;
    void check_alive(World* w, const char* what) const {
      if (w->sync_dead(this)) w->misuse(std::string("a mutex was ") + what + " after it was destroyed (use after free)");
    }
    uint32_t owner_ = kNoThread;
    WaitQueue waiters_;
  };

  class CondVar {
   public:
    LAZYWQ_SIM_ACCESS CondVar() {
      if (World* w = World::current()) {
        w->sync_created(this);
        if (w->checks_races()) w->hb_write(obj_, __builtin_return_address(0), kWhat);
      }
    }
    LAZYWQ_SIM_ACCESS ~CondVar() {
      if (World* w = World::current()) {
        w->sync_destroyed(this, "condition variable", kNoThread, waiters_);
        if (w->checks_races()) w->hb_write(obj_, __builtin_return_address(0), kWhat);
      }
    }
    CondVar(const CondVar&) = delete;
    CondVar& operator=(const CondVar&) = delete;
    LAZYWQ_SIM_ACCESS void wait(Mutex& m) LAZYWQ_REQUIRES(m) {
      World* w = World::current();
      check_alive(w, "waited on");
      used(w, __builtin_return_address(0));
      const char* why = w->wait_why("condvar wait");
      m.release_for_wait();
      if (w->spurious_wakeup())
        w->point("spurious wake-up");  // returns unnotified: a caller that does not re-check its condition is caught
      else
        w->block(waiters_, -1, why);
      m.relock_after_wait();
    }
    // kNever: an untimed wait (the clock must never jump to "never").
    LAZYWQ_SIM_ACCESS bool wait_until(Mutex& m, int64_t deadline_ns) LAZYWQ_REQUIRES(m) {
      if (deadline_ns == kNever) {
        wait(m);
        return true;
      }
      World* w = World::current();
      check_alive(w, "waited on");
      used(w, __builtin_return_address(0));
      m.release_for_wait();
      bool notified = true;  // a spurious wake-up looks like a notify to the caller
      if (w->spurious_wakeup())
        w->point("spurious wake-up");
      else
        notified = w->block(waiters_, deadline_ns < w->now() ? w->now() : deadline_ns, "condvar timed wait");
      m.relock_after_wait();
      return notified;
    }
    LAZYWQ_SIM_ACCESS void notify_one() {
      if (World* w = World::current()) {
        check_alive(w, "notified");
        used(w, __builtin_return_address(0));
        w->wake_one(waiters_);
        w->point("notify");
      }
    }
    LAZYWQ_SIM_ACCESS void notify_all() {
      if (World* w = World::current()) {
        check_alive(w, "notified");
        used(w, __builtin_return_address(0));
        w->wake_all(waiters_);
        w->point("notify");
      }
    }

   private:
    void check_alive(World* w, const char* what) const {
      if (w->sync_dead(this)) w->misuse(std::string("a condition variable was ") + what + " after it was destroyed (use after free)");
    }
    // A wait or notify reads the object; its construction and destruction
    // write it. A notify orders nothing by itself: the mutex does.
    void used(World* w, const void* pc) const {
      if (w->checks_races()) w->hb_read(obj_, pc, kWhat);
    }
    static constexpr const char* kWhat = "a condition variable object (its construction, a wait or notify, or its destruction)";
    WaitQueue waiters_;
    mutable AccessShadow obj_;
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
