// The Relacy platform: the engine's seam (docs/SEAM.md) implemented on
// Relacy Race Detector (Debian's relacy-dev), so the models in this
// directory check the engine code that ships, instantiated as
// BasicEngine<RelacyPlatform>, under Relacy's scheduler and its C++ memory
// model (stale loads of relaxed atomics, acquire/release edges, timed waits
// that time out when the scheduler says so, spurious wake-ups).
//
// How each seam member maps (see also models/README in the top README):
//   Atomic<T>   rl::atomic<T>; every memory order is passed through.
//   Var<T>      rl::var<T>: the engine's lock-guarded plain fields, checked
//               for data races.
//   Mutex       rl::mutex (annotated as a capability like the others).
//   CondVar     rl::condvar with spurious wake-ups; wait_until is a timed
//               wait: Relacy decides whether it times out, and a timeout
//               moves the virtual clock to the deadline (as the simulator's
//               clock jumps to the next deadline). kNever: an untimed wait.
//   now_ns()    that virtual clock: it moves only when a timed wait times
//               out, so "idle_timeout has passed" is a scheduler decision.
//   Thread      rl::dyn_thread. Relacy has a fixed number of dynamic thread
//               slots per test; when they are used up, spawn() returns
//               nullopt, which the engine treats as a creation failure (C7,
//               a behaviour the contract allows for every creation).
//   context()   one slot per Relacy thread (rl::thread_index()).
//
// Include order matters: Relacy's umbrella header <relacy/relacy.hpp>
// #defines `new`, `delete`, `malloc`, `memory_order_relaxed`... which would
// rewrite the engine and the standard library. We include the component
// headers it includes, without those macros. <relacy/context.hpp> still
// replaces the global operator new/delete (inside a Relacy run, allocations
// go to Relacy's checked heap; outside, to malloc): everything allocated in
// an iteration must be freed in it (Relacy reports a leak otherwise), which
// the models do by creating and destroying the engine inside the iteration.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <string>
#include <utility>

#include "lazywq/annotations.hpp"
#include "lazywq/guarded.hpp"
#include "lazywq/types.hpp"
#include "models/coverage.hpp"

// Relacy's headers are system headers here (/usr/include), so their own
// warnings do not trip -Werror.
#include <relacy/base.hpp>
#include <relacy/context.hpp>
#include <relacy/context_base_impl.hpp>
#include <relacy/backoff.hpp>
#include <relacy/atomic_fence.hpp>
#include <relacy/atomic.hpp>
#include <relacy/var.hpp>
#include <relacy/test_suite.hpp>
#include <relacy/dyn_thread.hpp>
#include <relacy/stdlib/mutex.hpp>
#include <relacy/stdlib/condition_variable.hpp>
#include <relacy/stdlib/semaphore.hpp>
#include <relacy/stdlib/event.hpp>

namespace lazywq::models {

// Relacy's debug info for every operation: the engine's call site, from the
// compiler builtins as default arguments (C++20 std::source_location is not
// usable with clang 14 + libstdc++ 12).
#define LAZYWQ_RL_HERE \
  ::rl::debug_info(__builtin_FUNCTION(), __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()))

// Var's operators: never inlined, so that their return address is a call
// site in the engine (coverage::note_var).
#define LAZYWQ_RL_VAR_OP __attribute__((noinline))
#define LAZYWQ_RL_VAR_SITE ::lazywq::models::coverage::note_var(__builtin_return_address(0))

inline rl::memory_order to_rl(std::memory_order mo) {
  switch (mo) {
    case std::memory_order_relaxed: return rl::mo_relaxed;
    case std::memory_order_consume: return rl::mo_consume;
    case std::memory_order_acquire: return rl::mo_acquire;
    case std::memory_order_release: return rl::mo_release;
    case std::memory_order_acq_rel: return rl::mo_acq_rel;
    case std::memory_order_seq_cst: return rl::mo_seq_cst;
  }
  return rl::mo_seq_cst;
}

// The failure order a single-order compare_exchange implies (as in std).
inline rl::memory_order failure_order(std::memory_order mo) {
  switch (mo) {
    case std::memory_order_acq_rel: return rl::mo_acquire;
    case std::memory_order_release: return rl::mo_relaxed;
    default: return to_rl(mo);
  }
}

// Per-iteration state of the platform. Relacy runs the iterations of one
// test one after another on fibers of one OS thread, so plain statics are
// safe; RelacyPlatform::begin_iteration() resets them at the start of every
// iteration (in the test's before()), which keeps iterations deterministic.
struct RelacyState {
  static constexpr size_t kMaxThreads = 16;
  void* context[kMaxThreads] = {};
  int cpu[kMaxThreads] = {};
  int64_t clock_ns = 0;
  unsigned spawn_slots = 0;  // dynamic threads left in this iteration
  unsigned spawns = 0;       // dynamic threads started
  unsigned slot_refusals = 0;  // spawn() calls refused for lack of a slot
};

inline RelacyState& relacy_state() {
  static RelacyState s;
  return s;
}

struct RelacyPlatform {
  static constexpr const char* kName = "relacy";

  // A safety-net deadline (RealPlatform::safety_net) is dropped: the wait
  // is untimed, so a wake-up the engine misses is a deadlock Relacy
  // reports, not a timeout that hides it (a timed wait may time out at any
  // point here).
  static constexpr int64_t safety_net(int64_t) { return kNever; }

  // Call at the start of every iteration (test_suite::before()).
  // `dynamic_slots` = the test's dynamic_thread_count; `ncpus` gives the
  // static threads a CPU each (thread i on CPU i mod ncpus).
  static void begin_iteration(unsigned dynamic_slots, int ncpus) {
    RelacyState& s = relacy_state();
    s = RelacyState{};
    s.spawn_slots = dynamic_slots;
    for (size_t i = 0; i < RelacyState::kMaxThreads; ++i) s.cpu[i] = ncpus > 0 ? static_cast<int>(i) % ncpus : 0;
  }

  template <class T>
  class Atomic {
   public:
    Atomic() : a_(T()) {}
    Atomic(T v) : a_(v) {}  // NOLINT: mirrors std::atomic
    Atomic(const Atomic&) = delete;
    Atomic& operator=(const Atomic&) = delete;

    T load(std::memory_order mo = std::memory_order_seq_cst, rl::debug_info info = LAZYWQ_RL_HERE) const {
      coverage::note_atomic(info.file_, info.line_);
      return a_.load(to_rl(mo), info);
    }
    void store(T v, std::memory_order mo = std::memory_order_seq_cst, rl::debug_info info = LAZYWQ_RL_HERE) {
      coverage::note_atomic(info.file_, info.line_);
      a_.store(v, to_rl(mo), info);
    }
    T fetch_add(T d, std::memory_order mo = std::memory_order_seq_cst, rl::debug_info info = LAZYWQ_RL_HERE) {
      coverage::note_atomic(info.file_, info.line_);
      return a_.fetch_add(d, to_rl(mo), info);
    }
    T fetch_or(T d, std::memory_order mo = std::memory_order_seq_cst, rl::debug_info info = LAZYWQ_RL_HERE) {
      coverage::note_atomic(info.file_, info.line_);
      return a_.fetch_or(d, to_rl(mo), info);
    }
    T fetch_and(T d, std::memory_order mo = std::memory_order_seq_cst, rl::debug_info info = LAZYWQ_RL_HERE) {
      coverage::note_atomic(info.file_, info.line_);
      return a_.fetch_and(d, to_rl(mo), info);
    }
    bool compare_exchange_strong(T& expected, T desired, std::memory_order mo = std::memory_order_seq_cst,
                                 rl::debug_info info = LAZYWQ_RL_HERE) {
      coverage::note_atomic(info.file_, info.line_);
      return a_.compare_exchange_strong(expected, desired, to_rl(mo), info, failure_order(mo), info);
    }
    bool compare_exchange_strong(T& expected, T desired, std::memory_order success, std::memory_order failure,
                                 rl::debug_info info = LAZYWQ_RL_HERE) {
      coverage::note_atomic(info.file_, info.line_);
      return a_.compare_exchange_strong(expected, desired, to_rl(success), info, to_rl(failure), info);
    }

   private:
    mutable rl::atomic<T> a_;
  };

  // A plain, lock-guarded engine field (the "Q:"/"W:" fields) as an
  // rl::var: Relacy reports a data race when two threads touch it and at
  // least one writes without a happens-before edge between them (the lock
  // that should guard it). It reads and writes like the field itself, so
  // the engine's code is the same in every world. Enums are stored as int
  // (Relacy prints the values in its history; a uint8_t would print as a
  // character). The debug
  // info of a conversion operator cannot carry the caller's line; the
  // history shows the variable and the thread, and the lock operations
  // around it carry the engine's call sites. For the site coverage
  // (models/coverage.hpp) every operator is out of line and records its
  // return address, which the report symbolizes into the engine's line.
  template <class T>
  class Var {
    using Stored = std::conditional_t<std::is_enum_v<T>, int, T>;

   public:
    Var(T v = T()) : v_(static_cast<Stored>(v)) {}  // NOLINT: reads like the plain field
    LAZYWQ_RL_VAR_OP Var(const Var& o) : v_(static_cast<Stored>(o.get())) { LAZYWQ_RL_VAR_SITE; }
    LAZYWQ_RL_VAR_OP Var& operator=(const Var& o) {
      LAZYWQ_RL_VAR_SITE;
      set(o.get());
      return *this;
    }
    LAZYWQ_RL_VAR_OP Var& operator=(T v) {
      LAZYWQ_RL_VAR_SITE;
      set(v);
      return *this;
    }
    LAZYWQ_RL_VAR_OP operator T() const {  // NOLINT: reads like the plain field
      LAZYWQ_RL_VAR_SITE;
      return get();
    }
    LAZYWQ_RL_VAR_OP T operator->() const
      requires std::is_pointer_v<T>
    {
      LAZYWQ_RL_VAR_SITE;
      return get();
    }
    LAZYWQ_RL_VAR_OP Var& operator++() {
      LAZYWQ_RL_VAR_SITE;
      set(static_cast<T>(get() + 1));
      return *this;
    }
    LAZYWQ_RL_VAR_OP Var& operator--() {
      LAZYWQ_RL_VAR_SITE;
      set(static_cast<T>(get() - 1));
      return *this;
    }
    LAZYWQ_RL_VAR_OP T operator++(int) {
      LAZYWQ_RL_VAR_SITE;
      T old = get();
      set(static_cast<T>(old + 1));
      return old;
    }
    LAZYWQ_RL_VAR_OP T operator--(int) {
      LAZYWQ_RL_VAR_SITE;
      T old = get();
      set(static_cast<T>(old - 1));
      return old;
    }
    LAZYWQ_RL_VAR_OP Var& operator+=(T d) {
      LAZYWQ_RL_VAR_SITE;
      set(static_cast<T>(get() + d));
      return *this;
    }
    LAZYWQ_RL_VAR_OP Var& operator-=(T d) {
      LAZYWQ_RL_VAR_SITE;
      set(static_cast<T>(get() - d));
      return *this;
    }

   private:
    T get() const { return static_cast<T>(static_cast<Stored>(v_(LAZYWQ_RL_HERE))); }
    void set(T v) { v_(LAZYWQ_RL_HERE) = static_cast<Stored>(v); }
    mutable rl::var<Stored> v_;
  };

  // The intrusive lists' links: plain here (the simulator's happens-before
  // check covers them; as rl::vars they would cost every model time and
  // the coverage report sites in detail.hpp).
  template <class T>
  using ListVar = T;
  // Immutable fields (written by the constructor only): the value is plain
  // and a one-word rl::var, written by the constructor, stands for it; every
  // read reads it too. A thread that reaches the object through nothing
  // that orders it after the construction (a pointer published relaxed)
  // is a data race Relacy reports, as the simulator's happens-before check
  // does (the insert_locked@b9aaa2 family of memory-order mutants, model
  // late_queue). A var's load and store are no scheduling points: the
  // schedules, and every model's iterations, stay what they were. Not a
  // coverage site (models/coverage.hpp counts Var and atomics).
  template <class T>
  class Immutable {
   public:
    explicit Immutable(T v) : v_(std::move(v)) { stamp_(LAZYWQ_RL_HERE) = 1; }
    Immutable(const Immutable&) = delete;
    Immutable& operator=(const Immutable&) = delete;
    operator const T&() const {  // NOLINT: reads like the field
      (void)stamp_(LAZYWQ_RL_HERE).load();
      return v_;
    }
    // A pointer field reads like one: `w->eng->cfg_`.
    T operator->() const
      requires std::is_pointer_v<T>
    {
      (void)stamp_(LAZYWQ_RL_HERE).load();
      return v_;
    }

   private:
    const T v_;
    mutable rl::var<int> stamp_;
  };
  template <class T>
  using Guarded = detail::PlainGuarded<T>;

  class LAZYWQ_CAPABILITY("mutex") Mutex {
   public:
    void lock(rl::debug_info info = LAZYWQ_RL_HERE) LAZYWQ_ACQUIRE() { m_.lock(info); }
    void unlock(rl::debug_info info = LAZYWQ_RL_HERE) LAZYWQ_RELEASE() { m_.unlock(info); }
    rl::mutex& native() { return m_; }

   private:
    rl::mutex m_;
  };

  class CondVar {
   public:
    explicit CondVar(rl::debug_info info = LAZYWQ_RL_HERE) { cv_.init(/*allow_spurious_wakeups=*/true, info); }
    ~CondVar() { cv_.deinit(LAZYWQ_RL_HERE); }
    CondVar(const CondVar&) = delete;
    CondVar& operator=(const CondVar&) = delete;

    void wait(Mutex& m, rl::debug_info info = LAZYWQ_RL_HERE) LAZYWQ_REQUIRES(m) {
      (void)cv_.wait(m.native(), /*is_timed=*/false, info);
    }
    // Relacy ignores the time: the scheduler decides whether this wait
    // times out. A timeout moves the virtual clock to the deadline, so the
    // caller's re-check of now_ns() sees the deadline passed.
    // kNever is an untimed wait: a timeout would move the clock to "never".
    bool wait_until(Mutex& m, int64_t deadline_ns, rl::debug_info info = LAZYWQ_RL_HERE) LAZYWQ_REQUIRES(m) {
      if (deadline_ns == kNever) {
        wait(m, info);
        return true;
      }
      const rl::sema_wakeup_reason r = cv_.wait(m.native(), /*is_timed=*/true, info);
      if (r == rl::sema_wakeup_reason_timeout) {
        RelacyState& s = relacy_state();
        if (s.clock_ns < deadline_ns) s.clock_ns = deadline_ns;
        return false;
      }
      return true;
    }
    void notify_one(rl::debug_info info = LAZYWQ_RL_HERE) { cv_.notify_one(info); }
    void notify_all(rl::debug_info info = LAZYWQ_RL_HERE) { cv_.notify_all(info); }

   private:
    struct Tag;
    rl::condvar<Tag> cv_;
  };

  // The virtual clock (see CondVar::wait_until). Not a scheduling point.
  static int64_t now_ns() { return relacy_state().clock_ns; }

  class Thread {
   public:
    Thread() = default;
    explicit Thread(std::unique_ptr<rl::dyn_thread> t) : t_(std::move(t)) {}
    void join() {
      if (t_) {
        t_->join();
        t_.reset();
      }
    }
    bool joinable() const { return t_ != nullptr; }

   private:
    std::unique_ptr<rl::dyn_thread> t_;
  };

  // Starts `body` on one of the test's dynamic Relacy threads, or returns
  // nullopt (a creation failure) when the test has no slot left.
  static std::optional<Thread> spawn(int vcpu, const std::string& /*name*/, std::function<void()> body) {
    RelacyState& s = relacy_state();
    if (s.spawn_slots == 0) {
      ++s.slot_refusals;
      return std::nullopt;
    }
    --s.spawn_slots;
    ++s.spawns;
    auto* start = new Start{vcpu, std::move(body)};
    auto t = std::make_unique<rl::dyn_thread>();
    t->start(&trampoline, start);
    return Thread(std::move(t));
  }

  static void yield(rl::debug_info info = LAZYWQ_RL_HERE) { rl::yield(1, info); }

  static void* context() { return relacy_state().context[index()]; }
  static void set_context(void* ctx) { relacy_state().context[index()] = ctx; }
  static uint32_t thread_tag() { return static_cast<uint32_t>(index()) + 1; }
  static int current_cpu() { return relacy_state().cpu[index()]; }

  // Every atomic and lock operation is already a Relacy scheduling point.
  static void sched_point(const char* /*why*/) {}
  static void window_enter(RaceWindow) {}
  static void window_exit(RaceWindow) {}

 private:
  struct Start {
    int vcpu;
    std::function<void()> body;
  };
  static size_t index() {
    const size_t i = rl::thread_index();
    return i < RelacyState::kMaxThreads ? i : RelacyState::kMaxThreads - 1;
  }
  static void* trampoline(void* arg) {
    auto* start = static_cast<Start*>(arg);
    relacy_state().cpu[index()] = start->vcpu;
    relacy_state().context[index()] = nullptr;
    start->body();
    delete start;
    return nullptr;
  }
};

}  // namespace lazywq::models
