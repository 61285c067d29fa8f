// One simulated execution of a scenario, judged by the oracle: the unit the
// explorer repeats over seeds and replay runs once.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "lazywq/types.hpp"
#include "sim/oracle.hpp"
#include "sim/scenario.hpp"
#include "sim/seed.hpp"  // parse_seed
#include "sim/world.hpp"

namespace lazywq::sim {

inline constexpr int64_t kDefaultHorizonNs = 100'000'000;

struct RunOptions {
  std::string scenario;
  uint64_t seed = 1;
  std::string strategy = "random";
  Params params;
  PlantedBug bug = PlantedBug::none;
  std::vector<uint8_t> bytes;  // for the `bytes` strategy
  Schedule schedule;           // for the `schedule` strategy (sim/schedule.hpp)
  bool record_schedule = false;  // keep the run's decisions in Outcome::run.schedule
  bool record_choices = false;   // keep every choice point in Outcome::run.choices
  uint64_t max_steps = 2'000'000;
  // The world's horizon (WorldConfig::max_virtual_ns): a run in which a
  // thread of the workload has waited, untimed, for this much virtual time
  // hangs (RunStatus::horizon). The longest such wait of a clean run is a
  // few ms (measured: explore's JSON, longest_pass.workload_wait_ns);
  // scenarios whose works block where only the stall watchdog helps
  // extend it (World::extend_horizon).
  int64_t horizon_ns = kDefaultHorizonNs;
  // A shrunk counterexample's cut (0: none): the run stops after this many
  // scheduling points, where its rule is already broken. A cut is the
  // harness's, never a hang: no hang rule, and a cut run that broke
  // nothing passes.
  uint64_t prefix_steps = 0;
  // Empty: "wqcheck" front end defaults. Used in the replay command line.
  std::string seed_text;
  // Tests only: the heap's reuse (WorldConfig::reuse_freed_blocks) set
  // rather than drawn from the seed (-1: drawn).
  int heap_reuse = -1;
};

struct Outcome {
  bool failed = false;
  std::string rule;     // the first broken rule ("C8"); "C15" for a hang
  std::string headline; // one line: rule and what broke
  RunResult run;
  std::vector<check::Violation> violations;
  std::vector<Event> events;
  std::vector<std::string> config_lines;  // swarm draws of the scenario
  std::vector<std::string> op_sites;      // operations it may leave out (ScenarioContext::op)
  std::set<std::string> knobs;            // "knob=class" drawn (sim/knobs.hpp)
  uint64_t trace_hash = 0;  // schedule and event stream: equal for equal runs
};

// The verdict on a run: the first broken rule and a one-line headline. A
// hung run whose only finding is a work that never ran is C15 (liveness);
// a hang with no finding is C15 too; an exception is "crash".
struct Verdict {
  bool failed = false;
  std::string rule;
  std::string headline;
};
Verdict judge(const RunResult& run, std::vector<check::Violation>& violations);

// Folds an event stream into `h` (the trace hash compared for determinism).
uint64_t hash_events(const std::vector<Event>& events, uint64_t h);

// Runs one execution. Throws std::invalid_argument for a bad scenario,
// strategy or parameter (before anything runs).
Outcome run_scenario(const RunOptions& opt);

// C4 for the engine's threads, from the world after a run: each started on
// the CPU its name says (wqN/cpuC, wq/poolC[H]: CPU C; wq/poolU[H]: the
// core CPU). Appends a violation per thread that did not.
void check_thread_placement(const World& world, int core_cpu, std::vector<check::Violation>& out);

// The world's swarm faults that every simulated run draws from its seed,
// each from a stream of its own (the other draws stay as they were):
// spurious wake-ups in a third of the runs, a coarse clock in a quarter,
// the engine's safety nets off in three in four (WorldConfig::safety_nets).
// Returns whether the clock is coarse. Used by run_scenario and
// run_program, so the explorer and the properties search alike.
bool draw_clock_and_wakeup_faults(WorldConfig& wc, uint64_t seed);
// Their config lines ("clock=coarse ...", "spurious_wakeups=...", "safety_nets=off ...").
void note_clock_and_wakeup_faults(std::vector<std::string>& lines, const WorldConfig& wc, const World& world,
                                  bool coarse_clock);

// The exact command line that replays this execution.
std::string replay_command(const RunOptions& opt);

// The report of a failed run for a person at 2 a.m.: broken rule, the
// smallest trace that shows it, what each thread waited on, and the replay
// command.
std::string failure_report(const RunOptions& opt, const Outcome& out);

}  // namespace lazywq::sim
