#!/usr/bin/env bash
# The main command: set-up, a release build, and the demo that reproduces
# the seed's headline (64 queues on 8 virtual CPUs, per_cpu vs lazy).
# Extra arguments go to the demo (try --help).
set -euo pipefail

cd "$(dirname "$0")/.."

bash scripts/setup-deps.sh
cmake --preset release
cmake --build --preset release --target lazywq-demo --parallel "$(nproc 2>/dev/null || echo 2)"

echo
exec build/release/tools/lazywq-demo "$@"
