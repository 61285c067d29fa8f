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
//   kind lazy                  per_cpu | lazy | single_thread | ordered | shared
//   ncpus 3                    1..64
//   works 3                    works w0..w(N-1) (every one a DelayedWork), 1..64
//   callers 2                  simulated caller threads c0..c(N-1), 1..16
//   idle_us 20                 EngineConfig::idle_timeout (a DURATION, below)
//   cooldown_us 10             EngineConfig::spawn_cooldown (a DURATION)
//   busy_us 5                  a callback takes 0..busy_us of virtual time (drawn from the seed)
//   seed 42                    scheduler and workload seed (decimal or 0x-hex)
//   strategy random            random | pct:D[:K] | preempt:B[:K]
//   waits w0>w2,w1>w2          shared only, optional: wI's callback calls
//                              flush_work(wJ) (I < J: an acyclic graph,
//                              which must complete, C16)
// and, optional (issue #13: every knob a user can set; absent means the
// value below, which is what a program meant before the key existed):
//   core_cpu 0                 EngineConfig::core_cpu, 0..ncpus-1
//   dependency_check report    EngineConfig::dependency_check: off | report | error
//   stall_us 100000            EngineConfig::stall_timeout (a DURATION; 0: no watchdog)
//   max_workers_per_pool 64    EngineConfig::max_workers_per_pool, 1..1000000
//   faults none                EngineConfig::spawn_faults, in force before the
//                              queue exists: none | always | next:N | nth:N |
//                              pct:P (fail_probability P/100, seeded from the seed)
//   options none               shared only: WqOptions flags, comma-separated:
//                              highpri,unbound,ordered (or none)
//   max_active 0               shared only: WqOptions::max_active (0: the default,
//                              256; ordered: 0 or 1)
//   busy_sleep plain           plain: busy time is invisible to the engine (a
//                              pool thread keeps counting as running); engine:
//                              the callback spends it in Engine::sleep_for
// then the operations:
//   c0 queue_work_on CPU wN
//   c0 queue_delayed_work_on CPU wN DELAY_US
//   c0 mod_delayed_work CPU wN DELAY_US
//   c0 cancel_work wN | cancel_work_sync wN | cancel_delayed_work_sync wN | flush_work wN
//   c0 flush_delayed_work wN
//   c0 flush_workqueue | drain_workqueue | destroy
//   c0 cpu_offline CPU | cpu_online CPU
//   c0 sleep US                advance the caller's virtual time (0..10^9)
//   c0 fail_spawns N           set_spawn_faults: the next N thread creations fail (0: no faults)
//   c0 fail_spawns_nth N       ... the Nth creation from now fails
//   c0 fail_spawns_pct P       ... each creation fails with probability P/100 (seeded)
//   c0 fail_spawns_always      ... every creation fails, for good (C7: never a hang)
// Each fail_spawns* replaces the whole setting, as set_spawn_faults does.
//
// A DURATION (idle_us, cooldown_us, stall_us, DELAY_US) is a whole number of
// microseconds up to 9223372036854775 (INT64_MAX / 1000: near the largest
// nanosecond count), or `max`: Duration::max(). One too large to add to the
// clock means "never" (docs/CONTRACT.md, "Durations"): a delayed work armed
// with it fires only by flush_delayed_work, drain or destroy (or a cancel
// takes it). flush_work waits for an armed queueing (C10), so a program may
// not flush_work, nor wait from a callback (waits) for, a work it arms
// with a delay of 2^62 ns or more (kNeverFiresUs): it would wait forever,
// by contract. validate_program rejects such a program; use
// flush_delayed_work.
//
// The same rule for `waits` with a `max_active` of 2 or more but below
// twice the works (each work holds at most two slots, a run and a
// pending queueing): the contract does not promise that such a wait graph
// completes (C16's known limit: a work behind a max_active whose slot
// holders all wait), so validate_program rejects it. With max_active 1 (or
// `options ordered`) a wait for a work of the queue goes through its one
// slot: Error(deadlock) (C10, C16), which the model expects.
//
// CPUs and delays are not range-checked by the parser: an invalid CPU or a
// negative delay is a legitimate operation whose expected result is an
// error. Work and caller indices must be in range.
//
// Each caller issues its own operations in program order; callers run
// concurrently. After every caller has finished, the executor brings every
// CPU back online, clears the creation faults and destroys the queue (unless
// a caller did), so every accepted queueing must have run or been cancelled.
// If the queue cannot be created (header `faults`), that must be
// Error(spawn_failed) (C7; allowed only when the faults may fail the
// queue's first creations: its core thread, or the shared pools' manager
// and rescuer), and nothing else runs.
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
//   C10  after flush_delayed_work (which fires an armed timer at once,
//        whatever its delay), runs == accepted - cancelled as well;
//   C14  after the caller's own destroy every queue call throws
//        queue_destroyed, a second destroy too; at most one destroy succeeds;
//   C13  hotplug returns whether the CPU changed state (if one caller does
//        all hotplug); offlining the core CPU (core_cpu) is Error(cpu_state);
//   C16  a callback's wait (waits) never throws and no dependency cycle is
//        reported: the program's wait graph is acyclic (works wait only for
//        higher-numbered works, callers hold nothing), and a reported cycle
//        must be one whose waits can all be in force at once; except on a
//        queue with one active slot (max_active 1, ordered), where a wait
//        for a work behind the slot is Error(deadlock) in every mode and may
//        be reported (DependencyCheck::error refuses it the same way);
//        and the stall watchdog is never needed when no callback blocks
//        outside the engine for as long as stall_us (it is checked unless
//        0 < stall_us < 100 ms: then a callback's plain busy time may
//        legitimately trigger it);
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
  // Issue #13 (appended: the older kinds keep their numbers).
  flush_delayed_work,
  fail_spawns_nth,
  fail_spawns_pct,
  fail_spawns_always,
  count
};
inline constexpr int kOpKinds = static_cast<int>(OpKind::count);
const char* to_string(OpKind k);

struct Op {
  OpKind kind = OpKind::queue_work_on;
  int caller = 0;     // c<caller>
  int cpu = 0;        // queue_*, mod_delayed_work, cpu_offline, cpu_online
  int work = 0;       // the work operations: w<work>
  int64_t value = 0;  // delay_us (delayed ops; kUsMax: `max`), us (sleep), N (fail_spawns*), P (fail_spawns_pct)
  bool operator==(const Op&) const = default;
};

// Which fields an operation uses (the others are ignored and written as 0).
bool op_uses_cpu(OpKind k);
bool op_uses_work(OpKind k);
bool op_uses_value(OpKind k);

// Durations in microseconds: up to kUsLargest as numbers; kUsMax (written
// `max`) is Duration::max().
inline constexpr int64_t kUsLargest = INT64_MAX / 1000;
inline constexpr int64_t kUsMax = INT64_MAX;
// A delay of at least this many microseconds (2^62 ns, 146 years) may never
// fire by itself in a program run: see the rule above.
inline constexpr int64_t kNeverFiresUs = (int64_t{1} << 62) / 1000;
// The Duration of a program's microseconds: saturating (kUsMax and any
// count too large for nanoseconds are Duration::max()); negative stays
// negative (an invalid delay).
Duration us_duration(int64_t us);
// "max" or the number.
std::string us_text(int64_t us);

// A SpawnFaults setting as the program writes it: none | always | next:N |
// nth:N | pct:P.
struct FaultSpec {
  enum class Kind : uint8_t { none, always, next, nth, pct };
  Kind kind = Kind::none;
  int64_t n = 0;  // N, or P (0..100) for pct
  bool operator==(const FaultSpec&) const = default;
};
std::string to_string(const FaultSpec& f);
// Throws std::invalid_argument (without a line) on bad text.
FaultSpec parse_fault_spec(const std::string& text);
// The engine's setting; `seed` seeds fail_probability.
SpawnFaults spawn_faults_of(const FaultSpec& f, uint64_t seed);

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
  // The other knobs (issue #13); the defaults are the engine's, which is
  // what every program meant before these keys existed.
  int core_cpu = 0;
  DependencyCheck dependency_check = DependencyCheck::report;
  int64_t stall_us = 100'000;
  int max_workers_per_pool = 64;
  FaultSpec faults;  // EngineConfig::spawn_faults: before the queue exists
  // WqOptions (shared only).
  bool highpri = false;
  bool unbound = false;
  bool ordered = false;
  int max_active = 0;
  bool busy_in_engine = false;  // busy_sleep engine: Engine::sleep_for
  std::vector<Op> ops;
  bool operator==(const Program&) const = default;

  WqOptions options() const { return {.highpri = highpri, .unbound = unbound, .ordered = ordered, .max_active = max_active}; }
  // The queue runs one work at a time (max_active 1, or ordered): a wait of
  // one of its works for another may be Error(deadlock).
  bool one_slot() const { return kind == WqKind::shared && (ordered || max_active == 1); }
};

// The text format above. write_program output parses back to the same
// program; unused fields are normalised to 0 on write.
std::string write_program(const Program& p);
std::string write_op(const Op& op);
std::string waits_text(const Program& p);  // the waits header's value: "w0>w2,w1>w2"
// Throws std::invalid_argument("line N: ...") on bad input.
Program parse_program(const std::string& text);
// Structural checks (ranges of the header, caller and work indices, the
// strategy spec, options only for shared queues) and the two rules about
// waits the contract does not promise to end (a flush_work of a work armed
// with a delay that never fires, waits with a small max_active); throws
// std::invalid_argument. parse_program makes the same checks, naming lines.
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

// The horizon of a program's run (WorldConfig::max_virtual_ns): the
// default plus everything a caller may legitimately wait for (busy time and
// a cooldown per queueing, every delay and sleep, 64 stall timeouts); 0 (no
// horizon) when one of those may never end.
int64_t program_horizon_ns(const Program& p);

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
