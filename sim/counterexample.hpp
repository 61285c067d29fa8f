// A counterexample file: one failing execution, shrunk, in a form a person
// can read and `wqcheck replay --file` runs (issue #16). JSON:
//
//   { "kind": "lazywq counterexample", "schema_version": 1,
//     "rule": "C8", "headline": "C8: ...",
//     "scenario": "idle_exit", "seed": "7", "params": {"ncpus": "3"},
//     "planted": "idle_exit_strands_work", "max_steps": "2000000",
//     "prefix_steps": "204",            <- the run cut where the rule is broken (0: whole)
//     "schedule": "12:1 40:2",          <- sim/schedule.hpp
//     "trace_hash": "…",                <- of the shrunk run: a replay must match it
//     "shrunk_from": "wqcheck replay …", "before": {…}, "after": {…},
//     "tool": …, "lazywq_version": …, "commit": … }
//
// 64-bit values are strings (jq rounds numbers past 2^53).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "sim/runner.hpp"
#include "sim/shrink.hpp"

namespace lazywq::sim {

struct Counterexample {
  RunOptions run;  // strategy "schedule"
  std::string rule;
  std::string headline;
  uint64_t trace_hash = 0;
  std::string shrunk_from;  // the replay command of the run it came from
  RunShape before, after;
  std::string tool, version, commit;  // who wrote it
};

Counterexample counterexample_of(const ShrinkResult& r, const std::string& tool, const std::string& version,
                                 const std::string& commit);
std::string counterexample_to_json(const Counterexample& c);
// A run's shape (before and after) as the file, `shrink --json` and the
// explorer's report write it: one object of six numbers.
nlohmann::json run_shape_json(const RunShape& s);
// Throws std::invalid_argument naming `where` and what is wrong.
Counterexample counterexample_from_json(const std::string& text, const std::string& where);
Counterexample read_counterexample(const std::string& path);

}  // namespace lazywq::sim
