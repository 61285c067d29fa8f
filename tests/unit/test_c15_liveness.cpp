// C15 liveness: once a runnable worker exists for a work, it runs within a
// bounded time; no state of the engine leaves pending work with nobody to run
// it. These tests wait for runs WITHOUT flushing where they can (a flush could
// wake a thread a lost wakeup left asleep) and bound every wait.
#include <random>

#include "test_helpers.hpp"

namespace lwqt {
namespace {

constexpr WqKind kAllKinds[] = {WqKind::lazy, WqKind::per_cpu, WqKind::single_thread, WqKind::ordered};

TEST(C15_Liveness, QueuedWorkRunsWithoutFlush) {
  constexpr int kCpus = 4;
  for (WqKind kind : kAllKinds) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    std::atomic<int> runs{0};
    Engine eng(test_config(kCpus));
    auto& wq = eng.create_workqueue("q", kind);
    std::vector<std::unique_ptr<Work>> works;
    for (int round = 1; round <= 3; ++round) {
      for (int c = 0; c < kCpus; ++c) {
        works.push_back(std::make_unique<Work>([&](Work&) { runs.fetch_add(1); }, "w"));
        ASSERT_TRUE(wq.queue_work_on(c, *works.back()));
      }
      ASSERT_TRUE(wait_until([&] { return runs.load() == round * kCpus; }))
          << "pending work with nobody to run it\n"
          << dump_events(eng);
    }
  }
}

// After the worker idled out, a new work for its CPU still runs on its own.
TEST(C15_Liveness, WorkAfterIdleExitRunsWithoutFlush) {
  std::atomic<int> runs{0};
  EngineConfig cfg = test_config(4);
  cfg.idle_timeout = 5ms;
  Engine eng(cfg);
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  for (int round = 1; round <= 5; ++round) {
    ASSERT_TRUE(wq.queue_work_on(1 + round % 3, w));
    ASSERT_TRUE(wait_until([&] { return runs.load() == round; })) << dump_events(eng);
    ASSERT_TRUE(wait_until([&] { return wq.live_threads() == 1; })) << dump_events(eng);
  }
}

// After failed creations, and after the fault clears, works keep running
// without anyone flushing.
TEST(C15_Liveness, WorkRunsThroughCreationFailuresWithoutFlush) {
  std::atomic<int> runs{0};
  EngineConfig cfg = test_config(4);
  cfg.spawn_cooldown = 2ms;
  Engine eng(cfg);
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  lazywq::SpawnFaults f;
  f.fail_always = true;
  eng.set_spawn_faults(f);
  for (int round = 1; round <= 4; ++round) {
    ASSERT_TRUE(wq.queue_work_on(3, w));
    ASSERT_TRUE(wait_until([&] { return runs.load() == round; })) << dump_events(eng);
  }
  eng.set_spawn_faults(lazywq::SpawnFaults{});
  for (int round = 5; round <= 8; ++round) {
    ASSERT_TRUE(wq.queue_work_on(3, w));
    ASSERT_TRUE(wait_until([&] { return runs.load() == round; })) << dump_events(eng);
  }
}

// The torture-style mix: several producers, many CPUs, random creation
// faults, short idle timeout and cooldown, self-requeueing works. Every
// accepted queueing runs exactly once; flush returns; threads are joined.
TEST(C15_Liveness, ManyProducersManyCpusRandomFaults) {
  constexpr int kCpus = 8;
  constexpr int kProducers = 3;
  constexpr int kSlots = 48;
  constexpr int kOpsPerProducer = 600;
  EngineConfig cfg = test_config(kCpus);
  cfg.idle_timeout = 2ms;
  cfg.spawn_cooldown = 1ms;
  std::vector<std::atomic<int>> accepted(kSlots), runs(kSlots);
  ConcurrencyProbe probe;
  Engine eng(cfg);
  auto& lazy = eng.create_workqueue("lazy", WqKind::lazy);
  auto& eager = eng.create_workqueue("per_cpu", WqKind::per_cpu);
  auto& ordered = eng.create_workqueue("ordered", WqKind::ordered);
  lazywq::SpawnFaults f;
  f.fail_probability = 0.3;
  f.seed = 2024;
  eng.set_spawn_faults(f);
  Workqueue* queues[] = {&lazy, &eager, &ordered};
  std::vector<std::unique_ptr<Work>> works;
  for (int i = 0; i < kSlots; ++i)
    works.push_back(std::make_unique<Work>(
        [&, i](Work& self) {
          if (i == 0) probe.enter();
          runs[static_cast<size_t>(i)].fetch_add(1);
          // Slot 0 requeues itself (on the same queue) now and then: chained work.
          if (i == 0 && runs[0].load() % 4 != 0 && lazy.queue_work_on(runs[0].load() % kCpus, self))
            accepted[0].fetch_add(1);
          if (i == 0) probe.exit();
        },
        "w" + std::to_string(i)));
  Watchdog dog(60s, "liveness mix");
  // Slot 0 runs at least once, so that the concurrency probe below has
  // something to say (its random queueings may all find it pending).
  ASSERT_TRUE(lazy.queue_work_on(1, *works[0]));
  accepted[0].fetch_add(1);
  eng.flush_work(*works[0]);
  std::barrier sync(kProducers);
  std::vector<std::thread> ts;
  for (int p = 0; p < kProducers; ++p)
    ts.emplace_back([&, p] {
      std::mt19937 rng(static_cast<unsigned>(100 + p));
      sync.arrive_and_wait();
      for (int op = 0; op < kOpsPerProducer; ++op) {
        int i = static_cast<int>(rng() % kSlots);
        // Slots are tied to one queue each (i % 3), slot 0 to the lazy one.
        Workqueue& q = i == 0 ? lazy : *queues[i % 3];
        if (q.queue_work_on(static_cast<int>(rng() % kCpus), *works[static_cast<size_t>(i)]))
          accepted[static_cast<size_t>(i)].fetch_add(1);
        if (op % 64 == 0) spin_for(std::chrono::microseconds(rng() % 3000));
      }
    });
  for (auto& t : ts) t.join();
  // Let the chain of slot 0 die out, then everything must be done.
  const int cancelled0 = eng.cancel_work_sync(*works[0]) ? 1 : 0;
  const int runs0 = runs[0].load(), accepted0 = accepted[0].load();
  lazy.flush();
  eager.flush();
  ordered.flush();
  for (int i = 1; i < kSlots; ++i)
    EXPECT_EQ(runs[static_cast<size_t>(i)].load(), accepted[static_cast<size_t>(i)].load()) << "slot " << i;
  EXPECT_EQ(runs0, accepted0 - cancelled0) << "slot 0 (self-requeueing)";
  EXPECT_EQ(runs[0].load(), runs0) << "ran after cancel_work_sync";
  EXPECT_EQ(probe.max(), 1);
  auto evs = eng.events();
  EXPECT_TRUE(placement_ok(evs, lazy.id(), 0));
  EXPECT_TRUE(placement_ok(evs, eager.id(), 0));
  ASSERT_TRUE(wait_until([&] { return lazy.live_threads() == 1; }));
  auto s = eng.stats();
  EXPECT_EQ(s.threads_created - s.threads_exited, static_cast<uint64_t>(s.live_threads));
}

// Permanent creation failure with many producers: everything still runs.
TEST(C15_Liveness, PermanentCreationFailureNeverHangs) {
  constexpr int kCpus = 8;
  constexpr int kSlots = 32;
  std::vector<std::atomic<int>> accepted(kSlots), runs(kSlots);
  EngineConfig cfg = test_config(kCpus);
  cfg.spawn_cooldown = 1ms;
  Engine eng(cfg);
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  lazywq::SpawnFaults f;
  f.fail_always = true;
  eng.set_spawn_faults(f);
  std::vector<std::unique_ptr<Work>> works;
  for (int i = 0; i < kSlots; ++i)
    works.push_back(std::make_unique<Work>([&runs, i](Work&) { runs[static_cast<size_t>(i)].fetch_add(1); }, "w"));
  Watchdog dog(30s, "permanent creation failure");
  std::vector<std::thread> ts;
  for (int p = 0; p < 2; ++p)
    ts.emplace_back([&, p] {
      for (int op = 0; op < 800; ++op) {
        int i = (op * 7 + p) % kSlots;
        if (wq.queue_work_on((op + p) % kCpus, *works[static_cast<size_t>(i)])) accepted[static_cast<size_t>(i)].fetch_add(1);
      }
    });
  for (auto& t : ts) t.join();
  ASSERT_TRUE(wait_until([&] {
    for (int i = 0; i < kSlots; ++i)
      if (runs[static_cast<size_t>(i)].load() != accepted[static_cast<size_t>(i)].load()) return false;
    return true;
  })) << dump_events(eng);
  wq.flush();
  EXPECT_EQ(wq.live_threads(), 1);
}

}  // namespace
}  // namespace lwqt
