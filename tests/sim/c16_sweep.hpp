// The sweeps of the C16 simulator tests whose cycles the engine may close
// on its own (tests/sim/test_c16_late_edges.cpp, test_c16_timers.cpp): a
// run waits until its waiters are done or a cycle is reported, then unties
// it from outside; a sweep over seeds tallies what the runs saw.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>

#include "sim/platform_sim.hpp"
#include "sim/scenario.hpp"
#include "sim/world.hpp"
#include "tests/sim/sim_test_world.hpp"

namespace lazywq::sim::c16 {

// One run of a cycle the engine may close on its own. The main thread
// waits (virtual time) until both waiters are done or a cycle is reported;
// then it breaks the cycle from outside (`untie`) so the run always ends.
// `stuck`: both waiters were still waiting when it gave up, 20 ms of
// virtual time later, far beyond any run here.
struct Outcome {
  bool stuck = false;
  bool reported = false;
};

template <class Untie>
Outcome wait_then_untie(SimEngine& eng, const bool& first_done, const bool& second_done, Untie&& untie,
                        uint64_t before = 0) {  // `before`: the run's cycles that are not this one
  for (int i = 0; i < 400 && !(first_done && second_done) && eng.stats().dependency_cycles == before; ++i)
    ScenarioContext::sleep_ns(50'000);
  Outcome o;
  o.reported = eng.stats().dependency_cycles > before;
  o.stuck = !first_done && !second_done;
  untie();
  return o;
}

// A sweep over seeds and strategies: a run may end with no cycle formed, a
// refusal, or a report, but never stuck with nothing reported.
struct Sweep {
  int stuck_reported = 0;  // the cycle's last edge was the engine's own, and it was reported
  int stuck_unreported = 0;
  int reported = 0;
  std::string first_unreported;

  void add(uint64_t seed, const char* strategy, const RunResult& r, const Outcome& o) {
    ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << " " << strategy << ": " << r.message;
    reported += o.reported;
    if (!o.stuck) return;
    if (o.reported) {
      ++stuck_reported;
    } else if (stuck_unreported++ == 0) {
      first_unreported = "seed " + std::to_string(seed) + " " + strategy;
    }
  }
};

// What a sweep of a shape that must never report saw.
struct Tally {
  int runs_with_report = 0;
  uint64_t reports = 0;
  int refused = 0;  // counted by the shapes whose waits may be refused
  std::string first;

  std::string summary() const {
    return std::to_string(reports) + " reports, " + std::to_string(refused) + " refusals; first: " + first;
  }
};

// The cycles one run's engine reported, read before the engine goes.
struct CyclesSeen {
  uint64_t count = 0;
  std::string first;
};

inline CyclesSeen cycles_seen(const SimEngine& eng) {
  CyclesSeen c;
  c.count = eng.stats().dependency_cycles;
  if (c.count) c.first = eng.dependency_cycles()[0].describe();
  return c;
}

// Runs `shape` (it builds its engine, runs the shape, and returns
// cycles_seen of that engine) over seeds 1..`seeds`, each in a fresh
// world under `strategy(seed)`, and adds what it saw to `t`. Every run
// must end ok (a hang is a failure of the test, not a tally).
inline void sweep_no_cycle(Tally& t, uint64_t seeds, const std::function<CyclesSeen()>& shape,
                    const std::function<const char*(uint64_t)>& strategy = strategy_for) {
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    const char* how = strategy(seed);
    CyclesSeen seen;
    RunResult r = run_world(seed, how, [&] { seen = shape(); });
    ASSERT_EQ(r.status, RunStatus::ok) << "seed " << seed << " " << how << ": " << r.message;
    t.reports += seen.count;
    t.runs_with_report += seen.count > 0;
    if (seen.count && t.first.empty()) t.first = "seed " + std::to_string(seed) + " " + how + ": " + seen.first;
  }
}

// Runs `shape` (it builds its engine, plays the cycle with
// wait_then_untie, and returns that Outcome) over seeds 1..`seeds`, each in
// a fresh world under strategy_for(seed), and adds each run to `sw`.
inline void sweep_closing(Sweep& sw, uint64_t seeds, const std::function<Outcome()>& shape) {
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    const char* strategy = strategy_for(seed);
    Outcome o;
    RunResult r = run_world(seed, strategy, [&] { o = shape(); });
    sw.add(seed, strategy, r, o);
  }
}

}  // namespace lazywq::sim::c16
