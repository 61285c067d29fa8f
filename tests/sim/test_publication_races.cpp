// What the engine publishes through a work to a thread that has never
// synchronized with the work's queue: a flusher that started before the
// queue existed learns it only through BasicWork::home_, stored with
// release when the work is queued. The simulator's happens-before check
// (sim/happens_before.hpp) sees the flusher lock a queue mutex whose
// construction nothing orders before it if that store is relaxed: the
// insert_locked@b9aaa2 family of mutants (mutation/regressions.txt), which
// ThreadSanitizer sees only in a window of a few instructions. A shared
// queue's lock is the engine's S, made with the engine: there the check
// sees the flusher read the queue's lock_addr_ (home_lock) unordered after
// the constructor (insert_shared_locked@b9aaa2).
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "sim/platform_sim.hpp"
#include "sim/runner.hpp"
#include "sim/scenario.hpp"
#include "sim/world.hpp"
#include "tests/sim/sim_test_world.hpp"

using namespace lazywq;
using namespace lazywq::sim;

namespace {

enum class Path { cpu_list, core_list, timer };

const char* to_string(Path p) { return p == Path::cpu_list ? "cpu_list" : p == Path::core_list ? "core_list" : "timer"; }

// One run. The work `w` is bound to the engine first (queued on an early
// queue and flushed), so its later queueing publishes nothing but the new
// queue. Then a callback on the early queue's CPU 1 worker flushes `w`
// again and again (a flush from a callback reads home_ and locks that
// queue to judge the wait, C16; flush_delayed_work fires the timer under
// it), while the creator, a thread the worker never synchronized with,
// creates the late queue and queues `w` on it: on CPU 1's list, on the
// core's list (CPU 1 offline for the late queue's lazy kinds: moved to
// the core) or armed on a timer.
RunResult run_late_queue(uint64_t seed, WqKind kind, Path path) {
  return run_world(seed, strategy_for(seed), [&] {
    EngineConfig cfg;
    cfg.ncpus = 3;
    cfg.record_events = false;  // the event log's lock would order everything
    SimEngine eng(cfg);
    SimWorkqueue& early = eng.create_workqueue("early", WqKind::lazy);
    SimDelayedWork w([](SimWork&) {}, "w");
    early.queue_work_on(0, w);
    eng.flush_work(w);
    SimWork flusher(
        [&](SimWork&) {
          for (int i = 0; i < 12; ++i) {
            if (path == Path::timer)
              eng.flush_delayed_work(w);
            else
              eng.flush_work(w);
            SimPlatform::yield();
          }
        },
        "flusher");
    early.queue_work_on(1, flusher);
    SimPlatform::Thread creator = *SimPlatform::spawn(0, "creator", [&] {
      SimWorkqueue& late = eng.create_workqueue("late", kind);
      if (path == Path::timer)
        late.queue_delayed_work_on(2, w, std::chrono::microseconds(50));
      else
        late.queue_work_on(path == Path::core_list ? 0 : 2, w);
      eng.flush_delayed_work(w);
    });
    creator.join();
    eng.flush_work(flusher);
  });
}

}  // namespace

TEST(PublicationRaces, AFlusherThatLearnsAQueueOnlyThroughItsWorkIsOrderedAfterTheQueue) {
  int runs = 0;
  for (WqKind kind : {WqKind::lazy, WqKind::per_cpu, WqKind::shared}) {
    for (Path path : {Path::cpu_list, Path::core_list, Path::timer}) {
      for (uint64_t seed = 1; seed <= 60; ++seed) {
        const RunResult r = run_late_queue(seed, kind, path);
        ASSERT_EQ(r.status, RunStatus::ok) << to_string(kind) << " " << to_string(path) << " seed " << seed << " ("
                                           << strategy_for(seed) << "): " << r.message;
        ++runs;
      }
    }
  }
  EXPECT_EQ(runs, 540);
}


// The rescuer's flush judges each work of its wait chain by the queue the
// work's home_ names (is it shared, and the work waiting for a slot?). A
// flush's own work needs no more: the flush read its queueing count with
// acquire. A later work of the chain does: here the rescuer (running a, at
// the cap of CPU 1's one-thread pool, whose thread blocks in b's flush of
// c) flushes c, whose runner (a single_thread queue's core) waits in a
// flush of d, running on another queue's core; meanwhile the creator, a
// thread the rescuer never synchronized with, makes a queue of its own
// (its core busy with m0, so no thread of it touches d) and queues d there
// while d runs, after c's flush read d's count. The rescuer must read that
// queue's kind ordered after its construction (d's home_ loaded with
// acquire): the relaxed load of rescuer_wait/4@37fd01 reads kind_
// unordered (mutation/survivors.txt). Events stay off: their lock would
// order everything.
TEST(PublicationRaces, TheRescuerJudgesAQueueItLearnsOnlyThroughAWorkOrderedAfterTheQueue) {
  int bad = 0, reached = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    bool rescued = false;
    const RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.max_workers_per_pool = 1;
      cfg.record_events = false;
      SimEngine eng(cfg);
      SimWorkqueue& s = eng.create_workqueue("s", WqKind::shared);
      SimWorkqueue& runs_d = eng.create_workqueue("runs_d", WqKind::single_thread);
      SimWorkqueue& runs_c = eng.create_workqueue("runs_c", WqKind::single_thread);
      // Plain flags: no edge the simulator knows, as a client's own memory.
      std::atomic<bool> d_started{false}, c_flushing{false}, d_requeued{false}, release_d{false};
      std::atomic<bool> m0_started{false}, release_m0{false};
      std::atomic<int> d_runs{0};
      auto wait_for = [](const std::atomic<bool>& f) {
        while (!f.load()) ScenarioContext::sleep_ns(1'000);
      };
      SimWork d([&](SimWork&) {
        if (d_runs.fetch_add(1) > 0) return;
        d_started = true;
        wait_for(release_d);
      }, "d");
      SimWork c([&](SimWork&) {
        c_flushing = true;
        eng.flush_work(d);
      }, "c");
      SimWork m0([&](SimWork&) {
        m0_started = true;
        wait_for(release_m0);
      }, "m0");
      SimWork b([&](SimWork&) { eng.flush_work(c); }, "b");
      SimWork a([&](SimWork&) {
        rescued = World::current()->thread_name(World::current()->self()) == "wq/rescuer";
        wait_for(d_requeued);
        eng.flush_work(c);
      }, "a");
      SimWorkqueue* late = nullptr;
      SimPlatform::Thread creator = *SimPlatform::spawn(0, "creator", [&] {
        late = &eng.create_workqueue("late", WqKind::single_thread);
        late->queue_work_on(0, m0);
        wait_for(m0_started);
        wait_for(c_flushing);
        ScenarioContext::sleep_ns(20'000);  // after c's flush read d's count
        EXPECT_TRUE(late->queue_work_on(0, d));  // d runs on runs_d's core: a second queueing
        d_requeued = true;
      });
      runs_d.queue_work_on(0, d);
      wait_for(d_started);
      runs_c.queue_work_on(0, c);
      s.queue_work_on(1, b);  // CPU 1's one pool thread blocks in b's flush of c
      ScenarioContext::sleep_ns(50'000);
      s.queue_work_on(1, a);  // at the cap: the rescuer runs a
      wait_for(d_requeued);
      ScenarioContext::sleep_ns(200'000);  // the rescuer looks at c's chain meanwhile
      release_d = true;
      release_m0 = true;
      eng.flush_work(a);
      eng.flush_work(b);
      creator.join();
      eng.flush_work(d);
      late->destroy();
      runs_c.destroy();
      runs_d.destroy();
      s.destroy();
    });
    if (r.status != RunStatus::ok && ++bad == 1)
      first = "seed " + std::to_string(seed) + " (" + strategy_for(seed) + "): " + to_string(r.status) + ": " + r.message;
    reached += rescued;
  }
  EXPECT_EQ(bad, 0) << first;
  EXPECT_GT(reached, 0) << "the rescuer should run a: the test no longer reaches the shape";
}

// A cancel_work_sync the rescuer is refused hands PENDING back with
// release, after the grab unlinked the pending queueing under the old
// queue's lock (where_ and the lists): whoever takes PENDING next and
// queues the work elsewhere, under another lock, is ordered after that
// unlink only through this release (the grab's own acq_rel RMW heads a
// release sequence that orders only what came before it). Here the
// rescuer runs a (creation failing for good), whose cancel_work_sync(w)
// grabs w's queueing pending behind w's own run on st, whose callback
// waits for a: refused. A client that never synchronized with the rescuer
// then queues w on st2. With the release relaxed (mutant relax_order
// cancel_work_sync@801f72) the simulator's race check sees st2's insert
// write where_ unordered after the unlink. Events stay off: their lock
// would order everything.
TEST(PublicationRaces, AQueueingAfterTheRescuersRefusedCancelIsOrderedAfterItsGrab) {
  int bad = 0, refusals = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    bool refused = false;
    const RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.record_events = false;
      SimEngine eng(cfg);
      SimWorkqueue& s = eng.create_workqueue("s", WqKind::shared);
      SimWorkqueue& st = eng.create_workqueue("st", WqKind::single_thread);
      SimWorkqueue& st2 = eng.create_workqueue("st2", WqKind::single_thread);
      eng.set_spawn_faults({.fail_always = true});
      // Plain flags: no edge the simulator knows, as a client's own memory.
      std::atomic<bool> a_running{false}, w_waiting{false}, cancel_done{false};
      std::atomic<int> w_runs{0};
      auto wait_for = [](const std::atomic<bool>& f) {
        for (int k = 0; k < 2000 && !f.load(); ++k) ScenarioContext::sleep_ns(1'000);
      };
      SimWork* ap = nullptr;
      SimWork w([&](SimWork&) {
        if (w_runs.fetch_add(1) > 0) return;
        wait_for(a_running);
        w_waiting = true;
        eng.flush_work(*ap);  // a runs on the rescuer: this run ends after a's
      }, "w");
      SimWork a([&](SimWork&) {
        a_running = true;
        wait_for(w_waiting);
        ScenarioContext::sleep_ns(20'000);  // w waits in its flush of a by now
        try {
          eng.cancel_work_sync(w);
        } catch (const Error& e) {
          if (e.code() != Errc::deadlock) throw;
          refused = true;
        }
        cancel_done = true;
      }, "a");
      ap = &a;
      SimPlatform::Thread client = *SimPlatform::spawn(0, "client", [&] {
        st.queue_work(w);  // its run waits for a
        while (w_runs.load() == 0) ScenarioContext::sleep_ns(1'000);
        st.queue_work(w);  // pending behind that run: the cancel grabs it
        wait_for(cancel_done);
        st2.queue_work(w);  // PENDING handed back by the refused cancel
      });
      while (w_runs.load() == 0) ScenarioContext::sleep_ns(1'000);
      ScenarioContext::sleep_ns(5'000);
      s.queue_work_on(1, a);  // no thread can be had: the rescuer runs a
      client.join();
      eng.flush_work(a);
      st.flush();
      st2.flush();
      eng.set_spawn_faults({});
      for (SimWorkqueue* q : {&s, &st, &st2}) q->destroy();
    });
    if (r.status != RunStatus::ok && ++bad == 1)
      first = "seed " + std::to_string(seed) + " (" + strategy_for(seed) + "): " + to_string(r.status) + ": " + r.message;
    refusals += refused;
  }
  EXPECT_EQ(bad, 0) << first;
  EXPECT_GT(refusals, 0) << "the rescuer's cancel should be refused: the test no longer reaches the shape";
}
