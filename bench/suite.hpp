// The suite: every benchmark in a fresh process of its own (TBB's market
// and GLib's shared threads are process-wide, and no pool should inherit
// another's threads or caches), then the report: DIR/table.md,
// DIR/results.json, and the plots.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "benchmarks.hpp"

namespace lazywq_bench {

struct SuiteOptions {
  std::string out_dir;                        // report directory
  bool quick = false;                         // the ctest smoke: tiny sizes
  int rounds = 5;                             // the whole suite this many times (median and spread)
  int first_task_runs = 15;                   // fresh processes per first-task benchmark, over all rounds
  std::string gnuplot = "gnuplot";            // '' = no plots
  std::vector<std::string> benchmark_flags;   // --benchmark_* flags for the children
  std::vector<std::string> passthrough_args;  // size options for the children
  FILE* json_out = nullptr;                   // --json: results.json here too (stdout for '-')
};

// Returns the process exit status: 0 when every benchmark ran and the
// report was written, 1 otherwise.
int run_suite(const SuiteOptions& suite, const BenchOptions& options, const std::vector<BenchEntry>& entries);

}  // namespace lazywq_bench
