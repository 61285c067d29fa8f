#!/usr/bin/env bash
# Bad input to the tools is a clear error with exit status 2, and a limit of
# the harness is never reported as an engine failure (issue #13, item 7).
# Usage: tools_bad_input.sh WQCHECK DEMO TORTURE PROGRAM_FILE
set -u
wqcheck=$1 demo=$2 torture=$3 program=$4
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect STATUS PATTERN CMD...: the command exits with STATUS and its output
# (stdout and stderr) matches PATTERN.
expect() {
  local want=$1 pattern=$2; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want" ] || ! grep -Eq -- "$pattern" <<<"$out"; then
    echo "FAIL: $* -> exit $rc (want $want), output:"; echo "$out" | tail -5 | sed 's/^/    /'
    fails=$((fails + 1))
  else
    echo "ok:   $* -> exit $rc"
  fi
}

expect 2 "is a directory" "$wqcheck" run-program "$tmp"
expect 2 "is a directory" "$wqcheck" replay --fuzz-input "$tmp"
expect 2 "cannot read fuzz input" "$wqcheck" replay --fuzz-input "$tmp/missing"
expect 2 "max-steps" "$wqcheck" explore --seeds 1 --max-steps 0
expect 2 "max-steps" "$wqcheck" run-program "$program" --max-steps 0
expect 2 "not a rule" "$wqcheck" explore --seeds 1 --expect C99
# Every rule of docs/CONTRACT.md is a name the tools take (kContractRules
# was 17 while C18 and C19 existed: --expect C19 was refused), and no other.
last=$(grep -oE '^\| C[0-9]+ \|' "$(dirname "$0")/../../docs/CONTRACT.md" | tr -dc '0-9\n' | sort -n | tail -n 1)
expect 0 "0 failure" "$wqcheck" explore --scenario idle_exit --seeds 1..2 --stop-on "C$last" --quiet
expect 2 "not a rule" "$wqcheck" explore --scenario idle_exit --seeds 1..2 --stop-on "C$((last + 1))" --quiet
# One duration syntax (tools/duration.hpp): a number and a unit, nothing else.
expect 2 "must be a duration like 5s" "$wqcheck" explore --seeds 1 --budget 10
expect 2 "must be a duration like 5s" "$wqcheck" explore --seeds 1 --budget -1s
expect 2 "must be a duration like 5s" "$torture" --duration 5x
expect 2 "must be a duration like 5s" "$torture" --hang-timeout 1e30h
# A budget the user set that runs out is inconclusive (4), not C15.
expect 4 "INCONCLUSIVE" "$wqcheck" run-program "$program" --max-steps 30 --no-trace
expect 4 "INCONCLUSIVE" "$wqcheck" replay --scenario mixed --seed 3 --max-steps 40 --no-trace
expect 2 "must be a number" "$demo" --seed -1
expect 2 "must be a number" "$demo" --seed 99999999999999999999999
expect 2 "cannot write there" "$torture" --duration 1s --json /nonexistent-dir/report.json
# Output files are checked before the work; counts are not wrapped from negatives.
expect 2 "cannot write there" "$wqcheck" explore --seeds 1..100000 --json /nonexistent-dir/report.json
expect 2 "cannot write there" "$wqcheck" replay --scenario mixed --seed 3 --trace-out /nonexistent-dir/t.json
expect 2 "must be a count" "$wqcheck" explore --seeds 1 --stop-after -1
expect 2 "must be a count" "$wqcheck" explore --seeds 1 --stop-after-timeouts -3
echo "$fails failure(s)"
[ "$fails" -eq 0 ]
