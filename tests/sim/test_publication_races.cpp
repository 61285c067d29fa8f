// What the engine publishes through a work to a thread that has never
// synchronized with the work's queue: a flusher that started before the
// queue existed learns it only through BasicWork::home_, stored with
// release when the work is queued. The simulator's happens-before check
// (sim/happens_before.hpp) sees the flusher lock a queue mutex whose
// construction nothing orders before it if that store is relaxed: the
// insert_locked@b9aaa2 family of mutants (mutation/survivors.txt), which
// ThreadSanitizer sees only in a window of a few instructions.
#include <gtest/gtest.h>

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

