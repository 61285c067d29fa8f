// The explorer's failures, shrunk (issue #16): each failure it reports in
// full, or every failure it keeps when they are saved, becomes the fewest
// decisions that break the same rule (sim/shrink.hpp), and with a
// directory a counterexample file (sim/counterexample.hpp) that
// `wqcheck replay --file` runs and the regression corpus keeps.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "sim/explorer.hpp"

namespace lazywq::sim {

struct ShrinkFailuresOptions {
  double seconds_each = 5;  // shrink budget per failure
  // Shrink the first `count` failures of the report (in its order: those
  // printed in full); 0: every kept failure.
  size_t count = 3;
  std::string save_dir;     // write each shrunk failure here ("": nowhere)
  std::string tool, version, commit;  // who wrote the files
};

// Fills each summary's `shrunk`. A process verdict (crash, timeout) is not
// shrunk: the shrinker replays the original run in its own process. A
// directory that cannot be written is std::invalid_argument.
// `progress(done, total)` after each failure.
void shrink_failures(ExploreReport& r, const ShrinkFailuresOptions& opt,
                     const std::function<void(size_t, size_t)>& progress = {});

// The lines printed under a failure's report: the shrunk schedule, its
// size before and after, and how to replay it.
std::string shrunk_failure_lines(const ShrunkFailure& s);

// File name of a failure in a counterexample directory:
// SCENARIO-seedSEED-RULE[-PLANTED_BUG].json.
std::string counterexample_file_name(const RunOptions& r, const std::string& rule);

}  // namespace lazywq::sim
