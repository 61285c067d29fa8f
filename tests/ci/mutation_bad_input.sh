#!/usr/bin/env bash
# mutation/mutate.py's bad input: a clear message and exit 2, before any build.
set -u
m=mutation/mutate.py
fails=0
expect() {  # expect RC PATTERN -- CMD...
  local rc=$1 pat=$2; shift 3
  out=$("$@" 2>&1); got=$?
  if [ "$got" -ne "$rc" ] || ! grep -q -- "$pat" <<<"$out"; then
    echo "FAIL: $* -> exit $got (want $rc, /$pat/):"; echo "$out" | tail -5; fails=$((fails + 1))
  else
    echo "ok: $* -> exit $got"
  fi
}
expect 2 "unknown mutant" -- /usr/bin/python3 $m show no_such_mutant
expect 2 "unknown checker" -- /usr/bin/python3 $m run --ids x --checkers explorer,nope --out /tmp/mutation-bad-input --skip-baseline
expect 2 "bad duration" -- /usr/bin/python3 $m run --sample 1 --explorer-budget soon --out /tmp/mutation-bad-input
expect 2 "at least 1" -- /usr/bin/python3 $m run --sample 0 --out /tmp/mutation-bad-input
expect 2 "kills-enough must be" -- /usr/bin/python3 $m run --sample 1 --kills-enough -1 --out /tmp/mutation-bad-input
expect 2 "invalid choice" -- /usr/bin/python3 $m frobnicate
expect 0 "Operators:" -- /usr/bin/python3 $m --help
expect 2 "bad --shard" -- /usr/bin/python3 $m run --sample 1 --shard 4/4 --out /tmp/mutation-bad-input
rm -rf /tmp/mutation-no-results
expect 2 "no earlier results" -- /usr/bin/python3 $m run --rerun-survivors --out /tmp/mutation-no-results
expect 2 "no earlier results in .* to find a second technique" -- /usr/bin/python3 $m run --second-technique --out /tmp/mutation-no-results
exit $((fails > 0))
