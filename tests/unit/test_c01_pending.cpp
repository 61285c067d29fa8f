// C1 pending bit: queue_work[_on] claims PENDING atomically; a second
// queueing while pending returns false and changes nothing; an accepted
// queueing runs exactly once.
#include "test_helpers.hpp"

namespace lwqt {
namespace {

TEST(C1_PendingBit, SecondQueueReturnsFalseAndRunsOnce) {
  std::atomic<int> runs{0};
  Gate started, release;
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("st", WqKind::single_thread);
  Work blocker([&](Work&) { started.open(); release.wait(); }, "blocker");
  Work w([&](Work&) { runs.fetch_add(1); }, "w");

  ASSERT_TRUE(wq.queue_work_on(1, blocker));
  ASSERT_TRUE(started.wait());  // the only thread of the queue is busy now

  EXPECT_FALSE(w.pending());
  EXPECT_TRUE(wq.queue_work_on(1, w));
  EXPECT_TRUE(w.pending());
  EXPECT_FALSE(wq.queue_work_on(1, w));
  EXPECT_FALSE(wq.queue_work_on(2, w));
  EXPECT_FALSE(lazywq::queue_work(wq, w));
  EXPECT_FALSE(lazywq::queue_work_on(3, wq, w));
  EXPECT_TRUE(w.pending());
  EXPECT_EQ(count_events(eng, EventType::queue, w.id()), 1u) << "a losing queueing must change nothing";
  EXPECT_EQ(count_events(eng, EventType::queue_busy, w.id()), 4u) << "each losing queueing is recorded as busy";

  release.open();
  wq.flush();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_FALSE(w.pending());

  // Not pending any more: the next queueing is accepted and runs once more.
  EXPECT_TRUE(wq.queue_work_on(2, w));
  lazywq::flush_work(w);
  EXPECT_EQ(runs.load(), 2);
  EXPECT_FALSE(release.timed_out());
}

TEST(C1_PendingBit, PendingOnOneQueueIsRejectedByAnother) {
  std::atomic<int> runs{0};
  Gate started, release;
  Engine eng(test_config(4));
  auto& st = eng.create_workqueue("st", WqKind::single_thread);
  auto& lazy = eng.create_workqueue("lazy", WqKind::lazy);
  Work blocker([&](Work&) { started.open(); release.wait(); }, "blocker");
  Work w([&](Work&) { runs.fetch_add(1); }, "w");

  ASSERT_TRUE(st.queue_work_on(0, blocker));
  ASSERT_TRUE(started.wait());
  ASSERT_TRUE(st.queue_work_on(0, w));
  EXPECT_FALSE(lazy.queue_work_on(2, w)) << "PENDING is per work, not per queue";

  release.open();
  st.flush();
  lazy.flush();
  EXPECT_EQ(runs.load(), 1);
  auto begins = events_where(eng, EventType::exec_begin, w.id());
  ASSERT_EQ(begins.size(), 1u);
  EXPECT_EQ(begins[0].queue, st.id()) << "the run belongs to the queue that won PENDING";
}

TEST(C1_PendingBit, RacingQueuersExactlyOneWins) {
  constexpr int kThreads = 4;
  constexpr int kTries = 200;
  std::atomic<int> runs{0};
  std::atomic<int> wins{0};
  Gate started, release;
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("st", WqKind::single_thread);
  Work blocker([&](Work&) { started.open(); release.wait(); }, "blocker");
  Work w([&](Work&) { runs.fetch_add(1); }, "w");

  ASSERT_TRUE(wq.queue_work_on(0, blocker));
  ASSERT_TRUE(started.wait());
  std::barrier sync(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      sync.arrive_and_wait();
      for (int i = 0; i < kTries; ++i)
        if (wq.queue_work_on((t + i) % 4, w)) wins.fetch_add(1);
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(wins.load(), 1);
  release.open();
  wq.flush();
  EXPECT_EQ(runs.load(), 1);
}

// Stress: without blocking, every accepted queueing runs exactly once, and
// only accepted queueings leave a `queue` event.
TEST(C1_PendingBit, AcceptedQueueingsEqualRuns) {
  constexpr int kThreads = 3;
  constexpr int kTries = 1500;
  for (WqKind kind : {WqKind::lazy, WqKind::per_cpu, WqKind::single_thread, WqKind::ordered}) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    std::atomic<int> runs{0};
    std::atomic<int> accepted{0};
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("q", kind);
    Work w([&](Work&) { runs.fetch_add(1); }, "w");
    std::barrier sync(kThreads);
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t)
      ts.emplace_back([&, t] {
        sync.arrive_and_wait();
        for (int i = 0; i < kTries; ++i)
          if (wq.queue_work_on((t + i) % 4, w)) accepted.fetch_add(1);
      });
    for (auto& t : ts) t.join();
    wq.flush();
    EXPECT_FALSE(w.pending());
    EXPECT_GT(accepted.load(), 0);
    EXPECT_EQ(runs.load(), accepted.load());
    EXPECT_EQ(count_events(eng, EventType::queue, w.id()), static_cast<size_t>(accepted.load()));
    EXPECT_EQ(count_events(eng, EventType::exec_begin, w.id()), static_cast<size_t>(accepted.load()));
  }
}

}  // namespace
}  // namespace lwqt
