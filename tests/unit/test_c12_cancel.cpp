// C12 cancel_work_sync: returns whether the work was pending; afterwards the
// work is neither pending nor running, even if it requeues itself;
// concurrent cancels are safe. Delayed work: queue_delayed_work_on,
// mod_delayed_work, cancel_delayed_work[_sync], flush_delayed_work.
#include <random>

#include "test_helpers.hpp"

namespace lwqt {
namespace {

TEST(C12_Cancel, CancelSyncOfPendingWorkReturnsTrueAndItNeverRuns) {
  for (bool sync : {true, false}) {
    SCOPED_TRACE(sync ? "cancel_work_sync" : "cancel_work");
    std::atomic<int> runs{0};
    Gate started, release;
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("single", WqKind::single_thread);
    Work blocker([&](Work&) { started.open(); release.wait(); }, "blocker");
    Work w([&](Work&) { runs.fetch_add(1); }, "w");
    ASSERT_TRUE(wq.queue_work_on(0, blocker));
    ASSERT_TRUE(started.wait());
    ASSERT_TRUE(wq.queue_work_on(1, w));
    EXPECT_TRUE(sync ? lazywq::cancel_work_sync(w) : lazywq::cancel_work(w));
    EXPECT_FALSE(w.pending());
    EXPECT_FALSE(sync ? eng.cancel_work_sync(w) : eng.cancel_work(w)) << "second cancel: nothing pending";
    release.open();
    wq.flush();
    EXPECT_EQ(runs.load(), 0) << "a cancelled queueing ran";
    auto ends = events_where(eng, EventType::cancel_end, w.id());
    ASSERT_EQ(ends.size(), 2u);
    EXPECT_EQ(ends[0].arg, 1);
    EXPECT_EQ(ends[1].arg, 0);
    EXPECT_EQ(count_events(eng, EventType::dequeue, w.id()), 1u) << "the removed queueing is recorded";
    for (const Event& b : events_where(eng, EventType::cancel_begin, w.id())) EXPECT_EQ(b.arg, sync ? 1 : 0);
    // The work can be queued again and runs normally.
    ASSERT_TRUE(wq.queue_work_on(2, w));
    eng.flush_work(w);
    EXPECT_EQ(runs.load(), 1);
  }
}

TEST(C12_Cancel, CancelOfNeverQueuedWorkReturnsFalse) {
  Engine eng(test_config(4));
  Work w([](Work&) {}, "w");
  EXPECT_FALSE(lazywq::cancel_work(w));
  EXPECT_FALSE(lazywq::cancel_work_sync(w));
  EXPECT_FALSE(eng.cancel_work_sync(w));
  EXPECT_FALSE(w.pending());
}

// cancel_work_sync waits for a running callback; cancel_work does not.
TEST(C12_Cancel, CancelSyncWaitsForRunningCallback) {
  std::atomic<bool> done{false};
  Gate started, release;
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w(
      [&](Work&) {
        started.open();
        release.wait();
        done.store(true);
      },
      "w");
  ASSERT_TRUE(wq.queue_work_on(2, w));
  ASSERT_TRUE(started.wait());
  EXPECT_FALSE(eng.cancel_work(w)) << "running, not pending";
  std::atomic<int> ret{-1};
  std::atomic<bool> done_at_return{false};
  std::thread canceller([&] {
    ret.store(eng.cancel_work_sync(w) ? 1 : 0);
    done_at_return.store(done.load());
  });
  ASSERT_TRUE(wait_until([&] { return count_events(eng, EventType::cancel_begin, w.id()) >= 2; }));
  release.open();
  canceller.join();
  EXPECT_EQ(ret.load(), 0) << "the work was running, not pending";
  EXPECT_TRUE(done_at_return.load()) << "cancel_work_sync returned while the callback still ran";
}

// A work that requeues itself forever is stopped for good by
// cancel_work_sync: afterwards it is neither pending nor running.
TEST(C12_Cancel, CancelSyncStopsSelfRequeueingWork) {
  for (WqKind kind : {WqKind::lazy, WqKind::per_cpu, WqKind::single_thread, WqKind::ordered}) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    std::atomic<int> runs{0};
    std::atomic<bool> inside{false};
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("q", kind);
    Work w(
        [&](Work& self) {
          inside.store(true);
          int n = runs.fetch_add(1);
          wq.queue_work_on(n % 4, self);
          spin_for(20us);
          inside.store(false);
        },
        "forever");
    ASSERT_TRUE(wq.queue_work_on(1, w));
    ASSERT_TRUE(wait_until([&] { return runs.load() > 20; }));
    {
      Watchdog dog(20s, "cancel_work_sync of a self-requeueing work");
      eng.cancel_work_sync(w);
    }
    EXPECT_FALSE(w.pending());
    EXPECT_FALSE(inside.load()) << "still running after cancel_work_sync";
    const int after = runs.load();
    wq.flush();
    EXPECT_EQ(runs.load(), after) << "the work ran again after cancel_work_sync";
  }
}

TEST(C12_Cancel, ConcurrentCancelsOfSelfRequeueingWork) {
  constexpr int kCancellers = 4;
  ConcurrencyProbe probe;
  std::atomic<int> runs{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w(
      [&](Work& self) {
        probe.enter();
        int n = runs.fetch_add(1);
        wq.queue_work_on(1 + n % 3, self);
        spin_for(20us);
        probe.exit();
      },
      "forever");
  ASSERT_TRUE(wq.queue_work_on(1, w));
  ASSERT_TRUE(wait_until([&] { return runs.load() > 20; }));
  std::barrier sync(kCancellers);
  std::vector<std::thread> ts;
  {
    Watchdog dog(20s, "concurrent cancel_work_sync");
    for (int i = 0; i < kCancellers; ++i)
      ts.emplace_back([&] {
        sync.arrive_and_wait();
        eng.cancel_work_sync(w);
      });
    for (auto& t : ts) t.join();
  }
  EXPECT_FALSE(w.pending());
  const int after = runs.load();
  wq.flush();
  EXPECT_EQ(runs.load(), after);
  EXPECT_EQ(probe.max(), 1);
  EXPECT_EQ(count_events(eng, EventType::cancel_end, w.id()), static_cast<size_t>(kCancellers));
}

// Queue/cancel storm: each accepted queueing either runs once or is removed
// by exactly one cancel that returns true. So runs == accepted - cancelled.
TEST(C12_Cancel, QueueCancelStormAccounting) {
  constexpr int kOps = 1500;
  std::atomic<int> runs{0}, accepted{0}, cancelled{0};
  ConcurrencyProbe probe;
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w(
      [&](Work&) {
        probe.enter();
        runs.fetch_add(1);
        probe.exit();
      },
      "w");
  std::barrier sync(3);
  auto queuer = [&](int salt) {
    sync.arrive_and_wait();
    for (int i = 0; i < kOps; ++i)
      if (wq.queue_work_on((i + salt) % 4, w)) accepted.fetch_add(1);
  };
  std::thread q1(queuer, 0), q2(queuer, 1);
  std::thread c([&] {
    sync.arrive_and_wait();
    for (int i = 0; i < kOps / 3; ++i) {
      bool r = (i % 2) ? eng.cancel_work(w) : eng.cancel_work_sync(w);
      if (r) cancelled.fetch_add(1);
    }
  });
  q1.join();
  q2.join();
  c.join();
  if (eng.cancel_work_sync(w)) cancelled.fetch_add(1);
  wq.flush();
  EXPECT_FALSE(w.pending());
  EXPECT_EQ(runs.load(), accepted.load() - cancelled.load())
      << "accepted " << accepted.load() << " cancelled " << cancelled.load();
  EXPECT_LE(probe.max(), 1);
}

// The destructor of a pending work cancels it synchronously.
TEST(C12_Cancel, WorkDestructorCancelsPendingQueueing) {
  std::atomic<int> runs{0};
  Gate started, release;
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("single", WqKind::single_thread);
  Work blocker([&](Work&) { started.open(); release.wait(); }, "blocker");
  ASSERT_TRUE(wq.queue_work_on(0, blocker));
  ASSERT_TRUE(started.wait());
  {
    Work w([&](Work&) { runs.fetch_add(1); }, "short-lived");
    ASSERT_TRUE(wq.queue_work_on(0, w));
  }
  release.open();
  wq.flush();
  EXPECT_EQ(runs.load(), 0);
}

// ---------------------------------------------------------------------------
// Delayed work

TEST(C12_Cancel, DelayedWorkRunsNoEarlierThanItsDelay) {
  std::atomic<int64_t> ran_at{-1};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  DelayedWork dw([&](Work&) { ran_at.store(eng.now_ns()); }, "dw");
  const int64_t t0 = eng.now_ns();
  ASSERT_TRUE(lazywq::queue_delayed_work_on(2, wq, dw, 30ms));
  EXPECT_TRUE(dw.pending());
  EXPECT_FALSE(wq.queue_delayed_work_on(2, dw, 30ms)) << "already pending (armed)";
  ASSERT_TRUE(wait_until([&] { return ran_at.load() >= 0; }));
  EXPECT_GE(ran_at.load() - t0, ns(30ms));
  EXPECT_FALSE(dw.pending());
  auto b = events_where(eng, EventType::exec_begin, dw.id());
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].cpu, 2) << "delayed work runs on its target CPU too";
  EXPECT_EQ(count_events(eng, EventType::timer_arm, dw.id()), 1u);
}

TEST(C12_Cancel, ZeroDelayQueuesImmediately) {
  std::atomic<int> runs{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  DelayedWork dw([&](Work&) { runs.fetch_add(1); }, "dw");
  ASSERT_TRUE(lazywq::queue_delayed_work(wq, dw, 0ms));
  ASSERT_TRUE(wait_until([&] { return runs.load() == 1; }));
}

TEST(C12_Cancel, CancelArmedDelayedWork) {
  for (bool sync : {true, false}) {
    SCOPED_TRACE(sync ? "cancel_delayed_work_sync" : "cancel_delayed_work");
    std::atomic<int> runs{0};
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
    DelayedWork dw([&](Work&) { runs.fetch_add(1); }, "dw");
    const int64_t t0 = eng.now_ns();
    ASSERT_TRUE(wq.queue_delayed_work_on(1, dw, 20ms));
    EXPECT_TRUE(sync ? lazywq::cancel_delayed_work_sync(dw) : lazywq::cancel_delayed_work(dw));
    EXPECT_FALSE(dw.pending());
    ASSERT_TRUE(wait_engine_time(eng, t0 + ns(60ms)));  // well past the old deadline
    wq.flush();
    EXPECT_EQ(runs.load(), 0) << "a cancelled timer fired";
    EXPECT_FALSE(sync ? eng.cancel_delayed_work_sync(dw) : eng.cancel_delayed_work(dw));
  }
}

TEST(C12_Cancel, ModDelayedWorkRearms) {
  std::atomic<int> runs{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  DelayedWork dw([&](Work&) { runs.fetch_add(1); }, "dw");

  // Pending with a long delay; mod to 1 ms: returns true, runs soon, once.
  ASSERT_TRUE(wq.queue_delayed_work_on(2, dw, 30s));
  EXPECT_TRUE(wq.mod_delayed_work_on(2, dw, 1ms));
  ASSERT_TRUE(wait_until([&] { return runs.load() == 1; }, 5s)) << "mod_delayed_work did not re-arm the timer";
  wq.flush();
  EXPECT_EQ(runs.load(), 1);

  // Idle: mod arms it and returns false.
  EXPECT_FALSE(lazywq::mod_delayed_work(wq, dw, 1ms));
  ASSERT_TRUE(wait_until([&] { return runs.load() == 2; }));

  // Pending with a short delay; mod to a long one postpones it.
  const int64_t t0 = eng.now_ns();
  ASSERT_TRUE(wq.queue_delayed_work_on(3, dw, 15ms));
  EXPECT_TRUE(wq.mod_delayed_work_on(3, dw, 30s));
  ASSERT_TRUE(wait_engine_time(eng, t0 + ns(60ms)));
  EXPECT_EQ(runs.load(), 2) << "the old deadline fired after mod_delayed_work postponed it";
  EXPECT_TRUE(dw.pending());
  EXPECT_TRUE(eng.cancel_delayed_work_sync(dw));
  EXPECT_EQ(runs.load(), 2);
}

TEST(C12_Cancel, FlushDelayedWorkFiresArmedTimerNow) {
  std::atomic<int> runs{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  DelayedWork dw([&](Work&) { runs.fetch_add(1); }, "dw");
  EXPECT_FALSE(lazywq::flush_delayed_work(dw)) << "never queued";
  ASSERT_TRUE(wq.queue_delayed_work_on(3, dw, 30s));
  {
    Watchdog dog(20s, "flush_delayed_work");
    EXPECT_TRUE(lazywq::flush_delayed_work(dw));
  }
  EXPECT_EQ(runs.load(), 1);
  EXPECT_FALSE(dw.pending());
  EXPECT_FALSE(eng.flush_delayed_work(dw)) << "idle: nothing to wait for";
  auto b = events_where(eng, EventType::exec_begin, dw.id());
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].cpu, 3);
}

// Delayed-work storm: arms, re-arms, cancels and flushes from several
// threads. Every delay is > 0, so every accepted queueing is one timer_arm
// event; each ends as exactly one of: a run, a cancel that returned true, or
// a mod_delayed_work that returned true (it replaced the pending one).
TEST(C12_Cancel, DelayedWorkStormAccounting) {
  constexpr int kOps = 400;
  std::atomic<int> runs{0}, removed{0};
  ConcurrencyProbe probe;
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  DelayedWork dw(
      [&](Work&) {
        probe.enter();
        runs.fetch_add(1);
        probe.exit();
      },
      "dw");
  std::barrier sync(3);
  std::thread a([&] {
    std::mt19937 rng(1);
    sync.arrive_and_wait();
    for (int i = 0; i < kOps; ++i) {
      auto d = std::chrono::microseconds(1 + rng() % 500);
      int cpu = static_cast<int>(rng() % 4);
      if (rng() % 2)
        wq.queue_delayed_work_on(cpu, dw, d);
      else if (wq.mod_delayed_work_on(cpu, dw, d))
        removed.fetch_add(1);
      spin_for(std::chrono::microseconds(rng() % 100));  // let timers fire between operations
    }
  });
  std::thread b([&] {
    std::mt19937 rng(2);
    sync.arrive_and_wait();
    for (int i = 0; i < kOps; ++i) {
      switch (rng() % 3) {
        case 0:
          if (eng.cancel_delayed_work(dw)) removed.fetch_add(1);
          break;
        case 1:
          if (eng.cancel_delayed_work_sync(dw)) removed.fetch_add(1);
          break;
        default:
          eng.flush_delayed_work(dw);
      }
      spin_for(std::chrono::microseconds(rng() % 100));
    }
  });
  {
    Watchdog dog(30s, "delayed work storm");
    sync.arrive_and_wait();
    a.join();
    b.join();
    if (eng.cancel_delayed_work_sync(dw)) removed.fetch_add(1);
    wq.flush();
  }
  EXPECT_FALSE(dw.pending());
  EXPECT_LE(probe.max(), 1);
  const int armed = static_cast<int>(count_events(eng, EventType::timer_arm, dw.id()));
  EXPECT_GT(armed, 0);
  EXPECT_EQ(runs.load(), armed - removed.load()) << "armed " << armed << " removed " << removed.load();
  EXPECT_EQ(static_cast<int>(count_events(eng, EventType::exec_begin, dw.id())), runs.load());
  const int runs_now = runs.load();
  ASSERT_TRUE(wait_engine_time(eng, eng.now_ns() + ns(5ms)));  // past every delay used
  wq.flush();
  EXPECT_EQ(runs.load(), runs_now) << "a run after the final cancel_delayed_work_sync";
}

// Issue #13 item 4, on real threads: a delay of Duration::max() is
// "never" (it used to overflow, UBSan's signed overflow, and run at once).
// The core thread (lazy) and the pools' manager (shared) wait on it with
// no timeout; cancel takes it, flush_delayed_work fires it. No timing is
// asserted: nothing can fire it before the cancel.
TEST(C12_Cancel, DelayOfDurationMaxFiresOnlyWhenFlushed) {
  for (WqKind kind : {WqKind::lazy, WqKind::shared}) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    std::atomic<int> runs{0};
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("q", kind);
    DelayedWork dw([&](Work&) { runs.fetch_add(1); }, "dw");
    ASSERT_TRUE(wq.queue_delayed_work_on(1, dw, lazywq::Duration::max()));
    EXPECT_TRUE(eng.cancel_delayed_work_sync(dw));
    EXPECT_FALSE(dw.pending());
    ASSERT_TRUE(wq.queue_delayed_work_on(2, dw, lazywq::Duration::max()));
    eng.flush_delayed_work(dw);
    EXPECT_EQ(runs.load(), 1);
    EXPECT_EQ(count_events(eng, EventType::timer_fire, dw.id()), 1u);
  }
}

}  // namespace
}  // namespace lwqt
