#!/usr/bin/env bash
# Regenerates the committed seed corpora under fuzz/corpus/<target>/.
#   bash fuzz/make_corpus.sh [WQCHECK]
# With a wqcheck binary, the trace corpus is regenerated from real runs
# (wqcheck replay --events-out); without one it is left as it is.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
wqcheck=${1:-}
c=$here/corpus

# hex "0a 1b ..." -> bytes
bytes() { printf "$(echo "$*" | tr -d ' \n' | sed 's/../\\x&/g')"; }

# --- fuzz_sim_ops: header (scenario, seed LE, 8 knob bytes) + schedule -----
# Scenario indices follow all_scenarios(): 0 creation_failure, 1 idle_exit,
# 2 migration, 3 hotplug, 4 flush_cancel_storm, 5 delayed, 6 mixed.
names=(creation_failure idle_exit migration hotplug flush_cancel_storm delayed mixed)
mkdir -p "$c/fuzz_sim_ops"
rm -f "$c/fuzz_sim_ops"/*
sched=$(for i in $(seq 0 95); do printf '%02x' $(( (i * 37 + 11) & 255 )); done)
for i in "${!names[@]}"; do
  seed=$(printf '%02x' $((i + 1)))
  # knobs left to the seed
  bytes "0$i $seed 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00 $sched" >"$c/fuzz_sim_ops/${names[$i]}-swarm"
  # knobs fixed: ncpus=3 (byte 2), idle/cooldown small, the rest first value
  bytes "0$i 2a 00 00 00 00 00 00 00  02 02 02 01 01 01 01 01 $sched" >"$c/fuzz_sim_ops/${names[$i]}-fixed"
done
# No schedule bytes at all: the running thread always continues.
bytes "06 07 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00" >"$c/fuzz_sim_ops/mixed-noschedule"

# --- fuzz_seed ----------------------------------------------------------------
mkdir -p "$c/fuzz_seed"
rm -f "$c/fuzz_seed"/*
printf '1' >"$c/fuzz_seed/decimal"
printf '0x2a' >"$c/fuzz_seed/hex"
printf '18446744073709551615' >"$c/fuzz_seed/max"
printf '463fbb3a1b2c3d4e5f60718293a4b5c6d7e8f901' >"$c/fuzz_seed/commit"
printf '12abc' >"$c/fuzz_seed/bad"

# --- fuzz_options: scenario \n strategy \n planted bug \n params... ----------
mkdir -p "$c/fuzz_options"
rm -f "$c/fuzz_options"/*
printf 'migration\nrandom\n\nburst=3\nrounds=2' >"$c/fuzz_options/migration"
printf 'mixed\npct:3:2000\nnone\nkind=1,ops=10' >"$c/fuzz_options/mixed-pct"
printf 'idle_exit\npreempt:2\n\nrounds=5,clients=1' >"$c/fuzz_options/idle-preempt"
printf 'creation_failure\nbytes\nspawn_fail_loses_work\nfail_p=0.5' >"$c/fuzz_options/creation-bytes"
printf 'delayed\nrandom\n\nmax_delay_us=20\nncpus=2' >"$c/fuzz_options/delayed"
printf 'hotplug\npct:x\n\nkind=7' >"$c/fuzz_options/bad-strategy"

# --- fuzz_trace -------------------------------------------------------------
mkdir -p "$c/fuzz_trace"
if [ -n "$wqcheck" ]; then
  rm -f "$c/fuzz_trace"/*
  "$wqcheck" replay --scenario idle_exit --seed 3 --param rounds=4,clients=1 --no-trace \
    --events-out "$c/fuzz_trace/idle_exit.trace" >/dev/null || true
  "$wqcheck" replay --scenario creation_failure --seed 5 --param ops=6,clients=1,works=2 --no-trace \
    --events-out "$c/fuzz_trace/creation_failure.trace" >/dev/null || true
  "$wqcheck" replay --scenario delayed --seed 2 --param ops=8,delayed=1 --no-trace \
    --events-out "$c/fuzz_trace/delayed.trace" >/dev/null || true
  printf '# 2 events: #seq time thread cpu type queue work arg\n#0 t=0ns thr=ext0 cpu=-1 create wq=1 arg=1\n#1 t=1000ns thr=w1 cpu=0 spawn wq=1 arg=0\n' \
    >"$c/fuzz_trace/tiny.trace"
  printf '# 3 events: truncated\n#0 t=0ns thr=ext0 cpu=-1 create wq=1 arg=1\n' >"$c/fuzz_trace/bad-count.trace"
fi

# --- fuzz_program (sim/program.hpp format) -----------------------------------
mkdir -p "$c/fuzz_program"
rm -f "$c/fuzz_program"/*
cat >"$c/fuzz_program/lazy" <<'P'
# two callers race a queueing against a cancel
kind lazy
ncpus 3
works 2
callers 2
idle_us 20
cooldown_us 10
busy_us 5
seed 42
strategy random
c0 queue_work_on 1 w0
c1 cancel_work_sync w0
c0 flush_work w0
c1 queue_delayed_work_on 2 w1 30
c0 mod_delayed_work 1 w1 5
c1 cancel_delayed_work_sync w1
c0 flush_workqueue
P
cat >"$c/fuzz_program/faults" <<'P'
kind per_cpu
ncpus 4
works 3
callers 1
seed 0x10
strategy pct:3:2000
c0 fail_spawns 2
c0 queue_work_on 3 w2
c0 cpu_offline 3
c0 sleep 50
c0 cpu_online 3
c0 cancel_work w2
c0 drain_workqueue
c0 destroy
P
printf 'kind ordered\nworks 1\nc0 queue_work_on 9 w0\nc0 queue_delayed_work_on 0 w0 -5\n' >"$c/fuzz_program/errors"
printf 'kind lazy\nc3 queue_work_on 0 w0\n' >"$c/fuzz_program/bad-caller"

for d in "$c"/*/; do echo "$(basename "$d"): $(ls "$d" | wc -l) files"; done
