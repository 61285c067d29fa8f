// Tests of the deterministic simulator and its front-end pieces.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <new>
#include <set>
#include <string>
#include <vector>

#include "sim/explorer.hpp"
#include "sim/program.hpp"
#include "sim/runner.hpp"
#include "sim/scenario.hpp"
#include "sim/strategy.hpp"
#include "sim/trace.hpp"
#include "sim/world.hpp"

using namespace lazywq;
using namespace lazywq::sim;

namespace {

Outcome run(const std::string& scenario, uint64_t seed, const std::string& strategy = "random") {
  RunOptions o;
  o.scenario = scenario;
  o.seed = seed;
  o.strategy = strategy;
  return run_scenario(o);
}

}  // namespace

// Same seed, same build: the same run, bit for bit (schedule and events).
TEST(Determinism, EverySeedReplaysIdenticallyInEveryScenario) {
  int compared = 0;
  for (const auto& sc : all_scenarios()) {
    for (uint64_t seed = 1; seed <= 60; ++seed) {
      for (const char* strategy : {"random", "pct:3", "preempt:2"}) {
        Outcome a = run(sc.name, seed, strategy);
        Outcome b = run(sc.name, seed, strategy);
        ASSERT_EQ(a.trace_hash, b.trace_hash) << sc.name << " seed " << seed << " " << strategy;
        ASSERT_EQ(a.events.size(), b.events.size());
        ASSERT_EQ(a.run.steps, b.run.steps);
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, static_cast<int>(all_scenarios().size()) * 60 * 3);
}

TEST(Determinism, DifferentSeedsGiveDifferentRuns) {
  std::set<uint64_t> hashes;
  for (uint64_t seed = 1; seed <= 50; ++seed) hashes.insert(run("mixed", seed).trace_hash);
  EXPECT_GT(hashes.size(), 45u);
}

// The engine, unmodified, passes every scenario under every strategy.
TEST(Explore, EngineBreaksNoRuleInAnyScenario) {
  for (const char* strategy : {"random", "pct:2", "pct:3", "preempt:3"}) {
    ExploreOptions eo;
    eo.seed_first = 1;
    eo.seed_last = 150;
    eo.strategy = strategy;
    auto rep = explore(eo, nullptr);
    for (auto& s : rep.scenarios) {
      EXPECT_EQ(s.runs, 150u) << s.scenario;
      for (auto& [ro, out] : s.failed) ADD_FAILURE() << failure_report(ro, out);
    }
  }
}

// Seeds that once found an engine bug, replayed on every build. Their
// schedules drift as the engine changes, so these pin the bug only while
// the engine around it stays the same; the explorer's seed budgets do the
// rest.
TEST(Regressions, SeedsThatOnceHungNowComplete) {
  struct Case {
    const char* scenario;
    uint64_t seed;
    const char* params;
    const char* bug;
    const char* strategy = "random";
  };
  const Case cases[] = {
      // The manager decided "cooling" with one clock reading and its
      // deadline with a later one: a cooldown ending in between left a
      // pool that needed a worker with no wake-up (C16 hang, session 4).
      {"shared_deps", 2501, "fail_p=0.3,cap=64", "manager lost a cooldown deadline"},
      {"shared_deps", 6016, "fail_p=0.3,cap=64", "manager lost a cooldown deadline"},
      {"shared_deps", 6558, "fail_p=0.3,cap=64", "manager lost a cooldown deadline"},
      // cpu_online recorded its event before the shared pools went online:
      // a queueing in between went to the unbound pool of a CPU the stream
      // called online (C4, session 6's 10^6-run sweep).
      {"mixed", 1075891, "", "cpu_online event before the pools' flip"},
      // C16 in error mode, found once the dependency scenario queued works
      // away from their home queue (session 7): each hung, no cycle named.
      {"dependency", 188, "shapes=0", "flush_workqueue of a queue the caller is itself pending on"},
      {"dependency", 892, "shapes=0", "a work ahead running on a shared pool thread holds the order too"},
      {"dependency", 7693, "shapes=0", "flush_workqueue of a shared queue: works on pool threads' scheduled lists"},
      // A work running on one single_thread queue, queued on another too,
      // waited for a timer armed there: the timer fires behind that
      // queueing, held up by the run (C3 with C5); no edge, no refusal
      // (session 13, the dependency scenario's timers).
      {"dependency", 1174, "shapes=1", "a timer armed behind a work running elsewhere", "pct:3"},
      // An ordered shared queue's slot held by a work whose run elsewhere
      // (C3) holds it up: a wait for a work behind it named the slot only.
      {"dependency", 334, "shapes=1", "an ordered shared slot held up by a run elsewhere"},
      {"dependency", 3718, "shapes=1", "an ordered shared slot held up by a run elsewhere (and timers)"},
      // Cycles closed after every wait of them began, by a queueing or a
      // timer's firing into the order of a core that skips a work running
      // elsewhere (C3), and by a work activated into an ordered shared
      // queue's slot while its run is elsewhere: no wait was left to name
      // the edge, so nothing was reported (session 14).
      {"dependency", 506, "shapes=1", "a timer fired into a core order held by a run elsewhere", "pct:3"},
      {"dependency", 4500, "shapes=1", "a core order held by a run elsewhere", "pct:3"},
      {"dependency", 4592, "shapes=1", "a core order held by a run elsewhere", "pct:3"},
      {"dependency", 25675, "shapes=1", "a work running elsewhere activated into an ordered shared slot"},
      // A shared work flushing another shared queue (flush_workqueue) under
      // permanent creation failure, or at a pool's cap: the rescuer, waiting
      // for that work's run, ran only works of the chain of work waits, not
      // the flushed queue's works it alone could run (C16 hang; session 8,
      // once shared_deps' works flushed a leaf queue).
      {"shared_deps", 529, "cap=64", "the rescuer ignored a queue flush in its wait chain"},
      {"shared_deps", 239, "", "the rescuer ignored a queue flush in its wait chain (cap 1)"},
      // A per_cpu queue whose core thread could not be created, while
      // cpu_online created one of its CPU workers: the failed creation
      // left that thread running, the engine's destructor skipped the dead
      // queue and freed it under the thread (crash; session 9, once the
      // hotplug scenario created queues while CPUs came online).
      {"hotplug", 11806, "", "a failed create_workqueue left cpu_online's worker running"},
      // cpu_offline skipped a queue being destroyed before waiting for its
      // core's creation in progress: the worker was created for a CPU
      // already offline (C13; session 11, a 15000-seed pct:2 sweep).
      {"teardown", 1080, "", "a worker created for an offline CPU on a queue being destroyed", "pct:2"},
      // Not an engine bug: the run where a destructor that stops waiting
      // after the first of two engine waiters (mutant while_to_if
      // ~BasicWork@02d36d) frees a mutex a CPU worker still holds.
      {"lifetime", 700, "", "a work freed with two CPU workers waiting for its run", "pct:3"},
  };
  for (const Case& c : cases) {
    RunOptions o;
    o.scenario = c.scenario;
    o.seed = c.seed;
    o.strategy = c.strategy;
    if (*c.params) o.params.add(c.params);
    Outcome out = run_scenario(o);
    EXPECT_FALSE(out.failed) << c.bug << "\n" << failure_report(o, out);
  }
}

TEST(Explore, ShardsCoverEverySeedOnce) {
  std::multiset<uint64_t> seen;
  for (int i = 0; i < 3; ++i) {
    ExploreOptions eo;
    eo.scenarios = {"idle_exit"};
    eo.seed_first = 10;
    eo.seed_last = 30;
    eo.shard_index = i;
    eo.shard_count = 3;
    auto rep = explore(eo, nullptr);
    for (uint64_t s = 10 + static_cast<uint64_t>(i); s <= 30; s += 3) seen.insert(s);
    EXPECT_EQ(rep.scenarios[0].runs, (30 - 10 - static_cast<uint64_t>(i)) / 3 + 1);
  }
  for (uint64_t s = 10; s <= 30; ++s) EXPECT_EQ(seen.count(s), 1u) << s;
}

TEST(Seeds, ParseDecimalHexAndCommitHashes) {
  EXPECT_EQ(parse_seed("42"), 42u);
  EXPECT_EQ(parse_seed("0x2a"), 42u);
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  EXPECT_EQ(parse_seed(commit), parse_seed(commit));
  EXPECT_NE(parse_seed(commit), parse_seed("1123456789abcdef0123456789abcdef01234567"));
  for (const char* bad : {"", "x", "12z", "0x", "-1", "99999999999999999999999"})
    EXPECT_THROW(parse_seed(bad), std::invalid_argument) << bad;
}

TEST(Strategies, BadSpecsAreRejectedWithTheAcceptedForms) {
  for (const char* bad : {"", "pct", "pct:0", "pct:x", "preempt", "preempt:1:0", "roundrobin", "random:1"}) {
    try {
      make_strategy(bad, 1);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(make_strategy("pct:3:500", 1)->spec(), "pct:3:500");
}

TEST(Strategies, PctPrintsItsBugDepthBound) {
  Outcome o = run("idle_exit", 3, "pct:3");
  EXPECT_NE(o.run.strategy_report.find("1/(n*k^(d-1))"), std::string::npos) << o.run.strategy_report;
}

TEST(Strategies, BytesStrategyIsDrivenByItsBuffer) {
  RunOptions a;
  a.scenario = "migration";
  a.seed = 5;
  a.strategy = "bytes";
  a.bytes = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 200, 100, 50};
  RunOptions b = a;
  b.bytes = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3};
  EXPECT_EQ(run_scenario(a).trace_hash, run_scenario(a).trace_hash);
  EXPECT_NE(run_scenario(a).trace_hash, run_scenario(b).trace_hash);
}

TEST(World, VirtualTimeJumpsWhenEveryThreadWaits) {
  World w(WorldConfig{});
  int64_t woke_at = -1;
  auto r = w.run([&] {
    SimPlatform::Mutex m;
    SimPlatform::CondVar cv;
    m.lock();
    cv.wait_until(m, 5'000'000'000);  // 5 s of virtual time
    woke_at = World::current()->now();
    m.unlock();
  });
  EXPECT_EQ(r.status, RunStatus::ok);
  EXPECT_GE(woke_at, 5'000'000'000);
  EXPECT_LT(r.steps, 20u);  // costs a handful of steps, not 5 s
}

TEST(World, ReportsDeadlockWithWhatEachThreadWaitsOn) {
  World w(WorldConfig{});
  auto r = w.run([&] {
    SimPlatform::Mutex m;
    SimPlatform::CondVar cv;
    m.lock();
    cv.wait(m);  // nobody will notify
    m.unlock();
  });
  EXPECT_EQ(r.status, RunStatus::deadlock);
  EXPECT_NE(r.message.find("'main'"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("condvar wait"), std::string::npos) << r.message;
}

// The horizon (WorldConfig::max_virtual_ns): a thread of the workload
// waiting, untimed, for a notify that never comes while another thread
// keeps the clock going on a timer (as the engine's idle timeouts and the
// rescuer's looks do) is no deadlock; it used to run to the step limit.
// It ends at the horizon, naming the waiter. A driver that only sleeps
// long, or waits long for another driver (main joining its clients), or
// a thread that is not a driver waiting untimed, is no hang.
TEST(World, HorizonEndsAnUntimedWaitOfTheWorkloadThatNeverEnds) {
  WorldConfig cfg;
  cfg.max_virtual_ns = 10'000'000;  // 10 ms
  World w(cfg);
  bool stop = false;
  auto r = w.run([&] {
    SimPlatform::Thread ticker = *SimPlatform::spawn(1, "ticker", [&] {
      while (!stop) ScenarioContext::sleep_ns(50'000);  // a timer every 50 us, for ever
    });
    SimPlatform::Thread client = *SimPlatform::spawn(0, "client", [&] {
      SimPlatform::Mutex m;
      SimPlatform::CondVar cv;
      m.lock();
      cv.wait(m);  // nobody will notify
      m.unlock();
    });
    World::current()->mark_driver(client.id());
    client.join();
    stop = true;
    ticker.join();
  });
  EXPECT_EQ(r.status, RunStatus::horizon) << r.message;
  EXPECT_NE(r.message.find("'client' of the workload has waited (condvar wait, untimed)"), std::string::npos)
      << r.message;
  EXPECT_GE(r.virtual_ns, 10'000'000);
  EXPECT_LT(r.virtual_ns, 11'000'000);  // ended at the horizon, not at the step limit
  EXPECT_LT(r.steps, 5'000u) << "a few steps per tick";
}

TEST(World, HorizonLeavesLongSleepsJoinsOfDriversAndEngineThreadsAlone) {
  WorldConfig cfg;
  cfg.max_virtual_ns = 10'000'000;
  World w(cfg);
  bool go = false;
  auto r = w.run([&] {
    SimPlatform::Mutex m;
    SimPlatform::CondVar cv;
    // Not a driver: an engine thread may wait untimed as long as it likes.
    SimPlatform::Thread worker = *SimPlatform::spawn(1, "worker", [&] {
      m.lock();
      while (!go) cv.wait(m);
      m.unlock();
    });
    SimPlatform::Thread client = *SimPlatform::spawn(0, "client", [&] {
      ScenarioContext::sleep_ns(50'000'000);  // 50 ms: timed, not a hang
      m.lock();
      go = true;
      cv.notify_all();
      m.unlock();
    });
    World::current()->mark_driver(client.id());
    client.join();  // 50 ms joining a driver: not a hang either
    worker.join();
  });
  EXPECT_EQ(r.status, RunStatus::ok) << r.message;
  EXPECT_GE(r.virtual_ns, 50'000'000);
  EXPECT_LT(r.longest_workload_wait_ns, 1'000'000) << "no long untimed wait of a driver but joins of drivers";
}

// A busy wait: a thread that yields while the one it waits for sleeps is
// reported (RunStatus::spin), naming it; a short wait for a thread that
// runs meanwhile is not, nor is one that blocks now and then.
TEST(World, ReportsABusyWaitButNotAShortOne) {
  for (int64_t sleep_ns : {0, 50'000, 5'000'000}) {
    World w(WorldConfig{});
    auto r = w.run([&] {
      bool done = false;
      SimPlatform::Thread t = *SimPlatform::spawn(1, "sleeper", [&] {
        if (sleep_ns) ScenarioContext::sleep_ns(sleep_ns);
        done = true;
      });
      if (sleep_ns == 50'000) {
        while (!done) ScenarioContext::sleep_ns(1'000);  // blocks: not a spin
      } else {
        while (!done) SimPlatform::yield();
      }
      t.join();
    });
    if (sleep_ns == 5'000'000) {
      EXPECT_EQ(r.status, RunStatus::spin);
      EXPECT_NE(r.message.find("(main) yielded 100 times"), std::string::npos) << r.message;
    } else {
      EXPECT_EQ(r.status, RunStatus::ok) << sleep_ns << ": " << r.message;
    }
  }
}

// A thread that keeps waiting until a time the clock has already reached
// polls the clock: 100 such timed waits in a row end the run as a spin
// (C15's busy wait), a few do not, nor do waits for times still to come.
TEST(World, ReportsPollingAClockThatHasReachedTheDeadline) {
  for (int waits : {3, 100}) {
    World w(WorldConfig{});
    auto r = w.run([&] {
      SimPlatform::Mutex m;
      SimPlatform::CondVar cv;
      m.lock();
      const int64_t deadline = SimPlatform::now_ns();
      for (int i = 0; i < waits; ++i) cv.wait_until(m, deadline);  // returns at once
      for (int i = 0; i < 200; ++i) cv.wait_until(m, SimPlatform::now_ns() + 1000);  // sleeps
      m.unlock();
    });
    if (waits == 100) {
      EXPECT_EQ(r.status, RunStatus::spin);
      EXPECT_NE(r.message.find("(main) began 100 timed waits in a row"), std::string::npos) << r.message;
    } else {
      EXPECT_EQ(r.status, RunStatus::ok) << r.message;
    }
  }
}

// The coarse clock (a swarm fault in a quarter of the runs): reads do not
// move within a tick, the clock then jumps by the time spent, and a thread
// woken at its deadline reads that very time back (with the fine clock it
// reads a later one: every scheduling point costs time).
TEST(World, CoarseClockReadsTheDeadlineBackExactly) {
  for (int64_t tick : {int64_t{0}, int64_t{50'000}}) {
    WorldConfig cfg;
    cfg.clock_tick_ns = tick;
    World w(cfg);
    int64_t first = 0, second = 0, woke = 0, deadline = 0;
    auto r = w.run([&] {
      first = SimPlatform::now_ns();
      second = SimPlatform::now_ns();
      SimPlatform::Mutex m;
      SimPlatform::CondVar cv;
      m.lock();
      deadline = second + 123'456;
      cv.wait_until(m, deadline);  // nobody else runs: the clock jumps to the deadline
      m.unlock();
      woke = SimPlatform::now_ns();
    });
    ASSERT_EQ(r.status, RunStatus::ok) << r.message;
    if (tick == 0) {
      EXPECT_LT(first, second);
      EXPECT_GT(woke, deadline);
    } else {
      EXPECT_EQ(first, second);
      EXPECT_EQ(woke, deadline);
    }
  }
}

// Spurious wake-ups (a swarm fault in a third of the runs): a wait returns
// unnotified, so a caller that waits with `if` instead of `while` goes on
// with its condition false. Off by default.
TEST(World, SpuriousWakeUpsReturnUnnotifiedOnlyWhenEnabled) {
  for (double p : {0.0, 1.0}) {
    WorldConfig cfg;
    cfg.spurious_wakeup_probability = p;
    World w(cfg);
    bool timed_notified = false;
    auto r = w.run([&] {
      SimPlatform::Mutex m;
      SimPlatform::CondVar cv;
      m.lock();
      timed_notified = cv.wait_until(m, 5'000'000'000);  // nobody notifies
      cv.wait(m);                                       // nobody notifies
      m.unlock();
    });
    if (p == 0.0) {
      EXPECT_EQ(r.status, RunStatus::deadlock) << r.message;
      EXPECT_EQ(w.spurious_wakeups(), 0u);
    } else {
      EXPECT_EQ(r.status, RunStatus::ok) << r.message;
      EXPECT_TRUE(timed_notified);  // looks like a notify to the caller, as with a real condvar
      EXPECT_EQ(w.spurious_wakeups(), 2u);
    }
  }
}

// A safety net (SimPlatform::safety_net: a timeout that only covers a
// wake-up the engine may miss) keeps its deadline in a world with safety
// nets, so a wait nobody notifies times out; without them the wait is
// untimed, the run hangs, and the report names that wait as a safety net.
// The explorer draws safety nets off in three runs in four, from a stream
// of its own.
TEST(World, DroppedSafetyNetsTurnAMissedWakeUpIntoANamedHang) {
  for (bool nets : {true, false}) {
    WorldConfig cfg;
    cfg.safety_nets = nets;
    World w(cfg);
    bool notified = true;
    auto r = w.run([&] {
      SimPlatform::Mutex m;
      SimPlatform::CondVar cv;
      m.lock();
      notified = cv.wait_until(m, SimPlatform::safety_net(SimPlatform::now_ns() + 1'000'000));  // nobody notifies
      m.unlock();
    });
    if (nets) {
      EXPECT_EQ(r.status, RunStatus::ok) << r.message;
      EXPECT_FALSE(notified);
      EXPECT_EQ(w.safety_nets_dropped(), 0u);
    } else {
      EXPECT_EQ(r.status, RunStatus::deadlock) << r.message;
      EXPECT_NE(r.message.find("a safety net, dropped in this run"), std::string::npos) << r.message;
      EXPECT_EQ(w.safety_nets_dropped(), 1u);
      // The verdict says it first, naming the sleeper.
      std::vector<check::Violation> none;
      const Verdict v = judge(r, none);
      EXPECT_EQ(v.rule, "C15");
      EXPECT_EQ(v.headline.rfind("C15: a lost wake-up: thread 'main' sleeps in a wait whose safety net", 0), 0u)
          << v.headline;
    }
  }
  int off = 0;
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    WorldConfig wc;
    draw_clock_and_wakeup_faults(wc, seed);
    off += !wc.safety_nets;
  }
  EXPECT_GT(off, 250);  // about 300 of 400
  EXPECT_LT(off, 350);
}

// The simulated mutexes and condition variables catch the engine freeing
// one that a thread still uses (the real build would read freed memory).
TEST(World, ReportsAMutexDestroyedWhileAnotherThreadHoldsIt) {
  World w(WorldConfig{});
  auto r = w.run([&] {
    auto m = std::make_unique<SimPlatform::Mutex>();
    SimPlatform::Thread t(World::current()->spawn(0, "holder", [&] {
      m->lock();
      ScenarioContext::sleep_ns(1'000'000);
      m->unlock();
    }));
    ScenarioContext::sleep_ns(100'000);
    m.reset();  // while "holder" sleeps with it
    t.join();
  });
  EXPECT_EQ(r.status, RunStatus::crashed);
  EXPECT_NE(r.message.find("destroyed a mutex that thread 1 (holder) held"), std::string::npos) << r.message;
}

TEST(World, ReportsAMutexLockedAfterItsDestruction) {
  World w(WorldConfig{});
  auto r = w.run([&] {
    // Storage that outlives the object: the check reads no member.
    alignas(SimPlatform::Mutex) unsigned char storage[sizeof(SimPlatform::Mutex)];
    auto* m = new (storage) SimPlatform::Mutex;
    m->~Mutex();
    m->lock();  // never returns
    m->unlock();
  });
  EXPECT_EQ(r.status, RunStatus::crashed);
  EXPECT_NE(r.message.find("a mutex was locked after it was destroyed"), std::string::npos) << r.message;
}

TEST(World, ReportsACondVarDestroyedWhileWaitedOn) {
  World w(WorldConfig{});
  auto r = w.run([&] {
    SimPlatform::Mutex m;
    auto cv = std::make_unique<SimPlatform::CondVar>();
    SimPlatform::Thread t(World::current()->spawn(0, "waiter", [&] {
      m.lock();
      cv->wait(m);
      m.unlock();
    }));
    ScenarioContext::sleep_ns(100'000);  // the waiter is blocked in wait()
    cv.reset();
    t.join();
  });
  EXPECT_EQ(r.status, RunStatus::crashed);
  EXPECT_NE(r.message.find("destroyed a condition variable that thread 1 (waiter) waited for"), std::string::npos)
      << r.message;
}

TEST(World, ReportsLivelockAtTheStepBound) {
  WorldConfig cfg;
  cfg.max_steps = 1000;
  World w(cfg);
  auto r = w.run([&] {
    SimPlatform::Atomic<int> x{0};
    for (;;) x.fetch_add(1);
  });
  EXPECT_EQ(r.status, RunStatus::step_limit);
}

// Engine::sleep_for on a pool thread is an engine wait: the pool's next
// work starts while the sleeper sleeps. In virtual time (no wall-clock
// sleep), with the stall watchdog off, so nothing else could let it in.
TEST(SharedOnSim, SleepForCountsAsBlocked) {
  using namespace std::chrono_literals;
  World world(WorldConfig{});
  std::vector<Event> events;
  uint64_t sleeper_id = 0, other_id = 0;
  bool negative_refused = false;
  auto r = world.run([&] {
    EngineConfig cfg;
    cfg.ncpus = 2;
    cfg.record_events = true;
    cfg.stall_timeout = Duration::zero();
    SimEngine eng(cfg);
    SimWorkqueue& q = eng.create_workqueue("s", WqKind::shared);
    SimWork other([](SimWork&) {}, "other");
    SimWork sleeper([&](SimWork&) {
      q.queue_work_on(1, other);  // behind the sleeper, on its pool
      eng.sleep_for(10ms);
    }, "sleeper");
    q.queue_work_on(1, sleeper);
    eng.flush_work(sleeper);
    eng.flush_work(other);
    try {
      eng.sleep_for(-1ms);
    } catch (const Error&) {
      negative_refused = true;
    }
    sleeper_id = sleeper.id();
    other_id = other.id();
    events = eng.events();
    q.destroy();
  });
  ASSERT_EQ(r.status, RunStatus::ok) << r.message;
  EXPECT_TRUE(negative_refused);
  // other's whole run lies inside the sleeper's.
  std::vector<std::pair<uint64_t, EventType>> runs;
  for (const Event& e : events)
    if ((e.type == EventType::exec_begin || e.type == EventType::exec_end) && (e.work == sleeper_id || e.work == other_id))
      runs.emplace_back(e.work, e.type);
  const std::vector<std::pair<uint64_t, EventType>> nested = {{sleeper_id, EventType::exec_begin},
                                                              {other_id, EventType::exec_begin},
                                                              {other_id, EventType::exec_end},
                                                              {sleeper_id, EventType::exec_end}};
  EXPECT_EQ(runs, nested) << "the pool's next work waited for the sleeper: sleep_for kept it counted as running";
}

// max_active 2: every work blocks in an engine wait (sleep_for, virtual
// time), so the pool would start all twelve at once if max_active let it;
// exactly two ever run together.
TEST(SharedOnSim, MaxActiveBoundsTheWorksRunningAtOnce) {
  using namespace std::chrono_literals;
  World world(WorldConfig{});
  int inside = 0, max_inside = 0, runs = 0;
  auto r = world.run([&] {
    EngineConfig cfg;
    cfg.ncpus = 2;
    SimEngine eng(cfg);
    SimWorkqueue& q = eng.create_workqueue("m", WqKind::shared, WqOptions{.max_active = 2});
    std::vector<std::unique_ptr<SimWork>> works;
    for (int i = 0; i < 12; ++i)
      works.push_back(std::make_unique<SimWork>([&](SimWork&) {
        max_inside = std::max(max_inside, ++inside);
        eng.sleep_for(1ms);
        --inside;
        ++runs;
      }));
    for (auto& w : works) q.queue_work_on(1, *w);
    q.flush();
    q.destroy();
  });
  ASSERT_EQ(r.status, RunStatus::ok) << r.message;
  EXPECT_EQ(runs, 12);
  EXPECT_EQ(max_inside, 2);
}

namespace {

// Lets virtual time pass outside the engine: a timed wait nobody notifies
// (the clock jumps to its deadline once every thread waits).
void pass_virtual_time(Duration d) {
  SimPlatform::Mutex m;
  SimPlatform::CondVar cv;
  m.lock();
  cv.wait_until(m, World::current()->now() + d.count());
  m.unlock();
}

}  // namespace

// Issue #13 item 4: a Duration too large to add is "never", not an
// overflow (UBSan: signed overflow; without it, a deadline in the past).
// A delay of Duration::max() used to run at once; one just short of it,
// in an engine started an hour into the clock (start + deadline overflows
// while now + delay does not), made the lazy core thread or the pools'
// manager spin on a timed wait already over, so a cancel starved. Now such
// timers never fire by themselves: a cancel takes them, flush_delayed_work
// and drain fire them. The step bound turns a spin into a failure.
TEST(DurationsOnSim, HugeDelaysNeverFireByThemselves) {
  using namespace std::chrono_literals;
  for (WqKind kind : {WqKind::lazy, WqKind::shared}) {
    SCOPED_TRACE(std::string(to_string(kind)));
    WorldConfig wc;
    wc.max_steps = 200'000;
    World world(wc);
    int runs_max = 0, runs_near = 0, runs_flushed = 0, runs_drained = 0;
    bool cancelled_max = false, cancelled_near = false;
    auto r = world.run([&] {
      pass_virtual_time(1h);  // as on a machine up for an hour: start_ns_ is large
      EngineConfig cfg;
      cfg.ncpus = 2;
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("d", kind);
      SimDelayedWork at_max([&](SimWork&) { ++runs_max; }, "at_max");
      SimDelayedWork near_max([&](SimWork&) { ++runs_near; }, "near_max");
      SimDelayedWork flushed([&](SimWork&) { ++runs_flushed; }, "flushed");
      SimDelayedWork drained([&](SimWork&) { ++runs_drained; }, "drained");
      q.queue_delayed_work_on(1, at_max, Duration::max());
      q.queue_delayed_work_on(1, near_max, Duration::max() - 1min);
      q.queue_delayed_work_on(1, flushed, Duration::max());
      eng.sleep_for(24h);
      cancelled_max = eng.cancel_delayed_work_sync(at_max);
      cancelled_near = eng.cancel_delayed_work_sync(near_max);
      eng.flush_delayed_work(flushed);  // fires it at once
      q.queue_delayed_work_on(0, drained, Duration::max());
      q.drain();  // fires armed timers at once
      q.destroy();
    });
    ASSERT_EQ(r.status, RunStatus::ok) << r.message;
    EXPECT_EQ(runs_max, 0);
    EXPECT_EQ(runs_near, 0);
    EXPECT_TRUE(cancelled_max);
    EXPECT_TRUE(cancelled_near);
    EXPECT_EQ(runs_flushed, 1);
    EXPECT_EQ(runs_drained, 1);
  }
}

// idle_timeout = Duration::max(): idle workers never exit (they used to
// exit at once); a lazy CPU worker and a pool worker both stay a virtual
// day later.
TEST(DurationsOnSim, HugeIdleTimeoutNeverExits) {
  using namespace std::chrono_literals;
  for (WqKind kind : {WqKind::lazy, WqKind::shared}) {
    SCOPED_TRACE(std::string(to_string(kind)));
    World world(WorldConfig{});
    Stats before, after;
    std::vector<int> lazy_workers;
    auto r = world.run([&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.idle_timeout = Duration::max();
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("i", kind);
      SimWork w([](SimWork&) {}, "w");
      q.queue_work_on(1, w);
      eng.flush_work(w);
      before = eng.stats();
      eng.sleep_for(24h);
      after = eng.stats();
      if (kind == WqKind::lazy) lazy_workers = q.cpus_with_worker();
      q.destroy();
    });
    ASSERT_EQ(r.status, RunStatus::ok) << r.message;
    EXPECT_EQ(after.idle_exits, 0u);
    EXPECT_EQ(after.live_threads, before.live_threads);
    if (kind == WqKind::lazy) {
      EXPECT_EQ(lazy_workers, (std::vector<int>{0, 1}));
    } else {
      ASSERT_FALSE(after.pools.empty());
      EXPECT_EQ(after.pools[2].workers, 1) << "CPU 1's normal pool keeps its worker";
    }
  }
}

// stall_timeout = Duration::max(): the watchdog never fires (its deadline
// used to overflow). A work blocked outside the engine for a virtual
// second with another behind it: no rescue, the other runs after it.
TEST(DurationsOnSim, HugeStallTimeoutNeverFires) {
  using namespace std::chrono_literals;
  World world(WorldConfig{});
  std::vector<std::string> order;
  Stats s;
  auto r = world.run([&] {
    EngineConfig cfg;
    cfg.ncpus = 2;
    cfg.stall_timeout = Duration::max();
    SimEngine eng(cfg);
    SimWorkqueue& q = eng.create_workqueue("s", WqKind::shared);
    SimWork behind([&](SimWork&) { order.push_back("behind"); }, "behind");
    SimWork blocker([&](SimWork&) {
      q.queue_work_on(1, behind);
      pass_virtual_time(1s);  // blocked where the engine cannot see
      order.push_back("blocker");
    }, "blocker");
    q.queue_work_on(1, blocker);
    q.flush();
    s = eng.stats();
    q.destroy();
  });
  ASSERT_EQ(r.status, RunStatus::ok) << r.message;
  EXPECT_EQ(order, (std::vector<std::string>{"blocker", "behind"}));
  EXPECT_EQ(s.watchdog_rescues, 0u);
}

// spawn_cooldown = Duration::max(): a failed creation is never retried
// (it used to mean no cooldown at all). Lazy: the CPU's works run on the
// core (fallback, then spawn_cooldown) a virtual day later; shared: the
// rescuer runs the pool's works. One failure, no second attempt.
TEST(DurationsOnSim, HugeSpawnCooldownNeverRetries) {
  using namespace std::chrono_literals;
  for (WqKind kind : {WqKind::lazy, WqKind::shared}) {
    SCOPED_TRACE(std::string(to_string(kind)));
    World world(WorldConfig{});
    std::vector<int32_t> fallbacks;
    Stats s;
    int runs = 0;
    auto r = world.run([&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.record_events = true;
      cfg.spawn_cooldown = Duration::max();
      // Creations: lazy: the core, then CPU 1's worker; shared: the
      // manager, the rescuer, then CPU 1's pool worker.
      cfg.spawn_faults.fail_nth = kind == WqKind::lazy ? 2 : 3;
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("c", kind);
      SimWork w([&](SimWork&) { ++runs; }, "w");
      q.queue_work_on(1, w);
      eng.flush_work(w);
      eng.sleep_for(24h);
      q.queue_work_on(1, w);
      eng.flush_work(w);
      for (const Event& e : eng.events())
        if (e.type == EventType::fallback && e.work == w.id()) fallbacks.push_back(e.arg);
      s = eng.stats();
      q.destroy();
    });
    ASSERT_EQ(r.status, RunStatus::ok) << r.message;
    EXPECT_EQ(runs, 2);
    EXPECT_EQ(s.spawn_failures, 1u);
    EXPECT_EQ(s.threads_created, kind == WqKind::lazy ? 1u : 2u) << "creation was retried";
    EXPECT_EQ(fallbacks, (std::vector<int32_t>{static_cast<int32_t>(FallbackReason::spawn_failed),
                                               static_cast<int32_t>(FallbackReason::spawn_cooldown)}));
  }
}

// Engine::sleep_for(Duration::max()) sleeps for ever (it used to return
// at once): the run ends with the sleeper in a wait with no deadline.
TEST(DurationsOnSim, SleepForMaxNeverReturns) {
  World world(WorldConfig{});
  bool returned = false;
  auto r = world.run([&] {
    EngineConfig cfg;
    cfg.ncpus = 1;
    SimEngine eng(cfg);
    eng.sleep_for(Duration::max());
    returned = true;
  });
  EXPECT_FALSE(returned);
  EXPECT_EQ(r.status, RunStatus::deadlock) << r.message;
  EXPECT_NE(r.message.find("blocked in condvar wait"), std::string::npos) << r.message;
}

// Issue #13 item 5: idle_timeout 0, and a pool worker left idle while a
// work waits behind one blocked where the engine cannot see (the watchdog
// off). That spare used to look again every idle_timeout, i.e. spin on a
// timed wait already over, for as long as the other stayed blocked (here
// a virtual second: far past the step bound). Now it exits (C8) and the
// running worker takes the waiting work after its own.
TEST(SharedOnSim, ZeroIdleTimeoutSpareDoesNotSpin) {
  using namespace std::chrono_literals;
  WorldConfig wc;
  wc.max_steps = 200'000;
  World world(wc);
  std::vector<std::string> order;
  Stats s;
  auto r = world.run([&] {
    EngineConfig cfg;
    cfg.ncpus = 2;
    cfg.idle_timeout = Duration::zero();
    cfg.stall_timeout = Duration::zero();
    SimEngine eng(cfg);
    SimWorkqueue& q = eng.create_workqueue("z", WqKind::shared);
    SimWork last([&](SimWork&) { order.push_back("last"); }, "last");
    SimWork second([&](SimWork&) {
      q.queue_work_on(1, last);  // behind this one, which blocks unseen
      pass_virtual_time(1s);
      order.push_back("second");
    }, "second");
    SimWork first([&](SimWork&) {
      q.queue_work_on(1, second);
      eng.sleep_for(1ms);  // an engine wait: a second worker starts `second`
      order.push_back("first");
    }, "first");  // then its worker is the spare: `last` waits behind `second`
    q.queue_work_on(1, first);
    q.flush();
    s = eng.stats();
    q.destroy();
  });
  ASSERT_EQ(r.status, RunStatus::ok) << r.message;
  EXPECT_EQ(order, (std::vector<std::string>{"first", "second", "last"}));
  EXPECT_LT(r.steps, 20'000u) << "a thread kept polling while nothing could change";
  EXPECT_GE(s.idle_exits, 1u);
}

TEST(Replay, FailureReportNamesRuleTraceAndCommand) {
  RunOptions o;
  o.scenario = "idle_exit";
  o.seed = 7;
  Outcome out = run_scenario(o);
  out.failed = true;
  out.rule = "C8";
  out.headline = "C8: example";
  out.violations.push_back({"C8", "example", {}});
  std::string rep = failure_report(o, out);
  EXPECT_NE(rep.find("C8"), std::string::npos);
  EXPECT_NE(rep.find("wqcheck replay --scenario idle_exit --seed 7 --strategy random"), std::string::npos) << rep;
}

TEST(Replay, ChromeTraceHasOneLanePerThreadAndSlicesForCallbacks) {
  Outcome o = run("migration", 2);
  std::string j = chrome_trace_json(o.events, "t");
  EXPECT_NE(j.find("\"traceEvents\""), std::string::npos);
  EXPECT_NE(j.find("\"thread_name\""), std::string::npos);
  EXPECT_NE(j.find("\"ph\": \"B\""), std::string::npos);
  EXPECT_NE(j.find("\"ph\": \"E\""), std::string::npos);
}

TEST(Scenarios, UnknownNamesAndParametersAreClearErrors) {
  EXPECT_THROW(find_scenario("nope"), std::invalid_argument);
  RunOptions o;
  o.scenario = "idle_exit";
  o.params.add("no_such_knob=3");
  EXPECT_THROW(run_scenario(o), std::invalid_argument);
  RunOptions p;
  p.scenario = "idle_exit";
  p.params.add("ncpus=1");
  EXPECT_THROW(run_scenario(p), std::invalid_argument);
  Params q;
  EXPECT_THROW(q.add("novalue"), std::invalid_argument);
}

// Operation programs get a horizon too (issue #14: a hang a timer keeps
// alive ended only at the 2M-step limit): everything a caller may wait
// for, added up, on top of the default, and none when a wait may never end.
TEST(ProgramHorizon, AddsUpWhatACallerMayWaitForAndIsOffWhenAWaitMayNeverEnd) {
  const std::string header = "kind lazy\nncpus 2\nworks 2\ncallers 1\nidle_us 20\ncooldown_us 10\nbusy_us 5\nstall_us 0\n";
  // Two works and one queueing: 3 x (busy 5 + cooldown 10) us, a 300 us
  // delay, a 1000 us sleep.
  const Program p = parse_program(header +
                                  "c0 queue_work_on 0 w0\nc0 queue_delayed_work_on 1 w1 300\nc0 sleep 1000\n"
                                  "c0 flush_work w0\n");
  // queue_work_on and queue_delayed_work_on both queue: 4 x 15 us.
  EXPECT_EQ(program_horizon_ns(p), kDefaultHorizonNs + (4 * 15 + 300 + 1000) * 1000);
  // A delay that never fires is never waited for: not counted.
  const Program never_fires = parse_program(header + "c0 queue_delayed_work_on 1 w1 max\nc0 flush_delayed_work w1\n");
  EXPECT_EQ(program_horizon_ns(never_fires), kDefaultHorizonNs + 3 * 15 * 1000);
  // The stall watchdog: 64 stall timeouts.
  const Program watched = parse_program("kind shared\nncpus 2\nworks 1\nbusy_us 0\ncooldown_us 0\nstall_us 1000\n");
  EXPECT_EQ(program_horizon_ns(watched), kDefaultHorizonNs + 64 * 1000 * 1000);
  // A cooldown that never ends: no horizon (the step limit still holds).
  const Program no_retry = parse_program("kind lazy\nncpus 2\nworks 1\ncooldown_us max\n");
  EXPECT_EQ(program_horizon_ns(no_retry), 0);
}
