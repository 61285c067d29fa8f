// C8 idle exit: a lazy worker idle for idle_timeout exits and is joined (no
// thread leak). A work queued while that worker decides to exit still runs,
// on that worker or on a fresh one.
#include <random>

#include "test_helpers.hpp"

namespace lwqt {
namespace {

EngineConfig idle_config(int ncpus, std::chrono::milliseconds idle) {
  EngineConfig c = test_config(ncpus);
  c.idle_timeout = idle;
  return c;
}

TEST(C8_IdleExit, IdleWorkerExitsAndIsJoined) {
  std::atomic<int> runs{0};
  Engine eng(idle_config(4, 30ms));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  ASSERT_TRUE(wq.queue_work_on(2, w));
  wq.flush();
  ASSERT_EQ(runs.load(), 1);
  // Right after the run the worker exists (it is idle far less than 30 ms,
  // unless the machine stalls; then it may already be gone, which is fine).
  ASSERT_TRUE(wait_until([&] { return wq.live_threads() == 1; }))
      << "the idle worker was never joined; live_threads=" << wq.live_threads() << "\n"
      << dump_events(eng);
  EXPECT_EQ(wq.cpus_with_worker(), std::vector<int>{0});
  auto s = eng.stats();
  EXPECT_EQ(s.idle_exits, 1u);
  EXPECT_EQ(s.threads_exited, 1u);
  EXPECT_EQ(s.threads_created, 2u);
  EXPECT_EQ(s.live_threads, 1);
  auto ex = events_where(eng, EventType::idle_exit);
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].cpu, 2);
  auto last_end = events_where(eng, EventType::exec_end, w.id());
  ASSERT_EQ(last_end.size(), 1u);
  EXPECT_GE(ex[0].time_ns - last_end[0].time_ns, ns(30ms) * 9 / 10)
      << "the worker exited before it was idle for idle_timeout";
}

TEST(C8_IdleExit, WorkAfterExitRunsOnFreshWorker) {
  std::atomic<int> runs{0};
  Engine eng(idle_config(4, 20ms));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  for (int round = 1; round <= 3; ++round) {
    ASSERT_TRUE(wq.queue_work_on(2, w));
    // No flush here: the work must run on its own (C15) after an exit.
    ASSERT_TRUE(wait_until([&] { return runs.load() == round; })) << dump_events(eng);
    ASSERT_TRUE(wait_until([&] { return wq.live_threads() == 1; })) << dump_events(eng);
  }
  auto s = eng.stats();
  EXPECT_EQ(s.idle_exits, 3u);
  EXPECT_EQ(s.threads_created, 4u) << "one fresh worker per round plus the core";
  EXPECT_EQ(s.threads_exited, 3u);
  for (const Event& e : events_where(eng, EventType::exec_begin, w.id())) EXPECT_EQ(e.cpu, 2);
}

// The core thread serves the core CPU and never idles out.
TEST(C8_IdleExit, CoreThreadNeverExits) {
  std::atomic<int> runs{0};
  Engine eng(idle_config(4, 5ms));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  ASSERT_TRUE(wq.queue_work_on(1, w));
  wq.flush();
  ASSERT_TRUE(wait_until([&] { return eng.stats().idle_exits == 1 && wq.live_threads() == 1; }));
  ASSERT_TRUE(wait_engine_time(eng, eng.now_ns() + ns(20ms)));  // several idle timeouts
  EXPECT_EQ(wq.live_threads(), 1);
  EXPECT_EQ(eng.stats().idle_exits, 1u) << "only the CPU 1 worker may idle out";
  ASSERT_TRUE(wq.queue_work_on(0, w));
  ASSERT_TRUE(wait_until([&] { return runs.load() == 2; }));
}

// Queueings timed around the idle timeout, so some land while the worker
// decides to exit: each runs exactly once, and no thread leaks.
TEST(C8_IdleExit, QueueRacingIdleExitStress) {
  constexpr int kCpus = 4;
  constexpr int kRounds = 80;
  const auto idle = 4ms;
  std::mt19937 rng(99);
  std::vector<std::atomic<int>> runs(kCpus);
  Engine eng(idle_config(kCpus, idle));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  std::vector<std::unique_ptr<Work>> works;
  for (int c = 0; c < kCpus; ++c)
    works.push_back(std::make_unique<Work>([&runs, c](Work&) { runs[static_cast<size_t>(c)].fetch_add(1); }, "w"));
  for (int r = 1; r <= kRounds; ++r) {
    for (int c = 1; c < kCpus; ++c) ASSERT_TRUE(wq.queue_work_on(c, *works[static_cast<size_t>(c)]));
    ASSERT_TRUE(wait_until([&] {
      for (int c = 1; c < kCpus; ++c)
        if (runs[static_cast<size_t>(c)].load() != r) return false;
      return true;
    })) << "round " << r << " stranded a work\n"
        << dump_events(eng);
    // Wait around the idle timeout (between 0.5x and 1.5x) before the next round.
    spin_for(std::chrono::microseconds(2000 + rng() % 4000));
  }
  wq.flush();
  for (int c = 1; c < kCpus; ++c) EXPECT_EQ(runs[static_cast<size_t>(c)].load(), kRounds) << "cpu " << c;
  ASSERT_TRUE(wait_until([&] { return wq.live_threads() == 1; }));
  auto s = eng.stats();
  EXPECT_GE(s.idle_exits, static_cast<uint64_t>(kCpus - 1));
  EXPECT_EQ(s.threads_created - s.threads_exited, 1u) << "thread leak";
  EXPECT_EQ(s.idle_exits, s.threads_exited);
  EXPECT_TRUE(placement_ok(eng.events(), wq.id(), 0));
}

// Idle exit applies to lazy queues; an eager per_cpu queue keeps its workers.
TEST(C8_IdleExit, OnlyLazyWorkersIdleOut) {
  Engine eng(idle_config(4, 5ms));
  auto& eager = eng.create_workqueue("per_cpu", WqKind::per_cpu);
  Work w([](Work&) {}, "w");
  for (int c = 0; c < 4; ++c) {
    ASSERT_TRUE(eager.queue_work_on(c, w));
    eng.flush_work(w);
  }
  ASSERT_TRUE(wait_engine_time(eng, eng.now_ns() + ns(30ms)));
  EXPECT_EQ(eager.live_threads(), 4);
  EXPECT_EQ(eng.stats().idle_exits, 0u);
}

}  // namespace
}  // namespace lwqt
