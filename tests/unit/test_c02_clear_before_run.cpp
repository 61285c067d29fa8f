// C2 clear before run: PENDING is cleared just before the callback starts,
// so a callback may requeue itself, and a queueing during a run gives exactly
// one more run after the current one ends.
#include "test_helpers.hpp"

namespace lwqt {
namespace {

constexpr WqKind kAllKinds[] = {WqKind::lazy, WqKind::per_cpu, WqKind::single_thread, WqKind::ordered};

TEST(C2_ClearBeforeRun, SelfRequeueRunsAgain) {
  constexpr int kRuns = 6;
  for (WqKind kind : kAllKinds) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    std::atomic<int> runs{0}, pending_inside{0}, requeue_refused{0};
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("q", kind);
    Work w(
        [&](Work& self) {
          int n = runs.fetch_add(1) + 1;
          if (self.pending()) pending_inside.fetch_add(1);
          if (n < kRuns && !wq.queue_work_on(n % 4, self)) requeue_refused.fetch_add(1);
        },
        "self-requeue");
    ASSERT_TRUE(wq.queue_work_on(1, w));
    wq.drain();  // drain follows chained queueing to the end (C11)
    EXPECT_EQ(runs.load(), kRuns);
    EXPECT_EQ(pending_inside.load(), 0) << "PENDING must be clear when the callback starts";
    EXPECT_EQ(requeue_refused.load(), 0) << "a callback's requeue of itself must be accepted";
    EXPECT_FALSE(w.pending());
  }
}

TEST(C2_ClearBeforeRun, QueueDuringRunGivesExactlyOneMoreRun) {
  for (WqKind kind : kAllKinds) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    std::atomic<int> runs{0};
    Gate started, release;
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("q", kind);
    Work w(
        [&](Work&) {
          if (runs.fetch_add(1) == 0) {
            started.open();
            release.wait();
          }
        },
        "w");
    ASSERT_TRUE(wq.queue_work_on(2, w));
    ASSERT_TRUE(started.wait());
    EXPECT_FALSE(w.pending()) << "PENDING must be clear while the callback runs";
    EXPECT_TRUE(wq.queue_work_on(2, w)) << "queueing during a run must be accepted";
    EXPECT_TRUE(w.pending());
    EXPECT_FALSE(wq.queue_work_on(2, w)) << "...but only once";
    EXPECT_FALSE(wq.queue_work_on(3, w));
    release.open();
    eng.flush_work(w);
    EXPECT_EQ(runs.load(), 2) << "exactly one more run";
    wq.flush();
    EXPECT_EQ(runs.load(), 2);
    EXPECT_FALSE(w.pending());
  }
}

// The extra run of a queueing made during a run starts only after the
// current run ended, even when it was queued for another CPU.
TEST(C2_ClearBeforeRun, RequeueOnOtherCpuRunsAfterCurrentRunEnds) {
  std::atomic<int> runs{0};
  std::atomic<bool> first_done{false}, second_saw_first_done{false};
  Gate started, release;
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work warm([](Work&) {}, "warm");
  Work w(
      [&](Work&) {
        int n = runs.fetch_add(1);
        if (n == 0) {
          started.open();
          release.wait();
          first_done.store(true);
        } else {
          second_saw_first_done.store(first_done.load());
        }
      },
      "w");
  // Give CPU 3 a worker first so the requeue goes straight to it.
  ASSERT_TRUE(wq.queue_work_on(3, warm));
  wq.flush();
  ASSERT_TRUE(wq.queue_work_on(1, w));
  ASSERT_TRUE(started.wait());
  ASSERT_TRUE(wq.queue_work_on(3, w));
  spin_for(2ms);  // widen the window in which CPU 3's worker could start it early
  release.open();
  eng.flush_work(w);
  EXPECT_EQ(runs.load(), 2);
  EXPECT_TRUE(second_saw_first_done.load()) << "the second run started before the first ended";
}

}  // namespace
}  // namespace lwqt
