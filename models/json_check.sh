#!/usr/bin/env bash
# lazywq_models --json -: stdout is the JSON alone (jq parses it), with the
# report header every tool's JSON carries, one record per scheduler run; in
# the planted build a caught bug's record carries its kind and the replay
# command.   models/json_check.sh LAZYWQ_MODELS [planted]
set -u
m=$1 planted=${2:-}
fails=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi; }
out=$("$m" --model idle_exit --iterations 200 --bound-iterations 50 --json - 2>/dev/null); rc=$?
check "exit 0 on a clean run" '[ $rc -eq 0 ]'
check "stdout parses as JSON" 'jq -e . >/dev/null <<<"$out"'
check "the report header" 'jq -e ".schema_version == 2 and .tool == \"lazywq_models\" and (.lazywq_version|type) == \"string\" and (.commit|type) == \"string\"" >/dev/null <<<"$out"'
check "one record per scheduler, both ok" 'jq -e "[.runs[]|.scheduler] == [\"random\",\"bound\"] and all(.runs[]; .result == \"ok\") and .failures == 0" >/dev/null <<<"$out"'
if [ -n "$planted" ]; then
  out=$("$m" --model cancel --planted clear_pending_after_run --sched random --expect user_assert_failed --json - 2>/dev/null); rc=$?
  check "a caught planted bug: exit 0 with --expect" '[ $rc -eq 0 ]'
  check "its record: kind, expected, a string iteration and the replay" 'jq -e ".runs[0].result == \"user_assert_failed\" and .runs[0].expected == true and (.runs[0].stop_iteration|type) == \"string\" and (.runs[0].replay|test(\"--iteration [0-9]+ --history\"))" >/dev/null <<<"$out"'
fi
exit $((fails > 0))
