// C5 order: per (queue, CPU), works run in the order they were queued, also
// across migration from the core thread. An ordered queue runs one work at a
// time in global queue order.
#include <random>

#include "test_helpers.hpp"

namespace lwqt {
namespace {

// Many distinct works for one CPU of a fresh lazy queue: the first ones go
// through the core (the worker does not exist yet), the later ones straight
// to the worker. Their start order must be their queue order.
TEST(C5_Order, PerCpuOrderAcrossMigration) {
  constexpr int kWorks = 200;
  for (WqKind kind : {WqKind::lazy, WqKind::per_cpu, WqKind::single_thread, WqKind::ordered}) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    OrderLog log;
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("q", kind);
    std::vector<std::unique_ptr<Work>> works;
    for (int i = 0; i < kWorks; ++i)
      works.push_back(std::make_unique<Work>([&log, i](Work&) { log.add(i); }, "w" + std::to_string(i)));
    for (int i = 0; i < kWorks; ++i) ASSERT_TRUE(wq.queue_work_on(3, *works[static_cast<size_t>(i)]));
    wq.flush();
    EXPECT_EQ(log.get(), iota_vec(kWorks));
  }
}

// Works for several CPUs, interleaved: each CPU's subsequence keeps its
// order. One producer, so queue order is well defined.
TEST(C5_Order, PerCpuOrderInterleavedCpus) {
  constexpr int kCpus = 6;
  constexpr int kWorks = 300;
  for (WqKind kind : {WqKind::lazy, WqKind::per_cpu, WqKind::single_thread}) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    std::mt19937 rng(42);
    std::vector<OrderLog> logs(kCpus);
    std::vector<std::vector<int>> expect(kCpus);
    Engine eng(test_config(kCpus));
    auto& wq = eng.create_workqueue("q", kind);
    std::vector<std::unique_ptr<Work>> works;
    std::vector<int> cpu_of(kWorks);
    for (int i = 0; i < kWorks; ++i) {
      int c = static_cast<int>(rng() % kCpus);
      cpu_of[static_cast<size_t>(i)] = c;
      expect[static_cast<size_t>(c)].push_back(i);
      works.push_back(std::make_unique<Work>([&logs, c, i](Work&) { logs[static_cast<size_t>(c)].add(i); }, "w"));
    }
    for (int i = 0; i < kWorks; ++i) ASSERT_TRUE(wq.queue_work_on(cpu_of[static_cast<size_t>(i)], *works[static_cast<size_t>(i)]));
    wq.flush();
    for (int c = 0; c < kCpus; ++c) EXPECT_EQ(logs[static_cast<size_t>(c)].get(), expect[static_cast<size_t>(c)]) << "cpu " << c;
  }
}

// Several producers: per (producer, CPU) the queue order is known; it must
// be the run order.
TEST(C5_Order, PerCpuOrderWithConcurrentProducers) {
  constexpr int kProducers = 3;
  constexpr int kCpus = 4;
  constexpr int kPerProducer = 200;
  std::mutex m;
  std::map<std::pair<int, int>, std::vector<int>> seen;  // (producer, cpu) -> indices
  Engine eng(test_config(kCpus));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  std::vector<std::unique_ptr<Work>> works;
  for (int p = 0; p < kProducers; ++p)
    for (int i = 0; i < kPerProducer; ++i)
      works.push_back(std::make_unique<Work>(
          [&, p, i](Work&) {
            std::lock_guard<std::mutex> g(m);
            seen[{p, i % kCpus}].push_back(i);
          },
          "w"));
  std::barrier sync(kProducers);
  std::vector<std::thread> ts;
  for (int p = 0; p < kProducers; ++p)
    ts.emplace_back([&, p] {
      sync.arrive_and_wait();
      for (int i = 0; i < kPerProducer; ++i)
        EXPECT_TRUE(wq.queue_work_on(i % kCpus, *works[static_cast<size_t>(p * kPerProducer + i)]));
    });
  for (auto& t : ts) t.join();
  wq.flush();
  std::lock_guard<std::mutex> g(m);
  for (int p = 0; p < kProducers; ++p)
    for (int c = 0; c < kCpus; ++c) {
      std::vector<int> expect;
      for (int i = c; i < kPerProducer; i += kCpus) expect.push_back(i);
      EXPECT_EQ(seen[std::make_pair(p, c)], expect) << "producer " << p << " cpu " << c;
    }
}

// Creation failures and idle exits make works for a CPU alternate between
// the core (fallback), migration and a direct worker: order must survive.
TEST(C5_Order, PerCpuOrderSurvivesSpawnFaultsAndIdleExit) {
  constexpr int kCpus = 6;
  constexpr int kRounds = 40;
  constexpr int kPerRound = 12;
  EngineConfig cfg = test_config(kCpus);
  cfg.idle_timeout = 2ms;
  cfg.spawn_cooldown = 1ms;
  std::mt19937 rng(7);
  std::vector<OrderLog> logs(kCpus);
  std::vector<std::vector<int>> expect(kCpus);
  std::atomic<int> runs{0};
  Engine eng(cfg);
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  lazywq::SpawnFaults f;
  f.fail_probability = 0.4;
  f.seed = 1234;
  eng.set_spawn_faults(f);
  std::vector<std::unique_ptr<Work>> works;
  for (int r = 0; r < kRounds; ++r) {
    for (int k = 0; k < kPerRound; ++k) {
      int i = static_cast<int>(works.size());
      int c = static_cast<int>(rng() % kCpus);
      expect[static_cast<size_t>(c)].push_back(i);
      works.push_back(std::make_unique<Work>(
          [&logs, &runs, c, i](Work&) {
            logs[static_cast<size_t>(c)].add(i);
            runs.fetch_add(1);
          },
          "w"));
      ASSERT_TRUE(wq.queue_work_on(c, *works.back()));
    }
    if (r % 3 == 2) spin_for(std::chrono::microseconds(rng() % 4000));  // sometimes past idle_timeout
  }
  wq.flush();
  EXPECT_EQ(runs.load(), kRounds * kPerRound);
  for (int c = 0; c < kCpus; ++c) EXPECT_EQ(logs[static_cast<size_t>(c)].get(), expect[static_cast<size_t>(c)]) << "cpu " << c;
  EXPECT_TRUE(placement_ok(eng.events(), wq.id(), 0));
}

// Ordered queue: one work at a time, in global queue order, whatever CPUs
// the works were queued on.
TEST(C5_Order, OrderedQueueRunsOneAtATimeInQueueOrder) {
  constexpr int kWorks = 300;
  std::mt19937 rng(3);
  OrderLog log;
  ConcurrencyProbe probe;
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("ordered", WqKind::ordered);
  std::vector<std::unique_ptr<Work>> works;
  for (int i = 0; i < kWorks; ++i)
    works.push_back(std::make_unique<Work>(
        [&, i](Work&) {
          probe.enter();
          log.add(i);
          if (i % 10 == 0) spin_for(50us);
          probe.exit();
        },
        "w" + std::to_string(i)));
  for (int i = 0; i < kWorks; ++i)
    ASSERT_TRUE(wq.queue_work_on(static_cast<int>(rng() % 4), *works[static_cast<size_t>(i)]));
  wq.flush();
  EXPECT_EQ(probe.max(), 1) << "an ordered queue ran two works at once";
  EXPECT_EQ(log.get(), iota_vec(kWorks));
  EXPECT_EQ(wq.live_threads(), 1);
}

}  // namespace
}  // namespace lwqt
