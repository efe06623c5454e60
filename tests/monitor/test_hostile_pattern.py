"""A user's regex cannot hang the runner: filters that backtrack catastrophically over a log
tailed live, in a real `mso run` on `local`: `(a+)+$` (the engine answers it at once) and
`(a|aa)+$` (it runs out of time), on 40 a's and a b. The run ends as usual; the time-outs are
said once, naming where the pattern is written; the lines it ran out on stay unclassified, and
after 3 it is skipped: the other filters go on classifying (and the progress goes on)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import mso

APP = """\
name: hostile
version: "1"
description: Writes lines a naive regex engine backtracks on for ever, and plain ones.
command: [bash, -c, 'for i in 1 2 3 4 5 6; do printf "%40s\\n" b | tr " " a >> run.log; echo "step $i" >> run.log; sleep 0.3; done']
logs:
  - filename: run.log
    filters:
      - {pattern: "(a+)+$", severity: WARNING}
      - {pattern: "(a|aa)+$", severity: ERROR}
      - {pattern: "^step", severity: INFO, progress: "+1"}
expected_steps: 6
"""


def test_a_catastrophic_pattern_does_not_stall_the_run(example: Path) -> None:
    (example / "applications" / "hostile.yaml").write_text(APP)
    (example / "experiments" / "hostile.yaml").write_text("name: hostile\napplication: hostile\n")
    proc = mso("run", "hostile", repo=example, timeout=120)
    assert proc.returncode == 0, proc.stderr
    [folder] = (example / "results" / "hostile").iterdir()
    entries = [json.loads(line) for line in (folder / "main-0000" / "run.log.jsonl").read_text().splitlines()]
    assert [e["text"] for e in entries] == [f"step {i}" for i in range(1, 7)]
    assert entries[-1]["progress"] == 100
    record = json.loads((folder / "run.json").read_text())
    assert record["tasks"][0]["logs"]["counts"] == {"INFO": 6}
    warned = [ln for ln in proc.stderr.splitlines() if "ran out of time" in ln]
    assert len(warned) == 1 and "applications/hostile.yaml:" in warned[0] and \
        "(a|aa)+$" in warned[0], proc.stderr
