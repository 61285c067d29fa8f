// C6 lazy creation: a lazy queue owns exactly one thread (the core) until
// work is queued for another CPU; a worker exists only for CPUs that got
// work. (per_cpu is the eager baseline.)
#include "test_helpers.hpp"

namespace lwqt {
namespace {

std::vector<int> sorted(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(C6_LazyCreation, NewLazyQueueOwnsOnlyTheCoreThread) {
  Engine eng(test_config(8));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  EXPECT_EQ(wq.live_threads(), 1);
  EXPECT_EQ(sorted(wq.cpus_with_worker()), std::vector<int>{0});
  auto s = eng.stats();
  EXPECT_EQ(s.threads_created, 1u);
  EXPECT_EQ(s.live_threads, 1);
  ASSERT_EQ(s.queues.size(), 1u);
  EXPECT_EQ(s.queues[0].live_threads, 1);
  EXPECT_EQ(count_events(eng, EventType::spawn), 1u);
}

TEST(C6_LazyCreation, WorkerOnlyForCpusThatGotWork) {
  std::atomic<int> runs{0};
  Engine eng(test_config(8));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work a([&](Work&) { runs.fetch_add(1); }, "a");
  Work b([&](Work&) { runs.fetch_add(1); }, "b");
  Work c([&](Work&) { runs.fetch_add(1); }, "c");

  ASSERT_TRUE(wq.queue_work_on(3, a));
  wq.flush();
  EXPECT_EQ(sorted(wq.cpus_with_worker()), (std::vector<int>{0, 3}));
  EXPECT_EQ(wq.live_threads(), 2);

  ASSERT_TRUE(wq.queue_work_on(0, c));  // the core CPU: no new thread
  wq.flush();
  EXPECT_EQ(sorted(wq.cpus_with_worker()), (std::vector<int>{0, 3}));
  EXPECT_EQ(wq.live_threads(), 2);

  ASSERT_TRUE(wq.queue_work_on(5, b));
  ASSERT_TRUE(wq.queue_work_on(3, a));  // CPU 3 already has its worker
  wq.flush();
  EXPECT_EQ(sorted(wq.cpus_with_worker()), (std::vector<int>{0, 3, 5}));
  EXPECT_EQ(wq.live_threads(), 3);
  EXPECT_EQ(eng.stats().threads_created, 3u);
  EXPECT_EQ(runs.load(), 4);
}

TEST(C6_LazyCreation, RepeatedWorkOnOneCpuCreatesOneWorker) {
  std::atomic<int> runs{0};
  Engine eng(test_config(8));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(wq.queue_work_on(6, w));
    if (i % 2)
      eng.flush_work(w);
    else
      wq.flush();
  }
  wq.flush();
  EXPECT_EQ(runs.load(), 50);
  EXPECT_EQ(eng.stats().threads_created, 2u);
  EXPECT_EQ(sorted(wq.cpus_with_worker()), (std::vector<int>{0, 6}));
}

TEST(C6_LazyCreation, QueuesAreIndependent) {
  Engine eng(test_config(8));
  auto& q1 = eng.create_workqueue("q1", WqKind::lazy);
  auto& q2 = eng.create_workqueue("q2", WqKind::lazy);
  Work w([](Work&) {}, "w");
  ASSERT_TRUE(q1.queue_work_on(4, w));
  q1.flush();
  EXPECT_EQ(sorted(q1.cpus_with_worker()), (std::vector<int>{0, 4}));
  EXPECT_EQ(sorted(q2.cpus_with_worker()), std::vector<int>{0});
  EXPECT_EQ(q2.live_threads(), 1);
}

// The eager baseline and the single-threaded kinds, for contrast.
TEST(C6_LazyCreation, PerCpuQueueIsEagerOthersOwnOneThread) {
  constexpr int kCpus = 6;
  Engine eng(test_config(kCpus));
  auto& eager = eng.create_workqueue("per_cpu", WqKind::per_cpu);
  EXPECT_EQ(eager.live_threads(), kCpus);
  EXPECT_EQ(sorted(eager.cpus_with_worker()), iota_vec(kCpus));

  auto& single = eng.create_workqueue("single", WqKind::single_thread);
  auto& ordered = eng.create_workqueue("ordered", WqKind::ordered);
  std::vector<std::unique_ptr<Work>> works;
  for (int c = 0; c < kCpus; ++c) {
    works.push_back(std::make_unique<Work>([](Work&) {}, "s"));
    ASSERT_TRUE(single.queue_work_on(c, *works.back()));
    works.push_back(std::make_unique<Work>([](Work&) {}, "o"));
    ASSERT_TRUE(ordered.queue_work_on(c, *works.back()));
  }
  single.flush();
  ordered.flush();
  EXPECT_EQ(single.live_threads(), 1);
  EXPECT_EQ(ordered.live_threads(), 1);
  EXPECT_EQ(eager.live_threads(), kCpus);
  EXPECT_EQ(eng.stats().threads_created, static_cast<uint64_t>(kCpus + 2));
}

}  // namespace
}  // namespace lwqt
