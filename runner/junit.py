"""JUnit XML reports, which GitLab shows in merge requests."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from runner.fsutil import write_atomic

# XML 1.0 cannot hold these at all, not even escaped; a log tail may carry them
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Case:
    """One test case: failed when `failure` is set, skipped when `skipped` is, else passed."""

    classname: str
    name: str
    failure: str = ""
    details: str = ""
    seconds: float = 0.0
    skipped: str = ""


def write(path: Path, suite: str, cases: list[Case]) -> None:
    """Write one test suite atomically."""
    failures = sum(1 for c in cases if c.failure)
    skipped = sum(1 for c in cases if c.skipped and not c.failure)
    root = ET.Element("testsuites", name=suite, tests=str(len(cases)), failures=str(failures))
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)), failures=str(failures),
                       errors="0", skipped=str(skipped))
    for c in cases:
        tc = ET.SubElement(ts, "testcase", classname=_clean(c.classname), name=_clean(c.name),
                           time=f"{c.seconds:.3f}")
        if c.failure:
            ET.SubElement(tc, "failure", message=_clean(c.failure)).text = \
                _clean(c.details or c.failure)
        elif c.skipped:
            ET.SubElement(tc, "skipped", message=_clean(c.skipped)).text = \
                _clean(c.details) or None
    ET.indent(root)
    write_atomic(path, ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)
