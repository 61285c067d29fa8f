#!/usr/bin/env bash
# The CI gate: one command that runs every checker of lazywq against the
# engine and says, for a person at 2 a.m., what broke, which contract rule,
# and the one command that replays it.
#
#   bash ci/gate.sh                      # everything, ~2 min of search
#   bash ci/gate.sh --stages explorer --shard 1/4 --budget 5m
#   bash ci/gate.sh --planted migrate_reorders --stages explorer --stop-on C5
#   bash ci/gate.sh --help
#
# Stages (each builds the preset it needs, incrementally, in build/<preset>):
#   tsan      what runs on real threads (unit, publication, torture smoke,
#             oracle) under ThreadSanitizer; the simulator is one OS thread
#   asan      unit, oracle, simulator, property and corpus tests under
#             AddressSanitizer + UBSan
#   models    Relacy models of the admitted races (planted build: each model
#             must also catch its planted bugs)
#   fuzz      libFuzzer targets: corpus regression, seeded smoke, and the
#             ClusterFuzzLite build.sh check (asan build)
#   explorer  wqcheck explore over every scenario in --budget, seeded from the
#             commit; race-window coverage
#   torture   lazywq-torture on real threads under ThreadSanitizer for
#             --torture; race-window coverage on real threads
#   planted   teeth: the planted tests of every checker, the gate's explorer
#             run on each planted bug (must fail with the bug's rule), and the
#             torture's catch rate per planted bug (reported, real threads may
#             miss)
#
# Writes into --out (default build/gate): summary.md (also appended to
# $GITHUB_STEP_SUMMARY when set), junit.xml (one testsuite per stage),
# logs/, artifacts/ (explorer JSON, Perfetto traces of every failure, fuzz
# crash files). Exit status: 0 all stages passed, 1 a stage failed, 2 usage.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=ci/tsan_aslr.sh
source ci/tsan_aslr.sh

ALL_STAGES="tsan asan models fuzz explorer torture planted mutation"
stages="$ALL_STAGES"
shard="0/1"
budget="60s"
torture_time="20s"
seed=""
out="build/gate"
planted=""
setup=1
planted_budget="20s"
catch_runs=5
mutants=4
stop_on=""

usage() {
  sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'
  cat <<EOF

Options:
  --stages LIST       comma- or space-separated subset of: ${ALL_STAGES// /, }
                      (default: all)
  --shard I/N         run shard I of N (0-based): ctest stages take every
                      N-th test, the explorer every N-th seed
  --budget DUR        explorer wall-clock budget (default $budget; e.g. 30s, 5m)
  --torture DUR       torture duration (default $torture_time)
  --seed SEED         explorer/torture seed: a number or a 40-hex commit hash
                      (default: the commit, git rev-parse HEAD)
  --planted BUG       gate the planted-bug build with BUG switched on (stages
                      explorer and torture only); the gate must then FAIL
  --planted-budget D  explorer budget per bug in the planted stage ($planted_budget)
  --catch-runs N      torture runs per planted bug for the catch rate ($catch_runs)
  --mutants N         engine mutants the mutation stage samples from the seed ($mutants;
                      mutation/mutate.py, README "Mutation testing")
  --stop-on RULES     the explorer stops at its first failure breaking one of RULES
                      (C5,C9): the planted stage's runs, which need one hit of the
                      bug's own rule and not the whole budget
  --out DIR           report directory (default $out)
  --no-setup          do not run scripts/setup-deps.sh
  -h, --help          this text

Exit status: 0 every stage passed, 1 a stage failed, 2 bad usage.
EOF
}

die_usage() { echo "gate.sh: $*" >&2; echo "Try: bash ci/gate.sh --help" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --stages) [ $# -ge 2 ] || die_usage "--stages needs a list"; stages=${2//,/ }; shift 2 ;;
    --shard) [ $# -ge 2 ] || die_usage "--shard needs I/N"; shard=$2; shift 2 ;;
    --budget) [ $# -ge 2 ] || die_usage "--budget needs a duration"; budget=$2; shift 2 ;;
    --torture) [ $# -ge 2 ] || die_usage "--torture needs a duration"; torture_time=$2; shift 2 ;;
    --seed) [ $# -ge 2 ] || die_usage "--seed needs a value"; seed=$2; shift 2 ;;
    --planted) [ $# -ge 2 ] || die_usage "--planted needs a bug name"; planted=$2; shift 2 ;;
    --planted-budget) [ $# -ge 2 ] || die_usage "--planted-budget needs a duration"; planted_budget=$2; shift 2 ;;
    --catch-runs) [ $# -ge 2 ] || die_usage "--catch-runs needs a number"; catch_runs=$2; shift 2 ;;
    --mutants) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die_usage "--mutants needs a positive number"; mutants=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die_usage "--out needs a directory"; out=$2; shift 2 ;;
    --stop-on) [[ "${2:-}" =~ ^C[0-9]+(,C[0-9]+)*$|^(race|crash|timeout)$ ]] || die_usage "--stop-on needs rules like C5,C9"
      stop_on=$2; shift 2 ;;
    --no-setup) setup=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die_usage "unknown argument '$1'" ;;
  esac
done

for s in $stages; do
  case " $ALL_STAGES " in *" $s "*) ;; *) die_usage "unknown stage '$s' (known: $ALL_STAGES)" ;; esac
done
[[ "$shard" =~ ^([0-9]+)/([1-9][0-9]*)$ ]] || die_usage "--shard must look like I/N, got '$shard'"
shard_i=${BASH_REMATCH[1]} shard_n=${BASH_REMATCH[2]}
[ "$shard_i" -lt "$shard_n" ] || die_usage "--shard $shard: I must be below N"
dur_re='^[0-9]+(ms|s|m|h)$'
for d in "$budget" "$torture_time" "$planted_budget"; do
  [[ "$d" =~ $dur_re ]] || die_usage "durations look like 500ms, 30s, 5m or 1h; got '$d'"
done
[[ "$catch_runs" =~ ^[1-9][0-9]*$ ]] || die_usage "--catch-runs must be a positive number"
if [ -n "$planted" ]; then
  for s in $stages; do
    case "$s" in explorer|torture) ;; *) die_usage "--planted gates only the explorer and torture stages (not '$s')" ;; esac
  done
fi

if [ -z "$seed" ]; then
  seed=$(git rev-parse HEAD 2>/dev/null || echo 1)
fi

if [ "$setup" -eq 1 ]; then
  bash scripts/setup-deps.sh || { echo "gate.sh: setup-deps failed" >&2; exit 2; }
fi
command -v jq >/dev/null || die_usage "jq is required (apt-get install jq, or run without --no-setup)"

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/logs" "$out/junit" "$out/artifacts" "$out/summary.md" "$out/junit.xml"
mkdir -p "$out/logs" "$out/junit" "$out/artifacts"
JOBS=$(nproc 2>/dev/null || echo 2)
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1 print_stacktrace=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1 print_stacktrace=1}"

# Results, one entry per stage.
st_names=() st_results=() st_details=() st_seconds=()
failures_md=""     # Markdown list: one item per failure (rule, replay)
coverage_explorer="" coverage_torture=""  # JSON objects window -> hits
pairs_never="" pairs_checked=""             # operation pairs the explorer never overlapped
extra_md=""        # stage-specific sections (catch rates, ...)

record() {  # record NAME pass|fail DETAIL SECONDS
  st_names+=("$1"); st_results+=("$2"); st_details+=("$3"); st_seconds+=("$4")
  printf '\n[gate] %-9s %s  %s (%ss)\n' "$1" "$(echo "$2" | tr a-z A-Z)" "$3" "$4"
}
add_failure() { failures_md+="- $1"$'\n'; }

# junit_case FILE SUITE NAME pass|fail SECONDS MESSAGE: a one-case testsuite
# for stages that are not ctest runs (ci/junit.py: an XML library writes it).
junit_case() {
  /usr/bin/python3 ci/junit.py case "$@" || echo "gate.sh: could not write the JUnit case $3 to $1" >&2
}

# build PRESET [TARGET...]: configure (once) and build incrementally.
build() {
  local preset=$1; shift
  local log="$out/logs/build-$preset.log" targets=()
  for t in "$@"; do targets+=(--target "$t"); done
  echo "[gate] building preset $preset ${*:-(all)}"
  if [ ! -f "build/$preset/build.ninja" ]; then
    cmake --preset "$preset" >"$log" 2>&1 || { tail -n 30 "$log"; return 1; }
  fi
  cmake --build --preset "$preset" --parallel "$JOBS" "${targets[@]}" >>"$log" 2>&1 || { tail -n 40 "$log"; return 1; }
}

TSAN_PREFIX=()
if [[ " $stages " == *" tsan "* || " $stages " == *" torture "* ]] && tsan_needs_no_aslr; then
  echo "[gate] ThreadSanitizer cannot map its shadow here: TSan runs use setarch $(uname -m) -R"
  TSAN_PREFIX=(setarch "$(uname -m)" -R)
fi

# ctest_stage NAME PRESET [ctest label args...]: one ctest run, sharded, with
# its JUnit file; a failing test is listed with the command that reruns it.
ctest_stage() {
  local name=$1 preset=$2; shift 2
  local t0=$SECONDS log="$out/logs/$name.log" junit="$out/junit/$name.xml" prefix=()
  if ! build "$preset"; then
    record "$name" fail "build of preset $preset failed (log: logs/build-$preset.log)" $((SECONDS - t0))
    add_failure "**$name**: the \`$preset\` build failed; see \`logs/build-$preset.log\`."
    junit_case "$junit" "$name ($preset)" "build $preset" fail $((SECONDS - t0)) "build failed"
    return
  fi
  [ "$preset" = tsan ] && prefix=("${TSAN_PREFIX[@]}")
  local shard_args=()
  [ "$shard_n" -gt 1 ] && shard_args=(-I "$((shard_i + 1)),,$shard_n")
  "${prefix[@]}" ctest --test-dir "build/$preset" -j2 --output-on-failure --timeout 300 \
    --output-junit "$junit" "${shard_args[@]}" "$@" >"$log" 2>&1
  local rc=$?
  local line failed
  # ctest names its suite after the project: the stage and preset instead.
  [ -s "$junit" ] && /usr/bin/python3 ci/junit.py rename "$junit" "$name ($preset)"
  line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
  if [ -z "$line" ] && grep -q "No tests were found" "$log"; then
    record "$name" pass "no tests in this shard" $((SECONDS - t0)); return
  fi
  failed=$(sed -n '/The following tests FAILED:/,$p' "$log" | grep -E '^\s+[0-9]+ - ' | sed -E 's/^\s+[0-9]+ - ([^ ]+).*/\1/')
  for t in $failed; do
    add_failure "**$name** \`$t\`: \`ctest --test-dir build/$preset -R '^$t\$' --output-on-failure\` (log: \`logs/$name.log\`)"
  done
  if [ $rc -eq 0 ]; then
    record "$name" pass "${line:-ctest passed}" $((SECONDS - t0))
  else
    record "$name" fail "${line:-ctest failed (exit $rc), see logs/$name.log}" $((SECONDS - t0))
  fi
}

# Sums a wqcheck explore JSON's window hits per window: {"window": hits}.
explorer_windows() {
  jq -c '[.scenarios[].window_hits | to_entries[] | {key: .key, value: ([.value[]] | add // 0)}]
         | group_by(.key) | map({key: .[0].key, value: (map(.value) | add)}) | from_entries' "$1"
}

# explorer_run NAME BUILD_PRESET BUDGET [extra wqcheck args...]: sets
# ex_rc, ex_json; records failures with their replay commands and traces.
explorer_run() {
  local name=$1 preset=$2 bud=$3; shift 3
  ex_json="$out/artifacts/$name.json"
  local log="$out/logs/$name.log" wq="build/$preset/tools/wqcheck"
  # JUnit from wqcheck itself: a testcase per scenario and per failure,
  # with its rule, replay command and (the first of a scenario) the trace
  # written below.
  # Each failure kept is shrunk (5 s each; 5 kept per scenario) and saved
  # as a counterexample file (issue #16): the fewest decisions that break
  # the same rule, for `wqcheck replay --file`, or tests/corpus.
  "$wq" explore --seeds "${seed}+100000000" --shard "$shard_i/$shard_n" --budget "$bud" \
    --json "$ex_json" --junit "$out/junit/$name.xml" --junit-suite "$name ($preset)" \
    --junit-traces "artifacts/$name-" --keep-failures 5 --save-failures "$out/counterexamples" --quiet "$@" >"$log" 2>&1
  ex_rc=$?
  [ -s "$ex_json" ] || return
  # The first failure of each scenario: its rule, headline, replay command
  # and a Perfetto trace (seeds are 64-bit: jq would round them, so the
  # replay command, which wqcheck wrote, carries the seed).
  while IFS=$'\t' read -r scenario count rule headline replay shrunk others; do
    replay="$wq ${replay#wqcheck }"
    local trace="$out/artifacts/$name-$scenario.trace.json"
    # Bounded: the replay of a "timeout" (an engine spinning with no
    # scheduling point) spins too, and that of a "crash" dies; both are
    # reported by the explorer, which ran its seeds in child processes.
    (eval "timeout -k 10 120 $replay --trace-out '$trace'" >"$out/artifacts/$name-$scenario.replay.txt" 2>&1) || true
    add_failure "**$name** rule **$rule** in \`$scenario\` ($count failing runs; the first): $headline"$'\n'"  replay: \`$replay\`"$'\n'"  trace: \`artifacts/$(basename "$trace")\` (open in ui.perfetto.dev), printout: \`artifacts/$name-$scenario.replay.txt\`"$'\n'"  shrunk: $shrunk${others:+$'\n'"  the other failures kept, shrunk: $others"}"
  done < <(jq -r '.scenarios[] | select(.failed | length > 0) | [.scenario, (.failures|tostring), .failed[0].rule, (.failed[0].headline|gsub("[\t\n]";" ")), .failed[0].replay,
                  (.failed[0].shrunk as $s | if $s == null then "not shrunk" elif $s.not_shrunk then "not shrunk: \($s.not_shrunk)"
                   else "\($s.after.preemptions) preemption(s) (from \($s.before.preemptions)), \($s.after.steps) steps (from \($s.before.steps)), \($s.after.threads) threads; file `\($s.file | sub(".*/counterexamples/"; "counterexamples/"))`: `wqcheck replay --file \($s.file | sub(".*/counterexamples/"; "counterexamples/"))`" end | gsub("[\t\n]";" ")),
                  ([.failed[1:][] | "\(.rule) seed \(.seed): " + (.shrunk as $s | if $s == null then "not shrunk" elif $s.not_shrunk then "not shrunk"
                   else "\($s.after.preemptions) preemption(s), `\($s.file | sub(".*/counterexamples/"; "counterexamples/"))`" end)] | join("; "))] | @tsv' "$ex_json")
}

stage_explorer() {
  local t0=$SECONDS junit="$out/junit/explorer.xml" preset=release
  [ -n "$planted" ] && preset=planted
  if ! build "$preset" wqcheck; then
    record explorer fail "build failed" $((SECONDS - t0)); add_failure "**explorer**: build of $preset failed"
    junit_case "$junit" "explorer ($preset)" build fail 0 "build failed"; return
  fi
  local args=()
  [ -n "$planted" ] && args=(--planted "$planted")
  [ -n "$stop_on" ] && args+=(--stop-on "$stop_on")
  explorer_run explorer "$preset" "$budget" "${args[@]}"
  local runs failures rules
  if [ ! -s "$ex_json" ]; then
    record explorer fail "wqcheck explore gave no report (exit $ex_rc): logs/explorer.log" $((SECONDS - t0))
    add_failure "**explorer**: no report; see \`logs/explorer.log\`"
    junit_case "$junit" "explorer ($preset)" "explore all scenarios" fail $((SECONDS - t0)) "no report"; return
  fi
  runs=$(jq '[.scenarios[].runs] | add // 0' "$ex_json")
  failures=$(jq '.failures' "$ex_json")
  rules=$(jq -r '[.scenarios[].failures_by_rule // {} | to_entries[] | .key] | unique | join(",")' "$ex_json")
  coverage_explorer=$(explorer_windows "$ex_json")
  # Pairs of operations (sim/op_coverage.hpp) never in flight at once.
  pairs_never=$(jq -r '(.activity_pairs_never_overlapped // []) | join(", ")' "$ex_json")
  pairs_checked=1
  local detail="$runs runs, $failures failures${rules:+ (rules $rules)}, seeds ${seed:0:12}+, shard $shard_i/$shard_n, budget $budget"
  # wqcheck wrote $junit (a testcase per scenario and per failure).
  if [ "$ex_rc" -eq 0 ] && [ "$failures" -eq 0 ]; then
    record explorer pass "$detail" $((SECONDS - t0))
  else
    record explorer fail "$detail" $((SECONDS - t0))
    [ -s "$junit" ] || junit_case "$junit" "explorer ($preset)" "explore all scenarios" fail $((SECONDS - t0)) "rules broken: $rules"
  fi
}

stage_torture() {
  local t0=$SECONDS junit="$out/junit/torture.xml" preset=tsan prefix=()
  [ -n "$planted" ] && preset=planted
  [ "$preset" = tsan ] && prefix=("${TSAN_PREFIX[@]}")
  if ! build "$preset" lazywq-torture; then
    record torture fail "build failed" $((SECONDS - t0)); add_failure "**torture**: build of $preset failed"
    junit_case "$junit" "torture ($preset)" build fail 0 "build failed"; return
  fi
  # Both workloads on one engine: the weighted operation stream and the
  # rpciod-shaped client (its durations, DependencyCheck and fault plan drawn
  # from the seed). A planted bug is gated on the operation stream alone, the
  # workload its catch rates were measured on.
  local json="$out/artifacts/torture.json" log="$out/logs/torture.log" args=(--workload both)
  [ -n "$planted" ] && args=(--planted "$planted")
  "${prefix[@]}" "build/$preset/tools/lazywq-torture" --duration "$torture_time" --seed "$seed" \
    --json "$json" "${args[@]}" >"$log" 2>&1
  local rc=$?
  local rules="" detail
  if [ -s "$json" ]; then
    coverage_torture=$(jq -c '.window_hits // {}' "$json")
    rules=$(jq -r '[.violations[]?.rule] | unique | join(",")' "$json")
    detail="$(jq -r '"\([.operations[].issued] | add) operations, \(.stats.works_run) works run, \(.events.count) events"' "$json" 2>/dev/null), ${torture_time}, seed ${seed:0:12}"
  else
    detail="no JSON report (exit $rc)"
  fi
  if grep -q "ThreadSanitizer" "$log"; then
    rules="${rules:+$rules,}TSan"
    cp "$log" "$out/artifacts/torture-tsan.log"
  fi
  if [ $rc -eq 0 ]; then
    record torture pass "$detail" $((SECONDS - t0))
    junit_case "$junit" "torture ($preset)" "torture on real threads" pass $((SECONDS - t0)) ""
  else
    record torture fail "$detail${rules:+; broke $rules}" $((SECONDS - t0))
    add_failure "**torture** broke ${rules:-?} (real threads: not replayable step by step): see \`logs/torture.log\`; rerun the same operation stream: \`build/$preset/tools/lazywq-torture ${args[*]} --duration $torture_time --seed $seed\`; for a replayable search run \`wqcheck explore\`"
    junit_case "$junit" "torture ($preset)" "torture on real threads" fail $((SECONDS - t0)) "rules: ${rules:-?}; see logs/torture.log"
  fi
}

# A sample of engine mutants nobody planted (mutation/mutate.py), drawn from
# the seed, each built incrementally in place and run through every checker
# until one kills it. The stage fails when a mutant listed in
# mutation/regressions.txt (it once survived; a checker was added for it)
# survives again, or when the checkers fail on the unmutated engine. A new
# survivor is reported for a person to judge (equivalent, with its reason, in
# mutation/equivalent.txt, or a blind spot to close), not failed: the full
# run's ledger (mutation/REPORT.md) is where the score is kept.
stage_mutation() {
  local t0=$SECONDS log="$out/logs/mutation.log" dir="$out/artifacts/mutation" junit="$out/junit/mutation.xml"
  if ! command -v /usr/bin/python3 >/dev/null || ! /usr/bin/python3 -c 'import clang.cindex' 2>/dev/null; then
    record mutation fail "python3-clang-14 missing" 0; add_failure "**mutation**: apt-get install python3-clang-14"
    junit_case "$junit" mutation setup fail 0 "python3-clang-14 missing"; return
  fi
  /usr/bin/python3 mutation/mutate.py run --in-place --sample "$mutants" --seed "$seed" --out "$dir" --fresh \
    --stop-at-first-kill --explorer-budget 10s --torture-duration 3s --jobs "$JOBS" >"$log" 2>&1
  local rc=$? detail
  detail=$(grep -E '^mutation score' "$log" | tail -n 1)
  [ -n "$detail" ] || detail="no report (exit $rc)"
  if [ -s "$dir/report.json" ]; then
    jq -r '.results[] | "\(.id)\t\(.class)\t\([.checkers | to_entries[] | select(.value.status == "killed") | "\(.key) \(.value.rule)"] | join(", "))"' \
      "$dir/report.json" | while IFS=$'\t' read -r id class by; do
      local res=pass msg=""
      [ "$class" = survived ] && { res=fail; msg="survived every checker: see artifacts/mutation/report.md"; }
      junit_case "$junit" mutation "$id ($class${by:+ by $by})" "$res" 0 "$msg"
    done
    local surv
    surv=$(jq -r '[.results[] | select(.class == "survived") | .id] | join(" ")' "$dir/report.json")
    [ -n "$surv" ] && extra_md+=$'\n'"**Mutation:** new survivor(s), to judge (\`mutation/equivalent.txt\` with the reason) or to kill (a checker that sees it): $(for i in $surv; do printf '`%s` ' "$i"; done)"$'\n'
  fi
  if [ $rc -eq 0 ]; then
    record mutation pass "$detail" $((SECONDS - t0))
  else
    record mutation fail "$detail (exit $rc)" $((SECONDS - t0))
    add_failure "**mutation** (exit $rc: 1 a regression mutant survived, 3 the checkers fail on the unmutated engine): see \`logs/mutation.log\`; rerun: \`/usr/bin/python3 mutation/mutate.py run --sample $mutants --seed $seed\`"
    [ -s "$junit" ] || junit_case "$junit" mutation "mutation stage" fail $((SECONDS - t0)) "exit $rc; see logs/mutation.log"
  fi
}

# The planted bugs and the rules the gate must report for each (docs/ENGINE.md).
PLANTED_CASES=(
  "spawn_fail_loses_work C7,C1"
  "idle_exit_strands_work C8,C15"
  "migrate_reorders C5,C9"
  "migrate_duplicates C1,C9"
  "clear_pending_after_run C2"
  "missing_wakeup C15"
  "blocked_worker_counted_running C16,C19"
  "collision_runs_concurrently C3"
  "stats_without_lock race"
)

stage_planted() {
  local t0=$SECONDS junit="$out/junit/planted-gate.xml"
  ctest_stage planted-checkers planted -L planted
  # The gate itself, run on each planted variant, must fail with the rule.
  local bug rules ok=0 total=0 table="| bug | expected rule | gate (explorer, $planted_budget) | shrunk counterexample | torture catch rate |"$'\n'"|---|---|---|---|---|"$'\n'
  build planted wqcheck lazywq-torture >/dev/null || true
  for c in "${PLANTED_CASES[@]}"; do
    bug=${c%% *} rules=${c#* }
    total=$((total + 1))
    local t1=$SECONDS sub="$out/planted/$bug"
    # It stops at the first failure breaking the bug's rule: the budget is a bound, not a cost.
    bash "$0" --no-setup --planted "$bug" --stages explorer --budget "$planted_budget" --seed "$seed" \
      --stop-on "$rules" --out "$sub" >"$out/logs/planted-$bug.log" 2>&1
    local rc=$? found=""
    [ -s "$sub/artifacts/explorer.json" ] &&
      found=$(jq -r '[.scenarios[].failures_by_rule // {} | to_entries[] | .key] | unique | join(",")' "$sub/artifacts/explorer.json")
    local hit=0
    for r in ${rules//,/ }; do [[ ",$found," == *",$r,"* ]] && hit=1; done
    local verdict
    if [ $rc -eq 1 ] && [ $hit -eq 1 ]; then
      ok=$((ok + 1)); verdict="fails with $found"
      junit_case "$junit" planted-gate "gate fails on $bug with $rules" pass $((SECONDS - t1)) ""
    else
      verdict="NOT CAUGHT (exit $rc, rules '${found:-none}')"
      add_failure "**planted** the gate did not fail on \`$bug\` with $rules (exit $rc, found '${found:-none}'): \`bash ci/gate.sh --planted $bug --stages explorer\`"
      junit_case "$junit" planted-gate "gate fails on $bug with $rules" fail $((SECONDS - t1)) "$verdict"
    fi
    # Real threads may miss a bug: the catch rate is reported, not gated.
    local caught="-"
    if [ -x build/planted/tools/lazywq-torture ]; then
      local n=0 i
      for i in $(seq 0 $((catch_runs - 1))); do
        if build/planted/tools/lazywq-torture --duration 2s --seed "$((i + 1))" --planted "$bug" --expect any \
          >>"$out/logs/planted-$bug-torture.log" 2>&1; then n=$((n + 1)); fi
      done
      caught="$n/$catch_runs"
    fi
    # The shrunk counterexample of its first failure (issue #16).
    local shrunk="-"
    [ -s "$sub/artifacts/explorer.json" ] &&
      shrunk=$(jq -r '[.scenarios[].failed[]] | .[0].shrunk // {} | if .after then "\(.after.preemptions) preemption(s) (from \(.before.preemptions)), \(.after.steps) of \(.before.steps) steps: `planted/'"$bug"'/\(.file | sub(".*/counterexamples/"; "counterexamples/"))`" else (.not_shrunk // "-") end' "$sub/artifacts/explorer.json")
    table+="| \`$bug\` | $rules | $verdict | $shrunk | $caught |"$'\n'
  done
  extra_md+=$'\n'"### Planted bugs"$'\n\n'"$table"
  if [ $ok -eq $total ]; then
    record planted-gate pass "the gate failed with the right rule on $ok/$total planted bugs" $((SECONDS - t0))
  else
    record planted-gate fail "the gate caught only $ok/$total planted bugs" $((SECONDS - t0))
  fi
}

echo "[gate] stages: $stages; shard $shard_i/$shard_n; seed $seed; explorer budget $budget; torture $torture_time${planted:+; PLANTED BUG $planted}"
gate_t0=$SECONDS
for s in $stages; do
  case "$s" in
    # Not the README's commands (label readme: ci/test.sh runs them; one of
    # them is a gate run, which would nest here).
    tsan) ctest_stage tsan tsan -LE readme ;;
    asan) ctest_stage asan asan -LE 'fuzz|readme' ;;
    models) ctest_stage models planted -L model -LE planted ;;
    fuzz) ctest_stage fuzz asan -L fuzz ;;
    explorer) stage_explorer ;;
    torture) stage_torture ;;
    planted) stage_planted ;;
    mutation) stage_mutation ;;
  esac
done

# Fuzz crash files and explorer traces are artifacts.
for d in build/asan/fuzz/smoke build/planted/fuzz/smoke; do
  [ -d "$d" ] || continue
  find "$d" -path '*/artifacts/*' -type f -exec cp {} "$out/artifacts/" \; 2>/dev/null
done

# ---------------------------------------------------------------- reports
status=0
for r in "${st_results[@]}"; do [ "$r" = pass ] || status=1; done

window_table() {
  local names
  names=$(echo "${coverage_explorer:-{\}} ${coverage_torture:-{\}}" | jq -rs 'map(keys) | add | unique | .[]')
  [ -n "$names" ] || return
  echo "| race window | explorer (simulated) | torture (real threads) |"
  echo "|---|---:|---:|"
  for w in $names; do
    local a b
    a=$(echo "${coverage_explorer:-{\}}" | jq -r --arg w "$w" '.[$w] // "-"')
    b=$(echo "${coverage_torture:-{\}}" | jq -r --arg w "$w" '.[$w] // "-"')
    echo "| \`$w\` | $a | $b |"
  done
}
never_hit=""
# Judged on the explorer's runs (the simulator must reach every window),
# the torture's hits added. A torture run alone reports its hits but is not
# judged: real threads rarely put another thread inside idle_exit_decision
# (0 hits in 20 s under TSan), and the workflow runs that stage alone.
if [ -n "$coverage_explorer" ]; then
  never_hit=$(echo "${coverage_explorer:-{\}} ${coverage_torture:-{\}}" |
    jq -rs 'map(to_entries) | add | group_by(.key) | map(select((map(.value) | add) == 0)) | map(.[0].key) | .[]')
  # A window the engine defines but no stage reported at all is never hit too.
fi
if [ -z "$coverage_explorer" ] && [ -n "$coverage_torture" ]; then
  record coverage pass "torture's hits reported, not judged: every window is judged with the explorer's runs" 0
elif [ -n "$never_hit" ] && [ -z "$planted" ]; then
  status=1
  for w in $never_hit; do
    add_failure "**coverage**: race window \`$w\` was never hit with another thread inside (by the explorer or the torture): a checker stopped reaching that race"
  done
  record coverage fail "never hit: $(echo $never_hit)" 0
  junit_case "$out/junit/coverage.xml" coverage "every race window hit" fail 0 "never hit: $(echo $never_hit)"
elif [ -n "$coverage_explorer$coverage_torture" ]; then
  record coverage pass "every race window hit with another thread inside" 0
  junit_case "$out/junit/coverage.xml" coverage "every race window hit" pass 0 ""
fi
if [ -n "$pairs_checked" ] && [ -z "$planted" ]; then
  if [ -n "$pairs_never" ]; then
    status=1
    add_failure "**coverage**: these pairs of operations were never in flight at once in any explorer run: $pairs_never (\`wqcheck explore\` prints the table; add a scenario that overlaps them, or list the pair in sim/op_coverage.cpp's impossible_pairs with the reason)"
    record pairs fail "never overlapped: $pairs_never" 0
    junit_case "$out/junit/coverage.xml" coverage "every pair of operations overlapped" fail 0 "never: $pairs_never"
  else
    record pairs pass "every pair of operations was in flight at once in some run" 0
    junit_case "$out/junit/coverage.xml" coverage "every pair of operations overlapped" pass 0 ""
  fi
fi

{
  echo "# lazywq gate: $([ $status -eq 0 ] && echo PASS || echo FAIL)"
  echo
  echo "Commit \`$(git rev-parse --short HEAD 2>/dev/null || echo '?')\`, seed \`$seed\`, shard $shard_i/$shard_n, $(date -u +%Y-%m-%dT%H:%MZ), $((SECONDS - gate_t0)) s.${planted:+ **Planted bug: \`$planted\`** (the gate is expected to fail).}"
  echo
  echo "| stage | result | detail | seconds |"
  echo "|---|---|---|---:|"
  for i in "${!st_names[@]}"; do
    echo "| ${st_names[$i]} | $([ "${st_results[$i]}" = pass ] && echo '✅ pass' || echo '❌ FAIL') | ${st_details[$i]} | ${st_seconds[$i]} |"
  done
  if [ -n "$failures_md" ]; then
    echo; echo "## Failures"; echo; printf '%s' "$failures_md"
  fi
  if [ -n "$coverage_explorer$coverage_torture" ]; then
    echo; echo "## Race-window coverage"; echo
    echo "Times a thread was inside the window while another engine thread was inside a window too."
    echo; window_table
  fi
  [ -n "$extra_md" ] && printf '%s' "$extra_md"
  echo
  echo "Logs: \`$out/logs\`; artifacts (explorer JSON, Perfetto traces, crash files): \`$out/artifacts\`."
} >"$out/summary.md"

shopt -s nullglob
/usr/bin/python3 ci/junit.py merge "$out/junit.xml" "$out"/junit/*.xml ||
  echo "gate.sh: could not merge the JUnit files of $out/junit" >&2
shopt -u nullglob

[ -n "${GITHUB_STEP_SUMMARY:-}" ] && cat "$out/summary.md" >>"$GITHUB_STEP_SUMMARY"

echo
echo "=================================================================="
cat "$out/summary.md"
echo "=================================================================="
echo "gate: summary $out/summary.md, JUnit $out/junit.xml"
exit $status
