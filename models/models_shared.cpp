// Relacy models of the shared kind (docs/SHARED.md): the running-worker
// accounting (C16), the ordered queue's inactive list (C5, max_active),
// and the rescuer (C7). See harness.hpp for what every model shares and
// models.cpp for the registry and the driver.
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

}  // namespace

LAZYWQ_MODEL_RUNNER(nr_running, NrRunning)
LAZYWQ_MODEL_RUNNER(ordered, Ordered)
LAZYWQ_MODEL_RUNNER(rescuer, Rescuer)
LAZYWQ_MODEL_RUNNER(rescuer_chain, RescuerChain)

}  // namespace lazywq::models
