#!/usr/bin/env bash
# `wqcheck run-program` and the property executor run one program in their
# own process: when the engine crashes or spins there (the test-only hook
# LAZYWQ_TEST_FAULT, sim/isolate.hpp), their last words must name the
# program and the command that runs it, and the property saves the program.
# Usage: program_survives.sh WQCHECK [PROPERTY_TESTS]
set -uo pipefail
W=${1:?usage: program_survives.sh WQCHECK [PROPERTY_TESTS]}
P=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() {
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}
has() { grep -Fq -- "$2" "$1" || { echo "  missing in $1: $2"; sed 's/^/    | /' "$1" | head -n 30; return 1; }; }

prog=$tmp/p.wqprog
printf '%s\n' "kind lazy" "ncpus 3" "works 2" "callers 1" "idle_us 20" "cooldown_us 10" "busy_us 5" "seed 7" \
  "strategy random" "c0 queue_work_on 1 w0" "c0 flush_work w0" "c0 destroy" >"$prog"

"$W" run-program "$prog" --no-trace >"$tmp/clean.out" 2>&1
check "the program passes without the hook (exit $?)" has "$tmp/clean.out" "PASS"

if [ -z "$P" ]; then
  LAZYWQ_TEST_FAULT='segv@program:*' "$W" run-program "$prog" --no-trace >"$tmp/segv.out" 2>"$tmp/segv.err"
  rc=$?
  check "run-program segv: dies (exit $rc)" test "$rc" -ne 0
  # (In the asan preset UBSan catches the null store first: its death callback speaks.)
  if grep -q "SUMMARY: UndefinedBehaviorSanitizer" "$tmp/segv.err"; then
    check "run-program segv: names the sanitizer" has "$tmp/segv.err" "*** the process died of a sanitizer report (above) while running:"
  else
    check "run-program segv: names the signal" has "$tmp/segv.err" "*** the process died of SIGSEGV while running:"
  fi
  check "run-program segv: names the program and command" \
    has "$tmp/segv.err" "the program $prog; reproduce: wqcheck run-program $prog --no-trace"

  LAZYWQ_TEST_FAULT='abort@program:*' "$W" run-program "$prog" >"$tmp/abort.out" 2>"$tmp/abort.err"
  check "run-program abort: names the signal" has "$tmp/abort.err" "*** the process died of SIGABRT while running:"

  LAZYWQ_RUN_TIMEOUT=1 LAZYWQ_TEST_FAULT='spin@program:*' timeout 60 "$W" run-program "$prog" >"$tmp/spin.out" 2>"$tmp/spin.err"
  rc=$?
  check "run-program spin: killed by its own alarm, not by timeout(1) (exit $rc)" test "$rc" -ne 124 -a "$rc" -gt 128
  check "run-program spin: a wall-clock timeout of 1 s, said so" \
    has "$tmp/spin.err" "timed out: it ran longer than its wall-clock limit of 1 s"
  check "run-program spin: names the program" has "$tmp/spin.err" "reproduce: wqcheck run-program $prog"
  # The flag wins over the environment.
  LAZYWQ_RUN_TIMEOUT=60 LAZYWQ_TEST_FAULT='spin@program:*' timeout 60 "$W" run-program "$prog" --run-timeout 1 \
    >"$tmp/spin2.out" 2>"$tmp/spin2.err"
  rc=$?
  check "run-program --run-timeout 1: killed by its own alarm (exit $rc)" test "$rc" -ne 124 -a "$rc" -gt 128
  check "run-program --run-timeout 1: said so" has "$tmp/spin2.err" "wall-clock limit of 1 s"
  exit $fail
fi

# The property executor: the program it was running is saved and named.
LAZYWQ_PROPERTY_OUT=$tmp LAZYWQ_TEST_FAULT='segv@program:*' "$P" --gtest_filter=Program.SingleCallerKeepsTheContract \
  >"$tmp/prop.out" 2>"$tmp/prop.err"
rc=$?
saved=$tmp/property-failure-single-caller-crash.wqprog
check "property segv: the test process dies (exit $rc)" test "$rc" -ne 0
check "property segv: names the signal or the sanitizer" grep -Eq '\*\*\* the process died of (SIGSEGV|a sanitizer report)' "$tmp/prop.err"
check "property segv: names the saved program and the command" \
  has "$tmp/prop.err" "saved to $saved (rapidcheck cannot shrink a crash or print its reproduce string); run it alone: wqcheck run-program $saved"
check "property segv: the program was saved" test -s "$saved"
"$W" run-program "$saved" --no-trace --max-steps 400000 >"$tmp/saved.out" 2>&1
rc=$?
check "the saved program runs in wqcheck run-program (exit $rc)" test "$rc" -le 1
exit $fail
