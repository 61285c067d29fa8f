#!/usr/bin/env bash
# A fuzzing campaign in a time budget.
#
#   bash fuzz/campaign.sh [TARGET...|all] [--budget 10m] [--jobs N] [--build DIR] [--work DIR] [--coverage]
#                         [--add-to-corpus]
#
# For each target (default: fuzz_sim_ops; `all` = every target, the budget
# split evenly): libFuzzer fork mode on all cores (-fork=N -ignore_crashes=1)
# from the committed seed corpus plus the corpus of earlier campaigns, then
# -merge=1 to minimise the corpus, then every crash file is run again
# through the target and grouped by its finding (rule and location for an
# oracle violation, the sanitizer summary otherwise). Ends with a summary:
# executions per second (total and per core), corpus size, coverage
# features, crashes per group with the smallest input and its replay
# command. --coverage also runs fuzz/coverage.sh over the merged corpus.
# The smallest crash of each group is minimised (-minimize_crash=1, 30 s)
# and, for fuzz_sim_ops, shrunk to a counterexample file (wqcheck shrink
# --fuzz-input: the fewest scheduling decisions, issue #16) in
# <target>/counterexamples; --add-to-corpus copies those files into
# tests/corpus, the regression corpus ctest replays (commit them).
#
# Binaries: DIR/fuzz/<target> (default build/fuzz, configured and built
# here with ASan+UBSan if missing). State: --work (default build/fuzz-campaign):
# <target>/corpus (kept between campaigns), <target>/crashes, logs.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
targets=()
budget=10m
jobs=$(nproc 2>/dev/null || echo 2)
build=$ROOT/build/fuzz
work=$ROOT/build/fuzz-campaign
coverage=0
add_to_corpus=0
while [ $# -gt 0 ]; do
  case $1 in
    --budget) budget=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --build) build=$(realpath -m "$2"); shift 2 ;;
    --work) work=$(realpath -m "$2"); shift 2 ;;
    --coverage) coverage=1; shift ;;
    --add-to-corpus) add_to_corpus=1; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    -*) echo "campaign.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all_targets=(fuzz_sim_ops fuzz_seed fuzz_options fuzz_trace)
[ -f "$ROOT/sim/program.cpp" ] && all_targets+=(fuzz_program)
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_sim_ops)
[ "${targets[0]}" = all ] && targets=("${all_targets[@]}")

to_seconds() {
  local t=$1
  case $t in
    *h) echo $(( ${t%h} * 3600 )) ;;
    *m) echo $(( ${t%m} * 60 )) ;;
    *s) echo "${t%s}" ;;
    *) echo "$t" ;;
  esac
}
total=$(to_seconds "$budget") || exit 2
per=$(( total / ${#targets[@]} ))
[ "$per" -lt 5 ] && per=5

if [ ! -x "$build/fuzz/${targets[0]}" ]; then
  echo "campaign: building the fuzz targets in $build (ASan + UBSan)"
  cmake -S "$ROOT" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLAZYWQ_SANITIZE=address,undefined -DLAZYWQ_FUZZ=ON >/dev/null || exit 2
  cmake --build "$build" --target fuzz_targets wqcheck || exit 2
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
summary=()
for t in "${targets[@]}"; do
  bin=$build/fuzz/$t
  [ -x "$bin" ] || { echo "campaign: no binary $bin" >&2; exit 2; }
  d=$work/$t
  mkdir -p "$d/corpus" "$d/crashes" "$d/logs"
  echo
  echo "=== $t: fork mode, $jobs jobs, ${per}s ==="
  start=$(date +%s)
  (cd "$d/logs" && "$bin" -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
      -max_total_time="$per" -max_len=4096 -timeout=25 -dict="$ROOT/fuzz/$t.dict" \
      -artifact_prefix="$d/crashes/" "$d/corpus" "$ROOT/fuzz/corpus/$t" >"$d/logs/fuzz.log" 2>&1)
  secs=$(( $(date +%s) - start ))
  # Fork mode prints "#EXECS: cov: .. ft: .. corp: .. exec/s: .. oom/timeout/crash: a/b/c time: ..".
  last=$(grep -E '^#[0-9]+: cov:' "$d/logs/fuzz.log" | tail -n 1)
  execs=$(echo "$last" | sed -E 's/^#([0-9]+):.*/\1/')
  ft=$(echo "$last" | sed -nE 's/.* ft: ([0-9]+).*/\1/p')
  [ -z "$execs" ] && execs=0

  echo "=== $t: merge and minimise the corpus ==="
  rm -rf "$d/corpus.min" && mkdir -p "$d/corpus.min"
  "$bin" -merge=1 -max_len=4096 "$d/corpus.min" "$d/corpus" "$ROOT/fuzz/corpus/$t" >"$d/logs/merge.log" 2>&1
  if [ "$(ls "$d/corpus.min" | wc -l)" -gt 0 ]; then
    rm -rf "$d/corpus" && mv "$d/corpus.min" "$d/corpus"
  fi
  ncorp=$(ls "$d/corpus" | wc -l)

  echo "=== $t: dedup crashes ==="
  declare -A group_count=() group_file=() group_size=()
  ncrash=0
  for f in "$d"/crashes/crash-* "$d"/crashes/timeout-* "$d"/crashes/leak-* "$d"/crashes/oom-*; do
    [ -f "$f" ] || continue
    ncrash=$((ncrash + 1))
    out=$(timeout 120 "$bin" -runs=1 "$f" 2>&1)
    key=$(echo "$out" | grep -m1 '^==lazywq-fuzz== DEDUP' | sed 's/^==lazywq-fuzz== DEDUP //')
    if [ -z "$key" ]; then
      key=$(echo "$out" | grep -m1 -E '^SUMMARY: ' | sed -E 's/^SUMMARY: //; s/\(.*\+0x[0-9a-f]+\)//')
      frame=$(echo "$out" | grep -m1 -E '#[0-9]+ 0x[0-9a-f]+ in .*(/engine/|/sim/)' | sed -E 's/.* in //')
      [ -n "$frame" ] && key="$key @ $frame"
    fi
    [ -z "$key" ] && key="$(basename "$f" | cut -d- -f1): no longer reproduces"
    size=$(stat -c %s "$f")
    group_count[$key]=$(( ${group_count[$key]:-0} + 1 ))
    if [ -z "${group_size[$key]:-}" ] || [ "$size" -lt "${group_size[$key]}" ]; then
      group_size[$key]=$size
      group_file[$key]=$f
    fi
  done
  rate=$(( secs > 0 ? execs / secs : 0 ))
  line=$(printf '%-14s %6ss %10s execs %7s exec/s %7s exec/s/core  corpus %5s  features %6s  crashes %s in %s group(s)' \
    "$t" "$secs" "$execs" "$rate" "$(( rate / jobs ))" "$ncorp" "${ft:-?}" "$ncrash" "${#group_count[@]}")
  summary+=("$line")
  for k in "${!group_count[@]}"; do
    f=${group_file[$k]}
    summary+=("    ${group_count[$k]}x  $k")
    # libFuzzer's own minimisation of the input, then (fuzz_sim_ops) the
    # schedule's: a counterexample file with the fewest decisions.
    min="$d/crashes/minimized-$(basename "$f")"
    if (cd "$d/logs" && timeout 120 "$bin" -minimize_crash=1 -max_total_time=30 -exact_artifact_path="$min" "$f" \
          >"$d/logs/minimize-$(basename "$f").log" 2>&1) && [ -s "$min" ] && [ "$(stat -c %s "$min")" -lt "$(stat -c %s "$f")" ]; then
      summary+=("         smallest: $f, minimised to $(stat -c %s "$min") of $(stat -c %s "$f") bytes: $min")
      f=$min
    else
      summary+=("         smallest: $f")
    fi
    if [ "$t" = fuzz_sim_ops ]; then
      summary+=("         replay:   wqcheck replay --fuzz-input $f   (or: $bin $f)")
      mkdir -p "$d/counterexamples"
      ce="$d/counterexamples/$(basename "$f").json"
      if timeout 300 "$build/tools/wqcheck" shrink --fuzz-input "$f" --budget 30s --quiet --out "$ce" >"$d/logs/shrink-$(basename "$f").log" 2>&1; then
        summary+=("         shrunk:   $ce ($(grep -m1 -E '^schedule' "$d/logs/shrink-$(basename "$f").log"))")
        if [ "$add_to_corpus" = 1 ]; then
          cp "$ce" "$ROOT/tests/corpus/fuzz-$(basename "$ce")"
          summary+=("         added to the regression corpus: tests/corpus/fuzz-$(basename "$ce") (commit it)")
        else
          summary+=("         keep it:  cp $ce $ROOT/tests/corpus/  (or rerun with --add-to-corpus)")
        fi
      else
        summary+=("         not shrunk: see $d/logs/shrink-$(basename "$f").log")
      fi
    else
      summary+=("         replay:   $bin $f")
    fi
  done
  unset group_count group_file group_size
done

if [ "$coverage" = 1 ]; then
  args=()
  for t in "${targets[@]}"; do args+=("$t"); done
  bash "$ROOT/fuzz/coverage.sh" --corpus-root "$work" "${args[@]}"
fi

echo
echo "=================== campaign summary (budget $budget, $jobs jobs) ==================="
for s in "${summary[@]}"; do echo "$s"; done
echo "corpora and crashes: $work/<target>/"
