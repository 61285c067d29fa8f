#include "tools/run_selection.hpp"

#include <stdexcept>

#include "sim/fuzz_input.hpp"
#include "tools/duration.hpp"
#include "sim/strategy.hpp"

namespace lazywq::tools {

using namespace lazywq::sim;

CLI::Option* add_max_steps_option(CLI::App* sub, uint64_t& max_steps) {
  return sub->add_option("--max-steps", max_steps, "Scheduling points before a run counts as livelocked")
      ->check(CLI::Range(uint64_t{1}, UINT64_MAX))
      ->capture_default_str();
}

CLI::Option* add_horizon_option(CLI::App* sub, std::string& horizon) {
  return sub->add_option("--horizon", horizon,
                         "A thread of the workload (main or a client, not the engine's) waiting this long, untimed, in "
                         "virtual time ends the run as a hang; the report prints every thread's wait (default " +
                             std::to_string(sim::kDefaultHorizonNs / 1'000'000) +
                             "ms: clean runs wait a few ms, explore --json prints each scenario's longest_pass)");
}

int64_t horizon_ns(const std::string& horizon) {
  if (horizon.empty()) return sim::kDefaultHorizonNs;
  const int64_t ns = parse_duration(horizon, "--horizon").count();
  if (ns <= 0) throw std::invalid_argument("--horizon must be above 0 (a duration, e.g. 1s)");
  return ns;
}

PlantedBug parse_bug(const std::string& name) {
  PlantedBug b = planted_bug_from_string(name);
#if !defined(LAZYWQ_ENABLE_PLANTED_BUGS)
  if (b != PlantedBug::none)
    throw std::invalid_argument("this build has no planted bugs: configure with -DLAZYWQ_PLANTED_BUGS=ON (cmake --preset planted)");
#endif
  return b;
}

void RunSelection::add_to(CLI::App* sub, const std::string& verb) {
  sub->add_option("--scenario", ro.scenario, "Scenario name (required unless --fuzz-input or --file)");
  sub->add_option("--seed", seed, "Seed (decimal, 0x-hex, or a 40-hex commit hash)")->capture_default_str();
  sub->add_option("--strategy", ro.strategy, "random | pct:D[:K] | preempt:B[:K] | bytes")->capture_default_str();
  sub->add_option("--schedule", schedule,
                  "Explicit decisions 'T@N>U ...': when thread T reaches its step N, run thread U (the schedule "
                  "strategy: the current thread goes on at every other choice point; what shrink prints)");
  sub->add_option("--param", params, "Scenario knob key=value (repeatable)");
  sub->add_option("--planted", bug, "Switch on a planted bug (planted build only)");
  add_max_steps_option(sub, ro.max_steps);
  add_horizon_option(sub, horizon);
  sub->add_option("--prefix-steps", ro.prefix_steps,
                  "Cut the run after this many scheduling points (a shrunk counterexample's prefix, where its rule is "
                  "already broken; a cut is never a hang)")
      ->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  sub->add_option("--fuzz-input", fuzz_input,
                  verb + " a fuzz_sim_ops input (crash or corpus file): it sets scenario, seed, knobs and schedule");
  sub->add_option("--file", file, verb + " a counterexample file (wqcheck shrink): it sets scenario, seed, knobs, "
                                  "planted bug and schedule");
}

RunOptions RunSelection::resolve(CLI::App* sub, std::string& source, Counterexample* ce) {
  RunOptions r = ro;
  if (!fuzz_input.empty() && !file.empty()) throw std::invalid_argument("--fuzz-input and --file: give one");
  const std::string given = !fuzz_input.empty() ? "--fuzz-input" : !file.empty() ? "--file" : "";
  if (!given.empty()) {
    for (const char* o : {"--scenario", "--seed", "--strategy", "--schedule", "--param", "--max-steps", "--horizon",
                          "--prefix-steps"})
      if (sub->count(o))
        throw std::invalid_argument(given + " sets scenario, seed, knobs, schedule, step limit and horizon: drop " + o);
  }
  if (!fuzz_input.empty()) {
    r = decode_fuzz_input(read_fuzz_input_file(fuzz_input), parse_bug(bug));
    source = "fuzz input " + fuzz_input + ": " + describe_fuzz_input(r);
    return r;
  }
  if (!file.empty()) {
    Counterexample c = read_counterexample(file);
    if (sub->count("--planted")) {
      // `--planted none` replays the file's schedule on the engine as
      // shipped (the regression corpus: the bug's schedule must pass there).
      const PlantedBug b = parse_bug(bug);
      if (b != PlantedBug::none && b != c.run.bug)
        throw std::invalid_argument("--file " + file + " names planted bug '" +
                                    (c.run.bug == PlantedBug::none ? std::string("none") : std::string(to_string(c.run.bug))) +
                                    "': drop --planted " + bug + " (or give --planted none: the engine without it)");
      if (b == PlantedBug::none && c.run.bug != PlantedBug::none) {
        c.run.bug = PlantedBug::none;
        c.trace_hash = 0;  // another engine than the file's: no hash to compare
      }
    }
    if (c.run.bug != PlantedBug::none) (void)parse_bug(std::string(to_string(c.run.bug)));  // a planted build?
    source = "counterexample " + file + ": " + c.rule + ", " + std::to_string(c.run.schedule.size()) +
             " decision(s), shrunk from: " + c.shrunk_from;
    if (ce) *ce = c;
    return c.run;
  }
  if (r.scenario.empty()) throw std::invalid_argument("give --scenario NAME (or --fuzz-input FILE, or --file FILE)");
  r.horizon_ns = horizon_ns(horizon);
  (void)find_scenario(r.scenario);
  r.seed = parse_seed(seed);
  if (seed.size() == 40) r.seed_text = seed;
  for (auto& p : params) r.params.add(p);
  r.bug = parse_bug(bug);
  if (sub->count("--schedule")) {
    if (sub->count("--strategy")) throw std::invalid_argument("--schedule is the strategy: drop --strategy");
    r.strategy = "schedule";
    r.schedule = schedule_from_text(schedule);
  } else {
    (void)make_strategy(r.strategy, 0);  // validate before running
  }
  return r;
}

}  // namespace lazywq::tools
