// What every tool prints for --version: the library's version and the
// commit it was built from (issue #15), and the same in JSON reports.
#pragma once

#include <cstdio>
#include <string>

namespace lazywq::tools {

// The commit the tools were built from ("unknown" outside a git checkout;
// "-dirty" when tracked files had changes).
const char* build_commit();
// "<tool> (lazywq 0.2.0, commit 1234abcd5678)".
std::string version_line(const std::string& tool);
// The library version, "0.2.0", for JSON reports.
const char* lazywq_version();

// `--json -`: stdout carries the JSON alone. From this call on, whatever the
// tool prints for a person goes to stderr (file descriptor 1 becomes a copy
// of 2); the returned stream is the original stdout, for the JSON. Returns
// stdout itself when the descriptors cannot be duplicated.
FILE* take_stdout_for_json();

// --json PATH: nullptr for an empty PATH, take_stdout_for_json() for "-",
// else the file, opened for writing. Throws std::runtime_error naming PATH
// when it cannot be written (before any run: a report is never lost at the
// end of one).
FILE* open_json_output(const std::string& path);

}  // namespace lazywq::tools
