// wqcheck: explore the engine's interleavings on the deterministic
// simulator, and replay any execution from its seed.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "lazywq/version.hpp"
#include "sim/counterexample.hpp"
#include "sim/explore_shrink.hpp"
#include "sim/explorer.hpp"
#include "sim/fuzz_input.hpp"
#include "sim/isolate.hpp"
#include "sim/program.hpp"
#include "sim/runner.hpp"
#include "sim/trace.hpp"
#include "tools/build_info.hpp"
#include "tools/duration.hpp"
#include "tools/junit_report.hpp"
#include "tools/run_selection.hpp"
#include "tools/wqcheck_shrink.hpp"

using namespace lazywq;
using namespace lazywq::sim;
using lazywq::tools::add_max_steps_option;
using lazywq::tools::parse_bug;
using lazywq::tools::RunSelection;

namespace {

// The explorer's budget in seconds (tools/duration.hpp: the one duration
// syntax of every tool).
// --json FILE or '-' for a subcommand's report: '-' makes stdout the JSON
// alone from here on (the text goes to stderr); a file is checked before
// the run.
class JsonSink {
 public:
  explicit JsonSink(const std::string& path) {
    try {
      out_ = lazywq::tools::open_json_output(path);
    } catch (const std::runtime_error& e) {
      throw std::invalid_argument(e.what());  // bad input: exit 2
    }
  }
  ~JsonSink() {
    if (out_ && out_ != stdout) std::fclose(out_);
  }
  JsonSink(const JsonSink&) = delete;
  JsonSink& operator=(const JsonSink&) = delete;
  explicit operator bool() const { return out_ != nullptr; }
  void write(const nlohmann::json& j) {
    std::fprintf(out_, "%s\n", j.dump(2).c_str());
    std::fflush(out_);
  }

 private:
  FILE* out_ = nullptr;
};

// The header of every report (the explorer's too): schema, tool, version,
// commit. 64-bit values go as strings (jq rounds numbers past 2^53).
nlohmann::json report_header(const std::string& tool) {
  return {{"schema_version", 2},
          {"tool", tool},
          {"lazywq_version", lazywq::tools::lazywq_version()},
          {"commit", lazywq::tools::build_commit()}};
}

std::string hex64(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

double parse_budget(const std::string& text) {
  return std::chrono::duration<double>(lazywq::tools::parse_duration(text, "--budget")).count();
}

// "A..B", "A+N" (N seeds from A) or "A" (just A). A may be a commit hash.
void parse_seed_range(const std::string& text, ExploreOptions& o) {
  size_t dots = text.find("..");
  size_t plus = text.find('+');
  if (dots != std::string::npos) {
    o.seed_first_text = text.substr(0, dots);
    o.seed_first = parse_seed(o.seed_first_text);
    o.seed_last = parse_seed(text.substr(dots + 2));
  } else if (plus != std::string::npos) {
    o.seed_first_text = text.substr(0, plus);
    o.seed_first = parse_seed(o.seed_first_text);
    uint64_t n = parse_seed(text.substr(plus + 1));
    if (n == 0) throw std::invalid_argument("seed range '" + text + "' has no seeds");
    o.seed_last = o.seed_first + n - 1;
    if (o.seed_last < o.seed_first) throw std::invalid_argument("seed range '" + text + "' overflows 64 bits");
  } else {
    o.seed_first_text = text;
    o.seed_first = o.seed_last = parse_seed(text);
  }
  if (o.seed_last < o.seed_first) throw std::invalid_argument("seed range '" + text + "' is empty (B < A)");
  if (o.seed_first_text.size() != 40) o.seed_first_text.clear();
}

void parse_shard(const std::string& text, ExploreOptions& o) {
  size_t slash = text.find('/');
  auto bad = [&] { return std::invalid_argument("shard '" + text + "' must look like i/n with 0 <= i < n"); };
  if (slash == std::string::npos) throw bad();
  try {
    o.shard_index = std::stoi(text.substr(0, slash));
    o.shard_count = std::stoi(text.substr(slash + 1));
  } catch (const std::exception&) {
    throw bad();
  }
  if (o.shard_count < 1 || o.shard_index < 0 || o.shard_index >= o.shard_count) throw bad();
}



int cmd_list() {
  std::printf("scenarios (wqcheck explore --scenario NAME, --param key=value overrides a knob):\n");
  for (auto& s : all_scenarios()) std::printf("  %-20s %s\n  %-20s knobs: %s\n", s.name.c_str(), s.summary.c_str(), "", s.params.c_str());
  std::printf("\nstrategies (--strategy):\n"
              "  random        uniform choice at every scheduling point\n"
              "  pct:D[:K]     PCT with depth D (K = expected steps, default 2000)\n"
              "  preempt:B[:K] run the current thread, preempt at most B times\n"
              "  bytes         choices read from a byte buffer (libFuzzer)\n"
              "  schedule      explicit decisions (replay/shrink --schedule 'T@N>U ...': when thread T reaches its\n"
              "                step N, run thread U; the current thread goes on everywhere else)\n");
  std::printf("\nplanted bugs (--planted NAME, in a build with -DLAZYWQ_PLANTED_BUGS=ON):\n");
  for (auto b : all_planted_bugs()) std::printf("  %s\n", std::string(to_string(b)).c_str());
#if defined(LAZYWQ_ENABLE_PLANTED_BUGS)
  std::printf("  (this build has them)\n");
#else
  std::printf("  (this build does not have them)\n");
#endif
  return 0;
}

// --expect and --stop-on take a rule the harness can report: C1..C19 (lazywq::kContractRules), "race" (a data
// race the simulator saw), "crash" or "timeout".
// An unsigned count: CLI11 would wrap "-1" to 2^64-1 silently.
const CLI::Validator kCount(
    [](std::string& s) { return !s.empty() && s[0] == '-' ? "must be a count, 0 or more (got " + s + ")" : std::string(); },
    "COUNT");

// An output file is checked before the work, not after it: a long
// exploration must not end in "cannot write". (Opened for appending: an
// existing file is left as it is until the report replaces it.)
void check_writable(const std::string& path, const char* option) {
  if (path.empty() || path == "-") return;
  std::ofstream probe(path, std::ios::app);
  if (!probe) throw std::invalid_argument(std::string(option) + " " + path + ": cannot write there (" + std::strerror(errno) + ")");
}

void check_rule_name(const std::string& rule, const std::string& option = "--expect") {
  for (int i = 1; i <= lazywq::kContractRules; ++i)
    if (rule == "C" + std::to_string(i)) return;
  if (rule == "race" || rule == "crash" || rule == "timeout") return;
  throw std::invalid_argument(option + " " + rule + ": not a rule the harness reports (C1..C" + std::to_string(lazywq::kContractRules) + ", race, crash, timeout; docs/CONTRACT.md)");
}

// The run stopped at the step budget while threads could still run, and
// nothing but the stall itself was found: with a budget the user chose,
// that is the harness's limit, not an engine failure by itself.
bool budget_ran_out(const Outcome& o) {
  if (o.run.status != RunStatus::step_limit) return false;
  for (auto& v : o.violations)
    if (v.rule != "C15") return false;
  return true;
}
constexpr int kExitInconclusive = 4;
void print_inconclusive(uint64_t max_steps) {
  std::printf("\nINCONCLUSIVE: the step budget of %llu scheduling points ran out while threads could still run.\n"
              "This is a limit of the harness, not an engine failure by itself: rerun with a larger --max-steps "
              "(exit %d).\n",
              static_cast<unsigned long long>(max_steps), kExitInconclusive);
}

// run-program: an operation program (sim/program.hpp) through the same
// executor as the rapidcheck properties, twice (determinism check).
int cmd_run_program(const std::string& path, const std::string& seed, ProgramOptions po, bool no_trace) {
  const std::string text = read_text_file(path, "program file");
  Program p;
  try {
    p = parse_program(text);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(path + ":" + std::string(e.what()).substr(5));  // "line N: ..." -> "path:N: ..."
  }
  po.path = path;
  if (!seed.empty()) {
    po.override_seed = true;
    po.seed = parse_seed(seed);
  }
  ProgramOutcome first = run_program(p, po);
  ProgramOutcome second = run_program(p, po);
  std::printf("run-program: %s, %zu operation(s), %d caller(s), seed %llu, strategy %s%s\n", path.c_str(), p.ops.size(),
              p.callers, static_cast<unsigned long long>(po.override_seed ? po.seed : p.seed),
              (po.strategy.empty() ? p.strategy : po.strategy).c_str(),
              po.bug != PlantedBug::none ? (", planted bug " + std::string(to_string(po.bug))).c_str() : "");
  std::printf("run: %s, %llu steps, %lld us virtual, %u threads, %zu events\n", to_string(first.run.status),
              static_cast<unsigned long long>(first.run.steps), static_cast<long long>(first.run.virtual_ns / 1000),
              first.run.threads, first.events.size());
  const bool same = first.trace_hash == second.trace_hash && first.rule == second.rule;
  std::printf("determinism: trace hash %016llx, second run %016llx: %s\n",
              static_cast<unsigned long long>(first.trace_hash), static_cast<unsigned long long>(second.trace_hash),
              same ? "identical" : "DIFFERENT (a nondeterminism bug in the simulator or the executor)");
  std::printf("\noperations as executed:\n");
  for (auto& l : first.log) std::printf("  %s\n", l.c_str());
  if (!no_trace) std::printf("\n%s", format_trace(first.events).c_str());
  if (budget_ran_out(first)) {
    print_inconclusive(po.max_steps);
    return same ? kExitInconclusive : 3;
  }
  if (first.failed) {
    std::printf("\n%s", program_failure_report(p, po, first).c_str());
  } else {
    std::printf("\nPASS: no rule broken (model and oracle)\n");
  }
  if (!same) return 3;
  return first.failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "wqcheck: runs the lazywq engine on a deterministic simulator, explores interleavings over ranges of seeds, "
      "and replays any execution from its seed.\n"
      "Every failure prints the broken contract rule (docs/CONTRACT.md), the smallest trace that shows it, and the "
      "command that replays it."};
  app.set_version_flag("--version", lazywq::tools::version_line("wqcheck"));
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  wqcheck list\n"
      "  wqcheck explore --scenario idle_exit --seeds 1..5000 --strategy pct:3 --budget 60s\n"
      "  wqcheck explore --seeds $(git rev-parse HEAD)+2000 --shard 0/4 --json out.json\n"
      "  wqcheck replay --scenario migration --seed 42 --trace-out trace.json   (open in ui.perfetto.dev)\n"
      "  wqcheck shrink --scenario idle_exit --seed 7 --planted idle_exit_strands_work --out c8.json\n"
      "Exit codes: 0 no failure, 1 a failure was found (or, with --expect, not found), 2 bad usage or input, "
      "3 a replay was not deterministic, 4 inconclusive (a --max-steps budget you set ran out, or a --horizon shorter than the default was reached: the harness's limit).");

  auto* list = app.add_subcommand("list", "List scenarios, strategies and planted bugs");

  ExploreOptions eo;
  std::vector<std::string> e_params;
  std::string e_seeds = "1..1000", e_budget, e_shard = "0/1", e_json, e_bug = "none", e_expect;
  auto* ex = app.add_subcommand("explore", "Run scenarios over a range of seeds; exit 1 on any failure");
  ex->add_option("--scenario", eo.scenarios, "Scenario name (repeat or comma-separate; default: all)")->delimiter(',');
  ex->add_option("--seeds", e_seeds, "Seeds: A..B, A+N (N seeds from A) or A; A may be a 40-hex commit hash")
      ->capture_default_str();
  ex->add_option("--strategy", eo.strategy, "random | pct:D[:K] | preempt:B[:K] | bytes")->capture_default_str();
  ex->add_option("--budget", e_budget, "Wall-clock budget over all scenarios, e.g. 60s, 2m (default: none)");
  ex->add_option("--shard", e_shard, "Run shard i of n (seeds with (seed-A) % n == i)")->capture_default_str();
  ex->add_option("--param", e_params, "Scenario knob key=value (repeatable)");
  ex->add_option("--planted", e_bug, "Switch on a planted bug (planted build only)");
  ex->add_option("--json", e_json, "Write the report as JSON to this file ('-' for stdout)");
  std::string e_junit;
  lazywq::tools::JunitOptions e_junit_opt;
  ex->add_option("--junit", e_junit, "Write a JUnit XML report to this file: a testcase per scenario and per failure kept");
  ex->add_option("--junit-suite", e_junit_opt.suite, "The JUnit testsuite's name, e.g. 'explorer (release)'")
      ->capture_default_str();
  ex->add_option("--junit-traces", e_junit_opt.trace_prefix,
                 "Name PREFIX<scenario>.trace.json as the trace of each scenario's first failure (where the gate puts it)");
  add_max_steps_option(ex, eo.max_steps);
  std::string e_horizon;
  lazywq::tools::add_horizon_option(ex, e_horizon);
  ex->add_option("--stop-after", eo.stop_after_failures,
                 "Move on to the next scenario after this many failures (0: never; a failed run keeps its "
                 "fibers' stacks mapped)")
      ->capture_default_str()
      ->check(kCount);
  ex->add_option("--expect", e_expect,
                 "Invert the verdict: succeed only if a failure breaking this rule (e.g. C8) is found and its replay "
                 "reproduces it bit for bit (for planted-bug CI)");
  ex->add_option("--keep-failures", eo.max_failures_per_scenario,
                 "Failures kept with their report per scenario (every one is counted; the first 3 are printed in "
                 "full, the rest one line each, all of them in --json)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  bool e_stop_on_first = false;
  ex->add_flag("--stop-on-first", e_stop_on_first,
               "Stop at the first failure: the rest of its scenario and the scenarios after it are not run");
  std::vector<std::string> e_stop_on;
  ex->add_option("--stop-on", e_stop_on,
                 "Stop at the first failure breaking one of these rules (comma-separated, e.g. C5,C9); other "
                 "failures are counted and kept, and the search goes on")
      ->delimiter(',');
  bool e_quiet = false;
  ex->add_flag("--quiet", e_quiet, "No progress bar");
  std::string e_shrink = "5s", e_save_failures;
  ex->add_option("--shrink", e_shrink,
                 "Shrink budget per failure (wqcheck shrink): the failures printed in full, or every kept one with "
                 "--save-failures; 0s: none")
      ->capture_default_str();
  ex->add_option("--save-failures", e_save_failures,
                 "Write each kept failure, shrunk, as a counterexample file in this directory (wqcheck replay --file)");
  bool e_in_process = false;
  ex->add_flag("--in-process", e_in_process,
               "Run every seed in this process (debugging; a crash or a spin in the engine then takes the explorer "
               "down with no report). Default: batches of runs in child processes, crashes and timeouts reported");
  ex->add_option("--batch", eo.batch, "Runs per child process")->capture_default_str()->check(CLI::PositiveNumber);
  ex->add_option("--run-timeout", eo.run_timeout_seconds,
                 "Wall-clock seconds one run may take before it is killed and reported as rule 'timeout' (0: none; "
                 "not the simulator's step limit, which counts scheduling points)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  ex->add_option("--stop-after-timeouts", eo.stop_after_timeouts,
                 "Move on to the next scenario after this many timeouts (0: never; each costs --run-timeout)")
      ->capture_default_str()
      ->check(kCount);

  RunOptions ro;
  std::string r_trace_out, r_events_out, r_expect;
  bool r_no_trace = false;
  auto* rp = app.add_subcommand("replay", "Run one execution twice (determinism check) and print its trace");
  RunSelection r_sel;
  r_sel.add_to(rp, "replay");
  rp->add_option("--expect", r_expect,
                 "Exit 0 only if the run breaks this rule (C1..C19, race, crash), or breaks none with 'none'; else 1 "
                 "(the regression corpus: tests/corpus)");
  rp->add_option("--trace-out", r_trace_out, "Write a Chrome trace-event JSON timeline (Perfetto UI) to this file");
  rp->add_option("--events-out", r_events_out, "Write the text event trace to this file");
  std::string r_json;
  rp->add_option("--json", r_json,
                 "Write the replay's verdict as JSON to this file ('-' for stdout: the JSON alone, the text to stderr)");
  rp->add_flag("--no-trace", r_no_trace, "Do not print the full event trace");

  auto* sh = app.add_subcommand("shrink",
                                "Shrink a failing run to the fewest decisions that break the same rule; write a counterexample file");
  RunSelection s_sel;
  s_sel.add_to(sh, "shrink");
  lazywq::tools::ShrinkCommand s_cmd;
  std::string s_budget = "10s";
  sh->add_option("--budget", s_budget, "Wall-clock budget of the shrink, e.g. 10s, 1m (0s: none)")->capture_default_str();
  sh->add_option("--max-runs", s_cmd.shrink.max_runs, "Executions at most (0: no bound; a bound that is the same on every machine)")
      ->capture_default_str();
  sh->add_option("--out", s_cmd.out, "Counterexample file (default: counterexample-SCENARIO-SEED-RULE.json)");
  sh->add_option("--trace-out", s_cmd.trace_out, "Write the shrunk run's timeline (Perfetto UI) to this file");
  sh->add_option("--json", s_cmd.json, "Write the result as JSON to this file ('-' for stdout: the JSON alone, the text to stderr)");
  sh->add_flag("--quiet", s_cmd.quiet, "No progress line");
  bool s_in_process = false;
  sh->add_flag("--in-process", s_in_process,
               "Run the candidates in this process (faster; a crash takes the shrinker down, and thousands of "
               "failing runs can exhaust the memory maps)");
  sh->footer("Examples:\n"
             "  wqcheck shrink --scenario idle_exit --seed 7 --planted idle_exit_strands_work --out c8.json\n"
             "  wqcheck shrink --fuzz-input crash-1234 --budget 30s\n"
             "  wqcheck replay --file c8.json --trace-out c8.trace.json\n"
             "Exit codes: 0 shrunk (the same rule, replayed bit for bit), 1 the run breaks no rule, 2 bad usage or input "
             "(a run that kills its process: replay it under a debugger), 3 the shrunk schedule did not replay "
             "identically, 4 inconclusive (a --max-steps budget you set ran out).");

  auto* et = app.add_subcommand("export-test",
                                "Write a GoogleTest case that replays a counterexample file's schedule (a permanent regression test)");
  std::string et_file, et_out, et_suite = "Regression";
  et->add_option("file", et_file, "Counterexample file (wqcheck shrink, explore --save-failures)")->required();
  et->add_option("--out", et_out, "The .cpp to write (default: stdout)");
  et->add_option("--suite", et_suite, "The GoogleTest suite name")->capture_default_str();
  et->footer("Example:\n  wqcheck export-test c8.json --out tests/sim/test_regression_c8.cpp\n"
             "The test links lazywq_sim and GTest (as tests/sim's tests do).");

  std::string rpg_file, rpg_seed, rpg_bug = "none";
  ProgramOptions rpg;
  bool rpg_no_trace = false;
  auto* rpgc = app.add_subcommand("run-program", "Run an operation program file (property/, sim/program.hpp) twice, "
                                                 "check it with the reference model and the oracle");
  rpgc->add_option("file", rpg_file, "Program file (text format of sim/program.hpp)")->required();
  rpgc->add_option("--seed", rpg_seed, "Override the program's scheduler seed");
  rpgc->add_option("--strategy", rpg.strategy, "Override the program's strategy: random | pct:D[:K] | preempt:B[:K]");
  rpgc->add_option("--planted", rpg_bug, "Switch on a planted bug (planted build only)");
  add_max_steps_option(rpgc, rpg.max_steps);
  rpgc->add_flag("--no-trace", rpg_no_trace, "Do not print the full event trace");
  double rpg_run_timeout = -1;
  rpgc->add_option("--run-timeout", rpg_run_timeout,
                   "Wall-clock seconds the program may run before it is stopped and reported as a spin in the engine "
                   "(0: none; default: LAZYWQ_RUN_TIMEOUT or 60)")
      ->check(CLI::NonNegativeNumber);

  int b_runs = 2000;
  std::vector<std::string> b_scen;
  auto* bn = app.add_subcommand("bench", "Print simulated executions per second for each scenario (one core)");
  bn->add_option("--runs", b_runs, "Executions per scenario")->capture_default_str()->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  bn->add_option("--scenario", b_scen, "Scenario (default: all)")->delimiter(',');
  std::string b_json;
  bn->add_option("--json", b_json,
                 "Write the figures as JSON to this file ('-' for stdout: the JSON alone, the table to stderr)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  try {
    if (*list) return cmd_list();

    if (*ex) {
      parse_seed_range(e_seeds, eo);
      parse_shard(e_shard, eo);
      if (!e_expect.empty()) {
        check_rule_name(e_expect);
        eo.max_failures_per_scenario = 64;  // look past failures of other rules
      }
      if (!e_budget.empty()) eo.budget_seconds = parse_budget(e_budget);
      eo.horizon_ns = lazywq::tools::horizon_ns(e_horizon);
      eo.isolate = !e_in_process;
      for (auto& p : e_params) eo.params.add(p);
      eo.bug = parse_bug(e_bug);
      if (e_stop_on_first && e_stop_on.empty()) {
        eo.stop_on_first = true;
        eo.stop_after_failures = 1;
      }
      if (!e_stop_on.empty()) {
        for (const auto& r : e_stop_on) check_rule_name(r, "--stop-on");
        eo.stop_on_first = true;
        eo.stop_rules = e_stop_on;
      }
      (void)make_strategy(eo.strategy, 0);  // validate before starting
      ShrinkFailuresOptions shrink_opt;
      shrink_opt.seconds_each = std::chrono::duration<double>(lazywq::tools::parse_duration(e_shrink, "--shrink")).count();
      shrink_opt.save_dir = e_save_failures;
      shrink_opt.count = e_save_failures.empty() ? 3 : 0;
      shrink_opt.tool = "wqcheck explore";
      shrink_opt.version = LAZYWQ_VERSION_STRING;
      shrink_opt.commit = lazywq::tools::build_commit();
      if (!e_save_failures.empty()) {
        if (shrink_opt.seconds_each <= 0)
          throw std::invalid_argument("--save-failures writes shrunk failures: give --shrink a budget above 0s");
        // Before the search, not after it: a long exploration must not end in "cannot write".
        std::error_code ec;
        std::filesystem::create_directories(e_save_failures, ec);
        if (ec || !std::filesystem::is_directory(e_save_failures))
          throw std::invalid_argument("--save-failures " + e_save_failures + ": cannot create that directory" +
                                      (ec ? " (" + ec.message() + ")" : ""));
        check_writable(e_save_failures + "/.wqcheck-probe", "--save-failures");
        std::filesystem::remove(e_save_failures + "/.wqcheck-probe", ec);
      }
      if (e_json != "-") check_writable(e_json, "--json");
      check_writable(e_junit, "--junit");
      // With --json -, stdout is the JSON alone: the human report goes to stderr.
      FILE* human = e_json == "-" ? stderr : stdout;
      const bool tty = !e_quiet && isatty(2);
      std::fprintf(human, "explore: strategy %s, seeds %llu..%llu, shard %d/%d%s%s\n", eo.strategy.c_str(),
                  static_cast<unsigned long long>(eo.seed_first), static_cast<unsigned long long>(eo.seed_last),
                  eo.shard_index, eo.shard_count, eo.budget_seconds > 0 ? (", budget " + e_budget).c_str() : "",
                  eo.bug != PlantedBug::none ? (", planted bug " + e_bug).c_str() : "");
      if (eo.isolate)
        std::fprintf(human, "isolated: %llu runs per child process, a run killed after %g s of wall clock (--run-timeout); "
                    "crashes and timeouts are reported with their seeds\n",
                    static_cast<unsigned long long>(eo.batch), eo.run_timeout_seconds);
      else
        std::fprintf(human, "in-process: a crash or a spin in the engine takes the explorer down with it\n");
      std::fflush(human);
      // Progress (a terminal only): the bar follows the seeds, or the
      // budget when one is set and it ends first; runs/s and time left.
      // Wall clock is the explorer's own here, never the simulated world's.
      const auto started = std::chrono::steady_clock::now();
      std::string current;
      auto sc_started = started;
      const size_t n_scenarios = eo.scenarios.empty() ? all_scenarios().size() : eo.scenarios.size();
      size_t sc_index = 0;
      auto report = explore(eo, [&](const std::string& sc, uint64_t done, uint64_t total, uint64_t fails) {
        if (!tty) return;
        const auto now = std::chrono::steady_clock::now();
        if (sc != current) {
          current = sc;
          sc_started = now;
          ++sc_index;
        }
        const double sc_secs = std::chrono::duration<double>(now - sc_started).count();
        const double rate = sc_secs > 0 ? static_cast<double>(done) / sc_secs : 0;
        double left = rate > 0 ? static_cast<double>(total - done) / rate : 0;  // this scenario, by its seeds
        double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 1;
        if (eo.budget_seconds > 0) {
          // Each scenario gets an even share of the budget left.
          const double spent = std::chrono::duration<double>(now - started).count();
          const double share = std::max(eo.budget_seconds - spent, 0.0) / static_cast<double>(n_scenarios - sc_index + 1) + sc_secs;
          if (share > 0 && share - sc_secs < left) {
            left = share - sc_secs;
            frac = std::min(1.0, sc_secs / share);
          }
        }
        const int width = 30;
        const int filled = std::clamp(static_cast<int>(frac * width), 0, width);
        std::fprintf(stderr, "\r%-20s [%s%s] %llu/%llu runs, %llu failed, %.0f runs/s, %.0fs left   ", sc.c_str(),
                     std::string(static_cast<size_t>(filled), '#').c_str(),
                     std::string(static_cast<size_t>(width - filled), '.').c_str(), static_cast<unsigned long long>(done),
                     static_cast<unsigned long long>(total), static_cast<unsigned long long>(fails), rate, left);
        if (done == total) std::fprintf(stderr, "\n");
      });
      if (tty) std::fprintf(stderr, "\n");
      if (shrink_opt.seconds_each > 0 && report.failures() > 0) {
        shrink_failures(report, shrink_opt, [&](size_t done, size_t total) {
          if (tty) std::fprintf(stderr, "\rshrinking failures: %zu/%zu   ", done, total);
        });
        if (tty) std::fprintf(stderr, "\n");
      }
      std::fprintf(human, "\n%s", summary_table(report).c_str());
      std::fprintf(human, "\n%s", window_table(report).c_str());
      std::fprintf(human, "\n%s", activity_pair_table(total_activity_pairs(report)).c_str());
      for (auto& s : report.scenarios)
        if (!s.strategy_report.empty() && eo.strategy.rfind("pct", 0) == 0)
          std::fprintf(human, "%s: %s\n", s.scenario.c_str(), s.strategy_report.c_str());
      // The first failures in full; the others a line each (all in --json).
      constexpr int kFullReports = 3;
      int shown = 0;
      std::string more;
      for (auto& s : report.scenarios)
        for (size_t i = 0; i < s.failed.size(); ++i) {
          const auto& [r, out] = s.failed[i];
          const ShrunkFailure* sh = i < s.shrunk.size() ? &s.shrunk[i] : nullptr;
          if (shown++ < kFullReports) {
            std::fprintf(human, "\n%s", explore_failure_report(eo, r, out).c_str());
            if (sh) std::fprintf(human, "%s", shrunk_failure_lines(*sh).c_str());
          } else {
            more += "  " + out.rule + "  " + replay_command(r) + (sh && !sh->file.empty() ? "  (shrunk: " + sh->file + ")" : "") + "\n";
          }
        }
      if (!more.empty())
        std::fprintf(human, "\n%d more failure(s) kept (--keep-failures), one line each:\n%s", shown - kFullReports,
                     more.c_str());
      if (eo.stop_on_first && std::any_of(report.scenarios.begin(), report.scenarios.end(),
                                          [](const ScenarioSummary& s) { return s.stopped_early; }))
        std::fprintf(human, "\nstopped at the first failure%s\n",
                     eo.stop_rules.empty() ? " (--stop-on-first)" : " breaking a rule of --stop-on");
      if (!e_json.empty()) {
        std::string j = report_json(eo, report, {"wqcheck", LAZYWQ_VERSION_STRING, lazywq::tools::build_commit()});
        if (e_json == "-") {
          std::printf("%s\n", j.c_str());
        } else {
          std::ofstream f(e_json);
          if (!f) throw std::invalid_argument("cannot write " + e_json);
          f << j << "\n";
        }
      }
      if (!e_junit.empty() && !lazywq::tools::write_junit(e_junit, eo, report, e_junit_opt))
        throw std::invalid_argument("cannot write " + e_junit);
      const uint64_t fails = report.failures();
      if (!e_expect.empty()) {
        // Planted-bug CI: the failure must be found, with the rule, and its
        // replay must give the same rule and the same trace hash.
        for (auto& s : report.scenarios)
          for (auto& [r, out] : s.failed) {
            bool has_rule = out.rule == e_expect;
            for (auto& v : out.violations) has_rule = has_rule || v.rule == e_expect;
            if (!has_rule) continue;
            if (is_process_verdict(out)) {  // it killed its process: not replayed in this one
              std::fprintf(human, "\nEXPECTED: %s caught at seed %llu (the run's process verdict; not replayed here)\n",
                          e_expect.c_str(), static_cast<unsigned long long>(r.seed));
              return 0;
            }
            Outcome again = run_scenario(r);
            if (again.failed && again.trace_hash == out.trace_hash) {
              std::fprintf(human, "\nEXPECTED: %s caught at seed %llu and replayed identically (trace hash %016llx)\n",
                          e_expect.c_str(), static_cast<unsigned long long>(r.seed),
                          static_cast<unsigned long long>(out.trace_hash));
              return 0;
            }
            std::fprintf(human, "\nreplay of seed %llu differs: rule %s hash %016llx vs %016llx\n",
                        static_cast<unsigned long long>(r.seed), again.rule.c_str(),
                        static_cast<unsigned long long>(again.trace_hash), static_cast<unsigned long long>(out.trace_hash));
            return 1;
          }
        std::fprintf(human, "\nNOT CAUGHT: no failure breaking %s in %llu failures\n", e_expect.c_str(),
                    static_cast<unsigned long long>(fails));
        return 1;
      }
      std::fprintf(human, "\n%llu failure(s)\n", static_cast<unsigned long long>(fails));
      return fails ? 1 : 0;
    }

    if (*rp) {
      JsonSink json(r_json);  // first: with '-', every line after this goes to stderr
      if (!r_expect.empty() && r_expect != "none") check_rule_name(r_expect);
      std::string source;
      Counterexample file;
      ro = r_sel.resolve(rp, source, &file);
      if (!source.empty()) std::printf("%s\n", source.c_str());
      check_writable(r_events_out, "--events-out");
      check_writable(r_trace_out, "--trace-out");
      Outcome first = run_scenario(ro);
      Outcome second = run_scenario(ro);
      std::printf("replay: scenario %s, seed %llu, strategy %s%s\n", ro.scenario.c_str(),
                  static_cast<unsigned long long>(ro.seed), ro.strategy.c_str(),
                  ro.bug != PlantedBug::none ? (", planted bug " + std::string(to_string(ro.bug))).c_str() : "");
      std::printf("config:");
      for (auto& c : first.config_lines) std::printf(" %s", c.c_str());
      // A run cut by --prefix-steps ends at the harness's limit, not in one of its own.
      const bool cut = ro.prefix_steps != 0 && first.run.status == RunStatus::step_limit;
      std::printf("\nrun: %s, %llu steps, %lld us virtual, %u threads, %zu events\n",
                  cut ? "cut (--prefix-steps)" : to_string(first.run.status),
                  static_cast<unsigned long long>(first.run.steps), static_cast<long long>(first.run.virtual_ns / 1000),
                  first.run.threads, first.events.size());
      if (!first.run.strategy_report.empty()) std::printf("%s\n", first.run.strategy_report.c_str());
      const bool same = first.trace_hash == second.trace_hash && first.rule == second.rule;
      std::printf("determinism: trace hash %016llx, second run %016llx: %s\n",
                  static_cast<unsigned long long>(first.trace_hash), static_cast<unsigned long long>(second.trace_hash),
                  same ? "identical" : "DIFFERENT (a nondeterminism bug in the simulator or a scenario)");
      if (!r_no_trace) std::printf("\n%s", format_trace(first.events).c_str());
      if (!r_events_out.empty()) {
        std::ofstream f(r_events_out);
        if (!f) throw std::invalid_argument("cannot write " + r_events_out);
        f << format_trace(first.events);
      }
      if (!r_trace_out.empty()) {
        std::ofstream f(r_trace_out);
        if (!f) throw std::invalid_argument("cannot write " + r_trace_out);
        f << chrome_trace_json(first.events, "wqcheck " + ro.scenario + " seed " + std::to_string(ro.seed));
        std::printf("timeline written to %s (open it in ui.perfetto.dev or chrome://tracing)\n", r_trace_out.c_str());
      }
      // A budget the user chose (not the explorer's, whose verdict a
      // replay must reproduce) ran out: the harness's limit.
      if (rp->count("--max-steps") && budget_ran_out(first)) {
        print_inconclusive(ro.max_steps);
        return same ? kExitInconclusive : 3;
      }
      // Likewise a horizon the user made shorter than the default: a clean
      // run's workload may wait that long (the default is measured to be
      // far beyond any clean wait, a shorter one is not).
      if (first.run.status == RunStatus::horizon && ro.horizon_ns < lazywq::sim::kDefaultHorizonNs) {
        std::printf("\nINCONCLUSIVE: the run reached the horizon of %lld ns you set (--horizon), below the default "
                    "%lld ms beyond which a wait counts as a hang.\nThis is a limit of the harness, not an engine "
                    "failure by itself: rerun with a larger --horizon, or without it (exit %d).\n",
                    static_cast<long long>(ro.horizon_ns),
                    static_cast<long long>(lazywq::sim::kDefaultHorizonNs / 1'000'000), kExitInconclusive);
        return same ? kExitInconclusive : 3;
      }
      if (!r_sel.file.empty() && file.trace_hash != 0) {
        // A counterexample file says what its run broke: does this build agree?
        if (first.rule == file.rule && first.trace_hash == file.trace_hash)
          std::printf("counterexample: %s as recorded, trace hash identical to the file's\n", file.rule.c_str());
        else
          std::printf("counterexample: the file recorded %s (trace hash %016llx); this build gives %s (%016llx): "
                      "the engine or the scenario changed since it was written\n",
                      file.rule.c_str(), static_cast<unsigned long long>(file.trace_hash),
                      first.failed ? first.rule.c_str() : "no failure", static_cast<unsigned long long>(first.trace_hash));
      }
      if (first.failed) {
        for (size_t i = 1; i < first.violations.size(); ++i)
          std::printf("also %s: %s\n", first.violations[i].rule.c_str(), first.violations[i].message.c_str());
        std::printf("\n%s", (r_sel.fuzz_input.empty() ? failure_report(ro, first)
                                                        : fuzz_failure_report(ro, first, r_sel.fuzz_input)).c_str());
      } else {
        std::printf("\nPASS: no rule broken\n");
      }
      if (json) {
        nlohmann::json j = report_header("wqcheck replay");
        j["scenario"] = ro.scenario;
        j["seed"] = std::to_string(ro.seed);
        j["strategy"] = ro.strategy;
        j["planted"] = ro.bug != PlantedBug::none ? std::string(to_string(ro.bug)) : "";
        j["fuzz_input"] = r_sel.fuzz_input;
        j["counterexample"] = r_sel.file;
        j["config"] = first.config_lines;
        j["status"] = to_string(first.run.status);
        j["steps"] = first.run.steps;
        j["virtual_ns"] = first.run.virtual_ns;
        j["threads"] = first.run.threads;
        j["events"] = first.events.size();
        j["trace_hash"] = hex64(first.trace_hash);
        j["second_trace_hash"] = hex64(second.trace_hash);
        j["deterministic"] = same;
        j["failed"] = first.failed;
        j["rule"] = first.rule;
        j["headline"] = first.headline;
        nlohmann::json vs = nlohmann::json::array();
        for (const auto& v : first.violations) vs.push_back({{"rule", v.rule}, {"message", v.message}});
        j["violations"] = vs;
        j["replay"] = r_sel.fuzz_input.empty() ? replay_command(ro) : fuzz_replay_command(ro, r_sel.fuzz_input);
        json.write(j);
      }
      if (!same) return 3;
      if (!r_expect.empty()) {
        bool met = r_expect == "none" ? !first.failed : false;
        for (const auto& v : first.violations) met = met || v.rule == r_expect;
        met = met || (first.failed && first.rule == r_expect);
        std::printf("\n%s: expected %s, the run %s\n", met ? "EXPECTED" : "NOT AS EXPECTED",
                    r_expect == "none" ? "no failure" : r_expect.c_str(),
                    first.failed ? ("breaks " + first.rule).c_str() : "breaks no rule");
        return met ? 0 : 1;
      }
      return first.failed ? 1 : 0;
    }

    if (*et) {
      if (!et_out.empty() && et_out != "-") check_writable(et_out, "--out");
      return lazywq::tools::cmd_export_test(et_file, et_out, et_suite);
    }

    if (*sh) {
      s_cmd.run = s_sel.resolve(sh, s_cmd.source, nullptr);
      s_cmd.shrink.budget_seconds = parse_budget(s_budget);
      s_cmd.shrink.isolate = !s_in_process;
      if (!s_cmd.json.empty() && s_cmd.json != "-") check_writable(s_cmd.json, "--json");
      if (!s_cmd.out.empty()) check_writable(s_cmd.out, "--out");
      check_writable(s_cmd.trace_out, "--trace-out");
      return lazywq::tools::cmd_shrink(s_cmd);
    }

    if (*rpgc) {
      rpg.bug = parse_bug(rpg_bug);
      // A crash or a spin in the engine: name the program and the command (sim/isolate.hpp).
      std::string cmdline = "wqcheck";
      for (int i = 1; i < argc; ++i) cmdline += std::string(" ") + argv[i];
      const unsigned timeout = rpg_run_timeout >= 0 ? static_cast<unsigned>(std::ceil(rpg_run_timeout)) : run_timeout_from_env();
      const CrashNote note("the program " + rpg_file + "; reproduce: " + cmdline, timeout);
      test_fault("program", 0);  // test hook (LAZYWQ_TEST_FAULT=KIND@program:*)
      return cmd_run_program(rpg_file, rpg_seed, rpg, rpg_no_trace);
    }

    if (*bn) {
      std::vector<std::string> names = b_scen;
      if (names.empty())
        for (auto& s : all_scenarios()) names.push_back(s.name);
      JsonSink json(b_json);
      nlohmann::json rows = nlohmann::json::array();
      fmt::print("{:<20} {:>8} {:>12} {:>12} {:>10}\n", "scenario", "runs", "exec/s", "steps/run", "failed");
      for (auto& n : names) {
        (void)find_scenario(n);
        uint64_t steps = 0, fails = 0;
        auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < b_runs; ++i) {
          RunOptions r;
          r.scenario = n;
          r.seed = static_cast<uint64_t>(i) + 1;
          Outcome o = run_scenario(r);
          steps += o.run.steps;
          fails += o.failed ? 1 : 0;
        }
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        fmt::print("{:<20} {:>8} {:>12.0f} {:>12.0f} {:>10}\n", n, b_runs, b_runs / secs,
                   static_cast<double>(steps) / b_runs, fails);
        std::fflush(stdout);
        rows.push_back({{"scenario", n},
                        {"runs", b_runs},
                        {"seconds", secs},
                        {"exec_per_s", b_runs / secs},
                        {"steps_per_run", static_cast<double>(steps) / b_runs},
                        {"failed", fails}});
      }
      if (json) {
        nlohmann::json j = report_header("wqcheck bench");
        j["scenarios"] = rows;
        json.write(j);
      }
      return 0;
    }
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "wqcheck: %s\n", e.what());
    return 2;
  } catch (const lazywq::Error& e) {
    std::fprintf(stderr, "wqcheck: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {  // an I/O failure, say: reported, never an abort
    std::fprintf(stderr, "wqcheck: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
