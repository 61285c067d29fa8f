// Workqueue: per-CPU lists, workers, the core thread, timers and flush
// epochs of one queue. The algorithm and every contract rule it keeps are
// described in docs/ENGINE.md; the rules themselves in docs/CONTRACT.md.
//
// Locking legend (as in the kernel's workqueue.c):
//   Q: guarded by BasicWorkqueue::lock_ (one lock per queue).
//   W: guarded by a work's own lock_ (order: Q before W).
//   E: guarded by BasicEngine::lock_ (order: E before Q).
//   I: immutable after construction.
//   T: touched only by the worker's own thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lazywq/detail.hpp"
#include "lazywq/pool.hpp"
#include "lazywq/types.hpp"
#include "lazywq/work.hpp"

namespace lazywq {

// One engine thread: the core of a queue (which also serves the core CPU),
// the worker of one other CPU of a queue, a shared pool's worker, or the
// shared pools' manager (wq and pool both null).
template <class P>
struct Worker {
  // Immutable: the simulator checks each read against the constructor (a
  // worker reached through nothing ordered after its creation is a race)
  // and against the block's release (a worker used after it was freed).
  const detail::Immutable<P, BasicEngine<P>*> eng;    // I
  const detail::Immutable<P, BasicWorkqueue<P>*> wq;  // I: null for pool workers and the manager
  const detail::Immutable<P, Pool<P>*> pool;          // I: the pool of a pool worker, else null
  const detail::Immutable<P, int> cpu;                // I: -1 for the unbound pool's workers
  const detail::Immutable<P, uint32_t> thread_id;     // I: engine-wide id used in events
  const detail::Immutable<P, bool> is_core;           // I
  typename P::Thread thread;    // Q: set by the creator once the thread exists
  typename P::CondVar cv;       // wakes this worker; waited on with wq->lock_ (S for pool threads)
  detail::Var<P, bool> stop = false;  // Q: exit at the next look at the list (hotplug, destroy)
  detail::Var<P, BasicWork<P>*> current = nullptr;  // Q: work whose callback runs now
  detail::Var<P, uint64_t> current_epoch = 0;   // Q: flush epoch of that run
  detail::Var<P, int64_t> last_active_ns = 0;   // Q: end of the last run (idle exit)
  // Q: a CPU worker's C3 wait: the work whose run elsewhere it waits for
  // (alive: the wait holds one of its engine_waiters_). Everything for its
  // CPU waits behind that run (C16, wait_targets).
  detail::Var<P, BasicWork<P>*> c3_awaiting = nullptr;
  // Q: that run's run_seq_: the work may end it and start another before
  // this worker clears c3_awaiting (a cancel took the queueing it waited
  // on), and that next run holds nothing up here.
  detail::Var<P, uint64_t> c3_run_seq = 0;

  // Pool workers and the manager only (S):
  detail::IntrusiveList<BasicWork<P>> scheduled;  // S: C3 collisions, run after the current work
  detail::Var<P, BasicWorkqueue<P>*> cur_wq = nullptr;  // S (own thread reads freely): queue of `current`
  detail::Var<P, bool> counted = false;  // S: counted in pool->nr_running
  detail::Var<P, bool> blocked = false;  // S: uncounted by an engine wait, counted again after it
  detail::Var<P, bool> published = false;  // S: the creator has made the thread known
  bool is_rescuer = false;  // I (set before the thread starts): the shared pools' rescuer
  detail::Var<P, int> nested_runs = 0;  // S: the rescuer: runs nested in a callback's wait, in progress
  // S: the rescuer: the runs its nested ones are nested in, outermost
  // first (each run's work, queue and flush epoch): a flush of a queue
  // counts them in its epochs (own_stack_run_locked).
  struct OuterRun {
    BasicWork<P>* work;
    BasicWorkqueue<P>* wq;
    uint64_t epoch;
  };
  std::vector<OuterRun> outer_runs;
  // S: every engine thread (a queue's worker too): the work an engine wait
  // of theirs waits for (flush_work, cancel_work_sync), so the rescuer can
  // follow a chain (wait_chain_locked).
  detail::Var<P, BasicWork<P>*> awaiting = nullptr;
  // S: with `awaiting`, a flush's target (the last queueing it waits for,
  // flush_done_locked), or 0 for a cancel_work_sync (it waits for the run).
  // A satisfied flush names its work until its thread runs again: the
  // rescuer must not follow it then (a false cycle, wait_chain_locked).
  detail::Var<P, uint64_t> awaiting_upto = 0;
  // S: the queue (shared, or for the rescuer's sake not) whose flush or
  // drain an engine thread (a queue's worker too) waits in, and the last epoch that wait is for
  // (wait_epoch_locked), so the rescuer can run those works too.
  detail::Var<P, BasicWorkqueue<P>*> awaiting_queue = nullptr;
  detail::Var<P, uint64_t> awaiting_epoch = 0;
  // S: a queue's own worker (not shared) blocked in an engine wait for a
  // work: the run it waits in and that run's epoch, copied from `current`
  // when it began waiting, so the rescuer can follow a flush of its queue
  // through it (BasicEngine::blocked_queue_workers_).
  detail::Var<P, BasicWork<P>*> blocked_run = nullptr;
  detail::Var<P, uint64_t> blocked_epoch = 0;

  Worker(BasicEngine<P>* e, BasicWorkqueue<P>* q, Pool<P>* p, int c, uint32_t id, bool core)
      : eng(e), wq(q), pool(p), cpu(c), thread_id(id), is_core(core) {}
  // The queue whose work this thread runs (its own queue, or for a shared
  // thread the queue of its current work). Read by the thread itself.
  BasicWorkqueue<P>* queue() const LAZYWQ_NO_TSA {
    if (wq) return wq;
    return static_cast<BasicWorkqueue<P>*>(cur_wq);
  }
  bool shared_thread() const { return wq == nullptr; }
};

template <class P>
class BasicWorkqueue {
 public:
  using Work = BasicWork<P>;
  using DelayedWork = BasicDelayedWork<P>;

  // C1: claims PENDING; false (and nothing changes) if already pending.
  // queue_work uses the caller's CPU (its worker's CPU inside a callback).
  bool queue_work(Work& w);
  bool queue_work_on(int cpu, Work& w);
  bool queue_delayed_work(DelayedWork& dw, Duration delay);
  bool queue_delayed_work_on(int cpu, DelayedWork& dw, Duration delay);
  // Re-arms (or arms) the timer to `delay` from now; true if it was pending.
  bool mod_delayed_work(DelayedWork& dw, Duration delay);
  bool mod_delayed_work_on(int cpu, DelayedWork& dw, Duration delay);

  // C11: waits for every work queued before the call; true if it waited.
  bool flush();
  // C11: refuses queueing from outside the queue and flushes until empty.
  void drain();
  // C14: drains, stops and joins every thread. A second call is an error.
  void destroy();

  uint32_t id() const { return id_; }
  const std::string& name() const { return name_; }
  WqKind kind() const { return kind_; }
  const WqOptions& options() const { return opts_; }
  bool is_shared() const { return kind_ == WqKind::shared; }
  // Shared queues: works of this queue active (on a pool or running) at once.
  int max_active() const { return max_active_; }
  bool destroyed() const { return dead_.load(std::memory_order_acquire); }
  int live_threads() const;
  // Shared queues: works active and waiting for a slot (Stats).
  std::pair<int, int> active_and_inactive() const;
#if defined(LAZYWQ_ENABLE_PLANTED_BUGS)
  // The planted bug stats_without_lock: a read of a Q field without Q, which
  // only a data-race detector sees (Relacy's model `stats`, TSan).
  int live_threads_unlocked() const LAZYWQ_NO_TSA { return live_threads_; }
#endif
  // Snapshot of which CPUs have a worker thread now (core CPU included).
  std::vector<int> cpus_with_worker() const;

  BasicWorkqueue(BasicEngine<P>& engine, uint32_t id, std::string name, WqKind kind, WqOptions opts);
  ~BasicWorkqueue() = default;
  BasicWorkqueue(const BasicWorkqueue&) = delete;
  BasicWorkqueue& operator=(const BasicWorkqueue&) = delete;

 private:
  friend class BasicEngine<P>;
  friend class BasicWork<P>;

  enum class CwqState : uint8_t { none, creating, active };

  // Per-(queue, CPU) state. For the core CPU, `list` is the core list: it
  // holds the core CPU's works and, in lazy and per_cpu queues, works for
  // CPUs whose worker does not exist yet (counted in their `in_core`).
  struct Cwq {
    std::unique_ptr<Worker<P>> worker;       // Q
    detail::Var<P, CwqState> state = CwqState::none;  // Q
    detail::IntrusiveList<Work> list;        // Q
    detail::Var<P, uint32_t> in_core = 0;             // Q: works for this CPU on the core list
    detail::Var<P, int64_t> cooldown_until_ns = 0;    // Q: no creation attempt before this
    detail::Var<P, bool> online = true;               // Q: this queue's view of hotplug
    detail::Var<P, bool> retiring = false;            // Q: offline, its worker still finishing a run
    detail::Var<P, bool> core_running = false;        // Q: the core runs a work of this CPU (fallback)
    detail::Var<P, bool> fresh_failure = false;       // Q: creation just failed; next fallback says so
  };

  bool uses_cpu_workers() const { return kind_ == WqKind::lazy || kind_ == WqKind::per_cpu; }
  // The core keeps one order per key (core_step_locked): a single_thread
  // or ordered queue one global order, a lazy or per_cpu queue one per
  // target CPU (its own CPU's works are the core's to run).
  int core_order_key(int cpu) const { return !uses_cpu_workers() || cpu == core_cpu_ ? core_cpu_ : cpu; }
  // Tells the analysis that S, held by a pool thread, is this shared
  // queue's lock (it is the same mutex).
  void assert_shared_lock() const LAZYWQ_ASSERT_CAPABILITY(lock_) {}
  void check_alive() const;
  void check_cpu(int cpu) const;
  Worker<P>* caller_in_this_queue() const;
  std::vector<DependencyNode> flush_targets_locked() LAZYWQ_REQUIRES(lock_);
  // C16: the queueings of this queue a run of `x` elsewhere holds up, as
  // the engine waits for it (C3): behind x in its core order (the core
  // skips x), for x's CPU (its worker waits, x at the front of its list),
  // or behind an ordered shared queue's slot (x takes it). Timers that will
  // fire there are held up too.
  enum class Stall { core_order, cpu_worker, ordered_slot };
  std::vector<std::pair<uint64_t, uint64_t>> held_up_locked(const Work& x, Stall how) LAZYWQ_REQUIRES(lock_);

  void start() LAZYWQ_EXCLUDES(lock_);
  bool queue_common(int cpu, Work& w, const DelayedWork* dw, Duration delay) LAZYWQ_EXCLUDES(lock_);
  bool accepting_locked() const LAZYWQ_REQUIRES(lock_);
  void reject_locked(Work& w, int cpu) LAZYWQ_REQUIRES(lock_);
  void insert_locked(Work& w, int cpu, bool new_queueing) LAZYWQ_REQUIRES(lock_);
  void count_queueing_locked(Work& w, bool new_queueing) LAZYWQ_REQUIRES(lock_);
  void arm_locked(DelayedWork& dw, int cpu, Duration delay) LAZYWQ_REQUIRES(lock_);
  void unlink_locked(Work& w) LAZYWQ_REQUIRES(lock_);
  void fire_due_timers_locked() LAZYWQ_REQUIRES(lock_);
  void expedite_timers_locked() LAZYWQ_REQUIRES(lock_);
  void finish_epoch_locked(uint64_t epoch) LAZYWQ_REQUIRES(lock_);
  uint64_t close_epoch_locked() LAZYWQ_REQUIRES(lock_);
  // On the rescuer, a wait that can never end is refused (Error(deadlock))
  // where `refusable` (flush, drain), so the caller must undo its count.
  bool wait_epoch_locked(uint64_t target, bool refusable) LAZYWQ_REQUIRES(lock_);
  bool rescue_for_flush_locked(Worker<P>* r, uint64_t target, bool refusable, uint64_t& kicks)
      LAZYWQ_REQUIRES(lock_);
  void rescuer_sleep_locked(Worker<P>* r, uint64_t kicks) LAZYWQ_REQUIRES(lock_);
  void wake_core_locked() LAZYWQ_REQUIRES(lock_);

  // The queue's lock, for a thread that learnt the queue through a work's
  // home_ (grab_pending, expedite_timer, wait_targets): the simulator
  // checks that read against the constructor (lock_addr_).
  typename P::Mutex& home_lock() const LAZYWQ_RETURN_CAPABILITY(lock_) {
    return *static_cast<typename P::Mutex* const&>(lock_addr_);
  }
  // Shared queues (docs/SHARED.md); lock_ is the engine's S.
  void insert_shared_locked(Work& w, int cpu, bool new_queueing) LAZYWQ_REQUIRES(lock_);
  void activate_locked(Work& w) LAZYWQ_REQUIRES(lock_);
  void retire_active_locked() LAZYWQ_REQUIRES(lock_);
  void run_pool_work_locked(Worker<P>* w, Work* work, detail::IntrusiveList<Work>& from, int fallback_reason)
      LAZYWQ_REQUIRES(lock_);

  bool spawn_worker_locked(int cpu) LAZYWQ_REQUIRES(lock_);
  void worker_main(Worker<P>* w) LAZYWQ_EXCLUDES(lock_);
  void core_loop_locked(Worker<P>* w) LAZYWQ_REQUIRES(lock_);
  void cpu_loop_locked(Worker<P>* w) LAZYWQ_REQUIRES(lock_);
  bool run_one_locked(Worker<P>* w, Cwq& from, Work* work, int fallback_reason) LAZYWQ_REQUIRES(lock_);
  void invoke_locked(Worker<P>* w, Work* work, int target, int fallback_reason) LAZYWQ_REQUIRES(lock_);
  void end_run_locked(Worker<P>* w, Work* work) LAZYWQ_REQUIRES(lock_);
  bool core_step_locked(Worker<P>* w) LAZYWQ_REQUIRES(lock_);
  void dec_in_core_locked(int cpu) LAZYWQ_REQUIRES(lock_);
  void join_zombies_locked() LAZYWQ_REQUIRES(lock_);
  void stop_and_join_locked(std::vector<std::unique_ptr<Worker<P>>> victims, EventType why)
      LAZYWQ_REQUIRES(lock_);

  void cpu_offline(int cpu) LAZYWQ_EXCLUDES(lock_);
  void cpu_online(int cpu) LAZYWQ_EXCLUDES(lock_);
  void drain_locked(bool refusable) LAZYWQ_REQUIRES(lock_);
  int64_t now() const;

  BasicEngine<P>& engine_;  // I
  const detail::Immutable<P, uint32_t> id_;       // I
  const detail::Immutable<P, std::string> name_;  // I
  const detail::Immutable<P, WqKind> kind_;       // I
  const detail::Immutable<P, int> core_cpu_;      // I
  const WqOptions opts_;                          // I
  const detail::Immutable<P, int> max_active_;    // I

  // Q. A shared queue's lock is the engine's S (pool_lock_), so the pools'
  // threads, the queue and its works are under one lock; other kinds have
  // their own.
  mutable typename P::Mutex own_lock_;
  typename P::Mutex& lock_;
  // I: &lock_, read through a checked field by home_lock(): a thread that
  // learnt this queue only through a work's home_ reads the queue's memory
  // to find its lock, so it must be ordered after the construction (the
  // acquire load of home_ pairs with the queueing's release store). For a
  // shared queue lock_ is S, made with the engine: locking it proves
  // nothing about this queue (relax_order insert_shared_locked@b9aaa2, the
  // publishing store made relaxed, survived every checker).
  const detail::Immutable<P, typename P::Mutex*> lock_addr_;
  std::vector<Cwq> cwqs_ LAZYWQ_GUARDED_BY(lock_);
  detail::Var<P, Worker<P>*> core_ LAZYWQ_GUARDED_BY(lock_) = nullptr;  // owned by cwqs_[core_cpu_].worker
  detail::Guarded<P, std::vector<std::unique_ptr<Worker<P>>>> zombies_ LAZYWQ_GUARDED_BY(lock_);  // exited, not joined
  std::vector<char> scan_blocked_ LAZYWQ_GUARDED_BY(lock_);  // core scan scratch: CPUs it must skip
  detail::Var<P, int> live_threads_ LAZYWQ_GUARDED_BY(lock_) = 0;

  // Shared queues: works active (on a pool's worklist, a scheduled list, or
  // running); beyond max_active_ they wait here, oldest first.
  detail::Var<P, int> active_ LAZYWQ_GUARDED_BY(lock_) = 0;
  detail::IntrusiveList<Work> inactive_ LAZYWQ_GUARDED_BY(lock_);

  // Armed delayed works, earliest first; the core thread fires them.
  std::map<std::pair<int64_t, uint64_t>, DelayedWork*> timers_ LAZYWQ_GUARDED_BY(lock_);
  detail::Var<P, uint64_t> next_timer_seq_ LAZYWQ_GUARDED_BY(lock_) = 0;

  // flush_workqueue epochs (C11): every insertion is counted in the
  // current epoch; flush closes the epoch and waits until every epoch up to
  // it has drained. Later insertions land in later epochs, so they never
  // extend a flush (no livelock).
  detail::Var<P, uint64_t> epoch_ LAZYWQ_GUARDED_BY(lock_) = 0;      // epoch of new insertions
  detail::Var<P, uint64_t> epoch_base_ LAZYWQ_GUARDED_BY(lock_) = 0; // oldest epoch with works in flight
  std::deque<uint64_t> inflight_ LAZYWQ_GUARDED_BY(lock_){0};  // [e - epoch_base_]
  detail::Var<P, uint64_t> total_inflight_ LAZYWQ_GUARDED_BY(lock_) = 0;
  // Notified when epoch_base_ advances or a worker creation resolves.
  typename P::CondVar state_cv_;
  // Q (a queue that is not shared): the rescuer sleeps in a flush or drain
  // of this queue, on its own cv under S (rescuer_sleep_locked), not on
  // state_cv_: an epoch's end wakes it there (Q, then S).
  detail::Var<P, bool> rescuer_flushing_ LAZYWQ_GUARDED_BY(lock_) = false;

  detail::Var<P, int> draining_ LAZYWQ_GUARDED_BY(lock_) = 0;     // nested drain() calls in progress
  detail::Var<P, int> flushers_ LAZYWQ_GUARDED_BY(lock_) = 0;     // flush() and drain() calls waiting (destroy lets them finish)
  detail::Var<P, bool> destroying_ LAZYWQ_GUARDED_BY(lock_) = false;
  // A: set once under lock_ when destroy has drained; read without the lock
  // at every API entry (a stale `false` is re-checked under lock_).
  typename P::template Atomic<bool> dead_{false};
};

}  // namespace lazywq
