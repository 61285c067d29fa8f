// C4 placement: a work queued on CPU c of a lazy or per_cpu queue runs on
// c's worker of that queue; the only exceptions are recorded (fallback
// events: creation failure or CPU offline), and then it runs on the core CPU.
#include "test_helpers.hpp"

namespace lwqt {
namespace {

TEST(C4_Placement, WorkRunsOnItsTargetCpu) {
  constexpr int kCpus = 8;
  constexpr int kRounds = 5;
  for (WqKind kind : {WqKind::lazy, WqKind::per_cpu}) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    std::atomic<int> runs{0};
    Engine eng(test_config(kCpus));
    auto& wq = eng.create_workqueue("q", kind);
    std::vector<std::unique_ptr<Work>> works;
    for (int c = 0; c < kCpus; ++c)
      works.push_back(std::make_unique<Work>([&](Work&) { runs.fetch_add(1); }, "w" + std::to_string(c)));
    for (int r = 0; r < kRounds; ++r) {
      for (int c = 0; c < kCpus; ++c) ASSERT_TRUE(wq.queue_work_on(c, *works[static_cast<size_t>(c)]));
      wq.flush();
    }
    EXPECT_EQ(runs.load(), kCpus * kRounds);
    auto evs = eng.events();
    EXPECT_TRUE(placement_ok(evs, wq.id(), 0));
    EXPECT_EQ(count_events(eng, EventType::fallback), 0u) << "no faults, no offline: no fallback";
    for (int c = 0; c < kCpus; ++c) {
      auto begins = events_where(eng, EventType::exec_begin, works[static_cast<size_t>(c)]->id());
      ASSERT_EQ(begins.size(), static_cast<size_t>(kRounds));
      for (const Event& e : begins) {
        EXPECT_EQ(e.arg, c) << "exec_begin must name the CPU the work was queued for";
        EXPECT_EQ(e.cpu, c) << lazywq::format_event(e);
      }
    }
  }
}

// Placement is observable: all runs on CPU c come from one engine thread
// (c's worker), and different CPUs have different threads.
TEST(C4_Placement, EachCpuHasItsOwnWorkerThread) {
  constexpr int kCpus = 4;
  for (WqKind kind : {WqKind::lazy, WqKind::per_cpu}) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    Engine eng(test_config(kCpus));
    auto& wq = eng.create_workqueue("q", kind);
    std::vector<std::unique_ptr<Work>> works;
    for (int i = 0; i < 3 * kCpus; ++i) works.push_back(std::make_unique<Work>([](Work&) {}, "w"));
    for (int i = 0; i < 3 * kCpus; ++i) ASSERT_TRUE(wq.queue_work_on(i % kCpus, *works[static_cast<size_t>(i)]));
    wq.flush();
    std::map<int, std::set<uint32_t>> threads_of_cpu;
    for (const Event& e : events_where(eng, EventType::exec_begin, 0, wq.id())) {
      EXPECT_EQ(e.thread & lazywq::kExternalThread, 0u) << "a callback runs on an engine thread";
      threads_of_cpu[e.cpu].insert(e.thread);
    }
    ASSERT_EQ(threads_of_cpu.size(), static_cast<size_t>(kCpus));
    std::set<uint32_t> all;
    for (auto& [cpu, ts] : threads_of_cpu) {
      EXPECT_EQ(ts.size(), 1u) << "cpu " << cpu << " ran works on several threads";
      all.insert(ts.begin(), ts.end());
    }
    EXPECT_EQ(all.size(), static_cast<size_t>(kCpus)) << "two CPUs share a worker thread";
  }
}

// queue_work without a CPU, from inside a callback, uses the CPU of the
// worker that runs the callback.
TEST(C4_Placement, QueueWorkInsideCallbackUsesWorkersCpu) {
  // CPU 3 with the core on 0, and CPU 0 with the core elsewhere (a worker
  // of CPU 0 is not the core: its CPU is 0, not core_cpu).
  for (auto [cpu, core] : {std::pair{3, 0}, std::pair{0, 2}})
  for (WqKind kind : {WqKind::lazy, WqKind::per_cpu}) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)) + " on cpu " + std::to_string(cpu) + ", core " +
                 std::to_string(core));
    std::atomic<int> inner_runs{0};
    std::atomic<int> accepted{-1};
    EngineConfig cfg = test_config(4);
    cfg.core_cpu = core;
    Engine eng(cfg);
    auto& wq = eng.create_workqueue("q", kind);
    Work inner([&](Work&) { inner_runs.fetch_add(1); }, "inner");
    Work outer([&](Work&) { accepted.store(lazywq::queue_work(wq, inner) ? 1 : 0); }, "outer");
    ASSERT_TRUE(wq.queue_work_on(cpu, outer));
    eng.flush_work(outer);
    ASSERT_EQ(accepted.load(), 1);
    eng.flush_work(inner);
    EXPECT_EQ(inner_runs.load(), 1);
    auto q = events_where(eng, EventType::queue, inner.id());
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0].arg, cpu) << "queue_work inside a callback must target the worker's CPU";
    auto b = events_where(eng, EventType::exec_begin, inner.id());
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].cpu, cpu);
    EXPECT_EQ(b[0].arg, cpu);
  }
}

// The recorded exception: creation failure. The work runs on the core CPU
// and a fallback event of that work precedes the run.
TEST(C4_Placement, FallbackIsRecordedAndRunsOnCore) {
  std::atomic<int> runs{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  lazywq::SpawnFaults f;
  f.fail_always = true;
  eng.set_spawn_faults(f);
  std::vector<std::unique_ptr<Work>> works;
  for (int c = 1; c < 4; ++c) works.push_back(std::make_unique<Work>([&](Work&) { runs.fetch_add(1); }, "w"));
  for (int c = 1; c < 4; ++c) ASSERT_TRUE(wq.queue_work_on(c, *works[static_cast<size_t>(c - 1)]));
  wq.flush();
  EXPECT_EQ(runs.load(), 3);
  auto evs = eng.events();
  EXPECT_TRUE(placement_ok(evs, wq.id(), 0));
  for (auto& w : works) {
    auto fb = events_where(eng, EventType::fallback, w->id());
    auto b = events_where(eng, EventType::exec_begin, w->id());
    ASSERT_EQ(fb.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_LT(fb[0].seq, b[0].seq) << "the fallback event must precede the run";
    EXPECT_EQ(b[0].cpu, 0) << "a fallback run happens on the core CPU";
    EXPECT_TRUE(fb[0].arg == static_cast<int>(lazywq::FallbackReason::spawn_failed) ||
                fb[0].arg == static_cast<int>(lazywq::FallbackReason::spawn_cooldown))
        << "reason " << fb[0].arg;
  }
  EXPECT_EQ(eng.stats().fallbacks, 3u);
}

}  // namespace
}  // namespace lwqt
