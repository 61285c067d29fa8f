// Relacy models of waits from inside callbacks and of the engine's error
// paths: flush_work on works queued behind the caller and the wait-for
// targets of the others (C10, C16), wait-for cycles refused in
// DependencyCheck::error mode on per-CPU and shared queues (C16), and the
// misuses that are errors, not crashes: a callback that throws, a work
// flushing or cancelling itself, a queue whose first thread cannot be
// created, works that outlive their engine. See harness.hpp for what every
// model shares and models.cpp for the registry and the driver.
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/driver.hpp"

namespace lazywq::models {
namespace {

// Runs `f`; returns true if it threw Error(deadlock), false if it
// returned; any other error fails the model.
template <class F>
bool refused_as_deadlock(const char* what, F f) {
  try {
    f();
    return false;
  } catch (const Error& e) {
    MODEL_CHECK(e.code() == Errc::deadlock, "%s failed with Error(%s), not Error(deadlock)", what,
                std::string(to_string(e.code())).c_str());
    return true;
  }
}

// ---------------------------------------------------------------------------
// C10 and C16 from a callback, DependencyCheck::error. A (queued for CPU 1
// by thread 0) runs on CPU 1's worker, or on the core when no worker could
// be had (a fallback). Its first run queues B for CPU 1 and flushes it: B
// waits behind A on A's own executor (CPU 1's list, or the core list), so
// flush_work(B) is Error(deadlock), not a hang. It then queues C for CPU 0
// and arms D for CPU 0, and flush_work()s each (D with flush_work, not
// flush_delayed_work: it waits for the timer): they wait on the core's
// list or timer, behind the caller only when the caller is the core. So
// each is refused exactly when A runs on the core, and otherwise returns
// after the run (the engine names the core as what A waits for).
// Right after A, thread 0 queues E for CPU 0 and F for CPU 1 (on the
// core list while CPU 1's worker is being created); thread 1 queues G for
// CPU 0. E's callback holds the core (waiting on the model's own gate,
// which thread 1 opens once A has queued C), so F stays on the core list
// meanwhile: works ahead of C there, for CPU 1 (not in C's order) or for
// CPU 0 (in it), which the engine looks at to name what C waits behind.
// Nothing here is a cycle: no dependency_cycle may be reported. Every
// work runs once.
struct FlushBehind : ModelBase<FlushBehind, 2, 4> {
  enum { A, B, C, E, F, G, D };  // tracks[] indices (D, delayed, is added last)
  P::Mutex gate_lock;
  P::CondVar gate_cv;
  bool c_queued = false;  // A has queued C (thread 1 then opens the gate)
  bool gate_open = false;
  void set_under_gate(bool& flag) {
    gate_lock.lock();
    flag = true;
    gate_cv.notify_all();
    gate_lock.unlock();
  }
  void wait_under_gate(const bool& flag) {
    gate_lock.lock();
    while (!flag) gate_cv.wait(gate_lock);
    gate_lock.unlock();
  }
  void configure(EngineConfig& cfg) { cfg.dependency_check = DependencyCheck::error; }
  void setup() {
    add_work([this](Work&) {
      if (tracks[A].starts != 1) return;
      const bool on_core = P::current_cpu() == 0;
      MODEL_CHECK(wq->queue_work_on(1, *works[B]), "C1: first queueing of B returned false");
      MODEL_CHECK(refused_as_deadlock("flush_work(B)", [&] { eng->flush_work(*works[B]); }),
                  "C10: flush_work(B), B queued behind the caller on its own CPU, returned instead of "
                  "Error(deadlock)");
      MODEL_CHECK(wq->queue_work_on(0, *works[C]), "C1: first queueing of C returned false");
      set_under_gate(c_queued);
      const bool c_refused = refused_as_deadlock("flush_work(C)", [&] { eng->flush_work(*works[C]); });
      MODEL_CHECK(c_refused == on_core, "C10: flush_work(C), C queued for the core CPU, from A on cpu %d was %s",
                  on_core ? 0 : 1, c_refused ? "refused" : "waited for");
      MODEL_CHECK(c_refused || tracks[C].ends == 1, "C10: flush_work(C) returned before C's run ended");
      DelayedWork& d = *dworks[0];
      MODEL_CHECK(wq->queue_delayed_work_on(0, d, std::chrono::milliseconds(1)), "C1: first arming of D returned false");
      const bool d_refused = refused_as_deadlock("flush_work(D)", [&] { eng->flush_work(d); });
      MODEL_CHECK(d_refused == on_core, "C10: flush_work(D), D armed for the core CPU, from A on cpu %d was %s",
                  on_core ? 0 : 1, d_refused ? "refused" : "waited for");
      MODEL_CHECK(d_refused || tracks[D].ends == 1, "C10: flush_work(D) returned before D's run ended");
    });
    add_work();  // B
    add_work();  // C
    add_work([this](Work&) { wait_under_gate(gate_open); });  // E
    add_work();  // F
    add_work();  // G
    add_delayed_work([](Work&) {});  // D
  }
  void op(unsigned i) {
    if (i == 0) {
      MODEL_CHECK(wq->queue_work_on(1, *works[A]), "C1: first queueing of A returned false");
      MODEL_CHECK(wq->queue_work_on(0, *works[E]), "C1: first queueing of E returned false");
      MODEL_CHECK(wq->queue_work_on(1, *works[F]), "C1: first queueing of F returned false");
      for (size_t k : {size_t{A}, size_t{E}, size_t{F}}) {
        eng->flush_work(*works[k]);
        MODEL_CHECK(tracks[k].ends == 1, "C10: flush_work(work %zu) returned before its run ended", k);
      }
    } else {
      MODEL_CHECK(wq->queue_work_on(0, *works[G]), "C1: first queueing of G returned false");
      wait_under_gate(c_queued);
      set_under_gate(gate_open);
      eng->flush_work(*works[G]);
      MODEL_CHECK(tracks[G].ends == 1, "C10: flush_work(G) returned before its run ended");
    }
  }
  void check_end() {
    for (size_t k = 0; k < tracks.size(); ++k)
      MODEL_CHECK(tracks[k].starts == 1, "C1: work %zu ran %d times, not once", k, tracks[k].starts);
    MODEL_CHECK(eng->dependency_cycles().empty() && eng->stats().dependency_cycles == 0,
                "C16: a wait-for cycle was reported, but no wait here closes one (%zu reported)",
                eng->dependency_cycles().size());
  }
};

// ---------------------------------------------------------------------------
// C16, DependencyCheck::error, on a per_cpu queue (executors) and on a
// shared one (pools): A (queued for CPU 0 by thread 0) flushes B from its
// callback, and B (queued for CPU 1 by thread 1) flushes A. The second of
// the two waits closes the cycle A -> B -> A, lockdep style, whether or
// not the two runs overlap: when each callback found the other work
// already queued, exactly one of the two flushes is refused with
// Error(deadlock) (in report mode, two overlapping runs would hang), and a
// refusal always comes with its reported cycle. A flush that returns does
// so after the other's run (C10). Each work runs once.
template <class Dv>
struct CycleBase : ModelBase<Dv, 2, 6> {
  bool queued[2] = {};  // the thread's queueing of work k returned
  bool real[2] = {};    // work k's callback found the other already queued: its flush adds an edge
  int refused = 0;
  void configure(EngineConfig& cfg) { cfg.dependency_check = DependencyCheck::error; }
  void setup() {
    for (int k = 0; k < 2; ++k)
      this->add_work([this, k](Work&) {
        const int other = 1 - k;
        real[k] = queued[other];
        Work& o = *this->works[static_cast<size_t>(other)];
        if (refused_as_deadlock("flush_work of the other work", [&] { this->eng->flush_work(o); })) {
          ++refused;
          return;
        }
        MODEL_CHECK(!real[k] || this->tracks[static_cast<size_t>(other)].ends >= 1,
                    "C10: work %d's flush_work of work %d (queued before) returned before its run ended", k, other);
      });
  }
  void op(unsigned i) {
    MODEL_CHECK(this->wq->queue_work_on(static_cast<int>(i), *this->works[i]), "C1: first queueing of work %u returned false", i);
    queued[i] = true;
    this->eng->flush_work(*this->works[i]);
    MODEL_CHECK(this->tracks[i].ends >= 1, "C10: flush_work returned before work %u's run ended", i);
  }
  void check_end() {
    for (size_t k = 0; k < 2; ++k)
      MODEL_CHECK(this->tracks[k].starts == 1, "C1: work %zu ran %d times, not once", k, this->tracks[k].starts);
    const size_t cycles = this->eng->dependency_cycles().size();
    MODEL_CHECK(!(real[0] && real[1]) || refused == 1,
                "C16: A flushed B and B flushed A (a wait-for cycle), yet %d of the two waits were refused in "
                "DependencyCheck::error mode, not exactly one",
                refused);
    MODEL_CHECK(static_cast<size_t>(refused) == cycles && this->eng->stats().dependency_cycles == cycles,
                "C16: %d waits refused but %zu cycles reported (stats: %llu)", refused, cycles,
                static_cast<unsigned long long>(this->eng->stats().dependency_cycles));
  }
};
struct CyclePerCpu : CycleBase<CyclePerCpu> {
  WqKind queue_kind() { return WqKind::per_cpu; }
};
struct CycleShared : CycleBase<CycleShared> {
  WqKind queue_kind() { return WqKind::shared; }
};

// ---------------------------------------------------------------------------
// C1 and C2 across queues: W moves between two queues. Thread 0 queues it
// on the model's queue for CPU 1, thread 1 on a second queue Q2 for CPU 0,
// twice each, with a cancel (thread 0: cancel_work_sync) after the first.
// The Q fields of a work (where_, target_cpu_, epoch_, the
// timer's) are guarded by the lock of whichever queue holds it, so two
// owners on two queues are ordered by PENDING alone: the winner's acquire
// (queue_common's fetch_or) against the last owner's release (the run's
// clearing of PENDING, a cancel). A relaxed order there is a data race on
// those Vars. W runs at most once per accepted queueing and at least once
// (each thread's last call is a queueing, after both cancels), and no run
// overlaps another (C3, checked on every run). (Mutation testing: relaxing PENDING's orders was caught
// by the ThreadSanitizer torture only, never by a model.)
struct PendingHandoff : ModelBase<PendingHandoff, 2, 6> {
  Workqueue* q2 = nullptr;
  int accepted = 0;
  void setup() {
    q2 = &eng->create_workqueue("q2", WqKind::lazy);
    add_work();
  }
  void op(unsigned i) {
    Workqueue& q = i == 0 ? *wq : *q2;
    for (int k = 0; k < 2; ++k) {
      if (q.queue_work_on(i == 0 ? 1 : 0, *works[0])) ++accepted;
      if (k == 0) {  // a cancel's release of PENDING orders the next owner too
        if (i == 1)
          (void)eng->cancel_work(*works[0]);
        else
          (void)eng->cancel_work_sync(*works[0]);
      }
    }
    eng->flush_work(*works[0]);
  }
  void check_end() {
    MODEL_CHECK(tracks[0].starts >= 1 && tracks[0].starts <= accepted,
                "C1: W ran %d times after %d accepted queueings", tracks[0].starts, accepted);
  }
};

// ---------------------------------------------------------------------------
// C1 and C12: a cancel's release of PENDING orders the next owner, on
// another queue, after the cancel's grab. W waits on Q2 behind B (which
// holds Q2's CPU 1 worker until thread 0 opens the gate), so thread 0's
// cancel (cancel_work in even iterations, cancel_work_sync in odd ones)
// always takes it off Q2's list, under Q2's lock; thread 1 queues W on
// the model's queue the moment PENDING is clear, writing W's Q fields
// under the other lock. Only the cancel's release and the queueing's
// acquire order the two: relaxed, a data race on where_. pending_handoff
// has this shape only when its interleaving puts a grab right before the
// other thread's queueing (cancel_work@801f72 survived it; ~1 needed
// 26,680 iterations).
struct CancelHandoff : ModelBase<CancelHandoff, 2, 6> {
  enum { W, B };  // tracks[] indices
  Workqueue* q2 = nullptr;
  bool sync_cancel = false;
  bool cancelled = false;
  Gate gate;  // thread 0 has cancelled: B lets Q2 go on
  void setup() {
    sync_cancel = run_config().iterations_started % 2 == 1;
    q2 = &eng->create_workqueue("q2", WqKind::single_thread);
    add_work();  // W
    add_work([this](Work&) { gate.wait(); });
    MODEL_CHECK(q2->queue_work_on(1, *works[B]), "C1: first queueing of B returned false");
    MODEL_CHECK(q2->queue_work_on(1, *works[W]), "C1: first queueing of W returned false");
  }
  void op(unsigned i) {
    if (i == 0) {
      cancelled = sync_cancel ? eng->cancel_work_sync(*works[W]) : eng->cancel_work(*works[W]);
      gate.open();
      eng->flush_work(*works[B]);
      return;
    }
    while (!wq->queue_work_on(0, *works[W])) P::yield();
    eng->flush_work(*works[W]);
  }
  void check_end() {
    MODEL_CHECK(cancelled, "C12: the cancel of W, pending behind B, returned false");
    MODEL_CHECK(tracks[W].starts == 1 && tracks[B].starts == 1, "C1/C12: W ran %d times (not once: the queueing after the cancel), B %d",
                tracks[W].starts, tracks[B].starts);
  }
};

// ---------------------------------------------------------------------------
// C10 and C16 across threads, DependencyCheck::error: W (queued for CPU 1
// by thread 0) runs on CPU 1 and flushes X, which thread 1 queues for
// CPU 1 at any moment. A queueing of X that the flush counts (its
// queued_seq_) is placed behind W, on W's own executor: the flush must see
// where it is (the queueing's home_, published before its count) and be
// refused with Error(deadlock); waiting for it would hang. A flush that
// returns waited for no queueing or for a run that ended. The count's
// release and the flush's acquire are what order the two (mutation
// testing: relax_order count_queueing_locked/2@ab1f5f survived every
// checker, none of which has the queueing on another thread).
struct FlushRacingQueue : ModelBase<FlushRacingQueue, 2, 4> {
  int refused = 0;
  int flush_returned = 0;
  void configure(EngineConfig& cfg) { cfg.dependency_check = DependencyCheck::error; }
  void setup() {
    add_work([this](Work&) {
      if (refused_as_deadlock("flush_work(X) from W, X queued behind W", [&] { eng->flush_work(*works[1]); }))
        ++refused;
      else
        ++flush_returned;
    });
    add_work();
  }
  void op(unsigned i) {
    MODEL_CHECK(wq->queue_work_on(1, *works[i]), "C1: first queueing of %s returned false", i == 0 ? "W" : "X");
    eng->flush_work(*works[i]);
    MODEL_CHECK(tracks[i].ends >= 1, "C10: flush_work returned before %s's run ended", i == 0 ? "W" : "X");
  }
  void check_end() {
    MODEL_CHECK(tracks[0].starts == 1 && tracks[1].starts == 1, "C1: W ran %d times, X %d (not once each)",
                tracks[0].starts, tracks[1].starts);
    MODEL_CHECK(refused + flush_returned == 1, "W's flush neither returned nor was refused");
    MODEL_CHECK(eng->dependency_cycles().empty(), "C16: a cycle was reported, but none exists here");
  }
};

// ---------------------------------------------------------------------------
// C16, DependencyCheck::error: W (queued for CPU 1 by thread 0) queues
// itself on a second queue Q2 from its first run and flushes Q2. Its
// queueing there cannot start before this run ends (C3): a self-wait,
// refused with Error(deadlock), never a hang. Thread 1 meanwhile queues X
// on Q2 and flushes Q2 from outside the engine (no pseudo-locks: never
// refused). W's queueing on Q2 still runs, after its first run (C2, C3).
// The flush used to name only the queue and hung (session 7).
struct FlushOwnPending : ModelBase<FlushOwnPending, 2, 6> {
  Workqueue* q2 = nullptr;
  int refused = 0;
  void configure(EngineConfig& cfg) { cfg.dependency_check = DependencyCheck::error; }
  void setup() {
    q2 = &eng->create_workqueue("q2", WqKind::single_thread);
    add_work([this](Work& w) {
      if (tracks[0].starts != 1) return;
      MODEL_CHECK(q2->queue_work_on(0, w), "C2: W could not queue itself on Q2 from its run");
      if (refused_as_deadlock("flush_workqueue(Q2) from W, pending on Q2", [&] { (void)q2->flush(); })) ++refused;
    });
    add_work();
  }
  void op(unsigned i) {
    if (i == 0) {
      MODEL_CHECK(wq->queue_work_on(1, *works[0]), "C1: first queueing of W returned false");
      eng->flush_work(*works[0]);
      MODEL_CHECK(tracks[0].ends >= 1, "C10: flush_work returned before W's first run ended");
      eng->flush_work(*works[0]);  // its queueing on Q2, made during the first run
      MODEL_CHECK(tracks[0].ends == 2, "C10: flush_work returned before W's run on Q2 ended");
    } else {
      MODEL_CHECK(q2->queue_work_on(0, *works[1]), "C1: first queueing of X returned false");
      (void)q2->flush();
      MODEL_CHECK(tracks[1].ends == 1, "C11: flush_workqueue(Q2) returned before X's run ended");
    }
  }
  void check_end() {
    MODEL_CHECK(refused == 1, "C16: W's flush of Q2, where W itself is pending, was not refused (%d)", refused);
    MODEL_CHECK(tracks[0].starts == 2 && tracks[1].starts == 1, "C1: W ran %d times (not 2), X %d (not 1)",
                tracks[0].starts, tracks[1].starts);
  }
};

// ---------------------------------------------------------------------------
// C10, C16: W, running on the lazy queue's CPU 1 worker, flushes X, pending
// on the core's list for CPU 0, while the core takes X to run it and
// thread 1 queues X on a second lazy queue Q2 for CPU 1 as soon as X's
// PENDING is clear. X is never behind W (the core or Q2 runs it), so W's
// flush is never refused. The flush read X's home_ before it took that
// queue's lock: it judges where X waits (where_, target_cpu_) only if
// home_ still names that queue once the lock is held. Without the
// re-check (flush_work_as@7884b0, which no simulator run reached: the
// window is the few instructions between Q2's writes of where_ and its
// count of the queueing) the flush reads where_ while Q2 writes it under
// another lock (a data race on an rl::var) and, reading X on a list for
// CPU 1, refuses a wait that would end (a false Error(deadlock)).
struct FlushRehomed : ModelBase<FlushRehomed, 2, 6> {
  enum { X, W, B };  // tracks[] indices
  Workqueue* q2 = nullptr;
  Gate x_queued;   // thread 0's queueing of X on the first queue was accepted
  Gate w_started;  // W runs: B may let the core go on to X
  int refused = 0;
  void setup() {
    q2 = &eng->create_workqueue("q2", WqKind::lazy);
    add_work();  // X
    add_work([this](Work&) {
      w_started.open();
      if (refused_as_deadlock("flush_work(X) from W while X moves to Q2", [&] { eng->flush_work(*works[X]); }))
        ++refused;
    });
    // B holds the core until W runs, so W's flush starts while X is
    // pending on the core's list; the core takes X from then on.
    add_work([this](Work&) { w_started.wait(); });
  }
  void op(unsigned i) {
    if (i == 0) {
      // The core's list, in order: W (handed to CPU 1's new worker), B, X.
      MODEL_CHECK(wq->queue_work_on(1, *works[W]), "C1: first queueing of W returned false");
      MODEL_CHECK(wq->queue_work_on(0, *works[B]), "C1: first queueing of B returned false");
      MODEL_CHECK(wq->queue_work_on(0, *works[X]), "C1: first queueing of X returned false");
      x_queued.open();
      eng->flush_work(*works[W]);
      MODEL_CHECK(tracks[W].ends == 1, "C10: flush_work returned before W's run ended");
    } else {
      x_queued.wait();
      // Refused while X is pending on the first queue; accepted once the
      // core has taken X to run it.
      while (!q2->queue_work_on(1, *works[X])) P::yield();
      eng->flush_work(*works[X]);
      MODEL_CHECK(tracks[X].ends == 2, "C10: flush_work returned before X's run on Q2 ended");
    }
  }
  void check_end() {
    MODEL_CHECK(refused == 0, "C16: W's flush of X was refused as a deadlock, but X (core, then Q2) is never behind W");
    MODEL_CHECK(tracks[X].starts == 2 && tracks[W].starts == 1 && tracks[B].starts == 1,
                "C1: X ran %d times (not 2), W %d, B %d (not 1)", tracks[X].starts, tracks[W].starts, tracks[B].starts);
  }
};

// ---------------------------------------------------------------------------
// Misuses that are errors, not crashes (docs/CONTRACT.md, "Errors").
// Set up first: a lazy queue whose core thread cannot be created, and a
// first shared queue whose manager cannot be, are Error(spawn_failed) and
// stay unusable (destroyed); the model's own queue still works. Then W
// (queued for CPU 1 by thread 0) calls cancel_work_sync and flush_work on
// itself from its callback, each Error(deadlock) (C10, C12); its first run
// requeues it, and every run throws: the worker catches and counts it
// (callback_exceptions, a callback_threw event) and goes on, so W's
// requeue still runs (C2) and X, queued for CPU 1 by thread 1, runs. The
// engine is deleted before the works (works may outlive it): it detaches
// them, and their destructors then do nothing.
struct Misuse : ModelBase<Misuse, 2, 4> {
  int self_refused = 0;
  int thrown = 0;
  bool works_outlive_engine() { return true; }
  void setup() {
    SpawnFaults f;
    f.fail_next = 1;
    for (WqKind kind : {WqKind::lazy, WqKind::shared}) {
      eng->set_spawn_faults(f);
      bool failed = false;
      try {
        (void)eng->create_workqueue("doomed", kind);
      } catch (const Error& e) {
        MODEL_CHECK(e.code() == Errc::spawn_failed, "create_workqueue failed with %s, not spawn_failed",
                    std::string(to_string(e.code())).c_str());
        failed = true;
      }
      MODEL_CHECK(failed, "spawn_failed: a %s queue whose first thread could not be created was returned",
                  std::string(to_string(kind)).c_str());
    }
    const lazywq::Stats st = eng->stats();
    MODEL_CHECK(st.queues.size() == 3 && !st.queues[0].destroyed && st.queues[1].destroyed && st.queues[2].destroyed,
                "spawn_failed: a queue whose first thread could not be created is not unusable (destroyed)");
    MODEL_CHECK(st.pool_threads == 0, "spawn_failed: %d pool threads after the shared pools' manager failed",
                st.pool_threads);
    add_work([this](Work& w) {
      if (refused_as_deadlock("cancel_work_sync(W) from W", [&] { eng->cancel_work_sync(w); })) ++self_refused;
      if (refused_as_deadlock("flush_work(W) from W", [&] { eng->flush_work(w); })) ++self_refused;
      if (tracks[0].starts == 1) MODEL_CHECK(wq->queue_work_on(1, w), "C2: W could not requeue itself from its run");
      ++thrown;
      throw std::runtime_error("a model callback throws");
    });
    add_work();
  }
  void op(unsigned i) {
    if (i == 0) {
      MODEL_CHECK(wq->queue_work_on(1, *works[0]), "C1: first queueing of W returned false");
      eng->flush_work(*works[0]);
      eng->flush_work(*works[0]);
      MODEL_CHECK(tracks[0].ends == 2, "C10: flush_work returned before W's two runs (the second its requeue) ended");
    } else {
      MODEL_CHECK(wq->queue_work_on(1, *works[1]), "C1: first queueing of X returned false");
      eng->flush_work(*works[1]);
      MODEL_CHECK(tracks[1].ends == 1, "C10: flush_work(X) returned before X's run ended");
    }
  }
  void check_end() {
    MODEL_CHECK(tracks[0].starts == 2 && tracks[1].starts == 1, "C1: W ran %d times (not 2), X %d (not 1)",
                tracks[0].starts, tracks[1].starts);
    MODEL_CHECK(self_refused == 2 * tracks[0].starts,
                "C10/C12: %d of W's %d self-flushes and self-cancels were refused with Error(deadlock)", self_refused,
                2 * tracks[0].starts);
    int threw_events = 0;
    for (const Event& e : eng->events()) threw_events += e.type == EventType::callback_threw ? 1 : 0;
    const uint64_t counted = eng->stats().callback_exceptions;
    // Events are recorded only for the oracle (--no-oracle: none at all).
    const bool recorded = run_config().oracle;
    MODEL_CHECK(counted == static_cast<uint64_t>(thrown) && (!recorded || threw_events == thrown),
                "Errors: %d callbacks threw, but %llu were counted and %d callback_threw events recorded", thrown,
                static_cast<unsigned long long>(counted), threw_events);
  }
};

}  // namespace

LAZYWQ_MODEL_RUNNER(flush_behind, FlushBehind)
LAZYWQ_MODEL_RUNNER(cycle_per_cpu, CyclePerCpu)
LAZYWQ_MODEL_RUNNER(flush_own_pending, FlushOwnPending)
LAZYWQ_MODEL_RUNNER(flush_racing_queue, FlushRacingQueue)
LAZYWQ_MODEL_RUNNER(flush_rehomed, FlushRehomed)
LAZYWQ_MODEL_RUNNER(pending_handoff, PendingHandoff)
LAZYWQ_MODEL_RUNNER(cancel_handoff, CancelHandoff)
LAZYWQ_MODEL_RUNNER(cycle_shared, CycleShared)
LAZYWQ_MODEL_RUNNER(misuse, Misuse)

}  // namespace lazywq::models
