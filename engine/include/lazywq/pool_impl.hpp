// The `shared` kind: concurrency-managed pools (docs/SHARED.md), after
// Weisbecker's reply to the lazy workqueues and the kernel's cmwq.
// Included at the end of engine_impl.hpp only.
//
// In one paragraph: every shared queue puts an activated work on a pool
// (its CPU's, normal or high priority, or the unbound one). A pool thread
// takes the next work only while it is the pool's one running thread; when
// that thread blocks in an engine wait it stops counting, and another
// thread is woken or created (by the manager), so a work waiting for
// another never waits for a thread (C16). Blocking the engine cannot see
// is covered by the manager's watchdog. A work requeued while it runs goes
// to the pool of that run and waits on the runner's scheduled list (C3).
// One lock, S, covers the pools, their threads and every shared queue.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

namespace lazywq {

// An engine wait on an engine thread: a pool thread stops counting as
// running for as long as the scope lives, and every engine thread says
// which work it waits for, if one, so that the rescuer can follow a chain
// of waits through it (C7, C16): a queue's core or CPU worker too, which
// may wait for a shared work only the rescuer can run. Construct with no
// engine lock held.
template <class P>
class BasicEngine<P>::BlockedScope {
 public:
  // `upto`: a flush's target (the last queueing of `awaiting` it waits
  // for), 0 for a wait for its run (cancel_work_sync).
  explicit BlockedScope(BasicEngine& e, Work* awaiting = nullptr, uint64_t upto = 0)
      : e_(e), w_(e.current_worker()), published_(w_ && (w_->shared_thread() || awaiting)) {
    if (published_) was_awaiting_ = e_.worker_sleeping(w_, {awaiting, upto});
  }
  ~BlockedScope() {
    if (published_) e_.worker_waking(w_, was_awaiting_);
  }
  BlockedScope(const BlockedScope&) = delete;
  BlockedScope& operator=(const BlockedScope&) = delete;

 private:
  BasicEngine& e_;
  Worker<P>* w_;
  // A queue's worker publishes only a wait for a work (it counts nowhere):
  // its other waits need no S.
  bool published_;
  AwaitedRun was_awaiting_;  // the rescuer's outer wait, around a nested one
};

template <class P>
void BasicEngine<P>::sleep_for(Duration d) {
  if (d < Duration::zero()) throw Error(Errc::invalid_argument, "negative sleep");
  BlockedScope blocked(*this);
  // Duration::max() (or anything too large to add) sleeps for ever.
  const int64_t deadline = detail::deadline_after(P::now_ns(), d);
  detail::Guard g(sleep_lock_);
  while (P::now_ns() < deadline) sleep_cv_.wait_until(sleep_lock_, deadline);
}

// ---------------------------------------------------------------------------
// Pools and the manager

// The pools, with the first shared queue: under E (for online_) and S.
template <class P>
void BasicEngine<P>::create_pools_locked() {
  if (!pools_.empty()) return;
  for (int c = 0; c < cfg_.ncpus; ++c)
    for (bool hp : {false, true}) {
      pools_.push_back(std::make_unique<Pool<P>>(c, hp));
      pools_.back()->online = online_[static_cast<size_t>(c)] != 0;
    }
  pools_.push_back(std::make_unique<Pool<P>>(-1, false));
}

// The manager and the rescuer, with the first shared queue (creation may
// fail: the next shared queue tries again). A queue created while another
// creates them waits for the outcome: its queueings need both.
template <class P>
bool BasicEngine<P>::start_shared(Workqueue& q) {
  detail::Guard g(pool_lock_);
  for (;;) {
    if (manager_ && manager_->published && rescuer_ && rescuer_->published) break;
    if (!manager_) {
      if (!spawn_pool_thread_locked(nullptr)) return false;
    } else if (manager_->published && !rescuer_) {
      if (!spawn_pool_thread_locked(nullptr, /*rescuer=*/true)) return false;
    } else {
      pool_state_cv_.wait(pool_lock_);
    }
  }
  shared_queues_.push_back(&q);
  return true;
}

template <class P>
Pool<P>& BasicEngine<P>::pool_of_locked(int cpu, bool highpri) {
  return *pools_[static_cast<size_t>(2 * cpu + (highpri ? 1 : 0))];
}

template <class P>
Pool<P>& BasicEngine<P>::unbound_pool_locked() {
  return *pools_.back();
}

template <class P>
void BasicEngine<P>::wake_manager_locked() {
  if (manager_) manager_->cv.notify_one();
}

// Works wait and nobody runs: wake the most recently idle thread (its
// cache is warm), or ask the manager for one. The queueing thread never
// creates threads itself. Works wait behind a running thread: have the
// manager's watchdog look at the pool (it is woken only when the watch
// starts, not at every queueing).
template <class P>
void BasicEngine<P>::kick_pool_locked(Pool<P>& p) {
  if (p.worklist.empty()) return;
  if (p.nr_running == 0) {
    if (!p.idle->empty())
      p.idle->back()->cv.notify_one();
    else
      wake_manager_locked();
  } else if (p.stalled_since_ns < 0 && cfg_.stall_timeout > Duration::zero()) {
    start_stall_watch_locked(p);
    wake_manager_locked();
  }
}

// C19: the watch starts from a clock reading taken after its stall_watch
// event, so the stream never shows a mayday sooner than stall_timeout
// after the watch's start (the oracle judges exactly that).
template <class P>
void BasicEngine<P>::start_stall_watch_locked(Pool<P>& p) {
  Worker<P>* self = current_worker();
  record_as(self ? self->thread_id : (kExternalThread | P::thread_tag()), EventType::stall_watch, p.cpu, 0, 0,
            p.highpri ? 1 : 0);
  p.stalled_since_ns = now_ns();
  p.watched_progress = p.progress;
}

// Creates a thread for pool `p` (the manager when p is null), dropping S
// while the thread is made. A new pool thread starts idle.
template <class P>
bool BasicEngine<P>::spawn_pool_thread_locked(Pool<P>* p, bool rescuer) {
  const int cpu = p ? p->cpu : cfg_.core_cpu;
  auto owned = std::make_unique<Worker<P>>(this, nullptr, p, cpu, next_thread_id_.fetch_add(1, std::memory_order_relaxed), false);
  owned->is_rescuer = rescuer;
  Worker<P>* raw = owned.get();
  if (p) {
    p->creating = true;
    p->workers->push_back(std::move(owned));
  } else if (rescuer) {
    rescuer_ = std::move(owned);
  } else {
    manager_ = std::move(owned);
  }
  const bool injected = decide_spawn_failure();
  pool_lock_.unlock();
  P::window_enter(RaceWindow::spawn_unlocked);
  std::optional<typename P::Thread> th;
  if (!injected) {
    std::string name = !p ? std::string(rescuer ? "wq/rescuer" : "wq/manager")
                          : "wq/pool" + (p->cpu < 0 ? std::string("U") : std::to_string(p->cpu)) + (p->highpri ? "H" : "");
    th = P::spawn(cpu < 0 ? cfg_.core_cpu : cpu, name, [this, raw] { pool_thread_main(raw); });
  }
  P::window_exit(RaceWindow::spawn_unlocked);
  pool_lock_.lock();
  // arg: 0 a normal pool's worker, 3 a high-priority pool's, 1 the manager, 2 the rescuer.
  const int32_t what = p ? (p->highpri ? 3 : 0) : (rescuer ? 2 : 1);
  if (!th) {
    // Recorded before the cooldown's clock read (C7, as a queue's worker),
    // with the pool's CPU even for the unbound pool's -1 (record() would
    // put the caller's there, as for a call's own events).
    Worker<P>* self = current_worker();
    record_as(self ? self->thread_id : (kExternalThread | P::thread_tag()), EventType::spawn_fail, cpu, 0, 0, what);
    if (p) {
      p->creating = false;
      auto it = std::find_if(p->workers->begin(), p->workers->end(), [&](auto& x) { return x.get() == raw; });
      p->workers->erase(it);
      // At least 1 ms apart: while the rescuer is busy the manager retries
      // on the cooldown alone, and a zero cooldown would spin.
      // A cooldown too large to add never ends: the pool is never retried
      // and the rescuer runs its works from now on (docs/CONTRACT.md, C7).
      p->cooldown_until_ns = detail::deadline_after(now_ns(), std::max<Duration>(cfg_.spawn_cooldown, 1ms));
      p->fresh_failure = true;
    } else {
      (rescuer ? rescuer_ : manager_).reset();
      pool_state_cv_.notify_all();
    }
    n_spawn_fail_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  raw->thread = std::move(*th);
  raw->published = true;
  if (p) {
    p->creating = false;
    p->idle->push_back(raw);
  }
  ++pool_threads_;
  n_created_.fetch_add(1, std::memory_order_relaxed);
  record_as(raw->thread_id, EventType::spawn, cpu, 0, 0, what);
  raw->last_active_ns = now_ns();  // idle from after its spawn event (C8), as a queue's worker
  raw->cv.notify_one();
  if (!p) pool_state_cv_.notify_all();
  return true;
}

template <class P>
void BasicEngine<P>::pool_thread_main(Worker<P>* w) {
  P::set_context(w);
  {
    detail::Guard g(pool_lock_);
    // Until the creator has recorded our spawn: even a stop (hotplug)
    // that comes first is seen after it.
    while (!w->published) w->cv.wait(pool_lock_);
    if (w->pool)
      pool_worker_loop_locked(w);
    else if (w->is_rescuer)
      rescuer_loop_locked(w);
    else
      manager_loop_locked(w);
  }
  P::set_context(nullptr);
}

// The thread stops counting as running (idle, blocked, or uncounted by the
// watchdog); if it was the last one and works wait, another is woken.
template <class P>
void BasicEngine<P>::uncount_locked(Worker<P>* w) {
  if (!w->counted) return;
  w->counted = false;
  --w->pool->nr_running;
  kick_pool_locked(*w->pool);
}

template <class P>
typename BasicEngine<P>::AwaitedRun BasicEngine<P>::worker_sleeping(Worker<P>* w, AwaitedRun awaiting) {
  detail::Guard g(pool_lock_);
  // Under S, as the takes it orders (C19); whatever the bookkeeping below does.
  if (w->pool) record(EventType::wait_begin, w->cpu, 0, awaiting.work ? awaiting.work->id() : 0);
  const AwaitedRun was{w->awaiting, w->awaiting_upto};
  w->awaiting = awaiting.work;
  w->awaiting_upto = awaiting.upto;
  if (awaiting.work && w->wq) {  // a queue's own worker: its run is Q's, copied here for S
    w->blocked_run = w->current;  // our own thread's field
    w->blocked_epoch = w->current_epoch;
    blocked_queue_workers_.push_back(w);
  }
  // A chain the rescuer follows may go on through this thread now (it
  // stopped counting first: a look in between found the chain's end here).
  if (awaiting.work && w != rescuer_.get()) kick_rescuer_locked();
  if (!w->pool) return was;  // the rescuer (or the manager): never counted
  if (LAZYWQ_PLANTED(cfg_, blocked_worker_counted_running)) return was;
  if (!w->counted) return was;  // the watchdog uncounted it already
  w->blocked = true;
  uncount_locked(w);
  return was;
}

template <class P>
void BasicEngine<P>::worker_waking(Worker<P>* w, AwaitedRun was_awaiting) {
  detail::Guard g(pool_lock_);
  if (w->pool) record(EventType::wait_end, w->cpu, 0, 0);  // under S (C19)
  if (w->awaiting && w->wq) {
    auto it = std::find(blocked_queue_workers_.begin(), blocked_queue_workers_.end(), w);
    if (it != blocked_queue_workers_.end()) blocked_queue_workers_.erase(it);
  }
  w->awaiting = was_awaiting.work;
  w->awaiting_upto = was_awaiting.upto;
  if (!w->pool || !w->blocked) return;
  w->blocked = false;
  w->counted = true;
  ++w->pool->nr_running;
  kick_pool_locked(*w->pool);  // works wait behind it now: the watchdog looks
}

// A pool thread leaves for good: unpublished under S (a queueing either
// saw it idle and woke it, and it ran the work, or sees it gone), then
// joined by the manager or the engine's destructor.
template <class P>
void BasicEngine<P>::retire_pool_thread_locked(Worker<P>* w, EventType why) {
  Pool<P>& p = *w->pool;
  if (w->counted) uncount_locked(w);
  p.idle->erase(std::remove(p.idle->begin(), p.idle->end(), w), p.idle->end());
  auto it = std::find_if(p.workers->begin(), p.workers->end(), [&](auto& x) { return x.get() == w; });
  if (it != p.workers->end()) {  // hotplug and the destructor take their victims out themselves
    pool_zombies_->push_back(std::move(*it));
    p.workers->erase(it);
  }
  if (why == EventType::idle_exit) n_idle_exit_.fetch_add(1, std::memory_order_relaxed);
  record(why, w->cpu, 0, 0);
  wake_manager_locked();
  pool_state_cv_.notify_all();
}

// A pool thread: runs its scheduled list (C3) first, then the pool's
// worklist while it is the only running thread; idles otherwise, and exits
// after idle_timeout idle (C8).
template <class P>
void BasicEngine<P>::pool_worker_loop_locked(Worker<P>* w) {
  Pool<P>& p = *w->pool;
  auto become_running = [&]() LAZYWQ_REQUIRES(pool_lock_) {
    p.idle->erase(std::remove(p.idle->begin(), p.idle->end(), w), p.idle->end());
    if (!w->counted) {
      w->counted = true;
      ++p.nr_running;
    }
  };
  for (;;) {
    if (!w->scheduled.empty()) {
      become_running();
      pool_dispatch_locked(w, &p, w->scheduled.front(), w->scheduled, -1, true);
      continue;
    }
    if (w->stop) break;
    if (!p.worklist.empty() && p.nr_running == (w->counted ? 1 : 0)) {
      become_running();
      pool_dispatch_locked(w, &p, p.worklist.front(), p.worklist, -1, true);
      continue;
    }
    if (w->counted) uncount_locked(w);
    if (std::find(p.idle->begin(), p.idle->end(), w) == p.idle->end()) p.idle->push_back(w);
    // An idle timeout too large to add never ends (kNever): never exit.
    const int64_t deadline = detail::deadline_after(w->last_active_ns, cfg_.idle_timeout);
    if (now_ns() < deadline) {
      w->cv.wait_until(pool_lock_, detail::deadline_after(start_ns_, deadline));
      continue;
    }
    // C8: idle for idle_timeout, it exits, even while works wait behind a
    // running thread. It used to stay as the spare for when that thread
    // blocks, looking again every idle timeout: a poll (a spin with
    // idle_timeout 0) for a moment it cannot see coming. Nothing needs
    // it: the running thread takes the next work after its own, and when
    // it blocks (an engine wait, or the watchdog's uncounting) or retires,
    // uncount_locked -> kick_pool_locked wakes an idle thread or has the
    // manager create one (C15, C16). Decided under S: a queueing either
    // saw this thread idle and woke it (then the check above ran its
    // work, for nr_running was 0) or sees it gone.
    detail::WindowScope<P> window(RaceWindow::idle_exit_decision);
    retire_pool_thread_locked(w, EventType::idle_exit);
    return;
  }
  retire_pool_thread_locked(w, EventType::thread_exit);
}

// Takes `work` (the front of `from`: a pool's worklist or w's scheduled
// list) for thread `w`, on behalf of pool `p`. C3: if the work still runs
// on a thread of p, it joins that thread's scheduled list; if it runs
// anywhere else, w keeps it on its own scheduled list and waits for that
// run (an engine wait: w stops counting), unless !may_wait (the manager),
// which leaves it and returns false. Otherwise runs it and returns true.
template <class P>
bool BasicEngine<P>::pool_dispatch_locked(Worker<P>* w, Pool<P>* p, Work* work, detail::IntrusiveList<Work>& from,
                                          int fallback_reason, bool may_wait) {
  BasicWorkqueue<P>* q = work->home_.load(std::memory_order_relaxed);
  q->assert_shared_lock();
  work->lock_.lock();
  Worker<P>* runner = work->running_ ? static_cast<Worker<P>*>(work->runner_) : nullptr;
  if (runner && runner != w && !LAZYWQ_PLANTED(cfg_, collision_runs_concurrently)) {
    // C16: an ordered shared queue's one active slot, held by this work,
    // now waits for its run elsewhere, and so does every work of the queue
    // behind it: tied when it happens, since a work activated into the
    // slot after every wait of a cycle began may close the cycle (found by
    // the dependency scenario's ordered shared queues: a work running on a
    // core, waiting for a work inactive behind its own queueing there).
    if (q->max_active_ == 1)
      tie_waits(q->held_up_locked(*work, BasicWorkqueue<P>::Stall::ordered_slot), q->id(), *work,
                "C3 wait: it holds its queue's one active slot while it runs elsewhere", w->cpu);
    if (runner->pool && runner->pool == p) {
      work->lock_.unlock();
      from.remove(work);
      runner->scheduled.push_back(work);
      work->where_ = WorkLocation::scheduled;
      work->sched_owner_ = runner;
      return false;
    }
    if (!may_wait) {
      work->lock_.unlock();
      return false;
    }
    if (&from != &w->scheduled) {
      from.remove(work);
      w->scheduled.push_back(work);
      work->where_ = WorkLocation::scheduled;
      work->sched_owner_ = w;
    }
    ++work->engine_waiters_;  // the work must outlive our wait
    const bool was_counted = w->counted;
    if (was_counted) uncount_locked(w);
    const uint64_t awaited = work->run_seq_;  // that run: see await_run_end_locked
    pool_lock_.unlock();
    await_run_end_locked(*work, awaited);
    work->lock_.unlock();
    pool_lock_.lock();
    if (was_counted && !w->counted) {
      w->counted = true;
      ++w->pool->nr_running;
      kick_pool_locked(*w->pool);  // works wait behind it now: the watchdog looks
    }
    return false;
  }
  work->lock_.unlock();
  q->run_pool_work_locked(w, work, from, fallback_reason);
  return true;
}

// Joins pool threads that exited (S dropped while joining).
template <class P>
void BasicEngine<P>::join_pool_zombies_locked() {
  while (!pool_zombies_->empty()) {
    std::vector<std::unique_ptr<Worker<P>>> batch;
    batch.swap(*pool_zombies_);
    pool_lock_.unlock();
    for (auto& z : batch) z->thread.join();
    pool_lock_.lock();
    pool_threads_ -= static_cast<int>(batch.size());
    n_exited_.fetch_add(batch.size(), std::memory_order_relaxed);
  }
}

// One round of the manager. True if it did something (look again);
// otherwise `deadline` says when to look again (kNever: when woken).
// The deadline is decided from the same clock reading as what the round
// did: a cooldown that ends between the two readings must still wake it.
template <class P>
bool BasicEngine<P>::manager_step_locked(Worker<P>* m, int64_t& deadline) {
  deadline = kNever;
  if (!pool_zombies_->empty()) {
    join_pool_zombies_locked();
    return true;
  }
  for (Workqueue* q : shared_queues_) {
    q->assert_shared_lock();
    q->fire_due_timers_locked();
    if (!q->timers_.empty()) deadline = std::min(deadline, q->timers_.begin()->first.first);
  }
  (void)m;
  const int64_t t = now_ns();
  // While the rescuer runs a callback (which may wait), a fresh failure
  // does not hold creation back: only the cooldown does.
  // (`current` is briefly null inside a nested run's end, with S dropped.)
  const bool rescuer_free = rescuer_ && rescuer_->current == nullptr && rescuer_->nested_runs == 0;
  for (auto& owned : pools_) {
    Pool<P>& p = *owned;
    if (p.needs_worker() && p.idle->empty() && !p.creating) {
      const bool cooling = (p.fresh_failure && rescuer_free) || t < p.cooldown_until_ns;
      const bool at_cap = static_cast<int>(p.workers->size()) >= cfg_.max_workers_per_pool;
      if (!cooling && !at_cap) {
        spawn_pool_thread_locked(&p);
        return true;
      }
      // No thread can be had now: the rescuer runs the work (C7: a failed
      // creation loses nothing and never hangs).
      kick_rescuer_locked();
      // Try again when the cooldown ends. A fresh failure with the rescuer
      // free needs no deadline: the rescue clears it and wakes us.
      if (t < p.cooldown_until_ns) deadline = std::min<int64_t>(deadline, p.cooldown_until_ns);
    }
    // The watchdog (the kernel's mayday): works wait and the running
    // threads made no progress for stall_timeout: they are blocked where
    // the engine cannot see. Stop counting them, so the next round wakes
    // or creates another thread.
    if (!p.worklist.empty() && p.nr_running > 0 && cfg_.stall_timeout > Duration::zero()) {
      if (p.stalled_since_ns < 0 || p.progress != p.watched_progress) {
        start_stall_watch_locked(p);
      } else if (t - p.stalled_since_ns >= cfg_.stall_timeout.count()) {
        n_mayday_.fetch_add(1, std::memory_order_relaxed);
        for (auto& x : *p.workers)
          if (x->counted) {
            record_as(x->thread_id, EventType::mayday, x->cpu, 0, 0, 0);
            uncount_locked(x.get());
          }
        p.stalled_since_ns = -1;
        return true;
      }
      deadline = std::min<int64_t>(deadline, detail::deadline_after(p.stalled_since_ns, cfg_.stall_timeout));
    } else {
      p.stalled_since_ns = -1;
    }
  }
  return false;
}

// One round of the rescuer: runs the front work of a pool that needs a
// thread and cannot get one. True if something changed (look again);
// `pending` says whether some pool still needs rescue.
template <class P>
bool BasicEngine<P>::rescue_step_locked(Worker<P>* r, bool& pending) {
  pending = false;
  const int64_t t = now_ns();
  for (auto& owned : pools_) {
    Pool<P>& p = *owned;
    FallbackReason reason;
    if (!rescue_due_locked(p, t, reason)) continue;  // fine, or the manager creates a worker
    pending = true;
    Work* front = p.worklist.front();
    // Before the callback, which may wait for long: from now on only the
    // cooldown holds creation back, and the manager must look again (it
    // sleeps on no deadline for a fresh failure). Only then: the manager
    // wakes the rescuer at each of its rounds while the pool can get no
    // thread, so a wake for a rescue that changes nothing (the front work
    // still runs on a thread of another pool, C3: an offline CPU's pool
    // thread finishing its run) had the two wake each other without end,
    // a spin for as long as that run lasts (issue #13, found by the
    // properties with a cooldown that never ends).
    if (p.fresh_failure) {
      p.fresh_failure = false;
      wake_manager_locked();
    }
    // A work that still runs on a thread of another pool (C3: an offline
    // CPU's pool thread finishing its run) cannot run before that run
    // ends, and the rescuer does not wait for it; the works behind it need
    // not wait either (no order between different works of a pool, C5;
    // an ordered queue has one active work): try them. Stopping at the
    // front hung a run that waits for a work queued behind it (issue #13,
    // found by the properties with permanent creation failure).
    for (Work* x = front; x;) {
      Work* const next = detail::IntrusiveList<Work>::next(x);
      if (pool_dispatch_locked(r, &p, x, p.worklist, static_cast<int>(reason), false)) return true;
      // Moved behind its run on a thread of the pool (C3): progress too.
      if (x->where_ != WorkLocation::pool_list) return true;
      x = next;  // S held throughout: the list did not change
    }
  }
  return false;
}

// Pool p has works and no running thread, and no thread can be had now: a
// creation just failed, the cooldown runs, or the pool is at its cap. The
// rescuer runs its works; `reason` is for their fallback events.
template <class P>
bool BasicEngine<P>::rescue_due_locked(const Pool<P>& p, int64_t t, FallbackReason& reason) {
  if (!p.needs_worker() || !p.idle->empty() || p.creating) return false;
  const bool cooling = p.fresh_failure || t < p.cooldown_until_ns;
  const bool at_cap = static_cast<int>(p.workers->size()) >= cfg_.max_workers_per_pool;
  if (!cooling && !at_cap) return false;
  reason = p.fresh_failure || at_cap ? FallbackReason::spawn_failed : FallbackReason::spawn_cooldown;
  return true;
}

// The rescuer is one thread. When it waits, inside a rescued callback, for
// works that only a rescue can run now (creation fails for good), nobody
// else ever will: it runs them itself, nested in its wait (C7, C16: never
// a hang). Only works it waits for, and none that is running: a nested
// work that waited back for a waiting one would close a wait-for cycle,
// which C16 reports, so the nesting adds no deadlock of its own.
template <class P>
template <class Wanted>
bool BasicEngine<P>::rescue_wanted_locked(Worker<P>* r, Wanted wanted) {
  const int64_t t = now_ns();
  for (auto& owned : pools_) {
    Pool<P>& p = *owned;
    FallbackReason reason;
    if (!rescue_due_locked(p, t, reason)) continue;
    for (Work* x = p.worklist.front(); x; x = detail::IntrusiveList<Work>::next(x)) {
      if (!wanted(*x)) continue;
      {
        detail::Guard wl(x->lock_);
        if (x->running_) continue;  // its run ends elsewhere first (C3)
      }
      p.fresh_failure = false;
      wake_manager_locked();
      // The outer run's state, back once the nested run is over.
      Work* const outer = r->current;
      Workqueue* const outer_wq = r->cur_wq;
      const uint64_t outer_epoch = r->current_epoch;
      ++r->nested_runs;
      r->outer_runs.push_back({outer, outer_wq, outer_epoch});
      const bool ran = pool_dispatch_locked(r, &p, x, p.worklist, static_cast<int>(reason), false);
      r->outer_runs.pop_back();
      --r->nested_runs;
      r->current = outer;
      r->cur_wq = outer_wq;
      r->current_epoch = outer_epoch;
      return ran;
    }
  }
  return false;
}

// The works a wait for `w` waits for, transitively: w, and while the last
// one runs on an engine thread (a pool thread, or a queue's core or CPU
// worker) that waits in the engine for another work (`awaiting`), that
// work, and so on (not through the rescuer itself: that would be a cycle,
// reported by C16). A runner that waits in a shared queue's flush or drain
// instead adds that queue to `queues`: the chain ends there, and the works
// it waits for are the queue's up to its epoch. Following only pool
// threads hung a rescued work that flushed a single_thread queue's work
// which flushed a shared queue, creation failing for good (found by triage
// of wait_chain_locked@950178). REQUIRES S (the fields read are S's); each
// step reads under the work's lock, so the runner, inside that work's
// callback, cannot exit meanwhile.
template <class P>
std::vector<BasicWork<P>*> BasicEngine<P>::wait_chain_locked(Worker<P>* r, Work& w, AwaitedQueues* queues) {
  std::vector<Work*> chain{&w};
  for (Work* cur = &w; chain.size() < 64;) {
    Work* next = nullptr;
    uint64_t upto = 0;
    {
      detail::Guard wl(cur->lock_);
      Worker<P>* runner = cur->running_ ? static_cast<Worker<P>*>(cur->runner_) : nullptr;
      if (runner && runner != r) {
        next = runner->awaiting;
        upto = runner->awaiting_upto;
        if (queues && runner->awaiting_queue) queues->push_back({runner->awaiting_queue, runner->awaiting_epoch, cur});
      }
    }
    if (!next || std::find(chain.begin(), chain.end(), next) != chain.end()) break;
    // A flush already satisfied waits for nothing: its thread has not run
    // since to clear `awaiting`, and `next` may be running again, a later
    // queueing (on the rescuer's own stack, say: a false cycle, found by
    // ClientHangs.RescuerCancelOfAWorkWhoseFlushIsSatisfiedIsNotRefused).
    if (upto != 0) {
      detail::Guard nl(next->lock_);
      if (flush_done_locked(*next, upto)) break;
    }
    chain.push_back(next);
    cur = next;
  }
  return chain;
}

// The rescuer waits (flush_work, cancel_work_sync) for `w` until done():
// whenever only a rescue could run a work of that wait's chain, it runs it
// itself; it looks again every cooldown (a creation failing elsewhere
// wakes nobody here). A wait whose chain ends in a run on the rescuer's own
// stack (an outer frame, which resumes only after this wait returns) can
// never end: reported as a C16 cycle and refused with Error(deadlock) in
// every DependencyCheck mode, since a hung rescuer would stop every
// pool's rescues, not only this wait (C7: never a hang).
template <class P>
void BasicEngine<P>::rescuer_wait(Worker<P>* r, Work& w, RescuerWait until, uint64_t target) {
  auto done = [&]() LAZYWQ_REQUIRES(w.lock_) {
    switch (until) {
      case RescuerWait::runs_up_to: return flush_done_locked(w, target);
      case RescuerWait::run_end: return !static_cast<bool>(w.running_);
      case RescuerWait::cancel_turn: return !static_cast<bool>(w.canceling_);
    }
    return true;
  };
  // On every way out (a return, a refusal's throw), with S dropped: a kick
  // must not touch `w` once the wait is over (the caller may free it).
  struct SleepMark {
    BasicEngine& e;
    ~SleepMark() {
      detail::Guard g(e.pool_lock_);
      e.rescuer_sleeps_on_ = nullptr;
    }
  } mark{*this};
  uint64_t kicks = 0;
  for (;;) {
    {
      detail::Guard wl(w.lock_);
      if (done()) return;
    }
    {
      detail::Guard g(pool_lock_);
      rescuer_sleeps_on_ = nullptr;  // awake; a nested run's own wait marks its own
      RescuerWaitScope scope;
      scope.chain = wait_chain_locked(r, w, &scope.awaited);
      // And what the runs of the queues the chain's runners flush wait for
      // elsewhere (a pool thread's run there waiting for a work only a
      // rescue can run hung this wait: found by the rescue scenario).
      follow_awaited_queues_locked(r, scope);
      const std::vector<Work*>& chain = scope.chain;
      // A run the wait waits for is on our own stack: nothing but this
      // wait's return resumes it. A cancel's turn too: its holder waits
      // for the run of `w` to end (the turn is taken after every refusal
      // but the rescuer's own), and the turn may be the rescuer's own,
      // taken by a cancel_work_sync of `w` this wait is nested in. Not
      // refusing those hung the rescuer for ever (found by the rescue
      // scenario once one pool of one thread let cycles be drawn with pool
      // threads alive).
      {
        DependencyCycle cycle;
        cycle.chain.push_back("the rescuer waits for " + node_of(w).label + " (" +
                              (until == RescuerWait::runs_up_to  ? "flush"
                               : until == RescuerWait::run_end ? "cancel_work_sync"
                                                               : "its turn to cancel_work_sync it") +
                              ")");
        bool own_turn = false;
        if (until == RescuerWait::cancel_turn) {
          detail::Guard wl(w.lock_);
          own_turn = w.canceling_ && w.canceller_ == r;
        }
        if (own_turn) {
          cycle.chain.push_back("the turn is the rescuer's own, taken by a cancel_work_sync of " + node_of(w).label +
                                " this wait is nested in: it is released only after the wait returns");
          refuse_rescuer_wait_locked(r, std::move(cycle), 0, w.id());
        }
        if (until == RescuerWait::cancel_turn)
          cycle.chain.push_back("the turn's holder waits for the run of " + node_of(w).label);
        if (own_stack_run_locked(r, scope, cycle)) refuse_rescuer_wait_locked(r, std::move(cycle), 0, w.id());
      }
      // Or, while a work of the chain waits on its queue's inactive list
      // (max_active reached), the works that hold that queue's slots: each
      // one the rescuer runs frees a slot. Chain works first: they are
      // what the wait is for. (No thread can be had: nobody else frees a
      // slot. A holder that waits back for us is a cycle through the
      // slots, as it would be on any pool thread.)
      std::vector<BasicWorkqueue<P>*> slot_queues;
      for (Work* c : chain) {
        BasicWorkqueue<P>* h = c->home_.load(std::memory_order_acquire);
        if (h && h->is_shared() && c->where_ == WorkLocation::inactive) slot_queues.push_back(h);
      }
      // A work of the chain, or one a runner of the chain waits for in a
      // flush or drain of its queue (found by the shared_deps scenario once
      // works flushed a leaf queue: the rescuer waited for a run whose
      // thread waited for that queue, whose works only it could run).
      auto in_chain = [&](Work& x) {
        if (std::find(chain.begin(), chain.end(), &x) != chain.end()) return true;
        return scope_wants(scope, x);
      };
      // And what a holder running on a pool thread waits for, through its
      // chain: its end frees the slot too (a holder waiting for a work only
      // a rescue could run hung the wait: found by a real-thread client,
      // issue #14). For what to run only, never for a refusal: with a
      // larger max_active a run of the queue on our own stack need not
      // hold the slot the wait needs.
      std::vector<Work*> holder_chains;
      for (auto& owned : pools_) {
        if (slot_queues.empty()) break;  // no work of the chain waits inactive
        for (auto& t : *owned->workers) {
          Work* const x = t->current;
          BasicWorkqueue<P>* const h = t->cur_wq;
          if (t.get() == r || !x || std::find(slot_queues.begin(), slot_queues.end(), h) == slot_queues.end())
            continue;
          for (Work* c : wait_chain_locked(r, *x))
            if (c != x) holder_chains.push_back(c);
        }
      }
      auto holds_slot = [&](Work& x) {
        if (std::find(holder_chains.begin(), holder_chains.end(), &x) != holder_chains.end()) return true;
        return std::find(slot_queues.begin(), slot_queues.end(), x.home_.load(std::memory_order_relaxed)) !=
               slot_queues.end();
      };
      if (rescue_wanted_locked(r, in_chain)) continue;
      if (!slot_queues.empty() && rescue_wanted_locked(r, holds_slot)) continue;
      rescuer_sleeps_on_ = &w;
      kicks = rescuer_kicks_;
    }
    detail::Guard wl(w.lock_);
    if (!done() && rescuer_kicks_ == kicks)
      w.cv_.wait_until(w.lock_, rescue_look_deadline());
  }
}

template <class P>
void BasicEngine<P>::kick_rescuer_locked() {
  if (!rescuer_) return;
  rescuer_->cv.notify_one();
  if (Workqueue* q = rescuer_sleeps_in_) q->state_cv_.notify_all();  // waited on under S
  if (Work* w = rescuer_sleeps_on_) {
    detail::Guard wl(w->lock_);  // S, then a work's lock: as rescuer_wait takes them
    rescuer_kicks_ = rescuer_kicks_ + 1;
    w->cv_.notify_all();
  } else {
    rescuer_kicks_ = rescuer_kicks_ + 1;  // read under S (rescuer_sleep_locked)
  }
}

template <class P>
void BasicEngine<P>::refuse_rescuer_wait_locked(Worker<P>* r, DependencyCycle cycle, uint32_t queue, uint64_t work) {
  Work* const running = r->current;  // our own write (under S)
  std::string text = cycle.describe();
  report_cycle(std::move(cycle), r->cpu, r->cur_wq ? r->cur_wq->id() : 0, running ? running->id() : 0);
  record(EventType::wait_refused, r->cpu, queue, work, static_cast<int32_t>(RefusalReason::rescuer_chain));
  throw Error(Errc::deadlock, text);
}

// What a wait of the rescuer waits for beyond its chain: for each queue
// flush a runner of it waits in, that queue's runs in progress on other
// threads up to the flush's epoch, and their chains (whose runners' queue
// flushes join s.awaited in turn, up to 16 queues; one already followed up
// to a later epoch is not followed again).
template <class P>
void BasicEngine<P>::follow_awaited_queues_locked(Worker<P>* r, RescuerWaitScope& s) {
  for (size_t i = 0; i < s.awaited.size() && i < 16; ++i) {
    const AwaitedQueue a = s.awaited[i];  // a copy: wait_chain_locked below may grow s.awaited
    bool seen = false;
    for (size_t j = 0; j < i; ++j) seen |= s.awaited[j].q == a.q && s.awaited[j].epoch >= a.epoch;
    if (seen) continue;
    if (!a.q->is_shared()) {  // its own workers, those blocked in a wait
      for (Worker<P>* t : blocked_queue_workers_)
        if (t->wq == a.q && t->blocked_run && t->blocked_epoch <= a.epoch)
          s.runs.push_back({i, wait_chain_locked(r, *t->blocked_run, &s.awaited)});
      continue;
    }
    for (auto& owned : pools_)
      for (auto& t : *owned->workers) {
        Work* const x = t->current;
        if (t.get() == r || !x || t->cur_wq != a.q || t->current_epoch > a.epoch) continue;
        s.runs.push_back({i, wait_chain_locked(r, *x, &s.awaited)});
      }
  }
}

// The works a rescuer's wait waits for beyond its chain: a work of an
// awaited queue queued up to that flush's epoch, or of the chain of one
// of those queues' runs elsewhere (that run's own work is in progress
// there: a later queueing of it is not waited for).
template <class P>
bool BasicEngine<P>::scope_wants(const RescuerWaitScope& s, Work& x) {
  for (const QueueRun& run : s.runs)
    if (std::find(run.chain.begin() + 1, run.chain.end(), &x) != run.chain.end()) return true;
  for (const AwaitedQueue& a : s.awaited)
    if (x.home_.load(std::memory_order_relaxed) == a.q && x.epoch_ <= a.epoch) return true;
  return false;
}

template <class P>
bool BasicEngine<P>::own_stack_run_locked(Worker<P>* r, const RescuerWaitScope& s, DependencyCycle& cycle) {
  auto on_stack = [&](const Work* c) {
    detail::Guard cl(c->lock_);
    return c->running_ && c->runner_ == r;
  };
  auto stuck_line = [&](const Work& c) {
    cycle.chain.push_back(node_of(c).label +
                          " runs on the rescuer itself, in a callback this wait is nested in: it resumes only after "
                          "the wait returns");
  };
  for (const Work* c : s.chain)
    if (on_stack(c)) {
      explain_path_locked(s, c, cycle, 0);
      stuck_line(*c);
      return true;
    }
  // A run of an awaited queue up to its epoch on our own stack: the
  // callback that waits here, or an outer frame.
  for (size_t i = 0; i < s.awaited.size(); ++i) {
    const AwaitedQueue& a = s.awaited[i];
    const Work* stuck = nullptr;
    if (r->current && r->cur_wq == a.q && r->current_epoch <= a.epoch) stuck = r->current;
    for (const auto& o : r->outer_runs)
      if (o.work && o.wq == a.q && o.epoch <= a.epoch) stuck = o.work;
    if (!stuck) continue;
    if (a.by) {
      explain_path_locked(s, a.by, cycle, 0);
      cycle.chain.push_back(node_of(*a.by).label + " runs on a thread that waits in a flush of " + node_of(*a.q).label +
                            ", which waits for " + node_of(*stuck).label);
    }
    stuck_line(*stuck);
    return true;
  }
  for (const QueueRun& run : s.runs)
    for (const Work* c : run.chain)
      if (on_stack(c)) {
        explain_path_locked(s, c, cycle, 0);
        stuck_line(*c);
        return true;
      }
  return false;
}

// One line per link from the wait to `by`: along the chain, or into a
// queue flush (by its runner, found the same way) and along the chain of
// one of that queue's runs elsewhere.
template <class P>
void BasicEngine<P>::explain_path_locked(const RescuerWaitScope& s, const Work* by, DependencyCycle& cycle, int depth) {
  auto links = [&](const std::vector<Work*>& chain, size_t upto) {
    for (size_t i = 1; i <= upto; ++i)
      cycle.chain.push_back(node_of(*chain[i - 1]).label + " runs on another thread that waits for " +
                            node_of(*chain[i]).label);
  };
  if (auto it = std::find(s.chain.begin(), s.chain.end(), by); it != s.chain.end()) {
    links(s.chain, static_cast<size_t>(it - s.chain.begin()));
    return;
  }
  for (const QueueRun& run : s.runs) {
    auto it = std::find(run.chain.begin(), run.chain.end(), by);
    if (it == run.chain.end()) continue;
    const AwaitedQueue& a = s.awaited[run.queue];
    if (!a.by) {
      cycle.chain.push_back(node_of(*run.chain[0]).label + " is one, in progress on another thread");
    } else {
      if (depth < 16) explain_path_locked(s, a.by, cycle, depth + 1);
      cycle.chain.push_back(node_of(*a.by).label + " runs on a thread that waits in a flush of " + node_of(*a.q).label +
                            ", which waits for its run of " + node_of(*run.chain[0]).label + " on another thread");
    }
    links(run.chain, static_cast<size_t>(it - run.chain.begin()));
    return;
  }
}

// A flush or drain of a shared queue waits for every run of the queue up
// to its epoch, runs in progress included. On the rescuer, one of those on
// its own stack (an outer frame) resumes only after the wait returns, and
// so does one on another thread whose wait chain ends there, through other
// queues' flushes too: the wait can never end, and a hung rescuer stops
// every rescue (C7). Found by the rescue scenario once a work could flush
// the other queue (issue #14): the rescuer ran a, nested in a's
// flush_work(b) ran b, and b flushed a's queue: a hang, with the
// dependency check off and in error mode alike (through a pool thread the
// graph had not seen yet). Through a flush: x (q1) on a pool thread
// flushes q2, whose z the rescuer runs; z flushes q1 (found by review).
template <class P>
typename BasicEngine<P>::RescuerWaitScope BasicEngine<P>::rescuer_queue_wait_locked(
    Worker<P>* r, Workqueue& q, uint64_t target, bool refusable, const std::vector<Work*>& runs_of_q) {
  RescuerWaitScope scope;
  scope.awaited.push_back({&q, target, nullptr});
  for (Work* x : runs_of_q) scope.runs.push_back({0, wait_chain_locked(r, *x, &scope.awaited)});
  follow_awaited_queues_locked(r, scope);
  if (refusable) {
    DependencyCycle cycle;
    cycle.chain.push_back("the rescuer waits for the runs of " + node_of(q).label + " (flush_workqueue or drain)");
    if (own_stack_run_locked(r, scope, cycle)) refuse_rescuer_wait_locked(r, std::move(cycle), q.id(), 0);
  }
  return scope;
}

// The rescuer: runs pools' works while no worker can be had. When a pool's
// front work runs elsewhere (outside the pool), it looks again shortly:
// the end of that run wakes nobody here.
template <class P>
void BasicEngine<P>::rescuer_loop_locked(Worker<P>* r) {
  for (;;) {
    if (manager_stop_) break;
    bool pending = false;
    if (rescue_step_locked(r, pending)) continue;
    if (pending)
      r->cv.wait_until(pool_lock_, rescue_look_deadline());
    else
      r->cv.wait(pool_lock_);
  }
}

// The manager: creates pool threads on demand, asks the rescuer when it
// cannot, fires shared queues' timers, watches for stalls, joins exited
// threads. It never runs a callback, so nothing a work does can stop it.
template <class P>
void BasicEngine<P>::manager_loop_locked(Worker<P>* m) {
  for (;;) {
    int64_t deadline = kNever;
    if (manager_step_locked(m, deadline)) continue;
    if (manager_stop_) break;
    // kNever (nothing to time, or only timers and cooldowns that never
    // end): an untimed wait, never a spin.
    m->cv.wait_until(pool_lock_, detail::deadline_after(start_ns_, deadline));
  }
}

// ---------------------------------------------------------------------------
// Hotplug and shutdown

// C13 for pools: the CPU's pools stop taking work; their works (and the
// queueings scheduled behind a run there) move to the unbound pool; their
// threads finish the current run and exit.
template <class P>
void BasicEngine<P>::pools_cpu_offline(int cpu) {
  detail::Guard g(pool_lock_);
  if (pools_.empty()) return;
  Pool<P>& u = unbound_pool_locked();
  for (bool hp : {false, true}) {
    Pool<P>& p = pool_of_locked(cpu, hp);
    p.online = false;
    auto move_all = [&](detail::IntrusiveList<Work>& list) LAZYWQ_REQUIRES(pool_lock_) {
      while (!list.empty()) {
        Work* work = list.front();
        list.remove(work);
        u.worklist.push_back(work);
        work->where_ = WorkLocation::pool_list;
        work->pool_ = &u;
        work->sched_owner_ = nullptr;
        n_migrate_.fetch_add(1, std::memory_order_relaxed);
        record(EventType::migrate, -1, work->home_.load(std::memory_order_relaxed)->id(), work->id(), -1);
      }
    };
    move_all(p.worklist);
    for (auto& x : *p.workers) {
      move_all(x->scheduled);
      x->stop = true;
      x->cv.notify_one();
    }
  }
  kick_pool_locked(u);
}

// Stops and joins every pool thread and the manager (the engine's
// destructor, after every queue was destroyed: the pools are empty).
template <class P>
void BasicEngine<P>::stop_pools() {
  std::vector<std::unique_ptr<Worker<P>>> helpers;  // the manager and the rescuer
  {
    detail::Guard g(pool_lock_);
    if (!manager_ && !rescuer_) return;
    for (auto& p : pools_)
      for (auto& x : *p->workers) {
        x->stop = true;
        x->cv.notify_one();
      }
    manager_stop_ = true;
    for (auto* h : {&manager_, &rescuer_})
      if (*h) {
        (*h)->cv.notify_one();
        helpers.push_back(std::move(*h));
      }
  }
  // Each pool thread retires itself (thread_exit) into the zombies; the
  // manager and the rescuer leave at once.
  for (auto& h : helpers) h->thread.join();
  detail::Guard g(pool_lock_);
  for (;;) {
    bool live = false;
    for (auto& p : pools_) live = live || !p->workers->empty();
    if (!live) break;
    pool_state_cv_.wait(pool_lock_);  // a thread still finishing retires itself into the zombies
  }
  join_pool_zombies_locked();
  for (auto& h : helpers) {
    record_as(h->thread_id, EventType::thread_exit, h->cpu, 0, 0, h->is_rescuer ? 2 : 1);
    pool_threads_ -= 1;
    n_exited_.fetch_add(1, std::memory_order_relaxed);
  }
}

// ---------------------------------------------------------------------------
// Shared queues: placement, max_active, running a work

// Places an owned (PENDING) work of a shared queue. REQUIRES lock_ (S).
template <class P>
void BasicWorkqueue<P>::insert_shared_locked(Work& w, int cpu, bool new_queueing) {
  assert_shared_lock();
  engine_.assert_held_pool_lock();
  w.epoch_ = epoch_;
  ++inflight_.back();
  ++total_inflight_;
  w.target_cpu_ = cpu;
  Pool<P>* pool = nullptr;
  if (!LAZYWQ_PLANTED(engine_.cfg_, collision_runs_concurrently)) {
    // C3: a work that runs now goes to the pool of that run (the kernel's
    // "last pool"), whose thread serializes the two.
    detail::Guard wl(w.lock_);
    Worker<P>* r = w.running_ ? static_cast<Worker<P>*>(w.runner_) : nullptr;
    if (r && r->pool && r->pool->online && !r->stop) pool = r->pool;
    else if (r) w.kick_rescuer_at_end_ = true;
  }
  if (!pool) {
    Pool<P>& own = engine_.pool_of_locked(cpu, opts_.highpri);
    pool = (opts_.unbound || opts_.ordered || !own.online) ? &engine_.unbound_pool_locked() : &own;
  }
  w.pool_ = pool;
  w.home_.store(this, std::memory_order_release);
  const bool activate = active_ < max_active_;
  if (activate) {
    ++active_;
    pool->worklist.push_back(&w);
    w.where_ = WorkLocation::pool_list;
  } else {
    inactive_.push_back(&w);
    w.where_ = WorkLocation::inactive;
  }
  count_queueing_locked(w, new_queueing);
  engine_.record(new_queueing ? EventType::queue : EventType::timer_fire, -1, id_, w.id(), cpu);
  if (activate && !LAZYWQ_PLANTED(engine_.cfg_, missing_wakeup)) engine_.kick_pool_locked(*pool);
}

// An active work of this queue is done (ran, or was cancelled off a pool):
// the oldest inactive one takes its slot. REQUIRES lock_ (S).
template <class P>
void BasicWorkqueue<P>::retire_active_locked() {
  assert_shared_lock();
  engine_.assert_held_pool_lock();
  --active_;
  while (active_ < max_active_ && !inactive_.empty()) {
    Work* w = inactive_.front();
    inactive_.remove(w);
    Pool<P>* pool = w->pool_;
    if (!pool->online) {
      // Its pool's CPU went offline while it waited here for a slot (the
      // offline moved only the pools' lists): it runs on the unbound
      // pool, a migration the stream must show (C4, C13), as the offline
      // records for the works it moved.
      pool = &engine_.unbound_pool_locked();
      engine_.n_migrate_.fetch_add(1, std::memory_order_relaxed);
      engine_.record(EventType::migrate, -1, id_, w->id(), -1);
    }
    w->pool_ = pool;
    ++active_;
    pool->worklist.push_back(w);
    w->where_ = WorkLocation::pool_list;
    engine_.kick_pool_locked(*pool);
  }
}

// Runs an active work on pool thread (or manager) `w`; the caller checked
// C3. `fallback_reason` >= 0: the manager rescues it. REQUIRES lock_ (S).
template <class P>
void BasicWorkqueue<P>::run_pool_work_locked(Worker<P>* w, Work* work, detail::IntrusiveList<Work>& from,
                                             int fallback_reason) {
  const uint64_t epoch = work->epoch_;
  const int target = work->target_cpu_;
  from.remove(work);
  work->where_ = WorkLocation::none;
  work->sched_owner_ = nullptr;
  work->home_.store(nullptr, std::memory_order_release);
  {
    detail::Guard wl(work->lock_);
    work->running_ = true;
    work->runner_ = w;
    // Read before PENDING is cleared (C2, C10), as on the other kinds.
    work->run_seq_ = work->queued_seq_.load(std::memory_order_relaxed);
  }
  w->current = work;
  w->cur_wq = this;
  w->current_epoch = epoch;
  if (w->pool) {
    ++w->pool->progress;
    // Works wait behind this callback: the watchdog looks at the pool
    // while it runs (it may block where the engine cannot see).
    engine_.assert_held_pool_lock();  // lock_ is S
    engine_.kick_pool_locked(*w->pool);
  }
  invoke_locked(w, work, target, fallback_reason);
  w->current = nullptr;
  w->cur_wq = nullptr;
  if (w->pool) ++w->pool->progress;
  finish_epoch_locked(epoch);
  retire_active_locked();
  end_run_locked(w, work);
}

}  // namespace lazywq
