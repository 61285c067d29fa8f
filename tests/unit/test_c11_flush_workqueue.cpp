// C11 flush_workqueue: returns once every work queued before the call has
// finished; works queued later do not extend the wait (no livelock). drain
// repeats until the queue is empty and refuses queueing from outside the
// queue meanwhile.
#include <deque>

#include "test_helpers.hpp"

namespace lwqt {
namespace {

constexpr WqKind kAllKinds[] = {WqKind::lazy, WqKind::per_cpu, WqKind::single_thread, WqKind::ordered};

TEST(C11_FlushWorkqueue, WaitsForEveryEarlierWork) {
  constexpr int kWorks = 64;
  for (WqKind kind : kAllKinds) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    std::atomic<int> done{0};
    Engine eng(test_config(8));
    auto& wq = eng.create_workqueue("q", kind);
    std::vector<std::unique_ptr<Work>> works;
    for (int i = 0; i < kWorks; ++i)
      works.push_back(std::make_unique<Work>(
          [&, i](Work&) {
            if (i % 8 == 0) spin_for(200us);
            done.fetch_add(1);
          },
          "w"));
    for (int i = 0; i < kWorks; ++i) ASSERT_TRUE(wq.queue_work_on(i % 8, *works[static_cast<size_t>(i)]));
    lazywq::flush_workqueue(wq);
    EXPECT_EQ(done.load(), kWorks);
    EXPECT_FALSE(wq.flush()) << "nothing in flight: flush must not report a wait";
  }
}

TEST(C11_FlushWorkqueue, ReturnsTrueWhenItWaited) {
  Gate started, release;
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([&](Work&) { started.open(); release.wait(); }, "w");
  ASSERT_TRUE(wq.queue_work_on(2, w));
  ASSERT_TRUE(started.wait());
  std::atomic<int> ret{-1};
  const uint64_t mark = eng.event_count();
  std::thread flusher([&] { ret.store(wq.flush() ? 1 : 0); });
  ASSERT_TRUE(wait_until([&] {
    for (const Event& e : eng.events())
      if (e.seq >= mark && e.type == EventType::flush_begin && e.queue == wq.id()) return true;
    return false;
  }));
  spin_for(2ms);  // the flush has closed its epoch by now; this only widens the window
  release.open();
  flusher.join();
  EXPECT_EQ(ret.load(), 1) << "the work was running when flush began, so it waited";
}

// A work that requeues itself forever must not keep flush_workqueue from
// returning: its later queueings belong to later flushes.
TEST(C11_FlushWorkqueue, NoLivelockWithSelfRequeueingWork) {
  for (WqKind kind : kAllKinds) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    std::atomic<bool> stop{false};
    std::atomic<int> runs{0};
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("q", kind);
    Work w(
        [&](Work& self) {
          int n = runs.fetch_add(1);
          if (!stop.load()) wq.queue_work_on(n % 4, self);
        },
        "forever");
    ASSERT_TRUE(wq.queue_work_on(1, w));
    ASSERT_TRUE(wait_until([&] { return runs.load() > 10; }));
    {
      Watchdog dog(20s, "flush_workqueue with a self-requeueing work (livelock)");
      for (int i = 0; i < 5; ++i) wq.flush();
    }
    EXPECT_GT(runs.load(), 10);
    stop.store(true);
    eng.cancel_work_sync(w);
    EXPECT_FALSE(w.pending());
  }
}

// Outside producers that keep queueing do not extend a flush either, and
// every work queued before the call is done when it returns.
TEST(C11_FlushWorkqueue, NoLivelockWithOutsideProducers) {
  constexpr int kSlots = 32;
  std::atomic<bool> stop{false};
  std::vector<std::atomic<int>> accepted(kSlots), completed(kSlots);
  std::atomic<int> violations{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  std::vector<std::unique_ptr<Work>> works;
  for (int i = 0; i < kSlots; ++i)
    works.push_back(std::make_unique<Work>(
        [&completed, i](Work&) {
          spin_for(10us);
          completed[static_cast<size_t>(i)].fetch_add(1);
        },
        "w"));
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p)
    producers.emplace_back([&, p] {
      for (int i = p; !stop.load(); i = (i + 2) % kSlots) {
        if (wq.queue_work_on(i % 4, *works[static_cast<size_t>(i)])) accepted[static_cast<size_t>(i)].fetch_add(1);
        std::this_thread::yield();  // 2 vCPUs: leave the workers some room
      }
    });
  {
    Watchdog dog(20s, "flush_workqueue with busy producers (livelock)");
    for (int round = 0; round < 10; ++round) {
      std::vector<int> before(kSlots);
      for (int i = 0; i < kSlots; ++i) before[static_cast<size_t>(i)] = accepted[static_cast<size_t>(i)].load();
      wq.flush();
      for (int i = 0; i < kSlots; ++i)
        if (completed[static_cast<size_t>(i)].load() < before[static_cast<size_t>(i)]) violations.fetch_add(1);
    }
  }
  stop.store(true);
  for (auto& t : producers) t.join();
  wq.flush();
  EXPECT_EQ(violations.load(), 0) << "flush_workqueue returned before a work queued earlier had finished";
  for (int i = 0; i < kSlots; ++i)
    EXPECT_EQ(completed[static_cast<size_t>(i)].load(), accepted[static_cast<size_t>(i)].load()) << "slot " << i;
}

// drain follows a chain of self-requeues (across CPUs) to its end.
TEST(C11_FlushWorkqueue, DrainRunsChainedQueueingToTheEnd) {
  constexpr int kChain = 40;
  for (WqKind kind : kAllKinds) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    std::atomic<int> runs{0}, other_runs{0};
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("q", kind);
    Work other([&](Work&) { other_runs.fetch_add(1); }, "other");
    Work w(
        [&](Work& self) {
          int n = runs.fetch_add(1) + 1;
          if (n < kChain) {
            EXPECT_TRUE(wq.queue_work_on(n % 4, self)) << "chained queueing refused during drain";
            wq.queue_work_on((n + 1) % 4, other);
          }
        },
        "chain");
    ASSERT_TRUE(wq.queue_work_on(1, w));
    {
      Watchdog dog(20s, "drain");
      lazywq::drain_workqueue(wq);
    }
    EXPECT_EQ(runs.load(), kChain);
    EXPECT_GE(other_runs.load(), 1);
    EXPECT_FALSE(w.pending());
    EXPECT_FALSE(other.pending());
    // After drain the queue accepts outside queueing again.
    EXPECT_TRUE(wq.queue_work_on(2, other));
    wq.flush();
  }
}

// While a drain is in progress, queueing from outside the queue is refused
// (false and a queue_rejected event); queueing from one of the queue's own
// works is accepted.
TEST(C11_FlushWorkqueue, DrainRejectsOutsideQueueingAcceptsInside) {
  Gate started, release;
  std::atomic<int> inside_accepted{-1}, x_runs{0}, outsider_runs{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work x([&](Work&) { x_runs.fetch_add(1); }, "x");
  Work blocker(
      [&](Work&) {
        started.open();
        release.wait();
        inside_accepted.store(wq.queue_work_on(2, x) ? 1 : 0);
      },
      "blocker");
  std::deque<Work> outsiders;
  ASSERT_TRUE(wq.queue_work_on(1, blocker));
  ASSERT_TRUE(started.wait());

  const uint64_t mark = eng.event_count();
  std::atomic<bool> drained{false};
  std::thread drainer([&] {
    wq.drain();
    drained.store(true);
  });
  ASSERT_TRUE(wait_until([&] {
    for (const Event& e : eng.events())
      if (e.seq >= mark && e.type == EventType::flush_begin && e.queue == wq.id() &&
          e.arg == static_cast<int>(lazywq::FlushKind::drain))
        return true;
    return false;
  }));
  // The drain has begun and cannot finish while the blocker waits. A fresh
  // work is never pending, so `false` can only be a refusal. (Allow a queueing
  // that raced the start of the drain: retry with a new work until refused.)
  Work* refused = nullptr;
  ASSERT_TRUE(wait_until([&] {
    Work& o = outsiders.emplace_back([&](Work&) { outsider_runs.fetch_add(1); }, "outsider");
    if (!wq.queue_work_on(3, o)) refused = &o;
    return refused != nullptr;
  }));
  EXPECT_FALSE(drained.load());
  EXPECT_FALSE(refused->pending()) << "a refused queueing must leave the work idle";
  EXPECT_GE(count_events(eng, EventType::queue_rejected, 0, wq.id()), 1u);
  EXPECT_LE(outsiders.size(), 2u) << "queueing was still accepted well after the drain began";

  release.open();
  drainer.join();
  EXPECT_EQ(inside_accepted.load(), 1) << "queueing from inside the queue must be accepted while draining";
  EXPECT_EQ(x_runs.load(), 1) << "drain must also wait for the chained work";
  EXPECT_EQ(outsider_runs.load(), static_cast<int>(outsiders.size()) - 1);

  // Drain over: outside queueing is accepted again.
  EXPECT_TRUE(wq.queue_work_on(3, *refused));
  eng.flush_work(*refused);
  EXPECT_EQ(outsider_runs.load(), static_cast<int>(outsiders.size()));
}

}  // namespace
}  // namespace lwqt
