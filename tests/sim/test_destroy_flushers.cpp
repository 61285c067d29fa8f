// C14: destroy returns (destroy_end) only after the flushes and drains of
// the queue that started before it have returned. Its wait for them is a
// re-check loop; a condition variable may wake spuriously, so the test
// world draws spurious wake-ups (mutation testing, issue #14: turning
// either loop into a single check, destroy@c5a171 for shared queues and
// @c5a171~1 for the others, was caught by the explorer alone).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lazywq/lazywq.hpp"
#include "sim/oracle.hpp"
#include "sim/platform_sim.hpp"
#include "sim/scenario.hpp"
#include "tests/sim/sim_test_world.hpp"

using namespace lazywq;
using namespace lazywq::sim;

TEST(C14_Destroy, ReturnsOnlyAfterTheFlushesThatBeganBeforeIt) {
  int overlapped = 0;
  for (WqKind kind : {WqKind::shared, WqKind::lazy, WqKind::single_thread}) {
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      std::vector<Event> events;
      RunResult r = run_world(
          seed, strategy_for(seed),
          [&] {
            EngineConfig cfg;
            cfg.ncpus = 2;
            cfg.record_events = true;
            SimEngine eng(cfg);
            SimWorkqueue& q = eng.create_workqueue("q", kind);
            // A long run: the flush waits for it, and the destroy's drain
            // too; the flush, woken with the drain, returns later.
            SimWork slow([](SimWork&) { ScenarioContext::sleep_ns(200'000); }, "slow");
            q.queue_work_on(1, slow);
            SimPlatform::Thread flusher = *SimPlatform::spawn(0, "flusher", [&] {
              try {
                q.flush();
              } catch (const Error&) {  // the destroy came first
              }
            });
            ScenarioContext::sleep_ns(20'000);
            q.destroy();
            flusher.join();
            events = eng.events();
          },
          /*spurious_wakeups=*/0.3);
      const std::string where = std::string(to_string(kind)) + ", seed " + std::to_string(seed);
      ASSERT_EQ(r.status, RunStatus::ok) << where << ": " << r.message;
      // Every flush that began before the destroy ended before destroy_end.
      uint64_t destroy_seq = 0, destroy_end = 0, flush_begin = 0, flush_end = 0;
      for (const Event& e : events) {
        if (e.type == EventType::destroy) destroy_seq = e.seq;
        if (e.type == EventType::destroy_end) destroy_end = e.seq;
        if (e.type == EventType::flush_begin && e.queue != 0) flush_begin = e.seq;
        if (e.type == EventType::flush_end && e.queue != 0) flush_end = e.seq;
      }
      if (flush_begin == 0 || flush_begin > destroy_seq) continue;  // the flush began after: refused
      ++overlapped;
      EXPECT_LT(flush_end, destroy_end) << where << ": destroy_end at #" << destroy_end
                                        << " before the flush (begun at #" << flush_begin << ") returned";
    }
  }
  EXPECT_GT(overlapped, 20) << "the flush should often begin before the destroy";
}
