// What every tool prints for --version: the library's version and the
// commit it was built from (issue #15), and the same in JSON reports.
#pragma once

#include <string>

namespace lazywq::tools {

// The commit the tools were built from ("unknown" outside a git checkout;
// "-dirty" when tracked files had changes).
const char* build_commit();
// "<tool> (lazywq 0.2.0, commit 1234abcd5678)".
std::string version_line(const std::string& tool);

}  // namespace lazywq::tools
