#!/usr/bin/env bash
# The main job: the harness against the engine, with a readable report.
#   1. the thread-economy headline: per_cpu vs lazy (the 2009 patch) vs shared;
#   2. the CI gate (ci/gate.sh) with a default search budget of about
#      two minutes: unit tests under TSan and ASan, Relacy models, fuzz
#      regression, the simulator's explorer seeded from the commit, the
#      torture test on real threads, the planted bugs' teeth, and a sample
#      of engine mutants nobody planted (mutation/); its Markdown report
#      (build/gate/summary.md) is printed at the end.
# Budgets: GATE_BUDGET (explorer, default 45s), GATE_TORTURE (default 20s),
# GATE_PLANTED_BUDGET (explorer per planted bug, default 10s), GATE_MUTANTS
# (mutants sampled from the commit, default 4).
# Arguments go to the demo (see `bash scripts/main.sh --help`).
# Exit status: non-zero if the demo's expectations or the gate fail.
set -uo pipefail

cd "$(dirname "$0")/.."

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Usage: bash scripts/main.sh [DEMO OPTIONS]
  -h, --help     this text, then the demo's options (nothing is installed,
                 built or run)

Time: the search itself is about 2.5 min (explorer 45 s, torture 20 s,
planted bugs 10 s each, 4 mutants); on a fresh 2-core machine the whole
job, apt and the four builds included, took 17 min 36 s (issue #15).
EOF
  local demo=build/release/tools/lazywq-demo
  echo
  if [ -x "$demo" ]; then
    "$demo" --help | sed -n '/^Options:/,$p'
  else
    echo "Demo options: --queues, --cpus, --rounds, --gap-ms, --idle-timeout-ms, --seed, --version"
    echo "(in full once built: cmake --preset release && cmake --build --preset release --target lazywq-demo)"
  fi
}

for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
  esac
done

bash scripts/setup-deps.sh || { echo "main.sh: setup-deps failed" >&2; exit 2; }
cmake --preset release >/dev/null || exit 2
cmake --build --preset release --target lazywq-demo --parallel "$(nproc 2>/dev/null || echo 2)" || exit 2

status=0
echo
echo "=== 1. thread economy: per_cpu vs lazy (lazywq-demo) ==="
build/release/tools/lazywq-demo "$@" || status=1

echo
echo "=== 2. the gate: every checker against the engine (ci/gate.sh) ==="
bash ci/gate.sh --no-setup --budget "${GATE_BUDGET:-45s}" --torture "${GATE_TORTURE:-20s}" \
  --planted-budget "${GATE_PLANTED_BUDGET:-10s}" --catch-runs 3 --mutants "${GATE_MUTANTS:-4}" || status=1

echo
if [ "$status" -eq 0 ]; then echo "main job: PASS"; else echo "main job: FAIL"; fi
exit "$status"
