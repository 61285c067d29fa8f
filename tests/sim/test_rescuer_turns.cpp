// The rescuer waiting for a cancel's turn (cancel_work_sync takes turns:
// one canceller at a time holds the work's PENDING). Found by the rescue
// scenario once one pool of one thread let it draw wait-for cycles while
// pool threads exist (issue #14): the rescuer, inside a cancel_work_sync
// of x, ran nested a work that cancelled x again and waited for a turn
// only its own outer frame could release: a hang. Every stream here is
// also judged by the oracle, which rebuilds each refusal's reason from the
// events (C16: a refusal where the wait could have returned is false).
#include <gtest/gtest.h>

#include <string>

#include "lazywq/lazywq.hpp"
#include "sim/oracle.hpp"
#include "sim/platform_sim.hpp"
#include "sim/scenario.hpp"
#include "tests/sim/sim_test_world.hpp"

using namespace lazywq;
using namespace lazywq::sim;

namespace {

std::string oracle_verdict(const std::vector<Event>& events, int max_workers) {
  check::OracleOptions o;
  o.ncpus = 2;
  o.max_workers_per_pool = max_workers;
  std::string out;
  for (const check::Violation& v : check::check_events(events, o)) out += v.rule + ": " + v.message + "\n";
  return out;
}

}  // namespace

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
      int x_runs = 0;
      std::vector<Event> events;
      RunResult r = run_world(seed, strategy_for(seed), [&] {
        EngineConfig cfg;
        cfg.ncpus = 2;
        cfg.dependency_check = check;
        cfg.max_workers_per_pool = 1;
        cfg.stall_timeout = Duration::zero();
        cfg.record_events = true;
        SimEngine eng(cfg);
        SimWorkqueue& q = eng.create_workqueue("s", WqKind::shared);
        SimWork* xp = nullptr;
        SimWork a(
            [&](SimWork&) {
              a_cancelling = true;
              try {
                eng.cancel_work_sync(*xp);
              } catch (const Error& e) {
                if (e.code() != Errc::deadlock) throw;
              }
              a_cancelling = false;
            },
            "a");
        SimWork z(
            [&](SimWork&) {
              try {
                eng.cancel_work_sync(*xp);
              } catch (const Error& e) {
                if (e.code() != Errc::deadlock) throw;
                if (a_cancelling) z_refused_nested = true;
              }
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
      });
      const std::string where = "check " + std::to_string(static_cast<int>(check)) + ", seed " + std::to_string(seed);
      ASSERT_EQ(r.status, RunStatus::ok) << where << ": " << r.message;
      EXPECT_TRUE(requeued) << where;
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
  int refusals = 0, runs = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    bool y_refused = false, x_started = false;
    std::vector<Event> events;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.max_workers_per_pool = 1;
      cfg.stall_timeout = Duration::zero();
      cfg.record_events = true;
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("s", WqKind::shared);
      SimWork* xp = nullptr;
      SimWork y(
          [&](SimWork&) {
            try {
              eng.cancel_work_sync(*xp);
            } catch (const Error& e) {
              if (e.code() != Errc::deadlock) throw;
              y_refused = true;
            }
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
    });
    ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << ": " << r.message;
    EXPECT_EQ(oracle_verdict(events, 1), "") << "seed " << seed;
    refusals += y_refused;
    ++runs;
  }
  EXPECT_GT(refusals, 0) << "no run of " << runs << " refused y's cancel";
}
