#!/usr/bin/env bash
# The README's table of Relacy models lists every model `lazywq_models
# --list` knows, and no other.   models/readme_table.sh LAZYWQ_MODELS README
set -u
models=$1 readme=$2
known=$("$models" --list | awk '{print $1}' | sort)
listed=$(sed -n '/^### Relacy models/,/^### /p' "$readme" | grep -oE '^\| `[a-z_0-9]+`' | tr -d '|` ' | sort)
missing=$(comm -23 <(echo "$known") <(echo "$listed"))
stale=$(comm -13 <(echo "$known") <(echo "$listed"))
[ -n "$missing" ] && echo "FAIL: models missing from the README's table: $(echo $missing)"
[ -n "$stale" ] && echo "FAIL: the README's table lists models that do not exist: $(echo $stale)"
[ -z "$missing$stale" ] && echo "ok: the README's table lists the $(echo "$known" | wc -l) models"
[ -z "$missing$stale" ]
