#!/usr/bin/env bash
# The README's table of Relacy models lists every model `lazywq_models
# --list` knows, and no other; so does ctest's list (LAZYWQ_MODELS in
# models/CMakeLists.txt: a model registered but left out of it never ran in
# CI, as rescuer_queue_flush and rescuer_single_flush did not until
# 2026-12-08).
#   models/readme_table.sh LAZYWQ_MODELS README ["CTEST MODEL NAMES"]
set -u
models=$1 readme=$2 ctest_list=${3-}
known=$("$models" --list | awk '{print $1}' | sort)
if [ -n "$ctest_list" ]; then
  in_ctest=$(tr ' ;' '\n\n' <<<"$ctest_list" | grep -v '^$' | sort)
  no_test=$(comm -23 <(echo "$known") <(echo "$in_ctest"))
  no_model=$(comm -13 <(echo "$known") <(echo "$in_ctest"))
  [ -n "$no_test" ] && echo "FAIL: models with no ctest (add them to LAZYWQ_MODELS in models/CMakeLists.txt): $(echo $no_test)"
  [ -n "$no_model" ] && echo "FAIL: LAZYWQ_MODELS names models that do not exist: $(echo $no_model)"
  [ -n "$no_test$no_model" ] && exit 1
  echo "ok: ctest runs the $(echo "$in_ctest" | wc -l) models"
fi
listed=$(sed -n '/^### Relacy models/,/^### /p' "$readme" | grep -oE '^\| `[a-z_0-9]+`' | tr -d '|` ' | sort)
missing=$(comm -23 <(echo "$known") <(echo "$listed"))
stale=$(comm -13 <(echo "$known") <(echo "$listed"))
[ -n "$missing" ] && echo "FAIL: models missing from the README's table: $(echo $missing)"
[ -n "$stale" ] && echo "FAIL: the README's table lists models that do not exist: $(echo $stale)"
[ -z "$missing$stale" ] && echo "ok: the README's table lists the $(echo "$known" | wc -l) models"
[ -z "$missing$stale" ]
