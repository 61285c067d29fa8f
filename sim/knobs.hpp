// Every knob a user can set, and where the harness draws it (issue #13:
// the engine was tried in configurations no scenario drew, and hung).
// Each knob has classes of values that behave differently (0, tiny,
// normal, huge...); a run records the classes it drew ("knob=class" in
// ScenarioContext::knobs), the explorer unions them, and a test fails when
// a class is drawn nowhere. docs/KNOBS.md is this table for people.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "lazywq/types.hpp"

namespace lazywq::sim {

struct KnobSpec {
  std::string knob;                  // "EngineConfig.idle_timeout", "WqOptions.max_active", "delay"...
  std::vector<std::string> classes;  // every one must be drawn somewhere
  std::string where;                 // the scenarios (and other checkers) that draw it
};
const std::vector<KnobSpec>& knob_table();

// The classes of a value, as the table names them.
std::string duration_class(Duration d);  // "0", "tiny" (< 10 us), "normal", "huge" (>= 1 h)
std::string max_active_class(int max_active);

// "knob=class" pairs of the table that `drawn` does not contain.
std::vector<std::string> knobs_never_drawn(const std::set<std::string>& drawn);

}  // namespace lazywq::sim
