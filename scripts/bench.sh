#!/usr/bin/env bash
# The benchmark suite (README, "Benchmarks"): installs what it needs,
# configures and builds the `bench` preset (Release, -O2, no sanitizers),
# runs every benchmark of lazywq-bench in a fresh process, and writes
#   build/bench-report/table.md      the tables: targets, values, ratios
#   build/bench-report/results.json  the same for machines (plus the machine)
#   build/bench-report/plots/        threads over time, latency distributions (SVG, PNG)
# Arguments go to lazywq-bench, e.g. --quick (a smoke at tiny sizes),
# --rounds 1, --first-task-runs 30, --benchmark_min_time=2. LAZYWQ_BENCH_OUT changes
# the report directory. The full suite (5 rounds) takes about 10 minutes;
# run it on a quiet machine (the report shows the load average).
set -euo pipefail

cd "$(dirname "$0")/.."

bash scripts/setup-deps.sh
cmake --preset bench >/dev/null
cmake --build --preset bench --parallel 2
out=${LAZYWQ_BENCH_OUT:-build/bench-report}
exec build/bench/bench/lazywq-bench --suite "$out" "$@"
