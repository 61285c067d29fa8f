// C3 no reentrancy: a work never runs concurrently with itself anywhere in
// the engine, even when requeued to another CPU (or another queue) while
// running.
#include "test_helpers.hpp"

namespace lwqt {
namespace {

// The callback holds the work "inside" for a while; producers keep requeueing
// it on rotating CPUs. Every accepted queueing runs once (C1) and never two
// runs overlap.
TEST(C3_NoReentrancy, RequeueToOtherCpusWhileRunning) {
  for (WqKind kind : {WqKind::lazy, WqKind::per_cpu}) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    constexpr int kProducers = 2;
    constexpr int kTarget = 150;  // accepted queueings to reach (bounded by a deadline)
    ConcurrencyProbe probe;
    std::atomic<int> runs{0}, accepted{0};
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("q", kind);
    Work w(
        [&](Work&) {
          probe.enter();
          spin_for(200us);  // widen the overlap window
          probe.exit();
          runs.fetch_add(1);
        },
        "w");
    std::barrier sync(kProducers);
    std::vector<std::thread> ts;
    for (int t = 0; t < kProducers; ++t)
      ts.emplace_back([&, t] {
        sync.arrive_and_wait();
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        for (int i = 0; accepted.load() < kTarget && std::chrono::steady_clock::now() < deadline; ++i) {
          if (wq.queue_work_on((i + t) % 4, w)) accepted.fetch_add(1);
          spin_for(20us);
        }
      });
    for (auto& t : ts) t.join();
    wq.flush();
    EXPECT_EQ(probe.max(), 1) << "the work ran concurrently with itself";
    EXPECT_EQ(runs.load(), accepted.load());
    EXPECT_GE(accepted.load(), kTarget) << "the work never got going";
  }
}

// The sharpest case: the callback requeues itself to the next CPU before it
// finishes, so that CPU's worker gets the work while it still runs here.
TEST(C3_NoReentrancy, SelfRequeueToNextCpuDuringRun) {
  for (WqKind kind : {WqKind::lazy, WqKind::per_cpu}) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    constexpr int kRuns = 60;
    ConcurrencyProbe probe;
    std::atomic<int> runs{0}, refused{0};
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("q", kind);
    Work w(
        [&](Work& self) {
          probe.enter();
          int n = runs.fetch_add(1) + 1;
          if (n < kRuns && !wq.queue_work_on(n % 4, self)) refused.fetch_add(1);
          spin_for(300us);  // the next CPU's worker now sees the work while we run
          probe.exit();
        },
        "hopper");
    ASSERT_TRUE(wq.queue_work_on(0, w));
    wq.drain();
    EXPECT_EQ(probe.max(), 1) << "the work ran concurrently with itself";
    EXPECT_EQ(runs.load(), kRuns);
    EXPECT_EQ(refused.load(), 0);
    // Placement still holds while the hop waits for the previous run (C4).
    EXPECT_TRUE(placement_ok(eng.events(), wq.id(), 0));
  }
}

// "Anywhere in the engine": two queues take turns with one work.
TEST(C3_NoReentrancy, AcrossQueues) {
  constexpr int kTries = 300;
  ConcurrencyProbe probe;
  std::atomic<int> runs{0}, accepted{0};
  Engine eng(test_config(4));
  auto& lazy = eng.create_workqueue("lazy", WqKind::lazy);
  auto& eager = eng.create_workqueue("per_cpu", WqKind::per_cpu);
  auto& single = eng.create_workqueue("single", WqKind::single_thread);
  Work w(
      [&](Work&) {
        probe.enter();
        spin_for(150us);
        probe.exit();
        runs.fetch_add(1);
      },
      "w");
  std::barrier sync(3);
  auto producer = [&](Workqueue& q, int salt) {
    sync.arrive_and_wait();
    for (int i = 0; i < kTries; ++i) {
      if (q.queue_work_on((i + salt) % 4, w)) accepted.fetch_add(1);
      spin_for(15us);
    }
  };
  std::thread a(producer, std::ref(lazy), 0), b(producer, std::ref(eager), 1), c(producer, std::ref(single), 2);
  a.join();
  b.join();
  c.join();
  lazy.flush();
  eager.flush();
  single.flush();
  EXPECT_EQ(probe.max(), 1) << "the work ran concurrently with itself across queues";
  EXPECT_EQ(runs.load(), accepted.load());
}

}  // namespace
}  // namespace lwqt
