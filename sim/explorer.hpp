// The explorer: runs scenarios over ranges of seeds with a strategy, in a
// time or run budget, sharded across CI jobs.
#pragma once

#include <cstdint>
#include <functional>
#include <array>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "sim/op_coverage.hpp"
#include "sim/runner.hpp"
#include "sim/shrink.hpp"

namespace lazywq::sim {

struct ExploreOptions {
  std::vector<std::string> scenarios;  // empty: all
  uint64_t seed_first = 1;
  uint64_t seed_last = 1000;
  std::string seed_first_text;          // as typed (a commit hash stays readable)
  std::string strategy = "random";
  Params params;
  PlantedBug bug = PlantedBug::none;
  double budget_seconds = 0;  // wall-clock budget over all scenarios; 0 = none
  int shard_index = 0;        // this job runs seeds with (seed - first) % shard_count == shard_index
  int shard_count = 1;
  int max_failures_per_scenario = 100;  // reports kept per scenario (every failure is counted)
  // Stop the whole exploration at its first failure (the scenarios after
  // it are not run): for runs that need one hit, as the gate's planted stage.
  bool stop_on_first = false;
  // With stop_on_first: only a failure breaking one of these rules stops
  // it (empty: any failure), as the gate's planted stage, which needs the
  // planted bug's own rule.
  std::vector<std::string> stop_rules;
  // A scenario stops after this many failures (0: never). A failed run
  // cannot unwind its blocked fibers, so it keeps their stacks mapped for
  // good (World::~World); a planted bug that fails most runs would exhaust
  // the process's memory maps, and the hundredth failure adds nothing.
  uint64_t stop_after_failures = 100;
  uint64_t max_steps = 2'000'000;
  int64_t horizon_ns = kDefaultHorizonNs;  // RunOptions::horizon_ns
  // Isolation (the harness survives a broken engine): run the seeds in
  // child processes, `batch` runs per child; each finished run is reported
  // to the parent over a pipe, so when a child dies (segfault, abort, a
  // sanitizer's exit) or a run exceeds `run_timeout_seconds` of wall clock
  // (a spin with no scheduling point: the step limit never fires) the
  // parent knows the seed and reports it as a failure with rule "crash" or
  // "timeout" and its replay command; the next child goes on from the
  // seed after it. false: every run in this process (debugging).
  bool isolate = true;
  uint64_t batch = 1000;
  double run_timeout_seconds = 60;  // 0: none
  // A scenario stops after this many timeouts (0: never): an engine that
  // spins usually spins in many runs, and each costs run_timeout_seconds.
  uint64_t stop_after_timeouts = 3;
};

// A failure of the explorer, shrunk (sim/explore_shrink.hpp).
struct ShrunkFailure {
  bool done = false;       // false: not shrunk (not asked, a process verdict, or the shrink failed)
  std::string note;        // why not, when not done
  RunOptions run;          // the shrunk run (strategy "schedule")
  RunShape before, after;
  uint64_t trace_hash = 0; // of the shrunk run
  uint64_t runs = 0;
  double seconds = 0;
  bool cut = false;        // the budget ended it
  std::string file;        // the counterexample file written ("" if none)
};

struct ScenarioSummary {
  std::string scenario;
  uint64_t runs = 0;
  uint64_t failures = 0;
  std::map<std::string, uint64_t> failures_by_rule;
  uint64_t total_steps = 0;
  // The longest run that passed, in virtual time and in steps: what a
  // clean run of the scenario needs, against which the world's horizon
  // (WorldConfig::max_virtual_ns) and step limit are set.
  int64_t longest_pass_ns = 0;
  uint64_t longest_pass_steps = 0;
  int64_t longest_pass_wait_ns = 0;  // RunResult::longest_workload_wait_ns: what the horizon must exceed
  double seconds = 0;
  bool budget_cut = false;  // stopped by the budget before the last seed
  bool stopped_early = false;  // stopped after stop_after_failures failures
  uint64_t timeouts = 0;            // runs killed by the wall-clock timeout (also counted in failures)
  bool stopped_on_timeout = false;  // stopped after stop_after_timeouts timeouts
  std::vector<std::pair<RunOptions, Outcome>> failed;  // the first few
  std::vector<ShrunkFailure> shrunk;  // empty, or one per entry of `failed` (shrink_failures)
  std::string strategy_report;  // of the last run (PCT prints its bound)
  // Sum over runs of RunResult::window_hits.
  std::array<std::array<uint64_t, kRaceWindows>, kRaceWindows> window_hits{};
  // Runs in which each pair of operations was in flight at once (op_coverage.hpp).
  ActivityPairCounts activity_pairs{};
  // The knob classes its runs drew (sim/knobs.hpp).
  std::set<std::string> knobs;
};

// A failure the harness itself gave (isolated mode): the run's process
// died ("crash") or ran out of wall clock ("timeout"); the outcome has no
// events, only the verdict, the child's stderr summary and the seed.
bool is_process_verdict(const Outcome& out);
// failure_report for any failure of the explorer (process verdicts included).
std::string explore_failure_report(const ExploreOptions& opt, const RunOptions& ro, const Outcome& out);

struct ExploreReport {
  std::vector<ScenarioSummary> scenarios;
  uint64_t failures() const;
};

// `progress(scenario, done, total, failures)` is called now and then.
ExploreReport explore(const ExploreOptions& opt,
                      const std::function<void(const std::string&, uint64_t, uint64_t, uint64_t)>& progress);

std::string summary_table(const ExploreReport& r);
// Per race window: how often another thread was inside a window at the same
// time, over all scenarios, and which windows were never hit.
std::string window_table(const ExploreReport& r);
// Who wrote a report (every JSON report carries it, with its schema).
struct ReportOrigin {
  std::string tool;     // "wqcheck"
  std::string version;  // the library's, LAZYWQ_VERSION_STRING
  std::string commit;   // the build's commit ("unknown" outside git)
};
// The explore report as JSON (schema_version 2): 64-bit seeds and trace
// hashes are strings (jq and JavaScript round numbers past 2^53).
std::string report_json(const ExploreOptions& opt, const ExploreReport& r, const ReportOrigin& origin);
// Over all scenarios: the pairwise operation table, and the possible pairs
// that never overlapped.
ActivityPairCounts total_activity_pairs(const ExploreReport& r);
// Over all scenarios: the knob classes drawn.
std::set<std::string> total_knobs(const ExploreReport& r);

}  // namespace lazywq::sim
