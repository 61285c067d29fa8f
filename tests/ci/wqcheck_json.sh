#!/usr/bin/env bash
# wqcheck explore --json -: stdout is one JSON document and nothing else
# (jq parses it), it says who wrote it, and 64-bit seeds survive jq
# exactly (strings). Issue #15.
set -euo pipefail
W=$1 T=${2:-} D=${3:-}
out=$("$W" explore --scenario idle_exit --seeds 18446744073709551000..18446744073709551002 --quiet --json - 2>/dev/null)
echo "$out" | jq -e '.schema_version == 2 and .tool == "wqcheck" and (.lazywq_version | test("^[0-9]+[.][0-9]+[.][0-9]+$"))
                     and (.commit | length > 0)
                     and .seeds.first == "18446744073709551000" and .seeds.last == "18446744073709551002"
                     and .failures == 0' > /dev/null \
  || { echo "FAIL: unexpected JSON report:"; echo "$out" | head -c 2000; exit 1; }
echo "ok: wqcheck --json - is JSON alone, seeds exact"
# replay and bench: the same header; the replay's seed and trace hashes as
# strings, its determinism and verdict.
out=$("$W" replay --scenario migration --seed 18446744073709551000 --no-trace --json - 2>/dev/null) || true
echo "$out" | jq -e '.schema_version == 2 and .tool == "wqcheck replay" and .seed == "18446744073709551000"
                     and (.trace_hash | test("^[0-9a-f]{16}$")) and .trace_hash == .second_trace_hash
                     and .deterministic == true and (.failed | type) == "boolean"
                     and (.replay | test("--seed 18446744073709551000"))' > /dev/null \
  || { echo "FAIL: unexpected replay JSON:"; echo "$out" | head -c 2000; exit 1; }
echo "ok: wqcheck replay --json - is JSON alone, seed and hashes exact"
out=$("$W" bench --runs 5 --scenario idle_exit,migration --json - 2>/dev/null)
echo "$out" | jq -e '.schema_version == 2 and .tool == "wqcheck bench" and ([.scenarios[].scenario] == ["idle_exit","migration"])
                     and all(.scenarios[]; .runs == 5 and .exec_per_s > 0)' > /dev/null \
  || { echo "FAIL: unexpected bench JSON:"; echo "$out" | head -c 2000; exit 1; }
echo "ok: wqcheck bench --json - is JSON alone"
if [ -n "$T" ]; then
  # The torture too: its 64-bit seed (a commit hash folds into one) as a string.
  out=$("$T" --duration 1s --seed 18446744073709551000 --quiet --json - 2>/dev/null)
  echo "$out" | jq -e '.schema_version == 2 and .tool == "lazywq-torture" and .seed == "18446744073709551000"
                       and (.commit | length > 0)' > /dev/null \
    || { echo "FAIL: unexpected torture JSON:"; echo "$out" | head -c 2000; exit 1; }
  echo "ok: lazywq-torture --json - is JSON alone, seed exact"
fi
if [ -n "$D" ]; then
  # The demo: its figures and checks, the seed as a string.
  out=$("$D" --queues 8 --cpus 4 --rounds 2 --seed 18446744073709551000 --json - 2>/dev/null) || true
  echo "$out" | jq -e '.schema_version == 2 and .tool == "lazywq-demo" and .config.seed == "18446744073709551000"
                       and (.lazy.under_load | type) == "number" and (.checks | length) == 4
                       and .pass == all(.checks[]; .pass)' > /dev/null \
    || { echo "FAIL: unexpected demo JSON:"; echo "$out" | head -c 2000; exit 1; }
  echo "ok: lazywq-demo --json - is JSON alone, seed exact"
fi
