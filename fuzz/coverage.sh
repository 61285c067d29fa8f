#!/usr/bin/env bash
# Coverage of the engine (and simulator) by a fuzz corpus, with llvm-cov.
#
#   bash fuzz/coverage.sh [TARGET...] [--corpus-root DIR] [--build DIR] [--out DIR]
#
# Builds the targets with -fprofile-instr-generate -fcoverage-mapping (no
# sanitizer; build/fuzz-coverage), runs each over its committed seed corpus
# plus DIR/<target>/corpus (default build/fuzz-campaign, what campaign.sh
# keeps), merges the profiles (llvm-profdata-14) and prints llvm-cov-14's
# report of engine/ files; an HTML report of engine/ and sim/ goes to
# --out (default build/fuzz-coverage/report/index.html).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
targets=()
corpus_root=$ROOT/build/fuzz-campaign
build=$ROOT/build/fuzz-coverage
out=
while [ $# -gt 0 ]; do
  case $1 in
    --corpus-root) corpus_root=$(realpath -m "$2"); shift 2 ;;
    --build) build=$(realpath -m "$2"); shift 2 ;;
    --out) out=$(realpath -m "$2"); shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "coverage.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_sim_ops)
[ -z "$out" ] && out=$build/report
PROFDATA=$(command -v llvm-profdata-14 || command -v llvm-profdata) || { echo "coverage.sh: llvm-profdata-14 missing (apt-get install llvm-14)" >&2; exit 2; }
COV=$(command -v llvm-cov-14 || command -v llvm-cov) || { echo "coverage.sh: llvm-cov-14 missing (apt-get install llvm-14)" >&2; exit 2; }

cmake -S "$ROOT" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug \
  -DLAZYWQ_SANITIZE= -DLAZYWQ_FUZZ=ON -DLAZYWQ_FUZZ_COVERAGE=ON -DLAZYWQ_BUILD_TESTS=OFF >/dev/null || exit 2
cmake --build "$build" --target "${targets[@]}" || exit 2

prof=$build/profiles
rm -rf "$prof" && mkdir -p "$prof"
objects=()
for t in "${targets[@]}"; do
  dirs=("$ROOT/fuzz/corpus/$t")
  [ -d "$corpus_root/$t/corpus" ] && dirs+=("$corpus_root/$t/corpus")
  echo "coverage: $t over ${dirs[*]}"
  LLVM_PROFILE_FILE="$prof/$t-%p.profraw" "$build/fuzz/$t" -runs=0 -max_len=4096 "${dirs[@]}" >"$prof/$t.log" 2>&1 ||
    echo "coverage: $t exited non-zero (a crashing input in the corpus?), see $prof/$t.log"
  objects+=(-object "$build/fuzz/$t")
done
"$PROFDATA" merge -sparse "$prof"/*.profraw -o "$prof/merged.profdata" || exit 2
# llvm-cov takes the first binary as a positional argument, the others as -object.
first=${objects[1]}
rest=("${objects[@]:2}")
echo
echo "=================== engine coverage (${targets[*]}) ==================="
"$COV" report "$first" "${rest[@]}" -instr-profile="$prof/merged.profdata" \
  "$ROOT/engine/include/lazywq" "$ROOT/engine/src"
"$COV" show "$first" "${rest[@]}" -instr-profile="$prof/merged.profdata" -format=html -output-dir="$out" \
  -show-line-counts-or-regions "$ROOT/engine" "$ROOT/sim" >/dev/null &&
  echo "HTML report (engine and simulator): $out/index.html"
