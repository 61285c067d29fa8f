#!/usr/bin/env bash
# run_smoke.sh FUZZER WORKDIR RUNS DICT CORPUS: a seeded, repeatable smoke run
# of a fuzz target from its committed corpus. New inputs and crash files go
# to WORKDIR (emptied first), never into the committed corpus.
# libFuzzer's progress lines (NEW, REDUCE, pulse) go to WORKDIR/fuzz.log only,
# so that a failure's report (the sanitizer stack, the crash file and the
# command that replays it) is what a CI log shows, not thousands of lines.
set -uo pipefail
fuzzer=$1 work=$2 runs=$3 dict=$4 corpus=$5
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
"$fuzzer" -seed=1 -runs="$runs" -max_total_time=120 -max_len=4096 -dict="$dict" \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$corpus" >"$work/fuzz.log" 2>&1
rc=$?
grep -Ev '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)|^[[:space:]]+NEW_FUNC' "$work/fuzz.log" | tail -n 120
if [ "$rc" -ne 0 ]; then
  echo
  echo "run_smoke.sh: $(basename "$fuzzer") failed (exit $rc); full log: $work/fuzz.log"
  for f in "$work"/artifacts/*; do
    [ -e "$f" ] || continue
    echo "crash file: $f"
    echo "replay:     $fuzzer $f"
  done
fi
exit "$rc"
