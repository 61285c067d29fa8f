// C16 with armed timers: a wait for a delayed work waits for the order it
// will fire into, and for whatever holds that order up: a work running
// elsewhere queued ahead in it (a CPU worker will wait for that run, C3).
// The wait sees that when it begins (wait_targets walks the lists the
// timer fires onto), and a CPU worker that stalls later ties the waits for
// its CPU's timers (held_up_locked). Both were mutation survivors: no
// scenario had a timer behind a work running elsewhere.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "sim/platform_sim.hpp"
#include "sim/scenario.hpp"
#include "sim/world.hpp"
#include "tests/sim/c16_sweep.hpp"
#include "tests/sim/sim_test_world.hpp"

using namespace lazywq;
using namespace lazywq::sim;
using namespace lazywq::sim::c16;

// F, on single_thread r, flushes T, armed on per_cpu q for CPU 1 (50 ms:
// it fires after the untie). Then X, running on per_cpu p, queues itself
// on q's CPU 1 and flushes F. q's CPU 1 worker takes X and waits for its
// run elsewhere (C3): T, behind that worker, now waits for X's run. F ->
// T -> CPU 1's worker -> X's run -> F. The last edge is X's flush (refused
// in error mode) or the worker's C3 wait, whose tie must cover the waits
// for its CPU's timers (mutation testing: held_up_locked@645325 tied the
// other CPUs' timers: hung, unreported).
TEST(C16Timers, ATimerForACpuIsHeldUpByItsWorkersC3Wait) {
  Sweep sw;
  sweep_closing(sw, 400, [&]() -> Outcome {
    EngineConfig cfg;
    cfg.ncpus = 3;
    cfg.dependency_check = DependencyCheck::error;
    SimEngine eng(cfg);
    SimWorkqueue& q = eng.create_workqueue("q", WqKind::per_cpu);
    SimWorkqueue& p = eng.create_workqueue("p", WqKind::per_cpu);
    SimWorkqueue& rq = eng.create_workqueue("r", WqKind::single_thread);
    SimDelayedWork t([](SimWork&) {}, "T");
    bool x_done = false, f_done = false, first = true;
    SimWork f(
        [&](SimWork&) {
          try {
            eng.flush_work(t);
          } catch (const Error&) {
          }
          f_done = true;
        },
        "F");
    SimWork x(
        [&](SimWork& self) {
          if (!first) return;  // its run on q's CPU 1
          first = false;
          ScenarioContext::sleep_ns(20'000);  // F's flush begins meanwhile
          q.queue_work_on(1, self);
          try {
            eng.flush_work(f);
          } catch (const Error&) {
          }
          x_done = true;
        },
        "X");
    q.queue_delayed_work_on(1, t, std::chrono::milliseconds(50));
    rq.queue_work(f);
    p.queue_work_on(0, x);
    Outcome o = wait_then_untie(eng, x_done, f_done, [&] { eng.cancel_delayed_work(t); });
    eng.flush_work(x);
    eng.flush_work(f);
    q.destroy();
    p.destroy();
    rq.destroy();
    return o;
  });
  EXPECT_EQ(sw.stuck_unreported, 0) << "a wait-for cycle hung, unreported; first: " << sw.first_unreported;
  EXPECT_GT(sw.stuck_reported, 0) << "the worker's C3 wait never closed the cycle: the test no longer reaches it";
}

// The same cycle closed by the wait for the timer itself, which must then
// be refused (error mode): q's CPU 1 worker is busy with W0 (100 us), X,
// running on p, is queued behind it on CPU 1's list and flushes F; then F
// flushes T, armed for CPU 1. T fires behind X, whose run waits for F: the
// wait sees X ahead in the list it fires onto and is refused (or X's
// flush is, when it comes second). Mutation testing: wait_targets@3c0436
// (that list never walked for a timer of the worker's CPU), @92e552 (the
// walk keeping only the other orders) and @662c75~2 (only the works that
// do not run) let the wait in; the worker's tie reported the cycle later,
// with both waits hung: a refusal the contract owes (C16) became a hang.
TEST(C16Timers, AWaitForATimerBehindAWorkRunningElsewhereIsRefused) {
  int runs = 0, refused_runs = 0, stuck = 0;
  std::string first_not_refused;
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    const char* strategy = strategy_for(seed);
    bool refused = false;
    Outcome o;
    RunResult r = run_world(seed, strategy, [&] {
      EngineConfig cfg;
      cfg.ncpus = 3;
      cfg.dependency_check = DependencyCheck::error;
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("q", WqKind::per_cpu);
      SimWorkqueue& p = eng.create_workqueue("p", WqKind::per_cpu);
      SimWorkqueue& rq = eng.create_workqueue("r", WqKind::single_thread);
      SimDelayedWork t([](SimWork&) {}, "T");
      SimWork w0([](SimWork&) { ScenarioContext::sleep_ns(100'000); }, "W0");
      bool x_done = false, f_done = false, x_queued = false, first = true;
      SimWork f(
          [&](SimWork&) {
            while (!x_queued) ScenarioContext::sleep_ns(5'000);
            try {
              eng.flush_work(t);
            } catch (const Error&) {
              refused = true;
            }
            f_done = true;
          },
          "F");
      SimWork x(
          [&](SimWork& self) {
            if (!first) return;  // its run on q's CPU 1
            first = false;
            q.queue_work_on(1, self);  // behind W0's run
            x_queued = true;
            try {
              eng.flush_work(f);
            } catch (const Error&) {
              refused = true;
            }
            x_done = true;
          },
          "X");
      q.queue_work_on(1, w0);
      q.queue_delayed_work_on(1, t, std::chrono::milliseconds(50));
      rq.queue_work(f);
      p.queue_work_on(0, x);
      o = wait_then_untie(eng, x_done, f_done, [&] { eng.cancel_delayed_work(t); });
      eng.flush_work(x);
      eng.flush_work(f);
      q.destroy();
      p.destroy();
      rq.destroy();
    });
    ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << " " << strategy << ": " << r.message;
    ++runs;
    refused_runs += refused;
    stuck += o.stuck;
    if (!refused && first_not_refused.empty()) first_not_refused = "seed " + std::to_string(seed) + " " + strategy;
  }
  EXPECT_EQ(refused_runs, runs) << "a wait that closed the cycle was let in (" << stuck
                                << " runs hung until the untie); first: " << first_not_refused;
}
