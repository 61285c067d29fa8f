#!/usr/bin/env bash
# The main job: the harness against the engine, with a readable report.
#   1. the thread-economy headline of the 2009 patch (per_cpu vs lazy),
#   2. the simulator's explorer over every scenario in a time budget
#      (default 60 s; WQCHECK_BUDGET=2m to change), with the race-window
#      coverage table; any failure prints its rule, trace and replay command.
# Arguments go to the demo (see `bash scripts/main.sh --help`).
# Exit status: non-zero if the demo's expectations or the exploration fail.
set -euo pipefail

cd "$(dirname "$0")/.."

bash scripts/setup-deps.sh
cmake --preset release
cmake --build --preset release --target lazywq-demo wqcheck --parallel "$(nproc 2>/dev/null || echo 2)"

status=0
echo
echo "=== 1. thread economy: per_cpu vs lazy (lazywq-demo) ==="
build/release/tools/lazywq-demo "$@" || status=1

echo
echo "=== 2. race hunting on the deterministic simulator (wqcheck explore) ==="
seed_base=$(git rev-parse HEAD 2>/dev/null || echo 1)
build/release/tools/wqcheck explore --seeds "${seed_base}+1000000" --strategy random \
  --budget "${WQCHECK_BUDGET:-60s}" || status=1

echo
if [ "$status" -eq 0 ]; then echo "main job: PASS"; else echo "main job: FAIL"; fi
exit "$status"
