// The hangs and false reports a real client found (issue #13), each pinned
// on the simulator: deterministic, virtual time, every schedule replayable
// from its seed. Each test failed on the engine at 937c4ea.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "sim/explorer.hpp"
#include "sim/knobs.hpp"
#include "sim/op_coverage.hpp"
#include "sim/platform_sim.hpp"
#include "sim/rng.hpp"
#include "sim/scenario.hpp"
#include "sim/world.hpp"
#include "tests/sim/sim_test_world.hpp"

using namespace lazywq;
using namespace lazywq::sim;

namespace {

}  // namespace

// Bug 1 (C10). A callback X running on CPU 1's worker flushes W while a
// client keeps queueing W on CPU 1. A queueing of W behind X can only run
// after X returns: flush_work must refuse it (Error(deadlock)) or not wait
// for it. At 937c4ea flush_work decided "behind the caller?" from one
// reading of W's place and took the queueings to wait for from a later
// one, so a queueing in between was waited for: a hang, with the
// dependency check off (and with `report`).
TEST(ClientHangs, FlushWorkNeverWaitsForAQueueingBehindTheCaller) {
  int hung = 0;
  int refused = 0, flushed = 0;  // over every run: both outcomes must happen
  std::string first;
  for (DependencyCheck check : {DependencyCheck::off, DependencyCheck::report}) {
    for (WqKind kind : {WqKind::lazy, WqKind::per_cpu}) {
      for (uint64_t seed = 1; seed <= 150; ++seed) {
        RunResult r = run_world(seed, "random", [&] {
          EngineConfig cfg;
          cfg.ncpus = 2;
          cfg.dependency_check = check;
          SimEngine eng(cfg);
          SimWorkqueue& q = eng.create_workqueue("q", kind);
          SimWork w([](SimWork&) {}, "W");
          SimWork x(
              [&](SimWork&) {
                for (int i = 0; i < 4; ++i) {
                  try {
                    eng.flush_work(w);
                    ++flushed;
                  } catch (const Error& e) {
                    if (e.code() == Errc::deadlock) ++refused;
                  }
                }
              },
              "X");
          SimPlatform::Thread client = *SimPlatform::spawn(0, "client", [&] {
            for (int i = 0; i < 12; ++i) q.queue_work_on(1, w);
          });
          for (int i = 0; i < 3; ++i) {
            q.queue_work_on(1, x);
            eng.flush_work(x);
          }
          client.join();
          q.flush();
          q.destroy();
        });
        if (r.status != RunStatus::ok) {
          if (hung++ == 0)
            first = std::string(to_string(kind)) + " check=" + std::to_string(static_cast<int>(check)) + " seed " +
                    std::to_string(seed) + ": " + to_string(r.status) + "\n" + r.message;
        }
      }
    }
  }
  EXPECT_EQ(hung, 0) << "flush_work waited for a queueing behind its caller; first: " << first;
  EXPECT_GT(refused, 0) << "no flush ever found W behind its caller: the race is not reached";
  EXPECT_GT(flushed, 0);
}

// Bug 3 (C16). Works that never wait, requeued across CPUs while they run:
// a worker waits for the run of its next work on another worker (C3), and
// later that worker waits for one of its runs on the first. Both waits
// are the engine's own, never in force at once (a worker waiting for a
// run is running nothing), yet at 937c4ea each named the other worker's
// executor, kept forever, and the two closed a "cycle": hundreds of false
// dependency_cycle reports per run for a real client.
TEST(ClientHangs, WorksThatNeverWaitReportNoDependencyCycle) {
  uint64_t cycles = 0;
  std::string first;
  for (WqKind kind : {WqKind::lazy, WqKind::per_cpu}) {
    for (uint64_t seed = 1; seed <= 100; ++seed) {
      RunResult r = run_world(seed, "random", [&] {
        EngineConfig cfg;
        cfg.ncpus = 3;
        cfg.record_events = true;
        cfg.idle_timeout = std::chrono::milliseconds(50);
        SimEngine eng(cfg);
        SimWorkqueue& q = eng.create_workqueue("q", kind);
        Rng rng(seed);
        std::vector<int> left(4, 6);
        std::vector<std::unique_ptr<SimWork>> works;
        for (int i = 0; i < 4; ++i)
          works.push_back(std::make_unique<SimWork>(
              [&, i](SimWork& self) {
                // Requeued on another CPU while it runs (C3), a few times.
                if (left[static_cast<size_t>(i)]-- > 0) q.queue_work_on(static_cast<int>(rng.below(3)), self);
              },
              "w" + std::to_string(i)));
        SimPlatform::Thread client = *SimPlatform::spawn(1, "client", [&] {
          for (int k = 0; k < 12; ++k) q.queue_work_on(static_cast<int>(rng.below(3)), *works[rng.below(4)]);
        });
        for (int k = 0; k < 12; ++k) q.queue_work_on(static_cast<int>(rng.below(3)), *works[rng.below(4)]);
        client.join();
        q.flush();
        q.destroy();
        const auto reports = eng.dependency_cycles();
        cycles += reports.size();
        if (!reports.empty() && first.empty()) first = std::string(to_string(kind)) + " seed " + std::to_string(seed) + ": " + reports[0].describe();
      });
      ASSERT_EQ(r.status, RunStatus::ok) << r.message;
    }
  }
  EXPECT_EQ(cycles, 0u) << "works that never wait were reported in a wait-for cycle; first: " << first;
}

// Bug 2 (C7). Creation fails for good, so the rescuer alone runs shared
// works. A rescued work x flushes y, which waits on its queue's inactive
// list behind max_active works already on the pools. At 937c4ea the
// rescuer ran only the works of x's wait chain (and an ordered queue's slot
// holder), so nothing freed a slot: x waited forever and no filler ran.
TEST(ClientHangs, RescuedWorkFlushingAWorkBehindMaxActiveCompletes) {
  for (int max_active : {0 /* default 256 */, 2, 5}) {
    const int slots = max_active == 0 ? kDefaultMaxActive : max_active;
    int filler_runs = 0, y_runs = 0;
    bool flushed = false;
    Stats stats;
    RunResult r = run_world(1, "random", [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.record_events = true;
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("s", WqKind::shared, WqOptions{.max_active = max_active});
      eng.set_spawn_faults({.fail_always = true});  // after the manager and the rescuer exist
      std::vector<std::unique_ptr<SimWork>> fillers;
      for (int i = 0; i + 1 < slots; ++i) fillers.push_back(std::make_unique<SimWork>([&](SimWork&) { ++filler_runs; }));
      SimWork y([&](SimWork&) { ++y_runs; }, "y");
      SimWork x(
          [&](SimWork&) {
            for (auto& f : fillers) q.queue_work_on(1, *f);  // with x, every slot is taken
            q.queue_work_on(1, y);                            // inactive
            stats = eng.stats();
            flushed = eng.flush_work(y);
          },
          "x");
      q.queue_work_on(1, x);
      q.flush();
      q.destroy();
    });
    ASSERT_EQ(r.status, RunStatus::ok) << "max_active " << max_active << ": " << r.message;
    EXPECT_TRUE(flushed);
    EXPECT_EQ(y_runs, 1);
    EXPECT_EQ(filler_runs, slots - 1);
    // The statistics show where y waited.
    ASSERT_EQ(stats.queues.size(), 1u);
    EXPECT_EQ(stats.queues[0].active, slots);
    EXPECT_EQ(stats.queues[0].inactive, 1);
  }
}

// C7's limit, made loud: a rescued x flushes y, which the rescuer runs
// nested in that wait, and y flushes x. x resumes only after y's wait
// returns, on the same thread: a wait that can never end. In every
// DependencyCheck mode it is refused (Error(deadlock)) instead of hanging
// every pool's rescues for good. (Held at 937c4ea already, by the
// own-callback check; kept beside bug 2 as the case that must not hang.)
TEST(ClientHangs, RescuerRefusesAWaitForARunOnItsOwnStack) {
  for (DependencyCheck check : {DependencyCheck::off, DependencyCheck::report, DependencyCheck::error}) {
    bool y_refused = false, x_flushed = false, x_refused = false;
    RunResult r = run_world(1, "random", [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.dependency_check = check;
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("s", WqKind::shared);
      eng.set_spawn_faults({.fail_always = true});
      SimWork* xp = nullptr;
      SimWork y(
          [&](SimWork&) {
            try {
              eng.flush_work(*xp);
            } catch (const Error& e) {
              y_refused = e.code() == Errc::deadlock;
            }
          },
          "y");
      SimWork x(
          [&](SimWork&) {
            q.queue_work_on(1, y);
            try {
              x_flushed = eng.flush_work(y);
            } catch (const Error& e) {
              x_refused = e.code() == Errc::deadlock;  // error mode: x's own wait closes no cycle yet
            }
          },
          "x");
      xp = &x;
      q.queue_work_on(1, x);
      q.flush();
      q.destroy();
    });
    ASSERT_EQ(r.status, RunStatus::ok) << "check " << static_cast<int>(check) << ": " << r.message;
    EXPECT_TRUE(y_refused) << "check " << static_cast<int>(check);
    EXPECT_TRUE(x_flushed);
    EXPECT_FALSE(x_refused);
  }
}

// The same refusal in cancel_work_sync (found by the Relacy model
// rescuer_chain, issue #13): at the cap (one worker per pool) x runs on
// CPU 1's worker and flushes y, which only the rescuer can run; y cancels
// x, whose run waits for y on the rescuer's own stack. The cancel is
// refused (Error(deadlock)), and must give back what it had taken: the
// cancel's turn and PENDING. Before the fix both stayed taken, so every
// later queueing of x returned false and x's destructor (a
// cancel_work_sync) waited for ever.
TEST(ClientHangs, RescuerRefusedCancelGivesTheWorkBack) {
  for (DependencyCheck check : {DependencyCheck::off, DependencyCheck::report, DependencyCheck::error}) {
    bool y_refused = false, requeued = false;
    int x_runs = 0;
    uint64_t counted = 0, kept = 0;
    RunResult r = run_world(1, "random", [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.dependency_check = check;
      cfg.max_workers_per_pool = 1;
      cfg.stall_timeout = Duration::zero();
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("s", WqKind::shared);
      SimWork* xp = nullptr;
      SimWork y(
          [&](SimWork&) {
            try {
              eng.cancel_work_sync(*xp);
            } catch (const Error& e) {
              y_refused = e.code() == Errc::deadlock;
            }
          },
          "y");
      SimWork x(
          [&](SimWork&) {
            if (++x_runs > 1) return;
            q.queue_work_on(1, y);
            eng.flush_work(y);
          },
          "x");
      xp = &x;
      q.queue_work_on(1, x);
      eng.flush_work(x);
      requeued = q.queue_work_on(1, x);
      eng.flush_work(x);
      counted = eng.stats().dependency_cycles;
      kept = eng.dependency_cycles().size();
      q.destroy();
    });
    ASSERT_EQ(r.status, RunStatus::ok) << "check " << static_cast<int>(check) << ": " << r.message;
    // The refusal is C16's report too, its chain kept (kills
    // rescuer_wait@d5d99b: counted, its chain dropped).
    EXPECT_GE(counted, 1u) << "check " << static_cast<int>(check);
    EXPECT_EQ(kept, counted) << "check " << static_cast<int>(check);
    EXPECT_TRUE(y_refused) << "check " << static_cast<int>(check);
    EXPECT_TRUE(requeued) << "check " << static_cast<int>(check) << ": the refused cancel left x PENDING";
    EXPECT_EQ(x_runs, 2) << "check " << static_cast<int>(check);
  }
}

// The pairwise coverage the gate checks: every pair of operations (one of
// them with a duration) is in flight at once in some run of the explorer's
// scenarios, within a small seed budget; and the counting has teeth.
const ExploreReport& coverage_report() {
  static const ExploreReport rep = [] {
    ExploreOptions eo;
    eo.isolate = false;  // in this process: the test checks coverage, not crash survival
    eo.seed_first = 1;
    eo.seed_last = 300;
    return explore(eo, nullptr);
  }();
  return rep;
}

TEST(Coverage, EveryPairOfOperationsOverlapsInSomeScenario) {
  const auto& rep = coverage_report();
  EXPECT_EQ(rep.failures(), 0u);
  const auto never = never_overlapped(total_activity_pairs(rep));
  std::string list;
  for (const auto& p : never) list += "\n  " + p;
  EXPECT_TRUE(never.empty()) << "never in flight at once:" << list;
}

TEST(Coverage, PairsAreCountedAcrossThreadsOnly) {
  auto ev = [](uint64_t seq, uint32_t thread, EventType t, uint32_t q = 0, uint64_t w = 0, int32_t arg = 0) {
    Event e;
    e.seq = seq;
    e.thread = thread;
    e.type = t;
    e.queue = q;
    e.work = w;
    e.arg = arg;
    return e;
  };
  const std::vector<Event> events = {
      ev(0, 1, EventType::exec_begin, 1, 1),
      ev(1, 1, EventType::queue, 1, 2),  // by the callback's own thread: no pair
      ev(2, 2, EventType::flush_begin, 0, 1),
      ev(3, 3, EventType::cpu_offline),
      ev(4, 2, EventType::flush_end, 0, 1),
      ev(5, 1, EventType::exec_end, 1, 1),
      ev(6, 3, EventType::destroy, 1),  // nothing else in flight
      ev(7, 3, EventType::destroy_end, 1),
  };
  const ActivityPairs p = activity_pairs(events);
  auto at = [&](Activity a, Activity b) { return p[static_cast<size_t>(a)][static_cast<size_t>(b)]; };
  EXPECT_EQ(at(Activity::callback, Activity::queue), 0);
  EXPECT_EQ(at(Activity::callback, Activity::flush_work), 1);
  EXPECT_EQ(at(Activity::flush_work, Activity::callback), 1);
  EXPECT_EQ(at(Activity::callback, Activity::cpu_offline), 1);
  EXPECT_EQ(at(Activity::flush_work, Activity::cpu_offline), 1);
  EXPECT_EQ(at(Activity::destroy, Activity::callback), 0);
}

// Found by the program properties once they drew a cooldown that never
// ends and permanent creation failure (issue #13). W runs on CPU 1's pool;
// queued again, it waits behind that run (C3); cpu_offline(1) moves the
// queueing to the unbound pool, which can get no thread: the rescuer's
// turn, but W still runs on the offline pool's thread, so the rescue does
// nothing. Each rescue attempt woke the manager, and the manager wakes the
// rescuer at each round while a pool can get no thread: the two woke each
// other without end, a spin for as long as W's first run lasted (tens of
// thousands of scheduling points over its 50 ms; under PCT, whose
// priorities never let W's thread run, a livelock: C15). The rescuer now
// wakes the manager only when its rescue changes what the manager decides
// (it clears a fresh failure).
TEST(ClientHangs, RescuerAndManagerDoNotSpinWhileTheWorkRunsOnAnOfflinePool) {
  int bad = 0;
  std::string first;
  for (const char* strategy : {"random", "pct:3:400"}) {
    for (uint64_t seed = 1; seed <= 60; ++seed) {
      int runs = 0;
      RunResult r = run_world(seed, strategy, [&] {
        EngineConfig cfg;
        cfg.ncpus = 2;
        cfg.spawn_cooldown = Duration::max();  // a failed creation is never retried (C7)
        SimEngine eng(cfg);
        SimWorkqueue& q = eng.create_workqueue("q", WqKind::shared);
        SimWork w(
            [&](SimWork&) {
              if (runs++ == 0) ScenarioContext::sleep_ns(50'000'000);  // 50 ms, blocked where the engine cannot see
            },
            "W");
        q.queue_work_on(1, w);
        while (runs == 0) ScenarioContext::sleep_ns(10'000);
        q.queue_work_on(1, w);  // behind its run on CPU 1's pool (C3)
        eng.set_spawn_faults({.fail_always = true});
        eng.cpu_offline(1);
        eng.flush_work(w);
        eng.set_spawn_faults({});
        eng.cpu_online(1);
        q.destroy();
      });
      if (r.status != RunStatus::ok || runs != 2 || r.steps > 5000) {
        if (bad++ == 0)
          first = std::string(strategy) + " seed " + std::to_string(seed) + ": " + to_string(r.status) + " after " +
                  std::to_string(r.steps) + " steps, " + std::to_string(runs) + " run(s)\n" + r.message;
      }
    }
  }
  EXPECT_EQ(bad, 0) << "the rescuer and the manager spun while the work ran on an offline CPU's pool; first: " << first;
}

// Found by the program properties with permanent creation failure (issue
// #13). A runs on CPU 1's pool and, queued again, waits behind that run
// (C3); cpu_offline(1) moves the queueing to the unbound pool, and B is
// queued there behind it; A's run then flushes B. No thread can be had:
// the rescuer's turn. It tried only the front of the pool's list, A,
// which cannot run before A's run ends, and that run waits for B: a hang
// (C7, C16: an acyclic wait graph). The rescuer now tries the works
// behind a work that runs on another pool's thread.
TEST(ClientHangs, RescuerRunsAWorkQueuedBehindOneThatRunsOnAnOfflinePool) {
  int bad = 0;
  std::string first;
  for (const char* strategy : {"random", "pct:3:400"}) {
    for (uint64_t seed = 1; seed <= 60; ++seed) {
      int a_runs = 0, b_runs = 0;
      RunResult r = run_world(seed, strategy, [&] {
        EngineConfig cfg;
        cfg.ncpus = 2;
        SimEngine eng(cfg);
        SimWorkqueue& q = eng.create_workqueue("q", WqKind::shared);
        bool b_queued = false;
        SimWork b([&](SimWork&) { ++b_runs; }, "B");
        SimWork a(
            [&](SimWork&) {
              if (a_runs++ > 0) return;
              while (!b_queued) ScenarioContext::sleep_ns(1000);
              eng.flush_work(b);
            },
            "A");
        q.queue_work_on(1, a);
        while (a_runs == 0) ScenarioContext::sleep_ns(1000);
        q.queue_work_on(1, a);  // behind its run on CPU 1's pool (C3)
        eng.set_spawn_faults({.fail_always = true});
        eng.cpu_offline(1);     // the queueing moves to the unbound pool, which can get no thread
        q.queue_work_on(1, b);  // the unbound pool too, behind A
        b_queued = true;
        eng.flush_work(a);
        eng.set_spawn_faults({});
        eng.cpu_online(1);
        q.destroy();
      });
      if (r.status != RunStatus::ok || a_runs != 2 || b_runs != 1) {
        if (bad++ == 0)
          first = std::string(strategy) + " seed " + std::to_string(seed) + ": " + to_string(r.status) + " after " +
                  std::to_string(r.steps) + " steps, A ran " + std::to_string(a_runs) + ", B " + std::to_string(b_runs) +
                  "\n" + r.message;
      }
    }
  }
  EXPECT_EQ(bad, 0) << "a work queued behind one that runs on an offline CPU's pool was never rescued; first: " << first;
}

// Every knob a user can set (EngineConfig, SpawnFaults, WqOptions, the
// API's arguments: sim/knobs.cpp, docs/KNOBS.md) is drawn in every class
// of its values by some scenario within the same small budget. A new
// field in those structs fails the build (sim/knobs.cpp) until the table
// knows it; a class no scenario draws fails here.
TEST(Coverage, EveryKnobIsDrawnInEveryClass) {
  const auto never = knobs_never_drawn(total_knobs(coverage_report()));
  std::string list;
  for (const auto& k : never) list += "\n  " + k;
  EXPECT_TRUE(never.empty()) << "drawn nowhere:" << list;
}

// Found by the engine swarm (huge delays): flush_delayed_work fired the
// timer, then read the queueings to wait for; a mod_delayed_work re-arming
// in between was waited for and, with a delay that never ends, never
// fired. The flush now fires what is armed after that reading.
TEST(ClientHangs, FlushDelayedWorkRacingAReArmWithAHugeDelayReturns) {
  int hung = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    RunResult r = run_world(seed, "random", [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("q", WqKind::lazy);
      SimDelayedWork d([](SimWork&) {}, "d");
      SimPlatform::Thread rearm = *SimPlatform::spawn(1, "rearm", [&] {
        for (int i = 0; i < 6; ++i) q.mod_delayed_work_on(1, d, Duration::max());
      });
      for (int i = 0; i < 6; ++i) eng.flush_delayed_work(d);
      rearm.join();
      eng.cancel_delayed_work_sync(d);
      q.destroy();
    });
    hung += r.status != RunStatus::ok;
  }
  EXPECT_EQ(hung, 0) << "flush_delayed_work waited for a re-armed timer it did not fire";
}

// Found by mutation testing (drop_notify unlink_locked@b3a21a survived every
// checker). W runs on queue B's thread; a copy of W is pending on queue A
// (single_thread) with X behind it, so A's core skips both until W's run
// ends (C3, C5). A client cancels the copy; W's run then flushes X. No
// wait-for cycle exists any more, so X must run now: the cancel wakes A's
// core. Without that wake-up A's core sleeps until W's run ends, which
// waits for X: a hang with no cycle.
TEST(ClientHangs, CancellingTheWorkTheCoreSkippedLetsTheWorksBehindItRun) {
  for (DependencyCheck check : {DependencyCheck::off, DependencyCheck::report, DependencyCheck::error}) {
    for (WqKind b_kind : {WqKind::single_thread, WqKind::lazy, WqKind::shared}) {
      for (uint64_t seed = 1; seed <= 20; ++seed) {
        bool started = false, cancelled = false, x_ran_before_flush_returned = false, x_ran = false;
        RunResult r = run_world(seed, "random", [&] {
          EngineConfig cfg;
          cfg.ncpus = 2;
          cfg.dependency_check = check;
          SimEngine eng(cfg);
          SimWorkqueue& a = eng.create_workqueue("a", WqKind::single_thread);
          SimWorkqueue& b = eng.create_workqueue("b", b_kind);
          SimWork x([&](SimWork&) { x_ran = true; }, "X");
          SimWork w(
              [&](SimWork&) {
                if (started) return;  // a later run (none is expected)
                started = true;
                while (!cancelled) ScenarioContext::sleep_ns(10'000);
                eng.flush_work(x);
                x_ran_before_flush_returned = x_ran;
              },
              "W");
          b.queue_work_on(0, w);
          while (!started) ScenarioContext::sleep_ns(10'000);
          a.queue_work_on(0, w);  // pending on A while it runs on B
          a.queue_work_on(0, x);  // behind it
          ScenarioContext::sleep_ns(200'000);  // A's core finds W running and skips both
          EXPECT_TRUE(eng.cancel_work(w));
          cancelled = true;
          b.flush();
          a.flush();
          a.destroy();
          b.destroy();
        });
        ASSERT_EQ(r.status, RunStatus::ok) << "check " << static_cast<int>(check) << ", queue B " << to_string(b_kind)
                                           << ", seed " << seed << ": " << r.message;
        EXPECT_TRUE(x_ran_before_flush_returned) << "flush_work(X) returned before X ran";
      }
    }
  }
}

// Found by triage of a surviving mutant (cancel_work_sync@d12ebb, issue
// #14): the rescuer's wait-chain check followed a pool thread's `awaiting`
// work after that thread's flush was satisfied. At the cap, T (CPU 1's one
// worker) runs b, which flushes y's first run; y is rescued, requeues
// itself and ends: T's flush is satisfied, but until T runs again it still
// named y as awaited. y's second run, on the rescuer, cancels b: b's run
// ends as soon as T resumes, yet the chain b -> T -> y ended on the
// rescuer's own stack and the cancel was refused with Error(deadlock),
// with the dependency check off (a third of these runs, before the fix).
TEST(ClientHangs, RescuerCancelOfAWorkWhoseFlushIsSatisfiedIsNotRefused) {
  int refused_runs = 0, bad = 0, raced = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    bool refused = false;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.dependency_check = DependencyCheck::off;
      cfg.max_workers_per_pool = 1;
      cfg.stall_timeout = Duration::zero();
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("s", WqKind::shared);
      SimWork* bp = nullptr;
      int y_runs = 0;
      bool b_running = false;
      SimWork y(
          [&](SimWork& self) {
            if (++y_runs == 1) {
              q.queue_work_on(1, self);
              return;
            }
            if (b_running) ++raced;
            try {
              eng.cancel_work_sync(*bp);
            } catch (const Error& e) {
              refused = e.code() == Errc::deadlock;
            }
          },
          "y");
      SimWork b(
          [&](SimWork&) {
            b_running = true;
            q.queue_work_on(1, y);
            eng.flush_work(y);
            b_running = false;
          },
          "b");
      bp = &b;
      q.queue_work_on(1, b);
      eng.flush_work(b);
      eng.flush_work(y);
      q.destroy();
    });
    if (r.status != RunStatus::ok && ++bad == 1) first = "seed " + std::to_string(seed) + ": " + r.message;
    if (refused && ++refused_runs == 1 && first.empty()) first = "seed " + std::to_string(seed) + " refused";
  }
  EXPECT_EQ(bad, 0) << first;
  EXPECT_EQ(refused_runs, 0) << first;
  EXPECT_GT(raced, 30) << "the cancel should often meet b's run";
}

// Found by triage of surviving mutants (issue #14), the cancel twin of the
// test above: cancel_work_sync on a pool thread cleared PENDING before the
// thread stopped naming the cancelled work as awaited. y, queued again in
// that window, was rescued (at the cap, T counted as blocked), and its run
// flushing b (which runs on T and whose cancel no longer waits for
// anything) met b -> T -> y on the rescuer's own stack: a false
// Error(deadlock), with the dependency check off. y is held pending on a
// busy single-thread queue until the cancel takes it, so every queueing of
// y on the shared queue comes after the cancel stopped waiting: no
// refusal is ever right here.
TEST(ClientHangs, RescuerFlushOfAPoolThreadWhoseCancelReturnedIsNotRefused) {
  int refused_runs = 0, bad = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    bool refused = false;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.dependency_check = DependencyCheck::off;
      cfg.max_workers_per_pool = 1;
      cfg.stall_timeout = Duration::zero();
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("s", WqKind::shared);
      SimWorkqueue& st = eng.create_workqueue("st", WqKind::single_thread);
      bool release = false, b_running = false, cancel_called = false;
      SimWork* bp = nullptr;
      SimWork blocker([&](SimWork&) {
        while (!release) ScenarioContext::sleep_ns(10'000);
      }, "blocker");
      SimWork y(
          [&](SimWork&) {
            if (!b_running) return;
            try {
              eng.flush_work(*bp);
            } catch (const Error& e) {
              refused = e.code() == Errc::deadlock;
            }
          },
          "y");
      SimWork b(
          [&](SimWork&) {
            b_running = true;
            cancel_called = true;
            EXPECT_TRUE(eng.cancel_work_sync(y));  // takes y's pending queueing on st
            b_running = false;
          },
          "b");
      bp = &b;
      st.queue_work_on(0, blocker);
      st.queue_work_on(0, y);  // pending behind the blocker until the cancel takes it
      q.queue_work_on(1, b);
      while (!cancel_called) ScenarioContext::sleep_ns(1'000);
      while (!q.queue_work_on(1, y)) ScenarioContext::sleep_ns(1'000);  // succeeds once PENDING is clear
      release = true;
      eng.flush_work(b);
      eng.flush_work(y);
      st.destroy();
      q.destroy();
    });
    if (r.status != RunStatus::ok && ++bad == 1) first = "seed " + std::to_string(seed) + ": " + r.message;
    if (refused && ++refused_runs == 1 && first.empty()) first = "seed " + std::to_string(seed) + " refused";
  }
  EXPECT_EQ(bad, 0) << first;
  EXPECT_EQ(refused_runs, 0) << first;
}

// Found by mutation testing (drop_notify spawn_pool_thread_locked@c5bd4d
// survived every checker): a shared queue created while another thread's
// creation of the manager is under way waits for its outcome. When that
// creation fails, the waiter must be woken to try again itself (C7: never
// a hang): nothing else wakes it.
TEST(ClientHangs, SharedQueuesCreatedWhileTheManagerCreationFailsAllReturn) {
  int hung = 0, raced = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    int failed = 0, created = 0;
    RunResult r = run_world(seed, seed % 2 ? "random" : "pct:2", [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.spawn_faults = {.fail_nth = 1};  // the first creation fails: the manager's
      SimEngine eng(cfg);
      auto create = [&](const char* name) {
        try {
          eng.create_workqueue(name, WqKind::shared).destroy();
          ++created;
        } catch (const Error& e) {
          if (e.code() == Errc::spawn_failed) ++failed;
        }
      };
      SimPlatform::Thread other = *SimPlatform::spawn(1, "creator", [&] { create("b"); });
      create("a");
      other.join();
    });
    if (r.status != RunStatus::ok && ++hung == 1) first = "seed " + std::to_string(seed) + ": " + r.message;
    raced += failed == 1 && created == 1;
  }
  EXPECT_EQ(hung, 0) << first;
  EXPECT_GT(raced, 0) << "one creation should fail and the other succeed";
}

// Found by mutation testing (drop_conjunct kick_pool_locked@48bcc1 survived
// every checker): the stall watchdog times a pool's stall from when works
// first wait behind its blocked thread. Restarting that watch at every
// queueing kept it away for as long as works kept arriving faster than
// stall_timeout: a thread blocked outside the engine then held its pool's
// works for ever (C16's watchdog). Virtual time: no wall clock involved.
TEST(ClientHangs, TheWatchdogFiresWhileWorksKeepArriving) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    bool ran_while_blocked = false, blocker_done = false;
    RunResult r = run_world(seed, "random", [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.stall_timeout = 100us;
      SimEngine eng(cfg);
      WqOptions o;
      o.max_active = 1 << 20;  // every arrival is active: each one kicks the pool
      SimWorkqueue& q = eng.create_workqueue("s", WqKind::shared, o);
      SimWork blocker([&](SimWork&) {
        ScenarioContext::sleep_ns(20'000'000);  // 20 ms blocked outside the engine
        blocker_done = true;
      }, "blocker");
      std::vector<std::unique_ptr<SimWork>> arrivals;
      for (int i = 0; i < 1200; ++i)
        arrivals.push_back(std::make_unique<SimWork>([&](SimWork&) { ran_while_blocked |= !blocker_done; },
                                                     "a" + std::to_string(i)));
      q.queue_work_on(1, blocker);
      ScenarioContext::sleep_ns(10'000);
      // One arrival every 20 us (five per stall_timeout) for as long as
      // the blocker blocks.
      for (auto& a : arrivals) {
        if (ran_while_blocked || blocker_done) break;
        q.queue_work_on(1, *a);
        ScenarioContext::sleep_ns(20'000);
      }
      q.destroy();
    });
    ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << ": " << r.message;
    EXPECT_TRUE(ran_while_blocked) << "seed " << seed << ": no arrival ran behind a thread blocked for 200 stall_timeouts";
  }
}

// Found by triage of a surviving mutant (worker_waking@533662, issue #14):
// when a pool thread's engine wait ends it counts as running again, and
// only then looks at the pool (kick): with works waiting behind it, that
// starts the stall watch. Looking first, it saw nobody running, woke the
// idle thread (which then found it running and went back to sleep) and
// never started the watch: a callback that then blocks outside the engine
// held the work queued behind it for ever. Here x is queued right as a's
// second sleep_for ends, and a then waits outside the engine for x: x must
// run, at once on the idle thread or after one stall_timeout.
TEST(ClientHangs, AWorkQueuedAsAPoolThreadsWaitEndsRunsWhileItBlocksElsewhere) {
  int bad = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    bool x_ran_during_a = false;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.stall_timeout = 100us;
      cfg.idle_timeout = 1s;
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("s", WqKind::shared);
      bool x_ran = false;
      int64_t second_wait_started = -1;
      SimWork z([](SimWork&) {}, "z");
      SimWork x([&](SimWork&) { x_ran = true; }, "x");
      SimWork a(
          [&](SimWork&) {
            q.queue_work_on(1, z);  // a second pool thread runs it, then idles
            eng.sleep_for(200us);
            second_wait_started = eng.now_ns();
            eng.sleep_for(100us);
            for (int i = 0; i < 2000 && !x_ran; ++i) ScenarioContext::sleep_ns(10'000);  // blocked outside
            x_ran_during_a = x_ran;
          },
          "a");
      Rng rng(seed);
      const int64_t jitter = static_cast<int64_t>(rng.below(11'000)) - 5'000;
      SimPlatform::Thread client = *SimPlatform::spawn(0, "client", [&] {
        while (second_wait_started < 0) ScenarioContext::sleep_ns(1'000);
        const int64_t at = second_wait_started + 100'000 + jitter;
        if (eng.now_ns() < at) ScenarioContext::sleep_ns(at - eng.now_ns());
        q.queue_work_on(1, x);
      });
      q.queue_work_on(1, a);
      client.join();
      eng.flush_work(a);
      eng.flush_work(x);
      q.destroy();
    });
    std::string problem;
    if (r.status != RunStatus::ok) problem = std::string(to_string(r.status)) + ": " + r.message;
    else if (!x_ran_during_a) problem = "x never ran while a blocked outside the engine (20 ms, stall_timeout 100 us)";
    if (!problem.empty() && ++bad == 1) first = "seed " + std::to_string(seed) + ": " + problem;
  }
  EXPECT_EQ(bad, 0) << first;
}

// Two cancel_work_sync calls on a work whose run takes long take turns:
// the second sleeps until the first is done, through spurious wake-ups
// too. Woken spuriously, a single check let it take its turn while the
// first still held PENDING, and it spun (yield) for the whole run: the
// simulator reports a thread yielding 100 times in a row without
// blocking (RunStatus::spin). Kills cancel_work_sync@0449c0.
TEST(ClientHangs, ConcurrentCancelsOfALongRunSleepRatherThanSpin) {
  int bad = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    RunResult r = run_world(seed, seed % 2 ? "random" : "pct:2", [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("q", WqKind::lazy);
      bool started = false;
      SimWork w(
          [&](SimWork&) {
            started = true;
            ScenarioContext::sleep_ns(2'000'000);
          },
          "w");
      q.queue_work_on(1, w);
      while (!started) ScenarioContext::sleep_ns(1'000);
      SimPlatform::Thread other = *SimPlatform::spawn(1, "canceller", [&] { eng.cancel_work_sync(w); });
      eng.cancel_work_sync(w);
      other.join();
      q.destroy();
    }, 0.5);
    if (r.status != RunStatus::ok && ++bad == 1)
      first = "seed " + std::to_string(seed) + ": " + to_string(r.status) + ": " + r.message.substr(0, 300);
  }
  EXPECT_EQ(bad, 0) << first;
}

// Found by triage of a surviving mutant (wait_chain_locked@950178, issue
// #14): with creation failing for good, a rescued work x flushes w, which
// runs on a single_thread queue's core and flushes a shared queue whose
// work y only the rescuer can run. The rescuer followed only pool
// threads' waits, so it never learnt that x's wait needs y: it polled for
// ever (every seed hung, in every DependencyCheck mode; C7: permanent
// failure never hangs). Queues' own workers now publish their waits too.
TEST(ClientHangs, RescuedWaitThroughAQueueCoreFlushingASharedQueueCompletes) {
  int bad = 0;
  std::string first;
  for (bool by_work : {false, true})  // w flushes the queue, or y itself
  for (DependencyCheck check : {DependencyCheck::off, DependencyCheck::report, DependencyCheck::error}) {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      int y_runs = 0;
      bool w_flushed = false, x_flushed = false;
      RunResult r = run_world(seed, seed % 2 ? "random" : "pct:2", [&] {
        EngineConfig cfg;
        cfg.ncpus = 2;
        cfg.dependency_check = check;
        SimEngine eng(cfg);
        SimWorkqueue& s = eng.create_workqueue("s", WqKind::shared);
        SimWorkqueue& leaf = eng.create_workqueue("leaf", WqKind::shared);
        SimWorkqueue& st = eng.create_workqueue("st", WqKind::single_thread);
        eng.set_spawn_faults({.fail_always = true});
        SimWork y([&](SimWork&) { ++y_runs; }, "y");
        SimWork w([&](SimWork&) {
          leaf.queue_work_on(1, y);
          w_flushed = by_work ? eng.flush_work(y) : leaf.flush();
        }, "w");
        SimWork x([&](SimWork&) {
          st.queue_work(w);
          x_flushed = eng.flush_work(w);
        }, "x");
        s.queue_work_on(1, x);
        eng.flush_work(x);
        eng.set_spawn_faults({});
        s.destroy();
        leaf.destroy();
        st.destroy();
      });
      std::string problem;
      if (r.status != RunStatus::ok) problem = std::string(to_string(r.status)) + ": " + r.message.substr(0, 400);
      else if (y_runs != 1 || !w_flushed || !x_flushed) problem = "y ran " + std::to_string(y_runs) + " times";
      if (!problem.empty() && ++bad == 1)
        first = std::string(by_work ? "flush_work(y)" : "leaf.flush()") + ", check " +
                std::to_string(static_cast<int>(check)) + ", seed " + std::to_string(seed) + ": " + problem;
    }
  }
  EXPECT_EQ(bad, 0) << first;
}

// The rescuer, waiting inside a rescued work a for b (queued behind a busy
// thread of CPU 1's pool), runs nested only what a's wait waits for: not
// c, a later work of the same queue on the rescued pool, which waits for
// a itself (on the rescuer's stack it would be a false Error(deadlock)).
// Kills rescuer_wait@48a6de (every queue with a chain work pending
// counted as holding a max_active slot the wait needs).
TEST(ClientHangs, TheRescuerRunsNestedOnlyWhatItsWaitWaitsFor) {
  int bad = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    bool c_after_a = false, c_refused = false, a_done = false;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.stall_timeout = Duration::zero();
      cfg.spawn_cooldown = Duration::max();
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("q", WqKind::shared);
      bool y_started = false, release = false;
      SimWork y([&](SimWork&) {
        y_started = true;
        while (!release) ScenarioContext::sleep_ns(10'000);
      }, "y");
      SimWork b([](SimWork&) {}, "b");
      SimWork* ap = nullptr;
      SimWork c([&](SimWork&) {
        c_after_a = a_done;
        try {
          eng.flush_work(*ap);
        } catch (const Error& e) {
          c_refused = e.code() == Errc::deadlock;
        }
      }, "c");
      SimWork a([&](SimWork&) {
        q.queue_work_on(0, c);
        eng.flush_work(b);
        a_done = true;
      }, "a");
      ap = &a;
      q.queue_work_on(1, y);  // CPU 1's pool: one thread, busy outside the engine
      while (!y_started) ScenarioContext::sleep_ns(1'000);
      eng.set_spawn_faults({.fail_always = true});
      q.queue_work_on(1, b);  // behind y
      q.queue_work_on(0, a);  // CPU 0's pool can get no thread: rescued
      ScenarioContext::sleep_ns(2'000'000);
      release = true;
      eng.flush_work(a);
      eng.flush_work(c);
      eng.set_spawn_faults({});
      q.destroy();
    });
    std::string problem;
    if (r.status != RunStatus::ok) problem = std::string(to_string(r.status)) + ": " + r.message.substr(0, 300);
    else if (c_refused) problem = "c's flush_work(a) was refused: c ran nested in a's wait";
    else if (!c_after_a) problem = "c ran before a ended";
    if (!problem.empty() && ++bad == 1) first = "seed " + std::to_string(seed) + ": " + problem;
  }
  EXPECT_EQ(bad, 0) << first;
}

// The rescuer, waiting inside a rescued work a whose chain ends in a
// queue flush (w, on a single_thread queue's core, flushing leaf), runs
// nested only leaf's works up to the flush's epoch: not c, queued on leaf
// after the flush began, which waits for a itself. Kills
// rescuer_wait@bc2ce3 (every work of the flushed queue was wanted).
TEST(ClientHangs, TheRescuerRunsNestedOnlyTheWorksAQueueFlushWaitsFor) {
  int bad = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    bool c_after_a = false, c_refused = false, a_done = false;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.stall_timeout = Duration::zero();
      cfg.spawn_cooldown = 1ms;
      SimEngine eng(cfg);
      SimWorkqueue& s = eng.create_workqueue("s", WqKind::shared);
      SimWorkqueue& leaf = eng.create_workqueue("leaf", WqKind::shared);
      SimWorkqueue& st = eng.create_workqueue("st", WqKind::single_thread);
      bool l1_running = false, release = false, w_flushing = false;
      SimWork l1([&](SimWork&) {
        l1_running = true;
        while (!release) ScenarioContext::sleep_ns(10'000);
      }, "l1");
      SimWork w([&](SimWork&) {
        w_flushing = true;
        leaf.flush();
      }, "w");
      SimWork* ap = nullptr;
      SimWork c([&](SimWork&) {
        c_after_a = a_done;
        try {
          eng.flush_work(*ap);
        } catch (const Error& e) {
          c_refused = e.code() == Errc::deadlock;
        }
      }, "c");
      SimWork a([&](SimWork&) {
        st.queue_work(w);
        eng.flush_work(w);
        a_done = true;
      }, "a");
      ap = &a;
      leaf.queue_work_on(1, l1);  // CPU 1's pool: one thread, busy outside the engine
      while (!l1_running) ScenarioContext::sleep_ns(1'000);
      eng.set_spawn_faults({.fail_always = true});
      s.queue_work_on(0, a);  // rescued
      while (!w_flushing) ScenarioContext::sleep_ns(1'000);
      ScenarioContext::sleep_ns(1'000'000);  // w's flush has closed leaf's epoch
      leaf.queue_work_on(0, c);
      ScenarioContext::sleep_ns(5'000'000);
      release = true;
      eng.flush_work(a);
      eng.flush_work(c);
      eng.set_spawn_faults({});
      s.destroy();
      leaf.destroy();
      st.destroy();
    });
    std::string problem;
    if (r.status != RunStatus::ok) problem = std::string(to_string(r.status)) + ": " + r.message.substr(0, 300);
    else if (c_refused) problem = "c's flush_work(a) was refused: c ran nested in a's wait";
    else if (!c_after_a) problem = "c ran before a ended";
    if (!problem.empty() && ++bad == 1) first = "seed " + std::to_string(seed) + ": " + problem;
  }
  EXPECT_EQ(bad, 0) << first;
}
