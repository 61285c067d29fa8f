#!/usr/bin/env bash
# A model's failure report ends with the command that replays it (for the
# context-bound scheduler, with the state it printed); that command, run
# as printed, must fail the same way and print the execution history.
#   models/replay_printed.sh LAZYWQ_MODELS MODEL PLANTED_BUG
set -u
models=$1 model=$2 bug=$3
out=$("$models" --model "$model" --planted "$bug" --sched bound --context-bound 2 2>&1)
rc=$?
echo "$out" | tail -n 4 | cut -c1-300
[ "$rc" -ne 0 ] || { echo "FAIL: the planted model did not fail (exit 0)"; exit 1; }
replay=$(echo "$out" | sed -n 's/^ *replay with full history: //p' | head -n 1)
[ -n "$replay" ] || { echo "FAIL: no 'replay with full history:' line in the report"; exit 1; }
case "$replay" in *"--state '"*) ;; *) echo "FAIL: the replay command carries no --state: $replay"; exit 1 ;; esac
failure=$(echo "$out" | grep -o 'FAILED: [a-z_]*' | head -n 1)
again=$(eval "$replay" 2>&1)
rc=$?
[ "$rc" -ne 0 ] || { echo "FAIL: the replay passed (exit 0): $replay"; exit 1; }
grep -q "execution history" <<<"$again" || { echo "FAIL: the replay printed no execution history"; echo "$again" | tail -5; exit 1; }
kind=${failure#FAILED: }
case $kind in
  user_assert_failed) grep -q "USER ASSERT FAILED" <<<"$again" ;;
  deadlock) grep -qi "deadlock" <<<"$again" ;;
  data_race) grep -qi "data race" <<<"$again" ;;
  *) true ;;
esac || { echo "FAIL: the replay did not fail with $kind"; echo "$again" | head -5; exit 1; }
echo "ok: the printed command replays the $kind ($(grep -c . <<<"$again") lines of history)"
