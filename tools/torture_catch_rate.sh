#!/usr/bin/env bash
# torture_catch_rate.sh: how often the real-thread torture catches each
# planted bug with its rule. Real threads do not choose their interleaving,
# so a catch is probabilistic: this measures a rate, it asserts nothing (the
# deterministic catches are wqcheck's `planted.*` tests).
#
# Usage: tools/torture_catch_rate.sh BUILD_DIR [RUNS] [DURATION]
#   BUILD_DIR  a build with the planted bugs compiled in (cmake --preset planted -> build/planted)
#   RUNS       independent runs per bug (default 10; seeds SEED, SEED+1, ...)
#   DURATION   length of one run (default 3s)
# Environment: SEED (default 1), EXTRA (more lazywq-torture options, e.g. "--fail-p 0.2").
# Prints a Markdown table: bug | rule | caught/runs | rules seen (runs).
# Exit status 0 when every run finished (caught or not), 2 on bad usage.
set -u
build=${1:-}
runs=${2:-10}
duration=${3:-3s}
seed=${SEED:-1}
if [ -z "$build" ] || [ ! -x "$build/tools/lazywq-torture" ]; then
  echo "usage: tools/torture_catch_rate.sh BUILD_DIR [RUNS] [DURATION]  (BUILD_DIR/tools/lazywq-torture must exist; planted build)" >&2
  exit 2
fi
bin=$build/tools/lazywq-torture
# A build without the planted bugs refuses --planted before anything runs.
if "$bin" --planted migrate_reorders --duration 1s --expect C99 2>&1 | grep -q "no planted bugs"; then
  echo "torture_catch_rate.sh: $bin was built without the planted bugs (use cmake --preset planted)" >&2
  exit 2
fi

# bug rule: the rule the simulator's planted.* tests expect for each bug.
cases=(
  "spawn_fail_loses_work C7"
  "idle_exit_strands_work C8"
  "migrate_reorders C5"
  "migrate_duplicates C1"
  "clear_pending_after_run C2"
  "missing_wakeup C15"
)

logdir=$(mktemp -d "${TMPDIR:-/tmp}/torture-catch-rate-XXXXXX")
echo "torture catch rate: $runs runs of $duration per bug, seeds $seed..$((seed + runs - 1)), build $build${EXTRA:+, options $EXTRA}"
echo "(logs: $logdir)"
echo
echo "| bug | rule | caught/runs | rules seen (runs) |"
echo "|---|---|---|---|"
# shellcheck disable=SC2086
for c in "${cases[@]}"; do
  read -r bug rule <<<"$c"
  out=$logdir/$bug.txt
  "$bin" --planted "$bug" --expect "$rule" --repeat "$runs" --duration "$duration" --seed "$seed" \
    --hang-timeout 5s ${EXTRA:-} >"$out" 2>&1
  caught=$(sed -n 's/^caught \([0-9]*\/[0-9]*\) runs.*/\1/p' "$out")
  seen=$(sed -n 's/^rules seen: //p' "$out")
  crashed=$(sed -n 's/^caught [0-9]*\/[0-9]* runs ([^)]*), \([0-9]*\) crashed.*/\1/p' "$out")
  echo "| \`$bug\` | $rule | ${caught:-error (see $out)}${crashed:+ ($crashed crashed)} | ${seen:-none} |"
done
