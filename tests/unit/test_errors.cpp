// Misuse: every misuse the engine detects is a lazywq::Error with a code,
// never a crash or a hang, and leaves the engine usable. Errors raised inside
// callbacks are caught there and their codes checked from the test thread
// (an exception escaping a callback is swallowed and counted by the worker).
#include <limits>

#include "test_helpers.hpp"

namespace lwqt {
namespace {

TEST(Errors, InvalidCpu) {
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w([](Work&) {}, "w");
  DelayedWork dw([](Work&) {}, "dw");
  EXPECT_LAZYWQ_ERROR(wq.queue_work_on(-1, w), Errc::invalid_cpu);
  EXPECT_LAZYWQ_ERROR(wq.queue_work_on(4, w), Errc::invalid_cpu);
  EXPECT_LAZYWQ_ERROR(lazywq::queue_work_on(100, wq, w), Errc::invalid_cpu);
  EXPECT_LAZYWQ_ERROR(wq.queue_delayed_work_on(4, dw, 1ms), Errc::invalid_cpu);
  EXPECT_LAZYWQ_ERROR(lazywq::queue_delayed_work_on(-2, wq, dw, 1ms), Errc::invalid_cpu);
  EXPECT_LAZYWQ_ERROR(wq.mod_delayed_work_on(4, dw, 1ms), Errc::invalid_cpu);
  EXPECT_LAZYWQ_ERROR(eng.cpu_offline(4), Errc::invalid_cpu);
  EXPECT_LAZYWQ_ERROR(eng.cpu_online(-1), Errc::invalid_cpu);
  EXPECT_LAZYWQ_ERROR(eng.cpu_is_online(4), Errc::invalid_cpu);
  // Nothing changed: the works are idle and can be queued normally.
  EXPECT_FALSE(w.pending());
  EXPECT_FALSE(dw.pending());
  EXPECT_TRUE(wq.queue_work_on(3, w));
  eng.flush_work(w);
  EXPECT_EQ(count_events(eng, EventType::exec_begin, w.id()), 1u);
}

TEST(Errors, NegativeDelayIsInvalidArgument) {
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  DelayedWork dw([](Work&) {}, "dw");
  EXPECT_LAZYWQ_ERROR(wq.queue_delayed_work(dw, -1ms), Errc::invalid_argument);
  EXPECT_LAZYWQ_ERROR(wq.queue_delayed_work_on(1, dw, -1ns), Errc::invalid_argument);
  EXPECT_LAZYWQ_ERROR(wq.mod_delayed_work(dw, -5ms), Errc::invalid_argument);
  EXPECT_LAZYWQ_ERROR(lazywq::mod_delayed_work(wq, dw, -5ms), Errc::invalid_argument);
  EXPECT_FALSE(dw.pending());
}

TEST(Errors, MalformedEngineConfig) {
  EngineConfig c = test_config(4);
  c.ncpus = 0;
  EXPECT_LAZYWQ_ERROR(Engine{c}, Errc::invalid_argument);
  c.ncpus = -3;
  EXPECT_LAZYWQ_ERROR(Engine{c}, Errc::invalid_argument);
  c = test_config(4);
  c.core_cpu = -1;  // [0, ncpus): below as well as above
  EXPECT_LAZYWQ_ERROR(Engine{c}, Errc::invalid_argument);
  c = test_config(4);
  c.idle_timeout = -1ms;
  EXPECT_LAZYWQ_ERROR(Engine{c}, Errc::invalid_argument);
  c = test_config(4);
  c.spawn_cooldown = -1ns;
  EXPECT_LAZYWQ_ERROR(Engine{c}, Errc::invalid_argument);
  c = test_config(4);
  c.stall_timeout = lazywq::Duration::min();
  EXPECT_LAZYWQ_ERROR(Engine{c}, Errc::invalid_argument);
  c = test_config(4);
  c.max_workers_per_pool = 0;
  EXPECT_LAZYWQ_ERROR(Engine{c}, Errc::invalid_argument);
  c = test_config(4);
  c.dependency_check = static_cast<lazywq::DependencyCheck>(7);  // as a value cast from a config file
  EXPECT_LAZYWQ_ERROR(Engine{c}, Errc::invalid_argument);
  c = test_config(4);
  c.core_cpu = 4;  // outside [0, ncpus): either code describes it
  try {
    Engine e{c};
    ADD_FAILURE() << "core_cpu outside [0, ncpus) accepted";
  } catch (const Error& e) {
    EXPECT_TRUE(e.code() == Errc::invalid_argument || e.code() == Errc::invalid_cpu) << e.what();
  }
  EXPECT_LAZYWQ_ERROR(lazywq::planted_bug_from_string("no_such_bug"), Errc::invalid_argument);
}

// Issue #13 item 6: a kind outside the enum was taken as some queue.
TEST(Errors, WorkqueueKindOutOfRange) {
  Engine eng(test_config(4));
  EXPECT_LAZYWQ_ERROR(eng.create_workqueue("bad", static_cast<WqKind>(5)), Errc::invalid_argument);
  EXPECT_LAZYWQ_ERROR(eng.create_workqueue("bad", static_cast<WqKind>(255)), Errc::invalid_argument);
  EXPECT_TRUE(eng.stats().queues.empty()) << "a refused kind must create nothing";
  EXPECT_EQ(eng.stats().live_threads, 0);
  auto& wq = eng.create_workqueue("fine", WqKind::lazy);
  EXPECT_EQ(wq.id(), 1u);
}

// Issue #13 item 6: a probability is in [0, 1]; NaN compared false
// everywhere and silently meant "never fail".
TEST(Errors, SpawnFaultProbabilityOutsideZeroOne) {
  for (double p : {std::numeric_limits<double>::quiet_NaN(), -0.1, 1.5, std::numeric_limits<double>::infinity()}) {
    SCOPED_TRACE(p);
    EngineConfig c = test_config(4);
    c.spawn_faults.fail_probability = p;
    EXPECT_LAZYWQ_ERROR(Engine{c}, Errc::invalid_argument);
    Engine eng(test_config(4));
    lazywq::SpawnFaults f;
    f.fail_next = 1;
    eng.set_spawn_faults(f);
    f.fail_next = 0;
    f.fail_probability = p;
    EXPECT_LAZYWQ_ERROR(eng.set_spawn_faults(f), Errc::invalid_argument);
    // Refused whole: the faults set before are still in force.
    EXPECT_LAZYWQ_ERROR(eng.create_workqueue("first", WqKind::lazy), Errc::spawn_failed);
  }
  for (double p : {0.0, 1.0}) {
    EngineConfig c = test_config(4);
    c.spawn_faults.fail_probability = p;
    Engine eng(c);
    if (p == 1.0)
      EXPECT_LAZYWQ_ERROR(eng.create_workqueue("q", WqKind::lazy), Errc::spawn_failed);
    else
      EXPECT_NO_THROW(eng.create_workqueue("q", WqKind::lazy));
  }
}

// Issue #13 item 6: deleting the engine from one of its own threads would
// wait for that thread (its destructor destroys every queue) and used to
// hang silently, its Error(deadlock) swallowed. It is a programming error
// as loud as a Work destroyed from its own callback: a message, then
// abort. A lazy queue's worker and a shared pool's thread alike.
TEST(ErrorsDeathTest, EngineDeletedFromItsOwnThreadAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (WqKind kind : {WqKind::lazy, WqKind::shared}) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    EXPECT_DEATH(
        {
          auto* eng = new Engine(test_config(4));
          auto& wq = eng->create_workqueue("q", kind);
          Work w([eng](Work&) { delete eng; }, "deleter");
          wq.queue_work_on(1, w);
          eng->flush_work(w);
        },
        "engine deleted from one of its own threads.*deleter");
  }
}

// The calls that would wait for the caller itself.
TEST(Errors, DeadlockFromInsideOwnCallback) {
  for (WqKind kind : {WqKind::lazy, WqKind::per_cpu, WqKind::single_thread, WqKind::ordered}) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    std::atomic<int> flush_self{-3}, cancel_sync_self{-3}, flush_wq{-3}, drain_wq{-3}, destroy_wq{-3},
        flush_free{-3};
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("q", kind);
    Work w(
        [&](Work& self) {
          flush_self.store(error_code_of([&] { eng.flush_work(self); }));
          cancel_sync_self.store(error_code_of([&] { eng.cancel_work_sync(self); }));
          flush_wq.store(error_code_of([&] { wq.flush(); }));
          flush_free.store(error_code_of([&] { lazywq::flush_workqueue(wq); }));
          drain_wq.store(error_code_of([&] { wq.drain(); }));
          destroy_wq.store(error_code_of([&] { wq.destroy(); }));
        },
        "w");
    ASSERT_TRUE(wq.queue_work_on(2, w));
    {
      Watchdog dog(20s, "self-waiting calls from a callback");
      eng.flush_work(w);
    }
    EXPECT_EQ(flush_self.load(), code(Errc::deadlock));
    EXPECT_EQ(cancel_sync_self.load(), code(Errc::deadlock));
    EXPECT_EQ(flush_wq.load(), code(Errc::deadlock));
    EXPECT_EQ(flush_free.load(), code(Errc::deadlock));
    EXPECT_EQ(drain_wq.load(), code(Errc::deadlock));
    EXPECT_EQ(destroy_wq.load(), code(Errc::deadlock));
    // The refused destroy destroyed nothing; the queue still works.
    EXPECT_FALSE(wq.destroyed());
    EXPECT_TRUE(wq.queue_work_on(1, w));
    eng.flush_work(w);
    EXPECT_EQ(count_events(eng, EventType::exec_begin, w.id()), 2u);
    EXPECT_EQ(eng.stats().callback_exceptions, 0u);
  }
}

TEST(Errors, DeadlockFlushDelayedWorkFromOwnCallback) {
  std::atomic<int> c{-3};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  DelayedWork dw([&](Work& self) { c.store(error_code_of([&] { eng.flush_delayed_work(static_cast<DelayedWork&>(self)); })); }, "dw");
  ASSERT_TRUE(wq.queue_delayed_work_on(1, dw, 1ms));
  ASSERT_TRUE(wait_until([&] { return c.load() != -3; }));
  EXPECT_EQ(c.load(), code(Errc::deadlock));
}

// Frederic's classic: on a single-threaded (or ordered) queue, a work that
// waits for another work queued behind it on the same queue would wait for
// itself; it is reported, not a hang.
TEST(Errors, DeadlockWaitingOnWorkBehindYouOnSingleThreadedQueue) {
  for (WqKind kind : {WqKind::single_thread, WqKind::ordered}) {
    SCOPED_TRACE(std::string(lazywq::to_string(kind)));
    std::atomic<int> c{-3};
    std::atomic<int> b_runs{0};
    Engine eng(test_config(4));
    auto& wq = eng.create_workqueue("q", kind);
    Work b([&](Work&) { b_runs.fetch_add(1); }, "b");
    Work a(
        [&](Work&) {
          if (!wq.queue_work_on(1, b)) return;
          c.store(error_code_of([&] { eng.flush_work(b); }));
        },
        "a");
    ASSERT_TRUE(wq.queue_work_on(0, a));
    {
      Watchdog dog(20s, "flush_work of a work behind the caller (deadlock)");
      wq.flush();
      eng.flush_work(b);
    }
    EXPECT_EQ(c.load(), code(Errc::deadlock));
    EXPECT_EQ(b_runs.load(), 1) << "b still runs after a returns";
  }
}

// Flushing another queue from a callback is legal and waits.
TEST(Errors, FlushOfAnotherQueueFromCallbackIsFine) {
  std::atomic<int> c{-3};
  std::atomic<int> b_runs{0};
  Engine eng(test_config(4));
  auto& q1 = eng.create_workqueue("q1", WqKind::lazy);
  auto& q2 = eng.create_workqueue("q2", WqKind::single_thread);
  Work b([&](Work&) { b_runs.fetch_add(1); }, "b");
  Work a(
      [&](Work&) {
        c.store(error_code_of([&] {
          q2.queue_work_on(0, b);
          q2.flush();
        }));
      },
      "a");
  ASSERT_TRUE(q1.queue_work_on(1, a));
  Watchdog dog(20s, "flush of another queue from a callback");
  eng.flush_work(a);
  EXPECT_EQ(c.load(), -1);
  EXPECT_EQ(b_runs.load(), 1);
}

TEST(Errors, HotplugFromInsideWorkIsCpuStateError) {
  std::atomic<int> off{-3}, on{-3};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work w(
      [&](Work&) {
        off.store(error_code_of([&] { eng.cpu_offline(2); }));
        on.store(error_code_of([&] { eng.cpu_online(2); }));
      },
      "w");
  ASSERT_TRUE(wq.queue_work_on(1, w));
  eng.flush_work(w);
  EXPECT_EQ(off.load(), code(Errc::cpu_state));
  EXPECT_EQ(on.load(), code(Errc::cpu_state));
  EXPECT_TRUE(eng.cpu_is_online(2)) << "the refused hotplug changed the CPU state";
  EXPECT_LAZYWQ_ERROR(eng.cpu_offline(0), Errc::cpu_state);
}

TEST(Errors, WorkBoundToAnotherEngine) {
  std::atomic<int> runs{0};
  Engine e1(test_config(4));
  Engine e2(test_config(4));
  auto& q1 = e1.create_workqueue("q1", WqKind::lazy);
  auto& q2 = e2.create_workqueue("q2", WqKind::lazy);
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  ASSERT_TRUE(q1.queue_work_on(1, w));
  e1.flush_work(w);
  EXPECT_EQ(w.engine(), &e1);
  EXPECT_LAZYWQ_ERROR(q2.queue_work_on(1, w), Errc::wrong_engine);
  EXPECT_LAZYWQ_ERROR(e2.flush_work(w), Errc::wrong_engine);
  EXPECT_LAZYWQ_ERROR(e2.cancel_work_sync(w), Errc::wrong_engine);
  EXPECT_LAZYWQ_ERROR(e2.cancel_work(w), Errc::wrong_engine);
  EXPECT_FALSE(w.pending());
  EXPECT_EQ(runs.load(), 1);
  // Still fine on its own engine.
  ASSERT_TRUE(q1.queue_work_on(2, w));
  e1.flush_work(w);
  EXPECT_EQ(runs.load(), 2);
  EXPECT_EQ(e2.stats().works_run, 0u);
}

// The core thread of a queue cannot be created: create_workqueue reports
// spawn_failed and the engine stays usable.
TEST(Errors, CoreThreadCreationFailure) {
  Engine eng(test_config(4));
  lazywq::SpawnFaults f;
  f.fail_always = true;
  eng.set_spawn_faults(f);
  EXPECT_LAZYWQ_ERROR(eng.create_workqueue("doomed", WqKind::lazy), Errc::spawn_failed);
  EXPECT_LAZYWQ_ERROR(eng.create_workqueue("doomed2", WqKind::per_cpu), Errc::spawn_failed);
  eng.set_spawn_faults(lazywq::SpawnFaults{});
  auto& wq = eng.create_workqueue("fine", WqKind::lazy);
  std::atomic<int> runs{0};
  Work w([&](Work&) { runs.fetch_add(1); }, "w");
  ASSERT_TRUE(wq.queue_work_on(2, w));
  eng.flush_work(w);
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(eng.stats().live_threads, 2);
}

// An exception escaping a callback is caught by the worker, counted and
// recorded; the worker and the work stay usable.
TEST(Errors, ExceptionEscapingCallbackIsCountedNotFatal) {
  std::atomic<int> runs{0};
  Engine eng(test_config(4));
  auto& wq = eng.create_workqueue("lazy", WqKind::lazy);
  Work thrower(
      [&](Work&) {
        runs.fetch_add(1);
        throw std::runtime_error("boom");
      },
      "thrower");
  Work lw_thrower([&](Work&) { throw Error(Errc::invalid_argument, "from callback"); }, "lw");
  Work after([&](Work&) { runs.fetch_add(1); }, "after");
  ASSERT_TRUE(wq.queue_work_on(2, thrower));
  eng.flush_work(thrower);
  ASSERT_TRUE(wq.queue_work_on(2, lw_thrower));
  ASSERT_TRUE(wq.queue_work_on(2, after));
  wq.flush();
  ASSERT_TRUE(wq.queue_work_on(2, thrower));  // requeue after a throw works
  wq.flush();
  EXPECT_EQ(runs.load(), 3);
  EXPECT_FALSE(thrower.pending());
  auto s = eng.stats();
  EXPECT_EQ(s.callback_exceptions, 3u);
  EXPECT_EQ(s.works_run, 4u);
  EXPECT_EQ(count_events(eng, EventType::callback_threw, thrower.id()), 2u);
  EXPECT_EQ(count_events(eng, EventType::callback_threw, lw_thrower.id()), 1u);
  // The same worker (thread) ran everything on CPU 2: it survived the throws.
  std::set<uint32_t> threads;
  for (const Event& e : events_where(eng, EventType::exec_begin, 0, wq.id())) threads.insert(e.thread);
  EXPECT_EQ(threads.size(), 1u);
  EXPECT_EQ(count_events(eng, EventType::exec_end, thrower.id()), 2u) << "a throwing run still ends";
}

}  // namespace
}  // namespace lwqt
