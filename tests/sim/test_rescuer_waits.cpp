// Rescuer waits that hung, found by the rescue scenario (issue #14) once
// one pool of one thread let it draw wait-for cycles while pool threads
// exist, by review and by a real-thread client: a cancel's turn held by
// the rescuer's own outer frame (cancel_work_sync takes turns: one
// canceller at a time holds the work's PENDING) or by a canceller stuck
// behind its stack; waits through queue flushes; a work inactive behind a
// running slot holder. The rescuer's flushes of queues:
// test_rescuer_queue_flushes.cpp; a rescuer left asleep while it has
// something to run: test_rescuer_kicks.cpp. Each test
// hung (or waited a cooldown) before its fix. Every stream here is also
// judged by the oracle, which rebuilds each refusal's reason and each
// nested run's purpose from the events (C16: a refusal where the wait
// could have returned is false; C7: the rescuer runs nested only what its
// wait waits for).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "lazywq/lazywq.hpp"
#include "sim/oracle.hpp"
#include "sim/platform_sim.hpp"
#include "sim/scenario.hpp"
#include "tests/sim/rescuer_test_kit.hpp"
#include "tests/sim/sim_test_world.hpp"

using namespace lazywq;
using namespace lazywq::sim;
using namespace lazywq::sim::rescuer_kit;

// x runs on CPU 0's one pool thread (the cap) and flushes z, queued behind
// a; only the rescuer can run them. It runs a: cancel_work_sync(x) takes
// x's turn and waits for x's run, so it runs z nested (x waits for it); z
// cancels x too, and waits for the turn its own outer frame holds. Before
// the fix: a hang. Now refused (Error(deadlock)) as a cycle through the
// rescuer's stack; z returns, x's flush returns, a's cancel returns. When
// the rescuer takes z first, z's cancel takes the turn and is refused for
// x's run instead (the chain x -> z ends on its stack).
TEST(ClientHangs, RescuerNestedCancelOfAWorkItIsCancellingIsRefused) {
  int nested_refusals = 0, runs = 0;
  for (DependencyCheck check : {DependencyCheck::off, DependencyCheck::report}) {
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      bool a_cancelling = false, z_refused_nested = false, requeued = false;
      std::string reports;
      int x_runs = 0;
      std::vector<Event> events;
      RunResult r = run_world(seed, strategy_for(seed), [&] {
        EngineConfig cfg = at_the_cap();
        cfg.dependency_check = check;
        SimEngine eng(cfg);
        SimWorkqueue& q = eng.create_workqueue("s", WqKind::shared);
        SimWork* xp = nullptr;
        SimWork a(
            [&](SimWork&) {
              a_cancelling = true;
              refused([&] { eng.cancel_work_sync(*xp); });
              a_cancelling = false;
            },
            "a");
        SimWork z(
            [&](SimWork&) {
              const bool nested = a_cancelling;  // z runs nested in a's cancel
              if (refused([&] { eng.cancel_work_sync(*xp); }) && nested) z_refused_nested = true;
            },
            "z");
        SimWork x(
            [&](SimWork&) {
              if (++x_runs > 1) return;
              q.queue_work_on(0, a);
              q.queue_work_on(0, z);
              eng.flush_work(z);
            },
            "x");
        xp = &x;
        q.queue_work_on(0, x);
        eng.flush_work(x);
        q.flush();
        requeued = q.queue_work_on(0, x);  // nothing was left taken: the turn, PENDING
        eng.flush_work(x);
        q.destroy();
        events = eng.events();
        for (const DependencyCycle& c : eng.dependency_cycles()) reports += c.describe() + "\n";
      });
      const std::string where = "check " + std::to_string(static_cast<int>(check)) + ", seed " + std::to_string(seed);
      ASSERT_EQ(r.status, RunStatus::ok) << where << ": " << r.message;
      EXPECT_TRUE(requeued) << where;
      // The report says whose turn it is (rescuer_wait@18d47e refused
      // before it said so).
      if (z_refused_nested) {  // (braces: gtest's EXPECT is an if/else)
        EXPECT_NE(reports.find("the turn is the rescuer's own"), std::string::npos) << where << ": " << reports;
      }
      EXPECT_EQ(oracle_verdict(events, 1), "") << where;
      nested_refusals += z_refused_nested;
      ++runs;
    }
  }
  EXPECT_GT(nested_refusals, 0) << "no run of " << runs << " reached the rescuer's nested cancel of x";
}

// The turn is a client's: it cancels x while x runs on the pool's one
// thread and waits for y, which only the rescuer runs. y cancels x: the
// client's turn ends only when x's run does, which waits for y on the
// rescuer's stack. Refused; before the fix, the rescuer waited for the
// turn for ever.
TEST(ClientHangs, RescuerWaitingForATurnWhoseHolderWaitsOnItsStackIsRefused) {
  int refusals = 0, runs = 0, turn_refusals = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    bool y_refused = false, x_started = false;
    std::string reports;
    std::vector<Event> events;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg = at_the_cap();
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("s", WqKind::shared);
      SimWork* xp = nullptr;
      SimWork y(
          [&](SimWork&) {
            y_refused = refused([&] { eng.cancel_work_sync(*xp); });
          },
          "y");
      SimWork x(
          [&](SimWork&) {
            x_started = true;
            q.queue_work_on(0, y);
            eng.flush_work(y);
          },
          "x");
      xp = &x;
      q.queue_work_on(0, x);
      while (!x_started) eng.sleep_for(std::chrono::microseconds(5));
      eng.cancel_work_sync(x);
      q.flush();
      q.destroy();
      events = eng.events();
      for (const DependencyCycle& c : eng.dependency_cycles()) reports += c.describe() + "\n";
    });
    ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << ": " << r.message;
    EXPECT_EQ(oracle_verdict(events, 1), "") << "seed " << seed;
    // A refusal while waiting for the turn (y may also take the turn
    // first and be refused waiting for x's run) names the link through
    // the turn's holder, the client's cancel waiting for x's run
    // (rescuer_wait@6bb408~1 named it for every wait but a turn's).
    if (reports.find("its turn to cancel_work_sync it") != std::string::npos) {
      ++turn_refusals;
      EXPECT_NE(reports.find("the turn's holder waits for the run of work 'x'"), std::string::npos)
          << "seed " << seed << ": " << reports;
    }
    refusals += y_refused;
    ++runs;
  }
  EXPECT_GT(refusals, 0) << "no run of " << runs << " refused y's cancel";
  EXPECT_GT(turn_refusals, 0) << "no run of " << runs << " refused y's wait for the client's turn";
}

// At the cap, x (queue q1) runs on CPU 0's one pool thread and flushes q2,
// where z waits. The rescuer runs z, whose flush_work(c) runs c nested; c
// cancels x: x's run waits in a flush of q2 that counts z, on the
// rescuer's own stack. Refused (the chain ends in a queue flush); before
// the fix the rescuer waited for ever.
TEST(ClientHangs, RescuerWaitThroughAQueueFlushCountingItsOwnRunIsRefused) {
  int refusals = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    bool c_refused = false;
    std::vector<Event> events;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg = at_the_cap();
      SimEngine eng(cfg);
      SimWorkqueue& q1 = eng.create_workqueue("q1", WqKind::shared);
      SimWorkqueue& q2 = eng.create_workqueue("q2", WqKind::shared);
      SimWork* xp = nullptr;
      SimWork c(
          [&](SimWork&) {
            c_refused = refused([&] { eng.cancel_work_sync(*xp); });
          },
          "c");
      SimWork z(
          [&](SimWork&) {
            q1.queue_work_on(0, c);
            eng.flush_work(c);
          },
          "z");
      SimWork x(
          [&](SimWork&) {
            q2.queue_work_on(0, z);
            q2.flush();
          },
          "x");
      xp = &x;
      q1.queue_work_on(0, x);
      eng.flush_work(x);
      q1.flush();
      q2.flush();
      q1.destroy();
      q2.destroy();
      events = eng.events();
    });
    ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << ": " << r.message;
    EXPECT_EQ(oracle_verdict(events, 1), "") << "seed " << seed;
    refusals += c_refused;
  }
  EXPECT_GT(refusals, 0) << "c's cancel was never refused";
}

// RescuerWaitRunsWhatAFlushedQueuesRunsElsewhereWaitFor (the rescuer runs
// what a flushed queue's runs elsewhere wait for) is checked, with its
// latency, by ClientHangs.TheRescuerIsWokenForAWorkItsNestedWaitNeeds in
// test_rescuer_kicks.cpp.

// Found by a real-thread client (issue #14). At the cap: x on CPU 0's one
// pool thread flushes r, queued behind it, so the rescuer runs r. r
// queues a on m (max_active 1) for CPU 1, whose pool thread runs a: a
// queues d for CPU 0 (only the rescuer can run it) and flushes d. r then
// queues b on m (inactive behind a) and flushes b. The rescuer followed
// b's slot only to m's works on a pool list, not to what a's runner
// waits for: d never ran, a hang (a flush of m completed: the queue
// flush follows a's runner).
TEST(ClientHangs, RescuerWaitForAnInactiveWorkFollowsARunningSlotHolder) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    int d_runs = 0;
    std::vector<Event> events;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg = at_the_cap();
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("q", WqKind::shared);
      SimWorkqueue& q2 = eng.create_workqueue("q2", WqKind::shared);
      WqOptions one;
      one.max_active = 1;
      SimWorkqueue& m = eng.create_workqueue("m", WqKind::shared, one);
      bool a_waiting = false;
      SimWork d([&](SimWork&) { ++d_runs; }, "d");
      SimWork a(
          [&](SimWork&) {
            q2.queue_work_on(0, d);
            a_waiting = true;
            eng.flush_work(d);
          },
          "a");
      SimWork b([](SimWork&) {}, "b");
      SimWork rw(
          [&](SimWork&) {
            m.queue_work_on(1, a);
            for (int i = 0; i < 200 && !a_waiting; ++i) ScenarioContext::sleep_ns(10'000);
            m.queue_work_on(1, b);
            eng.flush_work(b);
          },
          "r");
      SimWork x(
          [&](SimWork&) {
            q.queue_work_on(0, rw);
            eng.flush_work(rw);
          },
          "x");
      q.queue_work_on(0, x);
      eng.flush_work(x);
      q.destroy();
      q2.destroy();
      m.destroy();
      events = eng.events();
    });
    ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << ": " << r.message;
    EXPECT_EQ(d_runs, 1) << "seed " << seed;
    EXPECT_EQ(oracle_verdict(events, 1), "") << "seed " << seed;
  }
}
