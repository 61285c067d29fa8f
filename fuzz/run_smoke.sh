#!/usr/bin/env bash
# run_smoke.sh FUZZER WORKDIR RUNS DICT CORPUS: a seeded, repeatable smoke run
# of a fuzz target from its committed corpus. New inputs and crash files go
# to WORKDIR (emptied first), never into the committed corpus.
set -euo pipefail
fuzzer=$1 work=$2 runs=$3 dict=$4 corpus=$5
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
exec "$fuzzer" -seed=1 -runs="$runs" -max_total_time=120 -max_len=4096 -dict="$dict" \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$corpus"
