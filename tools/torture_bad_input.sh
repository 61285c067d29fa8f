#!/usr/bin/env bash
# torture.bad_input: every malformed option of lazywq-torture must end with
# exit code 2 and a message on stderr naming the problem, before any run.
# Usage: torture_bad_input.sh PATH/TO/lazywq-torture [planted|plain]
#   (planted: the build has the planted bugs; plain: --planted NAME must be refused)
set -u
bin=${1:?usage: torture_bad_input.sh PATH/TO/lazywq-torture [planted|plain]}
mode=${2:-plain}
failed=0

# expect_bad "WORD IN MESSAGE" ARGS...: exit 2 and WORD (case-insensitive) on stderr.
expect_bad() {
  local word=$1
  shift
  local err rc
  err=$("$bin" --quiet "$@" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" -ne 2 ]; then
    echo "FAIL: lazywq-torture $* exited $rc, expected 2 (stderr: $err)"
    failed=1
  elif ! grep -qi -- "$word" <<<"$err"; then
    echo "FAIL: lazywq-torture $* exited 2 but stderr does not mention '$word': $err"
    failed=1
  else
    echo "ok: $* -> exit 2: $err"
  fi
}

expect_bad "unknown operation" --weights bogus=3
expect_bad "negative" --weights queue=-1
expect_bad "integer" --weights queue=abc
expect_bad "name=N" --weights queue
expect_bad "every operation weight is 0" --weights queue=0,queue_on=0,delayed=0,mod_delayed=0,cancel=0,cancel_sync=0,cancel_delayed_sync=0,flush_work=0,flush_delayed=0,flush_workqueue=0,drain=0,offline=0,online=0,recreate=0,idle_edge=0
expect_bad "workload" --workload bogus
expect_bad "queue kind" --workload rpc --rpc-queues lazy,bogus
expect_bad "dependency-check" --dependency-check sometimes
expect_bad "duration" --duration 5x
expect_bad "duration" --duration -1s
expect_bad "duration" --duration ""
expect_bad "positive" --duration 0s
expect_bad "seed" --seed banana
expect_bad "seed" --seed 0xzz
expect_bad "64 bits" --seed 99999999999999999999999
expect_bad "planted" --planted no_such_bug
if [ "$mode" = plain ]; then
  expect_bad "no planted bugs" --planted migrate_reorders
fi
expect_bad "expect" --expect C99
expect_bad "queue kind" --queues lazy,fifo
expect_bad "hang-timeout" --hang-timeout 1ms
expect_bad "duration" --stutter soon
expect_bad "duration" --duration "1$(printf '0%.0s' $(seq 400))s"

# --help answers and succeeds.
if ! help=$("$bin" --help 2>&1) || ! grep -q "Exit codes" <<<"$help"; then
  echo "FAIL: lazywq-torture --help did not exit 0 with the exit codes explained"
  failed=1
else
  echo "ok: --help -> exit 0"
fi

if [ "$failed" -ne 0 ]; then
  echo "torture.bad_input: FAILED"
  exit 1
fi
echo "torture.bad_input: all malformed inputs rejected with exit code 2"
