// Relacy models of the lazy queue's admitted races (issue 4) and their
// neighbours, on the engine's own code: thread creation failing or
// retried (C7), idle exit (C8), migration from the core (C9, C5), the
// pending bit (C1, C2), cancel (C12), flush racing migration (C10), the
// lock-guarded fields (stats), delayed works, flush/drain (C11, C14) and
// hotplug (C13, lazy and shared). See harness.hpp for what every model
// shares and models.cpp for the registry and the driver.
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/driver.hpp"

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
// What the public atomic getters publish (the ThreadSanitizer tests of
// tests/publication check the same on real threads). Thread 1 has no
// happens-before edge with thread 0 or the queues' threads but the getters
// themselves: once Y.engine() is non-null it reads what thread 0 wrote
// before binding Y (its first queueing), and once Q2.destroyed() is true
// it reads what Q2's work wrote (destroy drained it before it set dead_).
// Each plain value is an rl::var: a relaxed side of either pair (bind's
// CAS, engine()'s load, destroy's store of dead_, destroyed()'s load) is a
// data race Relacy reports, the second technique, after TSan, on those
// four memory-order mutants.
struct PublishedGetters : ModelBase<PublishedGetters, 2, 4> {
  enum { Y, X };  // works[]: Y bound by thread 0, X run by Q2
  Workqueue* q2 = nullptr;
  rl::var<int> before_bind;  // thread 0, before Y's first queueing
  rl::var<int> x_wrote;      // X's callback, on Q2's thread
  void setup() {
    before_bind(RL_INFO) = 0;
    x_wrote(RL_INFO) = 0;
    q2 = &eng->create_workqueue("q2", WqKind::lazy);
    add_work();  // Y
    add_work([this](Work&) { x_wrote(RL_INFO) = 1; });
  }
  void op(unsigned i) {
    if (i == 0) {
      before_bind(RL_INFO) = 1;
      MODEL_CHECK(wq->queue_work_on(0, *works[Y]), "C1: first queueing of Y returned false");
      MODEL_CHECK(q2->queue_work_on(1, *works[X]), "C1: first queueing of X returned false");
      q2->destroy();
      eng->flush_work(*works[Y]);
      return;
    }
    while (works[Y]->engine() == nullptr) P::yield();
    MODEL_CHECK(before_bind(RL_INFO).load() == 1, "C14: Y.engine() is set but what its binder wrote before is not seen");
    while (!q2->destroyed()) P::yield();
    MODEL_CHECK(x_wrote(RL_INFO).load() == 1, "C14: Q2.destroyed() is true but what its work wrote is not seen");
  }
};

// ---------------------------------------------------------------------------
// A flusher that learns a queue only through its work's home_ (the
// simulator's PublicationRaces tests, here under Relacy's memory model).
// X is bound and has run on the model's queue; then W, on that queue's
// CPU 1 worker, flushes X again and again (a flush from a callback reads
// home_ and takes that queue's lock to judge the wait, C16), while thread
// 0, which W never synchronized with, creates Q2 and queues X on it. W
// must read Q2's lock (an Immutable field, checked here) ordered after
// Q2's construction: home_ is stored with release and loaded with acquire.
// Each iteration takes one of the four ways home_ is stored, by its
// number: Q2 per_cpu (X straight onto CPU 1's list), lazy (onto the core's
// list), lazy with X armed on a timer (W then flushes with
// flush_delayed_work, which fires it), shared (Q2's lock is the engine's
// S: W reads Q2's pointer to it). Events stay off: the event log's lock
// would order every thread.
struct LateQueue : ModelBase<LateQueue, 2, 6> {
  enum { X, W };  // tracks[] indices
  enum class Path { cpu_list, core_list, timer, shared };
  Path path = Path::cpu_list;
  Gate x_homed;  // X ran once on the model's queue
  void configure(EngineConfig& cfg) { cfg.record_events = false; }
  void setup() {
    path = static_cast<Path>(run_config().iterations_started % 4);
    add_delayed_work([](Work&) {});  // X
    add_work([this](Work&) {
      for (int i = 0; i < 3; ++i) {
        if (path == Path::timer)
          eng->flush_delayed_work(*dworks[0]);
        else
          eng->flush_work(*dworks[0]);
        P::yield();
      }
    });
  }
  void op(unsigned i) {
    DelayedWork& x = *dworks[0];
    if (i == 1) {
      MODEL_CHECK(wq->queue_work_on(0, x), "C1: first queueing of X returned false");
      eng->flush_work(x);
      x_homed.open();
      MODEL_CHECK(wq->queue_work_on(1, *works[0]), "C1: first queueing of W returned false");
      eng->flush_work(*works[0]);
      return;
    }
    x_homed.wait();
    const WqKind kind = path == Path::cpu_list ? WqKind::per_cpu : path == Path::shared ? WqKind::shared : WqKind::lazy;
    Workqueue& q2 = eng->create_workqueue("q2", kind);
    if (path == Path::timer)
      MODEL_CHECK(q2.queue_delayed_work_on(1, x, std::chrono::milliseconds(1)), "C1: X, idle, could not be armed on Q2");
    else
      MODEL_CHECK(q2.queue_work_on(1, x), "C1: X, idle, could not be queued on Q2");
    eng->flush_delayed_work(x);
    MODEL_CHECK(tracks[X].ends == 2, "C10: flush returned before X's run on Q2 ended");
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
// The per_cpu kind (eager start, C13, C4): the queue creates a worker for
// every online CPU with it, and cpu_online creates one again at once; its
// workers never idle-exit (C8 is for lazy workers). Thread 0 queues A for
// CPU 1 and takes CPU 1 offline and back online; thread 1 queues B for
// CPU 1, flushes it and reads the queue's thread count. Every work runs
// once; CPU 1 has its worker again as soon as cpu_online returns.
struct PerCpu : ModelBase<PerCpu, 2, 4> {
  WqKind queue_kind() { return WqKind::per_cpu; }
  void setup() {
    add_work();
    add_work();
    MODEL_CHECK(wq->cpus_with_worker() == std::vector<int>({0, 1}) && wq->live_threads() == 2,
                "per_cpu: the queue was created without a worker for each online CPU (%zu cpus with one, %d threads)",
                wq->cpus_with_worker().size(), wq->live_threads());
  }
  void op(unsigned i) {
    if (i == 0) {
      MODEL_CHECK(wq->queue_work_on(1, *works[0]), "C1: first queueing of A returned false");
      MODEL_CHECK(eng->cpu_offline(1), "C13: cpu_offline(1) of an online CPU returned false");
      const std::vector<int> off = wq->cpus_with_worker();
      MODEL_CHECK(off == std::vector<int>({0}), "C13: CPU 1's worker still active after cpu_offline(1) returned");
      MODEL_CHECK(eng->cpu_online(1), "C13: cpu_online(1) of an offline CPU returned false");
      const std::vector<int> on = wq->cpus_with_worker();
      MODEL_CHECK(on == std::vector<int>({0, 1}),
                  "C13: a per_cpu queue has no worker for CPU 1 after cpu_online(1) returned (it creates it at once)");
    } else {
      MODEL_CHECK(wq->queue_work_on(1, *works[1]), "C1: first queueing of B returned false");
      eng->flush_work(*works[1]);
      MODEL_CHECK(tracks[1].ends == 1, "C10: flush_work returned before B's run ended");
      const int live = wq->live_threads();
      MODEL_CHECK(live >= 1 && live <= 2, "stats: %d live threads on a 2-CPU per_cpu queue", live);
    }
  }
  void before_destroy() {
    MODEL_CHECK(eng->stats().idle_exits == 0, "C8: a per_cpu worker idle-exited");
  }
  void check_end() {
    for (size_t k = 0; k < 2; ++k)
      MODEL_CHECK(tracks[k].starts == 1, "C13: work %zu ran %d times, not once", k, tracks[k].starts);
  }
};

// ---------------------------------------------------------------------------
// C3 on a lazy queue: a work queued for one CPU while it still runs on
// another, then waited for. Wa (queued for CPU 1 by thread 0) requeues
// itself for CPU 0 from its first run: the core finds it running on CPU
// 1's worker, skips it and is woken when that run ends (core_waiter_).
// Wb (queued for CPU 0 by thread 1, run by the core) queues X for CPU 1,
// requeues itself for CPU 1 (behind X) and flushes X: when CPU 1's worker
// is active it runs X, then takes Wb from its list while Wb may still run
// on the core, and waits for that run (engine_waiters_; no cycle: X, the
// work Wb waits for, ran ahead of Wb, so nothing waited behind that run;
// until session 14 a permanent edge from the worker to Wb made it one).
// With X
// on the core list instead (no active worker), Wb's flush is refused:
// X waits behind the core (C10). Each thread waits for both runs of its
// work with two flush_work calls. Never two runs of one work at once (C3,
// checked at every callback), each runs twice (C1, C2), each flush
// returns after the runs it covers (C10), and the only cycle ever
// reported is one an engine C3 wait closes.
struct LazyCollision : ModelBase<LazyCollision, 2, 5> {
  enum { Wa, Wb, X };
  void setup() {
    add_work([this](Work& w) {  // Wa
      if (tracks[Wa].starts == 1) MODEL_CHECK(wq->queue_work_on(0, w), "C2: Wa could not requeue itself from its run");
    });
    add_work([this](Work& w) {  // Wb
      if (tracks[Wb].starts != 1) return;
      MODEL_CHECK(wq->queue_work_on(1, *works[X]), "C1: first queueing of X returned false");
      MODEL_CHECK(wq->queue_work_on(1, w), "C2: Wb could not requeue itself from its run");
      try {
        eng->flush_work(*works[X]);
        MODEL_CHECK(tracks[X].ends == 1, "C10: Wb's flush_work(X) returned before X's run ended");
      } catch (const Error& e) {
        MODEL_CHECK(e.code() == Errc::deadlock, "C10: Wb's flush_work(X) failed with %s, not deadlock",
                    std::string(to_string(e.code())).c_str());
      }
    });
    add_work();  // X
  }
  void op(unsigned i) {
    Work& w = *works[i];
    MODEL_CHECK(wq->queue_work_on(i == 0 ? 1 : 0, w), "C1: first queueing of work %u returned false", i);
    eng->flush_work(w);
    MODEL_CHECK(tracks[i].ends >= 1, "C10: flush_work returned before work %u's first run ended", i);
    eng->flush_work(w);
    MODEL_CHECK(tracks[i].ends == 2, "C10: flush_work returned before work %u's second run (its requeue) ended", i);
  }
  void check_end() {
    for (size_t k = 0; k < 2; ++k)
      MODEL_CHECK(tracks[k].starts == 2, "C1/C3: work %zu ran %d times, not twice", k, tracks[k].starts);
    MODEL_CHECK(tracks[X].starts == 1, "C1: X ran %d times, not once", tracks[X].starts);
    for (const DependencyCycle& c : eng->dependency_cycles())
      MODEL_CHECK(!c.chain.empty() && c.chain[0].find("C3 wait") != std::string::npos,
                  "C16: a cycle reported by a wait that closes none: %s", c.describe().c_str());
  }
};

// ---------------------------------------------------------------------------
// Drain and destroy with timers still armed (C11, C14): A is armed with
// Duration::max() ("never": only a flush, a drain or a destroy fires it),
// B with 1 ms. Thread 0 arms A (a drain in progress refuses it); thread 1
// arms B and drains. drain fires every armed timer and waits: B has run
// when it returns, and so has A if it was armed before the drain began;
// an A armed after it is fired by destroy's drain. A never runs before a
// drain was called, and runs once if its arming was accepted.
struct DrainTimer : ModelBase<DrainTimer, 2, 3> {
  bool a_accepted = false;
  int a_returned_tick = 0;
  int drain_call_tick = 0;
  void setup() {
    add_delayed_work([](Work&) {});
    add_delayed_work([](Work&) {});
  }
  void op(unsigned i) {
    if (i == 0) {
      a_accepted = wq->queue_delayed_work_on(1, *dworks[0], Duration::max());
      a_returned_tick = ++tick;
    } else {
      MODEL_CHECK(wq->queue_delayed_work_on(0, *dworks[1], std::chrono::milliseconds(1)),
                  "C1: first queueing of B returned false");
      drain_call_tick = ++tick;
      wq->drain();
      MODEL_CHECK(tracks[1].ends == 1, "C11: drain_workqueue returned before B (armed before it) ran");
      MODEL_CHECK(!(a_accepted && a_returned_tick < drain_call_tick) || tracks[0].ends == 1,
                  "C11: drain_workqueue returned before A (armed, never due, before it) was fired and ran");
    }
  }
  void check_end() {
    MODEL_CHECK(tracks[0].starts == (a_accepted ? 1 : 0), "C14: A %s but ran %d times",
                a_accepted ? "armed (never due): destroy fires it," : "refused by the drain,", tracks[0].starts);
    MODEL_CHECK(tracks[0].starts == 0 || tracks[0].start_ticks[0] > drain_call_tick,
                "Durations: A, armed with Duration::max() (never), ran before any drain or destroy fired it");
  }
};

}  // namespace

LAZYWQ_MODEL_RUNNER(creation_failure, CreationFailure)
LAZYWQ_MODEL_RUNNER(creation_retry, CreationRetry)
LAZYWQ_MODEL_RUNNER(idle_exit, IdleExit)
LAZYWQ_MODEL_RUNNER(published_getters, PublishedGetters)
LAZYWQ_MODEL_RUNNER(late_queue, LateQueue)
LAZYWQ_MODEL_RUNNER(migration, Migration)
LAZYWQ_MODEL_RUNNER(pending, Pending)
LAZYWQ_MODEL_RUNNER(cancel, Cancel)
LAZYWQ_MODEL_RUNNER(flush_migration, FlushMigration)
LAZYWQ_MODEL_RUNNER(stats, Stats)
LAZYWQ_MODEL_RUNNER(delayed, Delayed)
LAZYWQ_MODEL_RUNNER(flush_drain, FlushDrain)
LAZYWQ_MODEL_RUNNER(hotplug, Hotplug)
LAZYWQ_MODEL_RUNNER(shared_hotplug, SharedHotplug)
LAZYWQ_MODEL_RUNNER(per_cpu, PerCpu)
LAZYWQ_MODEL_RUNNER(lazy_collision, LazyCollision)
LAZYWQ_MODEL_RUNNER(drain_timer, DrainTimer)

}  // namespace lazywq::models
