#!/usr/bin/python3
"""lazywq mutation testing: how many realistic engine bugs, planted by
nobody, does the harness catch?

  mutation/mutate.py list [--operator OP] [--json FILE]
  mutation/mutate.py show MUTANT_ID
  mutation/mutate.py run [--sample N --seed S | --ids ID,...] [--shard I/N]
                         [--checkers LIST] [--out DIR] [--stop-at-first-kill]
  mutation/mutate.py report --out DIR

The mutants come from the engine's syntax (mutation/sites.py, libclang):
ten operators for concurrent code. `run` copies the working tree to
build/mutation/src (so the checkout is never touched), builds it once
(release preset; tsan too when a memory-order mutant needs it), runs every
checker on the unmutated engine (all must pass), then per mutant: writes
the mutated header, rebuilds (the engine is compiled once per platform, so
a mutant recompiles a handful of units), classifies it, runs the checkers
with fixed budgets, restores the header. Results go to OUT/results.jsonl
as they come (a rerun with the same OUT skips what is done) and
OUT/report.{md,json} at the end.

Classes: killed (some checker failed), survived, uncompilable (the build
failed: never a kill), equivalent-tce (every rebuilt object file is
byte-identical to the unmutated build: it changes nothing observable,
trivial compiler equivalence), timeout-build. Survivors judged equivalent
by a person are listed, each with its reason, in mutation/equivalent.txt.

Exit status: 0 done (and, for a sample, no mutant of mutation/regressions.txt
survived), 1 a regression mutant survived, 2 bad usage, 3 the checkers fail
on the unmutated engine (fix that first).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import sites  # noqa: E402

# The checkers, cheapest first. Every checker sees every operator: the
# simulator (explorer, properties, fuzz) is sequentially consistent, but
# its happens-before check (sim/happens_before.hpp, rule "race") honours
# the memory orders, so a relaxed order that leaves a field unordered is a
# race there (session 24; before it, memory-order mutants were n/a there).
# Order: what kills fastest first (the explorer's rounds find most mutants
# in well under a second), the slowest on a survivor (models, 20 s) last,
# so that `--kills-enough 2` spends little on a mutant two checkers catch.
CHECKERS = ["explorer", "properties", "fuzz", "unit", "torture", "models", "publication"]
CHECKER_TEXT = {
    "explorer": "wqcheck explore, every scenario (simulator)",
    "unit": "ctest -L 'unit|sim|oracle' (real threads and simulator)",
    "properties": "rapidcheck operation programs (simulator)",
    "models": "Relacy models (memory order, every interleaving up to a bound)",
    "fuzz": "fuzz_sim_ops smoke (libFuzzer, simulator)",
    "torture": "lazywq-torture --workload both (real threads; ThreadSanitizer for memory-order and lock mutants)",
    "publication": "ThreadSanitizer tests of what the public atomic getters publish (memory-order and lock mutants)",
}


# A lock mutant that Clang's -Wthread-safety rejects (most of unlock_early
# and lock_late) is built once more without the analysis, in this build
# directory, and checked there: what the dynamic checkers would catch where
# no such analysis runs (GCC, or code without annotations). Reported apart;
# the rejection itself is never a kill.
NO_TSA = "release-nots"

# The release targets each checker runs (None: the whole build; ctest's
# tests use most binaries). A mutant is built for its checkers one at a
# time: the explorer and the properties share the simulator's engine
# object, about 10 s of the 50 s of CPU that the five engine objects cost,
# and most mutants are killed by those two.
CHECKER_TARGETS = {"explorer": ["wqcheck"], "properties": ["lazywq_property_tests"], "fuzz": ["fuzz_sim_ops"],
                   "unit": None, "torture": ["lazywq-torture"], "models": ["lazywq_models"],
                   "publication": []}  # TSan only: built with the tsan build (TSAN_TARGETS)
# What the tsan build compiles for a memory-order or lock mutant.
TSAN_TARGETS = ["lazywq-torture", "lazywq_publication_tests"]


def log(msg: str) -> None:
    print(f"[mutation] {msg}", flush=True)


def sh(cmd, cwd=None, timeout=None, env=None) -> tuple[int, str, float]:
    """Runs cmd; returns (exit code, combined output, seconds). A timeout is
    exit 124, with the output so far; the whole process group is killed
    (a ctest's tests too, which would otherwise run on, orphaned, beside
    the next mutant's checks)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace", start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out, time.monotonic() - t0
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, _ = p.communicate()
        return 124, out or "", time.monotonic() - t0


# ---------------------------------------------------------------------------
# The mutant set


def load_mutants(include_dir=None):
    return sites.find_mutants(include_dir or os.path.join(ROOT, "engine", "include"))


def mutant_diff(m, include_dir) -> str:
    path = os.path.join(include_dir, "lazywq", m.header)
    with open(path, "rb") as f:
        before = f.read()
    after = sites.apply(before, m)
    return "".join(difflib.unified_diff(before.decode().splitlines(True), after.decode().splitlines(True),
                                        f"a/engine/include/lazywq/{m.header}", f"b/engine/include/lazywq/{m.header}", n=2))


def sample(mutants, n, seed, stratify=True):
    """n mutants drawn from seed: a hash order, one operator class at a time
    in turn, so that a small sample still spans the operators."""
    key = lambda m: hashlib.sha256(f"{seed}:{m.id}".encode()).hexdigest()  # noqa: E731
    if not stratify:
        return sorted(mutants, key=key)[:n]
    by_op = {}
    for m in sorted(mutants, key=key):
        by_op.setdefault(m.operator, []).append(m)
    ops = sorted(by_op, key=lambda o: hashlib.sha256(f"{seed}:{o}".encode()).hexdigest())
    out = []
    while len(out) < n and any(by_op.values()):
        for o in ops:
            if by_op[o] and len(out) < n:
                out.append(by_op[o].pop(0))
    return out


def read_list(path):
    """mutation/equivalent.txt and regressions.txt: `ID || reason` lines."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            mid, _, reason = line.partition("||")
            out[mid.strip()] = reason.strip()
    return out


# ---------------------------------------------------------------------------
# The build


class Workspace:
    """A copy of the working tree under build/mutation/src, with its builds."""

    def __init__(self, root: str, jobs: int, in_place: bool = False):
        self.root = root
        self.in_place = in_place
        # In place (the gate, on a throwaway clone): the checkout's own
        # headers and build/<preset>, so a mutant rebuilds incrementally from
        # what the gate already built.
        self.src = ROOT if in_place else os.path.join(root, "src")
        self.jobs = jobs
        self.include = os.path.join(self.src, "engine", "include")
        self.env = dict(os.environ, CCACHE_BASEDIR=self.src, CCACHE_NOHASHDIR="1")
        self.built = set()

    def copy_tree(self) -> None:
        if self.in_place:
            rc, out, _ = sh(["git", "status", "--porcelain", "--", "engine/include"], cwd=ROOT)
            if rc != 0 or out.strip():
                raise SystemExit("mutation: --in-place needs engine/include without uncommitted changes (a killed "
                                 "run is undone by `git checkout engine/include`):\n" + out)
            return
        rc, out, _ = sh(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT)
        if rc != 0:
            raise SystemExit(f"mutation: git ls-files failed: {out}")
        files = [f for f in out.split("\0") if f and not f.startswith("build/")]
        wanted = set(files)
        os.makedirs(self.src, exist_ok=True)
        for f in files:
            src, dst = os.path.join(ROOT, f), os.path.join(self.src, f)
            if not os.path.isfile(src):
                continue
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if not os.path.exists(dst) or open(src, "rb").read() != open(dst, "rb").read():
                # A fresh mtime (not copy2's): the checkout's file may be
                # older than the objects the last run built from a mutant or
                # an older version, and ninja must rebuild from it.
                shutil.copyfile(src, dst)
                shutil.copymode(src, dst)
        # Files deleted since the last copy.
        for dirpath, dirnames, filenames in os.walk(self.src):
            dirnames[:] = [d for d in dirnames if not (dirpath == self.src and d == "build")]
            for fn in filenames:
                rel = os.path.relpath(os.path.join(dirpath, fn), self.src)
                if rel not in wanted:
                    os.unlink(os.path.join(dirpath, fn))

    def bdir(self, preset: str) -> str:
        return os.path.join(self.src, "build", preset)

    def configure(self, preset: str) -> None:
        if preset in self.built:
            return
        if self.in_place and os.path.exists(os.path.join(self.bdir(preset), "build.ninja")):
            self.built.add(preset)  # keep the checkout's own configuration
            return
        launcher = ["-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"] if shutil.which("ccache") else []
        if preset == NO_TSA:
            # The release build without Clang's lock analysis (see run_mutant).
            cmd = ["cmake", "--preset", "release", "-B", self.bdir(preset), "-DLAZYWQ_THREAD_SAFETY=OFF", *launcher]
        else:
            cmd = ["cmake", "--preset", preset, *launcher]
        rc, out, _ = sh(cmd, cwd=self.src, env=self.env)
        if rc != 0:
            raise SystemExit(f"mutation: cmake --preset {preset} failed:\n{out[-3000:]}")
        self.built.add(preset)

    def build(self, preset: str, timeout=None, targets=None) -> tuple[bool, str, float]:
        """Builds `targets` (None: everything; []: nothing; the tsan build: TSAN_TARGETS)."""
        if targets is not None and not targets and preset != "tsan":
            return True, "", 0.0
        self.configure(preset)
        if preset == "tsan":
            targets = TSAN_TARGETS
        flags = [x for t in targets or [] for x in ("--target", t)]
        rc, out, secs = sh(["nice", "cmake", "--build", self.bdir(preset), "-j", str(self.jobs), *flags],
                           cwd=self.src, timeout=timeout, env=self.env)
        return rc == 0, out, secs

    @staticmethod
    def rebuilt_objects(build_output: str) -> list:
        """The objects ninja compiled in a build, from its progress lines."""
        return re.findall(r"Building CXX object (\S+\.o)", build_output)

    def objects(self, preset: str, only=None) -> dict:
        """sha256 of every object file of the build, or of those in `only`
        (paths relative to the build directory), for trivial compiler
        equivalence."""
        out = {}
        b = self.bdir(preset)
        if only is not None:
            paths = [os.path.join(b, o) for o in only]
        else:
            paths = [os.path.join(d, fn) for d, _, fns in os.walk(b) for fn in fns if fn.endswith(".o")]
        for p in paths:
            if os.path.exists(p):
                out[os.path.relpath(p, b)] = code_hash(p)
        return out


OBJCOPY = shutil.which("llvm-objcopy-14") or shutil.which("objcopy")


def code_hash(obj: str) -> str:
    """sha256 of an object file without its debug sections: the release
    build has line tables (-gline-tables-only, for the race check's
    reports), so two statements swapped into the same machine code still
    changed every byte of .debug_line, and trivial compiler equivalence
    never held for a swap (four independent swaps ran every checker as
    survivors, session 25). Without objcopy, the whole file."""
    if OBJCOPY:
        with tempfile.NamedTemporaryFile(suffix=".o") as tmp:
            if subprocess.run([OBJCOPY, "--strip-debug", obj, tmp.name], capture_output=True).returncode == 0:
                return hashlib.sha256(open(tmp.name, "rb").read()).hexdigest()
    with open(obj, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------------------------
# The checkers


@dataclasses.dataclass
class Verdict:
    checker: str
    status: str              # killed | survived | n/a | error
    rule: str = ""
    seconds: float = 0.0
    runs_to_detection: int | None = None
    seconds_to_detection: float | None = None
    replay: str = ""
    replays_bit_for_bit: bool | None = None
    detail: str = ""


def rule_of_test(name: str) -> str:
    m = re.match(r"C(\d+)_", name)
    return f"C{m.group(1)}" if m else name.split(".")[0]


class Checkers:
    def __init__(self, ws: Workspace, args, rel_preset: str = "release"):
        self.ws = ws
        self.args = args
        self.rel = ws.bdir(rel_preset)
        self.tsan = ws.bdir("tsan")
        self.no_tsan = rel_preset != "release"  # the tsan build has the analysis: the variant runs without it

    def run(self, name: str, operator: str, tag: str) -> Verdict:
        return getattr(self, "_" + name)(operator, tag)

    def _explorer(self, operator, tag) -> Verdict:
        """wqcheck explore over every scenario in rounds of growing depth (25
        seeds per scenario, then 250, then the rest of the budget): a mutant
        most scenarios see is found in the first second, not after every
        scenario has had its share of the whole budget. The rest of the
        budget is shared between the random scheduler and PCT (depth 3, also
        given 250 seeds early),
        which finds the races that need one thread to stall behind others
        hundreds of times more often (the destructor that stopped waiting
        for the engine's second waiter: 1 run in 60,000 random, 1 in 230
        under pct:3)."""
        a = self.args
        wq = os.path.join(self.rel, "tools", "wqcheck")
        budget = budget_seconds(a.explorer_budget)
        first, spent, runs_before = a.seed_num, 0.0, 0
        v = Verdict("explorer", "survived")
        rounds = ((25, "random", 0), (250, "random", 0), (250, "pct:3", 0), (None, "random", 0.5), (None, "pct:3", 1.0))
        for k, (count, strategy, share) in enumerate(rounds):
            out_json = os.path.join(self.ws.root, "tmp", f"explore-{tag}-{k}.json")
            os.makedirs(os.path.dirname(out_json), exist_ok=True)
            # A round with a share runs until that share of the budget is spent.
            left = max(budget * share - spent, 1.0) if share else max(budget - spent, 1.0)
            seeds = f"{first}+{count if count else 10**7}"
            # --stop-on-first: one failure (or one timeout) settles it; with
            # --stop-after 1 alone each scenario went on to its own first
            # timeout (finish_epoch_locked@9dbfeb: 174 s, 10 s a scenario).
            cmd = [wq, "explore", "--seeds", seeds, "--strategy", strategy, "--stop-after", "1", "--stop-on-first",
                   "--run-timeout", "10", "--stop-after-timeouts", "1", "--shrink", "0s",
                   "--json", out_json, "--quiet"]
            if count is None:
                cmd += ["--budget", f"{left:.1f}s"]
            rc, out, secs = sh(cmd, timeout=left * 3 + 120)
            v.seconds = spent + secs
            if rc == 0:
                spent += secs
                first += count or 0
                j = json.load(open(out_json)) if os.path.exists(out_json) else {}
                runs_before += sum(sc.get("runs", 0) for sc in j.get("scenarios", []))
                if spent >= budget:
                    break
                continue
            if rc not in (1, 3) or not os.path.exists(out_json):
                return Verdict("explorer", "error", seconds=spent + secs, detail=f"exit {rc}: {out[-500:]}")
            j = json.load(open(out_json))
            secs_before = 0.0
            for sc in j.get("scenarios", []):
                failed = sc.get("failed") or []
                if failed:
                    f = failed[0]
                    idx = int(f["seed"]) - int(j["seeds"]["first"]) + 1
                    rate = sc.get("executions_per_second") or 0
                    v.status = "killed"
                    v.rule = f.get("rule", "?")
                    v.runs_to_detection = runs_before + idx
                    v.seconds_to_detection = spent + secs_before + (idx / rate if rate else sc.get("seconds", 0))
                    v.replay = f.get("replay", "")
                    v.detail = f"{sc['scenario']}: {f.get('headline', '')[:300]}"
                    break
                runs_before += sc.get("runs", 0)
                secs_before += sc.get("seconds", 0.0)
            # A crash replays too (wqcheck runs it in a child process); a
            # timeout would cost its whole --run-timeout again.
            if v.status == "killed" and v.replay and v.rule != "timeout":
                v.replays_bit_for_bit = self._replays(v)
            if rc == 3:
                v.replays_bit_for_bit = False
            return v
        return v

    def _replays(self, v: Verdict) -> bool:
        """Re-runs the failing seed with --expect: exit 0 iff it breaks the same
        rule and its replay reproduces the run bit for bit (trace hash)."""
        m = re.search(r"--scenario (\S+) --seed (\S+) --strategy (\S+)", v.replay)
        if not m:
            return False
        wq = os.path.join(self.rel, "tools", "wqcheck")
        rc, _, _ = sh([wq, "explore", "--scenario", m.group(1), "--seeds", m.group(2), "--strategy", m.group(3),
                       "--expect", v.rule, "--quiet", "--run-timeout", "30"], timeout=300)
        return rc == 0

    def _ctest(self, name, labels, tag, timeout) -> Verdict:
        junit = os.path.join(self.ws.root, "tmp", f"{name}-{tag}.xml")
        os.makedirs(os.path.dirname(junit), exist_ok=True)
        rc, out, secs = sh(["ctest", "--test-dir", self.rel, "-L", labels, "-j", str(self.ws.jobs), "--timeout", "30",
                            "--stop-on-failure",
                            "--output-junit", junit], timeout=timeout)
        failed = re.findall(r"^\s*\d+ - (\S+) \(", out, re.M)
        if rc == 0:
            return Verdict(name, "survived", seconds=secs)
        if rc == 124:
            # The tests' own TIMEOUTs (600 s for the simulator's, sized for
            # sanitizer builds) outlast any budget: a run that does not end
            # in `timeout` (the unmutated engine's takes ~15 s) hangs a
            # test: a kill (rule "hang", as the properties' checker), naming
            # the tests still running.
            started = re.findall(r"^\s*Start\s+\d+: (\S+)", out, re.M)
            ended = set(re.findall(r"Test\s+#\d+: (\S+) \.", out))
            running = [t for t in started if t not in ended]
            first = running[0] if running else "?"
            return Verdict(name, "killed", rule="hang", seconds=secs, seconds_to_detection=secs,
                           replay=f"ctest --test-dir build/release -R '^{first}$' --output-on-failure",
                           detail=f"no end after {timeout:.0f} s; still running: {', '.join(running[:5]) or '?'}")
        if not failed:
            return Verdict(name, "error", seconds=secs, detail=f"ctest exit {rc}: {out[-400:]}")
        rules = sorted({rule_of_test(t) for t in failed})
        return Verdict(name, "killed", rule=",".join(rules)[:80], seconds=secs, seconds_to_detection=secs,
                       replay=f"ctest --test-dir build/release -R '^{failed[0]}$' --output-on-failure",
                       detail=f"{len(failed)} failed: {', '.join(failed[:5])}")

    def _unit(self, operator, tag) -> Verdict:
        # 240 s: 15 times the unmutated run; a mutant that hangs one test
        # cost up to 800 s before (finish_epoch_locked@9dbfeb: 814 s).
        return self._ctest("unit", "unit|sim|oracle", tag, 240)

    def _properties(self, operator, tag) -> Verdict:
        exe = os.path.join(self.rel, "property", "lazywq_property_tests")
        env = dict(os.environ, RC_PARAMS=f"max_success={self.args.property_runs} seed={self.args.seed_num % 2**31}")
        # The properties save a failing program into the current directory.
        cwd = os.path.join(self.ws.root, "tmp", f"properties-{tag}")
        os.makedirs(cwd, exist_ok=True)
        # The unmutated properties take about 2 s: a mutant still running
        # after 120 s hangs them (a kill; rule "hang").
        rc, out, secs = sh([exe, "--gtest_brief=1"], cwd=cwd, timeout=120, env=env)
        if rc == 0:
            return Verdict("properties", "survived", seconds=secs)
        failed = re.findall(r"^\[  FAILED  \] (\S+)", out, re.M)
        rule = re.search(r"\b(C\d+)\b", out)
        rule = "hang" if rc == 124 else rule.group(1) if rule else "?"
        return Verdict("properties", "killed", rule=rule, seconds=secs, seconds_to_detection=secs,
                       replay=f"RC_PARAMS=\"seed={self.args.seed_num % 2**31}\" build/release/property/lazywq_property_tests"
                              f" --gtest_filter={failed[0] if failed else '*'}",
                       detail=(f"exit {rc}; " + ", ".join(failed[:4]))[:300])

    def _models(self, operator, tag) -> Verdict:
        exe = os.path.join(self.rel, "models", "lazywq_models")
        # 180 s: 4 times the slowest unmutated run (25-45 s). A mutant that
        # makes an engine call never return (finish_epoch_locked@9dbfeb:
        # every flush) holds Relacy in its first iteration of every model,
        # with no report: 33 models x 900 s before.
        rc, out, secs = sh([exe, "--model", "all"], timeout=180)
        if rc == 0:
            return Verdict("models", "survived", seconds=secs)
        if rc == 124:
            return Verdict("models", "killed", rule="hang", seconds=secs, seconds_to_detection=secs,
                           replay="lazywq_models --model all",
                           detail="no end after 180 s (unmutated: 25-45 s): a model's iteration never ends")
        kind = re.search(r"(user_assert_failed|deadlock|data_race|livelock|access to freed memory|unhandled exception"
                         r"|C\d+)", out)
        rep = re.search(r"(lazywq_models --model \S+[^\n]*)", out)
        return Verdict("models", "killed", rule=kind.group(1) if kind else f"exit {rc}", seconds=secs,
                       seconds_to_detection=secs, replay=rep.group(1) if rep else "lazywq_models --model all",
                       detail=out[-300:] if not kind else "")

    def _fuzz(self, operator, tag) -> Verdict:
        exe = os.path.join(self.rel, "fuzz", "fuzz_sim_ops")
        work = os.path.join(self.ws.root, "tmp", f"fuzz-{tag}")
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(os.path.join(work, "corpus"))
        corpus = os.path.join(self.ws.src, "fuzz", "corpus", "fuzz_sim_ops")
        rc, out, secs = sh([exe, "-seed=1", f"-runs={self.args.fuzz_runs}", "-max_total_time=120", "-max_len=4096",
                            f"-artifact_prefix={work}/", os.path.join(work, "corpus"), corpus], timeout=400)
        if rc == 0:
            return Verdict("fuzz", "survived", seconds=secs)
        rule = re.search(r"\b(C\d+)\b", out)
        crash = re.search(r"Test unit written to (\S+)", out)
        return Verdict("fuzz", "killed", rule=rule.group(1) if rule else f"exit {rc}", seconds=secs, seconds_to_detection=secs,
                       replay=f"build/release/tools/wqcheck replay --fuzz-input {crash.group(1)}" if crash else "",
                       detail=out[-300:])

    def _publication(self, operator, tag) -> Verdict:
        if operator not in sites.TSAN_OPERATORS or self.no_tsan or not self.args.use_tsan:
            return Verdict("publication", "n/a", detail="ThreadSanitizer tests: memory-order and lock mutants, tsan build")
        exe = os.path.join(self.tsan, "tests", "lazywq_publication_tests")
        cmd = [exe]  # not brief: a TSan report aborts the test, and its [ RUN ] line names it
        if needs_no_aslr():
            cmd = ["setarch", os.uname().machine, "-R", *cmd]
        rc, out, secs = sh(cmd, timeout=300, env=dict(os.environ, TSAN_OPTIONS="halt_on_error=1"))
        if rc == 0:
            return Verdict("publication", "survived", seconds=secs)
        failed = re.findall(r"^\[ RUN      \] (\S+)", out, re.M)
        return Verdict("publication", "killed", rule="TSan" if "ThreadSanitizer" in out else "hang" if rc == 124 else
                       f"exit {rc}", seconds=secs, seconds_to_detection=secs,
                       replay=f"build/tsan/tests/lazywq_publication_tests --gtest_filter={failed[-1] if failed else '*'}",
                       detail=out[-300:])

    def _torture(self, operator, tag) -> Verdict:
        tsan = operator in sites.TSAN_OPERATORS and not self.no_tsan
        if tsan and not self.args.use_tsan:
            return Verdict("torture", "n/a", detail="no ThreadSanitizer build (--tsan off, or in place without build/tsan)")
        exe = os.path.join(self.tsan if tsan else self.rel, "tools", "lazywq-torture")
        env = dict(os.environ, TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1") if tsan else None
        cmd = [exe, "--workload", "both", "--duration", self.args.torture_duration, "--seed", str(self.args.seed_num),
               "--hang-timeout", "10s", "--quiet"]
        if tsan and needs_no_aslr():
            cmd = ["setarch", os.uname().machine, "-R", *cmd]
        rc, out, secs = sh(cmd, timeout=budget_seconds(self.args.torture_duration) + 200, env=env)
        name = "torture"
        if rc == 0:
            return Verdict(name, "survived", seconds=secs, detail="tsan" if tsan else "")
        rule = "TSan" if "ThreadSanitizer" in out else (re.search(r"\b(C\d+)\b", out) or [None, f"exit {rc}"])[1]
        if rc == 124:
            rule = "hang"
        return Verdict(name, "killed", rule=rule, seconds=secs, seconds_to_detection=secs,
                       replay=" ".join(cmd[cmd.index(exe):]).replace(self.ws.src + "/", ""),
                       detail=("tsan; " if tsan else "") + out[-300:])


def needs_no_aslr() -> bool:
    script = os.path.join(ROOT, "ci", "tsan_aslr.sh")
    if not os.path.exists(script):
        return False
    rc, out, _ = sh(["bash", "-c", f"source {script} && tsan_needs_no_aslr && echo yes || true"])
    return "yes" in out


def budget_seconds(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not m:
        raise ValueError(f"bad duration '{text}' (e.g. 20s, 2m)")
    v = float(m.group(1))
    return v * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


# ---------------------------------------------------------------------------
# run


def cmd_run(args) -> int:
    checkers = args.checkers.split(",")
    for c in checkers:
        if c not in CHECKERS:
            log(f"unknown checker '{c}' (known: {', '.join(CHECKERS)})")
            return 2
    if args.shard and not re.fullmatch(r"\d+/[1-9]\d*", args.shard) or \
            args.shard and int(args.shard.split("/")[0]) >= int(args.shard.split("/")[1]):
        log(f"bad --shard '{args.shard}': I/N with 0 <= I < N")
        return 2
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    ws = Workspace(os.path.abspath(args.workspace), args.jobs, args.in_place)
    if not args.in_place:
        log(f"copying the working tree to {ws.src}")
    ws.copy_tree()
    # A terminated run still restores the header it mutated (finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    mutants = load_mutants(ws.include)
    by_id = {m.id: m for m in mutants}
    if args.ids:
        missing = [i for i in args.ids.split(",") if i not in by_id]
        if missing:
            log(f"unknown mutant id(s): {', '.join(missing)} (see `mutate.py list`)")
            return 2
        chosen = [by_id[i] for i in args.ids.split(",")]
    elif args.sample:
        chosen = sample(mutants, args.sample, args.seed)
    else:
        chosen = mutants
    if args.operator:
        chosen = [m for m in chosen if m.operator in args.operator.split(",")]
    if args.shard:
        i, n = (int(x) for x in args.shard.split("/"))
        chosen = [m for k, m in enumerate(chosen) if k % n == i]
    regressions = read_list(os.path.join(HERE, "regressions.txt"))
    equivalent = read_list(os.path.join(HERE, "equivalent.txt"))

    results_path = os.path.join(out_dir, "results.jsonl")
    done = {}
    if os.path.exists(results_path) and not args.fresh:
        for line in open(results_path):
            r = json.loads(line)
            done[r["id"]] = r
    if args.rerun_survivors:
        # Also a lock mutant rejected by -Wthread-safety and not yet checked
        # without it (a run from before that existed, or with it off), or
        # checked and survived there.
        # A survivor judged equivalent stays as it is.
        equivalent_ids = read_list(os.path.join(HERE, "equivalent.txt"))
        # Only the chosen ones (--ids, --sample, --operator, --shard): the
        # other survivors' records stay (they were dropped, and lost, before).
        chosen_ids = {m.id for m in chosen}
        # A lock mutant whose check without -Wthread-safety survived is a
        # survivor there: rerun too (unlock_early@e663e2's record was older
        # than the sim test that kills it).
        again = [i for i, r in done.items()
                 if i in chosen_ids and ((r["class"] == "survived" and i not in equivalent_ids) or
                                         (args.without_tsa and r.get("rejected_by") == "thread-safety analysis" and
                                          r.get("without_tsa", {}).get("class", "survived") == "survived"))]
        for i in again:
            del done[i]
        if again:
            # The kept records only; the reruns are appended again below.
            rewrite_results(results_path, done.values())
        log(f"running {len(again)} survivor(s) again")
    todo = [m for m in chosen if m.id not in done]
    # --second-technique: a mutant one checker killed, whose record lacks
    # some of the chosen checkers (it ran before they existed, or with a
    # subset), meets those too, until one more kills it (issue #14: two
    # techniques per kill). Its record is updated, not replaced.
    more = []
    if args.second_technique:
        second = read_list(os.path.join(HERE, "second_technique.txt"))
        more = [m for m in chosen if m.id in done and done[m.id]["class"] == "killed" and m.id not in second and
                sum(1 for v in done[m.id]["checkers"].values() if v["status"] == "killed") < 2 and
                any(c not in done[m.id]["checkers"] for c in checkers)]
        log(f"{len(more)} mutant(s) killed by one checker and not yet run by all of: {', '.join(checkers)}")
    need_tsan = "torture" in checkers and any(m.operator in sites.TSAN_OPERATORS for m in todo + more)
    if args.tsan == "off" or (args.tsan == "auto" and args.in_place and
                              not os.path.exists(os.path.join(ws.bdir("tsan"), "build.ninja"))):
        # No ThreadSanitizer build to reuse (the gate's mutation job on a fresh
        # machine): a memory-order mutant meets the Relacy models only.
        ck_tsan = False
    else:
        ck_tsan = need_tsan
    args.use_tsan = ck_tsan
    need_tsan = ck_tsan
    log(f"{len(mutants)} mutants in the engine ({sites.fingerprint(mutants)}); {len(chosen)} chosen, "
        f"{len(todo)} to run; checkers: {', '.join(checkers)}")

    # The unmutated engine: every checker must pass, and its objects are
    # the reference of trivial compiler equivalence.
    presets = ["release"] + (["tsan"] if need_tsan else [])
    base_objects = {}
    for p in presets:
        log(f"building the unmutated engine ({p}; the first build in {ws.src} takes minutes)")
        ok, out, secs = ws.build(p)
        if not ok:
            log(f"the unmutated build failed ({p}):\n{out[-3000:]}")
            return 3
        base_objects[p] = ws.objects(p)
    ck = Checkers(ws, args)
    if (todo or more) and not args.skip_baseline:
        for c in checkers:
            for op in ["negate_cond"] + (["relax_order"] if need_tsan and c == "torture" else []):
                v = ck.run(c, op, "baseline")
                if v.status not in ("survived", "n/a"):
                    log(f"checker {c} fails on the unmutated engine ({v.status} {v.rule}): {v.detail[:500]}")
                    log(f"  replay: {v.replay}")
                    return 3
                log(f"baseline {c}: clean in {v.seconds:.1f}s")

    with open(results_path, "a") as results:
        for n, m in enumerate(todo, 1):
            r = run_mutant(ws, ck, m, checkers, presets, base_objects, args)
            r["judged_equivalent"] = equivalent.get(m.id)
            results.write(json.dumps(r) + "\n")
            results.flush()
            done[m.id] = r
            kills = [c for c, v in r["checkers"].items() if v["status"] == "killed"]
            log(f"[{n}/{len(todo)}] {m.id}: {r['class']}" + (f" by {', '.join(kills)}" if kills else "") +
                f" ({r['seconds']:.0f}s)")
    for n, m in enumerate(more, 1):
        rec = done[m.id]
        missing = [c for c in checkers if c not in rec["checkers"]]
        saved, args.kills_enough = args.kills_enough, 1  # one more kill is the point
        r = run_mutant(ws, ck, m, missing, presets, base_objects, args)
        args.kills_enough = saved
        rec["checkers"].update(r["checkers"])
        rec["seconds"] = round(rec["seconds"] + r["seconds"], 1)
        rec["build_seconds"] = round(rec.get("build_seconds", 0.0) + r["build_seconds"], 1)
        rewrite_results(results_path, done.values())  # the record changed in place
        kills = [c for c in missing if rec["checkers"].get(c, {}).get("status") == "killed"]
        log(f"[second technique {n}/{len(more)}] {m.id}: " +
            (f"also killed by {', '.join(kills)}" if kills else f"no other checker of {', '.join(missing)} kills it") +
            f" ({r['seconds']:.0f}s)")
    if ws.in_place and (todo or more):
        # The checkout's build/<preset> holds the last mutant's objects:
        # rebuild the unmutated engine, so nobody runs a mutant by mistake.
        rebuilt = presets + ([NO_TSA] if NO_TSA in base_objects else [])
        for p in rebuilt:
            ok, out, _ = ws.build(p)
            if not ok:
                log(f"rebuilding the unmutated {p} build failed:\n{out[-2000:]}")
                return 3
        log("rebuilt the unmutated engine in " + ", ".join(f"build/{p}" for p in rebuilt))
    report = write_report(out_dir, [done[m.id] for m in chosen if m.id in done], mutants, checkers)
    log(f"report: {os.path.join(out_dir, 'report.md')}")
    print(report["summary_line"])
    bad = [i for i in regressions if i in done and done[i]["class"] == "survived"]
    # Without a TSan build (the gate's stage on a fresh clone) a memory-order
    # or lock mutant meets the models only: one that TSan kills is not
    # checked here, not a regression.
    unchecked = [i for i in bad if not args.use_tsan and done[i]["operator"] in sites.TSAN_OPERATORS]
    if unchecked:
        log(f"not checked without a ThreadSanitizer build (--tsan): {', '.join(unchecked)}")
        bad = [i for i in bad if i not in unchecked]
    if bad:
        log(f"REGRESSION: mutant(s) once killed now survive: {', '.join(bad)}")
        return 1
    return 0


def rewrite_results(path, records) -> None:
    """The ledger's results.jsonl written again whole (a rerun or an update
    replaces records), through a temporary file, so an interrupted write
    loses nothing."""
    with open(path + ".tmp", "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    os.replace(path + ".tmp", path)


def run_mutant(ws, ck, m, checkers, presets, base_objects, args) -> dict:
    t0 = time.monotonic()
    path = os.path.join(ws.include, "lazywq", m.header)
    with open(path, "rb") as f:
        original = f.read()
    r = {"id": m.id, "operator": m.operator, "header": m.header, "function": m.function, "line": m.line,
         "original": m.original, "replacement": [e.text for e in m.edits], "diff": mutant_diff(m, ws.include),
         "checkers": {}, "class": "survived", "build_seconds": 0.0}

    def build(preset, targets=None):
        """Builds; a failure classifies the mutant (uncompilable, never a kill)."""
        ok, out, secs = ws.build(preset, timeout=args.build_timeout, targets=targets)
        r["build_seconds"] = round(r["build_seconds"] + secs, 1)
        if not ok:
            errs = [line for line in out.splitlines() if "error:" in line][:3]
            # Clang's -Wthread-safety (the engine's lock annotations) rejects
            # many lock mutants at compile time: worth knowing, never a kill.
            r["class"] = "uncompilable"
            r["rejected_by"] = "thread-safety analysis" if re.search(r"-Werror,-Wthread-safety", out) else "compiler"
            r["build_error"] = "\n".join(errs)[:1000]
            if r["checkers"]:
                r["build_error"] += f"\n(compiled for {', '.join(r['checkers'])} but not for the next checker)"
        return ok, out

    def differs(preset, objs=None):
        return any(base_objects[preset].get(o) != h for o, h in ws.objects(preset, only=objs).items())

    tag = m.id.replace("/", "_").replace(":", "_").replace("#", "_")
    try:
        with open(path, "wb") as f:
            f.write(sites.apply(original, m))
        if m.operator in sites.TSAN_OPERATORS:
            # Memory-order and lock mutants meet the TSan torture and the
            # models in any case: both builds, whole.
            for p in presets:
                ok, _ = build(p)
                if not ok:
                    if r["rejected_by"] == "thread-safety analysis" and args.without_tsa:
                        r["without_tsa"] = run_without_tsa(ws, m, path, original, checkers, base_objects, args)
                    return r
            if not any(differs(p) for p in presets):
                r["class"] = "equivalent-tce"
            else:
                run_checkers(ck, m, checkers, args, r, tag)
            return r
        # The others: built checker by checker (CHECKER_TARGETS), so a mutant
        # the first two checkers kill never compiles the other engine objects.
        ok, out = build("release", CHECKER_TARGETS[checkers[0]])
        if not ok:
            return r
        first_objects = ws.rebuilt_objects(out)
        if not differs("release", first_objects):
            # Nothing the first checker runs changed: equivalent only if no
            # object of the whole build did either.
            ok, out = build("release")
            if not ok:
                return r
            if not differs("release", first_objects + ws.rebuilt_objects(out)):
                r["class"] = "equivalent-tce"
                return r
        if not run_checkers(ck, m, checkers, args, r, tag,
                            prepare=lambda c: build("release", CHECKER_TARGETS[c])[0]):
            r["class"] = "uncompilable"
        return r
    finally:
        with open(path, "wb") as f:
            f.write(original)
        r["seconds"] = round(time.monotonic() - t0, 1)


def run_without_tsa(ws, m, path, original, checkers, base_objects, args) -> dict:
    """The mutant (already written at `path`) built and checked without
    -Wthread-safety. The variant's unmutated objects are built first, once
    (from `original`), as the reference of trivial compiler equivalence."""
    sub = {"class": "survived", "checkers": {}}
    mutated = open(path, "rb").read()
    if NO_TSA not in base_objects:
        log(f"building the unmutated engine without -Wthread-safety ({ws.bdir(NO_TSA)}; once)")
        with open(path, "wb") as f:
            f.write(original)
        ok, out, _ = ws.build(NO_TSA, timeout=args.build_timeout * 4)
        with open(path, "wb") as f:
            f.write(mutated)
        if not ok:
            sub["class"] = "error"
            sub["detail"] = out[-1000:]
            return sub
        base_objects[NO_TSA] = ws.objects(NO_TSA)
    ok, out, secs = ws.build(NO_TSA, timeout=args.build_timeout)
    sub["build_seconds"] = round(secs, 1)
    if not ok:
        sub["class"] = "uncompilable"
        sub["build_error"] = "\n".join(line for line in out.splitlines() if "error:" in line)[:1000]
        return sub
    if not any(base_objects[NO_TSA].get(o) != h for o, h in ws.objects(NO_TSA).items()):
        sub["class"] = "equivalent-tce"
        return sub
    run_checkers(Checkers(ws, args, rel_preset=NO_TSA), m, checkers, args, sub,
                 "notsa-" + m.id.replace("/", "_").replace(":", "_"),
                 lambda replay: replay.replace("build/release/", f"build/{NO_TSA}/"))
    return sub


def run_checkers(ck, m, checkers, args, into: dict, tag: str, fix_replay=lambda replay: replay,
                 prepare=lambda checker: True) -> bool:
    """The checkers in order, into["checkers"]; stops after --kills-enough kills; into["class"] killed when one did.
    `prepare(checker)` builds what the checker runs: False (it did not compile) stops here, and returns False."""
    for c in checkers:
        if not prepare(c):
            return False
        v = ck.run(c, m.operator, tag)
        v.replay = fix_replay(v.replay)
        into["checkers"][c] = dataclasses.asdict(v)
        kills = sum(1 for x in into["checkers"].values() if x["status"] == "killed")
        if args.kills_enough and kills >= args.kills_enough:
            break
    if any(v["status"] == "killed" for v in into["checkers"].values()):
        into["class"] = "killed"
    return True


# ---------------------------------------------------------------------------
# report


def pct(a, b):
    # Rounded down: 405 of 407 is 99%, never a "100%" with survivors left.
    return f"{100 * a // b}%" if b else "-"


def median(xs):
    xs = sorted(xs)
    if not xs:
        return None
    k = len(xs) // 2
    return xs[k] if len(xs) % 2 else (xs[k - 1] + xs[k]) / 2


def write_report(out_dir, results, all_mutants, checkers) -> dict:
    equivalent = read_list(os.path.join(HERE, "equivalent.txt"))
    # A record whose mutant the engine no longer has (its site changed or
    # went) says nothing about today's engine: left out, and counted.
    current = {m.id for m in all_mutants}
    stale = [r for r in results if r["id"] not in current]
    results = [r for r in results if r["id"] in current]
    if stale:
        log(f"{len(stale)} record(s) of mutants the engine no longer has left out (sites changed since they ran)")
    for r in results:
        if r["class"] == "survived" and r["id"] in equivalent:
            r["class"] = "equivalent-judged"
            r["judged_equivalent"] = equivalent[r["id"]]
    counted = [r for r in results if r["class"] in ("killed", "survived")]
    killed = [r for r in counted if r["class"] == "killed"]
    by_class = {}
    for r in results:
        by_class[r["class"]] = by_class.get(r["class"], 0) + 1
    ops = sorted({r["operator"] for r in results})
    per_op = {o: (sum(1 for r in killed if r["operator"] == o), sum(1 for r in counted if r["operator"] == o))
              for o in ops}
    per_checker = {}
    for c in checkers:
        applicable = [r for r in counted if r["checkers"].get(c, {}).get("status") in ("killed", "survived")]
        k = [r for r in applicable if r["checkers"][c]["status"] == "killed"]
        per_checker[c] = (len(k), len(applicable))
    two = [r for r in killed if sum(1 for v in r["checkers"].values() if v["status"] == "killed") >= 2]
    # Kills by a second technique added after a mutant's record (the file
    # says which and how; rerunning the mutant records it properly).
    second = read_list(os.path.join(HERE, "second_technique.txt"))
    two_ids = {r["id"] for r in two}
    two_since = [r for r in killed if r["id"] not in two_ids and r["id"] in second]
    ttd = [r["checkers"]["explorer"]["seconds_to_detection"] for r in killed
           if r["checkers"].get("explorer", {}).get("status") == "killed"]
    replay_ok = [r["checkers"]["explorer"]["replays_bit_for_bit"] for r in killed
                 if r["checkers"].get("explorer", {}).get("status") == "killed"
                 and r["checkers"]["explorer"]["replays_bit_for_bit"] is not None]
    notsa = [r for r in results if r.get("without_tsa")]
    notsa_k = sum(1 for r in notsa if r["without_tsa"]["class"] == "killed")
    notsa_s = sum(1 for r in notsa if r["without_tsa"]["class"] == "survived")
    notsa_n = notsa_k + notsa_s
    summary = (f"mutation score {pct(len(killed), len(counted))} ({len(killed)} killed of {len(counted)} "
               f"non-equivalent; {len(results)} run of {len(all_mutants)} mutants)" +
               (f"; lock mutants -Wthread-safety rejects, built without it: {notsa_k} of {notsa_n} killed"
                if notsa_n else ""))
    md = ["# lazywq mutation report", "",
          f"**{summary}**", "",
          "| class | mutants |", "|---|---:|"]
    for cl in ("killed", "survived", "equivalent-judged", "equivalent-tce", "uncompilable"):
        md.append(f"| {cl} | {by_class.get(cl, 0)} |")
    md += ["", f"Killed by at least two checkers: {len(two) + len(two_since)} of {len(killed)}" +
           (f" ({len(two)} in their records, {len(two_since)} by a second checker added since: "
            f"mutation/second_technique.txt)" if two_since else "") + ". "
           f"Explorer time to first detection: median "
           f"{(f'{median(ttd):.2f} s' if ttd else '-')} over {len(ttd)} kills; "
           f"replays bit for bit: {sum(replay_ok)} of {len(replay_ok)}.", "",
           "## Score per checker (of the mutants it can see)", "", "| checker | killed | score | what |", "|---|---:|---:|---|"]
    for c in checkers:
        k, n = per_checker[c]
        md.append(f"| {c} | {k}/{n} | {pct(k, n)} | {CHECKER_TEXT[c]} |")
    md += ["", "## Score per operator", "",
           "| operator | killed | score | equivalent | uncompilable (-Wthread-safety) "
           "| of those, killed built without it | what |",
           "|---|---:|---:|---:|---:|---:|---|"]
    for o in ops:
        k, n = per_op[o]
        eq = sum(1 for r in results if r["operator"] == o and r["class"].startswith("equivalent"))
        unc = [r for r in results if r["operator"] == o and r["class"] == "uncompilable"]
        tsa = sum(1 for r in unc if r.get("rejected_by") == "thread-safety analysis")
        # A lock mutant the analysis rejects is a bug a GCC build would ship:
        # the dynamic checkers' kills of it show the class has teeth there too.
        tsa_checked = [r for r in unc if r.get("without_tsa")]
        tsa_killed = sum(1 for r in tsa_checked if r["without_tsa"]["class"] == "killed")
        tsa_cell = f"{tsa_killed}/{len(tsa_checked)}" if tsa_checked else ""
        md.append(f"| {o} | {k}/{n} | {pct(k, n)} | {eq} | {len(unc)} ({tsa}) | {tsa_cell} | "
                  f"{sites.OPERATORS.get(o, '')} |")
    if notsa:
        md += ["", "## Lock mutants -Wthread-safety rejects, checked without it", "",
               "Clang's lock analysis rejects these at compile time (never counted as a kill above). Each is "
               f"built once more without it (`build/{NO_TSA}`, as GCC would build it) and checked: "
               f"**{notsa_k} of {notsa_n} killed** by the dynamic checkers "
               f"({len(notsa) - notsa_n} equivalent or not compilable there).", "",
               "| mutant | without -Wthread-safety | killed by |", "|---|---|---|"]
        for r in notsa:
            w = r["without_tsa"]
            by = ", ".join(f"{c} ({v['rule']})" for c, v in w.get("checkers", {}).items() if v["status"] == "killed")
            md.append(f"| `{r['id']}` | {w['class']} | {by} |")
    md += ["", "## Kill matrix", "",
           "K killed (rule), . survived, - cannot see it (n/a), E error, blank: not run (enough checkers had "
           "killed it already: `--kills-enough`)", "",
           "| mutant | class | " + " | ".join(checkers) + " |", "|---|---|" + "---|" * len(checkers)]
    for r in results:
        cells = []
        for c in checkers:
            v = r["checkers"].get(c)
            if v is None:
                cells.append("")
            elif v["status"] == "killed":
                cells.append(f"K {v['rule']}")
            elif v["status"] == "survived":
                cells.append(".")
            elif v["status"] == "n/a":
                cells.append("-")
            else:
                cells.append("E")
        md.append(f"| `{r['id']}` | {r['class']} | " + " | ".join(cells) + " |")
    surv = [r for r in results if r["class"] == "survived"]
    md += ["", f"## Survivors ({len(surv)})", "",
           "Each is a blind spot until a checker kills it, or a person judges it equivalent in "
           "`mutation/equivalent.txt` with the reason. Those analysed but not killed say why in "
           "`mutation/survivors.txt`; they still count against the score.", ""]
    understood = read_list(os.path.join(HERE, "survivors.txt"))
    for r in surv:
        md += [f"### `{r['id']}`", "", f"{sites.OPERATORS.get(r['operator'], r['operator'])}, "
               f"`{r['header']}` `{r['function']}` (line {r['line']} today)", ""]
        if r["id"] in understood:
            md += [f"Why it survives (`mutation/survivors.txt`): {understood[r['id']]}", ""]
        md += ["```diff", r["diff"].rstrip(), "```", ""]
    kills = [r for r in results if r["class"] == "killed"]
    if kills:
        md += ["## Replay of each kill (first checker)", ""]
        for r in kills:
            c, v = next((c, v) for c, v in r["checkers"].items() if v["status"] == "killed")
            md.append(f"- `{r['id']}`: {c} {v['rule']}: `mutation/mutate.py apply '{r['id']}' && "
                      f"cmake --build build/release && {v['replay']}` (undo: `git checkout engine/include`)")
    text = "\n".join(md) + "\n"
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(text)
    report = {"schema": 1, "summary_line": summary, "mutants_total": len(all_mutants), "run": len(results),
              "classes": by_class, "score": (len(killed) / len(counted)) if counted else None,
              "per_checker": {c: {"killed": k, "applicable": n} for c, (k, n) in per_checker.items()},
              "per_operator": {o: {"killed": k, "counted": n} for o, (k, n) in per_op.items()},
              "killed_by_two_or_more": len(two) + len(two_since), "killed_twice_since_record": len(two_since), "explorer_median_seconds_to_detection": median(ttd),
              "explorer_replays_bit_for_bit": [sum(replay_ok), len(replay_ok)],
              "without_thread_safety": {"checked": len(notsa), "killed": notsa_k, "survived": notsa_s},
              "results": results}
    with open(os.path.join(out_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    return report


def cmd_report(args) -> int:
    path = os.path.join(args.out, "results.jsonl")
    if not os.path.exists(path):
        log(f"no results in {args.out} (run `mutate.py run --out {args.out}` first)")
        return 2
    # One record per mutant, the last written (a run appends; an update
    # rewrites, but an interrupted one may leave both).
    results = list({r["id"]: r for r in (json.loads(line) for line in open(path))}.values())
    checkers = [c for c in CHECKERS if any(c in r["checkers"] for r in results)] or CHECKERS
    rep = write_report(args.out, results, load_mutants(), checkers)
    print(rep["summary_line"])
    return 0


def cmd_list(args) -> int:
    ms = load_mutants()
    if args.operator:
        ms = [m for m in ms if m.operator in args.operator.split(",")]
    if args.json:
        with open(args.json, "w") if args.json != "-" else sys.stdout as f:
            json.dump([m.to_json() for m in ms], f, indent=1)
        return 0
    for m in ms:
        print(f"{m.id}\t{m.header}:{m.line}\t{m.original.splitlines()[0][:70]!r} -> "
              f"{[e.text.splitlines()[0][:40] for e in m.edits]}")
    counts = {}
    for m in ms:
        counts[m.operator] = counts.get(m.operator, 0) + 1
    print(f"{len(ms)} mutants: " + ", ".join(f"{o} {n}" for o, n in sorted(counts.items())), file=sys.stderr)
    return 0


def find_mutant(mid):
    """The mutant named mid in the checkout, or None (after saying so)."""
    m = next((m for m in load_mutants() if m.id == mid), None)
    if m is None:
        log(f"unknown mutant '{mid}' (see `mutate.py list`)")
    return m


def cmd_apply(args) -> int:
    m = find_mutant(args.id)
    if m is None:
        return 2
    path = os.path.join(ROOT, "engine", "include", "lazywq", m.header)
    with open(path, "rb") as f:
        src = f.read()
    with open(path, "wb") as f:
        f.write(sites.apply(src, m))
    log(f"applied {m.id} to engine/include/lazywq/{m.header}; undo with `git checkout engine/include`")
    return 0


def cmd_show(args) -> int:
    m = find_mutant(args.id)
    if m is None:
        return 2
    print(f"{m.id}: {sites.OPERATORS[m.operator]}")
    print(mutant_diff(m, os.path.join(ROOT, "engine", "include")))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="mutation/mutate.py", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Operators:\n" + "\n".join(f"  {k:14} {v}" for k, v in sites.OPERATORS.items()) +
                                 "\n\nCheckers:\n" + "\n".join(f"  {k:11} {v}" for k, v in CHECKER_TEXT.items()) +
                                 "\n\nExamples:\n  mutation/mutate.py list --operator drop_notify\n"
                                 "  mutation/mutate.py run --sample 6 --seed $(git rev-parse HEAD) --out build/mutation/sample\n"
                                 "  mutation/mutate.py run --shard 3/16 --out build/mutation/full\n"
                                 "  mutation/mutate.py report --out build/mutation/full")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("list", help="list the mutants")
    p.add_argument("--operator", help="only these operators (comma-separated)")
    p.add_argument("--json", help="write them as JSON to this file ('-': stdout)")
    p = sub.add_parser("show", help="print one mutant's diff")
    p.add_argument("id")
    p = sub.add_parser("apply", help="write one mutant into the checkout (to replay a kill by hand)")
    p.add_argument("id")
    p = sub.add_parser("run", help="build and check mutants")
    p.add_argument("--ids", help="these mutants (comma-separated ids)")
    p.add_argument("--sample", type=int, help="N mutants drawn from --seed, spread over the operators")
    p.add_argument("--seed", default="1", help="sample seed and checker seed: a number or a commit hash (whole or abbreviated)")
    p.add_argument("--operator", help="only these operators")
    p.add_argument("--shard", help="I/N: every N-th of the chosen mutants from I (0-based)")
    p.add_argument("--checkers", default=",".join(CHECKERS), help="comma-separated subset of: " + ", ".join(CHECKERS))
    p.add_argument("--out", default=os.path.join(ROOT, "build", "mutation", "out"))
    p.add_argument("--workspace", default=os.path.join(ROOT, "build", "mutation"),
                   help="where the copy of the tree and its builds live (default build/mutation)")
    p.add_argument("--in-place", action="store_true",
                   help="mutate the checkout's headers and use its build/<preset> (CI on a throwaway clone: "
                        "incremental builds; every header is restored, even on SIGTERM)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    p.add_argument("--explorer-budget", default="20s", help="wqcheck explore budget per mutant (default 20s)")
    p.add_argument("--torture-duration", default="5s")
    p.add_argument("--property-runs", type=int, default=2000, help="rapidcheck max_success per property")
    p.add_argument("--fuzz-runs", type=int, default=3000)
    p.add_argument("--build-timeout", type=float, default=900)
    p.add_argument("--tsan", choices=["auto", "on", "off"], default="auto",
                   help="the torture of a memory-order mutant under ThreadSanitizer (auto: on, except in place "
                        "without a configured build/tsan)")
    p.add_argument("--stop-at-first-kill", dest="kills_enough", action="store_const", const=1,
                   help="skip the remaining checkers once one kills (= --kills-enough 1)")
    p.add_argument("--kills-enough", type=int, default=0, metavar="K",
                   help="skip the remaining checkers once K have killed (the full run uses 2: the target is two "
                        "techniques per kill; a checker not run is blank in the matrix). 0: run them all (default)")
    p.add_argument("--rerun-survivors", action="store_true",
                   help="run again the survivors recorded in --out (after a new test, model or oracle check), and "
                        "the lock mutants -Wthread-safety rejected that were not yet checked without it, or survived there")
    p.add_argument("--second-technique", action="store_true",
                   help="also run the mutants in --out that one checker killed through the chosen checkers their "
                        "record lacks, until one more kills each (the record is updated)")
    p.add_argument("--without-tsa", choices=["auto", "on", "off"], default="auto",
                   help="build a lock mutant that -Wthread-safety rejects once more without the analysis and check it "
                        f"(build/{NO_TSA}; auto: on, except in place)")
    p.add_argument("--skip-baseline", action="store_true", help="do not check the unmutated engine first")
    p.add_argument("--fresh", action="store_true", help="forget earlier results in --out")
    p = sub.add_parser("report", help="rewrite report.md/json from OUT/results.jsonl")
    p.add_argument("--out", default=os.path.join(ROOT, "build", "mutation", "out"))
    args = ap.parse_args(argv)
    try:
        if args.cmd == "run":
            if args.sample is not None and args.sample < 1:
                ap.error("--sample must be at least 1")
            if args.kills_enough is not None and args.kills_enough < 0:
                ap.error("--kills-enough must be 0 (run every checker) or more")
            for flag, on, what in (("--rerun-survivors", args.rerun_survivors, "rerun the survivors of"),
                                   ("--second-technique", args.second_technique, "find a second technique for")):
                if on and (args.fresh or not os.path.exists(os.path.join(args.out, "results.jsonl"))):
                    ap.error(f"{flag}: no earlier results in {args.out} (results.jsonl) to {what}" +
                             (" (--fresh forgets them)" if args.fresh else ""))
            s = args.seed
            if re.fullmatch(r"[0-9a-f]{7,40}", s) and not s.isdigit():
                args.seed_num = int(s, 16) % 2**63  # a commit hash, whole or abbreviated
            else:
                args.seed_num = int(s, 0)
            args.without_tsa = args.without_tsa == "on" or (args.without_tsa == "auto" and not args.in_place)
            budget_seconds(args.explorer_budget)
            budget_seconds(args.torture_duration)
            return cmd_run(args)
        return {"list": cmd_list, "show": cmd_show, "apply": cmd_apply, "report": cmd_report}[args.cmd](args)
    except sites.SiteError as e:
        log(str(e))
        return 2
    except ValueError as e:
        log(f"bad input: {e}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
