// C10 flush_work: returns once every run queued before the call has
// finished; true if it waited. flush_work on the work that runs the caller
// is a reported deadlock, not a hang.
#include "test_helpers.hpp"

namespace lwqt {
namespace {

// Waits until a flush_work of `w` has announced itself (flush_begin): the
// flusher is then inside the call, before it looks at the work.
bool flush_started(const Engine& eng, const Work& w) {
  return wait_until([&] { return count_events(eng, EventType::flush_begin, w.id()) > 0; });
}

TEST(C10_FlushWork, ReturnsFalseWhenNothingToWaitFor) {
  std::atomic<int> runs{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  EXPECT_FALSE(lazywq::flush_work(w)) << "never queued";
  EXPECT_FALSE(eng.flush_work(w)) << "never queued";
  ASSERT_TRUE(wq.queue_work_on(2, w));
  eng.flush_work(w);
  EXPECT_EQ(runs.load(), 1);
  EXPECT_FALSE(eng.flush_work(w)) << "idle work: nothing to wait for";
  auto ends = events_where(eng, EventType::flush_end, w.id());
  ASSERT_FALSE(ends.empty());
  EXPECT_EQ(ends.back().arg, 0);
}

TEST(C10_FlushWork, WaitsForRunningCallback) {
  for (WqKind kind : {WqKind::lazy, WqKind::per_cpu, WqKind::single_thread, WqKind::ordered}) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    std::atomic<bool> done{false};
    Gate started, release;
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("q", kind);
    Work w(
        [&](Work&) {
          started.open();
          release.wait();
          done.store(true);
        },
        "w");
    ASSERT_TRUE(wq.queue_work_on(3, w));
    ASSERT_TRUE(started.wait());
    std::atomic<int> ret{-1};
    std::atomic<bool> done_at_return{false};
    std::thread flusher([&] {
      ret.store(eng.flush_work(w) ? 1 : 0);
      done_at_return.store(done.load());
    });
    ASSERT_TRUE(flush_started(eng, w));
    spin_for(2ms);  // widen the window so the flusher usually blocks (not needed for the check)
    release.open();
    flusher.join();
    EXPECT_TRUE(done_at_return.load()) << "flush_work returned before the run finished";
    auto ends = events_where(eng, EventType::flush_end, w.id());
    ASSERT_EQ(ends.size(), 1u);
    EXPECT_EQ(ends[0].arg, ret.load()) << "the return value must say whether it waited";
  }
}

TEST(C10_FlushWork, WaitsForPendingQueueing) {
  std::atomic<int> runs{0};
  Gate started, release;
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("single", WqKind::single_thread);
  Work blocker([&](Work&) { started.open(); release.wait(); }, "blocker");
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  ASSERT_TRUE(wq.queue_work_on(0, blocker));
  ASSERT_TRUE(started.wait());
  ASSERT_TRUE(wq.queue_work_on(1, w));
  std::atomic<int> ret{-1}, runs_at_return{-1};
  std::thread flusher([&] {
    ret.store(lazywq::flush_work(w) ? 1 : 0);
    runs_at_return.store(runs.load());
  });
  ASSERT_TRUE(flush_started(eng, w));
  spin_for(2ms);  // widen the window so the flusher usually blocks (not needed for the check)
  release.open();
  flusher.join();
  EXPECT_NE(ret.load(), -1);
  EXPECT_EQ(runs_at_return.load(), 1) << "flush_work returned before the pending queueing ran";
}

// A queueing made during a run, before the flush call, is waited for too.
TEST(C10_FlushWork, CoversRequeueMadeDuringRun) {
  std::atomic<int> runs{0};
  Gate started, release;
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w(
      [&](Work&) {
        if (runs.load() == 0) {
          started.open();
          release.wait();
        }
        runs.fetch_add(1);
      },
      "w");
  ASSERT_TRUE(wq.queue_work_on(1, w));
  ASSERT_TRUE(started.wait());
  ASSERT_TRUE(wq.queue_work_on(2, w));
  std::atomic<int> runs_at_return{-1};
  std::thread flusher([&] {
    eng.flush_work(w);
    runs_at_return.store(runs.load());
  });
  ASSERT_TRUE(flush_started(eng, w));
  release.open();
  flusher.join();
  EXPECT_EQ(runs_at_return.load(), 2) << "flush_work must wait for the queueing made before it";
}

TEST(C10_FlushWork, FlushOwnWorkFromCallbackIsDeadlockError) {
  for (WqKind kind : {WqKind::lazy, WqKind::per_cpu, WqKind::single_thread, WqKind::ordered}) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    std::atomic<int> member_code{-3}, free_code{-3};
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("q", kind);
    Work w(
        [&](Work& self) {
          member_code.store(error_code_of([&] { eng.flush_work(self); }));
          free_code.store(error_code_of([&] { lazywq::flush_work(self); }));
        },
        "w");
    ASSERT_TRUE(wq.queue_work_on(2, w));
    Watchdog dog(20s, "flush_work on itself");
    wq.flush();
    EXPECT_EQ(member_code.load(), code(Errc::deadlock));
    EXPECT_EQ(free_code.load(), code(Errc::deadlock));
    EXPECT_EQ(eng.stats().callback_exceptions, 0u);
  }
}

// A callback may flush another work (on another CPU or queue) and waits.
TEST(C10_FlushWork, FlushOtherWorkFromCallback) {
  std::atomic<bool> b_done{false}, b_done_seen{false};
  Engine eng(test_config(4));
  auto& q1 = eng.create_workqueue("q1", WqKind::lazy);
  auto& q2 = eng.create_workqueue("q2", WqKind::per_cpu);
  Work b(
      [&](Work&) {
        spin_for(1ms);
        b_done.store(true);
      },
      "b");
  Work a(
      [&](Work&) {
        if (!q2.queue_work_on(2, b)) return;
        eng.flush_work(b);
        b_done_seen.store(b_done.load());
      },
      "a");
  ASSERT_TRUE(q1.queue_work_on(1, a));
  Watchdog dog(20s, "flush_work of another work from a callback");
  eng.flush_work(a);
  EXPECT_TRUE(b_done_seen.load());
}

// Several threads flush a self-requeueing work while it hops between CPUs:
// every flush returns, and when it does, every queueing accepted before the
// call has completed its run.
TEST(C10_FlushWork, ConcurrentFlushersSeeEarlierRunsFinished) {
  constexpr int kRuns = 150;
  constexpr int kFlushers = 3;
  std::atomic<int> accepted{0}, completed{0}, violations{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w(
      [&](Work& self) {
        spin_for(30us);
        if (accepted.load() < kRuns && wq.queue_work_on((accepted.load() + 1) % 4, self)) accepted.fetch_add(1);
        completed.fetch_add(1);
      },
      "w");
  accepted.store(1);
  ASSERT_TRUE(wq.queue_work_on(1, w));
  Watchdog dog(30s, "concurrent flush_work");
  std::vector<std::thread> ts;
  for (int t = 0; t < kFlushers; ++t)
    ts.emplace_back([&] {
      while (completed.load() < kRuns) {
        int before = accepted.load();
        eng.flush_work(w);
        if (completed.load() < before) violations.fetch_add(1);
      }
    });
  for (auto& t : ts) t.join();
  wq.flush();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(completed.load(), kRuns);
  EXPECT_EQ(accepted.load(), kRuns);
}

}  // namespace
}  // namespace lwqt
