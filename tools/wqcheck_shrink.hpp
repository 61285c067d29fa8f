// wqcheck shrink: a failing run to its smallest schedule and a
// counterexample file (sim/shrink.hpp, sim/counterexample.hpp).
#pragma once

#include <string>

#include "sim/runner.hpp"
#include "sim/shrink.hpp"

namespace lazywq::tools {

struct ShrinkCommand {
  sim::RunOptions run;      // the failing run, as a replay command names it
  std::string source;       // how it was given, for the report ("fuzz input F", "counterexample F")
  sim::ShrinkOptions shrink;
  std::string out;          // counterexample file to write ("" : a name from scenario, seed and rule)
  std::string trace_out;    // Perfetto timeline of the shrunk run
  std::string json;         // --json FILE or '-'
  bool quiet = false;       // no progress line
};

// Exit: 0 shrunk and replayed bit for bit, 1 the run does not fail (nothing
// to shrink), 3 the shrunk file does not replay identically.
int cmd_shrink(const ShrinkCommand& c);

}  // namespace lazywq::tools
