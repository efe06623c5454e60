"""An OPM Flow-like log and OPM's filter list, as MSO4SC's opm-flow-logger blueprint gave it
(verbatim), for the behaviour tests and bench/logs.py."""

from __future__ import annotations

import random
from typing import Iterator

# the filters of MSO4SC/resources blueprint-examples/opm-flow-logger, as written there
FILTERS_YAML = r"""
- filename: flow.log
  filters:
    - {pattern: "^================    End of simulation     ===============", severity: "OK",   progress: 100}
    - {pattern: "^Time step",  severity: "INFO"}
    - {pattern: "^Report step",  severity: "WARNING", progress: "+1"}
    - {pattern: "^[\\s]*[:|=]", verbosity: 2}
    - {pattern: "^Keyword", verbosity: 2}
    - {pattern: "[\\s\\S]*", verbosity: 1}
"""

END = "================    End of simulation     ==============="


def lines(count: int, seed: int = 11) -> Iterator[str]:
    """`count` lines of a Flow run: report steps, time steps, Newton iterations, tables and
    keywords, ending with the end-of-simulation banner."""
    rnd = random.Random(seed)
    yield from ("Flow is a simulator for fully implicit three-phase black-oil flow.",
                "Reading deck file 'SPE1CASE1.DATA'", "Keyword 'RUNSPEC' has no effect here",
                "===============  Saturation Functions Diagnostics  ===============")
    made, report = 4, 0
    while made < count - 2:
        for text in _report(rnd, report, count):
            if made == count - 2:
                break
            yield text
            made += 1
        report += 1
    yield from ("", END)[: count - made]


def _report(rnd: random.Random, report: int, count: int) -> Iterator[str]:
    days = report * 31
    yield f"Report step {report:3d}/{count // 40} at day {days}/{count // 40 * 31}, date = 01-Jan-2000"
    for _ in range(rnd.randint(1, 4)):
        yield f"Time step {rnd.randint(0, 99999):5d}, stepsize {rnd.random() * 30:.2f} days, at day {days}"
        yield (f"   Newton its= {rnd.randint(2, 9)}, linearizations= {rnd.randint(3, 10)} (0.0sec), "
               f"linear its= {rnd.randint(10, 80)} (0.0sec)")
        yield f"    Switching control mode for well PROD{rnd.randint(1, 9)} from SURFACE_RATE to BHP"
    yield "                                   :  FIELD PRESSURE REPORT  :"
    yield f"    :  PAV  =  {rnd.random() * 4000:10.2f}  BARSA              :"
    yield "    ==========================================================="
    if rnd.random() < 0.1:
        yield f"Keyword 'WCONPROD' at report step {report}"
    yield ""
