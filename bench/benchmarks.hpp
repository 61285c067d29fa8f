// The benchmarks: what each measures, their sizes, and their registration
// with Google Benchmark.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "pools.hpp"

namespace lazywq_bench {

// Sizes and knobs of one run. The defaults are the full suite's; --quick
// (the ctest smoke) shrinks them so everything runs in seconds.
struct BenchOptions {
  int threads = 2;                               // pool threads: CPUs this process may use
  int64_t burst_tasks = 1'000'000;               // tasks per burst round
  int64_t roundtrip_samples = 20'000;            // hot round trips
  double trickle_seconds = 3.0;                  // trickle duration (one task per period)
  int64_t trickle_period_us = 1000;              // one task per millisecond
  int64_t trickle_warmup_ticks = 20;             // not counted: lazy creates its worker here
  double idle_seconds = 1.0;                     // idle CPU window
  std::chrono::milliseconds idle_timeout{250};   // idle exit of lazywq lazy and GLib
  double timeline_after_burst_seconds = 1.5;     // thread timeline: observed after the burst
  int64_t timeline_burst_tasks = 100'000;
  int timeline_period_ms = 5;                    // thread count sampling period
  // Where lazywq producers queue (the burst also runs with `spread` as
  // extra rows). queue_work, the caller's CPU, is the kernel's default.
  Placement placement = Placement::caller_cpu;
  std::string raw_dir;                           // samples and timelines go here ('' = none)
  std::string raw_tag;                           // appended to raw file names (repeated runs)

  void make_quick();
};

// One registered benchmark: metric and pool are the two parts of its name
// ("metric/pool", then Google Benchmark's own suffixes).
struct BenchEntry {
  std::string metric;
  std::string pool;
};

// The pools, in table order: lazywq kinds first, then the peers.
struct PoolInfo {
  std::string id;            // as in benchmark names
  std::string display;       // as in tables and plots
  bool is_lazywq = false;
  bool process_wide = false;  // keeps process-global state (TBB's market, GLib's shared threads)
};
const std::vector<PoolInfo>& pool_infos();

// Registers every benchmark with Google Benchmark; returns them in order.
std::vector<BenchEntry> register_benchmarks(const BenchOptions& options);

// File name of a benchmark's raw output (samples, timeline) in raw_dir.
std::string raw_file_name(const std::string& metric, const std::string& pool, const std::string& tag);

}  // namespace lazywq_bench
