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
// to shrink), 3 the shrunk file does not replay identically, 4 inconclusive
// (a --max-steps budget the user set ran out: the harness's limit).
int cmd_shrink(const ShrinkCommand& c);

// wqcheck export-test FILE: a GoogleTest case that replays the
// counterexample's schedule on the simulator, named after its rule and
// scenario. A planted bug's file gives two: the schedule breaks nothing on
// the engine as shipped, and (in a planted build) breaks its rule with the
// bug. Written to `out` ("" or "-": stdout).
int cmd_export_test(const std::string& file, const std::string& out, const std::string& suite);

}  // namespace lazywq::tools
