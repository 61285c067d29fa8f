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
# Shrink and schedules (issue #16): bad decisions, bad or missing
# counterexample files and options that contradict a file are exit 2; a run
# that breaks no rule has nothing to shrink (exit 1, not an error).
expect 2 "is not THREAD@STEP>THREAD" "$wqcheck" replay --scenario idle_exit --seed 1 --schedule "3@17"
expect 2 "drop --strategy" "$wqcheck" replay --scenario idle_exit --seed 1 --schedule "3@17>5" --strategy random
expect 2 "cannot read counterexample file" "$wqcheck" replay --file "$tmp/missing.json"
echo '{"kind": "something"}' > "$tmp/bad.json"
expect 2 "not a counterexample file" "$wqcheck" replay --file "$tmp/bad.json"
echo 'not json' > "$tmp/notjson.json"
expect 2 "not JSON" "$wqcheck" shrink --file "$tmp/notjson.json"
cat > "$tmp/ce.json" <<'JSON'
{"kind": "lazywq counterexample", "schema_version": 1, "rule": "C8", "scenario": "idle_exit", "seed": "1", "schedule": "0@3>1"}
JSON
expect 2 "drop --scenario" "$wqcheck" replay --file "$tmp/ce.json" --scenario migration
expect 2 "give one" "$wqcheck" replay --file "$tmp/ce.json" --fuzz-input "$tmp/ce.json"
expect 0 "this build gives no failure|PASS" "$wqcheck" replay --file "$tmp/ce.json" --no-trace
expect 1 "breaks no rule: nothing to shrink" "$wqcheck" shrink --scenario idle_exit --seed 1 --out "$tmp/none.json"
expect 2 "unknown scenario" "$wqcheck" shrink --scenario nope --seed 1
expect 2 "cannot write" "$wqcheck" shrink --scenario idle_exit --seed 1 --out "$tmp/no/such/dir/ce.json"
expect 2 "must be a duration like 5s" "$wqcheck" shrink --scenario idle_exit --seed 1 --budget 10
# A step budget the user set that runs out is the harness's limit, not a
# failure to shrink (exit 4); a run that kills its process (the test hook
# crashes it in the shrinker's child) is refused with its replay command,
# and the shrinker survives it.
expect 4 "inconclusive" "$wqcheck" shrink --scenario idle_exit --seed 1 --max-steps 200 --quiet --out "$tmp/c15.json"
expect 2 "kills its process \(crash\).*wqcheck replay --scenario idle_exit --seed 1" \
  env LAZYWQ_TEST_FAULT=segv@idle_exit:1 "$wqcheck" shrink --scenario idle_exit --seed 1 --quiet --out "$tmp/x.json"
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
# So is a horizon the user set below the default (100ms) that the run reached.
expect 4 "INCONCLUSIVE: the run reached the horizon" "$wqcheck" replay --scenario mixed --seed 3 --horizon 1ns --no-trace
expect 4 "inconclusive: the run reached the horizon" "$wqcheck" shrink --scenario mixed --seed 3 --horizon 1ns --quiet --out "$tmp/h.json"
expect 2 "must be a duration" "$wqcheck" replay --scenario mixed --seed 3 --horizon 0
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
