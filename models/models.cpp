// Relacy models of the admitted races (issue 4), on the engine's own code:
// every model instantiates BasicEngine<RelacyPlatform> (engine/include/
// lazywq/engine.hpp), a lazy queue (nr_running: a shared one) on 2 CPUs, 1-3 works and 2 static
// threads, and lets Relacy's schedulers (random, and a context-bound tree
// search) choose the interleavings, the values relaxed loads see, spurious
// wake-ups and which timed waits time out (idle exit, creation cooldown).
//
//   lazywq_models --list
//   lazywq_models [--model NAME|all] [--sched random|bound|both]
//                 [--iterations N] [--bound-iterations N] [--context-bound K]
//                 [--planted BUG --expect KIND|any] [--no-oracle]
//   replay:  lazywq_models --model NAME --sched random --iteration N --history
//            lazywq_models --model NAME --sched bound --context-bound K --state 'S' --history
//
// A failing model prints its iteration and the exact replay command.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "models/coverage_report.hpp"
#include "models/harness.hpp"

// <relacy/context.hpp> defines the replacement operator new/delete as
// inline functions. If every call in this file got inlined, the compiler
// would emit no out-of-line copy, and the other libraries (the oracle)
// would allocate with libstdc++'s new but free with Relacy's delete.
// Taking their addresses forces the out-of-line definitions, so the whole
// program uses one pair.
__attribute__((used)) void* (*const lazywq_relacy_new)(std::size_t) = &::operator new;
__attribute__((used)) void* (*const lazywq_relacy_new_array)(std::size_t) = &::operator new[];
__attribute__((used)) void (*const lazywq_relacy_delete)(void*) noexcept = &::operator delete;
__attribute__((used)) void (*const lazywq_relacy_delete_array)(void*) noexcept = &::operator delete[];

namespace lazywq::models {
namespace {

// ---------------------------------------------------------------------------
// C7: creation failure. Thread creation always fails once the queue exists
// (its core thread was created before the faults were set): works queued
// for CPU 1 must still run, on the core (CPU 0), exactly once.
struct CreationFailure : ModelBase<CreationFailure, 2, 3> {
  void setup() {
    add_work();
    add_work();
    SpawnFaults f;
    f.fail_always = true;
    eng->set_spawn_faults(f);
  }
  void op(unsigned i) {
    const bool r = wq->queue_work_on(1, *works[i]);
    MODEL_CHECK(r, "C1: first queueing of work %u returned false", i);
  }
  void check_end() {
    for (size_t k = 0; k < 2; ++k) {
      MODEL_CHECK(tracks[k].starts == 1, "C7: work %zu (cpu 1, creation failing) ran %d times, not once", k,
                  tracks[k].starts);
      MODEL_CHECK(tracks[k].cpus[0] == 0, "C7: work %zu ran on cpu %d, not on the core", k, tracks[k].cpus[0]);
    }
  }
};

// C7 with a retry: the first creation fails, the cooldown passes when
// Relacy times a wait out, then creation is retried. Every work runs once,
// on CPU 1 or (fallback) on the core.
struct CreationRetry : ModelBase<CreationRetry, 2, 3> {
  void setup() {
    add_work();
    add_work();
    add_work();
    SpawnFaults f;
    f.fail_next = 1;
    eng->set_spawn_faults(f);
  }
  void op(unsigned i) {
    MODEL_CHECK(wq->queue_work_on(1, *works[i]), "C1: first queueing of work %u returned false", i);
    if (i == 0) MODEL_CHECK(wq->queue_work_on(1, *works[2]), "C1: first queueing of work 2 returned false");
  }
  void check_end() {
    for (size_t k = 0; k < 3; ++k)
      MODEL_CHECK(tracks[k].starts == 1, "C7: work %zu ran %d times, not once", k, tracks[k].starts);
  }
};

// ---------------------------------------------------------------------------
// C8: idle exit during queueing. Thread 0 queues A for CPU 1, waits for it
// (flush_work), so CPU 1's worker is idle, then queues A again; thread 1
// queues B for CPU 1. Relacy times the idle worker's wait out whenever it
// likes, so its exit races both queueings. Every accepted queueing runs.
struct IdleExit : ModelBase<IdleExit, 2, 4> {
  int trues_a = 0;
  void setup() {
    add_work();
    add_work();
  }
  void op(unsigned i) {
    if (i == 0) {
      trues_a += wq->queue_work_on(1, *works[0]) ? 1 : 0;
      eng->flush_work(*works[0]);
      MODEL_CHECK(tracks[0].ends >= 1, "C10: flush_work(A) returned before A's run ended");
      trues_a += wq->queue_work_on(1, *works[0]) ? 1 : 0;
    } else {
      MODEL_CHECK(wq->queue_work_on(1, *works[1]), "C1: first queueing of B returned false");
    }
  }
  void check_end() {
    MODEL_CHECK(trues_a == 2, "C1: A was not pending after its flush, yet a queueing returned false");
    MODEL_CHECK(tracks[0].starts == 2, "C8: A was queued twice (accepted) but ran %d times", tracks[0].starts);
    MODEL_CHECK(tracks[1].starts == 1, "C8: B ran %d times, not once", tracks[1].starts);
  }
};

// ---------------------------------------------------------------------------
// C9: migration from the core thread. Thread 0 queues A then B for CPU 1
// (both land on the core list while CPU 1 has no worker); thread 1 queues
// C for CPU 1. The core creates the worker and migrates them: none lost,
// none run twice, and A starts before B (C5).
struct Migration : ModelBase<Migration, 2, 3> {
  void setup() {
    add_work();
    add_work();
    add_work();
  }
  void op(unsigned i) {
    if (i == 0) {
      MODEL_CHECK(wq->queue_work_on(1, *works[0]), "C1: first queueing of A returned false");
      MODEL_CHECK(wq->queue_work_on(1, *works[1]), "C1: first queueing of B returned false");
    } else {
      MODEL_CHECK(wq->queue_work_on(1, *works[2]), "C1: first queueing of C returned false");
    }
  }
  void check_end() {
    for (size_t k = 0; k < 3; ++k)
      MODEL_CHECK(tracks[k].starts == 1, "C9: work %zu ran %d times, not once (lost or duplicated)", k,
                  tracks[k].starts);
    MODEL_CHECK(tracks[0].start_ticks[0] < tracks[1].start_ticks[0],
                "C5/C9: B (queued after A for cpu 1) started before A");
  }
};

// ---------------------------------------------------------------------------
// C1, C2: the pending bit and clear-before-run. W requeues itself once from
// its first run; thread 1 queues W concurrently. Every accepted queueing
// runs exactly once (C1), and a queueing that returned false saw a pending
// queueing whose run starts after the call (C2): so the last run starts
// after the last queue_work call. With PENDING cleared after the callback,
// the self-requeue returns false and no run follows it.
struct Pending : ModelBase<Pending, 2, 3> {
  int trues = 0;
  int last_call_tick = 0;
  int requeues_left = 1;
  bool call(Work& w) {
    last_call_tick = ++tick;
    const bool r = wq->queue_work_on(1, w);
    trues += r ? 1 : 0;
    return r;
  }
  void setup() {
    add_work([this](Work& w) {
      if (requeues_left > 0) {
        --requeues_left;
        call(w);
      }
    });
  }
  void op(unsigned i) {
    (void)i;
    call(*works[0]);
  }
  void check_end() {
    MODEL_CHECK(tracks[0].starts == trues, "C1: %d queueings accepted but %d runs", trues, tracks[0].starts);
    MODEL_CHECK(tracks[0].last_start_tick > last_call_tick,
                "C2: a queue_work call (tick %d) found W pending but no run started after it (last start %d)",
                last_call_tick, tracks[0].last_start_tick);
  }
};

// ---------------------------------------------------------------------------
// C12: cancel racing queueing and a self-requeueing callback. W requeues
// itself from each of its first 3 runs. Thread 0 queues W for CPU 1 and
// cancels it; thread 1 queues W for CPU 0 and cancels it. A cancel returns
// only once every run that started before it was called has ended; after
// both cancels nothing is pending or running and nothing runs any more.
struct Cancel : ModelBase<Cancel, 2, 3> {
  int requeues_left = 3;
  int starts_at_barrier = -1;
  void setup() {
    add_work([this](Work& w) {
      if (requeues_left > 0) {
        --requeues_left;
        wq->queue_work_on(1, w);
      }
    });
  }
  void op(unsigned i) {
    Work& w = *works[0];
    wq->queue_work_on(i == 0 ? 1 : 0, w);
    const int started_before = tracks[0].starts;
    eng->cancel_work_sync(w);
    MODEL_CHECK(!(tracks[0].in_callback > 0 && tracks[0].starts <= started_before),
                "C12: cancel_work_sync returned while a run that started before it still runs");
  }
  void before_destroy() {
    MODEL_CHECK(!works[0]->pending(), "C12: W pending after both cancels returned");
    MODEL_CHECK(tracks[0].in_callback == 0, "C12: W running after both cancels returned");
    starts_at_barrier = tracks[0].starts;
  }
  void check_end() {
    MODEL_CHECK(tracks[0].starts == starts_at_barrier, "C12: W ran again after both cancels returned (%d -> %d)",
                starts_at_barrier, tracks[0].starts);
  }
};

// ---------------------------------------------------------------------------
// C9 with C10: flush racing migration. Each thread queues its own work for
// CPU 1 and flushes it while the core migrates (and creates CPU 1's worker,
// which may also idle-exit); thread 1 also requeues A. flush_work returns
// only after the run it covers ended; each accepted queueing runs once.
struct FlushMigration : ModelBase<FlushMigration, 2, 3> {
  int trues_a = 0;
  void setup() {
    add_work();
    add_work();
  }
  void op(unsigned i) {
    Work& mine = *works[i];
    const bool r = wq->queue_work_on(1, mine);
    if (i == 0) trues_a += r ? 1 : 0;
    eng->flush_work(mine);
    MODEL_CHECK(tracks[i].ends >= 1, "C10: flush_work returned before the run it covers ended (work %u)", i);
    if (i == 1) trues_a += wq->queue_work_on(1, *works[0]) ? 1 : 0;
  }
  void check_end() {
    MODEL_CHECK(tracks[0].starts == trues_a, "C9: A accepted %d times but ran %d times", trues_a, tracks[0].starts);
    MODEL_CHECK(tracks[1].starts == 1, "C9: B ran %d times, not once", tracks[1].starts);
  }
};

// ---------------------------------------------------------------------------
// Plain fields: the engine's lock-guarded fields are P::Var, rl::var here,
// so Relacy checks every access for a data race. Thread 0 queues for CPU 1
// (the core creates the worker and counts it in live_threads_ under Q) and
// then reads the count; thread 1 reads the count (Workqueue::live_threads,
// the Stats path) at any moment. The count is never above the queue's
// two possible threads. The planted bug stats_without_lock reads the field
// without Q: Relacy must report a data race.
struct Stats : ModelBase<Stats, 2, 3> {
  void setup() { add_work(); }
  void op(unsigned i) {
    if (i == 0) {
      MODEL_CHECK(wq->queue_work_on(1, *works[0]), "C1: first queueing returned false");
      eng->flush_work(*works[0]);
    }
    const int live = wq->live_threads();
    MODEL_CHECK(live >= 0 && live <= 2, "stats: %d live threads on a 2-CPU lazy queue", live);
  }
};

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
// Delayed works (C1, C12, C10): timers armed, fired by the core (a Relacy
// timeout moves the clock to the deadline), re-armed by mod_delayed_work,
// taken away by cancel_delayed_work and fired early by flush_delayed_work,
// racing each other. No sync cancel runs, so every mod queues: the runs
// are the accepted queueings, minus those a mod or a cancel took back
// (each returns true exactly when it took one), C1/C12 bookkeeping.
struct Delayed : ModelBase<Delayed, 2, 3> {
  int expected = 0;  // accepted queueings not taken back
  void setup() { add_delayed_work([](Work&) {}); }
  void op(unsigned i) {
    DelayedWork& d = *dworks[0];
    if (i == 0) {
      expected += wq->queue_delayed_work_on(1, d, std::chrono::milliseconds(5)) ? 1 : 0;
      expected += wq->mod_delayed_work_on(1, d, std::chrono::milliseconds(0)) ? 0 : 1;
      const int started = tracks[0].starts;
      const bool pending_before = d.pending();
      eng->flush_delayed_work(d);
      MODEL_CHECK(!pending_before || tracks[0].ends > 0 || tracks[0].starts == started,
                  "C10: flush_delayed_work returned while the run it covers had not ended");
    } else {
      expected -= eng->cancel_delayed_work(d) ? 1 : 0;
      expected += wq->queue_delayed_work_on(0, d, std::chrono::milliseconds(1)) ? 1 : 0;
      expected -= eng->cancel_delayed_work(d) ? 1 : 0;
    }
  }
  void check_end() {
    MODEL_CHECK(tracks[0].starts == expected, "C1/C12: %d queueings not taken back but %d runs", expected,
                tracks[0].starts);
  }
};

// ---------------------------------------------------------------------------
// flush_workqueue and drain_workqueue (C10, C11, C14) racing queueings:
// thread 0 queues A (which a concurrent drain may reject), flushes the
// queue (an accepted A's run has ended when it returns), then queues A
// again;
// thread 1 queues B and drains (B's run has ended when it returns). Every
// accepted queueing runs once.
struct FlushDrain : ModelBase<FlushDrain, 2, 3> {
  int trues_a = 0;
  void setup() {
    add_work();
    add_work();
  }
  void op(unsigned i) {
    if (i == 0) {
      const bool first = wq->queue_work_on(1, *works[0]);  // a drain in progress rejects it
      trues_a += first ? 1 : 0;
      wq->flush();
      MODEL_CHECK(!first || tracks[0].ends >= 1, "C11: flush_workqueue returned before A's run ended");
      trues_a += wq->queue_work_on(1, *works[0]) ? 1 : 0;
    } else {
      MODEL_CHECK(wq->queue_work_on(0, *works[1]), "C1: first queueing of B returned false");
      wq->drain();
      MODEL_CHECK(tracks[1].ends == 1, "C14: drain_workqueue returned before B's run ended");
    }
  }
  void check_end() {
    MODEL_CHECK(tracks[0].starts == trues_a, "C1: A accepted %d times but ran %d times", trues_a, tracks[0].starts);
    MODEL_CHECK(tracks[1].starts == 1, "C1: B ran %d times, not once", tracks[1].starts);
  }
};

// ---------------------------------------------------------------------------
// CPU hotplug (C9, C13) racing queueing, on a lazy queue (Hotplug) and on a
// shared one (SharedHotplug: the pools go unbound while CPU 1 is
// offline): thread 0 queues A for CPU 1 and takes CPU 1 offline and back
// online; thread 1 queues B for CPU 1 and flushes it, then reads the
// statistics. Every work runs once; the flush returns after B's run.
template <class D>
struct HotplugBase : ModelBase<D, 2, 4> {
  using B = ModelBase<D, 2, 4>;
  void setup() {
    this->add_work();
    this->add_work();
  }
  void op(unsigned i) {
    if (i == 0) {
      MODEL_CHECK(this->wq->queue_work_on(1, *this->works[0]), "C1: first queueing of A returned false");
      this->eng->cpu_offline(1);
      this->eng->cpu_online(1);
    } else {
      MODEL_CHECK(this->wq->queue_work_on(1, *this->works[1]), "C1: first queueing of B returned false");
      this->eng->flush_work(*this->works[1]);
      MODEL_CHECK(this->tracks[1].ends == 1, "C10: flush_work returned before B's run ended");
      const lazywq::Stats st = this->eng->stats();
      MODEL_CHECK(st.live_threads >= 0, "stats: %d live threads", st.live_threads);
      (void)this->wq->cpus_with_worker();
      (void)this->wq->active_and_inactive();
    }
  }
  void check_end() {
    for (size_t k = 0; k < 2; ++k)
      MODEL_CHECK(this->tracks[k].starts == 1, "C9/C13: work %zu ran %d times, not once", k, this->tracks[k].starts);
  }
};
struct Hotplug : HotplugBase<Hotplug> {};
struct SharedHotplug : HotplugBase<SharedHotplug> {
  WqKind queue_kind() { return WqKind::shared; }
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
// Driver

struct Outcome {
  rl::test_result_e result = rl::test_result_success;
  uint64_t iterations = 0;  // completed (or up to the failing one)
  uint64_t stop_iteration = 0;
  std::string state;        // Relacy's final state (replay input)
  double seconds = 0;
  bool budget_hit = false;
  std::string message;
};

class NullBuf : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
};

template <class T, class Sched>
Outcome run_with(rl::test_params& p) {
  Outcome o;
  RunConfig& rc = run_config();
  rc.iterations_started = 0;
  rc.budget_hit = false;
  rc.message[0] = 0;
  rl::ostringstream oss;
  const auto t0 = std::chrono::steady_clock::now();
  o.result = rl::run_test<T, Sched>(p, oss, false);
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  o.stop_iteration = p.stop_iteration;
  o.state = std::string(oss.str().c_str());
  o.budget_hit = rc.budget_hit;
  o.message = rc.message;
  if (o.result == rl::test_result_until_condition_hit && o.budget_hit) {
    o.result = rl::test_result_success;
    o.iterations = rc.iterations_started - 1;
  } else {
    o.iterations = o.result == rl::test_result_success ? p.stop_iteration : rc.iterations_started;
  }
  return o;
}

template <class T>
Outcome run_model(rl::test_params& p) {
  if (p.search_type == rl::sched_bound)
    return run_with<T, rl::context_bound_scheduler<T::params::thread_count>>(p);
  return run_with<T, rl::random_scheduler<T::params::thread_count>>(p);
}

struct ModelInfo {
  const char* name;
  const char* rules;
  const char* what;
  Outcome (*run)(rl::test_params&);
  uint64_t random_iterations;  // default budget of the random scheduler
  uint64_t bound_iterations;   // default budget of the context-bound search (0: random scheduler only, see nr_running)
};

const std::vector<ModelInfo>& models() {
  static const std::vector<ModelInfo> m = {
      {"creation_failure", "C7", "creation always fails after queue creation: cpu-1 works run once, on the core",
       &run_model<CreationFailure>, 30000, 30000},
      {"creation_retry", "C7", "first creation fails, retried after the cooldown: every work runs once",
       &run_model<CreationRetry>, 30000, 30000},
      {"idle_exit", "C8", "idle worker exit (a Relacy timeout) races two queueings: every queueing runs",
       &run_model<IdleExit>, 30000, 30000},
      {"migration", "C9 C5", "core migrates A, B, C to cpu 1's new worker: none lost or duplicated, A before B",
       &run_model<Migration>, 30000, 30000},
      {"pending", "C1 C2", "self-requeue + concurrent queue_work: runs == accepted, a run follows every call",
       &run_model<Pending>, 30000, 30000},
      {"cancel", "C12", "two queue+cancel_work_sync threads vs a self-requeueing work: nothing left afterwards",
       &run_model<Cancel>, 30000, 30000},
      {"flush_migration", "C9 C10", "flush_work racing migration and worker creation: flush waits for the run",
       &run_model<FlushMigration>, 30000, 30000},
      {"stats", "plain fields", "stats read racing worker creation: every lock-guarded field is an rl::var",
       &run_model<Stats>, 20000, 20000},
      // Random scheduler only: Debian's Relacy (2019) context_bound_scheduler
      // resumes a static thread that already finished when three dynamic
      // threads (the manager and two pool workers) are live, running its
      // thread function twice in one iteration (seen at iteration 1; the
      // random scheduler never does it in 20000 iterations).
      {"nr_running", "C16 C10", "shared pool: A flushes B queued behind it on its CPU; its wait lets another worker run B",
       &run_model<NrRunning>, 20000, 0},
      {"delayed", "C1 C10 C12", "delayed work armed, re-armed, cancelled and flushed at once: runs == queueings kept",
       &run_model<Delayed>, 6000, 6000},
      {"flush_drain", "C11 C14", "flush_workqueue and drain_workqueue racing queueings: each waits for its works",
       &run_model<FlushDrain>, 6000, 6000},
      {"hotplug", "C9 C13", "cpu 1 offline and online racing queueing and flush_work on a lazy queue",
       &run_model<Hotplug>, 6000, 6000},
      {"shared_hotplug", "C9 C13", "cpu 1 offline and online racing queueing and flush_work on a shared queue",
       &run_model<SharedHotplug>, 6000, 0},
      {"ordered", "C5 C12", "ordered shared queue: inactive list, cancel_work_sync of a queued work, one run at a time",
       &run_model<Ordered>, 6000, 0},
      {"rescuer", "C7 C16", "shared pools whose worker creation always fails: the rescuer runs every work",
       &run_model<Rescuer>, 6000, 0},
  };
  return m;
}

const char* kind_name(rl::test_result_e r) {
  switch (r) {
    case rl::test_result_success: return "success";
    case rl::test_result_user_assert_failed: return "user_assert_failed";
    case rl::test_result_user_invariant_failed: return "user_invariant_failed";
    case rl::test_result_data_race: return "data_race";
    case rl::test_result_access_to_freed_memory: return "access_to_freed_memory";
    case rl::test_result_double_free: return "double_free";
    case rl::test_result_memory_leak: return "memory_leak";
    case rl::test_result_resource_leak: return "resource_leak";
    case rl::test_result_unitialized_access: return "uninitialized_access";
    case rl::test_result_deadlock: return "deadlock";
    case rl::test_result_livelock: return "livelock";
    default: return rl::test_result_str(r);
  }
}

struct Options {
  std::string model = "all";
  std::string sched = "both";
  uint64_t iterations = 0;        // 0 = the model's default
  uint64_t bound_iterations = 0;  // 0 = the model's default
  unsigned context_bound = 2;
  std::string planted;
  std::string expect;
  bool oracle = true;
  bool history = false;
  uint64_t replay_iteration = 0;
  std::string replay_state;
  bool list = false;
  unsigned depth = 20000;
  bool coverage = false;
  std::string source_dir = LAZYWQ_MODELS_SOURCE_DIR;
};

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string replay_command(const char* argv0, const ModelInfo& m, const Options& o, bool bound, const Outcome& r) {
  std::string cmd = std::string(argv0) + " --model " + m.name;
  if (!o.planted.empty()) cmd += " --planted " + o.planted;
  if (!o.oracle) cmd += " --no-oracle";
  if (bound)
    cmd += " --sched bound --context-bound " + std::to_string(o.context_bound) + " --state " + quote(r.state);
  else
    cmd += " --sched random --iteration " + std::to_string(r.stop_iteration);
  return cmd + " --history";
}

rl::test_params base_params(const Options& o, bool bound, NullBuf& nb, std::ostream& null_os) {
  (void)nb;
  rl::test_params p;
  p.output_stream = &std::cout;
  p.progress_stream = &null_os;
  p.execution_depth_limit = o.depth;
  p.search_type = bound ? rl::sched_bound : rl::sched_random;
  p.context_bound = o.context_bound;
  return p;
}

// Replays one iteration with Relacy's full history on stdout.
int replay(const ModelInfo& m, const Options& o) {
  NullBuf nb;
  std::ostream null_os(&nb);
  const bool bound = o.sched == "bound";
  rl::test_params p = base_params(o, bound, nb, null_os);
  p.collect_history = true;
  p.output_history = false;
  if (bound) {
    p.initial_state = rl::string(o.replay_state.c_str());
  } else {
    p.initial_state = rl::string((std::to_string(o.replay_iteration) + " ").c_str());
    p.iteration_count = o.replay_iteration;
  }
  run_config().iteration_budget = 0;
  std::printf("replaying model %s (%s scheduler)%s%s\n", m.name, bound ? "context-bound" : "random",
              o.planted.empty() ? "" : ", planted bug ", o.planted.c_str());
  std::fflush(stdout);
  Outcome r = m.run(p);
  std::cout.flush();
  std::printf("result: %s%s%s\n", kind_name(r.result), r.message.empty() ? "" : "\n  ", r.message.c_str());
  return r.result == rl::test_result_success ? 0 : 1;
}

// Runs a model under one scheduler. Returns the outcome; prints one line.
Outcome run_one(const char* argv0, const ModelInfo& m, const Options& o, bool bound, bool expect_failure) {
  NullBuf nb;
  std::ostream null_os(&nb);
  rl::test_params p = base_params(o, bound, nb, null_os);
  const uint64_t budget = bound ? (o.bound_iterations ? o.bound_iterations : m.bound_iterations)
                                : (o.iterations ? o.iterations : m.random_iterations);
  p.iteration_count = budget;
  run_config().iteration_budget = bound ? budget : 0;
  Outcome r = m.run(p);
  const char* sname = bound ? "context-bound" : "random";
  const double ips = r.seconds > 0 ? static_cast<double>(r.iterations) / r.seconds : 0.0;
  if (r.result == rl::test_result_success) {
    std::printf("model %-16s %-13s scheduler%s: %llu iterations%s in %.2f s, %.0f iterations/s: ok\n", m.name,
                sname, bound ? (" (bound " + std::to_string(o.context_bound) + ")").c_str() : "",
                static_cast<unsigned long long>(r.iterations),
                bound ? (r.budget_hit ? " (budget)" : " (tree exhausted)") : "", r.seconds, ips);
  } else {
    std::printf("model %-16s %-13s scheduler: %s %s at iteration %llu (%.2f s, %.0f iterations/s)%s%s\n", m.name,
                sname, expect_failure ? "caught (expected):" : "FAILED:", kind_name(r.result),
                static_cast<unsigned long long>(r.stop_iteration), r.seconds, ips,
                r.message.empty() ? "" : "\n  ", r.message.c_str());
    std::printf("  replay with full history: %s\n", replay_command(argv0, m, o, bound, r).c_str());
  }
  std::fflush(stdout);
  return r;
}

// Checked on the text: CLI11 converts "-1" to an unsigned by wrapping it.
std::string digits_only(const std::string& v) {
  return !v.empty() && v.find_first_not_of("0123456789") == std::string::npos ? std::string()
                                                                              : "'" + v + "' is not a number >= 0";
}

// --coverage: runs every model (random scheduler, then the context-bound
// search) for a modest budget, then prints which of the engine's atomic
// and Var sites the runs reached (models/coverage.hpp). Fails when a model
// fails, when a site is reached that the source scan did not list, or when
// the unreached sites are not exactly the allowlisted ones
// (models/coverage_allowlist.txt, each with its reason).
int run_coverage(const char* argv0, const std::vector<const ModelInfo*>& chosen, Options o) {
  using namespace coverage;
  if (o.iterations == 0) o.iterations = 1500;
  if (o.bound_iterations == 0) o.bound_iterations = 500;
  int failures = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> names;
  for (const ModelInfo& m : models()) names.push_back(m.name);
  for (const ModelInfo* m : chosen) {
    set_model(static_cast<int>(m - models().data()));
    for (int s = 0; s < 2; ++s) {
      const bool bound = s == 1;
      if ((bound && o.sched == "random") || (!bound && o.sched == "bound")) continue;
      if (bound && m->bound_iterations == 0) continue;
      if (run_one(argv0, *m, o, bound, false).result != rl::test_result_success) ++failures;
    }
  }
  set_model(-1);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::string error;
  const std::string engine_dir = o.source_dir + "/engine/include/lazywq";
  std::vector<Site> sites = scan_sites(engine_dir, &error);
  if (!error.empty()) {
    std::printf("coverage: %s\n", error.c_str());
    return 1;
  }
  const std::map<SiteKey, uint32_t> atomics = reached_atomics();
  const std::map<SiteKey, uint32_t> vars = reached_vars(&error);
  if (!error.empty()) {
    std::printf("coverage: %s\n", error.c_str());
    return 1;
  }
  if (tables().overflow) {
    std::printf("coverage: the recording tables overflowed (models/coverage.hpp)\n");
    return 1;
  }
  // Sites reached at run time but missing from the scan: the scan is wrong.
  std::set<std::pair<SiteKind, SiteKey>> listed;
  for (Site& st : sites) {
    const SiteKey key{st.file, st.line};
    listed.insert({st.kind, key});
    const auto& reached = st.kind == SiteKind::atomic ? atomics : vars;
    auto it = reached.find(key);
    if (it != reached.end()) st.models = it->second | 0x80000000u;
  }
  int unlisted = 0;
  for (const auto* reached : {&atomics, &vars}) {
    const SiteKind kind = reached == &atomics ? SiteKind::atomic : SiteKind::var;
    for (const auto& [key, mask] : *reached) {
      (void)mask;
      if (listed.count({kind, key}) != 0) continue;
      std::printf("coverage: %s site %s:%u reached but not found by the source scan\n", kind_str(kind),
                  key.first.c_str(), key.second);
      ++unlisted;
    }
  }

  auto model_list = [&](uint32_t mask) {
    std::string out;
    for (size_t i = 0; i < names.size() && i < 31; ++i)
      if (mask & (1u << i)) out += (out.empty() ? "" : ",") + names[i];
    return out.empty() ? std::string("-") : out;
  };
  std::printf("\n%-7s %-6s %-22s %-34s %s\n", "reached", "kind", "site", "operations / fields", "models");
  int total[2] = {0, 0}, hit[2] = {0, 0};
  for (const Site& st : sites) {
    const int k = st.kind == SiteKind::atomic ? 0 : 1;
    ++total[k];
    const bool r = st.models != 0;
    hit[k] += r ? 1 : 0;
    const std::string where = st.file + ":" + std::to_string(st.line);
    std::printf("%-7s %-6s %-22s %-34s %s\n", r ? "yes" : "NO", kind_str(st.kind), where.c_str(), st.what.c_str(),
                r ? model_list(st.models).c_str() : "-");
  }

  std::vector<Allowed> allow = read_allowlist(o.source_dir + "/models/coverage_allowlist.txt", &error);
  if (!error.empty()) {
    std::printf("coverage: %s\n", error.c_str());
    return 1;
  }
  int unexpected = 0;
  std::printf("\nnever reached:\n");
  for (const Site& st : sites) {
    if (st.models != 0) continue;
    Allowed* why = nullptr;
    for (Allowed& a : allow)
      if (a.kind == st.kind && a.file == st.file && st.text.find(a.pattern) != std::string::npos) {
        why = &a;
        ++a.matched;
        break;
      }
    std::printf("  %-6s %s:%u  %s\n         %s\n", kind_str(st.kind), st.file.c_str(), st.line, st.text.c_str(),
                why ? ("allowlisted: " + why->reason).c_str() : "NOT ALLOWLISTED");
    if (why == nullptr) ++unexpected;
  }
  int stale = 0;
  for (const Allowed& a : allow) {
    if (a.matched != 0) continue;
    std::printf("coverage: allowlist entry `%s %s %s` matches no unreached site (reached now, or gone): remove it\n",
                kind_str(a.kind), a.file.c_str(), a.pattern.c_str());
    ++stale;
  }
  std::printf("\ncoverage: atomic sites reached %d/%d, Var sites reached %d/%d (%zu models, %.1f s)\n", hit[0],
              total[0], hit[1], total[1], chosen.size(), secs);
  const bool whole = chosen.size() == models().size() && o.sched == "both";
  if (!whole) {
    std::printf("coverage: a subset of the models or schedulers: the allowlist is not checked\n");
    return failures == 0 && unlisted == 0 ? 0 : 1;
  }
  std::printf("coverage: %d model failures, %d unlisted sites, %d unreached sites not allowlisted, %d stale "
              "allowlist entries: %s\n",
              failures, unlisted, unexpected, stale,
              failures + unlisted + unexpected + stale == 0 ? "ok" : "FAILED");
  return failures + unlisted + unexpected + stale == 0 ? 0 : 1;
}

int main_impl(int argc, char** argv) {
  Options o;
  CLI::App app{
      "lazywq_models: Relacy models of the engine's own protocol code (the real engine templates on a Relacy "
      "platform). Each model runs under Relacy's random scheduler and its context-bound search; a failure prints "
      "Relacy's verdict and the command that replays that iteration with the full execution history."};
  app.add_flag("--list", o.list, "List the models and the contract rules each one checks, then exit");
  app.add_option("--model", o.model, "A model name (see --list), or all")->capture_default_str();
  app.add_option("--sched", o.sched, "Schedulers: random, bound (context-bound search) or both")
      ->capture_default_str()
      ->check(CLI::IsMember({"random", "bound", "both"}));
  app.add_option("--iterations", o.iterations, "Iterations of the random scheduler (0: the model's default)")
      ->check(digits_only);
  app.add_option("--bound-iterations", o.bound_iterations,
                 "Iteration budget of the context-bound search (0: the model's default)")
      ->check(digits_only);
  app.add_option("--context-bound", o.context_bound, "Preemptions per execution of the context-bound search")
      ->capture_default_str()
      ->check(digits_only)
      ->check(CLI::Range(0u, 64u));
  app.add_option("--depth", o.depth, "Relacy's execution depth limit (steps per execution)")
      ->capture_default_str()
      ->check(digits_only)
      ->check(CLI::Range(1u, 100000000u));
  app.add_option("--planted", o.planted, "Switch on a planted bug by name (planted-bug build only)");
  app.add_option("--expect", o.expect,
                 "With --planted: succeed only if the bug is caught as this Relacy failure kind "
                 "(user_assert_failed, deadlock, data_race, ...) or any");
  app.add_flag("--no-oracle", [&](int64_t) { o.oracle = false; }, "Do not run the contract oracle on each iteration's events");
  app.add_flag("--history", o.history, "Replay with Relacy's full execution history (with --iteration or --state)");
  app.add_option("--iteration", o.replay_iteration, "Replay this iteration of the random scheduler")
      ->check(digits_only)
      ->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  app.add_option("--state", o.replay_state, "Replay this state of the context-bound search");
  app.add_flag("--coverage", o.coverage,
               "Run the models for a modest budget (--iterations, default 1500; --bound-iterations, default 500) "
               "and print which of the engine's atomic and Var sites they reach; fail when an unreached site is "
               "not in models/coverage_allowlist.txt");
  app.add_option("--source-dir", o.source_dir, "The repository (engine sources and the allowlist), for --coverage")
      ->capture_default_str();
  app.footer(
      "Examples:\n"
      "  lazywq_models --list\n"
      "  lazywq_models --model idle_exit --sched random --iterations 20000\n"
      "  lazywq_models --model pending --planted clear_pending_after_run --expect user_assert_failed\n"
      "  lazywq_models --model migration --sched random --iteration 17 --history\n"
      "Exit codes: 0 every model passed (or, with --planted/--expect, caught the bug), 1 a failure, 2 bad usage.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (o.list) {
    for (const auto& m : models()) std::printf("%-16s %-6s %s\n", m.name, m.rules, m.what);
    return 0;
  }
  RunConfig& rc = run_config();
  rc.oracle = o.oracle;
  if (!o.planted.empty()) {
#if !defined(LAZYWQ_ENABLE_PLANTED_BUGS)
    std::fprintf(stderr, "--planted needs the planted-bug build (cmake -DLAZYWQ_PLANTED_BUGS=ON)\n");
    return 2;
#else
    try {
      rc.planted = planted_bug_from_string(o.planted);
    } catch (const Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 2;
    }
#endif
  }
  std::vector<const ModelInfo*> chosen;
  for (const auto& m : models())
    if (o.model == "all" || o.model == m.name) chosen.push_back(&m);
  if (chosen.empty()) {
    std::fprintf(stderr, "unknown model '%s' (see --list)\n", o.model.c_str());
    return 2;
  }

  if (o.history || o.replay_iteration != 0 || !o.replay_state.empty()) {
    if (chosen.size() != 1 || o.sched == "both" || (o.sched == "random" && o.replay_iteration == 0) ||
        (o.sched == "bound" && o.replay_state.empty())) {
      std::fprintf(stderr, "replay needs --model NAME and --sched random --iteration N, or --sched bound --state S\n");
      return 2;
    }
    return replay(*chosen.front(), o);
  }

  if (o.coverage) return run_coverage(argv[0], chosen, o);

  const bool expect_failure = !o.planted.empty() && !o.expect.empty();
  int failures = 0;
  for (const ModelInfo* m : chosen) {
    bool caught = false;
    std::string kind;
    for (int s = 0; s < 2; ++s) {
      const bool bound = s == 1;
      if ((bound && o.sched == "random") || (!bound && o.sched == "bound")) continue;
      if (bound && m->bound_iterations == 0) {
        std::printf("model %-16s context-bound scheduler: skipped (not usable with this model, see models.cpp)\n", m->name);
        continue;
      }
      Outcome r = run_one(argv[0], *m, o, bound, expect_failure);
      if (r.result != rl::test_result_success) {
        caught = true;
        kind = kind_name(r.result);
        if (!expect_failure) ++failures;
        if (expect_failure) break;  // one scheduler finding it is enough
      }
    }
    if (expect_failure) {
      if (!caught) {
        std::printf("model %s: planted bug %s NOT caught\n", m->name, o.planted.c_str());
        ++failures;
      } else if (o.expect != "any" && o.expect != kind) {
        std::printf("model %s: planted bug %s caught as %s, expected %s\n", m->name, o.planted.c_str(),
                    kind.c_str(), o.expect.c_str());
        ++failures;
      }
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace lazywq::models

int main(int argc, char** argv) { return lazywq::models::main_impl(argc, argv); }
