// Definitions of the engine templates. Included by engine.hpp only (engine_decl.hpp
// has the classes).
//
// The design in one paragraph (docs/ENGINE.md has the long form): every
// queue has a core thread that serves the core CPU. A work queued for CPU c
// goes straight to c's list when c's worker is active and nothing for c is
// still on the core list; otherwise it goes to the core list. The core takes
// its list in order: its own CPU's works it runs, another CPU's works it
// migrates to that CPU's worker, creating the worker first if needed; if the
// creation fails (or c is offline) it runs the work itself and says so with a
// `fallback` event. A lazy worker idle for idle_timeout exits under the queue
// lock, so a concurrent queueing either sees it active (and the worker sees
// the work) or sees it gone (and the work goes to the core).
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "lazywq/engine_decl.hpp"

namespace lazywq {

// ---------------------------------------------------------------------------
// Work

template <class P>
BasicWork<P>::~BasicWork() {
  BasicEngine<P>* e = engine();
  if (!e) return;
  try {
    e->cancel_work_sync(*this);
  } catch (const Error& err) {
    std::fprintf(stderr, "lazywq: work '%s' destroyed from its own callback: %s\n", name().c_str(),
                 err.what());
    std::abort();
  }
  {
    // A worker may still be waking up from waiting for our last run (C3).
    detail::Guard wl(lock_);
    while (engine_waiters_ > 0) cv_.wait(lock_);
  }
  e->unbind(*this);
}

// ---------------------------------------------------------------------------
// Workqueue: construction and small helpers

template <class P>
BasicWorkqueue<P>::BasicWorkqueue(BasicEngine<P>& engine, uint32_t id, std::string name, WqKind kind, WqOptions opts)
    : engine_(engine),
      id_(id),
      name_(std::move(name)),
      kind_(kind),
      core_cpu_(engine.cfg_.core_cpu),
      opts_(opts),
      max_active_(opts.ordered ? 1 : (opts.max_active > 0 ? opts.max_active : kDefaultMaxActive)),
      lock_(kind == WqKind::shared ? engine.pool_lock_ : own_lock_),
      lock_addr_(&lock_) {
  detail::Guard g(lock_);
  cwqs_.resize(static_cast<size_t>(engine.cfg_.ncpus));
}

template <class P>
int64_t BasicWorkqueue<P>::now() const {
  return engine_.now_ns();
}

template <class P>
void BasicWorkqueue<P>::check_alive() const {
  if (dead_.load(std::memory_order_acquire))
    throw Error(Errc::queue_destroyed, "workqueue '" + name() + "' has been destroyed");
}

template <class P>
void BasicWorkqueue<P>::check_cpu(int cpu) const {
  engine_.check_cpu(cpu);
}

template <class P>
Worker<P>* BasicWorkqueue<P>::caller_in_this_queue() const {
  Worker<P>* w = engine_.current_worker();
  return (w && w->queue() == this) ? w : nullptr;
}

template <class P>
int BasicWorkqueue<P>::live_threads() const {
#if defined(LAZYWQ_ENABLE_PLANTED_BUGS)
  if (LAZYWQ_PLANTED(engine_.cfg_, stats_without_lock)) return live_threads_unlocked();
#endif
  detail::Guard g(lock_);
  return live_threads_;
}

template <class P>
std::pair<int, int> BasicWorkqueue<P>::active_and_inactive() const {
  if (!is_shared()) return {0, 0};
  detail::Guard g(lock_);
  return {active_, static_cast<int>(inactive_.size())};
}

template <class P>
std::vector<int> BasicWorkqueue<P>::cpus_with_worker() const {
  detail::Guard g(lock_);
  std::vector<int> out;
  for (size_t c = 0; c < cwqs_.size(); ++c)
    if (cwqs_[c].worker && cwqs_[c].state == CwqState::active) out.push_back(static_cast<int>(c));
  return out;
}

template <class P>
void BasicWorkqueue<P>::wake_core_locked() {
  if (is_shared()) {
    engine_.assert_held_pool_lock();  // a shared queue's lock_ is S
    engine_.wake_manager_locked();  // the manager fires shared queues' timers
  } else if (core_) {
    core_->cv.notify_one();
  }
}

// Starts the core thread and, for per_cpu queues, one worker per online CPU.
template <class P>
void BasicWorkqueue<P>::start() {
  if (is_shared()) {
    {
      detail::Guard g(lock_);
      // arg: kind | options << 8 | max_active (capped at 0x7fff) << 16, for the oracle.
      const int32_t flags = (opts_.highpri ? 1 : 0) | (opts_.unbound ? 2 : 0) | (opts_.ordered ? 4 : 0);
      const int32_t active = std::min<int>(max_active_, 0x7fff);
      engine_.record(EventType::create, -1, id_, 0, static_cast<int32_t>(kind()) | (flags << 8) | (active << 16));
    }
    if (!engine_.start_shared(*this)) {
      dead_.store(true, std::memory_order_release);
      throw Error(Errc::spawn_failed, "could not create the shared pools' manager thread (workqueue '" + name() + "')");
    }
    return;
  }
  detail::Guard g(lock_);
  engine_.record(EventType::create, -1, id_, 0, static_cast<int32_t>(kind()));
  if (!spawn_worker_locked(core_cpu_)) {
    dead_.store(true, std::memory_order_release);
    // While the lock was dropped to create the core, cpu_online may have
    // created a CPU's worker of this per_cpu queue. Nobody destroys a queue
    // whose creation failed: stop and join it here, or its thread outlives
    // the queue (the engine's destructor skips dead queues). From here on
    // dead_ turns every hotplug of this queue away.
    std::vector<std::unique_ptr<Worker<P>>> orphans;
    for (auto& c : cwqs_) {
      while (c.state == CwqState::creating || c.retiring) state_cv_.wait(lock_);
      if (c.worker) orphans.push_back(std::move(c.worker));
      c.state = CwqState::none;
    }
    stop_and_join_locked(std::move(orphans), EventType::thread_exit);
    throw Error(Errc::spawn_failed, "could not create the core thread of workqueue '" + name() + "'");
  }
  if (kind_ == WqKind::per_cpu)
    for (int c = 0; c < static_cast<int>(cwqs_.size()); ++c)
      if (c != core_cpu_ && cwqs_[static_cast<size_t>(c)].online) spawn_worker_locked(c);
}

// ---------------------------------------------------------------------------
// Queueing (C1, C4, C5, C6)

template <class P>
bool BasicWorkqueue<P>::queue_work(Work& w) {
  return queue_work_on(engine_.current_cpu(), w);
}

template <class P>
bool BasicWorkqueue<P>::queue_work_on(int cpu, Work& w) {
  return queue_common(cpu, w, nullptr, Duration::zero());
}

template <class P>
bool BasicWorkqueue<P>::queue_delayed_work(DelayedWork& dw, Duration delay) {
  return queue_delayed_work_on(engine_.current_cpu(), dw, delay);
}

template <class P>
bool BasicWorkqueue<P>::queue_delayed_work_on(int cpu, DelayedWork& dw, Duration delay) {
  return queue_common(cpu, dw, &dw, delay);
}

template <class P>
bool BasicWorkqueue<P>::accepting_locked() const {
  if (draining_ == 0) return true;
  // While draining, only chained queueing (from a work of this queue) is
  // accepted, as in the kernel.
  return caller_in_this_queue() != nullptr;
}

template <class P>
void BasicWorkqueue<P>::reject_locked(Work& w, int cpu) {
  engine_.record(EventType::queue_rejected, -1, id_, w.id(), cpu);
  w.flags_.fetch_and(~Work::kPending, std::memory_order_release);
}

template <class P>
bool BasicWorkqueue<P>::queue_common(int cpu, Work& w, const DelayedWork* dw, Duration delay) {
  check_alive();
  check_cpu(cpu);
  if (delay < Duration::zero()) throw Error(Errc::invalid_argument, "negative delay");
  engine_.bind(w);
  // C1: the winner of PENDING owns this queueing; a loser changes nothing.
  detail::WindowScope<P> window(RaceWindow::queue_inflight);
  if (w.flags_.fetch_or(Work::kPending, std::memory_order_acq_rel) & Work::kPending) {
    engine_.record(EventType::queue_busy, -1, id_, w.id(), cpu);
    return false;
  }
  detail::Guard g(lock_);
  if (dead_.load(std::memory_order_relaxed)) {
    reject_locked(w, cpu);  // PENDING released, and the stream says so
    throw Error(Errc::queue_destroyed, "workqueue '" + name() + "' has been destroyed");
  }
  if (!accepting_locked()) {
    reject_locked(w, cpu);
    return false;
  }
  if (dw && delay > Duration::zero())
    arm_locked(*const_cast<DelayedWork*>(dw), cpu, delay);
  else
    insert_locked(w, cpu, /*new_queueing=*/true);
  return true;
}

// A new queueing is counted once placed and before its `queue` event
// (release): a flush that reads the count (C10) also sees where the
// queueing is (C16's wait targets), and one that starts after the event
// sees the count. REQUIRES lock_.
template <class P>
void BasicWorkqueue<P>::count_queueing_locked(Work& w, bool new_queueing) {
  if (new_queueing) w.queued_seq_.fetch_add(1, std::memory_order_release);
}

// Puts an owned (PENDING) work on the right list. REQUIRES lock_.
template <class P>
void BasicWorkqueue<P>::insert_locked(Work& w, int cpu, bool new_queueing) {
  if (is_shared()) {
    insert_shared_locked(w, cpu, new_queueing);
    return;
  }
  w.epoch_ = epoch_;
  ++inflight_.back();
  ++total_inflight_;
  w.target_cpu_ = cpu;
  Cwq& core = cwqs_[static_cast<size_t>(core_cpu_)];
  bool to_core = true;
  if (uses_cpu_workers() && cpu != core_cpu_) {
    Cwq& t = cwqs_[static_cast<size_t>(cpu)];
    // Straight to the CPU's list only if its worker is active and nothing
    // for it waits on the core list: that keeps per-CPU order (C5, C9).
    if (t.online && t.state == CwqState::active && t.in_core == 0 && !t.core_running) {
      to_core = false;
      t.list.push_back(&w);
      w.where_ = WorkLocation::cpu_list;
      w.home_.store(this, std::memory_order_release);
      count_queueing_locked(w, new_queueing);
      engine_.record(new_queueing ? EventType::queue : EventType::timer_fire, -1, id_, w.id(), cpu);
      if (!LAZYWQ_PLANTED(engine_.cfg_, missing_wakeup)) t.worker->cv.notify_one();
    } else {
      ++t.in_core;
    }
  }
  if (to_core) {
    core.list.push_back(&w);
    w.where_ = WorkLocation::core_list;
    w.home_.store(this, std::memory_order_release);
    count_queueing_locked(w, new_queueing);
    engine_.record(new_queueing ? EventType::queue : EventType::timer_fire, -1, id_, w.id(), cpu);
    if (!LAZYWQ_PLANTED(engine_.cfg_, missing_wakeup)) wake_core_locked();
  }
}

// Arms a delayed work's timer; the core thread fires it. REQUIRES lock_.
template <class P>
void BasicWorkqueue<P>::arm_locked(DelayedWork& dw, int cpu, Duration delay) {
  dw.target_cpu_ = cpu;
  // A delay too large to add is "never" (kNever): the timer fires only when
  // a flush, drain or destroy expedites it, or a cancel takes it away.
  dw.timer_deadline_ns_ = detail::deadline_after(now(), delay);
  dw.timer_seq_ = ++next_timer_seq_;
  bool earliest = timers_.empty() || dw.timer_key() < timers_.begin()->first;
  timers_.emplace(dw.timer_key(), &dw);
  dw.where_ = WorkLocation::timer;
  dw.home_.store(this, std::memory_order_release);
  count_queueing_locked(dw, /*new_queueing=*/true);
  engine_.record(EventType::timer_arm, -1, id_, dw.id(), cpu);
  if (earliest) wake_core_locked();
}

// Takes a pending work off whatever list or timer of this queue holds it.
// The work stays PENDING: the caller owns it. REQUIRES lock_.
template <class P>
void BasicWorkqueue<P>::unlink_locked(Work& w) {
  switch (w.where_) {
    case WorkLocation::timer:
      timers_.erase(w.timer_key());
      break;
    case WorkLocation::core_list:
      cwqs_[static_cast<size_t>(core_cpu_)].list.remove(&w);
      if (uses_cpu_workers() && w.target_cpu_ != core_cpu_) dec_in_core_locked(w.target_cpu_);
      finish_epoch_locked(w.epoch_);
      // The core may be skipping this work's CPU because the work runs
      // elsewhere (C3); with it gone, what queued behind it may run now,
      // not only when that other run ends (which may wait for them).
      wake_core_locked();
      break;
    case WorkLocation::cpu_list:
      cwqs_[static_cast<size_t>(w.target_cpu_)].list.remove(&w);
      finish_epoch_locked(w.epoch_);
      break;
    case WorkLocation::pool_list:
      w.pool_->worklist.remove(&w);
      finish_epoch_locked(w.epoch_);
      retire_active_locked();
      break;
    case WorkLocation::scheduled:
      w.sched_owner_->scheduled.remove(&w);
      w.sched_owner_ = nullptr;
      finish_epoch_locked(w.epoch_);
      retire_active_locked();
      break;
    case WorkLocation::inactive:
      inactive_.remove(&w);
      finish_epoch_locked(w.epoch_);
      break;
    case WorkLocation::none:
      break;
  }
  w.where_ = WorkLocation::none;
  w.home_.store(nullptr, std::memory_order_release);
}

template <class P>
void BasicWorkqueue<P>::fire_due_timers_locked() {
  int64_t t = now();
  while (!timers_.empty() && timers_.begin()->first.first <= t) {
    DelayedWork* dw = timers_.begin()->second;
    timers_.erase(timers_.begin());
    dw->where_ = WorkLocation::none;
    insert_locked(*dw, dw->target_cpu_, /*new_queueing=*/false);
  }
}

// Fires every armed timer now (flush_delayed_work, drain, destroy).
template <class P>
void BasicWorkqueue<P>::expedite_timers_locked() {
  while (!timers_.empty()) {
    DelayedWork* dw = timers_.begin()->second;
    timers_.erase(timers_.begin());
    dw->where_ = WorkLocation::none;
    insert_locked(*dw, dw->target_cpu_, /*new_queueing=*/false);
  }
}

template <class P>
bool BasicWorkqueue<P>::mod_delayed_work(DelayedWork& dw, Duration delay) {
  return mod_delayed_work_on(engine_.current_cpu(), dw, delay);
}

template <class P>
bool BasicWorkqueue<P>::mod_delayed_work_on(int cpu, DelayedWork& dw, Duration delay) {
  check_alive();
  check_cpu(cpu);
  if (delay < Duration::zero()) throw Error(Errc::invalid_argument, "negative delay");
  engine_.bind(dw);
  const GrabResult grab = engine_.grab_pending(dw, /*canceller=*/false);
  if (grab == GrabResult::being_cancelled) return false;  // a cancel_work_sync owns it (kernel: -ENOENT)
  const bool was_pending = grab == GrabResult::was_pending;
  if (was_pending) engine_.resolve_after_grab(dw);
  detail::Guard g(lock_);
  if (dead_.load(std::memory_order_relaxed) || !accepting_locked()) {
    reject_locked(dw, cpu);
    return was_pending;
  }
  if (delay > Duration::zero())
    arm_locked(dw, cpu, delay);
  else
    insert_locked(dw, cpu, /*new_queueing=*/true);
  return was_pending;
}

// ---------------------------------------------------------------------------
// flush_workqueue epochs (C11)

template <class P>
void BasicWorkqueue<P>::finish_epoch_locked(uint64_t epoch) {
  --inflight_[static_cast<size_t>(epoch - epoch_base_)];
  --total_inflight_;
  bool advanced = false;
  while (inflight_.size() > 1 && inflight_.front() == 0) {
    inflight_.pop_front();
    ++epoch_base_;
    advanced = true;
  }
  if (advanced || total_inflight_ == 0) {
    state_cv_.notify_all();
    if (rescuer_flushing_) {  // never set on a shared queue, whose lock_ is S
      detail::Guard g(engine_.pool_lock_);  // Q, then S: the lock order
      engine_.kick_rescuer_locked();
    }
  }
}

// Ends the current epoch (later insertions count in the next one) and
// returns it.
template <class P>
uint64_t BasicWorkqueue<P>::close_epoch_locked() {
  const uint64_t closed = epoch_++;
  inflight_.push_back(0);
  while (inflight_.size() > 1 && inflight_.front() == 0) {
    inflight_.pop_front();
    ++epoch_base_;
  }
  return closed;
}

// Waits until epoch `target` and all before it have drained.
template <class P>
bool BasicWorkqueue<P>::wait_epoch_locked(uint64_t target, bool refusable) {
  bool waited = false;
  Worker<P>* const caller = engine_.current_worker();
  Worker<P>* const self = is_shared() ? caller : nullptr;
  // The rescuer, flushing a queue that is not shared.
  Worker<P>* const rescuer_here = !is_shared() && caller && caller->is_rescuer ? caller : nullptr;
  // Another engine thread that waits here publishes what for, under S: a
  // rescuer waiting for its run follows its chain through this queue's
  // runs and runs what they wait for, since it may be the only thread left
  // to run them (C7, C16; a pool thread's flush of a single_thread queue
  // whose work waited for a work only a rescue could run hung the
  // rescuer's wait for that thread: issue #14). A chain the rescuer
  // follows may go on through this thread now (it stopped counting before
  // it got here: a look in between ended there): the rescuer is kicked.
  // For a shared queue lock_ is S; for another kind S is taken after Q.
  struct AwaitScope {
    BasicWorkqueue<P>& wq;
    Worker<P>* w = nullptr;
    BasicWorkqueue<P>* q = nullptr;
    uint64_t epoch = 0;
    void publish(Worker<P>* self, uint64_t target) LAZYWQ_NO_TSA {
      w = self;
      if (!wq.is_shared()) wq.engine_.pool_lock_.lock();
      q = std::exchange(w->awaiting_queue, &wq);
      epoch = std::exchange(w->awaiting_epoch, target);
      if (wq.epoch_base_ <= target) wq.engine_.kick_rescuer_locked();
      if (!wq.is_shared()) wq.engine_.pool_lock_.unlock();
    }
    ~AwaitScope() LAZYWQ_NO_TSA {
      if (!w) return;
      if (!wq.is_shared()) wq.engine_.pool_lock_.lock();
      w->awaiting_queue = q;
      w->awaiting_epoch = epoch;
      if (!wq.is_shared()) wq.engine_.pool_lock_.unlock();
    }
  } await{*this};
  // A flush of a queue that is not shared is published only if it waits.
  if (caller && !caller->is_rescuer && (is_shared() || epoch_base_ <= target)) await.publish(caller, target);
  while (epoch_base_ <= target) {
    waited = true;
    if (self && self->is_rescuer) {
      // The rescuer runs the works it waits for while only a rescue
      // could (see rescue_wanted_locked). lock_ is S here.
      engine_.assert_held_pool_lock();
      const typename BasicEngine<P>::RescuerWaitScope scope =
          engine_.rescuer_queue_wait_locked(self, *this, target, refusable);
      // Works of this queue the flush waits for, or, while one of those
      // waits for the one active slot of an ordered (max_active 1) queue,
      // the work that holds it (see rescuer_wait); and what this queue's
      // runs on other threads wait for, through their chains: a pool
      // thread's run of ours waiting for a work only a rescue can run hung
      // the flush (found by the rescue scenario, issue #14).
      const bool slot_wait = max_active_ == 1 && !inactive_.empty() && inactive_.front()->epoch_ <= target;
      if (engine_.rescue_wanted_locked(self, [&](Work& x) {
            if (slot_wait && x.home_.load(std::memory_order_relaxed) == this) return true;
            return engine_.scope_wants(scope, x);
          }))
        continue;
      engine_.rescuer_sleeps_in_ = this;  // kicked awake (under S, as this wait)
      state_cv_.wait_until(lock_, engine_.rescue_look_deadline());
      engine_.rescuer_sleeps_in_ = nullptr;
      continue;
    }
    if (rescuer_here) {
      uint64_t kicks = 0;
      if (rescue_for_flush_locked(rescuer_here, target, refusable, kicks)) continue;
      // The look dropped lock_: the epoch may have ended meanwhile, its
      // notify lost (found by the simulator without safety nets: the
      // rescuer slept until its next look, rescue_poll_ns(), on every run
      // where the flushed queue's last run ended during the look).
      if (epoch_base_ > target) continue;
      rescuer_sleep_locked(rescuer_here, kicks);
      continue;
    }
    state_cv_.wait(lock_);
  }
  return waited;
}

// The rescuer flushes or drains a queue that is not shared (from a
// rescued work's callback): it waits for the runs of this queue's own
// threads, which may wait for works only a rescue can run (a shared work
// queued behind a blocked pool thread, creation failing for good), or
// for a run on the rescuer's own stack. Found by review (issue #14): a
// rescued work flushing a single_thread queue whose work flushed a
// shared work hung, every seed, as no wait of this queue polled for
// rescues. A look: refused (Error(deadlock)) if a run it waits for is on
// the rescuer's stack or waits for one there; else runs, nested, one work
// those runs wait for. True if it ran one (look again). Drops lock_ while
// the nested work runs (the callback may use this queue).
template <class P>
bool BasicWorkqueue<P>::rescue_for_flush_locked(Worker<P>* r, uint64_t target, bool refusable, uint64_t& kicks) {
  typename BasicEngine<P>::RescuerWaitScope scope;
  {
    detail::Guard g(engine_.pool_lock_);  // S after Q (docs/SHARED.md)
    // Before the scope: a kick after it was built (a thread of a chain
    // starting a wait) wakes the sleep that follows this look. Read with
    // the rescue below, a kick between the two holds of S was lost (found
    // by the simulator without safety nets).
    kicks = engine_.rescuer_kicks_;
    std::vector<Work*> runs;  // this queue's runs in progress up to the flush's epoch
    for (Cwq& c : cwqs_) {
      Worker<P>* const t = c.worker.get();
      Work* const x = t ? static_cast<Work*>(t->current) : nullptr;  // Q
      if (x && t->current_epoch <= target) runs.push_back(x);
    }
    scope = engine_.rescuer_queue_wait_locked(r, *this, target, refusable, runs);
  }
  lock_.unlock();
  bool ran;
  {
    detail::Guard g(engine_.pool_lock_);
    ran = engine_.rescue_wanted_locked(r, [&](Work& x) { return BasicEngine<P>::scope_wants(scope, x); });
  }
  lock_.lock();
  return ran;
}

// The rescuer sleeps in a flush or drain of this queue (not shared) after
// a look that found nothing to run. Not on state_cv_ under Q: a kick holds
// S, never Q (S after Q only), so one between the look and the wait was
// lost. It sleeps on its own cv under S instead, which every kick
// notifies, unless a kick came since the look (`kicks`, read under S
// there); the end of an epoch here takes S to wake it (finish_epoch_locked,
// while rescuer_flushing_). Q is dropped only once S is held: an epoch
// that ends after our last check of it must take S to wake us, which it
// gets only once we wait.
template <class P>
void BasicWorkqueue<P>::rescuer_sleep_locked(Worker<P>* r, uint64_t kicks) LAZYWQ_NO_TSA {
  rescuer_flushing_ = true;
  engine_.pool_lock_.lock();
  lock_.unlock();
  if (engine_.rescuer_kicks_ == kicks) r->cv.wait_until(engine_.pool_lock_, engine_.rescue_look_deadline());
  engine_.pool_lock_.unlock();
  lock_.lock();
  rescuer_flushing_ = false;
}

// What flush_workqueue and drain wait for (C16): the queue (held by every
// worker of this queue), and each work pending here whose run is in
// progress elsewhere: its queueing here cannot start before that run ends
// (C3), so the flush waits for that run too. A work that flushes a queue
// it is itself pending on waits for itself (found by the dependency
// scenario once works were queued away from their home queue). Read in
// the same critical section that closes the epoch: a queueing between the
// two would be waited for and not named.
template <class P>
std::vector<DependencyNode> BasicWorkqueue<P>::flush_targets_locked() {
  std::vector<DependencyNode> out{engine_.node_of(*this)};
  Worker<P>* self = engine_.current_worker();
  if (engine_.cfg_.dependency_check == DependencyCheck::off || !self) return out;
  // The works of this queue on `list` (the pools' lists hold every shared
  // queue's) whose run is in progress elsewhere.
  auto scan = [&](const detail::IntrusiveList<Work>& list) {
    for (Work* y = list.front(); y; y = detail::IntrusiveList<Work>::next(y)) {
      if (y->home_.load(std::memory_order_relaxed) != this) continue;
      detail::Guard yl(y->lock_);
      if (y->running_) out.push_back(engine_.node_of(*y));
    }
  };
  // The caller's own run, pending here wherever it waits (on a pool
  // thread's scheduled list too): the plainest self-wait.
  BasicWork<P>* running = self->current;
  if (running && running->home_.load(std::memory_order_relaxed) == this && running->where_ != WorkLocation::none)
    out.push_back(engine_.node_of(*running));
  if (is_shared()) {
    engine_.assert_held_pool_lock();
    for (auto& pool : engine_.pools_) {
      scan(pool->worklist);
      for (auto& pw : *pool->workers) scan(pw->scheduled);  // behind their own runs there (C3)
    }
    scan(inactive_);
  } else {
    for (const Cwq& t : cwqs_) scan(t.list);
  }
  return out;
}

template <class P>
std::vector<std::pair<uint64_t, uint64_t>> BasicWorkqueue<P>::held_up_locked(const Work& x, Stall how) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  auto add = [&out](const Work& y) { out.emplace_back(y.id(), y.queued_seq_.load(std::memory_order_relaxed)); };
  const int cpu = x.target_cpu_;
  switch (how) {
    case Stall::core_order: {
      const int key = core_order_key(cpu);
      bool behind = false;
      for (Work* y = cwqs_[static_cast<size_t>(core_cpu_)].list.front(); y; y = detail::IntrusiveList<Work>::next(y)) {
        if (y == &x) behind = true;
        else if (behind && core_order_key(y->target_cpu_) == key) add(*y);
      }
      for (const auto& [k, dw] : timers_)
        if (core_order_key(dw->target_cpu_) == key) add(*dw);
      break;
    }
    case Stall::cpu_worker:
      for (Work* y = cwqs_[static_cast<size_t>(cpu)].list.front(); y; y = detail::IntrusiveList<Work>::next(y))
        if (y != &x) add(*y);  // x is at the front: the rest is behind it
      for (Work* y = cwqs_[static_cast<size_t>(core_cpu_)].list.front(); y; y = detail::IntrusiveList<Work>::next(y))
        if (y->target_cpu_ == cpu) add(*y);
      for (const auto& [k, dw] : timers_)
        if (dw->target_cpu_ == cpu) add(*dw);
      break;
    case Stall::ordered_slot:
      for (Work* y = inactive_.front(); y; y = detail::IntrusiveList<Work>::next(y)) add(*y);
      for (const auto& [k, dw] : timers_) add(*dw);
      break;
  }
  return out;
}

template <class P>
bool BasicWorkqueue<P>::flush() {
  check_alive();
  if (caller_in_this_queue()) {
    engine_.record(EventType::wait_refused, -1, id_, 0, static_cast<int32_t>(RefusalReason::own_queue));
    throw Error(Errc::deadlock, "flush_workqueue('" + name() + "') from one of its own works would wait for itself");
  }
  typename BasicEngine<P>::BlockedScope blocked(engine_);
  detail::Guard g(lock_);
  if (dead_.load(std::memory_order_relaxed))  // destroyed since check_alive()
    throw Error(Errc::queue_destroyed, "workqueue '" + name() + "' has been destroyed");
  // Under Q (the graph's and the events' locks are leaves): may refuse
  // with Error(deadlock) before anything changed.
  engine_.note_wait(flush_targets_locked(), "flush_workqueue", nullptr, id_);
  engine_.record(EventType::flush_begin, -1, id_, 0, static_cast<int32_t>(FlushKind::workqueue));
  ++flushers_;
  bool waited;
  try {
    waited = wait_epoch_locked(close_epoch_locked(), /*refusable=*/true);
  } catch (...) {  // refused: leaves flush_begin without its flush_end, as every refusal
    if (--flushers_ == 0) state_cv_.notify_all();
    throw;
  }
  engine_.record(EventType::flush_end, -1, id_, 0, waited ? 1 : 0);
  if (--flushers_ == 0) state_cv_.notify_all();
  return waited;
}

template <class P>
void BasicWorkqueue<P>::drain_locked(bool refusable) {
  ++draining_;
  try {
    for (;;) {
      expedite_timers_locked();
      wait_epoch_locked(close_epoch_locked(), refusable);
      if (total_inflight_ == 0 && timers_.empty()) break;
    }
  } catch (...) {  // refused (the rescuer, refusable only)
    --draining_;
    throw;
  }
  --draining_;
}

template <class P>
void BasicWorkqueue<P>::drain() {
  check_alive();
  if (caller_in_this_queue()) {
    engine_.record(EventType::wait_refused, -1, id_, 0, static_cast<int32_t>(RefusalReason::own_queue));
    throw Error(Errc::deadlock, "drain_workqueue('" + name() + "') from one of its own works would wait for itself");
  }
  typename BasicEngine<P>::BlockedScope blocked(engine_);
  detail::Guard g(lock_);
  if (dead_.load(std::memory_order_relaxed) || destroying_)
    throw Error(Errc::queue_destroyed, "workqueue '" + name() + "' is destroyed or being destroyed");
  // As in flush(); registered too: a drain waits for every queueing,
  // chained ones included, so a run elsewhere that holds one up later
  // holds the drain up (tie_waits).
  const auto registered = engine_.register_wait(0, 0, id_);
  engine_.note_wait(flush_targets_locked(), "drain_workqueue", &registered, id_);
  engine_.record(EventType::flush_begin, -1, id_, 0, static_cast<int32_t>(FlushKind::drain));
  // Counted with the flushes: a destroy that starts meanwhile lets this
  // drain return before its own destroy_end (C14).
  ++flushers_;
  try {
    drain_locked(/*refusable=*/true);
  } catch (...) {
    if (--flushers_ == 0) state_cv_.notify_all();
    throw;
  }
  engine_.record(EventType::flush_end, -1, id_, 0, 1);
  if (--flushers_ == 0) state_cv_.notify_all();
}

// ---------------------------------------------------------------------------
// Threads: creation (C6, C7), the worker loops (C2, C3, C8, C9), joining

// Creates the worker of `cpu`, dropping the lock while the thread is made.
// While it is `creating`, queueing for that CPU keeps going to the core list.
template <class P>
bool BasicWorkqueue<P>::spawn_worker_locked(int cpu) {
  Cwq& t = cwqs_[static_cast<size_t>(cpu)];
  // One creator at a time per CPU (queue creation, cpu_online and the core
  // may all want this worker): wait for one in progress, keep a live one.
  while (t.state == CwqState::creating) state_cv_.wait(lock_);
  if (t.state == CwqState::active) return true;
  t.state = CwqState::creating;
  const bool is_core = cpu == core_cpu_ && core_ == nullptr;
  auto w = std::make_unique<Worker<P>>(&engine_, this, nullptr, cpu,
                                       engine_.next_thread_id_.fetch_add(1, std::memory_order_relaxed), is_core);
  w->last_active_ns = now();
  Worker<P>* raw = w.get();
  t.worker = std::move(w);
  if (is_core) core_ = raw;
  const bool injected = engine_.decide_spawn_failure();
  lock_.unlock();
  P::window_enter(RaceWindow::spawn_unlocked);
  std::optional<typename P::Thread> th;
  if (!injected) {
    std::string tname = "wq" + std::to_string(id_) + (is_core ? "/core" : "/cpu" + std::to_string(cpu));
    th = P::spawn(cpu, tname, [this, raw] { worker_main(raw); });
  }
  P::window_exit(RaceWindow::spawn_unlocked);
  lock_.lock();
  if (!th) {
    if (is_core) core_ = nullptr;
    t.worker.reset();
    t.state = CwqState::none;
    // Recorded before the cooldown's clock read: the stream never shows a
    // retry sooner after the failure than the cooldown (C7, the oracle).
    engine_.record(EventType::spawn_fail, cpu, id_, 0);
    // A cooldown too large to add never ends: this CPU's works run on the
    // core until cpu_online() resets it (docs/CONTRACT.md, C7).
    t.cooldown_until_ns = detail::deadline_after(now(), engine_.cfg_.spawn_cooldown);
    t.fresh_failure = true;
    engine_.n_spawn_fail_.fetch_add(1, std::memory_order_relaxed);
    state_cv_.notify_all();
    return false;
  }
  raw->thread = std::move(*th);
  t.state = CwqState::active;
  ++live_threads_;
  engine_.n_created_.fetch_add(1, std::memory_order_relaxed);
  engine_.record_as(raw->thread_id, EventType::spawn, cpu, id_, 0, 0);
  // Idle from now (C8), not from before the creation; read after the
  // event's clock, so the stream never shows an idle period shorter than
  // idle_timeout (the thread needs Q, held here, to look at it).
  raw->last_active_ns = now();
  raw->cv.notify_one();
  state_cv_.notify_all();
  return true;
}

template <class P>
void BasicWorkqueue<P>::worker_main(Worker<P>* w) {
  P::set_context(w);
  {
    detail::Guard g(lock_);
    // The creator publishes the worker (state active) after the thread
    // exists; wait for that so the loops below see a consistent cwq.
    while (cwqs_[static_cast<size_t>(w->cpu)].state == CwqState::creating && !w->stop) w->cv.wait(lock_);
    if (w->is_core)
      core_loop_locked(w);
    else
      cpu_loop_locked(w);
  }
  P::set_context(nullptr);
}

// A work for `cpu` left the core list: when none is left, that CPU's worker
// may go idle again (it waits without a deadline while in_core > 0).
template <class P>
void BasicWorkqueue<P>::dec_in_core_locked(int cpu) {
  Cwq& t = cwqs_[static_cast<size_t>(cpu)];
  if (--t.in_core == 0 && t.worker) t.worker->cv.notify_one();
}

// Starts `work` (on list `from`) on worker `w`, or returns false without
// running anything when the work is still running elsewhere (C3). A CPU
// worker then waits for that run to end (its list is one CPU, all behind
// it); the core does not wait: it registers to be woken and moves on.
// `fallback_reason` >= 0 records a `fallback` event first (C4, C7, C13).
template <class P>
bool BasicWorkqueue<P>::run_one_locked(Worker<P>* w, Cwq& from, Work* work, int fallback_reason) {
  work->lock_.lock();
  if (work->running_) {
    // C3: never run a work concurrently with itself, even across CPUs.
    if (w->is_core) {
      work->core_waiter_ = this;
      // C16: that order waits for the run now, and so does every wait in
      // progress for a queueing behind it.
      engine_.tie_waits(held_up_locked(*work, Stall::core_order), id_, *work,
                        "C3 wait: the core skips it while it runs elsewhere, and its order waits", core_cpu_);
      work->lock_.unlock();
      return false;
    }
    ++work->engine_waiters_;  // before dropping the locks: the work must outlive our wait
    // C16: everything for this CPU now waits for that run: the waits in
    // progress for it are tied to the run now, a later one finds it in
    // c3_awaiting (wait_targets). Not a permanent edge from this executor
    // to the run: a work running elsewhere that queued V here, then itself
    // behind V, and flushed V, was a "cycle" though V runs first (the
    // review of session 14; the model lazy_collision had it documented).
    engine_.tie_waits(held_up_locked(*work, Stall::cpu_worker), id_, *work,
                      "C3 wait: its CPU's worker waits for its run elsewhere", w->cpu);
    w->c3_awaiting = work;
    w->c3_run_seq = work->run_seq_;
    lock_.unlock();
    engine_.await_run_end_locked(*work, w->c3_run_seq, /*release_claim=*/false);
    work->lock_.unlock();
    lock_.lock();
    // Cleared under Q while our claim still keeps the work alive:
    // wait_targets reads it under Q, and the work may be freed as soon as
    // the claim goes (an independent review, session 14: released first,
    // a flush of this CPU's work could read a freed work).
    w->c3_awaiting = nullptr;
    work->lock_.lock();
    engine_.release_run_claim_locked(*work);
    work->lock_.unlock();
    return false;
  }
  const uint64_t epoch = work->epoch_;
  const int target = work->target_cpu_;
  from.list.remove(work);
  const bool from_core_list = &from == &cwqs_[static_cast<size_t>(core_cpu_)];
  const bool for_other_cpu = uses_cpu_workers() && target != core_cpu_;
  if (from_core_list && for_other_cpu) dec_in_core_locked(target);
  work->where_ = WorkLocation::none;
  work->home_.store(nullptr, std::memory_order_release);
  work->running_ = true;
  work->runner_ = w;
  // Read before PENDING is cleared: a queueing after the clear gets a
  // higher number and its own run (C2, C10).
  work->run_seq_ = work->queued_seq_.load(std::memory_order_relaxed);
  work->lock_.unlock();
  w->current = work;
  w->current_epoch = epoch;
  // While the core runs a work of CPU c, c's new queueings go through the
  // core list too, so two works of one CPU never overlap (C5).
  Cwq* fallback_cwq = (w->is_core && for_other_cpu) ? &cwqs_[static_cast<size_t>(target)] : nullptr;
  if (fallback_cwq) fallback_cwq->core_running = true;
  invoke_locked(w, work, target, fallback_reason);
  w->current = nullptr;
  if (fallback_cwq) fallback_cwq->core_running = false;
  finish_epoch_locked(epoch);
  end_run_locked(w, work);
  return true;
}

// Runs the callback of `work` (marked running by the caller) on `w`:
// records it, clears PENDING just before the call (C2) and drops the lock
// around it. `fallback_reason` >= 0 records a `fallback` event first.
template <class P>
void BasicWorkqueue<P>::invoke_locked(Worker<P>* w, Work* work, int target, int fallback_reason) {
  if (fallback_reason >= 0) {
    engine_.n_fallback_.fetch_add(1, std::memory_order_relaxed);
    engine_.record(EventType::fallback, -1, id_, work->id(), fallback_reason);
  }
  engine_.record(EventType::exec_begin, w->cpu, id_, work->id(), target);
  const bool clear_late = LAZYWQ_PLANTED(engine_.cfg_, clear_pending_after_run);
  // C2: PENDING is cleared just before the callback starts.
  if (!clear_late) work->flags_.fetch_and(~Work::kPending, std::memory_order_release);
  lock_.unlock();
  P::window_enter(RaceWindow::callback);
  try {
    work->call();
  } catch (...) {
    engine_.n_threw_.fetch_add(1, std::memory_order_relaxed);
    engine_.record(EventType::callback_threw, w->cpu, id_, work->id());
  }
  if (clear_late) work->flags_.fetch_and(~Work::kPending, std::memory_order_release);
  P::window_exit(RaceWindow::callback);
  lock_.lock();
  engine_.record(EventType::exec_end, w->cpu, id_, work->id(), target);
  engine_.n_run_.fetch_add(1, std::memory_order_relaxed);
}

// The run of `work` on `w` is over: flushers and cancels may go on (C10,
// C12), and a core that skipped the work while it ran (C3) is woken.
template <class P>
void BasicWorkqueue<P>::end_run_locked(Worker<P>* w, Work* work) {
  BasicWorkqueue<P>* waiter;
  bool kick_rescuer;
  {
    detail::Guard wl(work->lock_);
    work->running_ = false;
    work->runner_ = nullptr;
    work->resolved_seq_ = std::max<uint64_t>(work->resolved_seq_, work->run_seq_);
    kick_rescuer = std::exchange(work->kick_rescuer_at_end_, false);
    waiter = std::exchange(work->core_waiter_, nullptr);
    work->cv_.notify_all();
  }
  // Only the flag, never the work: once its lock is dropped it may be run
  // and freed. A spurious kick costs the rescuer one look.
  if (kick_rescuer) {
    if (is_shared()) {
      engine_.assert_held_pool_lock();  // lock_ is S
      engine_.kick_rescuer_locked();
    } else {
      detail::Guard g(engine_.pool_lock_);  // Q, then S: the lock order
      engine_.kick_rescuer_locked();
    }
  }
  w->last_active_ns = now();
  if (waiter == this) {
    wake_core_locked();
  } else if (waiter) {
    // Another queue's core skipped this work: wake it under its own lock
    // (queue locks are never nested, and a core's is never taken under S).
    lock_.unlock();
    {
      detail::Guard g(waiter->lock_);
      waiter->wake_core_locked();
    }
    lock_.lock();
  }
}

// One pass of the core over its list, in order. Returns true if it did
// something (the list may have changed; the caller looks again), false if
// every work must wait (for a run elsewhere, or a retiring CPU).
//
// A work that cannot start marks its CPU as blocked for the rest of the
// pass, so no later work of that CPU overtakes it (C5); works of other
// CPUs go on (a work waiting for its run elsewhere must not stall them).
template <class P>
bool BasicWorkqueue<P>::core_step_locked(Worker<P>* w) {
  Cwq& core = cwqs_[static_cast<size_t>(core_cpu_)];
  scan_blocked_.assign(cwqs_.size(), 0);
  for (Work* work = core.list.front(); work; work = decltype(core.list)::next(work)) {
    const int c = work->target_cpu_;
    const bool local = !uses_cpu_workers() || c == core_cpu_;
    // single_thread and ordered queues keep one global order: one key.
    const size_t key = static_cast<size_t>(local ? core_cpu_ : c);
    if (scan_blocked_[key]) continue;
    if (local) {
      if (run_one_locked(w, core, work, -1)) return true;
      scan_blocked_[key] = 1;
      continue;
    }
    Cwq& t = cwqs_[static_cast<size_t>(c)];
    if (t.retiring || t.state == CwqState::creating) {
      // Offline with its worker finishing a run, or being created by
      // another thread (cpu_online): wait, we are woken when it resolves.
      scan_blocked_[key] = 1;
      continue;
    }
    if (!t.online) {
      if (run_one_locked(w, core, work, static_cast<int>(FallbackReason::cpu_offline))) return true;
      scan_blocked_[key] = 1;
      continue;
    }
    if (t.state == CwqState::active) {
      detail::WindowScope<P> window(RaceWindow::core_migrate);
      // C9: migrate in core-list order; the target's direct queueing stays
      // closed while in_core > 0, so per-CPU order holds.
      core.list.remove(work);
      if (LAZYWQ_PLANTED(engine_.cfg_, migrate_reorders))
        t.list.push_front(work);
      else
        t.list.push_back(work);
      work->where_ = WorkLocation::cpu_list;
      engine_.n_migrate_.fetch_add(1, std::memory_order_relaxed);
      engine_.record(EventType::migrate, -1, id_, work->id(), c);
      dec_in_core_locked(c);
      t.worker->cv.notify_one();
      if (LAZYWQ_PLANTED(engine_.cfg_, migrate_duplicates)) {
        // Runs the same queueing on the core as well: a duplicate execution.
        engine_.record(EventType::exec_begin, w->cpu, id_, work->id(), c);
        lock_.unlock();
        try {
          work->call();
        } catch (...) {
        }
        lock_.lock();
        engine_.record(EventType::exec_end, w->cpu, id_, work->id(), c);
      }
      return true;
    }
    // After every failed creation one work runs here before the next try,
    // even with a zero cooldown: retrying first could fail forever (C7).
    if (t.fresh_failure || now() < t.cooldown_until_ns) {
      const auto reason = t.fresh_failure ? FallbackReason::spawn_failed : FallbackReason::spawn_cooldown;
      if (run_one_locked(w, core, work, static_cast<int>(reason))) {
        t.fresh_failure = false;
        return true;
      }
      scan_blocked_[key] = 1;
      continue;
    }
    if (spawn_worker_locked(c)) return true;  // the next pass migrates
    // C7: no work is lost: it runs here, and creation is retried after the
    // cooldown. The lock was dropped: start a new pass, which finds this
    // CPU cooling down and runs its first work as a fallback.
    if (LAZYWQ_PLANTED(engine_.cfg_, spawn_fail_loses_work)) {
      if (work->home_.load(std::memory_order_relaxed) == this && work->where_ == WorkLocation::core_list) {
        unlink_locked(*work);
        work->flags_.fetch_and(~Work::kPending, std::memory_order_release);
      }
    }
    return true;
  }
  return false;
}

// The core thread: runs the core CPU's works, migrates the others to their
// workers (creating them on demand), falls back when it cannot, fires
// timers and joins exited workers.
template <class P>
void BasicWorkqueue<P>::core_loop_locked(Worker<P>* w) {
  Cwq& core = cwqs_[static_cast<size_t>(core_cpu_)];
  for (;;) {
    join_zombies_locked();
    fire_due_timers_locked();
    if (!core.list.empty() && core_step_locked(w)) continue;
    if (core.list.empty() && w->stop) break;
    if (!zombies_->empty()) continue;
    // A timer that never fires (kNever) is an untimed wait, not a spin.
    if (!timers_.empty())
      w->cv.wait_until(lock_, detail::deadline_after(engine_.start_ns_, timers_.begin()->first.first));
    else
      w->cv.wait(lock_);
  }
}

// A CPU worker: runs its list; a lazy one exits after idle_timeout.
template <class P>
void BasicWorkqueue<P>::cpu_loop_locked(Worker<P>* w) {
  Cwq& t = cwqs_[static_cast<size_t>(w->cpu)];
  for (;;) {
    if (w->stop) break;
    if (!t.list.empty()) {
      run_one_locked(w, t, t.list.front(), -1);
      continue;
    }
    if (kind_ != WqKind::lazy || t.worker.get() != w || t.in_core != 0) {
      w->cv.wait(lock_);
      continue;
    }
    // An idle timeout too large to add never ends (kNever): never exit.
    const int64_t deadline = detail::deadline_after(w->last_active_ns, engine_.cfg_.idle_timeout);
    if (now() < deadline) {
      w->cv.wait_until(lock_, detail::deadline_after(engine_.start_ns_, deadline));
      continue;
    }
    detail::WindowScope<P> window(RaceWindow::idle_exit_decision);
    if (LAZYWQ_PLANTED(engine_.cfg_, idle_exit_strands_work)) {
      // The exit decision is taken, then the lock dropped: a work queued in
      // this window lands on a list nobody will serve.
      lock_.unlock();
      P::sched_point("idle_exit_window");
      lock_.lock();
      if (w->stop || t.worker.get() != w) continue;  // destroy took it meanwhile (not the bug)
    } else if (!t.list.empty()) {
      continue;
    }
    // C8: decided and unpublished under the queue lock, so a concurrent
    // queueing either saw this worker active (and the list is non-empty
    // here) or sees it gone and goes to the core.
    t.state = CwqState::none;
    engine_.n_idle_exit_.fetch_add(1, std::memory_order_relaxed);
    engine_.record(EventType::idle_exit, w->cpu, id_, 0);
    zombies_->push_back(std::move(t.worker));
    wake_core_locked();
    break;
  }
}

// Joins workers that exited on their own. REQUIRES lock_ (dropped while
// joining: an exited worker needs no lock, but joining may block briefly).
template <class P>
void BasicWorkqueue<P>::join_zombies_locked() {
  while (!zombies_->empty()) {
    std::vector<std::unique_ptr<Worker<P>>> batch;
    batch.swap(*zombies_);
    lock_.unlock();
    for (auto& z : batch) z->thread.join();
    lock_.lock();
    live_threads_ -= static_cast<int>(batch.size());
    engine_.n_exited_.fetch_add(batch.size(), std::memory_order_relaxed);
  }
}

// Stops the given workers (after their current work) and joins them.
template <class P>
void BasicWorkqueue<P>::stop_and_join_locked(std::vector<std::unique_ptr<Worker<P>>> victims, EventType why) {
  for (auto& v : victims) {
    v->stop = true;
    v->cv.notify_all();
  }
  lock_.unlock();
  for (auto& v : victims) v->thread.join();
  lock_.lock();
  for (auto& v : victims) engine_.record_as(v->thread_id, why, v->cpu, id_, 0, 0);
  live_threads_ -= static_cast<int>(victims.size());
  engine_.n_exited_.fetch_add(victims.size(), std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------
// Hotplug (C13) and destroy (C14)

template <class P>
void BasicWorkqueue<P>::cpu_offline(int cpu) {
  detail::WindowScope<P> window(RaceWindow::offline_retire);
  detail::Guard g(lock_);
  Cwq& t = cwqs_[static_cast<size_t>(cpu)];
  // A creation in progress finishes first, on a queue being destroyed too
  // (drained, its core may still be creating a worker for a work since
  // cancelled): returned early, the call let that worker be created for a
  // CPU already offline (C13; explorer, teardown seed 1080 pct:2).
  // destroy() joins it.
  while (t.state == CwqState::creating) state_cv_.wait(lock_);
  if (dead_.load(std::memory_order_relaxed)) return;
  t.online = false;
  if (!uses_cpu_workers()) return;
  // Move pending works to the front of the core list, oldest first: they
  // are older than any work for this CPU already waiting there. The core
  // leaves them alone while the CPU is retiring, so none starts before the
  // departing worker's current run has finished (C13, C5).
  Cwq& core = cwqs_[static_cast<size_t>(core_cpu_)];
  const bool has_worker = t.worker != nullptr;
  if (has_worker) t.retiring = true;
  while (!t.list.empty()) {
    Work* work = t.list.back();
    t.list.remove(work);
    core.list.push_front(work);
    work->where_ = WorkLocation::core_list;
    ++t.in_core;
    engine_.n_migrate_.fetch_add(1, std::memory_order_relaxed);
    engine_.record(EventType::migrate, -1, id_, work->id(), core_cpu_);
  }
  if (has_worker) {
    std::vector<std::unique_ptr<Worker<P>>> victims;
    victims.push_back(std::move(t.worker));
    t.state = CwqState::none;
    stop_and_join_locked(std::move(victims), EventType::thread_exit);
    t.retiring = false;
    state_cv_.notify_all();  // destroy may wait for this retirement
  }
  wake_core_locked();
}

template <class P>
void BasicWorkqueue<P>::cpu_online(int cpu) {
  detail::Guard g(lock_);
  if (dead_.load(std::memory_order_relaxed)) return;
  Cwq& t = cwqs_[static_cast<size_t>(cpu)];
  t.online = true;
  t.cooldown_until_ns = 0;
  if (kind_ == WqKind::per_cpu && t.state == CwqState::none) spawn_worker_locked(cpu);
  wake_core_locked();
}

template <class P>
void BasicWorkqueue<P>::destroy() {
  if (caller_in_this_queue()) {
    engine_.record(EventType::wait_refused, -1, id_, 0, static_cast<int32_t>(RefusalReason::own_queue));
    throw Error(Errc::deadlock, "destroy of workqueue '" + name() + "' from one of its own works");
  }
  // It drains and joins: on a pool thread that is an engine wait (C16).
  typename BasicEngine<P>::BlockedScope blocked(engine_);
  detail::Guard g(lock_);
  if (destroying_ || dead_.load(std::memory_order_relaxed))
    throw Error(Errc::queue_destroyed, "workqueue '" + name() + "' is already destroyed");
  // The rescuer refuses before anything changed (its drain below cannot
  // be undone half-way): a run of this queue in progress on its own stack,
  // or waiting through a chain for one there (a cycle that closes during
  // the drain still hangs it: not seen here).
  if (Worker<P>* self = is_shared() ? engine_.current_worker() : nullptr; self && self->is_rescuer) {
    engine_.assert_held_pool_lock();
    engine_.rescuer_queue_wait_locked(self, *this, std::numeric_limits<uint64_t>::max(), /*refusable=*/true);
  }
  destroying_ = true;
  detail::WindowScope<P> window(RaceWindow::destroy_drain);
  engine_.record(EventType::destroy, -1, id_, 0);
  drain_locked(/*refusable=*/false);
  // Drained, still under the lock: from here every call is refused.
  dead_.store(true, std::memory_order_release);
  if (is_shared()) {
    // No thread of its own: the pools' threads are the engine's.
    while (flushers_ > 0) state_cv_.wait(lock_);
    engine_.record(EventType::destroy_end, -1, id_, 0);
    return;
  }
  std::vector<std::unique_ptr<Worker<P>>> victims;
  for (auto& c : cwqs_) {
    // A creation or an offline retirement in progress finishes first: its
    // thread is then ours to join, or already joined (C14: destroy_end comes
    // after every thread of the queue is gone).
    while (c.state == CwqState::creating || c.retiring) state_cv_.wait(lock_);
    if (c.worker && c.worker.get() != core_) victims.push_back(std::move(c.worker));
  }
  stop_and_join_locked(std::move(victims), EventType::thread_exit);
  std::vector<std::unique_ptr<Worker<P>>> core;
  core.push_back(std::move(cwqs_[static_cast<size_t>(core_cpu_)].worker));
  Worker<P>* core_raw = core_;
  (void)core_raw;
  stop_and_join_locked(std::move(core), EventType::thread_exit);
  core_ = nullptr;
  join_zombies_locked();
  for (auto& c : cwqs_) c.state = CwqState::none;
  // Flushes and drains that started before the destroy end before it.
  while (flushers_ > 0) state_cv_.wait(lock_);
  engine_.record(EventType::destroy_end, -1, id_, 0);
}

// ---------------------------------------------------------------------------
// Engine

template <class P>
BasicEngine<P>::BasicEngine(EngineConfig cfg) : cfg_(cfg), start_ns_(P::now_ns()) {
  if (cfg_.ncpus < 1) throw Error(Errc::invalid_argument, "ncpus must be at least 1");
  if (cfg_.core_cpu < 0 || cfg_.core_cpu >= cfg_.ncpus)
    throw Error(Errc::invalid_argument, "core_cpu must be in [0, ncpus)");
  if (cfg_.idle_timeout < Duration::zero() || cfg_.spawn_cooldown < Duration::zero() ||
      cfg_.stall_timeout < Duration::zero())
    throw Error(Errc::invalid_argument, "idle_timeout, spawn_cooldown and stall_timeout must not be negative");
  if (cfg_.max_workers_per_pool < 1) throw Error(Errc::invalid_argument, "max_workers_per_pool must be at least 1");
  if (cfg_.dependency_check != DependencyCheck::off && cfg_.dependency_check != DependencyCheck::report &&
      cfg_.dependency_check != DependencyCheck::error)
    throw Error(Errc::invalid_argument, "dependency_check must be off, report or error");
  {
    detail::Guard g(lock_);
    online_.assign(static_cast<size_t>(cfg_.ncpus), 1);
  }
  set_spawn_faults(cfg_.spawn_faults);
}

template <class P>
BasicEngine<P>::~BasicEngine() {
  // From one of its own threads it would wait for that thread (it destroys
  // every queue and joins every thread): a hang, not an error it can
  // report (a destructor must not throw). As loud as a Work destroyed
  // from its own callback.
  if (Worker<P>* self = current_worker()) {
    const Work* running = self->current;  // our own thread's field
    const Workqueue* q = self->queue();
    std::fprintf(stderr,
                 "lazywq: engine deleted from one of its own threads (%s, running work '%s' of workqueue '%s'): it "
                 "would wait for itself; delete it from outside the engine\n",
                 self->is_rescuer ? "the shared pools' rescuer"
                 : self->pool     ? "a shared pool's worker"
                 : self->is_core  ? "a core thread"
                 : self->wq       ? "a CPU worker"
                                  : "the shared pools' manager",
                 running ? running->name().c_str() : "", q ? q->name().c_str() : "");
    std::abort();
  }
  std::vector<BasicWorkqueue<P>*> qs;
  {
    detail::Guard g(lock_);
    for (auto& q : queues_) qs.push_back(q.get());
  }
  for (auto* q : qs) {
    if (q->destroyed()) continue;
    try {
      q->destroy();
    } catch (const Error&) {
      // already being destroyed by someone else
    }
  }
  stop_pools();
  // Works may outlive the engine: forget them so their destructors do not
  // call back into a dead engine.
  detail::Guard g(registry_lock_);
  for (Work* w : bound_) w->engine_.store(nullptr, std::memory_order_release);
  bound_.clear();
}

template <class P>
BasicWorkqueue<P>& BasicEngine<P>::create_workqueue(std::string name, WqKind kind, WqOptions opts) {
  // WqKind has a fixed underlying type: any uint8_t converts to it.
  if (static_cast<uint8_t>(kind) > static_cast<uint8_t>(WqKind::shared))
    throw Error(Errc::invalid_argument, "workqueue kind " + std::to_string(static_cast<unsigned>(kind)) +
                                            " is not a WqKind (per_cpu, lazy, single_thread, ordered, shared)");
  const bool any_option = opts.highpri || opts.unbound || opts.ordered || opts.max_active != 0;
  if (kind != WqKind::shared && any_option)
    throw Error(Errc::invalid_argument, "workqueue options (highpri, unbound, ordered, max_active) are for shared queues only");
  if (opts.max_active < 0 || opts.max_active > 1 << 20)
    throw Error(Errc::invalid_argument, "max_active must be in [0, 1048576] (0: the default, " +
                                            std::to_string(kDefaultMaxActive) + ")");
  if (opts.ordered && opts.max_active > 1)
    throw Error(Errc::invalid_argument, "an ordered queue runs one work at a time: max_active must be 0 or 1");
  BasicWorkqueue<P>* q;
  {
    detail::Guard g(lock_);
    auto id = static_cast<uint32_t>(queues_.size() + 1);
    queues_.push_back(std::make_unique<BasicWorkqueue<P>>(*this, id, std::move(name), kind, opts));
    q = queues_.back().get();
    // Under E (order E -> Q), so a hotplug that follows sees this queue.
    detail::Guard qg(q->lock_);
    for (size_t c = 0; c < q->cwqs_.size(); ++c) q->cwqs_[c].online = online_[c] != 0;
    if (kind == WqKind::shared) {
      assert_held_pool_lock();  // a shared queue's lock_ is S
      create_pools_locked();
    }
  }
  q->start();
  return *q;
}

template <class P>
void BasicEngine<P>::check_cpu(int cpu) const {
  if (cpu < 0 || cpu >= cfg_.ncpus)
    throw Error(Errc::invalid_cpu, "cpu " + std::to_string(cpu) + " is outside [0, " + std::to_string(cfg_.ncpus) + ")");
}

template <class P>
bool BasicEngine<P>::cpu_is_online(int cpu) const {
  check_cpu(cpu);
  detail::Guard g(lock_);
  return online_[static_cast<size_t>(cpu)] != 0;
}

template <class P>
bool BasicEngine<P>::cpu_offline(int cpu) {
  check_cpu(cpu);
  if (cpu == cfg_.core_cpu) throw Error(Errc::cpu_state, "the core CPU cannot go offline");
  if (current_worker()) throw Error(Errc::cpu_state, "hotplug from inside a work is not supported");
  // Hotplug operations are serialized by hotplug_lock_; E is held only to
  // flip the state and copy the queue list, never while joining a worker
  // (whose callback may need E, e.g. for stats()).
  detail::Guard h(hotplug_lock_);
  std::vector<BasicWorkqueue<P>*> qs;
  {
    detail::Guard g(lock_);
    if (!online_[static_cast<size_t>(cpu)]) return false;
    online_[static_cast<size_t>(cpu)] = 0;
    record(EventType::cpu_offline, cpu, 0, 0);
    for (auto& q : queues_) qs.push_back(q.get());
  }
  for (auto* q : qs) q->cpu_offline(cpu);
  pools_cpu_offline(cpu);
  return true;
}

template <class P>
bool BasicEngine<P>::cpu_online(int cpu) {
  check_cpu(cpu);
  if (current_worker()) throw Error(Errc::cpu_state, "hotplug from inside a work is not supported");
  detail::Guard h(hotplug_lock_);
  std::vector<BasicWorkqueue<P>*> qs;
  {
    detail::Guard g(lock_);
    if (online_[static_cast<size_t>(cpu)]) return false;
    {
      // C4 and C13: the shared pools flip with the event, under the pools'
      // lock that every shared queueing and dispatch takes, so they see the
      // CPU online exactly from the event on. (Flipped after the event, a
      // queueing in between went to the unbound pool of a CPU the stream
      // called online: explorer, mixed seed 1075891, in issue #13's 10^6-run
      // sweep. Flipped before it, a pool thread ran a work on a CPU the
      // stream still called offline.)
      detail::Guard pg(pool_lock_);
      if (!pools_.empty())
        for (bool hp : {false, true}) pool_of_locked(cpu, hp).online = true;
      online_[static_cast<size_t>(cpu)] = 1;
      record(EventType::cpu_online, cpu, 0, 0);
    }
    for (auto& q : queues_) qs.push_back(q.get());
  }
  for (auto* q : qs) q->cpu_online(cpu);
  return true;
}

template <class P>
void BasicEngine<P>::set_spawn_faults(const SpawnFaults& f) {
  // Refused whole (the faults in force stay): NaN would compare false
  // everywhere and silently mean "never fail".
  if (!(f.fail_probability >= 0.0 && f.fail_probability <= 1.0))
    throw Error(Errc::invalid_argument, "SpawnFaults::fail_probability must be in [0, 1], not " +
                                            std::to_string(f.fail_probability));
  detail::Guard g(fault_lock_);
  faults_ = f;
  spawn_attempts_ = 0;
  fault_rng_ = f.seed;
}

template <class P>
bool BasicEngine<P>::decide_spawn_failure() {
  detail::Guard g(fault_lock_);
  ++spawn_attempts_;
  if (faults_.fail_always) return true;
  if (faults_.fail_next > 0) {
    --faults_.fail_next;
    return true;
  }
  if (faults_.fail_nth != 0 && spawn_attempts_ == faults_.fail_nth) return true;
  if (faults_.fail_probability > 0.0) {
    // splitmix64: deterministic from the seed and the creation order.
    uint64_t z = (fault_rng_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    double u = static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
    return u < faults_.fail_probability;
  }
  return false;
}

template <class P>
void BasicEngine<P>::bind(Work& w) {
  BasicEngine<P>* expected = nullptr;
  if (w.engine_.load(std::memory_order_acquire) == this) {
    while (w.id_.load(std::memory_order_acquire) == 0) P::yield();  // the binder is storing it
    return;
  }
  if (w.engine_.compare_exchange_strong(expected, this, std::memory_order_acq_rel)) {
    {
      detail::Guard g(registry_lock_);
      bound_.insert(&w);
    }
    w.id_.store(next_work_id_.fetch_add(1, std::memory_order_relaxed), std::memory_order_release);
    return;
  }
  if (expected != this)
    throw Error(Errc::wrong_engine, "work '" + w.name() + "' belongs to another engine");
  // Lost the race to bind to this same engine: wait for the id.
  while (w.id_.load(std::memory_order_acquire) == 0) P::yield();
}

// True if the work was ever queued on this engine (false: never queued, so
// nothing to flush or cancel). Waits out the instant between a concurrent
// first queueing's bind and its id, so events always name the work.
template <class P>
bool BasicEngine<P>::bound_here(Work& w) {
  BasicEngine<P>* e = w.engine();
  if (e == nullptr) return false;
  if (e != this) throw Error(Errc::wrong_engine, "work '" + w.name() + "' belongs to another engine");
  while (w.id_.load(std::memory_order_acquire) == 0) P::yield();
  return true;
}

template <class P>
void BasicEngine<P>::unbind(Work& w) {
  detail::Guard g(registry_lock_);
  bound_.erase(&w);
}

template <class P>
Worker<P>* BasicEngine<P>::current_worker() const {
  auto* w = static_cast<Worker<P>*>(P::context());
  return (w && w->eng == this) ? w : nullptr;
}

template <class P>
uint32_t BasicEngine<P>::current_thread_id() const {
  Worker<P>* w = current_worker();
  return w ? w->thread_id : 0;
}

template <class P>
int BasicEngine<P>::current_cpu() const {
  Worker<P>* w = current_worker();
  if (w) return w->cpu >= 0 ? w->cpu : cfg_.core_cpu;  // an unbound pool's thread has no CPU of its own
  return P::current_cpu() % cfg_.ncpus;
}

// Takes PENDING for the caller. If a queueing was pending, it is removed
// from its queue (list or timer). The caller then owns the work and must
// clear PENDING when done. Unless `canceller` (the cancel_work_sync that set
// canceling_ itself), gives up when a cancel_work_sync owns the work, as the
// kernel's try_to_grab_pending does (-ENOENT): waiting for it could wait for
// the caller's own callback.
template <class P>
GrabResult BasicEngine<P>::grab_pending(Work& w, bool canceller) {
  detail::WindowScope<P> window(RaceWindow::cancel_grab);
  for (;;) {
    if (!(w.flags_.fetch_or(Work::kPending, std::memory_order_acq_rel) & Work::kPending)) return GrabResult::was_idle;
    BasicWorkqueue<P>* h = w.home_.load(std::memory_order_acquire);
    if (h) {
      detail::Guard g(h->home_lock());
      if (w.home_.load(std::memory_order_relaxed) == h) {
        const bool was_timer = w.where_ == WorkLocation::timer;
        h->unlink_locked(w);
        record(EventType::dequeue, -1, h->id_, w.id(), was_timer ? 1 : 0);
        return GrabResult::was_pending;
      }
    }
    if (!canceller) {
      detail::Guard wl(w.lock_);
      if (w.canceling_) return GrabResult::being_cancelled;
    }
    // In flight: claimed by a queuer that has not inserted it yet. That
    // window holds no lock we could wait on and is a few instructions long.
    P::yield();
  }
}

// After a grab removed a pending queueing: it will never run, so flushers
// waiting for it must not wait any longer.
template <class P>
void BasicEngine<P>::resolve_after_grab(Work& w) {
  detail::Guard wl(w.lock_);
  w.resolved_seq_ = std::max<uint64_t>(w.resolved_seq_, w.queued_seq_.load(std::memory_order_relaxed));
  w.cv_.notify_all();
}

template <class P>
bool BasicEngine<P>::flush_work(Work& w) {
  return flush_work_as(w, FlushKind::work);
}

template <class P>
bool BasicEngine<P>::flush_work_as(Work& w, FlushKind kind) {
  if (!bound_here(w)) return false;
  Worker<P>* self = current_worker();
  record(EventType::flush_begin, -1, 0, w.id(), static_cast<int32_t>(kind));
  // C10: the runs queued before the call (before flush_begin in the
  // stream). Read once, and first: the behind-the-caller check below then
  // judges exactly the queueings this flush will wait for (a queueing
  // after this reading is not waited for, so it may sit behind the
  // caller). Read before the C16 targets are computed too, so every
  // queueing waited for is already placed (pending on a list, a timer, or
  // running) when note_wait looks. A refusal below leaves flush_begin
  // without its flush_end: the stream's sign that the call threw.
  const uint64_t target = w.queued_seq_.load(std::memory_order_acquire);
  // Every armed queueing counted in `target` is still armed or has fired:
  // firing what is armed now fires all of them.
  if (kind == FlushKind::delayed) expedite_timer(w);
  if (self) {
    // The work can only run after the caller returns: it waits on the
    // caller's own list, on the core list for the caller's CPU (it would be
    // migrated behind the caller), or on a timer only the caller can fire.
    BasicWorkqueue<P>* h = w.home_.load(std::memory_order_acquire);
    if (h && h == self->queue()) {
      detail::Guard g(h->lock_);
      bool behind_caller = false;
      // Pending is at most one queueing (C1), the latest: it is one this
      // flush waits for only if no queueing came after `target`.
      if (w.home_.load(std::memory_order_relaxed) == h && w.queued_seq_.load(std::memory_order_relaxed) <= target) {
        switch (w.where_) {
          // An ordered shared queue: the caller holds its one active slot.
          case WorkLocation::inactive: behind_caller = h->max_active_ == 1; break;
          case WorkLocation::pool_list:
          case WorkLocation::scheduled: break;
          case WorkLocation::core_list: behind_caller = self->is_core || w.target_cpu_ == self->cpu; break;
          case WorkLocation::cpu_list: behind_caller = !self->is_core && w.target_cpu_ == self->cpu; break;
          // A timer fires onto the caller's list, or (ordered shared
          // queue) behind the slot the caller holds.
          case WorkLocation::timer:
            behind_caller = h->is_shared() ? h->max_active_ == 1 : self->is_core || w.target_cpu_ == self->cpu;
            break;
          case WorkLocation::none: break;
        }
      }
      if (behind_caller) {
        record(EventType::wait_refused, -1, h->id(), w.id(), static_cast<int32_t>(RefusalReason::behind_caller), target);
        throw Error(Errc::deadlock, "flush_work('" + w.name() + "') waits for a work that can only run after the caller returns");
      }
    }
    detail::Guard wl(w.lock_);
    if (w.running_ && w.runner_ == self) {
      record(EventType::wait_refused, -1, 0, w.id(), static_cast<int32_t>(RefusalReason::own_run));
      throw Error(Errc::deadlock, "flush_work('" + w.name() + "') from its own callback would wait for itself");
    }
  }
  const WaitScope registered = register_wait(w.id(), target, 0);
  note_wait(wait_targets(w, /*pending_upto=*/target), kind == FlushKind::delayed ? "flush_delayed_work" : "flush_work",
            &registered, 0, w.id());
  bool waited = false;
  {
    auto done = [&]() LAZYWQ_REQUIRES(w.lock_) { return flush_done_locked(w, target); };
    // On a pool thread a wait stops counting as running (C16); S comes
    // before W, so decide under W and mark it after.
    bool will_wait;
    {
      detail::Guard wl(w.lock_);
      will_wait = !done();
    }
    std::optional<BlockedScope> blocked;
    if (will_wait) blocked.emplace(*this, &w, target);
    detail::WindowScope<P> window(RaceWindow::flush_wait);
    if (will_wait && self && self->is_rescuer) {
      rescuer_wait(self, w, RescuerWait::runs_up_to, target);
    } else {
      detail::Guard wl(w.lock_);
      while (!done()) w.cv_.wait(w.lock_);
    }
    // C10: whether a run it waits for had not finished when it decided,
    // as the kernel's flush_work: not whether this thread got to sleep (a
    // rescuer kicked at once often ran the work before the wait's first
    // look, and a flush of a pending work then said it had not waited).
    waited = will_wait;
  }
  record(EventType::flush_end, -1, 0, w.id(), waited ? 1 : 0);
  return waited;
}

template <class P>
bool BasicEngine<P>::flush_delayed_work(DelayedWork& dw) {
  if (!bound_here(dw)) return false;
  // The timer is fired inside flush_work_as, after the flush has read the
  // queueings it waits for: a re-arm (mod_delayed_work) racing this call
  // is then either fired too or not waited for. Fired before that reading,
  // a re-arm in between was waited for and never fired: with a huge delay,
  // a hang (found by the engine swarm, issue #13).
  return flush_work_as(dw, FlushKind::delayed);
}

// flush_delayed_work's "fire the timer now", for an armed work.
template <class P>
void BasicEngine<P>::expedite_timer(Work& w) {
  BasicWorkqueue<P>* h = w.home_.load(std::memory_order_acquire);
  if (!h) return;
  detail::Guard g(h->home_lock());
  if (w.home_.load(std::memory_order_relaxed) == h && w.where_ == WorkLocation::timer) {
    h->timers_.erase(w.timer_key());
    w.where_ = WorkLocation::none;
    h->insert_locked(w, w.target_cpu_, /*new_queueing=*/false);
  }
}

template <class P>
bool BasicEngine<P>::cancel_work_sync(Work& w) {
  if (!bound_here(w)) return false;
  Worker<P>* self = current_worker();
  {
    detail::Guard wl(w.lock_);
    if (self && w.running_ && w.runner_ == self) {
      record(EventType::wait_refused, -1, 0, w.id(), static_cast<int32_t>(RefusalReason::own_run));
      throw Error(Errc::deadlock, "cancel_work_sync('" + w.name() + "') from its own callback would wait for itself");
    }
  }
  // Only a run: a pending queueing is taken off its list, never waited
  // for, and one that starts before the grab is the work's run (its node).
  // Naming the pending queueing's executor made a cancel of a work queued
  // behind the caller a "cycle" (refused in error mode) though it never
  // waits (issue #13).
  note_wait(wait_targets(w, /*pending_upto=*/0), "cancel_work_sync", nullptr, 0, w.id());
  record(EventType::cancel_begin, -1, 0, w.id(), 1);
  // It may wait for another cancel and for a run: on a pool thread it
  // stops counting as running meanwhile (C16). S before W: taken here.
  std::optional<BlockedScope> blocked;
  if (self) blocked.emplace(*this, &w);
  // The rescuer runs what its waits here wait for (C7): the other cancel's
  // turn, then the run in progress.
  const bool rescuer = self && self->is_rescuer;
  for (;;) {
    if (rescuer) rescuer_wait(self, w, RescuerWait::cancel_turn);
    detail::Guard wl(w.lock_);
    // Concurrent cancels take turns: the first one holds PENDING meanwhile.
    if (rescuer && w.canceling_) continue;  // another took its turn first
    while (w.canceling_) w.cv_.wait(w.lock_);
    w.canceling_ = true;
    w.canceller_ = self;
    break;
  }
  const bool was_pending = grab_pending(w, /*canceller=*/true) == GrabResult::was_pending;
  if (rescuer) {
    try {
      rescuer_wait(self, w, RescuerWait::run_end);
    } catch (const Error&) {
      // Refused (the run waits, through a chain, for a run on the
      // rescuer's own stack: it ends only after this returns). The turn
      // and PENDING go back, or every later cancel_work_sync of the work
      // (its destructor's too) would wait for ever and every queueing
      // would be refused; a pending queueing the grab took stays taken,
      // as cancel_work would, and its flushers go on. The run goes on.
      if (was_pending) resolve_after_grab(w);
      {
        detail::Guard wl(w.lock_);
        w.canceller_ = nullptr;
        w.canceling_ = false;
        w.cv_.notify_all();
      }
      blocked.reset();  // before PENDING goes: see below
      w.flags_.fetch_and(~Work::kPending, std::memory_order_release);
      throw;
    }
  }
  {
    detail::Guard wl(w.lock_);
    // PENDING is ours: no new run can start and a self-requeue fails (C12).
    while (w.running_) w.cv_.wait(w.lock_);
    w.resolved_seq_ = std::max<uint64_t>(w.resolved_seq_, w.queued_seq_.load(std::memory_order_relaxed));
    w.canceller_ = nullptr;
    w.canceling_ = false;
    w.cv_.notify_all();
  }
  // The thread stops naming `w` as awaited before PENDING goes: once it is
  // clear, `w` can be queued and rescued again, and a rescuer following
  // this thread would take that new run for one it still waits for (a
  // false cycle, refused; the flush case: wait_chain_locked).
  blocked.reset();
  w.flags_.fetch_and(~Work::kPending, std::memory_order_release);
  record(EventType::cancel_end, -1, 0, w.id(), was_pending ? 1 : 0);
  return was_pending;
}

template <class P>
bool BasicEngine<P>::cancel_work(Work& w) {
  if (!bound_here(w)) return false;
  record(EventType::cancel_begin, -1, 0, w.id(), 0);
  const GrabResult grab = grab_pending(w, /*canceller=*/false);
  if (grab == GrabResult::being_cancelled) {  // a cancel_work_sync is on it
    record(EventType::cancel_end, -1, 0, w.id(), 0);
    return false;
  }
  const bool was_pending = grab == GrabResult::was_pending;
  if (was_pending) resolve_after_grab(w);
  w.flags_.fetch_and(~Work::kPending, std::memory_order_release);
  record(EventType::cancel_end, -1, 0, w.id(), was_pending ? 1 : 0);
  return was_pending;
}

template <class P>
void BasicEngine<P>::record(EventType t, int cpu, uint32_t queue, uint64_t work, int32_t arg, uint64_t upto) {
  if (!cfg_.record_events) return;
  Worker<P>* self = current_worker();
  if (cpu < 0 && self) cpu = self->cpu;
  record_as(self ? self->thread_id : (kExternalThread | P::thread_tag()), t, cpu, queue, work, arg, upto);
}

template <class P>
void BasicEngine<P>::record_as(uint32_t thread, EventType t, int cpu, uint32_t queue, uint64_t work, int32_t arg,
                               uint64_t upto) {
  if (!cfg_.record_events) return;
  detail::Guard g(event_lock_);
  Event e;
  e.seq = events_.size();
  e.time_ns = now_ns();
  e.thread = thread;
  e.cpu = cpu;
  e.queue = queue;
  e.work = work;
  e.type = t;
  e.arg = arg;
  e.upto = upto;
  events_.push_back(e);
}

template <class P>
std::vector<Event> BasicEngine<P>::events() const {
  detail::Guard g(event_lock_);
  return events_;
}

template <class P>
uint64_t BasicEngine<P>::event_count() const {
  detail::Guard g(event_lock_);
  return events_.size();
}

template <class P>
Stats BasicEngine<P>::stats() const {
  Stats s;
  s.threads_created = n_created_.load(std::memory_order_relaxed);
  s.threads_exited = n_exited_.load(std::memory_order_relaxed);
  s.spawn_failures = n_spawn_fail_.load(std::memory_order_relaxed);
  s.fallbacks = n_fallback_.load(std::memory_order_relaxed);
  s.migrations = n_migrate_.load(std::memory_order_relaxed);
  s.works_run = n_run_.load(std::memory_order_relaxed);
  s.idle_exits = n_idle_exit_.load(std::memory_order_relaxed);
  s.callback_exceptions = n_threw_.load(std::memory_order_relaxed);
  s.dependency_cycles = n_cycles_.load(std::memory_order_relaxed);
  s.watchdog_rescues = n_mayday_.load(std::memory_order_relaxed);
  std::vector<BasicWorkqueue<P>*> qs;
  {
    detail::Guard g(lock_);
    for (auto& q : queues_) qs.push_back(q.get());
  }
  for (auto* q : qs) {
    QueueStats qsx;
    qsx.id = q->id();
    qsx.name = q->name();
    qsx.kind = q->kind();
    qsx.destroyed = q->destroyed();
    qsx.live_threads = q->live_threads();
    std::tie(qsx.active, qsx.inactive) = q->active_and_inactive();
    s.live_threads += qsx.live_threads;
    s.queues.push_back(std::move(qsx));
  }
  detail::Guard g(pool_lock_);
  s.pool_threads = pool_threads_;
  s.live_threads += pool_threads_;
  for (auto& p : pools_) {
    PoolStats ps;
    ps.cpu = p->cpu;
    ps.highpri = p->highpri;
    ps.workers = static_cast<int>(p->workers->size());
    ps.idle = static_cast<int>(p->idle->size());
    ps.running = p->nr_running;
    ps.pending = static_cast<int>(p->worklist.size());
    s.pools.push_back(ps);
  }
  return s;
}

template <class P>
std::vector<DependencyCycle> BasicEngine<P>::dependency_cycles() const {
  detail::Guard g(cycle_lock_);
  return cycles_;
}

template <class P>
DependencyNode BasicEngine<P>::node_of(const Work& w) {
  const std::string name = w.name().empty() ? "" : "'" + w.name() + "' ";
  return {DependencyNode::Kind::work, w.id(), "work " + name + "#" + std::to_string(w.id())};
}

template <class P>
DependencyNode BasicEngine<P>::node_of(const Workqueue& q) {
  return {DependencyNode::Kind::queue, q.id(),
          "workqueue '" + q.name() + "' #" + std::to_string(q.id()) + " (" + std::string(to_string(q.kind())) + ")"};
}

template <class P>
void BasicEngine<P>::await_run_end_locked(Work& work, uint64_t run_seq, bool release_claim) {
  {
    detail::WindowScope<P> window(RaceWindow::reentrant_wait);
    while (work.running_ && work.run_seq_ == run_seq) work.cv_.wait(work.lock_);
  }
  if (release_claim) release_run_claim_locked(work);
}

template <class P>
void BasicEngine<P>::release_run_claim_locked(Work& work) {
  --work.engine_waiters_;
  work.cv_.notify_all();  // the work's destructor may wait for us
}

// The one active slot of an ordered shared queue (max_active 1): whoever
// runs a work of q holds it; a pending work of q waits for it.
template <class P>
DependencyNode BasicEngine<P>::slot_node(const Workqueue& q) {
  return {DependencyNode::Kind::executor, (static_cast<uint64_t>(q.id()) << 32) | 0xFFFFFFFEu,
          "the active slot of workqueue '" + q.name() + "' #" + std::to_string(q.id()) + " (max_active 1)"};
}

// An executor: the core thread of q, or q's worker for `cpu`. Keyed by
// slot, not by thread, so a worker that idle-exits and comes back is the
// same pseudo-lock. The queue id takes the high 32 bits and the slot the
// low 32 (a CPU is an int, never 0xFFFFFFFE or 0xFFFFFFFF): with 16 bits,
// ncpus >= 65535 made different executors share a key (a false cycle).
template <class P>
DependencyNode BasicEngine<P>::executor_node(const Workqueue& q, int cpu, bool core) {
  const uint64_t slot = core ? 0xFFFFFFFFu : static_cast<uint64_t>(static_cast<uint32_t>(cpu));
  return {DependencyNode::Kind::executor, (static_cast<uint64_t>(q.id()) << 32) | slot,
          (core ? "core thread" : "cpu " + std::to_string(cpu) + " worker") + std::string(" of workqueue '") +
              q.name() + "' #" + std::to_string(q.id())};
}

// What a wait for `w` waits for (C16): the work's run, and, for its
// pending queueing if that is one the wait waits for (queued_seq_ <=
// `pending_upto`; a later queueing is not waited for), whoever must run it
// first. A run in progress is the work's own node: its end depends only on
// what its callback waits for, which are that node's edges. Naming the
// thread that runs it too would tie every later wait of that thread to
// this one, a cycle whose waits are never in force at once (issue #13).
template <class P>
std::vector<DependencyNode> BasicEngine<P>::wait_targets(Work& w, uint64_t pending_upto) {
  std::vector<DependencyNode> out{node_of(w)};
  if (cfg_.dependency_check == DependencyCheck::off || !current_worker()) return out;
  BasicWorkqueue<P>* h = w.home_.load(std::memory_order_acquire);
  if (h) {
    detail::Guard g(h->home_lock());
    const bool waited_for =
        w.home_.load(std::memory_order_relaxed) == h && w.queued_seq_.load(std::memory_order_relaxed) <= pending_upto;
    if (!waited_for) {
      // Not pending here any more, or a queueing this wait does not wait for.
    } else if (h->is_shared()) {
      // Shared pools add a worker when the running one waits, so a pool
      // thread is no resource to wait for; an ordered shared queue's one
      // active slot is (its holder may be waiting for the caller).
      if (h->max_active_ == 1 && w.where_ != WorkLocation::none) out.push_back(slot_node(*h));
      // The slot's holder, an active work whose run elsewhere holds it up
      // (C3: it waits on a pool thread's scheduled list, or on a worklist),
      // holds w up as well (found by the dependency scenario's ordered
      // shared queues: a work running on another queue and queued on the
      // ordered one waited for a work behind that queueing, and hung in
      // error mode with no cycle reported).
      // An armed timer fires behind that holder too (dependency 30858
      // pct:3: a wait for a timer armed on an ordered shared queue whose
      // slot a work running elsewhere held, hung unreported).
      if (h->max_active_ == 1 && (w.where_ == WorkLocation::inactive || w.where_ == WorkLocation::timer)) {
        assert_held_pool_lock();  // h's lock is S
        auto running_holders = [&](const detail::IntrusiveList<Work>& list) LAZYWQ_REQUIRES(pool_lock_) {
          for (Work* y = list.front(); y; y = detail::IntrusiveList<Work>::next(y)) {
            if (y == &w || y->home_.load(std::memory_order_relaxed) != h) continue;
            detail::Guard yl(y->lock_);
            if (y->running_) out.push_back(node_of(*y));
          }
        };
        for (auto& p : pools_) {
          running_holders(p->worklist);
          for (auto& x : *p->workers) running_holders(x->scheduled);
        }
      }
    } else {
      // Who may run this queueing: the core takes its list (and runs a work
      // itself when its CPU's worker cannot be had), a CPU list is its
      // worker's, an armed timer is fired by the core onto one of those.
      const int cpu = w.target_cpu_;
      const bool own_cpu = h->uses_cpu_workers() && cpu != h->core_cpu_;
      const WorkLocation where = w.where_;
      if (where == WorkLocation::core_list || where == WorkLocation::timer) out.push_back(executor_node(*h, cpu, true));
      if (own_cpu && where != WorkLocation::none) {
        out.push_back(executor_node(*h, cpu, false));
        // That worker waiting for a run elsewhere (C3) holds w up until
        // the run ends.
        // c3_awaiting is alive while set (cleared under Q before the
        // worker's claim goes); the run it waits for may have ended
        // already, the worker not yet awake: then it holds nothing up, and
        // a later run of that work (the caller perhaps) is not it (an
        // independent review: "Y waits for Y", refused, for a run started
        // after a cancel took the queueing the worker had waited on).
        const Worker<P>* x = h->cwqs_[static_cast<size_t>(cpu)].worker.get();
        if (Work* y = x ? static_cast<Work*>(x->c3_awaiting) : nullptr) {
          detail::Guard yl(y->lock_);
          if (y->running_ && y->run_seq_ == x->c3_run_seq) out.push_back(node_of(*y));
        }
      }
      // C3 with C5: a work ahead of w in its CPU's order that is running
      // elsewhere holds that order up until its run ends (the core skips
      // the CPU, a CPU worker waits), so w waits for that run too.
      if (where == WorkLocation::core_list || where == WorkLocation::cpu_list) {
        const auto& list = h->cwqs_[static_cast<size_t>(where == WorkLocation::core_list ? h->core_cpu_ : cpu)].list;
        for (Work* y = list.front(); y && y != &w; y = detail::IntrusiveList<Work>::next(y)) {
          if (where == WorkLocation::core_list && h->core_order_key(y->target_cpu_) != h->core_order_key(cpu)) continue;
          detail::Guard yl(y->lock_);
          if (y->running_) out.push_back(node_of(*y));  // wherever it runs: its run holds the order
        }
      }
      // An armed timer fires w behind every work queued now in its order:
      // one of them running elsewhere holds w up as well (found by the
      // dependency scenario's timers: a work's stray queueing on another
      // single_thread queue, then its callback waiting for a timer armed
      // there, hung in error mode with no cycle reported).
      if (where == WorkLocation::timer) {
        auto running_ahead = [&](const detail::IntrusiveList<Work>& list, bool keyed) LAZYWQ_REQUIRES(h->lock_) {
          for (Work* y = list.front(); y; y = detail::IntrusiveList<Work>::next(y)) {
            if (y == &w || (keyed && h->core_order_key(y->target_cpu_) != h->core_order_key(cpu))) continue;
            detail::Guard yl(y->lock_);
            if (y->running_) out.push_back(node_of(*y));
          }
        };
        running_ahead(h->cwqs_[static_cast<size_t>(h->core_cpu_)].list, true);
        if (own_cpu) running_ahead(h->cwqs_[static_cast<size_t>(cpu)].list, false);
      }
    }
  }
  return out;
}

template <class P>
std::vector<DependencyNode> BasicEngine<P>::held_by(Worker<P>* self) const {
  std::vector<DependencyNode> held;
  BasicWorkqueue<P>* own = self->queue();
  if (own) held.push_back(node_of(*own));
  if (!self->shared_thread())
    held.push_back(executor_node(*self->wq, self->cpu, self->is_core));
  else if (own && own->max_active_ == 1)
    held.push_back(slot_node(*own));
  // `current` is written only by this worker (under Q): reading our own
  // write needs no lock.
  if (BasicWork<P>* running = self->current) held.push_back(node_of(*running));
  return held;
}

// C16. LOCKING: none held on entry, or Q (the graph and cycles_ have leaf locks).
// CONTEXT: any thread; only a worker holds pseudo-locks (its queue, its
// executor slot and the work it runs), so waits from outside the engine add
// nothing.
template <class P>
void BasicEngine<P>::note_wait(std::vector<DependencyNode> targets, const char* call, const WaitScope* registered,
                               uint32_t awaited_queue, uint64_t awaited_work) {
  if (cfg_.dependency_check == DependencyCheck::off) return;
  Worker<P>* self = current_worker();
  if (!self) return;
  const std::vector<DependencyNode> held = held_by(self);
  BasicWorkqueue<P>* own = self->queue();
  BasicWork<P>* running = self->current;
  const int cpu = self->cpu;
  const uint32_t own_id = own ? own->id() : 0;
  const uint64_t running_id = running ? running->id() : 0;
  WaitInProgress* rec = registered ? registered->record() : nullptr;
  const uint64_t serial = rec ? rec->serial : 0;  // written once, before the record was shared
  // The runs a stall tied this wait to before now are its targets too:
  // refused with it in error mode (the wait would hang behind them).
  auto take_deferred = [&](std::vector<DependencyNode>& into) {
    detail::Guard g(waits_lock_);
    for (DependencyNode& n : rec->deferred) into.push_back(std::move(n));
    rec->deferred.clear();
  };
  if (rec) take_deferred(targets);
  if (cfg_.dependency_check == DependencyCheck::error) {
    // Error mode refuses the wait: all of its edges or none.
    size_t closing = 0;
    DependencyCycle c = deps_.add_all_or_none(held, targets, call, closing);
    if (!c.chain.empty()) {
      std::string text = c.describe();
      if (first_report(serial, targets[closing])) report_cycle(std::move(c), cpu, own_id, running_id);
      record(EventType::wait_refused, cpu, awaited_queue, awaited_work, static_cast<int32_t>(RefusalReason::cycle));
      throw Error(Errc::deadlock, text);
    }
  } else {
    for (const DependencyNode& t : targets) add_and_report(held, t, call, serial, cpu, own_id, running_id);
  }
  if (!rec) return;
  // Begun: from now on a tie adds its edges itself. One that came while
  // the edges above were being added was deferred: added here, as a tie's
  // (the wait can no longer be refused).
  std::vector<DependencyNode> late;
  {
    detail::Guard g(waits_lock_);
    late = std::move(rec->deferred);
    rec->deferred.clear();
    rec->begun = true;
  }
  for (const DependencyNode& t : late) add_and_report(held, t, call, serial, cpu, own_id, running_id);
}

template <class P>
bool BasicEngine<P>::first_report(uint64_t serial, const DependencyNode& t) {
  if (serial == 0) return true;
  detail::Guard g(waits_lock_);
  for (WaitInProgress& w : waits_) {
    if (w.serial != serial) continue;
    if (std::find(w.reported.begin(), w.reported.end(), t.key()) != w.reported.end()) return false;
    w.reported.push_back(t.key());
  }
  return true;  // the wait may have ended meanwhile (a cancel took what it waited for): report
}

template <class P>
void BasicEngine<P>::add_and_report(const std::vector<DependencyNode>& held, const DependencyNode& t, const char* why,
                                    uint64_t serial, int cpu, uint32_t queue, uint64_t work) {
  DependencyCycle c = deps_.add(held, t, why);
  if (!c.chain.empty() && first_report(serial, t)) report_cycle(std::move(c), cpu, queue, work);
}

template <class P>
void BasicEngine<P>::report_cycle(DependencyCycle c, int cpu, uint32_t queue, uint64_t work) {
  n_cycles_.fetch_add(1, std::memory_order_relaxed);
  record(EventType::dependency_cycle, cpu, queue, work, static_cast<int32_t>(c.chain.size()));
  detail::Guard g(cycle_lock_);
  if (cycles_.size() < kKeptCycles) cycles_.push_back(std::move(c));
}

template <class P>
typename BasicEngine<P>::WaitScope BasicEngine<P>::register_wait(uint64_t work, uint64_t upto, uint32_t drained) {
  if (cfg_.dependency_check == DependencyCheck::off) return {};
  Worker<P>* self = current_worker();
  if (!self) return {};
  std::vector<DependencyNode> held = held_by(self);
  detail::Guard g(waits_lock_);
  WaitInProgress rec;
  rec.held = std::move(held);
  rec.work = work;
  rec.upto = upto;
  rec.drained = drained;
  rec.serial = ++wait_serial_;
  waits_.push_back(std::move(rec));
  return WaitScope(this, std::prev(waits_.end()));
}

template <class P>
void BasicEngine<P>::end_wait(typename WaitList::iterator it) {
  detail::Guard g(waits_lock_);
  waits_.erase(it);
}

// C16: a C3 wait of the engine's own holds up queueings that waits in
// progress wait for: a core skipping a work whose run is elsewhere holds up
// the works behind it in that order, a CPU worker waiting for such a run
// everything for its CPU, an ordered shared queue's slot taken by such a
// work everything inactive behind it. That may close a cycle after every
// wait of it began (a queueing or a timer's firing behind the run), so it
// is tied here, when it happens: each such wait now waits for the run.
// Only the waits held up now, never a pseudo-lock for the order: a
// permanent "order waits for x" made a later wait for a work *ahead* of x
// in that order a false cycle (an independent review). Report only: the
// waiters wait already. LOCKING: any (Q, S, W); takes leaf locks only.
template <class P>
void BasicEngine<P>::tie_waits(const HeldUp& held_up, uint32_t queue, const Work& x, const char* why, int cpu) {
  if (cfg_.dependency_check == DependencyCheck::off) return;
  const DependencyNode run = node_of(x);
  std::vector<std::pair<uint64_t, std::vector<DependencyNode>>> tied;  // (serial, held)
  {
    detail::Guard g(waits_lock_);
    for (WaitInProgress& w : waits_) {
      bool held = w.drained != 0 && w.drained == queue;
      for (const auto& [id, seq] : held_up) held = held || (w.work == id && seq <= w.upto);
      if (!held) continue;
      auto has = [](const std::vector<DependencyNode>& v, const DependencyNode& n) {
        return std::any_of(v.begin(), v.end(), [&](const DependencyNode& m) { return m.key() == n.key(); });
      };
      if (!w.begun) {
        // Its own edges are not in yet (it may still be refused): x joins them.
        if (!has(w.deferred, run)) w.deferred.push_back(run);
        continue;
      }
      // One report per wait and run: the same stall seen again (a core
      // passing over its list once more) would search the graph again for
      // a cycle this wait reported already, and report it twice once the
      // wait ended (first_report finds no record then).
      if (std::find(w.reported.begin(), w.reported.end(), run.key()) != w.reported.end()) continue;
      tied.emplace_back(w.serial, w.held);
    }
  }
  // An edge kept from an earlier pass costs one lookup (DependencyGraph::add).
  for (const auto& [serial, held] : tied) add_and_report(held, run, why, serial, cpu, queue, x.id());
}

}  // namespace lazywq

#include "lazywq/pool_impl.hpp"
