#!/usr/bin/env bash
# The explorer survives a broken engine (issue #13): the test-only hook
# (LAZYWQ_TEST_FAULT, sim/isolate.hpp) crashes or spins inside a simulated
# thread at one seed; `wqcheck explore` must exit 1 and report that seed,
# the rule ("crash" / "timeout"), the replay command, and still run every
# other seed. Also: isolated and in-process runs give the same report, and
# the batch size does not change it (determinism).
# Usage: explore_survives.sh path/to/wqcheck
set -uo pipefail
W=${1:?usage: explore_survives.sh WQCHECK}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() {  # check DESCRIPTION COMMAND...: the command must succeed
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}
has() { grep -Fq -- "$2" "$1" || { echo "  missing in $1: $2"; sed 's/^/    | /' "$1" | head -n 40; return 1; }; }
jqt() { [ "$(jq -r "$2" "$1")" = "$3" ] || { echo "  $1: $2 = $(jq -c "$2" "$1"), want $3"; return 1; }; }

# explore_with FAULT NAME ARGS...: runs the explorer with the hook armed.
explore_with() {
  local fault=$1 name=$2; shift 2
  LAZYWQ_TEST_FAULT=$fault "$W" explore --scenario migration,idle_exit --seeds 1..200 --quiet \
    --json "$tmp/$name.json" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  echo $? >"$tmp/$name.rc"
}
rc_is() { [ "$(cat "$tmp/$1.rc")" = "$2" ] || { echo "  $1: exit $(cat "$tmp/$1.rc"), want $2"; tail -n 20 "$tmp/$1.out" "$tmp/$1.err"; return 1; }; }

# A crash of every kind at seed 7 of `migration`, batches of 50 runs.
for kind in segv abort throw; do
  explore_with "$kind@migration:7" "$kind" --batch 50
  check "$kind: exit status 1" rc_is "$kind" 1
  check "$kind: the report names seed, rule and replay" \
    has "$tmp/$kind.out" "scenario migration, seed 7, strategy random"
  check "$kind: FAIL crash line" has "$tmp/$kind.out" "FAIL crash: the run's process"
  check "$kind: replay command" has "$tmp/$kind.out" "replay: wqcheck replay --scenario migration --seed 7 --strategy random"
  check "$kind: JSON names the seed and rule" jqt "$tmp/$kind.json" \
    '[.scenarios[0].failed[] | "\(.seed) \(.rule) \(.process_verdict)"] | join(",")' "7 crash true"
  check "$kind: JSON replay" jqt "$tmp/$kind.json" '.scenarios[0].failed[0].replay' \
    "wqcheck replay --scenario migration --seed 7 --strategy random"
  check "$kind: every other seed ran" jqt "$tmp/$kind.json" '[.scenarios[] | "\(.runs)/\(.failures)"] | join(" ")' \
    "200/1 200/0"
done
# (In the asan preset UBSan reports the null store first: its SUMMARY line then.)
if grep -q "SUMMARY: UndefinedBehaviorSanitizer" "$tmp/segv.out"; then
  check "segv: the sanitizer's summary is named" has "$tmp/segv.out" "exited with status 1: SUMMARY: UndefinedBehaviorSanitizer"
else
  check "segv: the signal is named" has "$tmp/segv.out" "killed by signal 11 (SIGSEGV)"
fi
check "abort: the signal is named" has "$tmp/abort.out" "killed by signal 6 (SIGABRT)"
check "throw: terminate's last words" has "$tmp/throw.out" "terminate called after throwing"

# A spin with no scheduling point at seed 5 of idle_exit: a wall-clock
# timeout, said to be one, and told apart from the step-limit livelock.
explore_with "spin@idle_exit:5" spin --batch 50 --run-timeout 1
check "spin: exit status 1" rc_is spin 1
check "spin: FAIL timeout of 1 s" has "$tmp/spin.out" "FAIL timeout: the run did not finish within 1 s of wall-clock time (--run-timeout 1)"
check "spin: no scheduling point, not the step-limit livelock" has "$tmp/spin.out" "A harness verdict, not the simulator's: no scheduling point for the last"
check "spin: seed and replay" has "$tmp/spin.out" "replay: wqcheck replay --scenario idle_exit --seed 5 --strategy random"
check "spin: JSON" jqt "$tmp/spin.json" '[.scenarios[] | "\(.runs)/\(.failures)/\(.timeouts) \([.failed[] | "\(.seed) \(.rule)"] | join(","))"] | join(" ")' \
  "200/0/0  200/1/1 5 timeout"

# Adjacent crashes, mid-chunk: both reported, and the report does not depend
# on the batch size (unsent runs before a crash are run again).
explore_with "segv@idle_exit:30,abort@idle_exit:31,segv@migration:199" adj50 --batch 50
explore_with "segv@idle_exit:30,abort@idle_exit:31,segv@migration:199" adj7 --batch 7
check "adjacent crashes: both seeds" jqt "$tmp/adj50.json" '[.scenarios[].failed[] | "\(.seed) \(.rule)"] | join(",")' \
  "199 crash,30 crash,31 crash"
strip='del(.isolation) | .scenarios |= map(del(.seconds, .executions_per_second))'
check "batch size does not change the report" diff <(jq -S "$strip" "$tmp/adj50.json") <(jq -S "$strip" "$tmp/adj7.json")

# No fault: isolated and in-process give the same report, bit for bit
# (trace hashes, window hits, pair coverage), and a failure-free run exits 0.
"$W" explore --scenario migration,mixed --seeds 1..150 --quiet --json "$tmp/iso.json" >/dev/null 2>&1
check "clean isolated run exits 0" test $? -eq 0
"$W" explore --scenario migration,mixed --seeds 1..150 --quiet --in-process --json "$tmp/inp.json" >/dev/null 2>&1
check "isolated = in-process" diff <(jq -S "$strip" "$tmp/iso.json") <(jq -S "$strip" "$tmp/inp.json")

# --expect crash finds it; --stop-after-timeouts bounds a spinning engine.
LAZYWQ_TEST_FAULT=segv@migration:9 "$W" explore --scenario migration --seeds 1..50 --quiet --expect crash >"$tmp/exp.out" 2>&1
check "--expect crash" test $? -eq 0
explore_with "spin@*:*" spinall --run-timeout 0.3 --stop-after-timeouts 2
check "every run spins: exit 1" rc_is spinall 1
check "every run spins: two timeouts per scenario, then the next" jqt "$tmp/spinall.json" \
  '[.scenarios[] | "\(.runs)/\(.timeouts)/\(.stopped_on_timeout)"] | join(" ")' "2/2/true 2/2/true"

# Under a budget (as in the gate): a spin that eats the whole budget is
# still reported, and the scenarios after it stop at once instead of
# running without a budget.
LAZYWQ_TEST_FAULT=spin@migration:5 timeout 60 "$W" explore --scenario migration,idle_exit --seeds 1+100000000 \
  --budget 1s --run-timeout 1 --quiet --json "$tmp/budget.json" >"$tmp/budget.out" 2>&1
echo $? >"$tmp/budget.rc"
check "budget + spin: exit 1 (not 124: no hang)" rc_is budget 1
check "budget + spin: the timeout at seed 5, then budget cuts" jqt "$tmp/budget.json" \
  '[.scenarios[] | "\([.failed[] | "\(.seed) \(.rule)"] | join(",")) \(.budget_cut)"] | join(" ")' "5 timeout true  true"

# The debugging mode has no such net: the same crash kills the explorer.
LAZYWQ_TEST_FAULT=segv@migration:7 "$W" explore --scenario migration --seeds 1..20 --quiet --in-process >"$tmp/inproc.out" 2>&1
rc=$?
check "--in-process: the crash takes the explorer down (exit $rc, no report)" \
  bash -c '[ "$0" -ne 0 ] && ! grep -q "^FAIL" "$1"' "$rc" "$tmp/inproc.out"

exit $fail
