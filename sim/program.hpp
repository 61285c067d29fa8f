// Operation programs: a serialisable list of API calls, each issued by one
// of several simulated caller threads, run on the deterministic simulator
// and judged twice: by a reference model of the contract (what a caller can
// know from the results of its own calls) and by the oracle (the event
// stream). The rapidcheck properties (property/) generate and shrink them,
// `wqcheck run-program FILE` replays them, the fuzzers may build them.
//
// Text format, one item per line ('#' starts a comment, blank lines are
// ignored). A header of `key value` lines, then one operation per line:
//
//   kind lazy                  per_cpu | lazy | single_thread | ordered
//   ncpus 3                    1..64
//   works 3                    works w0..w(N-1) (every one a DelayedWork), 1..64
//   callers 2                  simulated caller threads c0..c(N-1), 1..16
//   idle_us 20                 EngineConfig::idle_timeout
//   cooldown_us 10             EngineConfig::spawn_cooldown
//   busy_us 5                  a callback takes 0..busy_us of virtual time (drawn from the seed)
//   seed 42                    scheduler and workload seed (decimal or 0x-hex)
//   strategy random            random | pct:D[:K] | preempt:B[:K]
//   waits w0>w2,w1>w2          shared only, optional: wI's callback calls
//                              flush_work(wJ) (I < J: an acyclic graph,
//                              which must complete, C16)
//   c0 queue_work_on CPU wN
//   c0 queue_delayed_work_on CPU wN DELAY_US
//   c0 mod_delayed_work CPU wN DELAY_US
//   c0 cancel_work wN | cancel_work_sync wN | cancel_delayed_work_sync wN | flush_work wN
//   c0 flush_workqueue | drain_workqueue | destroy
//   c0 cpu_offline CPU | cpu_online CPU
//   c0 sleep US                advance the caller's virtual time
//   c0 fail_spawns N           the next N thread creations fail
//
// CPUs and delays are not range-checked by the parser: an invalid CPU or a
// negative delay is a legitimate operation whose expected result is an
// error. Work and caller indices must be in range.
//
// Each caller issues its own operations in program order; callers run
// concurrently. After every caller has finished, the executor brings every
// CPU back online, clears the creation faults and destroys the queue (unless
// a caller did), so every accepted queueing must have run or been cancelled.
//
// The reference model (checked inside the run, after each call returns):
// for a work only one caller touches, that caller knows when it is
// certainly idle, so
//   C1   queue_* on a work that is certainly not pending returns true;
//   C2   ... and a work is certainly not pending once every queueing that
//        may have been accepted has started its callback (the executor's
//        run counter is bumped inside the callback, PENDING is cleared
//        before it);
//   C12  cancel_* / mod_delayed_work return true only if it may be pending;
//        after cancel_work_sync, runs == accepted - cancelled, and nothing
//        runs until the next queueing;
//   C10  after flush_work, runs == accepted - cancelled; a flush_work of a
//        work with nothing queued or running since the last flush or
//        cancel_work_sync returns false;
//   C11  after flush_workqueue / drain_workqueue by its owner, every work
//        not possibly behind an armed timer (flush) resp. every work (drain)
//        has runs == accepted - cancelled;
//   C14  after the caller's own destroy every queue call throws
//        queue_destroyed, a second destroy too; at most one destroy succeeds;
//   C13  hotplug returns whether the CPU changed state (if one caller does
//        all hotplug); offlining the core is Error(cpu_state);
//   errors: an invalid CPU is Error(invalid_cpu), a negative delay
//        Error(invalid_argument), whoever the caller.
// and for every work, at the end: accepted_min - cancelled <= runs <=
// accepted_max - cancelled (C1), where the bounds differ only for
// mod_delayed_work calls that may have raced a drain or a cancel_work_sync
// of another caller. An error code that does not match names the rule of
// the call (C14 when queue_destroyed is involved).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lazywq/types.hpp"
#include "sim/runner.hpp"

namespace lazywq::sim {

enum class OpKind : uint8_t {
  queue_work_on,
  queue_delayed_work_on,
  mod_delayed_work,
  cancel_work,
  cancel_work_sync,
  cancel_delayed_work_sync,
  flush_work,
  flush_workqueue,
  drain_workqueue,
  cpu_offline,
  cpu_online,
  sleep,
  fail_spawns,
  destroy,
  count
};
inline constexpr int kOpKinds = static_cast<int>(OpKind::count);
const char* to_string(OpKind k);

struct Op {
  OpKind kind = OpKind::queue_work_on;
  int caller = 0;     // c<caller>
  int cpu = 0;        // queue_*, mod_delayed_work, cpu_offline, cpu_online
  int work = 0;       // the work operations: w<work>
  int64_t value = 0;  // delay_us (delayed ops), us (sleep), N (fail_spawns)
  bool operator==(const Op&) const = default;
};

// Which fields an operation uses (the others are ignored and written as 0).
bool op_uses_cpu(OpKind k);
bool op_uses_work(OpKind k);
bool op_uses_value(OpKind k);

struct Program {
  WqKind kind = WqKind::lazy;
  int ncpus = 3;
  int works = 3;
  int callers = 1;
  int64_t idle_us = 20;
  int64_t cooldown_us = 10;
  int64_t busy_us = 0;
  uint64_t seed = 1;
  std::string strategy = "random";
  // (i, j), i < j: the callback of wi flushes wj (shared kind only).
  std::vector<std::pair<int, int>> waits;
  std::vector<Op> ops;
  bool operator==(const Program&) const = default;
};

// The text format above. write_program output parses back to the same
// program; unused fields are normalised to 0 on write.
std::string write_program(const Program& p);
std::string write_op(const Op& op);
std::string waits_text(const Program& p);  // the waits header's value: "w0>w2,w1>w2"
// Throws std::invalid_argument("line N: ...") on bad input.
Program parse_program(const std::string& text);
// Structural checks (ranges of the header, caller and work indices, the
// strategy spec); throws std::invalid_argument.
void validate_program(const Program& p);

struct ProgramOptions {
  PlantedBug bug = PlantedBug::none;
  uint64_t max_steps = 2'000'000;
  // Overrides of the program's own seed / strategy (empty / unset: the program's).
  bool override_seed = false;
  uint64_t seed = 0;
  std::string strategy;
  // Where the program lives, for the replay command ("PROGRAM" if empty).
  std::string path;
};

struct ProgramOutcome : Outcome {
  // One line per executed operation, in execution order, with its result:
  // "t=12us c0 #3 queue_work_on 1 w2 -> true".
  std::vector<std::string> log;
  // How many of the violations come from the reference model (they follow
  // the oracle's).
  size_t model_violations = 0;
};

// Runs the program once. Throws std::invalid_argument for a malformed
// program or strategy (before anything runs).
ProgramOutcome run_program(const Program& p, const ProgramOptions& opt = {});

// "wqcheck run-program PATH [--planted BUG] ..." for this run.
std::string program_replay_command(const ProgramOptions& opt);

// The report of a failed run: broken rule, the events that show it, the
// operations with their results, what each thread waited on, the replay
// command.
std::string program_failure_report(const Program& p, const ProgramOptions& opt, const ProgramOutcome& out,
                                   size_t max_log_lines = 40);

}  // namespace lazywq::sim
