// The engine: virtual CPUs, the clock, thread creation (with fault
// injection), every workqueue, the event stream and the statistics.
// No globals: build as many engines as you like.
//
// The class templates only; their member functions are in engine_impl.hpp
// and pool_impl.hpp, and engine.hpp includes both halves. A translation unit
// that uses an engine instantiated elsewhere (lazywq.hpp's real-thread
// engine, the simulator's sim/sim_engine.cpp, the torture's
// tools/probed_engine.cpp) includes this half only, so that a change of the
// engine's code recompiles the one unit that instantiates it, not every
// unit that uses it (a mutant build, issue #14, rebuilds in seconds).
//
// Locking legend: see workqueue.hpp. E: BasicEngine::lock_ serializes
// queue creation and hotplug; fault_lock_ and event_lock_ are leaves.
#pragma once

#include <algorithm>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "lazywq/dependency.hpp"
#include "lazywq/detail.hpp"
#include "lazywq/types.hpp"
#include "lazywq/work.hpp"
#include "lazywq/workqueue.hpp"

namespace lazywq {

enum class GrabResult : uint8_t { was_idle, was_pending, being_cancelled };

template <class P>
class BasicEngine {
 public:
  using Work = BasicWork<P>;
  using DelayedWork = BasicDelayedWork<P>;
  using Workqueue = BasicWorkqueue<P>;

  explicit BasicEngine(EngineConfig cfg);
  // Destroys (drains and joins) every queue still alive. From one of the
  // engine's own threads (a callback) it would wait for itself: it prints
  // a message and aborts, as a Work destroyed from its own callback does.
  ~BasicEngine();
  BasicEngine(const BasicEngine&) = delete;
  BasicEngine& operator=(const BasicEngine&) = delete;

  // The queue lives as long as the engine; after destroy() every call on it
  // is an Error(queue_destroyed). Throws Error(spawn_failed) if its core
  // thread cannot be created; Error(invalid_argument) for a kind outside
  // WqKind. `opts` apply to shared queues only (Error(invalid_argument)
  // otherwise).
  // The first shared queue starts the pools' manager thread (Error
  // (spawn_failed) if it cannot be created); pools start with no worker.
  Workqueue& create_workqueue(std::string name, WqKind kind, WqOptions opts = {});

  // For callbacks: sleeps on the engine clock. On a shared pool's thread it
  // counts as blocked (another worker takes the pool's next work), as every
  // engine wait does (flush_*, drain, cancel_work_sync).
  void sleep_for(Duration d);

  // C10: waits until every run queued before the call has finished. True if
  // it waited. Error(deadlock) when called from the work's own run, or from
  // the worker that would have to run it.
  bool flush_work(Work& w);
  // C12: true if the work was pending. Afterwards it is neither pending nor
  // running, even if it requeues itself. Error(deadlock) from its own run.
  bool cancel_work_sync(Work& w);
  // Removes a pending queueing without waiting for a running callback.
  bool cancel_work(Work& w);
  bool cancel_delayed_work(DelayedWork& dw) { return cancel_work(dw); }
  bool cancel_delayed_work_sync(DelayedWork& dw) { return cancel_work_sync(dw); }
  // Fires an armed timer now, then flush_work.
  bool flush_delayed_work(DelayedWork& dw);

  // C13: moves the CPU's pending works to the core (recorded as migrations)
  // and retires its workers after their current work. False if already
  // offline. Error(cpu_state) for the core CPU or from an engine thread.
  bool cpu_offline(int cpu);
  bool cpu_online(int cpu);
  bool cpu_is_online(int cpu) const;

  // Error(invalid_argument) if fail_probability is not in [0, 1] (NaN
  // included); the faults in force then stay. EngineConfig::spawn_faults
  // goes through here too.
  void set_spawn_faults(const SpawnFaults& f);
  const EngineConfig& config() const { return cfg_; }
  int ncpus() const { return cfg_.ncpus; }
  // Engine clock: nanoseconds since the engine was created.
  int64_t now_ns() const { return P::now_ns() - start_ns_; }

  Stats stats() const;
  // C16: the wait-for cycles reported so far (the first kKeptCycles),
  // oldest first; stats().dependency_cycles counts them all.
  static constexpr size_t kKeptCycles = 64;
  std::vector<DependencyCycle> dependency_cycles() const;
  std::vector<Event> events() const;
  // Index of the first event of the next call to events() (for windows).
  uint64_t event_count() const;

 private:
  friend class BasicWorkqueue<P>;
  friend class BasicWork<P>;

  bool flush_work_as(Work& w, FlushKind kind);
  void bind(Work& w);
  bool bound_here(Work& w);
  void unbind(Work& w);
  Worker<P>* current_worker() const;
  uint32_t current_thread_id() const;
  int current_cpu() const;
  void check_cpu(int cpu) const;
  bool decide_spawn_failure();
  // Takes PENDING for the caller, removing a pending queueing from its queue
  // if there is one (see engine_impl.hpp).
  GrabResult grab_pending(Work& w, bool canceller);
  void resolve_after_grab(Work& w);
  void record(EventType t, int cpu, uint32_t queue, uint64_t work, int32_t arg = 0, uint64_t upto = 0);
  // C16: a wait from inside a work, in progress: what its worker holds and
  // which queueing it waits for, so that a C3 wait of the engine's own
  // that holds that queueing up later can tie it to the run it waits for
  // (tie_waits). Guarded by waits_lock_, a leaf.
  struct WaitInProgress {
    std::vector<DependencyNode> held;
    uint64_t work = 0;         // the waited work's id (0: none)
    uint64_t upto = 0;         // its queueings waited for: queued_seq_ <= upto
    uint32_t drained = 0;      // a drain's queue id (0: none): every queueing of it
    // Set once the wait's own edges are in the graph (note_wait). A tie
    // before that is deferred into them: in error mode the wait may still
    // be refused, and a refused wait must leave no edge behind.
    bool begun = false;
    std::vector<DependencyNode> deferred;  // runs tied before `begun`
    std::vector<uint64_t> reported;  // keys of the targets whose edges closed a cycle (one report per stall)
    uint64_t serial = 0;             // names it once waits_lock_ was dropped
  };
  using WaitList = std::list<WaitInProgress>;
  // Ends a registered wait (note_wait) when it goes out of scope.
  class WaitScope {
   public:
    WaitScope() = default;
    WaitScope(BasicEngine* e, typename WaitList::iterator it) : engine_(e), it_(it) {}
    WaitScope(WaitScope&& o) noexcept : engine_(std::exchange(o.engine_, nullptr)), it_(o.it_) {}
    WaitScope& operator=(WaitScope&&) = delete;
    // The wait's record (guarded by waits_lock_), or null when none was registered.
    WaitInProgress* record() const { return engine_ ? &*it_ : nullptr; }
    ~WaitScope() {
      if (engine_) engine_->end_wait(it_);
    }

   private:
    BasicEngine* engine_ = nullptr;
    typename WaitList::iterator it_{};
  };
  // C16: the calling worker (if any) is about to wait for each of
  // `targets` (and, for a `registered` wait, the runs tied to it before
  // now). Adds the dependencies; a cycle is recorded, and with
  // DependencyCheck::error thrown as Error(deadlock), no edge kept. Call
  // with no engine lock held, or Q only (flush_workqueue, drain).
  // awaited_queue / awaited_work: what the wait is for (the wait_refused event's, when it is refused).
  void note_wait(std::vector<DependencyNode> targets, const char* call, const WaitScope* registered = nullptr,
                 uint32_t awaited_queue = 0, uint64_t awaited_work = 0);
  // Counts, records and keeps one cycle report (at most kKeptCycles kept):
  // the dependency graph's and the rescuer's refusals alike.
  void report_cycle(DependencyCycle c, int cpu, uint32_t queue, uint64_t work);
  // Whether a cycle through `t` is the first the registered wait `serial`
  // (0: none registered) reports through it; notes it. One stall, one report.
  bool first_report(uint64_t serial, const DependencyNode& t) LAZYWQ_EXCLUDES(waits_lock_);
  // "Each of `held` waits for `t`" (report only), as a tie or a warn-mode wait.
  void add_and_report(const std::vector<DependencyNode>& held, const DependencyNode& t, const char* why,
                      uint64_t serial, int cpu, uint32_t queue, uint64_t work) LAZYWQ_EXCLUDES(waits_lock_);
  // The pseudo-locks the calling worker holds (its queue, executor or
  // slot, the work it runs).
  std::vector<DependencyNode> held_by(Worker<P>* self) const;
  // C16: registers the calling worker's wait (if it is one) for the
  // queueings of work `work` up to `upto`, or for every queueing of queue
  // `drained`, until the returned scope ends. Before its targets are
  // computed: a C3 wait that holds the queueing up after that computation
  // must find it registered (tie_waits).
  WaitScope register_wait(uint64_t work, uint64_t upto, uint32_t drained);
  void end_wait(typename WaitList::iterator it) LAZYWQ_EXCLUDES(waits_lock_);
  // A queueing held up behind a run in progress elsewhere: (work id, queued_seq_).
  using HeldUp = std::vector<std::pair<uint64_t, uint64_t>>;
  // C16: the run of `x` now holds up the queueings `held_up` (and every
  // queueing of queue `queue`): each wait in progress for one of them
  // waits for that run. Adds the edges and reports the cycles they close
  // (nothing can be refused: the waiters wait already).
  void tie_waits(const HeldUp& held_up, uint32_t queue, const Work& x, const char* why, int cpu)
      LAZYWQ_EXCLUDES(waits_lock_);
  // `w` and the executors that may run its pending queueing (if
  // `pending_too`) or run it now. Takes Q, then W (not nested).
  std::vector<DependencyNode> wait_targets(Work& w, uint64_t pending_upto);
  void expedite_timer(Work& w);
  static DependencyNode node_of(const Work& w);
  static DependencyNode node_of(const Workqueue& q);
  static DependencyNode executor_node(const Workqueue& q, int cpu, bool core);
  void record_as(uint32_t thread, EventType t, int cpu, uint32_t queue, uint64_t work, int32_t arg,
                 uint64_t upto = 0);

  // Shared pools (pool_impl.hpp, docs/SHARED.md). S = pool_lock_.
  class BlockedScope;  // an engine wait on a pool thread: not counted as running meanwhile
  // What a pool thread's engine wait waits for (Worker::awaiting, _upto).
  struct AwaitedRun {
    Work* work = nullptr;
    uint64_t upto = 0;  // a flush: the last queueing it waits for; 0: a cancel_work_sync (the run)
  };
  void create_pools_locked() LAZYWQ_REQUIRES(lock_, pool_lock_);
  bool start_shared(Workqueue& q) LAZYWQ_EXCLUDES(pool_lock_);
  Pool<P>& pool_of_locked(int cpu, bool highpri) LAZYWQ_REQUIRES(pool_lock_);
  Pool<P>& unbound_pool_locked() LAZYWQ_REQUIRES(pool_lock_);
  void kick_pool_locked(Pool<P>& p) LAZYWQ_REQUIRES(pool_lock_);
  void start_stall_watch_locked(Pool<P>& p) LAZYWQ_REQUIRES(pool_lock_);
  void wake_manager_locked() LAZYWQ_REQUIRES(pool_lock_);
  // p: a pool's worker; null: the manager, or the rescuer if `rescuer`.
  bool spawn_pool_thread_locked(Pool<P>* p, bool rescuer = false) LAZYWQ_REQUIRES(pool_lock_);
  void rescuer_loop_locked(Worker<P>* r) LAZYWQ_REQUIRES(pool_lock_);
  bool rescue_step_locked(Worker<P>* r, bool& pending) LAZYWQ_REQUIRES(pool_lock_);
  bool rescue_due_locked(const Pool<P>& p, int64_t t, FallbackReason& reason) LAZYWQ_REQUIRES(pool_lock_);
  // Runs, nested on rescuer r, one work it waits for that only a rescue
  // can run now (`wanted` picks them). True if it ran one.
  template <class Wanted>
  bool rescue_wanted_locked(Worker<P>* r, Wanted wanted) LAZYWQ_REQUIRES(pool_lock_);
  // The rescuer waits in flush_work / cancel_work_sync on `w`, running
  // what that wait waits for, until: its runs up to queueing `target` are
  // over (flush_work), no run is in progress, or no other cancel is.
  enum class RescuerWait { runs_up_to, run_end, cancel_turn };
  void rescuer_wait(Worker<P>* r, Work& w, RescuerWait until, uint64_t target = 0) LAZYWQ_EXCLUDES(pool_lock_);
  // A flush or drain of a queue (of any kind) that a wait of the rescuer
  // waits for: q's runs up to queueing `epoch`, waited for by the thread that
  // runs `by` (a work of the wait's chain, or of a QueueRun's chain; null:
  // the rescuer's own flush).
  struct AwaitedQueue {
    Workqueue* q;
    uint64_t epoch;
    Work* by;
  };
  using AwaitedQueues = std::vector<AwaitedQueue>;
  // A run of an awaited queue in progress on another thread, and its wait
  // chain (the run's work first, see wait_chain_locked).
  struct QueueRun {
    size_t queue;  // index in the scope's `awaited`
    std::vector<Work*> chain;
  };
  // Everything one wait of the rescuer waits for: the chain of works from
  // the awaited work (empty for a queue flush), the queue flushes their
  // runners wait in, and those queues' runs elsewhere with their chains
  // (whose runners' queue flushes join `awaited`, up to 16 queues).
  struct RescuerWaitScope {
    std::vector<Work*> chain;
    AwaitedQueues awaited;
    std::vector<QueueRun> runs;
  };
  // Fills s.runs for every queue of s.awaited (which grows).
  void follow_awaited_queues_locked(Worker<P>* r, RescuerWaitScope& s) LAZYWQ_REQUIRES(pool_lock_);
  // x is a work that wait waits for beyond its chain. REQUIRES S (it
  // reads x's epoch, under Q: S for a shared queue's works, the only ones
  // the rescuer runs; called from rescue_wanted_locked's picks).
  static bool scope_wants(const RescuerWaitScope& s, Work& x);
  // True if that wait waits for a run on the rescuer's own stack (its
  // callback, or an outer frame: it resumes only after the wait returns):
  // a work of a chain running on r, or a run of an awaited queue up to its
  // epoch. Then `cycle` gets the path there, one line per link.
  bool own_stack_run_locked(Worker<P>* r, const RescuerWaitScope& s, DependencyCycle& cycle)
      LAZYWQ_REQUIRES(pool_lock_);
  // The path from the wait to `by` (a work of s's chains), for a report.
  void explain_path_locked(const RescuerWaitScope& s, const Work* by, DependencyCycle& cycle, int depth)
      LAZYWQ_REQUIRES(pool_lock_);
  // The rescuer is about to wait in a flush or drain of queue q for its
  // runs up to epoch `target`: refused (Error(deadlock), C16) if one of
  // them runs on its own stack, or on a thread whose wait chain ends there
  // (through other queues' flushes too). Returns what the wait waits for.
  // A shared queue's runs are found under S; a queue that is not shared
  // passes its runs in progress up to `target` (read under its Q).
  RescuerWaitScope rescuer_queue_wait_locked(Worker<P>* r, Workqueue& q, uint64_t target, bool refusable,
                                             const std::vector<Work*>& runs_of_q = {})
      LAZYWQ_REQUIRES(pool_lock_);
  // Wakes the rescuer: its loop, and the engine wait it sleeps in nested
  // in a callback, if any. Whatever may let it run something now: no
  // thread can be had for a pool, or a thread of a chain it may follow
  // starts waiting for a work or a queue.
  void kick_rescuer_locked() LAZYWQ_REQUIRES(pool_lock_);
  // Reports the rescuer's refused wait (a cycle, its wait_refused event)
  // and throws Error(deadlock).
  [[noreturn]] void refuse_rescuer_wait_locked(Worker<P>* r, DependencyCycle cycle, uint32_t queue, uint64_t work)
      LAZYWQ_REQUIRES(pool_lock_);
  // C10: the runs of `w` up to queueing `target` are over.
  static bool flush_done_locked(const Work& w, uint64_t target) LAZYWQ_REQUIRES(w.lock_) {
    return w.resolved_seq_ >= target && !(w.running_ && w.run_seq_ <= target);
  }
  std::vector<Work*> wait_chain_locked(Worker<P>* r, Work& w, AwaitedQueues* queues = nullptr)
      LAZYWQ_REQUIRES(pool_lock_);
  // How often the rescuer looks again while it waits (a cooldown ending or
  // a creation failing elsewhere wakes nobody there): every cooldown, but
  // at least 1 ms apart (no spin) and at most 1 s: a cooldown that never
  // ends (Duration::max()) still lets it look, and now + this never
  // overflows.
  int64_t rescue_poll_ns() const {
    return std::clamp<int64_t>(cfg_.spawn_cooldown.count(), 1'000'000, 1'000'000'000);
  }
  // The deadline of the rescuer's next look from now: a safety net
  // (P::safety_net) for a wake-up the engine misses, which it should not:
  // the simulator drops it to see such misses as hangs.
  int64_t rescue_look_deadline() const { return P::safety_net(detail::deadline_after(P::now_ns(), rescue_poll_ns())); }
  void pool_thread_main(Worker<P>* w) LAZYWQ_EXCLUDES(pool_lock_);
  void pool_worker_loop_locked(Worker<P>* w) LAZYWQ_REQUIRES(pool_lock_);
  void manager_loop_locked(Worker<P>* m) LAZYWQ_REQUIRES(pool_lock_);
  bool manager_step_locked(Worker<P>* m, int64_t& deadline) LAZYWQ_REQUIRES(pool_lock_);
  bool pool_dispatch_locked(Worker<P>* w, Pool<P>* p, Work* work, detail::IntrusiveList<Work>& from,
                            int fallback_reason, bool may_wait) LAZYWQ_REQUIRES(pool_lock_);
  void retire_pool_thread_locked(Worker<P>* w, EventType why) LAZYWQ_REQUIRES(pool_lock_);
  void join_pool_zombies_locked() LAZYWQ_REQUIRES(pool_lock_);
  AwaitedRun worker_sleeping(Worker<P>* w, AwaitedRun awaiting) LAZYWQ_EXCLUDES(pool_lock_);
  void worker_waking(Worker<P>* w, AwaitedRun was_awaiting) LAZYWQ_EXCLUDES(pool_lock_);
  void uncount_locked(Worker<P>* w) LAZYWQ_REQUIRES(pool_lock_);
  void pools_cpu_offline(int cpu) LAZYWQ_EXCLUDES(pool_lock_);
  void stop_pools() LAZYWQ_EXCLUDES(pool_lock_);
  static DependencyNode slot_node(const Workqueue& q);
  // C3: with W held, waits until `work`'s run elsewhere numbered `run_seq`
  // (its run_seq_ when the caller saw it) ends, then drops the
  // engine_waiters_ claim the caller took before releasing its locks. That
  // run, not any run: once it ends, a cancel may take the queueing the
  // caller stalled on and another run start elsewhere, which may wait for
  // a work behind the caller (a hang, found in session 15: the loop waited
  // while running_ was set, whichever run set it).
  // With `release_claim` false the caller releases it later
  // (release_run_claim_locked): a CPU worker first clears what points at
  // the work (Worker::c3_awaiting), since the work may be freed once the
  // claim is gone.
  static void await_run_end_locked(Work& work, uint64_t run_seq, bool release_claim = true)
      LAZYWQ_REQUIRES(work.lock_);
  static void release_run_claim_locked(Work& work) LAZYWQ_REQUIRES(work.lock_);
  // Tells the analysis S is held where a shared queue's lock_ (the same
  // mutex) is.
  void assert_held_pool_lock() const LAZYWQ_ASSERT_CAPABILITY(pool_lock_) {}

  const EngineConfig cfg_;  // I
  const int64_t start_ns_;  // I

  typename P::Mutex hotplug_lock_;  // serializes cpu_offline / cpu_online; before E
  mutable typename P::Mutex lock_;  // E
  std::vector<std::unique_ptr<Workqueue>> queues_ LAZYWQ_GUARDED_BY(lock_);
  std::vector<char> online_ LAZYWQ_GUARDED_BY(lock_);

  mutable typename P::Mutex fault_lock_;  // leaf
  SpawnFaults faults_ LAZYWQ_GUARDED_BY(fault_lock_);
  uint64_t spawn_attempts_ LAZYWQ_GUARDED_BY(fault_lock_) = 0;  // since faults_ was set
  uint64_t fault_rng_ LAZYWQ_GUARDED_BY(fault_lock_) = 0;

  // Works ever queued here, so the engine can detach them when it dies.
  mutable typename P::Mutex registry_lock_;  // leaf
  std::unordered_set<Work*> bound_ LAZYWQ_GUARDED_BY(registry_lock_);

  DependencyGraph<P> deps_;                // its own leaf lock
  mutable typename P::Mutex cycle_lock_;  // leaf
  std::vector<DependencyCycle> cycles_ LAZYWQ_GUARDED_BY(cycle_lock_);
  mutable typename P::Mutex waits_lock_;  // leaf
  WaitList waits_ LAZYWQ_GUARDED_BY(waits_lock_);
  uint64_t wait_serial_ LAZYWQ_GUARDED_BY(waits_lock_) = 0;

  // S: the shared world. Also the Q lock of every shared queue. Order:
  // E -> S -> W; a lazy/per_cpu/single_thread/ordered queue's Q may be held
  // when S is taken, never the other way round.
  mutable typename P::Mutex pool_lock_;
  // Per CPU [2*cpu + highpri], then the unbound pool; created with the
  // first shared queue and never freed before the engine.
  std::vector<std::unique_ptr<Pool<P>>> pools_ LAZYWQ_GUARDED_BY(pool_lock_);
  std::vector<Workqueue*> shared_queues_ LAZYWQ_GUARDED_BY(pool_lock_);  // timers fired by the manager
  std::unique_ptr<Worker<P>> manager_ LAZYWQ_GUARDED_BY(pool_lock_);
  // Runs a pool's works when no worker can be had (creation failing or the
  // cap reached): created with the manager, so that the manager itself
  // never runs a callback that could block it.
  std::unique_ptr<Worker<P>> rescuer_ LAZYWQ_GUARDED_BY(pool_lock_);
  // The workers of queues that are not shared blocked in an engine wait
  // for a work (Worker::blocked_run): a flush of their queue the rescuer
  // waits for, through a chain, waits for their runs (issue #14: a pool
  // thread waiting in a single_thread queue's flush ended the rescuer's
  // chains there, a hang). One entry per wait in progress.
  std::vector<Worker<P>*> blocked_queue_workers_ LAZYWQ_GUARDED_BY(pool_lock_);
  // Where the rescuer sleeps in a callback's engine wait, so that what may
  // give it something to run there wakes it (kick_rescuer_locked) instead
  // of its next look every rescue_poll_ns() (100 ms by default: a real
  // client saw every such rescue that late). S: the work whose cv_ a
  // rescuer_wait sleeps on (null: none), or the shared queue whose
  // state_cv_ (under S) its flush or drain sleeps on. In a flush of a
  // queue that is not shared it sleeps on its own cv, which every kick
  // notifies (BasicWorkqueue::rescuer_sleep_locked).
  detail::Var<P, Work*> rescuer_sleeps_on_ LAZYWQ_GUARDED_BY(pool_lock_) = nullptr;
  detail::Var<P, Workqueue*> rescuer_sleeps_in_ LAZYWQ_GUARDED_BY(pool_lock_) = nullptr;
  // Kicks so far: written under S (and rescuer_sleeps_on_'s lock while it
  // is set), read under either. The rescuer reads it at its look, then
  // sleeps only if it is unchanged under the lock of its sleep (the work's,
  // or S): no kick in between is lost.
  detail::Var<P, uint64_t> rescuer_kicks_ = 0;
  detail::Var<P, bool> manager_stop_ LAZYWQ_GUARDED_BY(pool_lock_) = false;
  detail::Guarded<P, std::vector<std::unique_ptr<Worker<P>>>> pool_zombies_ LAZYWQ_GUARDED_BY(pool_lock_);  // exited, not joined
  detail::Var<P, int> pool_threads_ LAZYWQ_GUARDED_BY(pool_lock_) = 0;  // created, not joined (manager too)
  // With S: a pool thread retired (stop_pools waits for all), or the
  // manager's creation resolved (a second shared queue waits for it).
  typename P::CondVar pool_state_cv_;

  mutable typename P::Mutex sleep_lock_;  // leaf: sleep_for
  typename P::CondVar sleep_cv_;          // never notified: sleep_for waits for its deadline

  mutable typename P::Mutex event_lock_;  // leaf
  std::vector<Event> events_ LAZYWQ_GUARDED_BY(event_lock_);

  // A: counters only (relaxed: nobody orders anything by them).
  typename P::template Atomic<uint64_t> next_work_id_{1};
  typename P::template Atomic<uint32_t> next_thread_id_{1};
  typename P::template Atomic<uint64_t> n_created_{0}, n_exited_{0}, n_spawn_fail_{0},
      n_fallback_{0}, n_migrate_{0}, n_run_{0}, n_idle_exit_{0}, n_threw_{0}, n_cycles_{0},
      n_mayday_{0};
};

}  // namespace lazywq
