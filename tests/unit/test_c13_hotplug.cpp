// C13 hotplug: taking a CPU offline moves its pending works (recorded as
// migrations) and retires its workers; a running work finishes first.
// Bringing it online lets later queueing create workers again.
#include <random>

#include "test_helpers.hpp"

namespace lwqt {
namespace {

std::vector<int> sorted(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  return v;
}

bool has_event_after(const Engine& eng, EventType t, uint64_t from_seq) {
  for (const Event& e : eng.events())
    if (e.seq >= from_seq && e.type == t) return true;
  return false;
}

TEST(C13_Hotplug, OfflineRetiresWorkerAndOnlineLetsItComeBack) {
  std::atomic<int> runs{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  ASSERT_TRUE(wq.queue_work_on(3, w));
  wq.flush();
  ASSERT_EQ(sorted(wq.cpus_with_worker()), (std::vector<int>{0, 3}));

  EXPECT_TRUE(eng.cpu_offline(3));
  EXPECT_FALSE(eng.cpu_is_online(3));
  EXPECT_FALSE(eng.cpu_offline(3)) << "already offline";
  ASSERT_TRUE(wait_until([&] { return wq.live_threads() == 1; })) << "CPU 3's worker was not retired";
  EXPECT_EQ(wq.cpus_with_worker(), std::vector<int>{0});
  EXPECT_EQ(count_events(eng, EventType::cpu_offline), 1u);

  // Offline: the work runs on the core, with a recorded fallback.
  ASSERT_TRUE(wq.queue_work_on(3, w));
  eng.flush_work(w);
  EXPECT_EQ(runs.load(), 2);
  auto fb = events_where(eng, EventType::fallback, w.id());
  ASSERT_EQ(fb.size(), 1u);
  EXPECT_EQ(fb[0].arg, static_cast<int>(lazywq::FallbackReason::cpu_offline));
  EXPECT_EQ(events_where(eng, EventType::exec_begin, w.id()).back().cpu, 0);
  EXPECT_EQ(wq.live_threads(), 1) << "no worker may be created for an offline CPU";

  EXPECT_TRUE(eng.cpu_online(3));
  EXPECT_TRUE(eng.cpu_is_online(3));
  EXPECT_FALSE(eng.cpu_online(3)) << "already online";
  ASSERT_TRUE(wq.queue_work_on(3, w));
  eng.flush_work(w);
  EXPECT_EQ(runs.load(), 3);
  EXPECT_EQ(events_where(eng, EventType::exec_begin, w.id()).back().cpu, 3);
  EXPECT_EQ(sorted(wq.cpus_with_worker()), (std::vector<int>{0, 3}));
  EXPECT_TRUE(placement_ok(eng.events(), wq.id(), 0));
}

TEST(C13_Hotplug, OfflineCoreCpuIsRefused) {
  Engine eng(test_config(4));
  EXPECT_LAZYWQ_ERROR(eng.cpu_offline(0), Errc::cpu_state);
  EXPECT_TRUE(eng.cpu_is_online(0));
}

// Pending works of the CPU move to the core (migrate events) and run there in
// order; the running work finishes on its worker; the retired worker takes no
// new work.
TEST(C13_Hotplug, OfflineMovesPendingWorksAndRunningWorkFinishes) {
  constexpr int kPending = 5;
  Gate started, release;
  std::atomic<bool> blocker_done{false};
  OrderLog log;
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work blocker(
      [&](Work&) {
        started.open();
        release.wait();
        blocker_done.store(true);
      },
      "blocker");
  std::vector<std::unique_ptr<Work>> works;
  for (int i = 0; i < kPending; ++i) works.push_back(std::make_unique<Work>([&log, i](Work&) { log.add(i); }, "p"));
  ASSERT_TRUE(wq.queue_work_on(3, blocker));
  ASSERT_TRUE(started.wait());
  for (auto& w : works) ASSERT_TRUE(wq.queue_work_on(3, *w));

  std::atomic<int> offline_ret{-1};
  std::thread hotplug([&] { offline_ret.store(eng.cpu_offline(3) ? 1 : 0); });
  // The queue has taken CPU 3 offline once every pending work is recorded as
  // moved; only then let the running work finish.
  uint64_t moved_seq = 0;
  bool all_moved = wait_until([&] {
    size_t n = 0;
    for (auto& w : works)
      for (const Event& e : events_where(eng, EventType::migrate, w->id())) {
        ++n;
        moved_seq = std::max(moved_seq, e.seq);
      }
    return n >= works.size();
  });
  release.open();
  EXPECT_TRUE(all_moved) << "pending works of an offline CPU must be moved (migrate events)\n" << dump_events(eng);
  hotplug.join();
  EXPECT_EQ(offline_ret.load(), 1);
  wq.flush();
  ASSERT_TRUE(wait_until([&] { return wq.live_threads() == 1; }));
  EXPECT_TRUE(blocker_done.load());

  EXPECT_EQ(log.get(), iota_vec(kPending)) << "moved works lost, duplicated or reordered";
  for (auto& w : works) {
    auto b = events_where(eng, EventType::exec_begin, w->id());
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].cpu, 0);
  }
  auto bb = events_where(eng, EventType::exec_begin, blocker.id());
  auto be = events_where(eng, EventType::exec_end, blocker.id());
  ASSERT_EQ(bb.size(), 1u);
  ASSERT_EQ(be.size(), 1u);
  EXPECT_EQ(bb[0].cpu, 3);
  EXPECT_EQ(be[0].cpu, 3) << "the running work finishes on its own worker";
  for (const Event& e : eng.events())
    if (e.type == EventType::exec_begin && e.seq > moved_seq) {
      EXPECT_NE(e.cpu, 3) << lazywq::format_event(e);
    }
  EXPECT_TRUE(placement_ok(eng.events(), wq.id(), 0));
}

TEST(C13_Hotplug, PerCpuQueueLosesAndRegainsItsWorker) {
  std::atomic<int> runs{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("per_cpu", WqKind::per_cpu);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  ASSERT_EQ(wq.live_threads(), 4);
  ASSERT_TRUE(eng.cpu_offline(2));
  ASSERT_TRUE(wait_until([&] { return wq.live_threads() == 3; }));
  EXPECT_EQ(sorted(wq.cpus_with_worker()), (std::vector<int>{0, 1, 3}));
  ASSERT_TRUE(wq.queue_work_on(2, w));
  eng.flush_work(w);
  EXPECT_EQ(events_where(eng, EventType::exec_begin, w.id()).back().cpu, 0);
  ASSERT_TRUE(eng.cpu_online(2));
  ASSERT_TRUE(wq.queue_work_on(2, w));
  eng.flush_work(w);
  EXPECT_EQ(runs.load(), 2);
  EXPECT_EQ(events_where(eng, EventType::exec_begin, w.id()).back().cpu, 2);
  EXPECT_EQ(wq.live_threads(), 4);
  EXPECT_TRUE(placement_ok(eng.events(), wq.id(), 0));
}

// A queue created while a CPU is offline honours that state.
TEST(C13_Hotplug, QueueCreatedWhileCpuOffline) {
  std::atomic<int> runs{0};
  Engine eng(test_config(4));
  ASSERT_TRUE(eng.cpu_offline(2));
  auto& eager = eng.create_workqueue("per_cpu", WqKind::per_cpu);
  auto& lazy = eng.create_workqueue("lazy", WqKind::lazy);
  EXPECT_EQ(eager.live_threads(), 3);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  ASSERT_TRUE(lazy.queue_work_on(2, w));
  eng.flush_work(w);
  EXPECT_EQ(lazy.live_threads(), 1);
  EXPECT_EQ(count_events(eng, EventType::fallback, w.id()), 1u);
  ASSERT_TRUE(eng.cpu_online(2));
  ASSERT_TRUE(lazy.queue_work_on(2, w));
  eng.flush_work(w);
  EXPECT_EQ(runs.load(), 2);
  EXPECT_EQ(events_where(eng, EventType::exec_begin, w.id()).back().cpu, 2);
}

TEST(C13_Hotplug, DelayedWorkForOfflineCpuStillRuns) {
  std::atomic<int> runs{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  DelayedWork dw([&](Work&) { runs.fetch_add(1); }, "dw");
  ASSERT_TRUE(wq.queue_delayed_work_on(3, dw, 20ms));
  ASSERT_TRUE(eng.cpu_offline(3));
  ASSERT_TRUE(wait_until([&] { return runs.load() == 1; })) << dump_events(eng);
  auto b = events_where(eng, EventType::exec_begin, dw.id());
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].cpu, 0);
  EXPECT_TRUE(placement_ok(eng.events(), wq.id(), 0));
}

// A running work may use the engine (stats, cpu_is_online, queueing) while
// its CPU is being taken offline: "finishes first" must not turn into a
// deadlock between the hotplug and the work.
TEST(C13_Hotplug, RunningWorkMayUseEngineDuringOffline) {
  Gate started, release;
  std::atomic<bool> finished{false};
  std::atomic<int> other_runs{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work other([&](Work&) { other_runs.fetch_add(1); }, "other");
  Work w(
      [&](Work&) {
        started.open();
        release.wait();
        (void)eng.stats();
        (void)eng.cpu_is_online(3);
        wq.queue_work_on(1, other);
        finished.store(true);
      },
      "w");
  ASSERT_TRUE(wq.queue_work_on(3, w));
  ASSERT_TRUE(started.wait());
  Watchdog dog(15s, "cpu_offline while the running work calls stats()/cpu_is_online() (deadlock)");
  const uint64_t mark = eng.event_count();
  std::thread hotplug([&] { eng.cpu_offline(3); });
  ASSERT_TRUE(wait_until([&] { return has_event_after(eng, EventType::cpu_offline, mark); }));
  release.open();
  hotplug.join();
  wq.flush();
  EXPECT_TRUE(finished.load());
  EXPECT_EQ(other_runs.load(), 1);
}

// Queues created while a CPU goes off and on: every queue ends up agreeing
// with the final (online) state, so work for that CPU runs on its worker.
TEST(C13_Hotplug, QueueCreationRacingHotplug) {
  constexpr int kQueues = 8;
  Engine eng(test_config(4));
  std::vector<Workqueue*> queues;
  Watchdog dog(30s, "queue creation racing hotplug");
  std::thread creator([&] {
    for (int i = 0; i < kQueues; ++i)
      queues.push_back(&eng.create_workqueue("q" + std::to_string(i), i % 2 ? WqKind::per_cpu : WqKind::lazy));
  });
  for (int t = 0; t < 20; ++t) {
    EXPECT_TRUE(eng.cpu_offline(2));
    EXPECT_TRUE(eng.cpu_online(2));
  }
  creator.join();
  std::atomic<int> runs{0};
  std::vector<std::unique_ptr<Work>> works;
  for (Workqueue* q : queues) {
    works.push_back(std::make_unique<Work>([&](Work&) { runs.fetch_add(1); }, "w"));
    ASSERT_TRUE(q->queue_work_on(2, *works.back()));
    eng.flush_work(*works.back());
    auto b = events_where(eng, EventType::exec_begin, works.back()->id());
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].cpu, 2) << q->name() << " missed that CPU 2 is online again";
    if (q->kind() == WqKind::per_cpu) {
      EXPECT_EQ(q->live_threads(), 4) << q->name();
    }
  }
  EXPECT_EQ(runs.load(), kQueues);
}

// Hotplug storm: CPUs go off and on while producers queue to every CPU.
// Every accepted queueing runs once, placement holds, nothing hangs.
TEST(C13_Hotplug, HotplugStormWithProducers) {
  constexpr int kCpus = 4;
  constexpr int kSlots = 24;
  constexpr int kToggles = 30;
  std::vector<std::atomic<int>> accepted(kSlots), runs(kSlots);
  std::atomic<bool> stop{false};
  EngineConfig cfg = test_config(kCpus);
  cfg.idle_timeout = 3ms;
  Engine eng(cfg);
  auto& lazy = eng.create_workqueue("lazy", WqKind::lazy);
  auto& eager = eng.create_workqueue("per_cpu", WqKind::per_cpu);
  std::vector<std::unique_ptr<Work>> works;
  for (int i = 0; i < kSlots; ++i)
    works.push_back(std::make_unique<Work>([&runs, i](Work&) { runs[static_cast<size_t>(i)].fetch_add(1); }, "w"));
  Watchdog dog(30s, "hotplug storm");
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p)
    producers.emplace_back([&, p] {
      std::mt19937 rng(static_cast<unsigned>(p + 10));
      Workqueue& q = p == 0 ? lazy : eager;
      while (!stop.load()) {
        int i = static_cast<int>(rng() % (kSlots / 2)) * 2 + p;  // each slot has one queue
        if (q.queue_work_on(static_cast<int>(rng() % kCpus), *works[static_cast<size_t>(i)]))
          accepted[static_cast<size_t>(i)].fetch_add(1);
        std::this_thread::yield();
      }
    });
  std::mt19937 rng(5);
  for (int t = 0; t < kToggles; ++t) {
    int c = 1 + static_cast<int>(rng() % (kCpus - 1));
    if (eng.cpu_is_online(c))
      EXPECT_TRUE(eng.cpu_offline(c));
    else
      EXPECT_TRUE(eng.cpu_online(c));
    spin_for(std::chrono::microseconds(rng() % 1000));
  }
  stop.store(true);
  for (auto& t : producers) t.join();
  for (int c = 1; c < kCpus; ++c) eng.cpu_online(c);
  lazy.flush();
  eager.flush();
  for (int i = 0; i < kSlots; ++i)
    EXPECT_EQ(runs[static_cast<size_t>(i)].load(), accepted[static_cast<size_t>(i)].load()) << "slot " << i;
  auto evs = eng.events();
  EXPECT_TRUE(placement_ok(evs, lazy.id(), 0));
  EXPECT_TRUE(placement_ok(evs, eager.id(), 0));
}

}  // namespace
}  // namespace lwqt
