// C7 creation failure: a failed thread creation loses no work (it runs on
// the core with a fallback event) and creation is retried after a cooldown;
// permanent failure degrades to "everything on the core", never to a hang.
//
// Faults are set with set_spawn_faults AFTER create_workqueue: the core
// thread's creation counts too.
#include "test_helpers.hpp"

namespace lwqt {
namespace {

lazywq::SpawnFaults always_fail() {
  lazywq::SpawnFaults f;
  f.fail_always = true;
  return f;
}

TEST(C7_CreationFailure, FailedCreationRunsWorkOnCore) {
  std::atomic<int> runs{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  eng.set_spawn_faults(always_fail());

  ASSERT_TRUE(wq.queue_work_on(3, w));
  wq.flush();
  EXPECT_EQ(runs.load(), 1) << "a failed creation lost the work";
  auto s = eng.stats();
  EXPECT_GE(s.spawn_failures, 1u);
  EXPECT_EQ(s.fallbacks, 1u);
  EXPECT_EQ(wq.live_threads(), 1);
  EXPECT_EQ(wq.cpus_with_worker(), std::vector<int>{0});

  auto fails = events_where(eng, EventType::spawn_fail);
  ASSERT_GE(fails.size(), 1u);
  EXPECT_EQ(fails[0].cpu, 3) << "spawn_fail names the CPU it was for";
  auto fb = events_where(eng, EventType::fallback, w.id());
  ASSERT_EQ(fb.size(), 1u);
  EXPECT_EQ(fb[0].arg, static_cast<int>(lazywq::FallbackReason::spawn_failed));
  auto b = events_where(eng, EventType::exec_begin, w.id());
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].cpu, 0);
  EXPECT_EQ(b[0].arg, 3);
  EXPECT_LT(fails[0].seq, fb[0].seq);
  EXPECT_LT(fb[0].seq, b[0].seq);
}

TEST(C7_CreationFailure, CreationRetriedAfterCooldown) {
  std::atomic<int> runs{0};
  EngineConfig cfg = test_config(4);
  cfg.spawn_cooldown = 10ms;
  Engine eng(cfg);
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  eng.set_spawn_faults(always_fail());
  ASSERT_TRUE(wq.queue_work_on(3, w));
  wq.flush();
  ASSERT_EQ(runs.load(), 1);
  auto fails = events_where(eng, EventType::spawn_fail);
  ASSERT_FALSE(fails.empty());

  // Creation works again; once the cooldown has passed, the next work for
  // CPU 3 gets its own worker. The cooldown starts at a clock read just
  // after the spawn_fail event, and before the fallback that follows it
  // (the same hold of the queue's lock or a later one): counted from the
  // fallback, the wait is past it however long the engine thread was
  // preempted between the two (5 ms under ASan on a loaded 2-core machine
  // made the retry a cooldown fallback, when counted from spawn_fail).
  eng.set_spawn_faults(lazywq::SpawnFaults{});
  auto fallbacks = events_where(eng, EventType::fallback);
  ASSERT_FALSE(fallbacks.empty());
  ASSERT_TRUE(wait_engine_time(eng, fallbacks.back().time_ns + ns(cfg.spawn_cooldown + 5ms)));
  const uint64_t mark = eng.event_count();
  ASSERT_TRUE(wq.queue_work_on(3, w));
  wq.flush();
  EXPECT_EQ(runs.load(), 2);
  std::vector<Event> later;
  for (const Event& e : eng.events())
    if (e.seq >= mark && e.work == w.id()) later.push_back(e);
  bool ran_on_3 = false;
  for (const Event& e : later) {
    EXPECT_NE(e.type, EventType::fallback) << "fallback after the cooldown ended: " << lazywq::format_event(e);
    if (e.type == EventType::exec_begin) ran_on_3 = e.cpu == 3;
  }
  EXPECT_TRUE(ran_on_3) << dump_events(eng);
  EXPECT_EQ(wq.live_threads(), 2);
}

// Within the cooldown, no new attempt is made: the work falls back with
// reason spawn_cooldown and the failure count does not grow.
TEST(C7_CreationFailure, NoRetryDuringCooldown) {
  std::atomic<int> runs{0};
  EngineConfig cfg = test_config(4);
  cfg.spawn_cooldown = 30s;  // longer than the test
  Engine eng(cfg);
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  lazywq::SpawnFaults f;
  f.fail_next = 1;
  eng.set_spawn_faults(f);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(wq.queue_work_on(2, w));
    eng.flush_work(w);
  }
  EXPECT_EQ(runs.load(), 5);
  EXPECT_EQ(eng.stats().spawn_failures, 1u);
  EXPECT_EQ(eng.stats().fallbacks, 5u);
  auto fb = events_where(eng, EventType::fallback, w.id());
  ASSERT_EQ(fb.size(), 5u);
  EXPECT_EQ(fb[0].arg, static_cast<int>(lazywq::FallbackReason::spawn_failed));
  for (size_t i = 1; i < fb.size(); ++i) EXPECT_EQ(fb[i].arg, static_cast<int>(lazywq::FallbackReason::spawn_cooldown));
  EXPECT_EQ(wq.cpus_with_worker(), std::vector<int>{0});
}

// fail_next = 3 with one work per CPU: exactly three creations fail; the
// other CPUs get workers; nothing is lost.
TEST(C7_CreationFailure, FailNextFailsExactlyThatMany) {
  constexpr int kCpus = 8;
  std::atomic<int> runs{0};
  EngineConfig cfg = test_config(kCpus);
  cfg.spawn_cooldown = 30s;
  Engine eng(cfg);
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  std::vector<std::unique_ptr<Work>> works;
  lazywq::SpawnFaults f;
  f.fail_next = 3;
  eng.set_spawn_faults(f);
  for (int c = 1; c < kCpus; ++c) {
    works.push_back(std::make_unique<Work>([&](Work&) { runs.fetch_add(1); }, "w"));
    ASSERT_TRUE(wq.queue_work_on(c, *works.back()));
  }
  wq.flush();
  EXPECT_EQ(runs.load(), kCpus - 1);
  auto s = eng.stats();
  EXPECT_EQ(s.spawn_failures, 3u);
  EXPECT_EQ(s.fallbacks, 3u);
  EXPECT_EQ(wq.live_threads(), 1 + (kCpus - 1 - 3));
  EXPECT_EQ(wq.cpus_with_worker().size(), static_cast<size_t>(1 + (kCpus - 1 - 3)));
  EXPECT_TRUE(placement_ok(eng.events(), wq.id(), 0));
}

// Which creations a probability fails is a fixed function of the seed and
// the creation order (splitmix64), so a recorded seed (a regression case, a
// fuzz input) replays the same faults. Known answers, computed outside the
// engine: seed 1 at p = 0.5 over 16 creations (each lazy queue creates only
// its core); a seed whose first draw is exactly 0.5, which does not fail at
// p = 0.5 ("with probability p": u < p, u in [0, 1)). Setting the same
// faults again starts the same sequence again.
std::string fault_pattern(Engine& eng, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    try {
      eng.create_workqueue("q" + std::to_string(i), WqKind::lazy);
      out += '.';
    } catch (const lazywq::Error& e) {
      EXPECT_EQ(e.code(), lazywq::Errc::spawn_failed);
      out += 'F';
    }
  }
  return out;
}

TEST(C7_CreationFailure, ProbabilityFaultsFollowTheSeed) {
  Engine eng(test_config(2));
  eng.set_spawn_faults({.fail_probability = 0.5, .seed = 1});
  EXPECT_EQ(fault_pattern(eng, 16), "...FF...F.F.F.FF");
  eng.set_spawn_faults({.fail_probability = 0.5, .seed = 1});
  EXPECT_EQ(fault_pattern(eng, 16), "...FF...F.F.F.FF");
  eng.set_spawn_faults({.fail_probability = 0.5, .seed = 0x2fedf1efce1d5545ull});  // first draw: u = 0.5
  EXPECT_EQ(fault_pattern(eng, 1), ".");
}

// fail_nth = 2 counts from the moment the faults are set.
TEST(C7_CreationFailure, FailNthCountsFromWhenSet) {
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w1([](Work&) {}, "w1"), w2([](Work&) {}, "w2"), w3([](Work&) {}, "w3");
  lazywq::SpawnFaults f;
  f.fail_nth = 2;
  eng.set_spawn_faults(f);
  ASSERT_TRUE(wq.queue_work_on(1, w1));
  wq.flush();
  ASSERT_TRUE(wq.queue_work_on(2, w2));
  wq.flush();
  ASSERT_TRUE(wq.queue_work_on(3, w3));
  wq.flush();
  auto cpus = wq.cpus_with_worker();
  std::sort(cpus.begin(), cpus.end());
  EXPECT_EQ(cpus, (std::vector<int>{0, 1, 3}));
  auto fails = events_where(eng, EventType::spawn_fail);
  ASSERT_EQ(fails.size(), 1u);
  EXPECT_EQ(fails[0].cpu, 2);
  EXPECT_EQ(count_events(eng, EventType::fallback, w2.id()), 1u);
}

// Permanent failure: everything runs on the core, nothing hangs.
TEST(C7_CreationFailure, PermanentFailureDegradesToCore) {
  constexpr int kCpus = 8;
  constexpr int kWorks = 200;
  std::atomic<int> runs{0};
  EngineConfig cfg = test_config(kCpus);
  cfg.spawn_cooldown = 1ms;
  Engine eng(cfg);
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  eng.set_spawn_faults(always_fail());
  std::vector<std::unique_ptr<Work>> works;
  for (int i = 0; i < kWorks; ++i) works.push_back(std::make_unique<Work>([&](Work&) { runs.fetch_add(1); }, "w"));
  Watchdog dog(20s, "PermanentFailureDegradesToCore");
  std::thread other([&] {
    for (int i = 0; i < kWorks; i += 2) EXPECT_TRUE(wq.queue_work_on(i % kCpus, *works[static_cast<size_t>(i)]));
  });
  for (int i = 1; i < kWorks; i += 2) EXPECT_TRUE(wq.queue_work_on(i % kCpus, *works[static_cast<size_t>(i)]));
  other.join();
  wq.flush();
  EXPECT_EQ(runs.load(), kWorks);
  for (const Event& e : events_where(eng, EventType::exec_begin, 0, wq.id())) EXPECT_EQ(e.cpu, 0);
  EXPECT_TRUE(placement_ok(eng.events(), wq.id(), 0));
  EXPECT_EQ(wq.live_threads(), 1);
  // The core's own CPU needs no worker, so no fallback for CPU 0's works.
  EXPECT_EQ(eng.stats().fallbacks, static_cast<uint64_t>(kWorks - kWorks / kCpus));
}

// After the core ran a work of CPU 1 as a fallback, later queueings for
// CPU 1 go straight to its worker again, not through the core list: the
// core's mark "running a work of this CPU" ends with that run. Stuck, every
// later queueing for the CPU is migrated by the core (C4 and C5 still
// hold, so only the migrations show it). Kills run_one_locked@90709f.
TEST(C7_CreationFailure, AfterAFallbackQueueingsGoStraightToTheWorkerAgain) {
  EngineConfig cfg = test_config(2);
  cfg.spawn_cooldown = 0ms;
  Engine eng(cfg);
  auto& q = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([](Work&) {}, "w");
  eng.set_spawn_faults({.fail_next = 1});
  ASSERT_TRUE(q.queue_work_on(1, w));
  eng.flush_work(w);  // the creation fails: the core runs it
  ASSERT_EQ(eng.stats().fallbacks, 1u) << dump_events(eng);
  ASSERT_TRUE(q.queue_work_on(1, w));
  eng.flush_work(w);  // the worker is created and w migrated to it
  const uint64_t migrations = eng.stats().migrations;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(q.queue_work_on(1, w));
    eng.flush_work(w);
  }
  EXPECT_EQ(eng.stats().migrations, migrations) << "queueings for CPU 1 still went through the core\n"
                                                << dump_events(eng);
}

}  // namespace
}  // namespace lwqt
