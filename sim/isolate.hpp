// Surviving a broken engine: what the harness needs when the code under
// test corrupts memory, crashes or spins where the simulator cannot see it
// (no scheduling point, so the step limit never fires).
//
// - The explorer runs its seeds in child processes (explorer.cpp); the
//   helpers here describe how a child ended.
// - CrashNote: last words for a process that runs one thing in-process
//   (`wqcheck run-program`, the property executor): on a fatal signal, a
//   sanitizer's death or a wall-clock alarm it prints what was running and
//   how to reproduce it, and may save a file (the program) first.
// - test_fault: a test-only hook, armed by an environment variable, that
//   crashes or spins inside a simulated thread at one chosen seed, so the
//   tests can prove the harness reports it. Never armed unless asked.
#pragma once

#include <cstdint>
#include <string>

namespace lazywq::sim {

// "was killed by signal 11 (SIGSEGV)", "exited with status 1".
std::string describe_wait_status(int status);

// The most telling line of a dead process's stderr: a sanitizer's
// "SUMMARY: ..." line, else "terminate called ..." / an assertion, else the
// last non-empty line; empty if none.
std::string crash_summary_line(const std::string& stderr_text);

// The environment variable that arms the test hook:
//   LAZYWQ_TEST_FAULT=KIND@WHERE:SEED[,KIND@WHERE:SEED...]
// KIND: segv (a null write), abort, throw (an exception escaping a noexcept
// function: std::terminate), spin (a loop with no scheduling point), uaf (a
// heap use after free, for ASan builds), segv-one-decision (a null write in
// any run of the scenario given exactly one explicit decision, in whatever
// process runs it: a shrinker's candidates and probes, never the explorer's
// own runs; see test_fault_in_run). WHERE: a scenario name, `program`
// (wqcheck run-program, the property executor) or `*`; SEED: a number or `*`.
inline constexpr const char* kTestFaultEnv = "LAZYWQ_TEST_FAULT";

// If the hook is armed for (where, seed), performs the fault inside a
// simulated thread of a throwaway World (it does not return for segv,
// abort, throw, spin). Cheap when unarmed: the variable is read once.
void test_fault(const std::string& where, uint64_t seed);
// The hook's segv-one-decision kind, called by run_scenario: a null write
// if armed for (scenario, seed) and the run is given exactly `decisions`
// == 1 explicit decision. So a test can check that the shrinker replays in
// its own process only the runs that did not kill a child.
void test_fault_in_run(const std::string& scenario, uint64_t seed, size_t decisions);
// The hook's setting if armed, else empty (reports say so: the crash may be the hook's).
std::string test_fault_setting();

// While a CrashNote lives, a fatal signal (SEGV, BUS, ILL, FPE, ABRT), a
// sanitizer's death callback or `timeout_seconds` of wall clock (SIGALRM; 0:
// no alarm) prints `message` to stderr and, if `save_path` is set, writes
// `save_content` there first; then the process dies as it would have (the
// previous handler, e.g. the sanitizer's, still runs). Notes do not nest:
// the newest wins until it is destroyed.
//
// `Hooks::signals_only` leaves the sanitizer's death callback alone: a
// libFuzzer binary needs its own there (it writes the crash input). The
// first note of a process decides; a process uses one kind.
class CrashNote {
 public:
  enum class Hooks { signals_and_sanitizer, signals_only };
  CrashNote(std::string message, unsigned timeout_seconds, std::string save_path = {}, std::string save_content = {},
            Hooks hooks = Hooks::signals_and_sanitizer);
  ~CrashNote();
  CrashNote(const CrashNote&) = delete;
  CrashNote& operator=(const CrashNote&) = delete;
  // Writes the note (async-signal-safe; called from the handlers).
  void fire(const char* why_a, const char* why_b) const noexcept;

 private:
  std::string message_, path_, content_, alarm_text_;
  const CrashNote* previous_;
  unsigned timeout_;
  Hooks hooks_;

 public:
  // Whether only the fatal signals report it (the summary hook then does
  // too: UBSan's halt_on_error exits without a signal).
  bool signals_only() const noexcept { return hooks_ == Hooks::signals_only; }
};

// What the sanitizer summary hook does (sim/isolate.cpp): prints the
// summary line ("SUMMARY: <tool>: ...") and fires the current note if it
// is a signals-only one (a note with the sanitizer's death callback is
// fired there, only if the sanitizer really ends the process).
void write_summary_and_fire_note(const char* summary);

// The wall-clock limit of one run for CrashNote users: LAZYWQ_RUN_TIMEOUT
// (seconds, 0 = none) or 60.
unsigned run_timeout_from_env();

}  // namespace lazywq::sim
