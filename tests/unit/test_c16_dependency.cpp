// C16 dependency freedom, the detector half (engine/include/lazywq/
// dependency.hpp): every wait from inside a work adds wait-for edges between
// pseudo-locks (works, queues); a wait that closes a cycle is reported with
// the chain, lockdep style, the first time the cycle's second half is seen,
// even when its two halves never run at the same moment. Acyclic chains of
// waits complete and report nothing. (The shared kind, whose acyclic waits
// must never deadlock, is the other half of C16.)
#include "test_helpers.hpp"

namespace lwqt {
namespace {

using lazywq::DependencyCheck;

EngineConfig config_with(DependencyCheck mode) {
  EngineConfig cfg = test_config(4);
  cfg.dependency_check = mode;
  return cfg;
}

// Runs `w` once on `wq` (CPU 1) and waits for it.
void run_once(Engine& eng, Workqueue& wq, Work& w) {
  ASSERT_TRUE(wq.queue_work_on(1, w));
  eng.flush_work(w);
}

// A work gets its engine identity when first queued; until then there is
// nothing to wait for (flush_work returns at once) and no pseudo-lock.
void give_identities(Engine& eng, Workqueue& wq, std::initializer_list<Work*> works) {
  for (Work* w : works) run_once(eng, wq, *w);
}

TEST(C16_Dependency, CycleOfTwoWorksIsReportedWithItsChain) {
  Engine eng(config_with(DependencyCheck::report));
  auto& q1 = eng.create_workqueue("q1", WqKind::lazy);
  auto& q2 = eng.create_workqueue("q2", WqKind::lazy);
  Work* b_ptr = nullptr;
  Work* a_ptr = nullptr;
  std::atomic<bool> armed{false};
  Work a([&](Work&) { if (armed) eng.flush_work(*b_ptr); }, "a");
  Work b([&](Work&) { if (armed) eng.flush_work(*a_ptr); }, "b");
  a_ptr = &a;
  b_ptr = &b;
  give_identities(eng, q1, {&a, &b});
  armed = true;
  run_once(eng, q2, b);  // b waits for a (a idle: returns at once); edge b -> a
  EXPECT_EQ(eng.stats().dependency_cycles, 0u) << "half a cycle is no cycle";
  run_once(eng, q1, a);  // a waits for b: closes a -> b -> a
  const auto cycles = eng.dependency_cycles();
  ASSERT_EQ(cycles.size(), 1u) << dump_events(eng);
  EXPECT_EQ(eng.stats().dependency_cycles, 1u);
  const std::string text = cycles[0].describe();
  EXPECT_NE(text.find("C16"), std::string::npos) << text;
  EXPECT_NE(text.find("work 'a'"), std::string::npos) << text;
  EXPECT_NE(text.find("work 'b'"), std::string::npos) << text;
  EXPECT_NE(text.find("flush_work"), std::string::npos) << text;
  EXPECT_EQ(count_events(eng, EventType::dependency_cycle, a.id()), 1u) << "the event names the waiter";
}

// dependency_cycles() keeps the first 64 chains (engine_decl.hpp); the
// count goes on. Seventy distinct two-work cycles, as above.
TEST(C16_Dependency, TheFirstSixtyFourCyclesAreKeptAndAllCounted) {
  Engine eng(config_with(DependencyCheck::report));
  auto& q1 = eng.create_workqueue("q1", WqKind::lazy);
  auto& q2 = eng.create_workqueue("q2", WqKind::lazy);
  constexpr int kPairs = 70;
  std::vector<std::unique_ptr<Work>> as, bs;
  std::atomic<bool> armed{false};
  for (int i = 0; i < kPairs; ++i) {
    as.push_back(std::make_unique<Work>([&, i](Work&) { if (armed) eng.flush_work(*bs[static_cast<size_t>(i)]); },
                                        "a" + std::to_string(i)));
    bs.push_back(std::make_unique<Work>([&, i](Work&) { if (armed) eng.flush_work(*as[static_cast<size_t>(i)]); },
                                        "b" + std::to_string(i)));
    give_identities(eng, q1, {as.back().get(), bs.back().get()});
  }
  armed = true;
  for (int i = 0; i < kPairs; ++i) {
    run_once(eng, q2, *bs[static_cast<size_t>(i)]);
    run_once(eng, q1, *as[static_cast<size_t>(i)]);
  }
  EXPECT_EQ(eng.stats().dependency_cycles, static_cast<uint64_t>(kPairs));
  const auto cycles = eng.dependency_cycles();
  ASSERT_EQ(cycles.size(), 64u) << "the first 64 are kept";
  EXPECT_NE(cycles.front().describe().find("work 'a0'"), std::string::npos) << "oldest first";
  EXPECT_NE(cycles.back().describe().find("work 'a63'"), std::string::npos) << cycles.back().describe();
}

// The executors' keys once packed the CPU into 16 bits: CPU 65535's worker
// of a queue had its core's key, so the core flushing a work queued for
// that CPU was a "cycle" with itself (refused in error mode). Nothing
// bounds ncpus: every CPU's worker is its own executor.
TEST(C16_Dependency, ExecutorsOfHighCpusNeverShareAKey) {
  EngineConfig cfg = config_with(DependencyCheck::error);
  cfg.ncpus = 65537;
  cfg.idle_timeout = lazywq::Duration::max();  // the two workers stay
  Engine eng(cfg);
  auto& wq = eng.create_workqueue("many", WqKind::lazy);
  std::atomic<int> ran{0};
  Work target([&](Work&) { ran.fetch_add(1); }, "target");
  // Workers for CPUs 65535 and 65536 first: a queueing from the core for
  // a CPU with no worker waits for the core (a true cycle, refused).
  for (int cpu : {65535, 65536}) {
    ASSERT_TRUE(wq.queue_work_on(cpu, target));
    eng.flush_work(target);
  }
  std::string refused;
  Work waiter(
      [&](Work&) {
        for (int cpu : {65535, 65536}) {
          wq.queue_work_on(cpu, target);
          try {
            eng.flush_work(target);
          } catch (const lazywq::Error& e) {
            refused += "cpu " + std::to_string(cpu) + ": " + e.what() + "\n";
          }
        }
      },
      "waiter");
  ASSERT_TRUE(wq.queue_work_on(0, waiter));  // on the core
  eng.flush_work(waiter);
  EXPECT_EQ(refused, "");
  EXPECT_TRUE(eng.dependency_cycles().empty());
  EXPECT_EQ(ran.load(), 4);
}

// An ordered shared queue's one active slot is a pseudo-lock: A runs on O
// and holds it; B, queued on O by A, waits for it; A flushes C on another
// queue and C flushes B. A -> C -> B -> O's slot (held by A): a cycle.
// Whichever wait comes second closes it and is refused in error mode (C's
// flush of B, or A's flush of C when C got there first); then everything
// completes.
TEST(C16_Dependency, WaitForAWorkInactiveBehindAnOrderedSlotIsACycle) {
  Watchdog dog(20s, "a cycle through an ordered queue's active slot");
  Engine eng(config_with(DependencyCheck::error));
  auto& o = eng.create_workqueue("o", WqKind::shared, lazywq::WqOptions{.ordered = true});
  auto& s2 = eng.create_workqueue("s2", WqKind::shared);
  std::atomic<int> b_runs{0};
  std::atomic<int> refused{0};
  auto refusing = [&](auto&& wait) {
    try {
      wait();
    } catch (const lazywq::Error& e) {
      if (e.code() == lazywq::Errc::deadlock) refused.fetch_add(1);
    }
  };
  Work b([&](Work&) { b_runs.fetch_add(1); }, "B");
  Work c([&](Work&) { refusing([&] { eng.flush_work(b); }); }, "C");
  Work a(
      [&](Work&) {
        o.queue_work(b);
        s2.queue_work(c);
        refusing([&] { eng.flush_work(c); });
      },
      "A");
  ASSERT_TRUE(o.queue_work_on(1, a));
  eng.flush_work(a);
  eng.flush_work(c);
  o.flush();
  EXPECT_EQ(refused.load(), 1) << "A waits for C, C for B, B for O's slot, which A holds";
  EXPECT_FALSE(eng.dependency_cycles().empty());
  EXPECT_EQ(b_runs.load(), 1);
}

// A queue's core fires its armed timers: a wait for an armed delayed work
// waits for that core. A runs on single_thread q1's core and flushes C on
// q2; C flushes D, armed on q1. A -> C -> q1's core (running A): a cycle.
// Whichever wait comes second closes it and is refused in error mode (C's
// flush of D, or A's flush of C when C got there first); D then fires and
// runs once A has returned.
TEST(C16_Dependency, WaitForATimerArmedOnTheWaitersCoreIsACycle) {
  Watchdog dog(20s, "a cycle through the core that fires a timer");
  Engine eng(config_with(DependencyCheck::error));
  auto& q1 = eng.create_workqueue("q1", WqKind::single_thread);
  auto& q2 = eng.create_workqueue("q2", WqKind::single_thread);
  std::atomic<int> d_runs{0};
  std::atomic<int> refused{0};
  lazywq::DelayedWork d([&](Work&) { d_runs.fetch_add(1); }, "D");
  auto refusing = [&](auto&& wait) {
    try {
      wait();
    } catch (const lazywq::Error& e) {
      if (e.code() == lazywq::Errc::deadlock) refused.fetch_add(1);
    }
  };
  Work c([&](Work&) { refusing([&] { eng.flush_work(d); }); }, "C");
  Work a(
      [&](Work&) {
        q1.queue_delayed_work(d, 2ms);
        q2.queue_work(c);
        refusing([&] { eng.flush_work(c); });
      },
      "A");
  ASSERT_TRUE(q1.queue_work(a));
  eng.flush_work(a);
  eng.flush_work(c);
  eng.flush_delayed_work(d);
  EXPECT_EQ(refused.load(), 1) << "A waits for C, C for D, armed on q1: q1's core, which runs A";
  EXPECT_FALSE(eng.dependency_cycles().empty());
  EXPECT_EQ(d_runs.load(), 1);
}

TEST(C16_Dependency, ErrorModeRefusesTheWaitThatClosesACycle) {
  Engine eng(config_with(DependencyCheck::error));
  auto& q1 = eng.create_workqueue("q1", WqKind::lazy);
  auto& q2 = eng.create_workqueue("q2", WqKind::per_cpu);
  Work* a_ptr = nullptr;
  Work* b_ptr = nullptr;
  std::string a_error;
  int b_code = -1;
  std::atomic<bool> armed{false};
  Work a(
      [&](Work&) {
        if (!armed) return;
        try {
          eng.cancel_work_sync(*b_ptr);
        } catch (const Error& e) {
          a_error = std::string(lazywq::to_string(e.code())) + ": " + e.what();
        }
      },
      "a");
  Work b([&](Work&) { if (armed) b_code = error_code_of([&] { eng.flush_work(*a_ptr); }); }, "b");
  a_ptr = &a;
  b_ptr = &b;
  give_identities(eng, q1, {&a, &b});
  armed = true;
  run_once(eng, q1, a);  // a -> b (cancel_work_sync waits for b's run)
  EXPECT_TRUE(a_error.empty()) << a_error;
  run_once(eng, q2, b);  // b -> a closes the cycle: refused
  EXPECT_EQ(b_code, code(Errc::deadlock));
  ASSERT_EQ(eng.dependency_cycles().size(), 1u);
  EXPECT_NE(eng.dependency_cycles()[0].describe().find("cancel_work_sync"), std::string::npos);
}

// a runs on `cpu` of queue q1 (kind `kind`), queues c there (behind
// itself, on the same executor) and b on the lazy queue q2, and waits for
// b; b waits for c: a real deadlock in the making, though the works alone
// form the chain a -> b -> c. b's wait targets c's executor, which a holds.
// Whichever of the two waits adds its edges last closes the cycle and is
// refused (error mode), so everything completes.
void expect_cycle_through_executor(WqKind kind, int cpu, const std::string& executor_label) {
  Engine eng(config_with(DependencyCheck::error));
  auto& q1 = eng.create_workqueue("q1", kind);
  auto& q2 = eng.create_workqueue("q2", WqKind::lazy);
  int a_code = -1;
  int b_code = -1;
  std::atomic<int> c_runs{0};
  Work c([&](Work&) { c_runs.fetch_add(1); }, "c");
  Work* b_ptr = nullptr;
  Work b(
      [&](Work&) {
        // Until a is inside its wait for b, so that the two waits overlap.
        ASSERT_TRUE(wait_until([&] { return count_events(eng, EventType::flush_begin, b_ptr->id()) > 0; }));
        b_code = error_code_of([&] { eng.flush_work(c); });
      },
      "b");
  b_ptr = &b;
  Work a(
      [&](Work&) {
        ASSERT_TRUE(q1.queue_work_on(cpu, c));  // behind a, on a's own executor
        ASSERT_TRUE(q2.queue_work_on(2, b));
        a_code = error_code_of([&] { eng.flush_work(b); });
      },
      "a");
  Watchdog dog(kDeadline, "executor cycle must not hang");
  ASSERT_TRUE(q1.queue_work_on(cpu, a));
  eng.flush_work(a);
  eng.flush_work(b);  // a's wait may be the refused one: b can still be running
  eng.flush_work(c);
  EXPECT_NE(a_code == code(Errc::deadlock), b_code == code(Errc::deadlock))
      << "exactly one of the two waits is refused (a: " << a_code << ", b: " << b_code << ")\n"
      << dump_events(eng);
  EXPECT_EQ(c_runs.load(), 1);
  ASSERT_FALSE(eng.dependency_cycles().empty());
  const std::string text = eng.dependency_cycles()[0].describe();
  EXPECT_NE(text.find(executor_label), std::string::npos) << text;
}

TEST(C16_Dependency, WaitOnASerialQueueBehindItsOwnWorkerIsACycle) {
  expect_cycle_through_executor(WqKind::single_thread, 0, "core thread of workqueue 'q1'");
}

TEST(C16_Dependency, WaitBehindYourOwnCpuWorkerIsACycle) {
  expect_cycle_through_executor(WqKind::lazy, 1, "cpu 1 worker of workqueue 'q1'");
}

// A wait for w, queued on q1 behind y in the same order (a CPU list, or
// the core list's order for that CPU: one order for a single_thread
// queue), waits for y's run too when y runs elsewhere: C3 with C5, the
// order waits for that run. Here q1's executor is still busy with z, so
// it has not met y yet and adds no edge of its own: the only edge from
// w's wait to y is the one the order scan adds. y then waits for the
// waiter: a cycle, refused in error mode. Without the edge nothing is
// refused and, once z ends, the waits chain for ever. Mutation testing
// found the scan uncovered (drop_conjunct wait_targets/2@17ea25); the
// dependency scenario then found the scan wrong for one-order queues
// and for y running on a shared pool thread (session 7).
void expect_wait_behind_run_elsewhere(WqKind order_kind, int y_cpu, int w_cpu, WqKind y_runs_on) {
  Engine eng(config_with(DependencyCheck::error));
  auto& q1 = eng.create_workqueue("q1", order_kind);
  auto& q2 = eng.create_workqueue("q2", y_runs_on);
  auto& q3 = eng.create_workqueue("q3", WqKind::per_cpu);
  std::atomic<bool> release_z{false};
  std::atomic<bool> release_y{false};
  std::atomic<bool> armed{false};
  std::atomic<int> y_runs{0};
  std::atomic<bool> y_waited{false};
  int a_code = -1;
  int y_code = -1;
  Work* a_ptr = nullptr;
  Work z([&](Work&) { if (armed) wait_until([&] { return release_z.load(); }); }, "z");
  Work w([](Work&) {}, "w");
  Work y(
      [&](Work&) {
        if (y_runs.fetch_add(1) != 0 || !armed) return;  // the second run (on q1) is the one w waits behind
        wait_until([&] { return release_y.load(); });
        y_code = error_code_of([&] { eng.flush_work(*a_ptr); });
        y_waited = true;
      },
      "y");
  Work a([&](Work&) { if (armed) a_code = error_code_of([&] { eng.flush_work(w); }); }, "a");
  a_ptr = &a;
  give_identities(eng, q3, {&a, &w, &y, &z});
  y_runs = 0;
  armed = true;
  Watchdog dog(kDeadline, "a wait behind a work running elsewhere must not hang");
  ASSERT_TRUE(q1.queue_work_on(y_cpu, z));  // y's order's executor: busy until released
  ASSERT_TRUE(wait_until([&] { return count_events(eng, EventType::exec_begin, z.id()) >= 2; }));
  ASSERT_TRUE(q2.queue_work_on(2, y));  // y runs on q2...
  ASSERT_TRUE(wait_until([&] { return y_runs.load() == 1; }));
  ASSERT_TRUE(q1.queue_work_on(y_cpu, y));  // ...and is queued on q1, w behind it in the same order
  ASSERT_TRUE(q1.queue_work_on(w_cpu, w));
  const size_t flushes_of_w = count_events(eng, EventType::flush_begin, w.id());  // give_identities' one
  ASSERT_TRUE(q3.queue_work_on(3, a));  // a waits for w: edges to w, q1's executor, y
  ASSERT_TRUE(wait_until([&] { return count_events(eng, EventType::flush_begin, w.id()) > flushes_of_w; }));
  // y waits for a: closes a -> y -> a. The flush_begin of a's wait comes
  // before its edges, so either wait may be the one that closes the cycle:
  // exactly one is refused. Until then y holds the order: z must not end.
  release_y = true;
  ASSERT_TRUE(wait_until([&] { return y_waited.load(); })) << dump_events(eng);
  release_z = true;
  eng.flush_work(a);
  eng.flush_work(w);
  eng.flush_work(y);
  EXPECT_NE(a_code == code(Errc::deadlock), y_code == code(Errc::deadlock))
      << "exactly one of the two waits is refused (a: " << a_code << ", y: " << y_code << ")\n"
      << dump_events(eng);
  EXPECT_EQ(y_runs.load(), 2);
  ASSERT_EQ(eng.dependency_cycles().size(), 1u);
  EXPECT_NE(eng.dependency_cycles()[0].describe().find("work 'y'"), std::string::npos)
      << eng.dependency_cycles()[0].describe();
}

TEST(C16_Dependency, WaitBehindAWorkRunningElsewhereOnACpuListIsACycle) {
  expect_wait_behind_run_elsewhere(WqKind::per_cpu, 1, 1, WqKind::per_cpu);
}

TEST(C16_Dependency, WaitBehindAWorkRunningElsewhereInASingleThreadOrderIsACycle) {
  expect_wait_behind_run_elsewhere(WqKind::single_thread, 1, 2, WqKind::per_cpu);
}

TEST(C16_Dependency, WaitBehindAWorkRunningOnASharedPoolThreadIsACycle) {
  expect_wait_behind_run_elsewhere(WqKind::per_cpu, 1, 1, WqKind::shared);
}

// A work that queues itself on another queue and flushes (or drains) that
// queue waits for its own queueing there, which cannot start before the
// running callback ends (C3): a self-wait, refused. It used to hang.
void expect_flush_of_own_pending_queue_refused(WqKind kind, bool drain) {
  Engine eng(config_with(DependencyCheck::error));
  auto& q1 = eng.create_workqueue("q1", kind);
  auto& q2 = eng.create_workqueue("q2", WqKind::shared);
  std::atomic<int> runs{0};
  int first_code = -1;
  Work x(
      [&](Work& self) {
        if (runs.fetch_add(1) != 0) return;
        EXPECT_TRUE(q1.queue_work_on(1, self));
        first_code = error_code_of([&] { drain ? q1.drain() : (void)q1.flush(); });
      },
      "x");
  Watchdog dog(kDeadline, "a flush of a queue the caller is pending on must not hang");
  ASSERT_TRUE(q2.queue_work_on(1, x));
  ASSERT_TRUE(wait_until([&] { return runs.load() == 2; })) << dump_events(eng);
  eng.flush_work(x);
  EXPECT_EQ(first_code, code(Errc::deadlock)) << dump_events(eng);
  ASSERT_FALSE(eng.dependency_cycles().empty());
}

TEST(C16_Dependency, FlushOfAQueueYouArePendingOnIsRefused) {
  expect_flush_of_own_pending_queue_refused(WqKind::lazy, false);
  expect_flush_of_own_pending_queue_refused(WqKind::single_thread, true);
  expect_flush_of_own_pending_queue_refused(WqKind::shared, false);
}

TEST(C16_Dependency, AcyclicChainCompletesWithoutReports) {
  Engine eng(config_with(DependencyCheck::error));
  auto& q1 = eng.create_workqueue("q1", WqKind::lazy);
  auto& q2 = eng.create_workqueue("q2", WqKind::ordered);
  auto& q3 = eng.create_workqueue("q3", WqKind::per_cpu);
  std::atomic<int> runs{0};
  Work c([&](Work&) { runs.fetch_add(1); }, "c");
  Work b(
      [&](Work&) {
        ASSERT_TRUE(q3.queue_work_on(3, c));
        eng.flush_work(c);
        runs.fetch_add(1);
      },
      "b");
  Work a(
      [&](Work&) {
        ASSERT_TRUE(q2.queue_work_on(2, b));
        eng.flush_work(b);
        q3.flush();
        runs.fetch_add(1);
      },
      "a");
  for (int round = 0; round < 3; ++round) run_once(eng, q1, a);
  EXPECT_EQ(runs.load(), 9);
  EXPECT_TRUE(eng.dependency_cycles().empty()) << eng.dependency_cycles()[0].describe();
  EXPECT_EQ(count_events(eng, EventType::dependency_cycle), 0u);
}

TEST(C16_Dependency, OffModeKeepsNoGraph) {
  Engine eng(config_with(DependencyCheck::off));
  auto& q1 = eng.create_workqueue("q1", WqKind::lazy);
  Work* a_ptr = nullptr;
  std::atomic<bool> armed{false};
  Work b([&](Work&) { if (armed) eng.flush_work(*a_ptr); }, "b");
  Work a([&](Work&) { if (armed) eng.flush_work(b); }, "a");
  a_ptr = &a;
  give_identities(eng, q1, {&a, &b});
  armed = true;
  run_once(eng, q1, b);
  run_once(eng, q1, a);
  EXPECT_TRUE(eng.dependency_cycles().empty());
  EXPECT_EQ(eng.stats().dependency_cycles, 0u);
}

TEST(C16_Dependency, WaitsFromOutsideTheEngineAddNothing) {
  Engine eng(config_with(DependencyCheck::error));
  auto& q1 = eng.create_workqueue("q1", WqKind::lazy);
  Work a([](Work&) {}, "a");
  Work b([](Work&) {}, "b");
  for (int i = 0; i < 3; ++i) {
    run_once(eng, q1, a);
    run_once(eng, q1, b);
    eng.cancel_work_sync(a);
    q1.flush();
  }
  EXPECT_TRUE(eng.dependency_cycles().empty());
}

// A cycle the engine itself closes after every wait of it began (session
// 14's late edges; the simulator's tests/sim/test_c16_late_edges.cpp sweeps
// its schedules), here on real threads. H holds ordered shared queue o's
// one slot until Y's flush of B has begun. Y, on per_cpu q2, queues itself
// on o (behind H), then B behind itself, and flushes B: no cycle yet. When
// H ends, the slot passes to Y's queueing while Y still runs on q2 (C3):
// the slot waits for Y, Y for B behind the slot. Nothing is left to refuse
// (Y waits already): the hand-over reports it, and the test unties it by
// cancelling B.
//
// The one thing no event shows is the moment Y's flush has added its
// edges (a few instructions after flush_begin): H widens that window and,
// should H still end first, Y's own wait closes the cycle and is refused,
// a correct engine but not the shape this test is for: it tries again.
struct HandOverAttempt {
  bool stuck = false;      // Y's flush did not return until B was cancelled
  uint64_t cycles = 0;     // C16 reports before the untie
  bool refused = false;    // Y's flush closed the cycle itself (H ended first)
  int y_runs = 0;
  bool h_saw_flush = false;
};

HandOverAttempt attempt_slot_hand_over_cycle() {
  Engine eng(config_with(DependencyCheck::error));
  auto& o = eng.create_workqueue("o", WqKind::shared, lazywq::WqOptions{.ordered = true});
  auto& q2 = eng.create_workqueue("q2", WqKind::per_cpu);
  Gate h_started;
  std::atomic<bool> y_done{false}, refused{false}, h_saw_flush{false};
  Work b([](Work&) {}, "B");
  Work h(
      [&](Work&) {
        h_started.open();
        h_saw_flush = wait_until([&] { return count_events(eng, EventType::flush_begin, b.id()) > 0; });
        spin_for(20ms);  // widens the window between flush_begin and the flush's edges
      },
      "H");
  std::atomic<int> y_runs{0};
  Work y(
      [&](Work& self) {
        if (y_runs.fetch_add(1) != 0) return;
        o.queue_work(self);
        o.queue_work(b);
        try {
          eng.flush_work(b);
        } catch (const lazywq::Error&) {
          refused = true;
        }
        y_done = true;
      },
      "Y");
  HandOverAttempt out;
  if (!o.queue_work(h) || !h_started.wait()) return out;
  if (!q2.queue_work_on(1, y)) return out;
  wait_until([&] { return y_done || eng.stats().dependency_cycles > 0; });
  out.stuck = !y_done;
  out.cycles = eng.stats().dependency_cycles;
  eng.cancel_work(b);  // untie: Y's flush returns, then its queueing on o runs
  eng.flush_work(y);
  o.flush();
  out.refused = refused;
  out.y_runs = y_runs;
  out.h_saw_flush = h_saw_flush;
  return out;
}

TEST(C16_Dependency, ACycleClosedByAnOrderedSlotHandOverIsReportedOnRealThreads) {
  Watchdog dog(60s, "a cycle closed by an ordered shared queue's slot hand-over");
  HandOverAttempt a;
  int attempts = 0;
  do {
    a = attempt_slot_hand_over_cycle();
  } while (a.refused && ++attempts < 5);
  ASSERT_FALSE(a.refused) << "H ended before Y's flush had added its edges, 5 times: the test no longer reaches the hand-over";
  EXPECT_TRUE(a.h_saw_flush) << "Y's flush_begin never came while H held the slot";
  EXPECT_TRUE(a.stuck) << "Y's flush returned before H ended: the test no longer reaches the hand-over";
  EXPECT_EQ(a.cycles, 1u) << "the slot's hand-over closed the cycle; reported once";
  EXPECT_EQ(a.y_runs, 2);
}

// A CPU worker waiting for a run elsewhere (C3) names it (Worker::
// c3_awaiting, under Q) for the waits that begin meanwhile: F, a work of
// single_thread r, flushes V, queued on q's CPU 1 behind X while q's CPU 1
// worker waits for X's run on p. No cycle (F is not X), F's flush returns
// once X has run twice, V once. Under ThreadSanitizer (the tsan preset) this
// is also the test of the locking of c3_awaiting: F reads it during the
// worker's wait, so a store to it outside Q is a data race (mutation
// testing: run_one_locked@11fd94, the store moved before the lock).
//
// X's first run lasts until F's first flush has begun; no event shows the
// worker's C3 wait or F's read of c3_awaiting, so two spins widen those
// windows (the test passes either way; they make the shape likely).
TEST(C16_Dependency, AWaitBehindACpuWorkersC3WaitCompletesWithoutACycle) {
  Watchdog dog(20s, "a flush behind a CPU worker's C3 wait");
  Engine eng(config_with(DependencyCheck::report));
  auto& q = eng.create_workqueue("q", WqKind::per_cpu);
  auto& p = eng.create_workqueue("p", WqKind::per_cpu);
  auto& r = eng.create_workqueue("r", WqKind::single_thread);
  Gate requeued;
  std::atomic<int> x_runs{0}, v_runs{0};
  std::atomic<bool> x_saw_flush{false};
  Work v([&](Work&) { v_runs.fetch_add(1); }, "V");
  Work x(
      [&](Work& self) {
        if (x_runs.fetch_add(1) != 0) return;
        ASSERT_TRUE(q.queue_work_on(1, self));
        requeued.open();
        x_saw_flush = wait_until([&] { return count_events(eng, EventType::flush_begin, v.id()) > 0; });
        spin_for(10ms);  // F's flush reads the worker's c3_awaiting meanwhile
      },
      "X");
  Work f(
      [&](Work&) {
        for (int i = 0; i < 20; ++i) {
          q.queue_work_on(1, v);
          eng.flush_work(v);  // behind X's queueing while the worker waits (the first time)
        }
      },
      "F");
  ASSERT_TRUE(p.queue_work_on(0, x));
  ASSERT_TRUE(requeued.wait());
  spin_for(10ms);  // q's CPU 1 worker takes X's queueing and begins its C3 wait
  ASSERT_TRUE(r.queue_work(f));
  eng.flush_work(f);
  eng.flush_work(x);
  EXPECT_TRUE(x_saw_flush.load()) << "F's flush never began while X's first run lasted";
  EXPECT_EQ(x_runs.load(), 2);
  EXPECT_GE(v_runs.load(), 1);
  EXPECT_TRUE(eng.dependency_cycles().empty()) << eng.dependency_cycles()[0].describe();
}

}  // namespace
}  // namespace lwqt
