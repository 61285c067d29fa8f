// The rescuer's shapes on real threads (issue #14): what the simulator's
// tests (tests/sim/test_rescuer_kicks.cpp, test_rescuer_queue_flushes.cpp)
// and the Relacy model rescuer_single_flush check in their worlds, run on
// the real platform, where ThreadSanitizer (the tsan preset) watches the
// kicks and the rescuer's sleep hand-off between a queue's lock and S.
// Each shape must complete (a Watchdog turns a hang into a failure) and
// run every work the expected number of times. Latency is not asserted
// here (a shared machine): the simulator's tests bound it in virtual time.
#include "test_helpers.hpp"

namespace lwqt {
namespace {

using lazywq::Duration;
using lazywq::SpawnFaults;
using lazywq::WqOptions;

// Two CPUs, one thread per pool, no stall watchdog: a pool whose thread
// blocks is at its cap and only the rescuer runs its next work. The
// largest cooldown: the rescuer's periodic look comes only every second,
// so a lost kick would show as a slow test, not be hidden.
EngineConfig at_the_cap() {
  EngineConfig cfg = test_config(2);
  cfg.max_workers_per_pool = 1;
  cfg.stall_timeout = Duration::zero();
  cfg.spawn_cooldown = Duration::max();
  return cfg;
}

// How the rescuer waits for w in RescuerShapes.TheEndOfARunElsewhere...
enum class RescuedWait { flush_work, queue_flush, behind_slot, in_its_loop };

// x on CPU 0's one pool thread flushes r, queued behind it, so the
// rescuer runs r. r queues w on a shared queue for CPU 0 while w still
// runs on a single_thread queue's worker, then waits for it (through v on
// CPU 1, a flush of q2, or b inactive behind w's slot); or x itself queues
// w and flushes it, and the rescuer waits in its loop. w's run on st must
// end first (C3); its end kicks the rescuer.
void run_end_elsewhere_shape(RescuedWait how) {
  Engine eng(at_the_cap());
  auto& st = eng.create_workqueue("st", WqKind::single_thread);
  auto& q1 = eng.create_workqueue("q1", WqKind::shared);
  auto& q2 = eng.create_workqueue("q2", WqKind::shared);
  WqOptions one;
  one.max_active = 1;
  auto& m = eng.create_workqueue("m", WqKind::shared, one);
  std::atomic<int> w_runs{0};
  std::atomic<bool> waiting{false}, requeued{false};
  Work w([&](Work&) {
    if (++w_runs > 1) return;
    EXPECT_TRUE(wait_until([&] { return waiting.load(); }));
    spin_for(100us);  // the rescuer is asleep by now, most times
  }, "w");
  Work v([&](Work&) {
    waiting = true;
    eng.flush_work(w);
  }, "v");
  Work b([](Work&) {}, "b");
  Work r([&](Work&) {
    if (how == RescuedWait::behind_slot) {
      requeued = m.queue_work_on(0, w);
      EXPECT_TRUE(m.queue_work_on(0, b));
      waiting = true;
      eng.flush_work(b);
      return;
    }
    requeued = q2.queue_work_on(0, w);
    EXPECT_TRUE(q2.queue_work_on(1, v));
    if (how == RescuedWait::flush_work)
      eng.flush_work(v);
    else
      q2.flush();
  }, "r");
  Work x([&](Work&) {
    EXPECT_TRUE(wait_until([&] { return w_runs.load() > 0; }));
    if (how == RescuedWait::in_its_loop) {
      requeued = q2.queue_work_on(0, w);
      waiting = true;
      eng.flush_work(w);
      return;
    }
    EXPECT_TRUE(q1.queue_work_on(0, r));
    eng.flush_work(r);
  }, "x");
  Watchdog dog(kDeadline, "the rescuer waiting for a work still running on a single_thread queue must not hang");
  ASSERT_TRUE(st.queue_work(w));
  ASSERT_TRUE(q1.queue_work_on(0, x));
  eng.flush_work(x);
  st.flush();
  q1.flush();
  q2.flush();
  m.flush();
  EXPECT_TRUE(requeued.load()) << "w was queued again while it ran on st";
  EXPECT_EQ(w_runs.load(), 2) << dump_events(eng);
  EXPECT_TRUE(eng.dependency_cycles().empty());
}

TEST(RescuerShapes, TheEndOfARunElsewhereLetsTheRescuerRunTheWorkQueuedMeanwhile) {
  for (int round = 0; round < 5; ++round)
    for (RescuedWait how :
         {RescuedWait::flush_work, RescuedWait::queue_flush, RescuedWait::behind_slot, RescuedWait::in_its_loop}) {
      SCOPED_TRACE("variant " + std::to_string(static_cast<int>(how)) + ", round " + std::to_string(round));
      run_end_elsewhere_shape(how);
    }
}

// The Relacy model rescuer_single_flush on real threads: creation fails
// for good once the queues exist, so the rescuer runs u, which flushes a
// single_thread queue whose work l queues b on the shared queue and
// flushes it. The rescuer must run b nested in u's flush; in between it
// sleeps on its own cv under S (rescuer_sleep_locked), woken by l's wait
// or the flush's epoch end. Another thread flushes st meanwhile.
TEST(RescuerShapes, TheRescuerFlushingASingleThreadQueueRunsWhatItsWorkWaitsFor) {
  for (int round = 0; round < 10; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Engine eng(at_the_cap());
    auto& q = eng.create_workqueue("s", WqKind::shared);
    auto& st = eng.create_workqueue("st", WqKind::single_thread);
    std::atomic<int> b_runs{0}, l_runs{0};
    Work b([&](Work&) { ++b_runs; }, "b");
    Work l([&](Work&) {
      ++l_runs;
      EXPECT_TRUE(q.queue_work_on(1, b));
      eng.flush_work(b);
      EXPECT_EQ(b_runs.load(), 1);
    }, "l");
    Work u([&](Work&) {
      EXPECT_TRUE(st.queue_work(l));
      st.flush();
      EXPECT_EQ(l_runs.load(), 1);
      EXPECT_EQ(b_runs.load(), 1);
    }, "u");
    SpawnFaults f;
    f.fail_always = true;
    eng.set_spawn_faults(f);
    Watchdog dog(kDeadline, "the rescuer flushing a single_thread queue must not hang");
    std::thread outside([&] { st.flush(); });
    ASSERT_TRUE(q.queue_work_on(1, u));
    eng.flush_work(u);
    outside.join();
    EXPECT_EQ(b_runs.load(), 1) << dump_events(eng);
    eng.set_spawn_faults({});
  }
}

}  // namespace
}  // namespace lwqt
