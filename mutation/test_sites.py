#!/usr/bin/python3
"""ctest mutation.sites: the mutant generator finds sites of every operator
from the engine's syntax, names them without line numbers, applies each one
cleanly, and leaves the planted-bug hooks and the event recording alone."""

import collections
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sites  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)


include = os.path.join(ROOT, "engine", "include")
ms = sites.find_mutants(include)
check(len(ms) >= 100, f"only {len(ms)} mutants: the walk lost most sites")
by_op = collections.Counter(m.operator for m in ms)
for op in sites.OPERATORS:
    check(by_op[op] >= 1, f"operator {op} found no site")
ids = [m.id for m in ms]
dups = [i for i, n in collections.Counter(ids).items() if n > 1]
check(not dups, f"duplicate ids: {dups[:5]}")
for m in ms:
    check(not re.search(r":\d+", m.id), f"id names a line number: {m.id}")
    for x in sites.EXCLUDE_TEXT:
        check(x not in m.original, f"{m.id} mutates an excluded site ({x}): {m.original[:80]!r}")
    with open(os.path.join(include, "lazywq", m.header), "rb") as f:
        src = f.read()
    out = sites.apply(src, m)
    check(out != src, f"{m.id} changes nothing")
    check(m.function.split("::")[-1].split("/")[0] not in sites.EXCLUDE_FUNCTIONS, f"{m.id} is in a reporting function")
# equivalent.txt, regressions.txt and survivors.txt are reviewed like code: every entry
# names a mutant the engine still has (an edit that moves or rewrites the
# site gives it a new id: judge it again) and says why.
known = set(ids)
for name in ("equivalent.txt", "regressions.txt", "survivors.txt"):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    for n, line in enumerate(open(path), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        mid, sep, reason = line.partition("||")
        check(sep and len(reason.strip()) >= 20, f"{name}:{n}: `ID || reason` with a reason, got {line[:80]!r}")
        check(mid.strip() in known, f"{name}:{n}: {mid.strip()} is no mutant of the engine any more (stale: judge "
                                    "the site again under its new id, or drop the entry)")
# A mutant is in at most one of the lists: equivalent, killed now, or an
# understood survivor.
lists = {}
for name in ("equivalent.txt", "regressions.txt", "survivors.txt"):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    for line in open(path):
        mid = line.partition("||")[0].strip()
        if mid and not mid.startswith("#"):
            check(mid not in lists, f"{mid} is in both {lists.get(mid)} and {name}")
            lists[mid] = name
# The same code, the same mutants.
check(sites.fingerprint(sites.find_mutants(include)) == sites.fingerprint(ms), "two walks disagree")
print(f"{len(ms)} mutants: " + ", ".join(f"{o} {n}" for o, n in sorted(by_op.items())))
for f in failures[:20]:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
