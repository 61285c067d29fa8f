// The explorer's report as JUnit XML (pugixml), for CI test reports: one
// testsuite named after the stage (and preset), one testcase per scenario,
// and one per failure kept, with its rule, headline, replay command and,
// for the first failure of a scenario, the Perfetto trace the gate writes.
#pragma once

#include <string>

#include "sim/explorer.hpp"

namespace lazywq::tools {

struct JunitOptions {
  std::string suite = "explorer";  // e.g. "explorer (release)"
  std::string trace_prefix;        // first failure of scenario S: trace_prefix + S + ".trace.json" ("": none)
};

// Writes the file; false if it cannot be written.
bool write_junit(const std::string& path, const sim::ExploreOptions& opt, const sim::ExploreReport& r,
                 const JunitOptions& jo);

}  // namespace lazywq::tools
