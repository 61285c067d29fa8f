// Relacy models of the shared kind (docs/SHARED.md): the running-worker
// accounting (C16), the ordered queue's inactive list (C5, max_active),
// and the rescuer (C7). See harness.hpp for what every model shares and
// models.cpp for the registry and the driver.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "models/driver.hpp"

namespace lazywq::models {
namespace {

// ---------------------------------------------------------------------------
// C16 on the shared kind: the running-worker accounting (nr_running,
// pool_impl.hpp). A shared queue on 2 CPUs with the stall watchdog off, so
// only concurrency management can help: thread 0 queues A for CPU 1, whose
// callback queues B for CPU 1 too (behind A, in the same pool) and waits
// for it with flush_work; thread 1 queues C for CPU 1 and flushes it. A's
// wait stops it counting as running, so the pool wakes or gets another
// worker for B. Every work runs once; every flush returns after its run.
// The planted bug blocked_worker_counted_running leaves A counted while it
// waits: nobody runs B, and the teardown's drain waits forever (deadlock).
struct NrRunning : ModelBase<NrRunning, 2, 4> {
  WqKind queue_kind() { return WqKind::shared; }
  void configure(EngineConfig& cfg) { cfg.stall_timeout = Duration::zero(); }
  void setup() {
    Work* b = add_work();
    add_work([this, b](Work&) {
      const bool accepted = wq->queue_work_on(1, *b);
      MODEL_CHECK(accepted, "C1: B was pending before A queued it");
      eng->flush_work(*b);
      MODEL_CHECK(tracks[0].ends == 1, "C10/C16: A's flush_work(B) returned before B's run ended");
    });
    add_work();
  }
  void op(unsigned i) {
    const size_t k = i == 0 ? 1 : 2;
    const bool accepted = wq->queue_work_on(1, *works[k]);
    MODEL_CHECK(accepted, "C1: a first queueing of work %zu returned false", k);
    eng->flush_work(*works[k]);
    MODEL_CHECK(tracks[k].ends == 1, "C10: flush_work returned before work %zu's run ended", k);
  }
  void check_end() {
    for (size_t k = 0; k < tracks.size(); ++k) {
      if (tracks[k].starts == 1) continue;
      std::string ev;
      for (const Event& e : eng->events()) ev += format_event(e) + "\n";
      MODEL_CHECK(tracks[k].starts == 1, "C1: work %zu ran %d times, not once\n%s", k, tracks[k].starts, ev.c_str());
    }
  }
};

// ---------------------------------------------------------------------------
// An ordered shared queue (max_active 1, C5): works beyond the one active
// slot wait on the queue's inactive list. Thread 0 queues A then B;
// thread 1 queues C and cancels it (cancel_work_sync, maybe off the
// inactive list), then reads the statistics. Never two runs at once, A
// before B, A and B once, C once unless the cancel took it (then never).
struct Ordered : ModelBase<Ordered, 2, 4> {
  bool c_cancelled = false;
  WqKind queue_kind() { return WqKind::shared; }
  WqOptions queue_options() {
    WqOptions o;
    o.ordered = true;
    return o;
  }
  void setup() {
    add_work();
    add_work();
    add_work();
  }
  void op(unsigned i) {
    if (i == 0) {
      MODEL_CHECK(wq->queue_work_on(1, *works[0]), "C1: first queueing of A returned false");
      MODEL_CHECK(wq->queue_work_on(0, *works[1]), "C1: first queueing of B returned false");
    } else {
      MODEL_CHECK(wq->queue_work_on(1, *works[2]), "C1: first queueing of C returned false");
      c_cancelled = eng->cancel_work_sync(*works[2]);
      const std::pair<int, int> ai = wq->active_and_inactive();
      MODEL_CHECK(ai.first >= 0 && ai.first <= 1, "max_active: %d works active on an ordered queue", ai.first);
      (void)eng->stats();
    }
  }
  void check_end() {
    MODEL_CHECK(max_in_callbacks == 1, "C5: %d works of an ordered queue ran at once", max_in_callbacks);
    MODEL_CHECK(tracks[0].starts == 1 && tracks[1].starts == 1, "C1: A ran %d, B %d times", tracks[0].starts,
                tracks[1].starts);
    MODEL_CHECK(tracks[0].start_ticks[0] < tracks[1].start_ticks[0], "C5: B started before A on an ordered queue");
    MODEL_CHECK(tracks[2].starts == (c_cancelled ? 0 : 1), "C12: C %s but ran %d times",
                c_cancelled ? "cancelled while pending" : "not cancelled", tracks[2].starts);
  }
};

// ---------------------------------------------------------------------------
// C7 on the shared kind: every pool worker creation fails once the queue
// (and with it the manager and the rescuer) exists, so the rescuer runs
// the works, the stall watchdog sees waiting work with no progress, and
// A, whose callback queues B for its own CPU and flushes it, needs the
// rescuer's nested run. Every work runs once; every flush returns after
// its run.
struct Rescuer : ModelBase<Rescuer, 2, 4> {
  WqKind queue_kind() { return WqKind::shared; }
  void setup() {
    Work* b = add_work();
    add_work([this, b](Work&) {
      MODEL_CHECK(wq->queue_work_on(1, *b), "C1: B was pending before A queued it");
      eng->flush_work(*b);
      MODEL_CHECK(tracks[0].ends == 1, "C10: A's flush_work(B) returned before B's run ended");
    });
    add_work();
    SpawnFaults f;
    f.fail_always = true;
    eng->set_spawn_faults(f);
  }
  void op(unsigned i) {
    const size_t k = i == 0 ? 1 : 2;
    MODEL_CHECK(wq->queue_work_on(1, *works[k]), "C1: a first queueing of work %zu returned false", k);
    eng->flush_work(*works[k]);
    MODEL_CHECK(tracks[k].ends == 1, "C10: flush_work returned before work %zu's run ended", k);
  }
  void check_end() {
    for (size_t k = 0; k < tracks.size(); ++k)
      MODEL_CHECK(tracks[k].starts == 1, "C7: work %zu ran %d times, not once", k, tracks[k].starts);
  }
};



// ---------------------------------------------------------------------------
// C7, C16 and C12: the rescuer's waits that can never end. One worker per
// pool (max_workers_per_pool 1) and the watchdog off, so a pool whose
// worker blocks is at its cap and only the rescuer runs its next work.
// V (queued for CPU 1 by thread 0) runs on CPU 1's pool worker; its first
// run queues U for CPU 1 and flushes it, so U runs on the rescuer while V
// waits for it. U calls cancel_work_sync(V), then flush_work(V): both wait
// for V's run, whose thread waits for U, a run on the rescuer's own stack.
// Each must be refused with Error(deadlock) in every DependencyCheck mode
// (here report, the default: the cycle is reported and then the rescuer
// must still refuse), never hang, and the refused cancel must leave V as
// it found it (C12, and "no Error leaves the engine in a bad state"):
// thread 0 queues V again after its flush, which must be accepted, and the
// teardown's cancel of V (its destructor) must not wait for ever. Thread 1
// flushes V from outside meanwhile. If V itself ends up on the rescuer
// (no worker could be had), U runs nested in V's flush on the same thread,
// and both calls are the plain "from its own callback" Error(deadlock).
struct RescuerChain : ModelBase<RescuerChain, 2, 5> {
  int cancel_refused = 0;
  int flush_refused = 0;
  int not_refused = 0;  // a call that returned (it would have had to wait for V's end)
  WqKind queue_kind() { return WqKind::shared; }
  void configure(EngineConfig& cfg) {
    cfg.stall_timeout = Duration::zero();
    cfg.max_workers_per_pool = 1;
  }
  void setup() {
    add_work([this](Work&) {  // V
      if (tracks[0].starts != 1) return;
      MODEL_CHECK(wq->queue_work_on(1, *works[1]), "C1: U was pending before V queued it");
      eng->flush_work(*works[1]);
      MODEL_CHECK(tracks[1].ends == 1, "C10: V's flush_work(U) returned before U's run ended");
    });
    add_work([this](Work&) {  // U
      try {
        eng->cancel_work_sync(*works[0]);
        ++not_refused;
      } catch (const Error& e) {
        MODEL_CHECK(e.code() == Errc::deadlock, "C16: cancel_work_sync(V) from U failed with %s, not deadlock",
                    std::string(to_string(e.code())).c_str());
        ++cancel_refused;
      }
      try {
        eng->flush_work(*works[0]);
        ++not_refused;
      } catch (const Error& e) {
        MODEL_CHECK(e.code() == Errc::deadlock, "C16: flush_work(V) from U failed with %s, not deadlock",
                    std::string(to_string(e.code())).c_str());
        ++flush_refused;
      }
    });
  }
  void op(unsigned i) {
    Work& v = *works[0];
    if (i == 0) {
      MODEL_CHECK(wq->queue_work_on(1, v), "C1: the first queueing of V returned false");
      eng->flush_work(v);
      MODEL_CHECK(tracks[0].ends >= 1, "C10: flush_work(V) returned before V's first run ended");
      MODEL_CHECK(wq->queue_work_on(1, v),
                  "C12/C16: V, neither pending nor queued since its run, refused a queueing: the cancel_work_sync "
                  "refused with Error(deadlock) on the rescuer left it PENDING");
      eng->flush_work(v);
      MODEL_CHECK(tracks[0].ends == 2, "C10: flush_work(V) returned before V's second run ended");
    } else {
      eng->flush_work(v);
      (void)eng->stats();
    }
  }
  void check_end() {
    MODEL_CHECK(tracks[0].starts == 2 && tracks[1].starts == 1, "C1: V ran %d times (not 2), U %d (not 1)",
                tracks[0].starts, tracks[1].starts);
    MODEL_CHECK(cancel_refused == 1 && flush_refused == 1 && not_refused == 0,
                "C7/C16: U's cancel_work_sync(V) and flush_work(V) wait for a run on the rescuer's own stack, yet "
                "%d of them returned (refused: cancel %d, flush %d)",
                not_refused, cancel_refused, flush_refused);
    MODEL_CHECK(!works[0]->pending(), "C12: V still PENDING at the end");
  }
};


// ---------------------------------------------------------------------------
// C3 on the shared kind, with hotplug while a pool worker runs (C13), and
// max_active (C5). A shared queue with max_active 2. W (queued for CPU 1
// by thread 0) requeues itself and queues X for CPU 1 from its first run,
// then sleeps (an engine wait: its thread stops counting as running). The
// requeue goes to the pool of the run (the kernel's busy-hash collision):
// another worker of that pool finds W still running and moves it to the
// runner's scheduled list, where the runner takes it after its run. X
// finds W's two queueings holding both slots and waits on the inactive
// list. Thread 1 takes CPU 1 offline (the running worker is told to stop;
// a requeue then goes to the unbound pool, whose worker finds W running
// on another pool and waits for that run; X, when W's slot frees, moves
// from its offline pool to the unbound one), takes a pending queueing of
// W away with cancel_work (off a scheduled list, if it is on one),
// flushes X and brings CPU 1 back. Thread 0 flushes W twice. Never two runs of W at once
// (C3: the planted bug collision_runs_concurrently breaks it), every
// queueing not taken back runs once, each flush covers its runs (C10).
struct SharedCollision : ModelBase<SharedCollision, 2, 6> {
  int accepted_w = 0;
  int cancelled = 0;
  int ends_at_second_flush = -1;
  WqKind queue_kind() { return WqKind::shared; }
  WqOptions queue_options() {
    WqOptions o;
    o.max_active = 2;
    return o;
  }
  void setup() {
    add_work([this](Work& w) {  // W
      if (tracks[0].starts == 1) {
        // Refused only while thread 1's cancel_work holds PENDING for its
        // grab (then W is not pending once it returns): not a C2 failure.
        accepted_w += wq->queue_work_on(1, w) ? 1 : 0;
        MODEL_CHECK(wq->queue_work_on(1, *works[1]), "C1: first queueing of X returned false");
      }
      eng->sleep_for(std::chrono::milliseconds(1));
    });
    add_work();  // X
  }
  void op(unsigned i) {
    Work& w = *works[0];
    if (i == 0) {
      accepted_w += wq->queue_work_on(1, w) ? 1 : 0;  // false only under the cancel's grab, as above
      eng->flush_work(w);
      eng->flush_work(w);
      ends_at_second_flush = tracks[0].ends;
    } else {
      MODEL_CHECK(eng->cpu_offline(1), "C13: cpu_offline(1) of an online CPU returned false");
      cancelled = eng->cancel_work(w) ? 1 : 0;
      if (eng->flush_work(*works[1]))
        MODEL_CHECK(tracks[1].ends == 1, "C10: flush_work(X) waited, and returned before X's run ended");
      MODEL_CHECK(eng->cpu_online(1), "C13: cpu_online(1) of an offline CPU returned false");
    }
  }
  void check_end() {
    MODEL_CHECK(tracks[0].starts == accepted_w - cancelled, "C1/C12: W accepted %d times, %d taken back, ran %d times",
                accepted_w, cancelled, tracks[0].starts);
    MODEL_CHECK(ends_at_second_flush == accepted_w - cancelled,
                "C10: the second flush_work(W) returned after %d runs, with %d queueings accepted and %d taken back",
                ends_at_second_flush, accepted_w, cancelled);
    MODEL_CHECK(tracks[1].starts == (tracks[0].starts > 0 ? 1 : 0), "C1: X ran %d times", tracks[1].starts);
  }
};

// ---------------------------------------------------------------------------
// C16's stall watchdog: blocking the engine cannot see. Thread 0 queues
// B, A and C for CPU 1, in that order, on one pool; A's callback waits on
// the model's own condition variable until C's callback sets it. A's
// thread still counts as running, so only the manager's watchdog (no
// progress for stall_timeout while works wait) can let another worker
// take C: every work runs once, and the watchdog fired (unless a thread
// creation failed, which lets the rescuer in). The manager may see
// progress between its looks (B ending, A starting) and restart the
// watch. Idle workers never exit here (idle_timeout "never"), so the
// engine's destructor stops pool workers that are still alive. Thread 1
// flushes C from outside.
struct Watchdog : ModelBase<Watchdog, 2, 6> {
  enum { B, A, C };
  P::Mutex gate_lock;
  P::CondVar gate_cv;
  bool released = false;
  WqKind queue_kind() { return WqKind::shared; }
  void configure(EngineConfig& cfg) { cfg.idle_timeout = Duration::max(); }
  void setup() {
    add_work();  // B
    add_work([this](Work&) {  // A
      gate_lock.lock();
      while (!released) gate_cv.wait(gate_lock);
      gate_lock.unlock();
    });
    add_work([this](Work&) {  // C
      gate_lock.lock();
      released = true;
      gate_cv.notify_all();
      gate_lock.unlock();
    });
  }
  void op(unsigned i) {
    if (i == 0) {
      for (size_t k : {size_t{B}, size_t{A}, size_t{C}})
        MODEL_CHECK(wq->queue_work_on(1, *works[k]), "C1: first queueing of work %zu returned false", k);
    } else {
      eng->flush_work(*works[C]);
    }
  }
  void check_end() {
    for (size_t k = 0; k < 3; ++k)
      MODEL_CHECK(tracks[k].starts == 1, "C15/C16: work %zu ran %d times, not once", k, tracks[k].starts);
    const lazywq::Stats st = eng->stats();
    MODEL_CHECK(st.watchdog_rescues >= 1 || st.spawn_failures > 0,
                "C16: C ran while A blocked where the engine cannot see, on a counted pool thread, but the stall "
                "watchdog never fired (and no creation failed)");
  }
};

// ---------------------------------------------------------------------------
// C12 and C7: the rescuer's cancel_work_sync takes turns with another
// cancel. One worker per pool, watchdog off, DependencyCheck::error (no
// cycle here). V (queued for CPU 1 by thread 0) runs on CPU 1's worker;
// its first run queues U for CPU 1 and sleeps (an engine wait), so the
// pool is at its cap and the rescuer runs U, which calls
// cancel_work_sync(V). Thread 1 cancels V at the same time: whichever
// cancel comes second waits for the first one's turn (the rescuer polls
// for it), then for V's run (the rescuer follows the chain: V's runner
// waits for no work, so it waits). Each cancel returns only when no run of
// V that started before it still runs; V ran at most once (a cancel may
// take its queueing first), and U exactly when V did.
struct RescuerTurn : ModelBase<RescuerTurn, 2, 5> {
  WqKind queue_kind() { return WqKind::shared; }
  void configure(EngineConfig& cfg) {
    cfg.stall_timeout = Duration::zero();
    cfg.max_workers_per_pool = 1;
    cfg.dependency_check = DependencyCheck::error;
  }
  void cancel_v() {
    const int started_before = tracks[0].starts;
    eng->cancel_work_sync(*works[0]);
    MODEL_CHECK(!(tracks[0].in_callback > 0 && tracks[0].starts <= started_before),
                "C12: cancel_work_sync(V) returned while a run of V that started before it still runs");
  }
  void setup() {
    add_work([this](Work&) {  // V
      if (tracks[0].starts != 1) return;
      MODEL_CHECK(wq->queue_work_on(1, *works[1]), "C1: U was pending before V queued it");
      eng->sleep_for(std::chrono::milliseconds(1));
    });
    add_work([this](Work&) { cancel_v(); });  // U
  }
  void op(unsigned i) {
    if (i == 0) {
      // False when thread 1's cancel_work_sync holds PENDING (then V never runs).
      const bool accepted = wq->queue_work_on(1, *works[0]);
      eng->flush_work(*works[0]);
      MODEL_CHECK(!accepted || tracks[0].in_callback == 0, "C10: flush_work(V) returned while V runs");
    } else {
      cancel_v();
    }
  }
  void check_end() {
    MODEL_CHECK(tracks[0].starts <= 1 && tracks[1].starts == tracks[0].starts, "C1/C12: V ran %d times, U %d",
                tracks[0].starts, tracks[1].starts);
    MODEL_CHECK(!works[0]->pending(), "C12: V still PENDING at the end");
  }
};

// ---------------------------------------------------------------------------
// C7 and C5: the rescuer waiting behind an ordered queue's one active slot.
// Every pool thread creation fails once the queues exist, so the rescuer
// runs everything. U (queued for CPU 1 on the model's shared queue by
// thread 0) queues S then T on a second, ordered queue (max_active 1): T
// waits on its inactive list behind S. U's flush_work(T) must have the
// rescuer run S (which holds the slot T waits for) and then T, nested in
// the wait; U then queues both again and flushes the ordered queue, which
// the rescuer serves the same way. Thread 1 flushes the ordered queue
// from outside. S and T run twice each, never at once, S first each time
// (C5); every flush returns after the runs it covers (C10, C11).
struct RescuerSlots : ModelBase<RescuerSlots, 2, 3> {
  enum { S, T, U };
  Workqueue* q2 = nullptr;
  int q2_running = 0;
  int q2_order_errors = 0;
  WqKind queue_kind() { return WqKind::shared; }
  void configure(EngineConfig& cfg) { cfg.dependency_check = DependencyCheck::error; }
  void setup() {
    WqOptions o;
    o.ordered = true;
    q2 = &eng->create_workqueue("ordered", WqKind::shared, o);
    for (int k : {S, T})
      add_work([this, k](Work&) {
        ++q2_running;
        MODEL_CHECK(q2_running == 1, "C5: two works of an ordered queue run at once");
        // S's n-th run starts before T's n-th run.
        if (k == T && tracks[S].starts < tracks[T].starts) ++q2_order_errors;
        --q2_running;
      });
    add_work([this](Work&) {  // U
      MODEL_CHECK(q2->queue_work_on(0, *works[S]) && q2->queue_work_on(0, *works[T]),
                  "C1: a first queueing of S or T returned false");
      eng->flush_work(*works[T]);
      MODEL_CHECK(tracks[S].ends == 1 && tracks[T].ends == 1, "C10: U's flush_work(T) returned before S and T ran");
      MODEL_CHECK(q2->queue_work_on(0, *works[S]) && q2->queue_work_on(0, *works[T]),
                  "C1: the second queueing of S or T returned false");
      q2->flush();
      MODEL_CHECK(tracks[S].ends == 2 && tracks[T].ends == 2,
                  "C11: U's flush_workqueue returned before S and T ran again");
    });
    SpawnFaults f;
    f.fail_always = true;
    eng->set_spawn_faults(f);
  }
  void op(unsigned i) {
    if (i == 0) {
      MODEL_CHECK(wq->queue_work_on(1, *works[U]), "C1: first queueing of U returned false");
      eng->flush_work(*works[U]);
      MODEL_CHECK(tracks[U].ends == 1, "C10: flush_work(U) returned before U's run ended");
    } else {
      q2->flush();
    }
  }
  void before_destroy() { q2->destroy(); }
  void check_end() {
    MODEL_CHECK(tracks[S].starts == 2 && tracks[T].starts == 2 && tracks[U].starts == 1,
                "C7: S ran %d times (not 2), T %d (not 2), U %d (not 1)", tracks[S].starts, tracks[T].starts,
                tracks[U].starts);
    MODEL_CHECK(q2_order_errors == 0, "C5: T ran before S on the ordered queue");
  }
};

// ---------------------------------------------------------------------------
// C7, C3 and C15: the rescuer passing a work that still runs on another
// pool's thread (issue #13, ClientHangs.RescuerRunsAWorkQueuedBehindOne-
// ThatRunsOnAnOfflinePool on the simulator). Watchdog off; a failed
// creation is never retried (spawn_cooldown max). Thread 0 queues A for
// CPU 1 and, once A's first run has started on CPU 1's pool thread (the
// one thread creation that succeeds), queues A again (behind its run, C3)
// and makes creation fail for good. Thread 1 then takes CPU 1 offline:
// A's queueing moves to the unbound pool, which can get no thread. It
// queues B for CPU 1 (the unbound pool too, behind A) and releases A's
// first run, which blocks where the engine cannot see until then and then
// flushes B. The rescuer's turn: A, at the front, cannot run before its
// run on the offline CPU's pool thread ends, and that run waits for B, so
// the rescuer must try the work behind A (C5: no order between different
// works of a shared queue). Thread 0 flushes A, thread 1 flushes B, then
// brings CPU 1 back. A ran twice, never at once with itself (C3, the
// harness), B once (C7: with creation failing for good every queueing
// still runs; C15); each flush returns after the runs it covers (C10). A
// rescuer stopping at the front work leaves A's run waiting for B for
// ever: a deadlock (or livelock) Relacy reports.
struct RescuerBehind : ModelBase<RescuerBehind, 2, 5> {
  enum { A, B };
  P::Mutex gate_lock;
  P::CondVar gate_cv;
  bool a_started = false;  // A's first run has begun (thread 0 requeues A behind it)
  bool a_requeued = false; // A queued again and creation failing (thread 1 takes CPU 1 offline)
  bool b_queued = false;   // B queued behind A (A's first run goes on)
  WqKind queue_kind() { return WqKind::shared; }
  void configure(EngineConfig& cfg) {
    cfg.stall_timeout = Duration::zero();
    cfg.spawn_cooldown = Duration::max();  // a failed creation is never retried (C7)
  }
  void wait_for(bool& flag) {
    gate_lock.lock();
    while (!flag) gate_cv.wait(gate_lock);
    gate_lock.unlock();
  }
  void set(bool& flag) {
    gate_lock.lock();
    flag = true;
    gate_cv.notify_all();
    gate_lock.unlock();
  }
  void setup() {
    add_work([this](Work&) {  // A
      if (tracks[A].starts != 1) return;
      set(a_started);
      wait_for(b_queued);  // blocked where the engine cannot see
      eng->flush_work(*works[B]);
      MODEL_CHECK(tracks[B].ends == 1, "C10/C7: A's flush_work(B) returned before B's run ended");
    });
    add_work();  // B
  }
  void op(unsigned i) {
    if (i == 0) {
      MODEL_CHECK(wq->queue_work_on(1, *works[A]), "C1: the first queueing of A returned false");
      wait_for(a_started);
      MODEL_CHECK(wq->queue_work_on(1, *works[A]), "C2: A, not pending once its run started, refused a queueing");
      SpawnFaults f;
      f.fail_always = true;
      eng->set_spawn_faults(f);
      set(a_requeued);
      eng->flush_work(*works[A]);
      MODEL_CHECK(tracks[A].ends == 2, "C10/C7: flush_work(A) returned after %d runs of A, not 2", tracks[A].ends);
    } else {
      wait_for(a_requeued);
      MODEL_CHECK(eng->cpu_offline(1), "C13: cpu_offline(1) of an online CPU returned false");
      MODEL_CHECK(wq->queue_work_on(1, *works[B]), "C1: the first queueing of B returned false");
      set(b_queued);
      eng->flush_work(*works[B]);
      MODEL_CHECK(tracks[B].ends == 1, "C10/C7: flush_work(B) returned before B's run ended");
      eng->set_spawn_faults(SpawnFaults{});
      MODEL_CHECK(eng->cpu_online(1), "C13: cpu_online(1) of an offline CPU returned false");
    }
  }
  void check_end() {
    MODEL_CHECK(tracks[A].starts == 2 && tracks[B].starts == 1,
                "C7/C15: with creation failing for good A ran %d times (not 2), B %d (not 1)", tracks[A].starts,
                tracks[B].starts);
  }
};

}  // namespace

// ---------------------------------------------------------------------------
// C7, C16: the rescuer waits for a run whose pool thread waits in a queue
// flush. One worker per pool, the watchdog off. A (CPU 1) queues R (CPU 1)
// and then B on the leaf queue (CPU 1), and flushes the leaf queue
// (flush_workqueue): A's thread blocks there, pool 1 is at its cap, so the
// rescuer runs R, the front of pool 1's list. R flushes A: the rescuer
// waits for A's run, whose thread waits for B, which only the rescuer can
// run. It must run B nested in R's wait (found by the shared_deps scenario
// once its works flushed a leaf queue: a hang before).
struct RescuerQueueFlush : ModelBase<RescuerQueueFlush, 1, 5> {
  enum { A, R, B };
  Workqueue* leaf = nullptr;
  WqKind queue_kind() { return WqKind::shared; }
  void configure(EngineConfig& cfg) {
    cfg.stall_timeout = Duration::zero();
    cfg.max_workers_per_pool = 1;
  }
  void setup() {
    leaf = &eng->create_workqueue("leaf", WqKind::shared);
    add_work([this](Work&) {  // A
      MODEL_CHECK(wq->queue_work_on(1, *works[R]), "C1: the first queueing of R returned false");
      MODEL_CHECK(leaf->queue_work_on(1, *works[B]), "C1: the first queueing of B returned false");
      leaf->flush();
      MODEL_CHECK(tracks[B].ends == 1, "C11: A's flush_workqueue(leaf) returned before B's run ended");
    });
    add_work([this](Work&) {  // R
      eng->flush_work(*works[A]);
      MODEL_CHECK(tracks[A].ends == 1, "C10: R's flush_work(A) returned before A's run ended");
    });
    add_work();  // B
  }
  void op(unsigned) {
    MODEL_CHECK(wq->queue_work_on(1, *works[A]), "C1: the first queueing of A returned false");
    eng->flush_work(*works[A]);
    eng->flush_work(*works[R]);
    MODEL_CHECK(tracks[A].ends == 1 && tracks[R].ends == 1 && tracks[B].ends == 1,
                "C7/C16: runs ended: A %d, R %d, B %d (each once)", tracks[A].ends, tracks[R].ends, tracks[B].ends);
  }
};

LAZYWQ_MODEL_RUNNER(nr_running, NrRunning)
LAZYWQ_MODEL_RUNNER(ordered, Ordered)
LAZYWQ_MODEL_RUNNER(rescuer, Rescuer)
LAZYWQ_MODEL_RUNNER(rescuer_chain, RescuerChain)
LAZYWQ_MODEL_RUNNER(shared_collision, SharedCollision)
LAZYWQ_MODEL_RUNNER(watchdog, Watchdog)
LAZYWQ_MODEL_RUNNER(rescuer_turn, RescuerTurn)
LAZYWQ_MODEL_RUNNER(rescuer_slots, RescuerSlots)
LAZYWQ_MODEL_RUNNER(rescuer_behind, RescuerBehind)
LAZYWQ_MODEL_RUNNER(rescuer_queue_flush, RescuerQueueFlush)

// ---------------------------------------------------------------------------
// C7, C11: the rescuer in a flush of a queue that is not shared. Creation
// fails for good once the queues exist (the single_thread queue's thread
// is made with it), so the rescuer runs U (queued for CPU 1 by thread 0).
// U queues L on the single_thread queue and flushes that queue; L, on its
// thread, queues B on the shared queue and flushes it: only the rescuer
// can run B, nested in U's flush, once L's wait begins. The rescuer sleeps
// there on its own cv under S (rescuer_sleep_locked: Q dropped only once S
// is held), woken by the kick of L's wait or by the end of the queue's
// epoch (finish_epoch_locked takes S). Its periodic look is dropped on
// this platform (RelacyPlatform::safety_net): a wake-up lost in that
// hand-off is a deadlock here (two were found by the simulator, issue
// #14). Thread 1 flushes the single_thread queue from outside meanwhile.
struct RescuerSingleFlush : ModelBase<RescuerSingleFlush, 2, 4> {
  enum { U, L, B };
  Workqueue* st = nullptr;
  WqKind queue_kind() { return WqKind::shared; }
  // A cooldown that never ends: the manager then has no deadline, and a
  // Relacy timed wait may time out at any point, so a manager that looked
  // again would kick the rescuer and hide a lost wake-up.
  void configure(EngineConfig& cfg) { cfg.spawn_cooldown = Duration::max(); }
  void setup() {
    st = &eng->create_workqueue("st", WqKind::single_thread);
    add_work([this](Work&) {  // U
      MODEL_CHECK(st->queue_work_on(0, *works[L]), "C1: the first queueing of L returned false");
      st->flush();
      MODEL_CHECK(tracks[L].ends == 1 && tracks[B].ends == 1,
                  "C11: U's flush_workqueue(st) returned before L (%d) and B (%d) ran", tracks[L].ends,
                  tracks[B].ends);
    });
    add_work([this](Work&) {  // L
      MODEL_CHECK(wq->queue_work_on(1, *works[B]), "C1: the first queueing of B returned false");
      eng->flush_work(*works[B]);
      MODEL_CHECK(tracks[B].ends == 1, "C10: L's flush_work(B) returned before B's run ended");
    });
    add_work();  // B
    SpawnFaults f;
    f.fail_always = true;
    eng->set_spawn_faults(f);
  }
  void op(unsigned i) {
    if (i == 0) {
      MODEL_CHECK(wq->queue_work_on(1, *works[U]), "C1: the first queueing of U returned false");
      eng->flush_work(*works[U]);
      MODEL_CHECK(tracks[U].ends == 1, "C10: flush_work(U) returned before U's run ended");
    } else {
      st->flush();
    }
  }
  void before_destroy() { st->destroy(); }
  void check_end() {
    MODEL_CHECK(tracks[U].starts == 1 && tracks[L].starts == 1 && tracks[B].starts == 1,
                "C7: U ran %d times, L %d, B %d (each once)", tracks[U].starts, tracks[L].starts, tracks[B].starts);
  }
};
LAZYWQ_MODEL_RUNNER(rescuer_single_flush, RescuerSingleFlush)

}  // namespace lazywq::models
