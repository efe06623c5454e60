"""`scorer`: a small application that writes result metrics (a JSON summary among its outputs,
a CSV of its convergence history that is not), for tests that run it for real."""

from __future__ import annotations

from pathlib import Path

APP = """\
name: scorer
version: "1"
description: Scores a point of a sweep and writes its metrics.
command: [python3, score.py, "{n}", "{how}"]
parameters:
  type: object
  properties:
    n: {type: integer}
    how: {type: string, default: good}
outputs: [out/summary.json]
results:
  - {file: out/summary.json, fields: [error, detail.max, label]}
  - {file: history.csv}
"""

SCORE_PY = """\
import json, os, sys
n, how = int(sys.argv[1]), sys.argv[2]
os.makedirs("out", exist_ok=True)
summary = {"error": 1.0 / n ** 2, "label": f"n={n}", "seconds": 0.1, "detail": {"max": 3.0 / n}}
with open("out/summary.json", "w") as fh:
    fh.write("{not json" if how == "broken" else json.dumps(summary))
with open("history.csv", "w") as fh:
    fh.write("step,residual\\n")
    fh.writelines(f"{k},{1.0 / (k * n)}\\n" for k in range(1, 4))
print("scored", n)
"""

EXPERIMENT = """\
name: {name}
application: scorer@1
infrastructure: {infra}
matrix: {{n: [2, 4]}}
plots: [{{x: n, y: error, logx: true, logy: true}}]
{extra}"""


def add_scorer(repo: Path, name: str = "scores", infra: str = "local", extra: str = "") -> Path:
    """Add the `scorer` application and an experiment sweeping n over 2 and 4."""
    (repo / "applications" / "scorer").mkdir(exist_ok=True)
    (repo / "applications" / "scorer.yaml").write_text(APP)
    (repo / "applications" / "scorer" / "score.py").write_text(SCORE_PY)
    (repo / "experiments" / f"{name}.yaml").write_text(EXPERIMENT.format(name=name, infra=infra, extra=extra))
    return repo
