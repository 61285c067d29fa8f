// lazywq-bench: lazywq's queue kinds against oneTBB, asio, GLib, Eigen and
// a plain mutex+condition-variable pool, on Google Benchmark.
//
//   lazywq-bench [--benchmark_* flags] [size options]   run benchmarks here
//   lazywq-bench --suite DIR [--quick]                  every benchmark in a
//       fresh process of its own, then DIR/table.md, DIR/results.json and
//       the plots (suite.hpp)
#include <CLI/CLI.hpp>
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "benchmarks.hpp"
#include "suite.hpp"
#include "tools/build_info.hpp"

namespace {

int allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return CPU_COUNT(&set);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lazywq_bench;
  // The suite hands Google Benchmark's flags on to every child process;
  // Initialize() below removes them from argv.
  std::vector<std::string> benchmark_flags;
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]).starts_with("--benchmark_")) benchmark_flags.emplace_back(argv[i]);
  benchmark::Initialize(&argc, argv);

  BenchOptions options;
  options.threads = allowed_cpus();
  SuiteOptions suite;
  bool quick = false;
  int timeout_s = 0;
  CLI::App app{"lazywq-bench: lazywq against oneTBB, asio, GLib, Eigen and a mutex+cv pool"};
  app.set_version_flag("--version", lazywq::tools::version_line("lazywq-bench"));
  app.add_flag("--quick", quick, "tiny sizes: checks that everything runs (the ctest smoke)");
  app.add_option("--threads", options.threads, "threads per pool (default: CPUs this process may use)")
      ->check(CLI::PositiveNumber);
  app.add_option("--burst-tasks", options.burst_tasks, "tasks per burst round")->check(CLI::PositiveNumber);
  app.add_option("--roundtrip-samples", options.roundtrip_samples, "hot round trips")->check(CLI::PositiveNumber);
  app.add_option("--trickle-seconds", options.trickle_seconds, "trickle length")->check(CLI::PositiveNumber);
  app.add_option("--idle-seconds", options.idle_seconds, "idle CPU window")->check(CLI::PositiveNumber);
  int idle_timeout_ms = static_cast<int>(options.idle_timeout.count());
  app.add_option("--idle-timeout-ms", idle_timeout_ms, "idle exit of lazywq lazy workers and GLib threads")
      ->check(CLI::PositiveNumber);
  std::string placement{to_string(options.placement)};
  app.add_option("--placement", placement,
                 "where lazywq queues: caller_cpu (queue_work) or spread (queue_work_on round robin)")
      ->check(CLI::IsMember({"caller_cpu", "spread"}));
  app.add_option("--raw-dir", options.raw_dir, "write samples and timelines here");
  app.add_option("--raw-tag", options.raw_tag, "suffix of the raw file names");
  app.add_option("--timeout", timeout_s, "abort if the run takes longer (seconds; 0 = never)");
  app.add_option("--suite", suite.out_dir, "run the whole suite, one fresh process per benchmark, report into DIR");
  app.add_option("--first-task-runs", suite.first_task_runs, "suite: fresh processes per first-task benchmark")
      ->check(CLI::PositiveNumber);
  app.add_option("--rounds", suite.rounds, "suite: run the whole list this many times; values are medians")
      ->check(CLI::PositiveNumber);
  app.add_option("--gnuplot", suite.gnuplot, "suite: gnuplot executable for the plots ('' = no plots)");
  std::string json_path;
  app.add_option("--json", json_path,
                 "write the results as JSON to this file ('-' for stdout: the JSON alone, the text to stderr); "
                 "with --suite the suite's results.json, else Google Benchmark's JSON report");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (quick) {
    options.make_quick();
    idle_timeout_ms = static_cast<int>(options.idle_timeout.count());
  }
  options.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
  options.placement = placement == "spread" ? Placement::spread : Placement::caller_cpu;
  // A hung pool must not hang CI: SIGALRM's default action ends the process.
  if (timeout_s > 0) alarm(static_cast<unsigned>(timeout_s));

  FILE* json_out = nullptr;
  try {
    json_out = lazywq::tools::open_json_output(json_path);
  } catch (const std::runtime_error& e) {
    std::fprintf(stderr, "lazywq-bench: %s\n", e.what());
    return 2;
  }
  try {
    const std::vector<BenchEntry> entries = register_benchmarks(options);
    if (!suite.out_dir.empty()) {
      suite.quick = quick;
      suite.benchmark_flags = benchmark_flags;
      suite.passthrough_args = {"--threads", std::to_string(options.threads), "--idle-timeout-ms",
                                std::to_string(idle_timeout_ms), "--placement", placement};
      if (quick) suite.passthrough_args.emplace_back("--quick");
      suite.json_out = json_out;
      return run_suite(suite, options, entries);
    }
    benchmark::AddCustomContext("pool_threads", std::to_string(options.threads));
    benchmark::AddCustomContext("lazywq_placement", placement);
    benchmark::AddCustomContext("lazywq_version", lazywq::tools::lazywq_version());
    benchmark::AddCustomContext("commit", lazywq::tools::build_commit());
    if (json_out) {
      // Google Benchmark's JSON report, to the --json stream.
      std::ofstream json_stream("/dev/fd/" + std::to_string(fileno(json_out)));
      benchmark::JSONReporter reporter;
      reporter.SetOutputStream(&json_stream);
      reporter.SetErrorStream(&std::cerr);
      benchmark::RunSpecifiedBenchmarks(&reporter);
    } else {
      benchmark::RunSpecifiedBenchmarks();
    }
    benchmark::Shutdown();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lazywq-bench: %s\n", e.what());
    return 2;
  }
  return 0;
}
