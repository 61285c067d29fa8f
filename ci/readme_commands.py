#!/usr/bin/env python3
"""readme_commands.py: every command in the README runs in CI or in a test.

The README's ```sh blocks are its commands. ci/readme_commands.txt says,
for each of them, how it is exercised:

    COMMAND  =>  run[@PRESET] [exit=N] [--OPTION VALUE | --OPTION=VALUE | NAME=VALUE | argN=VALUE ...]
        ctest readme.commands runs it in the build of the preset its path
        names (or @PRESET; a `stand-in README-PRESET CI-PRESET` line of
        the table names the build CI has instead), in a fresh directory,
        with only the options listed replaced or added (a shorter budget):
        the same tool, subcommand and flags as the README shows. {cwd} in
        a value is that directory. exit=N: the exit status it must end
        with (default 0).
    COMMAND  =>  in FILE: TEXT
        FILE (from the repository root) contains TEXT: the command runs
        there (a workflow, the test command, the gate) or is tested there.

An output shown in the README is checked too: a ``` block right after a
line `<!-- output of: COMMAND (exit N) -->` is what COMMAND prints: ctest
readme.commands runs COMMAND (in its preset's build, as above) and every
line of the block must appear in its output, in that order; a line `...`
stands for any lines left out.

Subcommands:
    check                 ctest readme.table: every README command has a
                          line in the table, every line of the table is a
                          README command, and every `in` claim holds.
    run --build DIR --preset NAME [--list]
                          ctest readme.commands: runs the table's `run`
                          commands that belong to this build, each in a
                          fresh directory, and fails on the first exit
                          status that is not the expected one.

Exit status: 0 fine, 1 a check or a command failed, 2 bad usage or input.
"""
import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
# Top-level folders a command names by a relative path: made absolute, since
# every command runs in a fresh directory (its output files land there).
REPO_DIRS = ("scripts/", "ci/", "tools/", "fuzz/", "mutation/", "models/", "tests/")
COMMAND_TIMEOUT_S = 240


def fail(msg):
    print(f"readme_commands: {msg}", file=sys.stderr)
    sys.exit(2)


def normalize(cmd):
    return " ".join(cmd.split())


def strip_comment(line):
    """The line without its shell comment: a '#' at the start or after
    whitespace, outside quotes."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line


def readme_commands(path):
    """The README's commands: (line number, text as written, variables in
    force), from every ```sh block; continuation lines joined, comments
    dropped, `NAME=value` lines recorded as variables."""
    out = []
    in_block = False
    variables = {}
    pending = ""
    pending_line = 0
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for n, raw in enumerate(lines, 1):
        if raw.startswith("```"):
            if in_block:  # variables hold on: a later block uses an earlier block's $T
                in_block = False
            elif raw.strip() in ("```sh", "```bash", "```shell"):
                in_block = True
            continue
        if not in_block:
            continue
        line = strip_comment(raw.rstrip())
        if pending:
            line = pending + " " + line.strip()
        else:
            pending_line = n
        if line.endswith("\\"):
            pending = line[:-1].rstrip()
            continue
        pending = ""
        line = line.strip()
        if not line:
            continue
        m = re.fullmatch(r"(?:export\s+)?([A-Z][A-Z0-9_]*)=(\S+)", line)
        if m:
            variables[m.group(1)] = m.group(2).strip("\"'")
            continue
        out.append((pending_line, normalize(line), dict(variables)))
    return out


def readme_outputs(path):
    """(line number, command, exit status, expected lines) of every output
    block: a ``` block right after `<!-- output of: COMMAND (exit N) -->`."""
    out = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for n, line in enumerate(lines):
        m = re.fullmatch(r"<!-- output of: (.+?)(?: \(exit (\d+)\))? -->", line.strip())
        if not m:
            continue
        if n + 1 >= len(lines) or not lines[n + 1].startswith("```"):
            fail(f"README.md:{n + 1}: an `output of` comment must come right before its ``` block")
        block = []
        for body in lines[n + 2:]:
            if body.startswith("```"):
                break
            block.append(body.rstrip())
        out.append((n + 1, normalize(m.group(1)), int(m.group(2) or 0), block))
    return out


def output_matches(expected, actual):
    """None when the expected lines appear in `actual`: each run of lines
    between `...` lines contiguously, the runs in order (the first may start
    anywhere, `...` stands for any lines); else the first line of the first
    run not found."""
    got = [l.rstrip() for l in actual.split("\n")]
    runs, run = [], []
    for line in expected:
        if line.strip() == "...":
            if run:
                runs.append(run)
            run = []
        else:
            run.append(line)
    if run:
        runs.append(run)
    pos = 0
    for r in runs:
        # The earliest place it fits leaves the most room for the runs after it.
        at = next((i for i in range(pos, len(got) - len(r) + 1) if got[i:i + len(r)] == r), None)
        if at is None:
            # The first line that breaks the run where most of it matches.
            best = 0
            for i in range(pos, len(got)):
                k = 0
                while k < len(r) and i + k < len(got) and got[i + k] == r[k]:
                    k += 1
                best = max(best, k)
            return r[min(best, len(r) - 1)]
        pos = at + len(r)
    return None


def parse_table(path):
    """(stand-ins, entries): stand-ins map a preset the README names to the
    preset CI builds instead (and "(ci)" to the presets CI builds);
    entries map a normalized command to (line number, action, argument)."""
    stand_ins = {}
    entries = {}
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            m = re.fullmatch(r"stand-in\s+(\S+)\s+(\S+)", line)
            if m:
                stand_ins[m.group(1)] = m.group(2)
                continue
            m = re.fullmatch(r"ci-presets\s+(.+)", line)
            if m:
                stand_ins["(ci)"] = m.group(1).split()
                continue
            if " => " not in line:
                fail(f"{path}:{n}: expected `COMMAND => run ...` or `COMMAND => in FILE: TEXT`")
            cmd, how = (s.strip() for s in line.split(" => ", 1))
            cmd = normalize(cmd)
            if cmd in entries:
                fail(f"{path}:{n}: `{cmd}` is already on line {entries[cmd][0]}")
            m = re.fullmatch(r"run(?:@(\S+))?(?:\s+(.*))?", how)
            if m:
                if re.search(r"(^|\s)exit=(?!\d+(\s|$))", m.group(2) or ""):
                    fail(f"{path}:{n}: exit=N takes a number")
                entries[cmd] = (n, "run", (m.group(1), m.group(2) or ""))
            elif how.startswith("in "):
                m = re.fullmatch(r"in\s+(\S+):\s*(.+)", how)
                if not m:
                    fail(f"{path}:{n}: expected `in FILE: TEXT`")
                entries[cmd] = (n, "in", (m.group(1), m.group(2)))
            else:
                fail(f"{path}:{n}: unknown action `{how}` (run, in)")
    return stand_ins, entries


def check(args):
    commands = readme_commands(args.readme)
    stand_ins, entries = parse_table(args.table)
    problems = []
    seen = set()
    texts = {}
    for n, cmd, variables in commands:
        if cmd in texts and expand(cmd, variables) != expand(cmd, texts[cmd][1]):
            problems.append(f"README.md:{n}: `{cmd}` is also on line {texts[cmd][0]} with other variables: "
                            f"the table cannot tell the two apart (name the variables differently)")
        texts.setdefault(cmd, (n, variables))
    ci_presets = stand_ins.get("(ci)")
    for cmd, (n, action, arg) in entries.items():
        if action != "run" or cmd not in texts:
            continue
        final, _ = apply_overrides(expand(cmd, texts[cmd][1]), arg[1])
        preset = arg[0] or preset_of(final)
        where = f"{os.path.relpath(args.table, ROOT)}:{n}"
        if not preset:
            problems.append(f"{where}: `{cmd}` names no build/<preset>/: say run@PRESET")
        elif ci_presets and preset not in ci_presets and stand_ins.get(preset) not in ci_presets:
            problems.append(f"{where}: `{cmd}` would run in build `{preset}`, which CI does not build "
                            f"({' '.join(ci_presets)}; add a stand-in line or say run@PRESET)")
    for n, cmd, _ in commands:
        seen.add(cmd)
        if cmd not in entries:
            problems.append(f"README.md:{n}: `{cmd}` is exercised nowhere: add a line for it to "
                            f"{os.path.relpath(args.table, ROOT)} (run it in ctest readme.commands, or say "
                            f"which file runs or tests it)")
    for cmd, (n, action, arg) in sorted(entries.items(), key=lambda e: e[1][0]):
        where = f"{os.path.relpath(args.table, ROOT)}:{n}"
        if cmd not in seen:
            problems.append(f"{where}: `{cmd}` is not a README command any more: drop or update the line")
        if action == "in":
            fname, text = arg
            p = os.path.join(ROOT, fname)
            if not os.path.isfile(p):
                problems.append(f"{where}: {fname} does not exist")
            elif text not in open(p, encoding="utf-8").read():
                problems.append(f"{where}: {fname} does not contain `{text}`")
    for n, cmd, _, _ in readme_outputs(args.readme):
        if not preset_of(cmd):
            problems.append(f"README.md:{n}: the output's command `{cmd}` names no build/<preset>/ tool: "
                            f"readme.commands would never run it")
    runs = sum(1 for e in entries.values() if e[1] == "run")
    for p in problems:
        print(f"FAIL {p}")
    print(f"{len(commands)} README commands; {runs} run by ctest readme.commands, "
          f"{len(entries) - runs} run or tested where the table says; "
          f"{len(readme_outputs(args.readme))} output(s) the README shows, checked by readme.commands; "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


def head_commit():
    r = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "0" * 40


def expand(cmd, variables):
    # A command that sets a variable itself (`W=build/planted/tools/wqcheck;
    # $W shrink ...`) means its own value, not the section's: the build it
    # names is the build it runs in (the section's $W ran it in release).
    own = dict(re.findall(r"(?:^|;\s*)([A-Za-z_][A-Za-z0-9_]*)=(\S+?);", cmd))
    for name, value in {**variables, **own}.items():
        cmd = re.sub(r"\$" + name + r"\b", value, cmd)
    return cmd.replace("$(git rev-parse HEAD)", head_commit())


def preset_of(cmd):
    m = re.search(r"(?:^|\s)build/([A-Za-z0-9_-]+)(?:/|\s|$)", cmd)
    return m.group(1) if m else None


def apply_overrides(cmd, overrides):
    """Replaces the value of each `--option` listed (adds it if absent)
    and each leading NAME=VALUE assignment; returns (command, exit status)."""
    expect = 0
    words = shlex.split(overrides)
    i = 0
    while i < len(words):
        w = words[i]
        if w.startswith("exit="):
            expect = int(w[5:])
            i += 1
        elif re.fullmatch(r"arg\d+=.*", w):
            # argN=VALUE: the command's N-th word (0: the program), for
            # positional budgets.
            k, value = w[3:].split("=", 1)
            parts = shlex.split(cmd)
            if int(k) >= len(parts):
                fail(f"override {w}: the command has no word {k}: {cmd}")
            parts[int(k)] = value
            cmd = shlex.join(parts)
            i += 1
        elif re.fullmatch(r"[A-Z][A-Z0-9_]*=.*", w):
            name = w.split("=", 1)[0]
            assignment = name + "=" + shlex.quote(w.split("=", 1)[1])  # quoted, it would be a command
            new, k = re.subn(r"(^|\s)" + name + r"=(\"[^\"]*\"|'[^']*'|\S+)", lambda m: m.group(1) + assignment, cmd,
                             count=1)
            # Absent: set for the command (the environment it runs in).
            cmd = new if k else f"{assignment} {cmd}"
            i += 1
        elif w.startswith("--") and "=" in w:
            # --option=value, for tools that take only that form (Google
            # Benchmark's --benchmark_* flags).
            name = w.split("=", 1)[0]
            new, k = re.subn(r"(\s)" + re.escape(name) + r"=(\"[^\"]*\"|'[^']*'|\S+)", lambda m: m.group(1) + shlex.quote(w), cmd, count=1)
            if not k:
                head, sep, rest = cmd.partition(" | ")
                new = f"{head} {shlex.quote(w)}{sep}{rest}"
            cmd = new
            i += 1
        elif w.startswith("--") and i + 1 < len(words):
            value = words[i + 1]
            pat = r"(\s" + re.escape(w) + r")(?:=|\s+)(\"[^\"]*\"|'[^']*'|\S+)"
            new, k = re.subn(pat, lambda m: m.group(1) + " " + shlex.quote(value), cmd, count=1)
            if not k:  # added, at the end of the first command of a pipeline
                head, sep, rest = cmd.partition(" | ")
                new = f"{head} {w} {shlex.quote(value)}{sep}{rest}"
            cmd = new
            i += 2
        else:
            fail(f"cannot read override `{w}` in `{overrides}`")
    return cmd, expect


def localize(cmd, build_dir):
    """Paths the README writes relative to the root, made absolute; the
    build the README names, replaced by the build under test."""
    cmd = re.sub(r"(^|[\s=])build/[A-Za-z0-9_-]+(/|\s|$)", lambda m: m.group(1) + build_dir.rstrip("/") + m.group(2), cmd)
    for d in REPO_DIRS:
        cmd = re.sub(r"(^|\s)" + re.escape(d), lambda m: m.group(1) + os.path.join(ROOT, d), cmd)
    return cmd


def run_command(command, cwd):
    """(exit status or None on timeout, output): stdout and stderr
    interleaved as a person sees them; on a timeout the whole process group
    is killed (a pipeline's other commands too)."""
    p = subprocess.Popen(["bash", "-o", "pipefail", "-c", command], cwd=cwd, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=COMMAND_TIMEOUT_S)
        return p.returncode, out.decode(errors="replace")
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        return None, out.decode(errors="replace")


def run(args):
    commands = {cmd: (n, variables) for n, cmd, variables in readme_commands(args.readme)}
    stand_ins, entries = parse_table(args.table)
    build_dir = os.path.abspath(args.build)
    chosen = []
    for cmd, (n, action, arg) in sorted(entries.items(), key=lambda e: e[1][0]):
        if action != "run":
            continue
        if cmd not in commands:
            fail(f"table line {n}: `{cmd}` is not a README command (ctest readme.table says more)")
        at, overrides = arg
        final, expect = apply_overrides(expand(cmd, commands[cmd][1]), overrides)
        preset = at or preset_of(final)
        if not preset:
            fail(f"table line {n}: `{cmd}` names no build: say run@PRESET")
        if args.preset not in (preset, stand_ins.get(preset)):
            continue
        chosen.append((commands[cmd][0], cmd, localize(final, build_dir), expect))
    outputs = []
    for n, cmd, expect, block in readme_outputs(args.readme):
        preset = preset_of(cmd)
        if preset and args.preset in (preset, stand_ins.get(preset)):
            outputs.append((n, cmd, localize(cmd, build_dir), expect, block))
    if args.list:
        for n, cmd, final, expect in chosen:
            print(f"README.md:{n}: {cmd}\n    runs as: {final}  (exit {expect})")
        for n, cmd, final, expect, block in outputs:
            print(f"README.md:{n}: the output of {cmd}\n    runs as: {final}  (exit {expect}), {len(block)} lines to find")
        return 0
    failures = 0
    for n, cmd, final, expect in chosen:
        with tempfile.TemporaryDirectory(prefix="readme-cmd-") as cwd:
            final = final.replace("{cwd}", cwd)
            t0 = time.monotonic()
            print(f"--- README.md:{n}: {cmd}\n    runs as: {final}", flush=True)
            rc, out = run_command(final, cwd)
            took = time.monotonic() - t0
            if rc == expect:
                print(f"    ok: exit {rc} in {took:.1f} s")
                continue
            failures += 1
            tail = "\n".join(out.rstrip().split("\n")[-25:])
            why = f"no exit after {COMMAND_TIMEOUT_S} s" if rc is None else f"exit {rc}, expected {expect}"
            print(f"FAIL README.md:{n}: {why} ({took:.1f} s); the README's command no longer works as written.\n"
                  f"    its output's last lines:\n" + "\n".join("      " + l for l in tail.split("\n")))
    for n, cmd, final, expect, block in outputs:
        print(f"--- README.md:{n}: the output of {cmd}", flush=True)
        with tempfile.TemporaryDirectory(prefix="readme-out-") as cwd:
            rc, out = run_command(final, cwd)
        if rc is None:
            failures += 1
            print(f"FAIL README.md:{n}: no exit after {COMMAND_TIMEOUT_S} s")
            continue
        missing = output_matches(block, out)
        if rc == expect and missing is None:
            print(f"    ok: exit {rc}, the README's {len(block)} lines found in order")
            continue
        failures += 1
        why = f"exit {rc}, expected {expect}" if rc != expect else f"no line `{missing}` (in order)"
        print(f"FAIL README.md:{n}: the README's output is stale: {why}. What it prints now:")
        print("\n".join("      " + l for l in out.rstrip().split("\n")[-30:]))
    print(f"{len(chosen) + len(outputs)} README commands and outputs checked in build {args.preset}: "
          f"{len(chosen) + len(outputs) - failures} passed, {failures} failed")
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--readme", default=os.path.join(ROOT, "README.md"))
    ap.add_argument("--table", default=os.path.join(ROOT, "ci", "readme_commands.txt"))
    sub = ap.add_subparsers(dest="what", required=True)
    sub.add_parser("check", help="every README command is in the table, and the other way round")
    r = sub.add_parser("run", help="run the table's `run` commands of one build")
    r.add_argument("--build", required=True, help="the build directory (build/<preset>)")
    r.add_argument("--preset", required=True, help="its preset: runs the commands of that preset "
                   "and of the presets it stands in for")
    r.add_argument("--list", action="store_true", help="print what would run, run nothing")
    args = ap.parse_args()
    for f in (args.readme, args.table):
        if not os.path.isfile(f):
            fail(f"{f}: no such file")
    sys.exit(check(args) if args.what == "check" else run(args))


if __name__ == "__main__":
    main()
