"""JUnit XML reports, which GitLab shows in merge requests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from runner.fsutil import write_atomic


@dataclass(frozen=True)
class Case:
    """One test case: passed when `failure` is empty."""

    classname: str
    name: str
    failure: str = ""
    details: str = ""
    seconds: float = 0.0


def write(path: Path, suite: str, cases: list[Case]) -> None:
    """Write one test suite atomically."""
    failures = sum(1 for c in cases if c.failure)
    root = ET.Element("testsuites", name=suite, tests=str(len(cases)), failures=str(failures))
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)), failures=str(failures),
                       errors="0", skipped="0")
    for c in cases:
        tc = ET.SubElement(ts, "testcase", classname=c.classname, name=c.name, time=f"{c.seconds:.3f}")
        if c.failure:
            ET.SubElement(tc, "failure", message=c.failure).text = c.details or c.failure
    ET.indent(root)
    write_atomic(path, ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")
