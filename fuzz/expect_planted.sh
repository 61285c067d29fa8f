#!/usr/bin/env bash
# expect_planted.sh FUZZER WQCHECK BUG RULE RUNS WORKDIR
#
# Planted-bug CI for the operations fuzzer: with the planted bug BUG
# switched on, fuzz_sim_ops must crash on a violation of RULE within RUNS
# executions (libFuzzer -seed=1, starting from the committed corpus), and
# the crash file must replay with the same rule both through the fuzzer
# binary and through `wqcheck replay --fuzz-input`.
set -uo pipefail
if [ $# -ne 6 ]; then
  echo "usage: $0 FUZZER WQCHECK BUG RULE RUNS WORKDIR" >&2
  exit 2
fi
fuzzer=$1 wqcheck=$2 bug=$3 rule=$4 runs=$5 work=$6
here=$(cd "$(dirname "$0")" && pwd)

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
start=$(date +%s.%N)
LAZYWQ_PLANTED=$bug LAZYWQ_FUZZ_EXPECT=$rule "$fuzzer" -seed=1 -runs="$runs" -max_len=4096 \
  -dict="$here/fuzz_sim_ops.dict" -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
  "$work/corpus" "$here/corpus/fuzz_sim_ops" >"$work/fuzz.log" 2>&1
end=$(date +%s.%N)
crash=$(ls "$work"/artifacts/crash-* 2>/dev/null | head -n 1)
if [ -z "$crash" ]; then
  echo "NOT FOUND: planted bug $bug: no violation of $rule within $runs runs"
  tail -n 30 "$work/fuzz.log"
  exit 1
fi
execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/fuzz.log" | grep -o '[0-9]*$' | tail -n 1)
echo "found: planted bug $bug after ${execs:-?} executions ($(awk "BEGIN { printf \"%.1f\", $end - $start }") s)"
grep -E '^==lazywq-fuzz== (FAIL|DEDUP|input)' "$work/fuzz.log"
want=$(grep -E '^==lazywq-fuzz== DEDUP' "$work/fuzz.log" | head -n 1)

# Replay 1: the fuzzer binary on the crash file.
LAZYWQ_PLANTED=$bug LAZYWQ_FUZZ_EXPECT=$rule "$fuzzer" "$crash" >"$work/replay-fuzzer.log" 2>&1
got=$(grep -E '^==lazywq-fuzz== DEDUP' "$work/replay-fuzzer.log" | head -n 1)
if [ -z "$got" ] || [ "$got" != "$want" ]; then
  echo "REPLAY MISMATCH through the fuzzer binary: '$got' vs '$want'"
  tail -n 30 "$work/replay-fuzzer.log"
  exit 1
fi
echo "replayed through the fuzzer binary: same finding"

# Replay 2: wqcheck replay --fuzz-input (exit 1: a failure, 3: nondeterminism).
"$wqcheck" replay --fuzz-input "$crash" --planted "$bug" --no-trace >"$work/replay-wqcheck.log" 2>&1
rc=$?
if [ "$rc" -ne 1 ] || ! grep -Eq "^(FAIL|also) $rule:" "$work/replay-wqcheck.log" ||
   ! grep -q 'determinism: .*identical' "$work/replay-wqcheck.log"; then
  echo "REPLAY MISMATCH through wqcheck (exit $rc, expected 1 with rule $rule):"
  tail -n 40 "$work/replay-wqcheck.log"
  exit 1
fi
# Attribution: without the planted bug the same input passes.
if ! "$wqcheck" replay --fuzz-input "$crash" --no-trace >"$work/replay-clean.log" 2>&1; then
  echo "NOT ATTRIBUTED: the crash file also fails without the planted bug:"
  grep -E '^(FAIL|also) ' "$work/replay-clean.log" | head -n 5
  exit 1
fi
echo "replayed through wqcheck replay --fuzz-input: $(grep -E "^(FAIL|also) $rule:" "$work/replay-wqcheck.log" | head -n 1 | cut -c1-160)"
# Shrunk (issue #16): the fuzz input's schedule becomes a counterexample
# file with the fewest decisions, breaking the same first rule, and the
# file replays with the bug (exit 0: same rule, bit for bit).
if ! "$wqcheck" shrink --fuzz-input "$crash" --planted "$bug" --budget 20s --quiet --out "$work/shrunk.json" \
     >"$work/shrink.log" 2>&1; then
  echo "SHRINK FAILED for the crash file:"
  tail -n 20 "$work/shrink.log"
  exit 1
fi
first=$(grep -m1 '^the run breaks ' "$work/shrink.log" | sed -E 's/^the run breaks ([A-Za-z0-9]+):.*/\1/')
if ! "$wqcheck" replay --file "$work/shrunk.json" --expect "$first" --no-trace >"$work/replay-shrunk.log" 2>&1; then
  echo "SHRUNK FILE DOES NOT REPLAY with $first:"
  tail -n 20 "$work/replay-shrunk.log"
  exit 1
fi
echo "shrunk: $(grep -E '^  (steps|preemptions) ' "$work/shrink.log" | tr -s ' ' | paste -sd ';')"
echo "EXPECTED: planted bug $bug caught by fuzz_sim_ops as $rule"
