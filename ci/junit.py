#!/usr/bin/python3
"""junit.py: the gate's JUnit files, written with an XML library.

    junit.py case FILE SUITE NAME pass|fail SECONDS [MESSAGE]
        adds testcase NAME to testsuite SUITE of FILE (both created if
        missing), for stages that are not ctest runs; MESSAGE's first line
        is the failure's message, the whole of it its text.
    junit.py rename FILE SUITE
        names every testsuite of FILE (ctest --output-junit names its suite
        after the project) SUITE: the gate's stage and preset.
    junit.py merge OUT FILE...
        one <testsuites name="lazywq gate"> in OUT with every testsuite of
        the FILEs (an unreadable FILE becomes a failing testcase that says so).
"""
import os
import sys
import xml.etree.ElementTree as ET


def suites_of(path):
    root = ET.parse(path).getroot()
    return [root] if root.tag == "testsuite" else list(root.iter("testsuite"))


def write(root, path):
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)


def case(path, suite, name, result, seconds, message=""):
    root = ET.parse(path).getroot() if os.path.exists(path) and os.path.getsize(path) else ET.Element("testsuites")
    if root.tag == "testsuite":
        wrapper = ET.Element("testsuites")
        wrapper.append(root)
        root = wrapper
    failed = result != "pass"
    s = next((x for x in root.findall("testsuite") if x.get("name") == suite), None)
    if s is None:
        s = ET.SubElement(root, "testsuite", name=suite, tests="0", failures="0", time="0")
    s.set("tests", str(int(s.get("tests", "0")) + 1))
    s.set("failures", str(int(s.get("failures", "0")) + int(failed)))
    s.set("time", str(float(s.get("time", "0")) + float(seconds)))
    c = ET.SubElement(s, "testcase", classname=suite, name=name, time=str(seconds))
    if failed:
        f = ET.SubElement(c, "failure", message=(message.split("\n", 1)[0] if message else result))
        f.text = message
    write(root, path)


def rename(path, suite):
    tree = ET.parse(path)
    root = tree.getroot()
    for s in [root] if root.tag == "testsuite" else root.iter("testsuite"):
        s.set("name", suite)
        for c in s.iter("testcase"):
            c.set("classname", suite)
    write(root, path)


def merge(out, paths):
    root = ET.Element("testsuites", name="lazywq gate")
    for p in paths:
        try:
            root.extend(suites_of(p))
        except (ET.ParseError, OSError) as e:
            s = ET.SubElement(root, "testsuite", name=os.path.basename(p), tests="1", failures="1")
            c = ET.SubElement(s, "testcase", classname="gate", name=f"read {os.path.basename(p)}")
            ET.SubElement(c, "failure", message=f"unreadable JUnit file: {e}").text = str(e)
    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(int(s.get(attr, "0") or 0) for s in root.findall("testsuite"))))
    write(root, out)


def main(argv):
    if len(argv) >= 7 and argv[1] == "case":
        case(argv[2], argv[3], argv[4], argv[5], argv[6] if len(argv) > 6 else "0",
             argv[7] if len(argv) > 7 else "")
    elif len(argv) == 4 and argv[1] == "rename":
        rename(argv[2], argv[3])
    elif len(argv) >= 3 and argv[1] == "merge":
        merge(argv[2], argv[3:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
