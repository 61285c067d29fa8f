#!/usr/bin/env bash
# Every tool answers --version with its name, the library's version (the
# one in lazywq/version.hpp) and a commit, and exits 0 (issue #15).
set -euo pipefail
header=$1; shift
version=$(sed -n 's/^#define LAZYWQ_VERSION_STRING "\(.*\)"$/\1/p' "$header")
[ -n "$version" ] || { echo "no LAZYWQ_VERSION_STRING in $header"; exit 1; }
status=0
for tool in "$@"; do
  out=$("$tool" --version) || { echo "FAIL: $tool --version exited $?"; status=1; continue; }
  name=$(basename "$tool")
  if [[ "$out" =~ ^$name\ \(lazywq\ $version,\ commit\ [0-9a-f]{12}(-dirty)?\)$ ]] || \
     [[ "$out" =~ ^$name\ \(lazywq\ $version,\ commit\ unknown\)$ ]]; then
    echo "ok: $out"
  else
    echo "FAIL: $tool --version printed '$out'"
    status=1
  fi
done
exit $status
