// Which run `wqcheck replay` and `wqcheck shrink` take: a scenario, seed
// and strategy (or an explicit --schedule), a fuzz input, or a
// counterexample file; the same options on both subcommands.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "lazywq/types.hpp"
#include "sim/counterexample.hpp"
#include "sim/runner.hpp"

namespace lazywq::tools {

// A planted bug by name; in a build without them, any but "none" is
// std::invalid_argument (exit 2) naming the preset that has them.
PlantedBug parse_bug(const std::string& name);

// `--max-steps N` (N >= 1, the default shown) on any subcommand that runs
// the simulator: explore, replay, shrink, run-program.
CLI::Option* add_max_steps_option(CLI::App* sub, uint64_t& max_steps);
// `--horizon DURATION` on the same subcommands: the virtual time after
// which a run that has not ended hangs (sim::RunOptions::horizon_ns).
// Stored as text; horizon_ns reads it (std::invalid_argument if bad).
CLI::Option* add_horizon_option(CLI::App* sub, std::string& horizon);
int64_t horizon_ns(const std::string& horizon);

struct RunSelection {
  sim::RunOptions ro;
  std::vector<std::string> params;
  std::string seed = "1", bug = "none", schedule, fuzz_input, file, horizon;

  // Adds the options to `sub` (`verb`: "replay" or "shrink", for the help).
  void add_to(CLI::App* sub, const std::string& verb);
  // The run named; `source` says where it came from (empty: the options);
  // `ce`, if given, receives the counterexample file read. Throws
  // std::invalid_argument for contradicting or bad options.
  sim::RunOptions resolve(CLI::App* sub, std::string& source, sim::Counterexample* ce);
};

}  // namespace lazywq::tools
