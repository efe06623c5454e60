#!/usr/bin/env python3
"""The book at scale: 1000 experiments x 10 runs x 10 tasks, built by `runner.book.build`.

    .venv/bin/python bench/book.py [--experiments 1000] [--runs 10] [--keep DIR]

It writes a repository the way mso leaves one: 10 applications that declare result metrics,
a public and a private dataset, two infrastructures, and experiments with a 2-axis matrix
(5 x 2 points); every run has a run.json whose tasks carry outputs, classified logs, stdout,
metrics, requested resources and usage. Then it builds the book three times, each in a fresh
process: cold (no cache under .mso/book), again with nothing changed, and after one more run.
The build times, the nav's size in bytes (the nav of the home page's HTML) and the peak memory
(the largest child's max RSS) are printed. The last line is the build after one more run: what
every pipeline after the first does, its book cache (.mso/book) kept by the pipeline's `cache:`.
The cold build, a repository's first, is printed above it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = 10
A_VALUES, B_VALUES = (8, 16, 32, 64, 128), (0.1, 0.2)
APP = """\
name: solver-{i}
version: "1.{i}"
description: A solver of family {i} that writes its errors to out/summary.json.
owners: [ana]
command: [python, solve.py, --a, "{{a}}", --b, "{{b}}"]
parameters:
  type: object
  properties:
    a: {{type: integer, minimum: 1, description: resolution}}
    b: {{type: number, description: coefficient}}
inputs: {{mesh: {{description: the mesh}}}}
outputs: [out/summary.json, out/field.npy]
results: [{{file: out/summary.json, fields: [error, seconds]}}]
logs:
  - path: solve.log
    filters:
      - {{pattern: "^step", severity: INFO, progress: "+1"}}
      - {{pattern: "^warn", severity: WARNING}}
      - {{pattern: "^done", severity: OK, progress: 100}}
expected_steps: 20
resources: {{cpus_per_task: 2, memory: 1G, walltime: "00:10:00"}}
"""
EXPERIMENT = """\
name: exp-{i:04d}
description: Does the error of solver {app} fall four-fold, case {i} ({word})?
owners: [{owner}]
application: solver-{app}
infrastructure: {infra}
matrix: {{a: [8, 16, 32, 64, 128], b: [0.1, 0.2]}}
inputs: {{mesh: {dataset}}}
resources: {{cpus_per_task: 2, memory: 1G, walltime: "00:10:00"}}
tags: [bench]
"""
WORDS = ("granite", "meadow", "harbour", "lantern", "quartz", "willow", "ember", "tundra")
CLUSTER = """\
name: cluster
kind: slurm
host: login.cluster.example.org
user: {env: HPC_USER}
key: {env: HPC_SSH_KEY}
known_hosts: {env: HPC_KNOWN_HOSTS}
work_root: /scratch/mso
partition: thin
"""
FIELD = bytes(range(256)) * 16   # every task's out/field.npy: 4 KiB, hard-linked


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def declarations(root: Path, experiments: int) -> None:
    """Applications, datasets, infrastructures and experiments."""
    for folder in ("applications", "datasets/data", "experiments", "infrastructures", "book"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for i in range(APPS):
        (root / f"applications/solver-{i}.yaml").write_text(APP.format(i=i))
    for name, vis in (("mesh-public", "public"), ("mesh-private", "private")):
        data = f"{name} mesh\n".encode()
        (root / f"datasets/data/{name}.txt").write_bytes(data)
        (root / f"datasets/{name}.yaml").write_text(
            f"name: {name}\ndescription: A {vis} mesh.\nlocation: datasets/data/{name}.txt\n"
            f"sha256: {sha(data)}\nsize: {len(data)}\nvisibility: {vis}\nowners: [ana]\n")
    (root / "infrastructures/cluster.yaml").write_text(CLUSTER)
    (root / "infrastructures/local.yaml").write_text("name: local\nkind: local\n")
    for i in range(experiments):
        (root / f"experiments/exp-{i:04d}.yaml").write_text(EXPERIMENT.format(
            i=i, app=i % APPS, word=WORDS[i % len(WORDS)], owner=("ana", "ben", "eva")[i % 3],
            infra="cluster" if i % 2 else "local",
            dataset="mesh-private" if i % 10 == 0 else "mesh-public"))
    (root / "book/index.md").write_text("# Bench book\n\nA laboratory book at scale.\n")
    (root / "mkdocs.yml").write_text("site_name: Bench book\nuse_directory_urls: false\n")


def when(day: int, second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_760_000_000 + day * 86400 + second))


def task(folder: Path, index: int, a: int, b: float, day: int, run: int) -> dict:
    """One task's files in the run folder, and its record."""
    tid = f"main-{index:04d}"
    out = folder / tid / "out"
    out.mkdir(parents=True)
    error = round(b / a ** 2 * (1 + run / 100), 9)
    summary = json.dumps({"a": a, "b": b, "error": error, "seconds": round(a / 50, 3)}).encode()
    (out / "summary.json").write_bytes(summary)
    (out / "field.npy").hardlink_to(folder.parent / ".field.npy")   # < 65000 links
    steps = [f"step {s}/20 residual={error * (21 - s):.6g}" for s in range(1, 21)]
    log = ["start", *steps[:10], "warn slow convergence", *steps[10:], f"done error={error}"]
    (folder / tid / "solve.log").write_text("\n".join(log) + "\n")
    entries = [{"line": n + 2, "severity": "INFO", "text": s, "progress": float(n + 1)}
               for n, s in enumerate(steps)]
    entries.insert(10, {"line": 12, "severity": "WARNING", "text": log[11]})
    entries.append({"line": 23, "severity": "OK", "text": log[-1], "progress": 100.0})
    (folder / tid / "solve.log.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    (folder / tid / "stdout.txt").write_text(f"a={a} b={b} error={error}\n")
    start = day * 86400 + index * 30
    return {"id": tid, "step": "main", "index": index, "parameters": {"a": a, "b": b},
            "state": "succeeded", "job_id": str(1000 + index), "submitted": when(day, start),
            "started": when(day, start + 20), "ended": when(day, start + 80), "exit_code": 0,
            "peak_memory_kb": 30000 + a * 100, "requested": {"cpus": 2, "memory_mb": 1024,
                                                             "walltime_s": 600},
            "usage": {"elapsed_s": 60, "cpu_s": 110, "queue_wait_s": 20, "source": "wrapper"},
            "stdout": f"{tid}/stdout.txt", "stderr": f"{tid}/stderr.txt",
            "outputs": [{"path": "out/field.npy", "size": len(FIELD), "sha256": sha(FIELD),
                         "stored": "results"},
                        {"path": "out/summary.json", "size": len(summary),
                         "sha256": sha(summary), "stored": "results"}],
            "identity": sha(f"{folder.name}{tid}".encode()),
            "logs": {"counts": {"INFO": 20, "OK": 1, "WARNING": 1}, "first_error": None,
                     "progress": 100.0},
            "metrics": {"error": error, "seconds": round(a / 50, 3)}}


def run_record(root: Path, i: int, run: int) -> None:
    """Run number `run` of experiment i: its folder with run.json and its tasks' files."""
    name, day = f"exp-{i:04d}", run * 3 + i % 3
    spec = sha(f"{name}-{run}".encode())
    run_id = f"{when(day, i)[:19].replace('-', '').replace(':', '')}Z-{spec[:8]}-{sha(spec.encode())[:8]}"
    folder = root / "results" / name / run_id
    points = [(a, b) for a in A_VALUES for b in B_VALUES]
    tasks = [task(folder, n, a, b, day, run) for n, (a, b) in enumerate(points)]
    infra = ({"name": "cluster", "kind": "slurm", "host": "login.cluster.example.org"} if i % 2
             else {"name": "local", "kind": "local", "host": None})
    dataset = "mesh-private" if i % 10 == 0 else "mesh-public"
    record = {"run_id": run_id, "experiment": name, "spec_hash": spec,
              "application": {"name": f"solver-{i % APPS}", "version": f"1.{i % APPS}",
                              "image": None},
              "infrastructure": infra, "state": "succeeded", "created": when(day, 0),
              "updated": when(day, 400), "mso_version": "0.1.0",
              "git": {"commit": sha(run_id.encode())[:40], "dirty": False, "branch": "main"},
              "work_dir": f"/scratch/mso/{run_id}", "datasets": {dataset: sha(dataset.encode())},
              "format": 1, "triggered_by": ("ana", "ben", "eva")[(i + run) % 3], "tasks": tasks}
    (folder / "run.json").write_text(json.dumps(record, indent=1) + "\n")


def repository(root: Path, experiments: int, runs: int) -> None:
    declarations(root, experiments)
    for i in range(experiments):
        field = root / "results" / f"exp-{i:04d}" / ".field.npy"
        field.parent.mkdir(parents=True)
        field.write_bytes(FIELD)
        for run in range(runs):
            run_record(root, i, run)
        field.unlink()


BUILD = """\
import json, sys, time
from pathlib import Path
from runner.book.build import build
start = time.perf_counter()
built = build(Path(sys.argv[1]))
print(json.dumps({"seconds": time.perf_counter() - start, "pages": built.pages,
                  "runs": built.runs, "warnings": len(built.warnings)}))
"""


def timed_build(root: Path) -> tuple[dict, int]:
    """A build in a fresh process: what it reports, and its peak memory in bytes."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([sys.executable, "-c", BUILD, str(root)], cwd=ROOT, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        sys.exit(f"the build failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of the children is the largest child so far: a build smaller than an earlier
    # one reports the earlier one's peak (an upper bound)
    return json.loads(proc.stdout.strip().splitlines()[-1]), max(peak, before) * 1024


def nav_bytes(site: Path) -> int:
    html = (site / "index.html").read_text("utf-8")
    nav = html.split('<nav class="md-nav md-nav--primary"', 1)[1].split("</nav>", 1)[0]
    return len(nav.encode())


def reset(root: Path, runs: int) -> None:
    """A kept repository as repository() wrote it: no book built, not the run add_run added."""
    for folder in (root / "site", root / ".mso"):
        shutil.rmtree(folder, ignore_errors=True)
    added = sorted((root / "results" / "exp-0000").iterdir())[runs:]
    for folder in added:
        shutil.rmtree(folder)


def add_run(root: Path, runs: int) -> None:
    """One more run of the first experiment, as a pipeline would add."""
    field = root / "results" / "exp-0000" / ".field.npy"
    field.write_bytes(FIELD)
    run_record(root, 0, runs)
    field.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiments", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=10, help="runs per experiment")
    ap.add_argument("--keep", type=Path, help="write the repository here and keep it; if it "
                    "holds one kept before (same sizes), build that one again from cold")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="mso-bench-book-"))
    try:
        start = time.perf_counter()
        if args.keep and (root / "results").is_dir():
            reset(root, args.runs)
        else:
            repository(root, args.experiments, args.runs)
        print(f"repository: {args.experiments} experiments x {args.runs} runs x "
              f"{len(A_VALUES) * len(B_VALUES)} tasks ready in "
              f"{time.perf_counter() - start:.1f} s")
        cold, peak = timed_build(root)
        print(f"cold build: {cold['pages']} pages, {cold['runs']} runs, {cold['warnings']} "
              f"warnings in {cold['seconds']:.1f} s, peak memory {peak / 2**20:.0f} MiB")
        print(f"nav_bytes = {nav_bytes(root / 'site')}")
        site_mb = sum(p.stat().st_size for p in (root / "site").rglob("*") if p.is_file())
        print(f"site: {site_mb / 2**20:.0f} MiB")
        again, _ = timed_build(root)
        print(f"rebuild, nothing changed: {again['seconds']:.1f} s")
        add_run(root, args.runs)
        one, peak = timed_build(root)
        print(f"rebuild after one new run: {one['pages']} pages in {one['seconds']:.1f} s")
        print(f"cold_book_seconds = {cold['seconds']:.1f}")
        print(f"peak_memory_mib = {peak / 2**20:.0f} (goal <= 2048)")
        print(f"book_seconds = {one['seconds']:.1f} (goal <= 90)")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
