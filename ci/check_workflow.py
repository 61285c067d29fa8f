#!/usr/bin/python3
"""check_workflow.py FILE: structural check of a GitHub Actions workflow.

YAML must parse (python3-yaml); `on` must name triggers; every job needs
runs-on and steps; every step exactly one of `uses`/`run`; a matrix job's
${{ matrix.X }} references must be defined by every matrix entry; every
`ci/gate.sh --stages` value used must be a stage the gate knows.
Exits 1 with one line per problem, 0 when the file is valid.
"""
import re
import subprocess
import sys

import yaml


def main(path: str) -> int:
    problems = []
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        print(f"{path}: not valid YAML: {e}")
        return 1
    if not isinstance(doc, dict):
        print(f"{path}: top level is not a mapping")
        return 1
    # YAML 1.1 reads the key `on` as the boolean True.
    triggers = doc.get("on", doc.get(True))
    if not triggers:
        problems.append("no `on:` triggers")
    jobs = doc.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        problems.append("no jobs")
        jobs = {}
    known_stages = set()
    gate = subprocess.run(["bash", "ci/gate.sh", "--help"], capture_output=True, text=True)
    m = re.search(r"subset of: ([a-z, ]+)", gate.stdout)
    if m:
        known_stages = {s.strip() for s in m.group(1).split(",") if s.strip()}
    else:
        problems.append("could not read the stages from `ci/gate.sh --help`")
    for name, job in jobs.items():
        if not isinstance(job, dict):
            problems.append(f"job {name}: not a mapping")
            continue
        if "runs-on" not in job:
            problems.append(f"job {name}: no runs-on")
        steps = job.get("steps")
        if not isinstance(steps, list) or not steps:
            problems.append(f"job {name}: no steps")
            steps = []
        for i, step in enumerate(steps):
            if not isinstance(step, dict) or (("uses" in step) == ("run" in step)):
                problems.append(f"job {name} step {i}: needs exactly one of uses/run")
        matrix = (job.get("strategy") or {}).get("matrix") or {}
        entries = matrix.get("include") or []
        job_text = yaml.safe_dump(job)
        for key in set(re.findall(r"\$\{\{\s*matrix\.(\w+)", job_text)):
            for e in entries:
                if key not in e:
                    problems.append(f"job {name}: matrix entry {e} has no `{key}`")
        for e in entries:
            stage = e.get("stage")
            if stage is not None and known_stages and stage not in known_stages:
                problems.append(f"job {name}: matrix stage `{stage}` is not a gate stage ({sorted(known_stages)})")
            shard = e.get("shard")
            if shard is not None and not re.fullmatch(r"\d+/[1-9]\d*", str(shard)):
                problems.append(f"job {name}: shard `{shard}` is not I/N")
    for p in problems:
        print(f"{path}: {p}")
    if not problems:
        print(f"{path}: valid ({len(jobs)} job(s))")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
