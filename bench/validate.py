#!/usr/bin/env python3
"""How long `mso validate` takes on 1000 experiments (plus their 1000 applications), against
check-jsonschema validating the same files with the same schemas, measured in the same run.

mso does more than check-jsonschema (cross references, parameters against each application's
own schema, line numbers for every error), so the ratio is a ceiling on its overhead.

    .venv/bin/python bench/validate.py [--n 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

APP = """\
# yaml-language-server: $schema=../schemas/application.schema.json
name: app{i}
version: 1.{i}.0
description: Solver number {i} for the benchmark.
owners: [ana]
container: {{image: registry.invalid/app{i}:1}}
command: [python, solve.py, --nu, "{{nu}}", --n, "{{n}}", --init, "{{inputs.initial}}"]
parameters:
  type: object
  properties:
    nu: {{type: number, exclusiveMinimum: 0, default: 0.1}}
    n: {{type: integer, minimum: 8, default: 64}}
    steps: {{type: integer, minimum: 1, default: 500}}
inputs: {{initial: {{description: initial field}}}}
outputs: [out/field.npy, out/summary.json]
logs:
  - path: solve.log
    filters:
      - {{pattern: "^step", severity: INFO, progress: "+1"}}
      - {{pattern: "^done", severity: OK, progress: 100}}
resources: {{tasks: 1, cpus_per_task: 1, memory: 1G, walltime: "00:10:00"}}
"""

EXPERIMENT = """\
# yaml-language-server: $schema=../schemas/experiment.schema.json
name: exp{i}
description: Sweep number {i}.
application: app{i}@1.{i}.0
infrastructure: local
parameters: {{steps: 2000}}
matrix:
  nu: [0.05, 0.1, 0.2]
  n: [64, 128]
inputs: {{initial: bump}}
resources: {{tasks: 1, cpus_per_task: 4, memory: 2G, walltime: "00:30:00", slurm: {{qos: short}}}}
"""

DATASET = """\
name: bump
description: An initial field.
location: data/bump.json
visibility: public
"""


def generate(root: Path, n: int) -> None:
    for folder in ("applications", "experiments", "datasets", "infrastructures"):
        (root / folder).mkdir(parents=True)
    shutil.copytree(ROOT / "runner" / "schemas", root / "schemas")
    (root / "data").mkdir()
    (root / "data" / "bump.json").write_text("{}\n")
    (root / "datasets" / "bump.yaml").write_text(DATASET)
    for i in range(n):
        (root / "applications" / f"app{i}.yaml").write_text(APP.format(i=i))
        (root / "experiments" / f"exp{i}.yaml").write_text(EXPERIMENT.format(i=i))


def timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} ... failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, args.n)
        apps = sorted(str(p) for p in (root / "applications").glob("*.yaml"))
        exps = sorted(str(p) for p in (root / "experiments").glob("*.yaml"))
        mso_cmd = [str(BIN / "mso"), "-C", str(root), "validate"]
        cj = str(BIN / "check-jsonschema")
        baseline = [[cj, "--schemafile", str(root / "schemas/application.schema.json"), *apps],
                    [cj, "--schemafile", str(root / "schemas/experiment.schema.json"), *exps]]
        mso_times, base_times = [], []
        for _ in range(args.repeat):
            mso_times.append(timed(mso_cmd, root))
            base_times.append(sum(timed(cmd, root) for cmd in baseline))
    mso_s, base_s = statistics.median(mso_times), statistics.median(base_times)
    print(f"files: {args.n} experiments + {args.n} applications; median of {args.repeat}")
    print(f"check-jsonschema (baseline, same files, same schemas): {base_s:.2f} s")
    print(f"validate_seconds = {mso_s:.2f} (goal <= 1.5)")
    print(f"validate_ratio = {mso_s / base_s:.2f} (goal <= 0.5)")


if __name__ == "__main__":
    main()
