#!/usr/bin/env bash
# Builds tests/consumer against lazywq one way and runs the README's example
# (ctest consumer.<way>). Usage:
#   check.sh package      CHECKOUT WORKDIR BUILD_DIR   (installs BUILD_DIR's engine into WORKDIR/prefix)
#   check.sh subdirectory CHECKOUT WORKDIR
#   check.sh fetchcontent CHECKOUT WORKDIR             (the checkout's HEAD, through git)
# The example's expected output is checked, and the consumer's ctest must
# hold its own test only (none of lazywq's).
set -euo pipefail
via=$1 checkout=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
args=(-S "$checkout/tests/consumer" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release
      -DLAZYWQ_VIA="$via" -DLAZYWQ_CHECKOUT="$checkout")
[ -n "${CXX:-}" ] && args+=(-DCMAKE_CXX_COMPILER="$CXX")
case $via in
  package)
    cmake --install "$4" --prefix "$work/prefix" > "$work/install.log"
    args+=(-DCMAKE_PREFIX_PATH="$work/prefix")
    ;;
  fetchcontent)
    args+=(-DLAZYWQ_GIT_TAG="$(git -C "$checkout" rev-parse HEAD)")
    ;;
esac
cmake "${args[@]}" > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" > "$work/build.log" || { tail -50 "$work/build.log"; exit 1; }
out=$("$work/build/readme_example")
echo "$out"
grep -q '^tick$' <<< "$out" || { echo "check.sh: the example printed no 'tick'"; exit 1; }
grep -q '^runs=1 threads created=' <<< "$out" || { echo "check.sh: the example's work did not run once"; exit 1; }
if [ "$via" = package ]; then
  # pkg-config too: the same example built by hand from lazywq.pc's flags.
  pc=$(find "$work/prefix" -name lazywq.pc -printf '%h\n' | head -n 1)
  read -r -a flags <<< "$(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs lazywq)"
  echo "pkg-config --cflags --libs lazywq: ${flags[*]}"
  "${CXX:-c++}" "$work/build/readme_example.cpp" "${flags[@]}" -o "$work/readme_example_pc"
  "$work/readme_example_pc" | grep -q '^runs=1 threads created=' || { echo "check.sh: the pkg-config build failed its run"; exit 1; }
fi
n=$(ctest --test-dir "$work/build" -N | sed -n 's/^Total Tests: //p')
[ "$n" = 1 ] || { echo "check.sh: the consumer's ctest holds $n tests, not its own 1"; exit 1; }
echo "check.sh: consumer via $via: ok"
