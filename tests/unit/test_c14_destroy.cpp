// C14 destroy: destroy drains, then stops and joins every thread of the
// queue. Any call on a destroyed queue is a clear error, never a crash.
#include "test_helpers.hpp"

namespace lwqt {
namespace {

constexpr WqKind kAllKinds[] = {WqKind::lazy, WqKind::per_cpu, WqKind::single_thread, WqKind::ordered};

TEST(C14_Destroy, DestroyRunsEveryQueuedWorkAndJoinsThreads) {
  constexpr int kCpus = 6;
  constexpr int kWorks = 60;
  for (WqKind kind : kAllKinds) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    std::atomic<int> runs{0};
    Engine eng(test_config(kCpus));
    auto& wq = eng.create_workqueue("q", kind);
    std::vector<std::unique_ptr<Work>> works;
    for (int i = 0; i < kWorks; ++i)
      works.push_back(std::make_unique<Work>(
          [&, i](Work&) {
            if (i % 10 == 0) spin_for(300us);
            runs.fetch_add(1);
          },
          "w"));
    for (int i = 0; i < kWorks; ++i) ASSERT_TRUE(wq.queue_work_on(i % kCpus, *works[static_cast<size_t>(i)]));
    {
      Watchdog dog(20s, "destroy");
      lazywq::destroy_workqueue(wq);
    }
    EXPECT_EQ(runs.load(), kWorks) << "destroy must drain first";
    EXPECT_TRUE(wq.destroyed());
    EXPECT_EQ(wq.live_threads(), 0);
    EXPECT_TRUE(wq.cpus_with_worker().empty());
    auto s = eng.stats();
    EXPECT_EQ(s.live_threads, 0);
    EXPECT_EQ(s.threads_exited, s.threads_created) << "thread leak";
    ASSERT_EQ(s.queues.size(), 1u);
    EXPECT_TRUE(s.queues[0].destroyed);
    EXPECT_EQ(s.queues[0].live_threads, 0);
    EXPECT_EQ(count_events(eng, EventType::destroy, 0, wq.id()), 1u);
    for (auto& w : works) EXPECT_FALSE(w->pending());
  }
}

// Chained queueing from inside the queue is part of the drain.
TEST(C14_Destroy, DestroyFollowsSelfRequeueChain) {
  constexpr int kChain = 25;
  std::atomic<int> runs{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w(
      [&](Work& self) {
        int n = runs.fetch_add(1) + 1;
        if (n < kChain) wq.queue_work_on(n % 4, self);
      },
      "chain");
  ASSERT_TRUE(wq.queue_work_on(1, w));
  wq.destroy();
  EXPECT_EQ(runs.load(), kChain);
  EXPECT_FALSE(w.pending());
}

// An armed delayed work is an accepted queueing (C1): destroy's drain runs
// it rather than waiting out its delay or dropping it.
TEST(C14_Destroy, DestroyRunsArmedDelayedWork) {
  std::atomic<int> runs{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  DelayedWork dw([&](Work&) { runs.fetch_add(1); }, "dw");
  ASSERT_TRUE(wq.queue_delayed_work_on(2, dw, 60s));
  const int64_t t0 = eng.now_ns();
  {
    Watchdog dog(20s, "destroy with an armed timer");
    wq.destroy();
  }
  EXPECT_LT(eng.now_ns() - t0, ns(30s));
  EXPECT_EQ(runs.load(), 1);
  EXPECT_FALSE(dw.pending());
}

TEST(C14_Destroy, EveryCallOnDestroyedQueueIsAnError) {
  std::atomic<int> runs{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  DelayedWork dw([&](Work&) { runs.fetch_add(1); }, "dw");
  ASSERT_TRUE(wq.queue_work_on(1, w));
  wq.destroy();
  ASSERT_EQ(runs.load(), 1);

  EXPECT_LAZYWQ_ERROR(wq.queue_work(w), Errc::queue_destroyed);
  EXPECT_LAZYWQ_ERROR(wq.queue_work_on(1, w), Errc::queue_destroyed);
  EXPECT_LAZYWQ_ERROR(lazywq::queue_work_on(2, wq, w), Errc::queue_destroyed);
  EXPECT_LAZYWQ_ERROR(wq.queue_delayed_work(dw, 1ms), Errc::queue_destroyed);
  EXPECT_LAZYWQ_ERROR(wq.queue_delayed_work_on(1, dw, 1ms), Errc::queue_destroyed);
  EXPECT_LAZYWQ_ERROR(wq.mod_delayed_work(dw, 1ms), Errc::queue_destroyed);
  EXPECT_LAZYWQ_ERROR(wq.mod_delayed_work_on(1, dw, 1ms), Errc::queue_destroyed);
  EXPECT_LAZYWQ_ERROR(wq.flush(), Errc::queue_destroyed);
  EXPECT_LAZYWQ_ERROR(lazywq::flush_workqueue(wq), Errc::queue_destroyed);
  EXPECT_LAZYWQ_ERROR(wq.drain(), Errc::queue_destroyed);
  EXPECT_LAZYWQ_ERROR(wq.destroy(), Errc::queue_destroyed);
  EXPECT_LAZYWQ_ERROR(lazywq::destroy_workqueue(wq), Errc::queue_destroyed);

  // Nothing was changed by the refused calls, and the queries still answer.
  EXPECT_FALSE(w.pending());
  EXPECT_FALSE(dw.pending());
  EXPECT_EQ(runs.load(), 1);
  EXPECT_TRUE(wq.destroyed());
  EXPECT_EQ(wq.name(), "lazy");
  EXPECT_EQ(wq.kind(), WqKind::lazy);
  EXPECT_EQ(wq.live_threads(), 0);
  // Work-level calls on a work whose queue is gone are fine.
  EXPECT_FALSE(eng.flush_work(w));
  EXPECT_FALSE(eng.cancel_work_sync(w));
}

// Destroying one queue leaves the others working; the work can move on to
// another queue of the same engine.
TEST(C14_Destroy, OtherQueuesKeepWorking) {
  std::atomic<int> runs{0};
  Engine eng(test_config(4));
  auto& q1 = eng.create_workqueue("q1", WqKind::lazy);
  auto& q2 = eng.create_workqueue("q2", WqKind::lazy);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  ASSERT_TRUE(q1.queue_work_on(2, w));
  q1.destroy();
  const int before = runs.load();
  ASSERT_TRUE(q2.queue_work_on(3, w));
  eng.flush_work(w);
  EXPECT_EQ(runs.load(), before + 1);
  EXPECT_EQ(q2.live_threads(), 2);
}

// The engine's destructor destroys (drains and joins) the queues still alive.
TEST(C14_Destroy, EngineDestructorDrainsLiveQueues) {
  std::atomic<int> runs{0};
  Gate started, release;
  std::vector<std::unique_ptr<Work>> works;  // declared first: outlive the engine
  Watchdog dog(20s, "engine destructor");
  {
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
    works.push_back(std::make_unique<Work>([&](Work&) { started.open(); release.wait(); runs.fetch_add(1); }, "b"));
    for (int i = 0; i < 10; ++i) works.push_back(std::make_unique<Work>([&](Work&) { runs.fetch_add(1); }, "w"));
    ASSERT_TRUE(wq.queue_work_on(1, *works[0]));
    ASSERT_TRUE(started.wait());
    for (size_t i = 1; i < works.size(); ++i) ASSERT_TRUE(wq.queue_work_on(static_cast<int>(i % 4), *works[i]));
    release.open();
    // ~Engine here
  }
  EXPECT_EQ(runs.load(), 11);
  for (auto& w : works) EXPECT_FALSE(w->pending());
  works.clear();  // work destructors after the engine is gone must be harmless
}

}  // namespace
}  // namespace lwqt
