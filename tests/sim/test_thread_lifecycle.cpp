// How the engine's own threads come and go when creations race each other
// and fail: shared queues created concurrently (the manager and the
// rescuer, one each), a queue whose creation fails while a CPU comes
// online. Each test kills engine mutants that every other checker let
// survive (issue #14, mutation/survivors.txt); all run on the simulator,
// so each failure replays from its seed.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "sim/platform_sim.hpp"
#include "sim/rng.hpp"
#include "sim/runner.hpp"
#include "sim/scenario.hpp"
#include "sim/scenario_kit.hpp"
#include "sim/world.hpp"
#include "tests/sim/sim_test_world.hpp"

using namespace lazywq;
using namespace lazywq::sim;

using kit::first_helper_spawn;
using kit::helper_spawns;

// The first shared queue creates the manager and the rescuer, dropping the
// pool lock around each creation; queues created meanwhile wait for their
// outcome. Each must return only once both exist (C7 needs the rescuer),
// none may create a second one (the first's Worker would be freed under
// its creator: a use after free and a thread never joined), and none may
// sleep through the creator's success (a client hang). Kills
// start_shared@a72dea (a second rescuer), start_shared@48cfa6 (returning
// before the rescuer is published) and spawn_pool_thread_locked@f077a7
// (the waiters are not woken), and start_shared@93018a (the rescuer
// created while the manager's creation is under way).
TEST(ThreadLifecycle, SharedQueuesCreatedConcurrentlyShareOneManagerAndOneRescuer) {
  int bad = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    std::string problem;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.record_events = true;
      SimEngine eng(cfg);
      std::vector<SimWorkqueue*> qs(3, nullptr);
      auto create = [&](int i) {
        qs[static_cast<size_t>(i)] = &eng.create_workqueue("s" + std::to_string(i), WqKind::shared);
        if (eng.stats().pool_threads < 2 && problem.empty())
          problem = "queue s" + std::to_string(i) + " returned before the manager and the rescuer both existed";
      };
      SimPlatform::Thread t1 = *SimPlatform::spawn(1, "creator1", [&] { create(1); });
      SimPlatform::Thread t2 = *SimPlatform::spawn(0, "creator2", [&] { create(2); });
      create(0);
      t1.join();
      t2.join();
      if (problem.empty() && eng.stats().pool_threads != 2)
        problem = "pool_threads " + std::to_string(eng.stats().pool_threads) + " with no worker: expected 2";
      if (problem.empty() && (helper_spawns(eng, 1) != 1 || helper_spawns(eng, 2) != 1))
        problem = std::to_string(helper_spawns(eng, 1)) + " managers and " + std::to_string(helper_spawns(eng, 2)) +
                  " rescuers created: expected one each";
      // The manager first: the rescuer's creation waits for it (docs/SHARED.md).
      if (problem.empty() && first_helper_spawn(eng) != 1) problem = "the rescuer was created before the manager";
      for (SimWorkqueue* q : qs) q->destroy();
    });
    if (r.status != RunStatus::ok) problem = "run " + std::string(to_string(r.status)) + ": " + r.message;
    if (!problem.empty() && ++bad == 1) first = "seed " + std::to_string(seed) + ": " + problem;
  }
  EXPECT_EQ(bad, 0) << first;
}

// The same race with the rescuer's first creation failing: the creator's
// queue throws spawn_failed; a queue created meanwhile must create the
// rescuer itself, so that with no pool thread creatable at all its works
// still run (C7: a failed creation never hangs). Kills start_shared@48cfa6.
TEST(ThreadLifecycle, AQueueCreatedWhileTheRescuerCreationFailsStillGetsARescuer) {
  int bad = 0, raced = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    int created = 0, failed = 0;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.spawn_faults = {.fail_nth = 2};  // the manager succeeds, the first rescuer fails
      SimEngine eng(cfg);
      std::vector<SimWorkqueue*> qs;
      auto create = [&](const char* name) {
        try {
          qs.push_back(&eng.create_workqueue(name, WqKind::shared));
          ++created;
        } catch (const Error& e) {
          if (e.code() != Errc::spawn_failed) throw;
          ++failed;
        }
      };
      SimPlatform::Thread other = *SimPlatform::spawn(1, "creator", [&] { create("b"); });
      create("a");
      other.join();
      eng.set_spawn_faults({.fail_always = true});
      for (SimWorkqueue* q : qs) {
        bool ran = false;
        SimWork w([&](SimWork&) { ran = true; }, "w");
        q->queue_work_on(1, w);
        eng.flush_work(w);
        EXPECT_TRUE(ran);
        q->destroy();
      }
    });
    if (r.status != RunStatus::ok && ++bad == 1)
      first = "seed " + std::to_string(seed) + ": " + to_string(r.status) + ": " + r.message;
    raced += created == 1 && failed == 1;
  }
  EXPECT_EQ(bad, 0) << first;
  EXPECT_GT(raced, 0) << "one creation should fail and the other create the rescuer";
}

// A per_cpu queue whose core creation fails (spawn_failed) while a client
// brings a CPU online: cpu_online may be creating that queue's worker for
// the CPU with the queue lock dropped. The failed creation must wait for
// it before it frees the queue, and join it: no use after free, no thread
// left behind. Kills start@7dfef4 and start@417c52 (with spurious
// wake-ups, the simulator's fault that breaks a single wait).
TEST(ThreadLifecycle, AFailedQueueCreationWaitsForTheWorkerACpuOnlineIsCreating) {
  int bad = 0, raced = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    std::string problem;
    bool creation_failed = false, onlined = false;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      SimEngine eng(cfg);
      ASSERT_TRUE(eng.cpu_offline(1));
      eng.set_spawn_faults({.fail_nth = 1});  // the first creation from now on: the core's, or cpu_online's
      SimPlatform::Thread client = *SimPlatform::spawn(0, "hotplug", [&] { onlined = eng.cpu_online(1); });
      try {
        eng.create_workqueue("p", WqKind::per_cpu).destroy();
      } catch (const Error& e) {
        if (e.code() != Errc::spawn_failed) throw;
        creation_failed = true;
      }
      client.join();
      const Stats s = eng.stats();
      if (s.live_threads != 0)
        problem = std::to_string(s.live_threads) + " threads live after every queue is gone";
      else if (s.threads_created != s.threads_exited)
        problem = std::to_string(s.threads_created) + " threads created, " + std::to_string(s.threads_exited) +
                  " joined";
    }, seed % 2 == 0 ? 0.5 : 0.0);
    if (r.status != RunStatus::ok) problem = std::string(to_string(r.status)) + ": " + r.message;
    if (!problem.empty() && ++bad == 1) first = "seed " + std::to_string(seed) + ": " + problem;
    raced += creation_failed && onlined;
  }
  EXPECT_EQ(bad, 0) << first;
  EXPECT_GT(raced, 0) << "the core's creation should fail while the CPU comes online";
}

// C8, "an idle worker exits": CPU 1's worker ran x and found y, queued
// for CPU 1 behind z (CPU 2), still on the core list, so it waited for it
// without a deadline while the core created CPU 2's worker. A cancel of y
// then took the last work for CPU 1 off the core list: it must wake the
// worker, or the worker never idle-exits. Kills dec_in_core_locked@4fe5a6.
TEST(ThreadLifecycle, AWorkerWaitingForACancelledWorkStillIdleExits) {
  int bad = 0, cancelled = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 2000; ++seed) {
    int live = -1;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 3;
      cfg.idle_timeout = 10us;
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("lazy", WqKind::lazy);
      SimWork x([](SimWork&) {}, "x"), y([](SimWork&) {}, "y"), z([](SimWork&) {}, "z");
      Rng rng(seed);
      q.queue_work_on(1, x);  // the core creates CPU 1's worker and migrates x,
      q.queue_work_on(2, z);  // then creates CPU 2's, the lock dropped,
      q.queue_work_on(1, y);  // while y waits on the core list
      ScenarioContext::sleep_ns(static_cast<int64_t>(rng.below(80'000)));
      cancelled += eng.cancel_work(y);
      ScenarioContext::sleep_ns(1'000'000);  // a hundred idle timeouts, nothing queued
      for (const QueueStats& s : eng.stats().queues)
        if (s.id == q.id()) live = s.live_threads;
      q.destroy();
    });
    std::string problem;
    if (r.status != RunStatus::ok)
      problem = std::string(to_string(r.status)) + ": " + r.message;
    else if (live != 1)
      problem = std::to_string(live - 1) + " CPU worker(s) still live after 100 idle timeouts";
    if (!problem.empty() && ++bad == 1) first = "seed " + std::to_string(seed) + ": " + problem;
  }
  EXPECT_EQ(bad, 0) << first;
  EXPECT_GT(cancelled, 0) << "some cancels should take y before it ran";
}

// C8, "idle for idle_timeout": a lazy worker whose work was cancelled
// before it moved over never runs anything; it must still wait its idle
// timeout from its creation before it exits (the oracle judges idle
// periods from the spawn event; no scenario had a worker that never ran).
// Written for spawn_worker_locked@6ebf60, which turned out equivalent: the
// creator sets the idle clock again after the spawn event, before the
// worker may look (it waits for its CPU's state to become active).
TEST(ThreadLifecycle, ALazyWorkerWhoseWorkWasCancelledWaitsItsIdleTimeoutFromItsCreation) {
  int early = 0, reached = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 600; ++seed) {
    std::vector<Event> events;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.idle_timeout = 200us;
      cfg.record_events = true;
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("lazy", WqKind::lazy);
      SimWork w([](SimWork&) {}, "w");
      Rng rng(seed);
      q.queue_work_on(1, w);  // the core creates CPU 1's worker for it
      ScenarioContext::sleep_ns(static_cast<int64_t>(rng.below(30'000)));
      eng.cancel_work(w);
      ScenarioContext::sleep_ns(2'000'000);  // ten idle timeouts
      events = eng.events();
      q.destroy();
    });
    ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << ": " << r.message;
    // CPU 1's worker: created, ran nothing, idle-exited.
    for (const Event& s : events) {
      if (s.type != EventType::spawn || s.cpu != 1) continue;
      bool ran = false;
      for (const Event& e : events) {
        if (e.thread != s.thread) continue;
        if (e.type == EventType::exec_begin) ran = true;
        if (e.type != EventType::idle_exit || ran) continue;
        ++reached;
        if (e.time_ns - s.time_ns < 200'000 && ++early == 1)
          first = "seed " + std::to_string(seed) + ": idle-exited " + std::to_string(e.time_ns - s.time_ns) +
                  " ns after its creation, having run nothing";
      }
    }
  }
  EXPECT_EQ(early, 0) << first;
  EXPECT_GT(reached, 0) << "no worker idle-exited without running: the test no longer reaches the shape";
}

// CPU 0's pool threads run on CPU 0 and carry its pool's name, with the
// core elsewhere: a callback that asks its CPU (or a tool listing threads)
// must not see the core's CPU or the unbound pool's name. Kills
// spawn_pool_thread_locked@8dce31 (named "wq/poolU") and @8dce31~1
// (started on the core's CPU).
TEST(ThreadLifecycle, CpuZerosPoolThreadsRunOnCpuZeroWhateverTheCore) {
  int cpu = -2;
  std::string name;
  RunResult r = run_world(1, "random", [&] {
    EngineConfig cfg;
    cfg.ncpus = 2;
    cfg.core_cpu = 1;
    SimEngine eng(cfg);
    SimWorkqueue& q = eng.create_workqueue("s", WqKind::shared);
    SimWork w(
        [&](SimWork&) {
          cpu = SimPlatform::current_cpu();
          name = World::current()->thread_name(World::current()->self());
        },
        "w");
    q.queue_work_on(0, w);
    eng.flush_work(w);
    q.destroy();
  });
  ASSERT_EQ(r.status, RunStatus::ok) << r.message;
  EXPECT_EQ(cpu, 0);
  EXPECT_EQ(name, "wq/pool0");
}

// A per_cpu queue created while a client brings a CPU online: both want
// that CPU's worker, one creator at a time; the other waits for the
// outcome, through spurious wake-ups too, and finds the worker there. C6:
// one worker per CPU, never two. Kills spawn_worker_locked@f3e2a1
// deterministically (the explorer's hotplug scenario finds it only now
// and then).
TEST(ThreadLifecycle, AQueueCreatedWhileItsCpuComesOnlineGetsOneWorkerForIt) {
  int bad = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    std::string problem;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.record_events = true;
      SimEngine eng(cfg);
      ASSERT_TRUE(eng.cpu_offline(1));
      SimPlatform::Thread client = *SimPlatform::spawn(0, "hotplug", [&] { eng.cpu_online(1); });
      SimWorkqueue& p = eng.create_workqueue("p", WqKind::per_cpu);
      client.join();
      int workers = 0;
      for (const Event& e : eng.events()) workers += e.type == EventType::spawn && e.queue == p.id() && e.cpu == 1;
      if (workers != 1) problem = std::to_string(workers) + " workers created for CPU 1, online: expected one";
      p.destroy();
      if (problem.empty() && eng.stats().live_threads != 0)
        problem = std::to_string(eng.stats().live_threads) + " threads live after the queue is gone";
    }, seed % 2 == 0 ? 0.5 : 0.0);
    if (r.status != RunStatus::ok) problem = std::string(to_string(r.status)) + ": " + r.message;
    if (!problem.empty() && ++bad == 1) first = "seed " + std::to_string(seed) + ": " + problem;
  }
  EXPECT_EQ(bad, 0) << first;
}

// C13: an offline CPU's pool threads exit after their run, whatever the
// idle timeout: with idle_timeout Duration::max() nothing else would ever
// end them. Kills pools_cpu_offline@b5e64a (the threads were notified but
// not stopped: they idled for ever, and served the pool again once back).
TEST(ThreadLifecycle, AnOfflineCpusPoolThreadsExitEvenWithNoIdleTimeout) {
  int bad = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    std::string problem;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 2;
      cfg.idle_timeout = Duration::max();
      cfg.record_events = true;
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("s", WqKind::shared);
      SimWork w([](SimWork&) {}, "w");
      q.queue_work_on(1, w);
      eng.flush_work(w);  // CPU 1's pool has a thread, idle now
      eng.cpu_offline(1);
      int workers = -1;
      for (int i = 0; i < 100; ++i) {
        workers = -1;
        for (const PoolStats& p : eng.stats().pools)
          if (p.cpu == 1 && !p.highpri) workers = p.workers;
        if (workers == 0) break;
        ScenarioContext::sleep_ns(10'000);
      }
      if (workers != 0) problem = std::to_string(workers) + " pool thread(s) of offline CPU 1 still live after 1 ms";
      eng.cpu_online(1);
      q.destroy();
    });
    if (r.status != RunStatus::ok) problem = std::string(to_string(r.status)) + ": " + r.message;
    if (!problem.empty() && ++bad == 1) first = "seed " + std::to_string(seed) + ": " + problem;
  }
  EXPECT_EQ(bad, 0) << first;
}

// The placement check the runner applies to every run (C4 for threads):
// a thread named for a CPU started elsewhere is reported, by name.
TEST(ThreadPlacement, AThreadStartedOffTheCpuItIsNamedForIsReported) {
  WorldConfig wc;
  wc.seed = 1;
  World world(wc);
  RunResult r = world.run([] {
    for (auto [cpu, name] : {std::pair{1, "wq/pool1"}, {0, "wq/pool1H"}, {2, "wq/poolU"}, {1, "wq3/cpu1"},
                             {0, "wq3/core"}, {1, "client0"}}) {
      SimPlatform::Thread t = *SimPlatform::spawn(cpu, name, [] {});
      t.join();
    }
  });
  ASSERT_EQ(r.status, RunStatus::ok) << r.message;
  std::vector<check::Violation> out;
  check_thread_placement(world, /*core_cpu=*/0, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].rule, "C4");
  EXPECT_NE(out[0].message.find("'wq/pool1H'"), std::string::npos) << out[0].message;
  EXPECT_NE(out[1].message.find("'wq/poolU'"), std::string::npos) << out[1].message;
}

// C4 for shared queues (docs/SHARED.md, queueing step 2): a work queued
// while its run goes on goes to the pool of that run (C3: the kernel's
// "last pool", whose thread serializes the two), unless the thread running
// it is stopping (its CPU went offline, even if back online now): that
// thread exits after the run, so the work goes to the pool of the CPU it
// was queued for. Here w's first run waits on CPU 1's pool thread while
// CPU 1 goes offline and online again; w, requeued for CPU 2, must run
// there next. (Mutation testing, issue #14: without `!r->stop` in
// insert_shared_locked it ran on CPU 1, a placement nothing checked.)
TEST(ThreadLifecycle, ARequeueBehindARunOnAStoppingPoolThreadGoesToItsOwnCpu) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    std::vector<Event> events;
    uint64_t w_id = 0;
    RunResult r = run_world(seed, strategy_for(seed), [&] {
      EngineConfig cfg;
      cfg.ncpus = 3;
      cfg.stall_timeout = Duration::zero();  // w's wait below is unseen: no watchdog thread
      cfg.record_events = true;
      SimEngine eng(cfg);
      SimWorkqueue& q = eng.create_workqueue("q", WqKind::shared);
      SimPlatform::Mutex m;
      SimPlatform::CondVar cv;
      bool started = false, release = false;
      int runs = 0;
      SimWork w(
          [&](SimWork&) {
            if (runs++ > 0) return;
            m.lock();
            started = true;
            cv.notify_all();
            while (!release) cv.wait(m);
            m.unlock();
          },
          "w");
      q.queue_work_on(1, w);
      w_id = w.id();
      m.lock();
      while (!started) cv.wait(m);
      m.unlock();
      eng.cpu_offline(1);  // w's runner is told to stop after its run
      eng.cpu_online(1);
      q.queue_work_on(2, w);
      m.lock();
      release = true;
      cv.notify_all();
      m.unlock();
      eng.flush_work(w);
      q.destroy();
      events = eng.events();
    });
    const std::string where = "seed " + std::to_string(seed);
    ASSERT_EQ(r.status, RunStatus::ok) << where << ": " << r.message;
    std::vector<int> cpus;
    for (const Event& e : events)
      if (e.work == w_id && e.type == EventType::exec_begin) cpus.push_back(e.cpu);
    ASSERT_EQ(cpus.size(), 2u) << where;
    EXPECT_EQ(cpus[0], 1) << where;
    EXPECT_EQ(cpus[1], 2) << where << ": the second run, queued for CPU 2 behind a run on a stopping thread";
  }
}
