// Work and DelayedWork: a callable plus the state the contract speaks of.
//
// Locking legend for the fields below (as in the kernel's workqueue.c):
//   A: atomic; the comment says who writes it and why the order is enough.
//   Q: guarded by home_->lock_ (the lock of the queue the work is pending
//      on) while home_ is non-null; untouched otherwise.
//   W: guarded by the work's own lock_, taken after any queue lock.
//   I: immutable after construction.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "lazywq/detail.hpp"

namespace lazywq {

template <class P> class BasicEngine;
template <class P> class BasicWorkqueue;
template <class P> struct Worker;
template <class P> struct Pool;

// Where a pending work sits inside its home queue.
enum class WorkLocation : uint8_t {
  none,
  core_list,  // a queue's core list
  cpu_list,   // a queue's CPU list
  timer,      // armed delayed work
  pool_list,  // shared: a pool's worklist (active)
  inactive,   // shared: the queue's inactive list (max_active reached)
  scheduled,  // shared: a pool thread's scheduled list, behind its current run of this work (C3)
};

template <class P>
class BasicWork {
 public:
  using Fn = std::function<void(BasicWork&)>;

  explicit BasicWork(Fn fn, std::string name = {}) : fn_(std::move(fn)), name_(std::move(name)) {}

  // A work must not be destroyed while pending or running: the destructor
  // cancels it synchronously (C12) so nothing dangles. Destroying a work
  // from inside its own callback is not supported (it would wait for
  // itself) and terminates with a message.
  ~BasicWork();

  BasicWork(const BasicWork&) = delete;
  BasicWork& operator=(const BasicWork&) = delete;

  // True while a queueing has not yet started to run (C1).
  bool pending() const { return (flags_.load(std::memory_order_acquire) & kPending) != 0; }
  // Engine-unique id, assigned when the work is first queued (0 before).
  uint64_t id() const { return id_.load(std::memory_order_acquire); }
  const std::string& name() const { return name_; }
  BasicEngine<P>* engine() const { return engine_.load(std::memory_order_acquire); }

 private:
  friend class BasicEngine<P>;
  friend class BasicWorkqueue<P>;
  friend class detail::IntrusiveList<BasicWork>;

  static constexpr uint32_t kPending = 1u;

  // The callback, through the checked read of fn_ (see detail::Immutable).
  void call() {
    const Fn& fn = fn_;
    fn(*this);
  }

  const detail::Immutable<P, Fn> fn_;             // I
  const detail::Immutable<P, std::string> name_;  // I

  // A: bound once, by CAS from null at the first queueing; never changes.
  typename P::template Atomic<BasicEngine<P>*> engine_{nullptr};
  // A: set together with engine_ (by the thread that won the CAS).
  typename P::template Atomic<uint64_t> id_{0};

  // A: the PENDING bit. Set by queue_* (fetch_or, acq_rel: the winner owns
  // the work until it clears it) and by cancel's grab; cleared (release)
  // by the worker just before the callback (C2), by a rejected queueing, or
  // at the end of a cancel.
  typename P::template Atomic<uint32_t> flags_{0};

  // A: number of accepted queueings. Incremented under the home queue's
  // lock by the PENDING owner; read by flush_work (any order is fine: a
  // queueing racing the flush call may or may not be waited for) and by the
  // worker under the same queue lock when the run starts.
  typename P::template Atomic<uint64_t> queued_seq_{0};

  // A: the queue whose lists or timers hold the pending work. Changes only
  // under that queue's lock (null -> q on insert, q -> null on removal), so
  // cancel reads it without a lock to know which lock to take, then
  // re-checks it under the lock.
  typename P::template Atomic<BasicWorkqueue<P>*> home_{nullptr};

  detail::ListHook<BasicWork> hook_;            // Q
  detail::Var<P, WorkLocation> where_ = WorkLocation::none;  // Q
  detail::Var<P, int> target_cpu_ = -1;               // Q: CPU it was queued for
  detail::Var<P, uint64_t> epoch_ = 0;                 // Q: flush_workqueue epoch of this queueing
  detail::Var<P, int64_t> timer_deadline_ns_ = 0;     // Q: delayed works, while armed
  detail::Var<P, uint64_t> timer_seq_ = 0;             // Q: tie-break of equal deadlines
  detail::Var<P, Pool<P>*> pool_ = nullptr;            // Q (shared): pool chosen at queueing
  detail::Var<P, Worker<P>*> sched_owner_ = nullptr;   // Q (shared): whose scheduled list holds it
  // The key of an armed delayed work in its queue's timers_ (Q).
  std::pair<int64_t, uint64_t> timer_key() const { return {timer_deadline_ns_, timer_seq_}; }

  // The work's own lock and the condition that flush_work, cancel_work_sync
  // and a worker that must not re-enter it (C3) wait on.
  mutable typename P::Mutex lock_;
  typename P::CondVar cv_;  // notified when running_, resolved_seq_ or canceling_ change
  detail::Var<P, bool> running_ LAZYWQ_GUARDED_BY(lock_) = false;         // a callback is executing
  detail::Var<P, Worker<P>*> runner_ LAZYWQ_GUARDED_BY(lock_) = nullptr;  // the worker running it
  detail::Var<P, uint64_t> run_seq_ LAZYWQ_GUARDED_BY(lock_) = 0;         // queued_seq_ covered by the current run
  detail::Var<P, uint64_t> resolved_seq_ LAZYWQ_GUARDED_BY(lock_) = 0;    // queueings <= this have run or were cancelled
  detail::Var<P, bool> canceling_ LAZYWQ_GUARDED_BY(lock_) = false;       // a cancel_work_sync holds PENDING
  detail::Var<P, Worker<P>*> canceller_ LAZYWQ_GUARDED_BY(lock_) = nullptr;  // ... from this worker (null: outside the engine)
  detail::Var<P, int> engine_waiters_ LAZYWQ_GUARDED_BY(lock_) = 0;       // workers waiting for running_ to clear (C3)
  // A core that skipped this work because it was running elsewhere (C3);
  // woken when that run ends.
  detail::Var<P, BasicWorkqueue<P>*> core_waiter_ LAZYWQ_GUARDED_BY(lock_) = nullptr;
  // Queued on a shared queue while it ran on a thread outside that queue's
  // pools (a lazy/single_thread queue's worker, the rescuer, an offline
  // CPU's pool thread): the rescuer skips it while that run lasts (C3), so
  // the run's end wakes it (issue #14: a real client saw it sleep up to
  // rescue_poll_ns(), ~80 ms at the default cooldown).
  detail::Var<P, bool> kick_rescuer_at_end_ LAZYWQ_GUARDED_BY(lock_) = false;
};

template <class P>
class BasicDelayedWork : public BasicWork<P> {
 public:
  using Fn = typename BasicWork<P>::Fn;
  explicit BasicDelayedWork(Fn fn, std::string name = {})
      : BasicWork<P>(std::move(fn), std::move(name)) {}
};

}  // namespace lazywq
