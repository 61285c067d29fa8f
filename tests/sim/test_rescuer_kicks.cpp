// The rescuer's latency (issue #14): what gives the rescuer something to
// run while it sleeps, in its loop or in a callback's engine wait, must
// wake it then, not at its next look every rescue_poll_ns() (the
// spawn_cooldown: 100 ms by default, up to 1 s). A real-thread client saw
// each of these shapes that late. The bounds are in the simulator's
// virtual time, never a wall clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <memory>
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

namespace {

// The virtual time from the end of `id`'s run number `n` (from 0) to the
// start of its next run; -1 if the stream has no such pair.
int64_t gap_after_run(const std::vector<Event>& events, uint64_t id, size_t n) {
  std::vector<int64_t> begins, ends;
  for (const Event& e : events) {
    if (e.work != id) continue;
    if (e.type == EventType::exec_begin) begins.push_back(e.time_ns);
    if (e.type == EventType::exec_end) ends.push_back(e.time_ns);
  }
  if (ends.size() <= n || begins.size() <= n + 1) return -1;
  return begins[n + 1] - ends[n];
}

}  // namespace

// Two pools at their cap (one thread each). p (q1) runs on CPU 1's thread
// and flushes q2, whose a runs on CPU 0's thread; the rescuer runs c,
// which flushes p. Then a flushes b, queued behind it on CPU 0: only the
// rescuer can run b, and its wait for p waits for b through p's queue
// flush and a's run. It must run b nested (no cycle here; before its fix
// it followed the chain only up to p's queue flush and waited for ever),
// and at once: b becomes something only the rescuer can run while it
// sleeps in c's flush_work(p), and it must run b then, not at its next
// look, every spawn_cooldown (100 ms here, the default): a real-thread
// client saw b start 99 ms after its queueing in every run, 1 s with the
// largest cooldown. Virtual time: the bound is the simulator's, not a
// wall clock.
TEST(ClientHangs, TheRescuerIsWokenForAWorkItsNestedWaitNeeds) {
  int64_t worst_ns = 0;
  int shaped = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    bool c_waiting = false, b_after_c = false;
    std::vector<Event> events;
    uint64_t b_id = 0;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg = at_the_cap();
      cfg.spawn_cooldown = std::chrono::milliseconds(100);
      SimEngine eng(cfg);
      SimWorkqueue& q1 = eng.create_workqueue("q1", WqKind::shared);
      SimWorkqueue& q2 = eng.create_workqueue("q2", WqKind::shared);
      SimWork* pp = nullptr;
      SimWork b([&](SimWork&) { b_after_c = c_waiting; }, "b");
      SimWork c(
          [&](SimWork&) {
            c_waiting = true;
            eng.flush_work(*pp);
            c_waiting = false;
          },
          "c");
      SimWork a(
          [&](SimWork&) {
            for (int i = 0; i < 200 && !c_waiting; ++i) ScenarioContext::sleep_ns(10'000);
            q1.queue_work_on(0, b);
            b_id = b.id();
            eng.flush_work(b);
          },
          "a");
      SimWork p(
          [&](SimWork&) {
            q1.queue_work_on(1, c);
            q2.flush();
          },
          "p");
      pp = &p;
      q2.queue_work_on(0, a);
      q1.queue_work_on(1, p);
      eng.flush_work(p);
      eng.flush_work(a);
      q1.flush();
      q1.destroy();
      q2.destroy();
      events = eng.events();
    });
    ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << ": " << r.message;
    EXPECT_EQ(oracle_verdict(events, 1), "") << "seed " << seed;
    if (!b_after_c) continue;
    ++shaped;
    int64_t queued = -1, started = -1;
    for (const Event& e : events) {
      if (e.work != b_id) continue;
      if (e.type == EventType::queue && queued < 0) queued = e.time_ns;
      if (e.type == EventType::exec_begin && started < 0) started = e.time_ns;
    }
    ASSERT_GE(queued, 0) << "seed " << seed;
    ASSERT_GE(started, queued) << "seed " << seed;
    worst_ns = std::max(worst_ns, started - queued);
  }
  ASSERT_GT(shaped, 0) << "b never ran while c waited for p";
  // Far below the 100 ms poll: the kick comes when a's flush_work(b)
  // leaves the pool with no thread to run b.
  EXPECT_LT(worst_ns, 5'000'000) << "b waited " << worst_ns / 1000 << " us of virtual time for the rescuer";
}

// How the rescuer waits for w, in TheEndOfARunElsewhereWakesTheRescuer...:
// in r's wait (three kinds), or in its own loop (x waits for w itself).
enum class RescuedWait { flush_work, queue_flush, behind_slot, in_its_loop };

// Found by a real-thread client (issue #14). At the cap: x on CPU 0's one
// pool thread flushes r, queued behind it, so the rescuer runs r. r queues
// w on a shared queue for CPU 0 while w still runs on a single_thread
// queue's worker, then waits: for v (CPU 1), which flushes w; or in a
// flush of q2, which holds w and v; or for b, inactive behind w in a
// max_active 1 queue. Or x itself queues w and flushes it: the rescuer
// waits in its loop, not nested. Only the rescuer can run w, and not before its run
// on st's worker ends (C3): it skips w and sleeps in its wait. The end of
// that run must wake it (the client saw it ~80 ms late at the default
// cooldown, ~980 ms at the largest: the end woke only w's own waiters).
TEST(ClientHangs, TheEndOfARunElsewhereWakesTheRescuerForTheWorkQueuedMeanwhile) {
  for (RescuedWait how :
       {RescuedWait::flush_work, RescuedWait::queue_flush, RescuedWait::behind_slot, RescuedWait::in_its_loop}) {
    const int variant = static_cast<int>(how);
    int64_t worst_ns = 0;
    int shaped = 0;
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      int w_runs = 0;
      bool waiting = false, rescued_w = false;
      std::vector<Event> events;
      uint64_t w_id = 0;
      RunResult r = run_world(seed, strategy_for(seed), [&] {
        EngineConfig cfg = at_the_cap();
        cfg.spawn_cooldown = std::chrono::milliseconds(100);
        SimEngine eng(cfg);
        SimWorkqueue& st = eng.create_workqueue("st", WqKind::single_thread);
        SimWorkqueue& q1 = eng.create_workqueue("q1", WqKind::shared);
        SimWorkqueue& q2 = eng.create_workqueue("q2", WqKind::shared);
        WqOptions one;
        one.max_active = 1;
        SimWorkqueue& m = eng.create_workqueue("m", WqKind::shared, one);
        SimWork w(
            [&](SimWork&) {
              if (++w_runs > 1) return;
              // Still running when r queues it and the rescuer waits for it.
              for (int i = 0; i < 1000 && !waiting; ++i) ScenarioContext::sleep_ns(10'000);
              ScenarioContext::sleep_ns(100'000);
            },
            "w");
        SimWork v(
            [&](SimWork&) {
              waiting = true;
              eng.flush_work(w);
            },
            "v");
        SimWork b([](SimWork&) {}, "b");
        SimWork rw(
            [&](SimWork&) {
              if (how == RescuedWait::behind_slot) {
                rescued_w = m.queue_work_on(0, w);
                m.queue_work_on(0, b);
                waiting = true;
                eng.flush_work(b);
                return;
              }
              rescued_w = q2.queue_work_on(0, w);
              q2.queue_work_on(1, v);
              if (how == RescuedWait::flush_work)
                eng.flush_work(v);
              else
                q2.flush();
            },
            "r");
        SimWork x(
            [&](SimWork&) {
              for (int i = 0; i < 1000 && w_runs == 0; ++i) ScenarioContext::sleep_ns(10'000);
              if (how == RescuedWait::in_its_loop) {
                rescued_w = q2.queue_work_on(0, w);
                waiting = true;
                eng.flush_work(w);
                return;
              }
              q1.queue_work_on(0, rw);
              eng.flush_work(rw);
            },
            "x");
        st.queue_work(w);
        w_id = w.id();  // given at the first queueing
        q1.queue_work_on(0, x);
        eng.flush_work(x);
        st.flush();
        q1.flush();
        q2.flush();
        m.flush();
        st.destroy();
        q1.destroy();
        q2.destroy();
        m.destroy();
        events = eng.events();
      });
      ASSERT_EQ(r.status, RunStatus::ok) << "variant " << variant << ", seed " << seed << ": " << r.message;
      EXPECT_EQ(oracle_verdict(events, 1), "") << "variant " << variant << ", seed " << seed;
      if (!rescued_w) continue;
      const int64_t gap = gap_after_run(events, w_id, 0);
      ASSERT_GE(gap, 0) << "variant " << variant << ", seed " << seed << ": w did not run twice";
      ++shaped;
      worst_ns = std::max(worst_ns, gap);
    }
    ASSERT_GT(shaped, 0) << "variant " << variant << ": r never queued w while it ran on st";
    EXPECT_LT(worst_ns, 5'000'000) << "variant " << variant << ": w waited " << worst_ns / 1000
                                   << " us of virtual time after its run on st";
  }
}

// A nested rescue that clears a pool's fresh creation failure, with a
// work behind the one it rescued: that work must still run (by the
// rescuer while the pool cools down, or on a thread the manager creates).
// The rescuer first takes CPU 0's b (that pool is at its cap, its one
// thread asleep in a), and b's flush of x rescues x nested, clearing CPU
// 1's fresh failure; main's flush of y must return. Written for the
// survivor rescue_wanted_locked@12ed9d (the manager's wake after that
// clear dropped, mutation/survivors.txt), which it does not kill: the
// pool's cooldown lasts at least 1 ms, so the rescuer runs y as a cooldown
// rescue. Swept over seeds; the test counts the runs that had the shape.
TEST(RescuerKicks, ANestedRescueThatClearsAFreshFailureLeavesNoWorkBehindIt) {
  int nested = 0;
  for (uint64_t seed = 1; seed <= 120; ++seed) {
    std::vector<Event> events;
    bool y_ran = false;
    uint64_t x_id = 0, b_id = 0;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg = at_the_cap();
      cfg.spawn_cooldown = Duration::zero();  // only the fresh failure holds creation back
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("q", WqKind::shared);
      SimWork x([](SimWork&) {}, "x");
      SimWork y([&](SimWork&) { y_ran = true; }, "y");
      SimWork a([&](SimWork&) { eng.sleep_for(std::chrono::milliseconds(2)); }, "a");
      SimWork b([&](SimWork&) { eng.flush_work(x); }, "b");
      q.queue_work_on(0, a);
      ScenarioContext::sleep_ns(200'000);  // a asleep on CPU 0's one thread: that pool is at its cap
      eng.set_spawn_faults({.fail_nth = 1});  // the next creation: CPU 1's pool's first thread
      q.queue_work_on(1, x);
      q.queue_work_on(1, y);
      q.queue_work_on(0, b);
      x_id = x.id();  // given at the first queueing
      b_id = b.id();
      eng.flush_work(y);
      q.flush();
      q.destroy();
      events = eng.events();
    });
    const std::string where = "seed " + std::to_string(seed);
    ASSERT_EQ(r.status, RunStatus::ok) << where << ": " << r.message;
    EXPECT_TRUE(y_ran) << where;
    EXPECT_EQ(oracle_verdict(events, 1), "") << where;
    // The shape: x began while b's run was open on the same thread.
    uint32_t b_thread = 0;
    bool b_open = false;
    for (const Event& e : events) {
      if (e.work == b_id && e.type == EventType::exec_begin) b_open = true, b_thread = e.thread;
      if (e.work == b_id && e.type == EventType::exec_end) b_open = false;
      if (e.work == x_id && e.type == EventType::exec_begin && b_open && e.thread == b_thread) ++nested;
    }
  }
  EXPECT_GE(nested, 10) << "runs in which the rescuer ran x nested in b's flush";
}

// A kick reaches the rescuer through the work its wait sleeps on, and only
// while it sleeps there: once the wait returns, the caller may free that
// work. The rescuer runs a (creation failing for good), whose flush_work(w)
// sleeps on w (running on CPU 0's thread); w ends, a returns, w is freed;
// then b's failed creation kicks the rescuer. A mark left on w after the
// wait (mutant drop_update rescuer_wait@984771) locks and notifies the
// freed w: the simulator's quarantine reports the use after free.
TEST(RescuerKicks, AKickAfterTheRescuersWaitNeverTouchesTheWorkItWaitedOn) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    int b_runs = 0;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.stall_timeout = Duration::zero();
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("q", WqKind::shared);
      bool w_started = false;
      auto w = std::make_unique<SimWork>(
          [&](SimWork&) {
            w_started = true;
            ScenarioContext::sleep_ns(1'000'000);  // the rescuer sleeps on w meanwhile
          },
          "w");
      q.queue_work_on(0, *w);  // CPU 0's pool gets its thread
      for (int k = 0; k < 400 && !w_started; ++k) ScenarioContext::sleep_ns(10'000);
      eng.set_spawn_faults({.fail_always = true});
      SimWork a([&](SimWork&) { eng.flush_work(*w); }, "a");
      q.queue_work_on(1, a);  // no thread for CPU 1: the rescuer runs a
      eng.flush_work(a);
      w.reset();  // the wait is over: w is the client's to free
      SimWork b([&](SimWork&) { ++b_runs; }, "b");
      q.queue_work_on(1, b);  // another failed creation: the rescuer is kicked
      eng.flush_work(b);
      eng.set_spawn_faults({});
      q.destroy();
    });
    ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << ": " << r.message;
    EXPECT_EQ(b_runs, 1) << "seed " << seed;
  }
}

// A nested rescue answers the failure it rescues for: the rescuer runs a
// (creation failing for good); a queues b on the same CPU and sleeps, so
// the manager tries CPU 1's pool again once the cooldown is over, fails,
// and marks the failure fresh (the rescuer is busy: it cannot be handed
// the work). a's flush_work(b) then rescues b nested, which consumes that
// failure. Creation works again; once the cooldown is over, c on CPU 1
// gets a new thread. A failure left fresh (mutant drop_update
// rescue_wanted_locked@73c0b6) hands c to the idle rescuer instead, as a
// fallback for a creation that failed long before (C7: creation is
// retried after spawn_cooldown).
TEST(RescuerKicks, ANestedRescueConsumesTheFailureItAnswers) {
  int bad = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    std::vector<Event> events;
    uint64_t c_id = 0;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      SimEngine eng(retrying_every_ms());
      SimWorkqueue& q = eng.create_workqueue("q", WqKind::shared);
      eng.set_spawn_faults({.fail_always = true});
      SimWork b([](SimWork&) {}, "b");
      SimWork a(
          [&](SimWork&) {
            q.queue_work_on(1, b);
            ScenarioContext::sleep_ns(5'000'000);  // the manager fails again meanwhile
            eng.flush_work(b);                     // b rescued nested
          },
          "a");
      q.queue_work_on(1, a);
      eng.flush_work(a);
      eng.set_spawn_faults({});
      ScenarioContext::sleep_ns(3'000'000);  // past the cooldown
      SimWork c([](SimWork&) {}, "c");
      q.queue_work_on(1, c);
      c_id = c.id();  // (bound to the engine, and given its id, by its first queueing)
      eng.flush_work(c);
      q.destroy();
      events = eng.events();
    });
    std::string problem;
    if (r.status != RunStatus::ok) problem = std::string(to_string(r.status)) + ": " + r.message;
    for (const Event& e : events)
      if (e.type == EventType::fallback && e.work == c_id)
        problem = "c was rescued (fallback at #" + std::to_string(e.seq) + ") although creation works again";
    if (!problem.empty() && ++bad == 1) first = "seed " + std::to_string(seed) + ": " + problem;
  }
  EXPECT_EQ(bad, 0) << first;
}

namespace {

// A world whose points sometimes cost up to 3 ms (WorldConfig's delay
// fault at 5% of the points): a thread woken may look only after another
// thread's timer, the manager's cooldown, has run out.
RunResult run_slow_world(uint64_t seed, const std::function<void()>& body) {
  WorldConfig wc;
  wc.seed = seed;
  wc.strategy = strategy_for(seed);
  wc.max_steps = 400'000;
  wc.safety_nets = false;
  wc.delay_probability = 0.05;
  wc.max_delay_ns = 3'000'000;
  World world(wc);
  return world.run(body);
}

// C7's hand-off, on the stream: after a pool thread's creation failed,
// the manager tries that pool again only once the rescuer has run one of
// its works (a fallback), unless the rescuer was running a callback
// meanwhile (then only the cooldown holds creation back). "" if it holds.
std::string fresh_failures_wait_for_the_rescuer(const std::vector<Event>& events) {
  uint32_t rescuer = 0;
  for (const Event& e : events)
    if (e.type == EventType::spawn && e.queue == 0 && e.arg == 2) rescuer = e.thread;
  std::map<std::pair<int32_t, int32_t>, uint64_t> failed;  // pool (cpu, kind) -> its last spawn_fail
  std::set<std::pair<int32_t, int32_t>> answered;          // ... a fallback or a busy rescuer since
  int open = 0;                                            // the rescuer's callbacks in progress
  for (const Event& e : events) {
    if (e.thread == rescuer && e.type == EventType::exec_begin) ++open;
    if (e.thread == rescuer && e.type == EventType::exec_end) --open;
    if (open > 0 || (e.type == EventType::fallback && e.thread == rescuer))
      for (auto& [pool, seq] : failed) answered.insert(pool);
    if ((e.type != EventType::spawn && e.type != EventType::spawn_fail) || e.queue != 0 || (e.arg != 0 && e.arg != 3))
      continue;
    const std::pair<int32_t, int32_t> pool{e.cpu, e.arg};
    if (auto it = failed.find(pool); it != failed.end() && !answered.count(pool))
      return "the pool of cpu " + std::to_string(e.cpu) + " was tried again at #" + std::to_string(e.seq) +
             " after its creation failed at #" + std::to_string(it->second) +
             ", with the rescuer idle and no rescue of its work in between";
    failed.erase(pool);
    answered.erase(pool);
    if (e.type == EventType::spawn_fail) failed[pool] = e.seq;
  }
  return "";
}

}  // namespace

// After a failed creation, the idle rescuer takes the pool's work at once
// and the manager waits for that rescue before it tries again (the
// hand-off of manager_step_locked: "a fresh failure with the rescuer free
// needs no deadline"), however late the rescuer looks. Before, the
// rescuer ran a nested rescue (b, from a's flush) and an outer one (a):
// state that must be back to idle after them. Mutants that leave the
// rescuer looking busy for good (drop_update rescue_wanted_locked@87db27
// and @e9441d: nested_runs unbalanced; run_pool_work_locked@5dd9da:
// current never cleared) let the manager retry on the cooldown alone
// once the rescuer is slow to look.
TEST(RescuerKicks, AFreshFailureWaitsForTheIdleRescuer) {
  int bad = 0, late = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    std::vector<Event> events;
    int c_runs = 0;
    RunResult r = run_slow_world(seed, [&] {
      SimEngine eng(retrying_every_ms());
      SimWorkqueue& q = eng.create_workqueue("q", WqKind::shared);
      eng.set_spawn_faults({.fail_always = true});
      SimWork b([](SimWork&) {}, "b");
      SimWork a(
          [&](SimWork&) {
            q.queue_work_on(1, b);
            eng.flush_work(b);  // rescued nested
          },
          "a");
      q.queue_work_on(1, a);
      eng.flush_work(a);
      ScenarioContext::sleep_ns(2'000'000);  // the cooldown is over: the next need tries again
      SimWork c([&](SimWork&) { ++c_runs; }, "c");
      q.queue_work_on(1, c);
      eng.flush_work(c);
      eng.set_spawn_faults({});
      q.destroy();
      events = eng.events();
    });
    std::string problem;
    if (r.status != RunStatus::ok)
      problem = std::string(to_string(r.status)) + ": " + r.message;
    else if (c_runs != 1)
      problem = "c ran " + std::to_string(c_runs) + " times";
    else
      problem = fresh_failures_wait_for_the_rescuer(events);
    if (!problem.empty() && ++bad == 1) first = "seed " + std::to_string(seed) + ": " + problem;
    // Shape: the manager's rounds saw the cooldown end before the rescue.
    for (size_t i = 1; i < events.size(); ++i)
      if (events[i].type == EventType::fallback && events[i].time_ns - events[i - 1].time_ns >= 1'000'000) {
        ++late;
        break;
      }
  }
  EXPECT_EQ(bad, 0) << first;
  EXPECT_GT(late, 0) << "no rescue came a cooldown late: the test no longer reaches the shape";
}
