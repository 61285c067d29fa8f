#!/usr/bin/env bash
# ci/junit.py, the gate's JUnit writer: cases join their suite, text is
# escaped, a ctest file is renamed after its stage and preset, and merging
# keeps every suite (an unreadable file becomes a failing case).
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
j="/usr/bin/python3 ci/junit.py"
$j case "$tmp/a.xml" "coverage" "every window hit" pass 0 &&
$j case "$tmp/a.xml" "coverage" 'pairs <&> "x"' fail 1.5 $'first line\nsecond line' &&
printf '<?xml version="1.0"?>\n<testsuite name="lazywq" tests="1"><testcase classname="lazywq" name="unit.x"/></testsuite>\n' >"$tmp/ctest.xml" &&
$j rename "$tmp/ctest.xml" "tsan (tsan)" &&
$j merge "$tmp/all.xml" "$tmp/a.xml" "$tmp/ctest.xml" "$tmp/missing.xml" || { echo "FAIL: junit.py exited non-zero"; exit 1; }
/usr/bin/python3 - "$tmp/all.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
names = [s.get("name") for s in r.findall("testsuite")]
assert names == ["coverage", "tsan (tsan)", "missing.xml"], names
cov = r.find("testsuite[@name='coverage']")
assert cov.get("tests") == "2" and cov.get("failures") == "1", cov.attrib
f = cov.find("testcase[@name='pairs <&> \"x\"']/failure")
assert f is not None and f.get("message") == "first line" and f.text == "first line\nsecond line", f
assert r.find("testsuite[@name='tsan (tsan)']/testcase").get("classname") == "tsan (tsan)"
assert r.get("tests") == "4" and r.get("failures") == "2", r.attrib
print("ok: suites", names, "totals", r.get("tests"), "tests,", r.get("failures"), "failures")
PY
