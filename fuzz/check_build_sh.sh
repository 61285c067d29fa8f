#!/usr/bin/env bash
# check_build_sh.sh WORKDIR: runs .clusterfuzzlite/build.sh as ClusterFuzzLite
# would for an ASan+UBSan build (here, with clang++-14), then checks that
# $OUT has every target with its .options, .dict and seed corpus zip, and
# that every target runs its seed corpus from the zip.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
work=$(realpath -m "$1")
rm -rf "$work/out" "$work/corpus"
mkdir -p "$work/out"
export CXX=${CXX_FOR_CHECK:-clang++-14}
export CXXFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
export LIB_FUZZING_ENGINE=-fsanitize=fuzzer
export OUT=$work/out
export LAZYWQ_FUZZ_BUILD_DIR=$work/build
bash "$ROOT/.clusterfuzzlite/build.sh"
status=0
# Every target that has a .options file in fuzz/ must come out of build.sh.
targets=$(cd "$ROOT/fuzz" && ls fuzz_*.options | sed 's/\.options$//')
[ -n "$targets" ] || { echo "no fuzz/*.options found"; exit 1; }
for t in $targets; do
  for f in "$t" "$t.options" "$t.dict" "${t}_seed_corpus.zip"; do
    [ -e "$OUT/$f" ] || { echo "MISSING: \$OUT/$f"; status=1; }
  done
  mkdir -p "$work/corpus/$t"
  (cd "$work/corpus/$t" && cmake -E tar xf "$OUT/${t}_seed_corpus.zip")
  if "$OUT/$t" -runs=0 "$work/corpus/$t" >"$work/$t.log" 2>&1; then
    echo "ok: $t runs its seed corpus ($(ls "$work/corpus/$t" | wc -l) inputs)"
  else
    echo "FAILED: $t on its seed corpus"; tail -n 20 "$work/$t.log"; status=1
  fi
done
exit $status
