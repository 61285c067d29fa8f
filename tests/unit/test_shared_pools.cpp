// The `shared` kind (docs/SHARED.md): engine-wide pools, concurrency
// management, the watchdog, max_active and ordered, C3 across the pools,
// hotplug and creation failure, and C16's other half: an acyclic chain of
// waits among shared works completes, however many wait on one CPU.
#include "test_helpers.hpp"

namespace lwqt {
namespace {

using lazywq::PoolStats;
using lazywq::WqOptions;

EngineConfig shared_config(int ncpus = 4) {
  EngineConfig cfg = test_config(ncpus);
  cfg.stall_timeout = 20ms;
  return cfg;
}

const PoolStats& pool_stats(const lazywq::Stats& s, int cpu, bool highpri = false) {
  for (const auto& p : s.pools)
    if (p.cpu == cpu && p.highpri == highpri) return p;
  static PoolStats none;
  ADD_FAILURE() << "no pool for cpu " << cpu;
  return none;
}

// The CPUs (Event::cpu) on which `work` started, in order.
std::vector<int> exec_cpus(const Engine& eng, uint64_t work) {
  std::vector<int> out;
  for (const Event& e : eng.events())
    if (e.type == EventType::exec_begin && e.work == work) out.push_back(e.cpu);
  return out;
}

TEST(Shared, SixtyFourQueuesStartOnlyTheManagerAndTheRescuer) {
  Engine eng(shared_config(8));
  for (int i = 0; i < 64; ++i) eng.create_workqueue("s" + std::to_string(i), WqKind::shared);
  const auto s = eng.stats();
  EXPECT_EQ(s.pool_threads, 2) << "only the manager and the rescuer; pools start empty";
  EXPECT_EQ(s.live_threads, 2);
  EXPECT_EQ(s.pools.size(), 17u) << "8 CPUs x {normal, highpri} + unbound";
}

TEST(Shared, WorkRunsOnItsCpusPool) {
  Engine eng(shared_config());
  auto& q = eng.create_workqueue("s", WqKind::shared);
  std::atomic<int> runs{0};
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  ASSERT_TRUE(q.queue_work_on(2, w));
  eng.flush_work(w);
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(exec_cpus(eng, w.id()), std::vector<int>{2});
  EXPECT_EQ(pool_stats(eng.stats(), 2).workers, 1);
}

// The heart of C16 for the shared kind: on a single_thread queue this
// chain would deadlock (each flush waits for a work queued behind itself);
// on a shared queue each waiting thread stops counting and another takes
// the next work.
TEST(Shared, ChainOfFlushesOnOneCpuCompletes) {
  Engine eng(shared_config());
  auto& q = eng.create_workqueue("s", WqKind::shared);
  constexpr int kDepth = 6;
  std::vector<std::unique_ptr<Work>> works(kDepth);
  std::atomic<int> done{0};
  for (int i = kDepth - 1; i >= 0; --i) {
    Work* next = i + 1 < kDepth ? works[static_cast<size_t>(i) + 1].get() : nullptr;
    works[static_cast<size_t>(i)] = std::make_unique<Work>(
        [&, next](Work&) {
          if (next) {
            EXPECT_TRUE(q.queue_work_on(1, *next));
            eng.flush_work(*next);
          }
          done.fetch_add(1);
        },
        "chain" + std::to_string(i));
  }
  Watchdog dog(kDeadline, "an acyclic chain of flushes on one CPU must complete");
  ASSERT_TRUE(q.queue_work_on(1, *works[0]));
  eng.flush_work(*works[0]);
  EXPECT_EQ(done.load(), kDepth);
  EXPECT_TRUE(eng.dependency_cycles().empty());
  EXPECT_GE(pool_stats(eng.stats(), 1).workers, 2) << "a blocked thread was replaced";
  EXPECT_EQ(eng.stats().watchdog_rescues, 0u) << "engine waits need no watchdog";
}

// Concurrency management: works that never block run one at a time per
// pool (one running thread per CPU), not one thread each.
TEST(Shared, NonBlockingWorksRunOneAtATimePerPool) {
  Engine eng(shared_config());
  auto& q = eng.create_workqueue("s", WqKind::shared);
  std::atomic<int> inside{0}, max_inside{0};
  std::vector<std::unique_ptr<Work>> works;
  for (int i = 0; i < 50; ++i)
    works.push_back(std::make_unique<Work>([&](Work&) {
      int now = inside.fetch_add(1) + 1;
      int m = max_inside.load();
      while (now > m && !max_inside.compare_exchange_weak(m, now)) {
      }
      spin_for(50us);
      inside.fetch_sub(1);
    }));
  for (auto& w : works) ASSERT_TRUE(q.queue_work_on(3, *w));
  q.flush();
  EXPECT_EQ(max_inside.load(), 1);
  EXPECT_EQ(pool_stats(eng.stats(), 3).workers, 1);
}

// Blocking the engine cannot see (a callback's own condition variable):
// the watchdog gives the stalled pool another thread.
TEST(Shared, WatchdogRescuesAWorkBlockedOutsideTheEngine) {
  Engine eng(shared_config());
  auto& q = eng.create_workqueue("s", WqKind::shared);
  Gate gate;
  Work opener([&](Work&) { gate.open(); }, "opener");
  Work waiter([&](Work&) { EXPECT_TRUE(gate.wait()); }, "waiter");
  Watchdog dog(kDeadline, "the watchdog must add a thread");
  ASSERT_TRUE(q.queue_work_on(1, waiter));
  ASSERT_TRUE(q.queue_work_on(1, opener));
  eng.flush_work(waiter);
  EXPECT_FALSE(gate.timed_out());
  EXPECT_GE(pool_stats(eng.stats(), 1).workers, 2);
  EXPECT_GE(eng.stats().watchdog_rescues, 1u);
}

// Engine::sleep_for as an engine wait: tests/sim (SharedOnSim), in virtual time.

// C3 across CPUs: requeued on another CPU while it runs, the work goes to
// the pool of that run and waits behind it.
TEST(Shared, RequeueWhileRunningNeverRunsConcurrently) {
  Engine eng(shared_config());
  auto& q = eng.create_workqueue("s", WqKind::shared);
  std::atomic<int> inside{0}, overlaps{0}, runs{0};
  Gate requeued;
  Work w([&](Work&) {
    if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
    if (runs.fetch_add(1) == 0) {
      EXPECT_TRUE(requeued.wait());
    }
    inside.fetch_sub(1);
  }, "w");
  ASSERT_TRUE(q.queue_work_on(1, w));
  ASSERT_TRUE(wait_until([&] { return runs.load() == 1; }));
  ASSERT_TRUE(q.queue_work_on(2, w));  // PENDING clear: accepted while it runs
  requeued.open();
  eng.flush_work(w);
  EXPECT_EQ(runs.load(), 2);
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(exec_cpus(eng, w.id()), (std::vector<int>{1, 1})) << "the second run is on the pool of the first";
}

TEST(Shared, OrderedRunsOneAtATimeInQueueingOrder) {
  Engine eng(shared_config());
  auto& q = eng.create_workqueue("o", WqKind::shared, WqOptions{.ordered = true});
  auto& plain = eng.create_workqueue("plain", WqKind::shared);
  EXPECT_EQ(q.max_active(), 1);
  Work helper([](Work&) {}, "helper");
  std::mutex m;
  std::vector<int> order;
  std::atomic<int> inside{0}, overlaps{0};
  std::vector<std::unique_ptr<Work>> works;
  for (int i = 0; i < 20; ++i)
    works.push_back(std::make_unique<Work>([&, i](Work&) {
      if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
      {
        std::lock_guard<std::mutex> g(m);
        order.push_back(i);
      }
      // An engine wait: the unbound pool's thread stops counting, another
      // one could start the next work, and max_active must not let it.
      plain.queue_work_on(1, helper);
      eng.flush_work(helper);
      inside.fetch_sub(1);
    }));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(q.queue_work_on(i % 4, *works[static_cast<size_t>(i)]));
  q.flush();
  std::vector<int> expect(20);
  for (int i = 0; i < 20; ++i) expect[static_cast<size_t>(i)] = i;
  EXPECT_EQ(order, expect);
  EXPECT_EQ(overlaps.load(), 0);
  for (auto& w : works)
    for (int cpu : exec_cpus(eng, w->id())) EXPECT_EQ(cpu, -1) << "ordered queues are unbound";
}

TEST(Shared, OrderedQueueFlushingItsOwnPendingWorkIsADeadlockError) {
  Engine eng(shared_config());
  auto& q = eng.create_workqueue("o", WqKind::shared, WqOptions{.ordered = true});
  Work b([](Work&) {}, "b");
  int code = -1;
  Work a([&](Work&) {
    EXPECT_TRUE(q.queue_work_on(1, b));
    try {
      eng.flush_work(b);
    } catch (const Error& e) {
      code = static_cast<int>(e.code());
    }
  }, "a");
  ASSERT_TRUE(q.queue_work_on(1, a));
  eng.flush_work(a);
  eng.flush_work(b);
  EXPECT_EQ(code, static_cast<int>(Errc::deadlock));
}

// max_active bounding the works running at once: tests/sim (SharedOnSim), in virtual time.

TEST(Shared, HighPriorityQueuesUseTheirOwnPools) {
  Engine eng(shared_config());
  auto& q = eng.create_workqueue("hi", WqKind::shared, WqOptions{.highpri = true});
  Work w([](Work&) {}, "w");
  ASSERT_TRUE(q.queue_work_on(2, w));
  eng.flush_work(w);
  const auto s = eng.stats();
  EXPECT_EQ(pool_stats(s, 2, true).workers, 1);
  EXPECT_EQ(pool_stats(s, 2, false).workers, 0);
}

TEST(Shared, IdleThreadsExitAndAreJoined) {
  EngineConfig cfg = shared_config();
  cfg.idle_timeout = 20ms;
  Engine eng(cfg);
  auto& q = eng.create_workqueue("s", WqKind::shared);
  Work w([](Work&) {}, "w");
  for (int cpu = 0; cpu < 4; ++cpu) {
    ASSERT_TRUE(q.queue_work_on(cpu, w));
    eng.flush_work(w);
  }
  ASSERT_TRUE(wait_until([&] { return eng.stats().pool_threads == 2; })) << "only the manager and the rescuer stay";
  EXPECT_EQ(eng.stats().idle_exits, 4u);
  EXPECT_EQ(count_events(eng, EventType::idle_exit), 4u);
}

// The rescuer, not the manager, runs a rescued work: when that work waits
// for another one, the manager goes on creating (after the cooldown),
// firing timers and watching.
TEST(Shared, ARescuedWorkThatWaitsDoesNotStopTheManager) {
  Engine eng(shared_config());
  auto& q = eng.create_workqueue("s", WqKind::shared);
  lazywq::SpawnFaults f;
  f.fail_next = 1;
  eng.set_spawn_faults(f);
  std::atomic<int> timer_runs{0};
  std::atomic<bool> b_ran{false};
  DelayedWork tick([&](Work&) { timer_runs.fetch_add(1); }, "tick");
  Work b([&](Work&) { b_ran = true; }, "b");
  Work a([&](Work&) {
    EXPECT_TRUE(q.queue_delayed_work_on(2, tick, 1ms));
    EXPECT_TRUE(q.queue_work_on(1, b));
    // A wait the engine cannot see (an engine wait would run b nested on
    // the rescuer): b needs a new thread, which the manager must create.
    EXPECT_TRUE(wait_until([&] { return b_ran.load(); })) << "creation goes on while the rescuer waits";
    EXPECT_TRUE(wait_until([&] { return timer_runs.load() == 1; })) << "timers fire while the rescuer waits";
  }, "a");
  Watchdog dog(kDeadline, "a rescued work waiting for another must not hang the pools");
  ASSERT_TRUE(q.queue_work_on(1, a));
  eng.flush_work(a);
  EXPECT_EQ(count_events(eng, EventType::fallback, a.id()), 1u) << dump_events(eng);
  EXPECT_EQ(count_events(eng, EventType::fallback, b.id()), 0u) << "b ran on a worker created after the cooldown";
}

TEST(Shared, PermanentCreationFailureIsRescued) {
  Engine eng(shared_config());
  auto& q = eng.create_workqueue("s", WqKind::shared);
  lazywq::SpawnFaults f;
  f.fail_always = true;
  eng.set_spawn_faults(f);
  std::atomic<int> runs{0};
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  Watchdog dog(kDeadline, "permanent creation failure must not hang");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(q.queue_work_on(2, w));
    eng.flush_work(w);
  }
  EXPECT_EQ(runs.load(), 3);
  EXPECT_GE(eng.stats().spawn_failures, 1u);
  EXPECT_EQ(count_events(eng, EventType::fallback), 3u);
}

// C7 with C16: creation fails for good, so the rescuer is the only thread
// that ever runs a shared work. A rescued work that waits for other works
// (flush_work on a plain queue, flush_work on an ordered queue whose slot
// another work holds, flush_workqueue) gets them run nested in its wait.
TEST(Shared, PermanentCreationFailureRunsWhatARescuedWorkWaitsFor) {
  Engine eng(shared_config());
  auto& plain = eng.create_workqueue("plain", WqKind::shared);
  WqOptions o;
  o.ordered = true;
  auto& ordered = eng.create_workqueue("ordered", WqKind::shared, o);
  auto& other = eng.create_workqueue("other", WqKind::shared);
  lazywq::SpawnFaults f;
  f.fail_always = true;
  eng.set_spawn_faults(f);
  std::atomic<int> runs{0};
  Work leaf([&](Work&) { runs.fetch_add(1); }, "leaf");
  Work slot_holder([&](Work&) { runs.fetch_add(1); }, "slot_holder");
  Work behind_slot([&](Work&) { runs.fetch_add(1); }, "behind_slot");
  Work in_queue([&](Work&) { runs.fetch_add(1); }, "in_queue");
  Work middle([&](Work&) {
    EXPECT_TRUE(plain.queue_work_on(3, leaf));
    eng.flush_work(leaf);
    EXPECT_EQ(runs.load(), 1) << "leaf ran, nested in the wait";
    runs.fetch_add(1);
  }, "middle");
  Work top([&](Work&) {
    EXPECT_TRUE(plain.queue_work_on(2, middle));
    eng.flush_work(middle);
    EXPECT_TRUE(ordered.queue_work(slot_holder));
    EXPECT_TRUE(ordered.queue_work(behind_slot));
    eng.flush_work(behind_slot);  // waits for the slot first
    EXPECT_TRUE(other.queue_work_on(1, in_queue));
    other.flush();
    runs.fetch_add(1);
  }, "top");
  Watchdog dog(kDeadline, "a rescued work waiting for works only the rescuer can run must not hang");
  ASSERT_TRUE(plain.queue_work_on(1, top));
  eng.flush_work(top);
  EXPECT_EQ(runs.load(), 6) << dump_events(eng);
  EXPECT_EQ(count_events(eng, EventType::fallback), 6u) << "every run was a rescue";
  EXPECT_TRUE(eng.dependency_cycles().empty()) << eng.dependency_cycles()[0].describe();
  // The ordered queue still ran its works in queueing order (C5).
  std::vector<uint64_t> order;
  for (const Event& e : eng.events())
    if (e.type == EventType::exec_begin && (e.work == slot_holder.id() || e.work == behind_slot.id()))
      order.push_back(e.work);
  EXPECT_EQ(order, (std::vector<uint64_t>{slot_holder.id(), behind_slot.id()}));
}

// At the cap (one worker per pool) CPU 3's worker runs b, which flushes y;
// y is rescued, requeues b (running, so now pending too) and cancels it:
// b's run waits for y, on the rescuer's own stack, so the cancel can never
// end and is refused. run() queues b and flushes its first run.
struct RefusedRescuerCancel {
  Engine& eng;
  Workqueue& q;
  std::atomic<int> b_runs{0};
  std::atomic<bool> requeued{false}, refused{false};
  Work y{[this](Work&) {
           requeued = q.queue_work_on(3, b);
           try {
             eng.cancel_work_sync(b);
           } catch (const Error& e) {
             refused = e.code() == Errc::deadlock;
           }
         },
         "y"};
  Work b{[this](Work&) {
           if (b_runs.fetch_add(1) > 0) return;
           EXPECT_TRUE(q.queue_work_on(3, y));
           eng.flush_work(y);
         },
         "b"};
  RefusedRescuerCancel(Engine& e, Workqueue& wq) : eng(e), q(wq) {}
  void run() {
    ASSERT_TRUE(q.queue_work_on(3, b));
    eng.flush_work(b);  // the first queueing's run (b's requeue comes during it)
  }
};

// A cancel_work_sync the rescuer must refuse still resolves the pending
// queueing its grab took, as cancel_work would: that queueing never runs,
// and a later flush_work of the work returns instead of waiting for it for
// ever (C10).
TEST(Shared, ARescuerCancelRefusedForItsOwnStackResolvesThePendingQueueing) {
  EngineConfig cfg = shared_config();
  cfg.max_workers_per_pool = 1;
  Engine eng(cfg);
  auto& q = eng.create_workqueue("s", WqKind::shared);
  RefusedRescuerCancel c(eng, q);
  Watchdog dog(kDeadline, "a flush after a refused rescuer cancel must not wait for the queueing it took");
  c.run();
  ASSERT_TRUE(c.requeued.load()) << "b was running, not pending: the requeue must be taken";
  ASSERT_TRUE(c.refused.load()) << "the rescuer cannot wait for a run on its own stack" << dump_events(eng);
  eng.flush_work(c.b);  // the requeue: taken off its list by the refused cancel's grab
  EXPECT_EQ(c.b_runs.load(), 1) << "the grab took the requeue, as cancel_work would" << dump_events(eng);
  EXPECT_FALSE(c.b.pending());
  EXPECT_FALSE(eng.cancel_work_sync(c.b)) << "nothing left to cancel";
}

// dependency_cycles() keeps the first kKeptCycles reports, whichever path
// made them, and stats() counts them all: the refusal above 65 times on one
// engine, with the dependency graph off so that only the rescuer's own
// refusals report (mutation testing, issue #14: the rescuer's path kept a
// 65th, off by one, and nothing looked past 64).
TEST(Shared, TheRescuersRefusalsKeepOnlyTheFirstCyclesAndCountThemAll) {
  EngineConfig cfg = shared_config();
  cfg.max_workers_per_pool = 1;
  cfg.dependency_check = lazywq::DependencyCheck::off;
  cfg.record_events = false;
  Engine eng(cfg);
  auto& q = eng.create_workqueue("s", WqKind::shared);
  constexpr size_t kRefusals = Engine::kKeptCycles + 1;
  Watchdog dog(kDeadline, "65 refused rescuer cancels must not hang");
  for (size_t i = 0; i < kRefusals; ++i) {
    RefusedRescuerCancel c(eng, q);
    c.run();
    eng.flush_work(c.b);
    ASSERT_TRUE(c.refused.load()) << "refusal " << i + 1;
  }
  EXPECT_EQ(eng.stats().dependency_cycles, kRefusals);
  EXPECT_EQ(eng.dependency_cycles().size(), Engine::kKeptCycles);
}

// At the cap (one worker per pool) the rescuer runs a pool's works while
// its worker blocks. Here the rescuer itself runs y, which flushes z; z
// runs on CPU 3's worker and flushes t, queued on CPU 3, whose pool is at
// its cap. Only the rescuer could run t: it follows the chain of waits
// (z's runner awaits t) and runs t nested in y's flush.
TEST(Shared, AtTheCapTheRescuerFollowsAChainOfWaits) {
  EngineConfig cfg = shared_config();
  cfg.max_workers_per_pool = 1;
  Engine eng(cfg);
  auto& q = eng.create_workqueue("s", WqKind::shared);
  std::atomic<bool> y_started{false};
  Work t([](Work&) {}, "t");
  Work z([&](Work&) {
    EXPECT_TRUE(wait_until([&] { return y_started.load(); }));
    EXPECT_TRUE(q.queue_work_on(3, t));
    eng.flush_work(t);
  }, "z");
  Work y([&](Work&) {
    y_started = true;
    eng.flush_work(z);
  }, "y");
  Work x([&](Work&) {
    EXPECT_TRUE(q.queue_work_on(2, y));  // CPU 2's one worker runs x: y is rescued
    eng.flush_work(y);
  }, "x");
  Watchdog dog(kDeadline, "a chain of waits through a blocked worker at the cap must not hang");
  ASSERT_TRUE(q.queue_work_on(3, z));
  ASSERT_TRUE(wait_until([&] { return eng.stats().pools.size() > 0 && pool_stats(eng.stats(), 3).workers == 1; }));
  ASSERT_TRUE(q.queue_work_on(2, x));
  eng.flush_work(x);
  eng.flush_work(z);
  // t ran on the rescuer, nested inside y's run.
  uint32_t y_thread = 0;
  int y_open = 0;
  bool t_nested = false;
  for (const Event& e : eng.events()) {
    if (e.type == EventType::exec_begin && e.work == y.id()) y_thread = e.thread, y_open = 1;
    if (e.type == EventType::exec_end && e.work == y.id()) y_open = 0;
    if (e.type == EventType::exec_begin && e.work == t.id()) t_nested = y_open && e.thread == y_thread;
  }
  EXPECT_TRUE(t_nested) << dump_events(eng);
  EXPECT_TRUE(eng.dependency_cycles().empty());
}

TEST(Shared, OfflineCpuSendsItsWorksToTheUnboundPool) {
  Engine eng(shared_config());
  auto& q = eng.create_workqueue("s", WqKind::shared);
  Gate hold;
  Work blocker([&](Work&) { EXPECT_TRUE(hold.wait()); }, "blocker");
  Work later([](Work&) {}, "later");
  ASSERT_TRUE(q.queue_work_on(2, blocker));
  ASSERT_TRUE(wait_until([&] { return pool_stats(eng.stats(), 2).running == 1; }));
  ASSERT_TRUE(q.queue_work_on(2, later));  // waits behind the running thread
  std::thread off([&] { eng.cpu_offline(2); });
  ASSERT_TRUE(wait_until([&] { return !eng.cpu_is_online(2); }));
  off.join();
  hold.open();
  eng.flush_work(blocker);
  eng.flush_work(later);
  EXPECT_EQ(exec_cpus(eng, later.id()), std::vector<int>{-1});
  Work after([](Work&) {}, "after");
  ASSERT_TRUE(q.queue_work_on(2, after));
  eng.flush_work(after);
  EXPECT_EQ(exec_cpus(eng, after.id()), std::vector<int>{-1}) << "offline: unbound";
  eng.cpu_online(2);
  ASSERT_TRUE(q.queue_work_on(2, after));
  eng.flush_work(after);
  EXPECT_EQ(exec_cpus(eng, after.id()).back(), 2);
}

TEST(Shared, ManagerCreationFailureIsAClearErrorAndTheNextQueueRetries) {
  Engine eng(shared_config());
  lazywq::SpawnFaults f;
  f.fail_next = 1;
  eng.set_spawn_faults(f);
  try {
    eng.create_workqueue("s0", WqKind::shared);
    FAIL() << "the manager's creation failed: create_workqueue must say so";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::spawn_failed);
  }
  auto& q = eng.create_workqueue("s1", WqKind::shared);
  EXPECT_EQ(eng.stats().pool_threads, 2) << "the manager and the rescuer, created for the second queue";
  Work w([](Work&) {}, "w");
  ASSERT_TRUE(q.queue_work_on(1, w));
  eng.flush_work(w);
  EXPECT_EQ(eng.stats().works_run, 1u);
}

TEST(Shared, QueuesCreatedConcurrentlyAllGetTheManager) {
  Engine eng(shared_config());
  constexpr int kThreads = 6;
  std::vector<Workqueue*> qs(kThreads);
  std::vector<std::unique_ptr<Work>> works;
  for (int i = 0; i < kThreads; ++i) works.push_back(std::make_unique<Work>([](Work&) {}));
  {
    std::latch start(kThreads);
    std::vector<std::thread> ts;
    for (int i = 0; i < kThreads; ++i)
      ts.emplace_back([&, i] {
        start.arrive_and_wait();
        qs[static_cast<size_t>(i)] = &eng.create_workqueue("s" + std::to_string(i), WqKind::shared);
      });
    for (auto& t : ts) t.join();
  }
  Watchdog dog(kDeadline, "every shared queue created concurrently must run its works");
  for (int i = 0; i < kThreads; ++i) ASSERT_TRUE(qs[static_cast<size_t>(i)]->queue_work_on(i % 4, *works[static_cast<size_t>(i)]));
  for (auto& w : works) eng.flush_work(*w);
  EXPECT_EQ(eng.stats().works_run, static_cast<uint64_t>(kThreads));
  EXPECT_EQ(count_events(eng, EventType::spawn), static_cast<size_t>(eng.stats().threads_created));
  EXPECT_EQ(count_events(eng, EventType::spawn_fail), 0u);
}

TEST(Shared, OptionsAreForSharedQueuesOnly) {
  Engine eng(shared_config());
  EXPECT_THROW(eng.create_workqueue("x", WqKind::lazy, WqOptions{.highpri = true}), Error);
  EXPECT_THROW(eng.create_workqueue("x", WqKind::shared, WqOptions{.max_active = -1}), Error);
  EXPECT_THROW(eng.create_workqueue("x", WqKind::shared, WqOptions{.ordered = true, .max_active = 2}), Error);
  // max_active's range is [0, 1048576], both ends included.
  EXPECT_THROW(eng.create_workqueue("x", WqKind::shared, WqOptions{.max_active = (1 << 20) + 1}), Error);
  auto& widest = eng.create_workqueue("widest", WqKind::shared, WqOptions{.max_active = 1 << 20});
  EXPECT_EQ(widest.max_active(), 1 << 20);
}

TEST(Shared, DelayedWorkIsFiredByTheManager) {
  Engine eng(shared_config());
  auto& q = eng.create_workqueue("s", WqKind::shared);
  std::atomic<int> runs{0};
  DelayedWork dw([&](Work&) { runs.fetch_add(1); }, "dw");
  ASSERT_TRUE(q.queue_delayed_work_on(3, dw, 5ms));
  ASSERT_TRUE(wait_until([&] { return runs.load() == 1; }));
  EXPECT_EQ(exec_cpus(eng, dw.id()), std::vector<int>{3});
  ASSERT_TRUE(q.queue_delayed_work_on(3, dw, 10s));
  EXPECT_TRUE(eng.cancel_delayed_work_sync(dw));
  ASSERT_TRUE(q.queue_delayed_work_on(1, dw, 10s));
  eng.flush_delayed_work(dw);
  EXPECT_EQ(runs.load(), 2);
}

TEST(Shared, DestroyDrainsAndLaterCallsAreErrors) {
  Engine eng(shared_config());
  auto& q = eng.create_workqueue("s", WqKind::shared);
  std::atomic<int> runs{0};
  std::vector<std::unique_ptr<Work>> works;
  for (int i = 0; i < 30; ++i) works.push_back(std::make_unique<Work>([&](Work&) { runs.fetch_add(1); }));
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(q.queue_work_on(i % 4, *works[static_cast<size_t>(i)]));
  q.destroy();
  EXPECT_EQ(runs.load(), 30);
  Work w([](Work&) {});
  EXPECT_THROW(q.queue_work_on(1, w), Error);
  EXPECT_THROW(q.destroy(), Error);
}

// An idle pool thread is the one the next work wakes (docs/SHARED.md: the
// most recently idle): a thread that ran a work goes back on the pool's
// idle list. Lost from that list, it waits for its idle timeout unseen,
// and each later work gets a new thread, or the rescuer at the cap (a
// fallback with no creation failure). The queueing of b needs the pool
// lock, which the thread releases only in its idle wait, so it is always
// idle by then. Kills pool_worker_loop_locked@6511c3 (issue #14).
TEST(Shared, AThreadThatRanAWorkIsTheOneTheNextWorkWakes) {
  for (int cap : {1, 16}) {
    EngineConfig cfg = shared_config(2);
    cfg.stall_timeout = lazywq::Duration::zero();
    cfg.max_workers_per_pool = cap;
    Engine eng(cfg);
    auto& q = eng.create_workqueue("s", WqKind::shared);
    Work a([](Work&) {}, "a");
    Work b([](Work&) {}, "b");
    auto runner = [&](const Work& w) {  // the engine thread of w's (only) run
      for (const Event& e : eng.events())
        if (e.type == EventType::exec_begin && e.work == w.id()) return e.thread;
      return 0u;
    };
    ASSERT_TRUE(q.queue_work_on(1, a));
    eng.flush_work(a);
    ASSERT_TRUE(q.queue_work_on(1, b));
    eng.flush_work(b);
    EXPECT_EQ(runner(a), runner(b)) << "cap " << cap << ": b did not run on the idle thread that ran a";
    const auto s = eng.stats();
    EXPECT_EQ(s.fallbacks, 0u) << "cap " << cap;
    EXPECT_EQ(count_events(eng, EventType::fallback), 0u) << "cap " << cap;
    EXPECT_EQ(pool_stats(s, 1).workers, 1) << "cap " << cap;
    EXPECT_EQ(pool_stats(s, 1).idle, 1) << "cap " << cap;
    q.destroy();
  }
}

// A CPU taken offline before the first shared queue exists: its pools are
// created offline, so its works go to the unbound pool (C4, C13). Kills
// create_pools_locked@346d13.
TEST(Shared, ACpuOfflineBeforeTheFirstSharedQueueHasItsPoolsOffline) {
  Engine eng(shared_config());
  ASSERT_TRUE(eng.cpu_offline(2));
  auto& q = eng.create_workqueue("s", WqKind::shared);
  Work w([](Work&) {}, "w");
  ASSERT_TRUE(q.queue_work_on(2, w));
  eng.flush_work(w);
  EXPECT_EQ(exec_cpus(eng, w.id()), std::vector<int>{-1}) << dump_events(eng);
  EXPECT_EQ(pool_stats(eng.stats(), 2).workers, 0);
  q.destroy();
}

// A pool thread stops counting as running only while it is blocked in an
// engine wait (C16): once sleep_for returns it counts again, so a work
// queued behind it waits for its callback to end rather than getting a
// second thread. Kills worker_sleeping@95acb6.
TEST(Shared, AThreadCountsAsRunningAgainOnceItsEngineWaitEnds) {
  EngineConfig cfg = shared_config(2);
  cfg.stall_timeout = lazywq::Duration::zero();  // only engine waits uncount
  Engine eng(cfg);
  auto& q = eng.create_workqueue("s", WqKind::shared);
  std::atomic<bool> e_ran{false};
  bool e_ran_during_a = false;
  int running_after_wait = -1;
  Work e([&](Work&) { e_ran = true; }, "e");
  Work a(
      [&](Work&) {
        eng.sleep_for(1ms);
        running_after_wait = pool_stats(eng.stats(), 1).running;
        q.queue_work_on(1, e);
        spin_for(50ms);  // outside the engine: still running
        e_ran_during_a = e_ran.load();
      },
      "a");
  ASSERT_TRUE(q.queue_work_on(1, a));
  eng.flush_work(a);
  eng.flush_work(e);
  EXPECT_EQ(running_after_wait, 1);
  EXPECT_FALSE(e_ran_during_a) << "e ran beside a callback that was not blocked";
  q.destroy();
}

// A thread the stall watchdog stopped counting stays uncounted for the
// rest of its callback, through later engine waits too: counted again, it
// would hold the pool's next works behind a callback still blocked where
// the engine cannot see, until a second watchdog round. Kills
// worker_waking@842411 and @0ddbca (the first sleep_for leaves `blocked`
// stale under the latter).
TEST(Shared, AThreadTheWatchdogUncountedStaysUncountedThroughItsNextWait) {
  Engine eng(shared_config(2));  // stall_timeout 20 ms
  auto& q = eng.create_workqueue("s", WqKind::shared);
  std::atomic<bool> d_ran{false}, e_ran{false};
  int running_after_wait = -1;
  Work d([&](Work&) { d_ran = true; }, "d");
  Work e([&](Work&) { e_ran = true; }, "e");
  Work a(
      [&](Work&) {
        eng.sleep_for(1ms);  // an ordinary engine wait first
        q.queue_work_on(1, d);  // behind a, counted: only the watchdog lets it run
        ASSERT_TRUE(wait_until([&] { return d_ran.load(); }));
        ASSERT_TRUE(wait_until([&] { return pool_stats(eng.stats(), 1).idle == 1; }));
        eng.sleep_for(1ms);
        running_after_wait = pool_stats(eng.stats(), 1).running;
        q.queue_work_on(1, e);  // the idle thread takes it
        ASSERT_TRUE(wait_until([&] { return e_ran.load(); }));
      },
      "a");
  ASSERT_TRUE(q.queue_work_on(1, a));
  eng.flush_work(a);
  eng.flush_work(d);
  eng.flush_work(e);
  EXPECT_EQ(running_after_wait, 0) << "the watchdog's uncounting was undone by a later engine wait";
  EXPECT_EQ(eng.stats().watchdog_rescues, 1u);
  q.destroy();
}

// A thread the watchdog uncounted during a callback counts again for its
// next run, the C3 requeue of that same work handed to it by another
// thread of the pool: counted before that run starts, not after it ends.
// Kills pool_worker_loop_locked@0acefb.
TEST(Shared, AThreadUncountedByTheWatchdogCountsAgainForItsNextRun) {
  Engine eng(shared_config(2));  // stall_timeout 20 ms
  auto& q = eng.create_workqueue("s", WqKind::shared);
  std::atomic<bool> d_ran{false};
  std::atomic<int> runs{0};
  int running_in_second_run = -1;
  Work d([&](Work&) { d_ran = true; }, "d");
  Work a(
      [&](Work& self) {
        if (++runs == 1) {
          q.queue_work_on(1, self);  // C3: to this thread's scheduled list, via another thread
          q.queue_work_on(1, d);
          ASSERT_TRUE(wait_until([&] { return d_ran.load(); }));  // only the watchdog lets d run
          return;
        }
        ASSERT_TRUE(wait_until([&] { return pool_stats(eng.stats(), 1).idle == 1; }));
        running_in_second_run = pool_stats(eng.stats(), 1).running;
      },
      "a");
  ASSERT_TRUE(q.queue_work_on(1, a));
  ASSERT_TRUE(wait_until([&] { return runs.load() == 2; }));
  eng.flush_work(a);
  q.flush();
  EXPECT_EQ(running_in_second_run, 1) << "the run of the scheduled work was not counted";
  EXPECT_EQ(eng.stats().watchdog_rescues, 1u);
  q.destroy();
}

}  // namespace
}  // namespace lwqt
