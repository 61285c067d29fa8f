#!/usr/bin/env bash
# The gate's command line: --help answers (stages, shard, budget, exit
# codes), and each kind of bad input is exit code 2 with a message naming
# the problem, before anything is built.
set -uo pipefail
cd "$(dirname "$0")/../.."
fail=0
expect() {  # expect CODE PATTERN ARGS...: exit code and a line matching PATTERN
  local code=$1 pattern=$2; shift 2
  local out rc
  out=$(bash ci/gate.sh "$@" 2>&1); rc=$?
  if [ "$rc" -ne "$code" ] || ! grep -Eq "$pattern" <<<"$out"; then
    echo "FAIL: gate.sh $* -> exit $rc (want $code), output:"; echo "$out" | head -n 5; fail=1
  else
    echo "ok: gate.sh $* -> $rc"
  fi
}
expect 0 'subset of: tsan, asan, models, fuzz, explorer, torture, planted, mutation' --help
expect 2 'mutants needs a positive number' --no-setup --mutants 0
expect 0 'Exit status' --help
expect 2 "unknown stage 'tsna'" --no-setup --stages tsna
expect 2 'I must be below N' --no-setup --shard 4/4
expect 2 'must look like I/N' --no-setup --shard x
expect 2 'durations look like' --no-setup --budget 10
expect 2 'only the explorer and torture' --no-setup --planted missing_wakeup --stages tsan
expect 2 "unknown argument '--bogus'" --no-setup --bogus
expect 2 "stop-on needs rules" --no-setup --stop-on C5,,x
exit $fail
