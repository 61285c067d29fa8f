// C16: wait-for cycles whose last edge is not a wait. A caller's wait adds
// its edges when it begins; these cycles close later, when the engine
// itself makes a work wait behind a run elsewhere (C3): a queue's core
// skipping a work of its order, a pool thread taking a work into an
// ordered shared queue's one active slot. Each is noted when it happens
// (note_core_skip, pool_dispatch_locked) and reported. Both hung in error
// mode with no cycle reported until session 14 (the dependency scenario's
// shapes found them: seeds 506 and 25675 in tests/sim Regressions); here
// each is pinned by hand, over every schedule the simulator draws.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "sim/platform_sim.hpp"
#include "sim/scenario.hpp"
#include "sim/world.hpp"
#include "tests/sim/sim_test_world.hpp"

using namespace lazywq;
using namespace lazywq::sim;

namespace {

// One run of a cycle the engine may close on its own. The main thread
// waits (virtual time) until both waiters are done or a cycle is reported;
// then it breaks the cycle from outside (`untie`) so the run always ends.
// `stuck`: both waiters were still waiting when it gave up, 20 ms of
// virtual time later, far beyond any run here.
struct Outcome {
  bool stuck = false;
  bool reported = false;
};

template <class Untie>
Outcome wait_then_untie(SimEngine& eng, const bool& first_done, const bool& second_done, Untie&& untie) {
  for (int i = 0; i < 400 && !(first_done && second_done) && eng.stats().dependency_cycles == 0; ++i)
    ScenarioContext::sleep_ns(50'000);
  Outcome o;
  o.reported = eng.stats().dependency_cycles > 0;
  o.stuck = !first_done && !second_done;
  untie();
  return o;
}

// A sweep over seeds and strategies: a run may end with no cycle formed, a
// refusal, or a report, but never stuck with nothing reported.
struct Sweep {
  int stuck_reported = 0;  // the cycle's last edge was the engine's own, and it was reported
  int stuck_unreported = 0;
  int reported = 0;
  std::string first_unreported;

  void add(uint64_t seed, const char* strategy, const RunResult& r, const Outcome& o) {
    ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << " " << strategy << ": " << r.message;
    reported += o.reported;
    if (!o.stuck) return;
    if (o.reported) {
      ++stuck_reported;
    } else if (stuck_unreported++ == 0) {
      first_unreported = "seed " + std::to_string(seed) + " " + strategy;
    }
  }
};

}  // namespace

// Y runs on per_cpu q2 and queues itself on single_thread q1 while it
// runs: q1's core skips it (C3), and its order, T's timer behind it
// included, waits for Y's run. A, on q2's other CPU, flushes T, armed on
// q1 before anything ran; Y then flushes A. A -> q1's order -> Y -> A.
// Which edge comes last depends on the schedule: Y's flush or A's
// (refused in error mode), or the core's skip, which nothing can refuse
// and which used to add no edge: the two waits then hung, unreported.
TEST(C16LateEdges, ACoreSkippingAWorkRunningElsewhereClosesACycle) {
  Sweep sw;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    const char* strategy = strategy_for(seed);
    Outcome o;
    RunResult r = run_world(seed, strategy, [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.dependency_check = DependencyCheck::error;
      SimEngine eng(cfg);
      SimWorkqueue& q1 = eng.create_workqueue("q1", WqKind::single_thread);
      SimWorkqueue& q2 = eng.create_workqueue("q2", WqKind::per_cpu);
      SimDelayedWork t([](SimWork&) {}, "T");
      bool a_done = false, y_done = false;
      SimWork a(
          [&](SimWork&) {
            try {
              eng.flush_work(t);
            } catch (const Error&) {
            }
            a_done = true;
          },
          "A");
      int y_runs = 0;
      SimWork y(
          [&](SimWork& self) {
            if (y_runs++ != 0) return;
            q1.queue_work(self);
            try {
              eng.flush_work(a);
            } catch (const Error&) {
            }
            y_done = true;
          },
          "Y");
      q1.queue_delayed_work(t, std::chrono::microseconds(200));
      q2.queue_work_on(0, a);
      q2.queue_work_on(1, y);
      o = wait_then_untie(eng, a_done, y_done, [&] { eng.cancel_delayed_work(t); });
      eng.flush_work(y);
      eng.flush_work(a);
      q1.destroy();
      q2.destroy();
    });
    sw.add(seed, strategy, r, o);
  }
  EXPECT_EQ(sw.stuck_unreported, 0) << "a wait-for cycle hung, unreported; first: " << sw.first_unreported;
  EXPECT_GT(sw.stuck_reported, 0) << "the core's skip never closed the cycle: the test no longer reaches it";
}

// H holds ordered shared queue o's one active slot (a long run). Y, running
// on per_cpu q2, queues itself on o (inactive behind H), then B behind
// itself, and flushes B: B waits for the slot. When H ends, the slot
// passes to Y, whose run is elsewhere (C3): the slot now waits for Y's run,
// which waits for B, behind the slot. That last edge is the pool's, when
// a pool thread takes Y; it used to add none: Y hung, unreported.
Outcome slot_handover(SimEngine& eng) {
  SimWorkqueue& ord = eng.create_workqueue("o", WqKind::shared, WqOptions{.ordered = true});
  SimWorkqueue& q2 = eng.create_workqueue("q2", WqKind::per_cpu);
  SimWork h([](SimWork&) { ScenarioContext::sleep_ns(100'000); }, "H");
  SimWork b([](SimWork&) {}, "B");
  bool y_done = false;
  int y_runs = 0;
  SimWork y(
      [&](SimWork& self) {
        if (y_runs++ != 0) return;
        ord.queue_work(self);
        ord.queue_work(b);
        try {
          eng.flush_work(b);
        } catch (const Error&) {
        }
        y_done = true;
      },
      "Y");
  ord.queue_work(h);
  q2.queue_work_on(1, y);
  // Y is the only waiter; untied by cancelling B, the work it waits for.
  Outcome o = wait_then_untie(eng, y_done, y_done, [&] { eng.cancel_work(b); });
  eng.flush_work(y);
  ord.flush();
  ord.destroy();
  q2.destroy();
  return o;
}

TEST(C16LateEdges, AWorkRunningElsewhereTakingAnOrderedSlotClosesACycle) {
  Sweep sw;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    const char* strategy = strategy_for(seed);
    Outcome o;
    RunResult r = run_world(seed, strategy, [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.dependency_check = DependencyCheck::error;
      SimEngine eng(cfg);
      o = slot_handover(eng);
    });
    sw.add(seed, strategy, r, o);
  }
  EXPECT_EQ(sw.stuck_unreported, 0) << "a wait-for cycle hung, unreported; first: " << sw.first_unreported;
  EXPECT_GT(sw.stuck_reported, 0) << "the slot's hand-over never closed the cycle: the test no longer reaches it";
}

// The engine keeps the first 64 chains and counts every cycle, those its
// own waits close too: 64 cycles closed by callers' waits, then the slot's
// hand-over's, is 65 counted and 64 kept (mutation testing: off_by_one
// note_run_wait@8dce31, `<` to `<=`, kept a 65th and survived every
// checker; it needed exactly this, 64 cycles then one the engine closes).
TEST(C16LateEdges, ACycleTheEngineClosesAfterSixtyFourIsCountedNotKept) {
  uint64_t counted = 0, kept = 0;
  Outcome o;
  RunResult r = run_world(1, "random", [&] {
    EngineConfig cfg;
    cfg.ncpus = 2;
    cfg.dependency_check = DependencyCheck::report;
    SimEngine eng(cfg);
    SimWorkqueue& q = eng.create_workqueue("q", WqKind::lazy);
    bool armed = false;
    std::vector<std::unique_ptr<SimWork>> as, bs;
    for (int i = 0; i < 64; ++i) {
      as.push_back(std::make_unique<SimWork>([&, i](SimWork&) { if (armed) eng.flush_work(*bs[static_cast<size_t>(i)]); },
                                             "a" + std::to_string(i)));
      bs.push_back(std::make_unique<SimWork>([&, i](SimWork&) { if (armed) eng.flush_work(*as[static_cast<size_t>(i)]); },
                                             "b" + std::to_string(i)));
    }
    for (auto* list : {&as, &bs})  // identities first: a work never queued is nothing to wait for
      for (auto& w : *list) {
        q.queue_work_on(1, *w);
        eng.flush_work(*w);
      }
    armed = true;
    for (int i = 0; i < 64; ++i)  // b waits for a, then a for b: a cycle each
      for (SimWork* w : {bs[static_cast<size_t>(i)].get(), as[static_cast<size_t>(i)].get()}) {
        q.queue_work_on(1, *w);
        eng.flush_work(*w);
      }
    q.destroy();
    o = slot_handover(eng);
    counted = eng.stats().dependency_cycles;
    kept = eng.dependency_cycles().size();
  });
  ASSERT_EQ(r.status, RunStatus::ok) << r.message;
  ASSERT_TRUE(o.stuck && o.reported) << "the hand-over did not close the 65th cycle: the test no longer reaches it";
  EXPECT_EQ(counted, 65u);
  EXPECT_EQ(kept, 64u) << "the first 64 are kept";
}
