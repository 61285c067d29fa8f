// Schedule shrinking (issue #16): a failing run becomes the fewest
// decisions (sim/schedule.hpp) that still break the same rule, judged by
// the same oracle.
//
// The run is recorded as explicit decisions, then delta debugging removes
// them: the whole schedule at once (no preemption at all), then chunks of
// halving size until single decisions, again until nothing more goes; then
// each decision left switches to the lowest thread id that still fails. A
// removed decision lets its point take the default pick, which never
// preempts, so the decisions left are the preemptions and hand-overs the
// failure needs. Between passes the workload shrinks too: each of its
// sizes (CPUs, clients, operations, works, queues...) is capped as low as
// the failure allows (`--param cap.ops=3`: drawn as before, then cut),
// each probability knob goes to 0, the reduction whose run breaks the rule
// soonest kept at each round; the operations the failure does without
// are left out (`--param skip=c0.1+c1.4`, ScenarioContext::op: they make
// their draws and do nothing); and the decisions are shrunk again. The
// seed still draws the rest of the workload and the world's faults. A
// smaller workload that fails only under other decisions gets a bounded
// search of its own, then each decision moves to where the rule breaks
// soonest, and the run is cut there (RunOptions::prefix_steps).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "sim/runner.hpp"

namespace lazywq::sim {

struct ShrinkOptions {
  // Wall clock of the shrinker itself (never read inside the simulated
  // world); 0: none. A cut leaves the smallest failing schedule so far.
  double budget_seconds = 10;
  // Executions at most (0: none): a bound that does not depend on the
  // machine, so a test's shrink is the same everywhere.
  uint64_t max_runs = 0;
  // Each candidate in a child process (a failed run keeps its stacks
  // mapped for good: thousands would exhaust the process's maps), killed
  // after run_timeout_seconds of a spin with no scheduling point (0: never).
  bool isolate = true;
  unsigned run_timeout_seconds = 60;
};

// The size of a run, before and after.
struct RunShape {
  uint64_t steps = 0;
  uint64_t choice_points = 0;
  uint64_t decisions = 0;
  uint64_t preemptions = 0;
  uint32_t threads = 0;
  uint64_t events = 0;
};
RunShape shape_of(const Outcome& o);

struct ShrinkResult {
  RunOptions original;  // as given
  RunOptions shrunk;    // strategy "schedule", its decisions in `schedule`
  Outcome before;       // the original run
  Outcome after;        // the shrunk run (recorded)
  std::string rule;     // broken by both
  uint64_t runs = 0;    // executions spent
  double seconds = 0;
  bool cut = false;     // the budget or max_runs ended it before a fixpoint
};

// The run `recorded` (run with record_schedule) as a `schedule` run: its
// decisions, and a workload that assumed a fair scheduler (param `fair`,
// the liveness scenario's unbounded producers) keeps assuming it.
RunOptions as_schedule_run(const RunOptions& original, const Outcome& recorded);

// Shrinks a failing run. Throws std::invalid_argument if it does not fail,
// or if its recorded schedule does not replay it (a simulator bug).
// `progress(phase, runs, decisions)` is called now and then.
ShrinkResult shrink_schedule(const RunOptions& failing, const ShrinkOptions& opt,
                             const std::function<void(const std::string&, uint64_t, uint64_t)>& progress = {});

// Before and after, one line per measure: steps, choice points,
// decisions, preemptions, threads, events.
std::string shrink_table(const ShrinkResult& r);

}  // namespace lazywq::sim
