#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build script: builds the libFuzzer targets with
# the flags the infrastructure gives (CXX, CXXFLAGS, LIB_FUZZING_ENGINE) and
# puts them into $OUT with their .options, .dict and seed corpus zips.
# Runs outside Docker too (fuzz/check_build_sh.sh does so in CI):
#   CXX=clang++-14 CXXFLAGS="-fsanitize=address,undefined -fsanitize=fuzzer-no-link" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out bash .clusterfuzzlite/build.sh
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# In the image build.sh is copied to $SRC; the sources are in $SRC/lazywq.
[ -f "$SRC_DIR/fuzz/CMakeLists.txt" ] || SRC_DIR=${SRC:-/src}/lazywq
: "${CXX:=clang++}" "${CXXFLAGS:=}" "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}" "${OUT:?OUT must be set}"
BUILD_DIR=${LAZYWQ_FUZZ_BUILD_DIR:-${WORK:-/tmp}/lazywq-fuzz-build}
mkdir -p "$OUT"

cmake -S "$SRC_DIR" -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_CXX_FLAGS="$CXXFLAGS" -DCMAKE_BUILD_TYPE=None \
  -DLAZYWQ_SANITIZE= -DLAZYWQ_FUZZ=ON -DLAZYWQ_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" -DLAZYWQ_BUILD_TESTS=OFF
cmake --build "$BUILD_DIR" --target fuzz_targets

targets=$(cd "$BUILD_DIR/fuzz" && ls fuzz_* | grep -v '\.' || true)
for t in $targets; do
  [ -x "$BUILD_DIR/fuzz/$t" ] || continue
  cp "$BUILD_DIR/fuzz/$t" "$OUT/"
  cp "$SRC_DIR/fuzz/$t.options" "$SRC_DIR/fuzz/$t.dict" "$OUT/"
  rm -f "$OUT/${t}_seed_corpus.zip"
  (cd "$SRC_DIR/fuzz/corpus/$t" && cmake -E tar cf "$OUT/${t}_seed_corpus.zip" --format=zip -- *)
  echo "build.sh: $OUT/$t (+ .options, .dict, _seed_corpus.zip)"
done
