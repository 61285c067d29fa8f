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


}  // namespace

LAZYWQ_MODEL_RUNNER(nr_running, NrRunning)
LAZYWQ_MODEL_RUNNER(ordered, Ordered)
LAZYWQ_MODEL_RUNNER(rescuer, Rescuer)

}  // namespace lazywq::models
