#!/usr/bin/env python3
"""What the GitOps loop costs a run: the same sweep on the local infrastructure, once plain
(`mso run`) and once as in a merge-request pipeline (`mso run --publish --junit`, pushing the
records to a bare git remote after submitting and at the end, with the merge-request note and
commit statuses sent to a GitLab stand-in on 127.0.0.1). Same machine, same run, alternated.

    .venv/bin/python bench/gitops.py [--tasks 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.publish.gitlab_standin import CI_VARS, GitLabStandIn  # noqa: E402

APP = """name: echo
version: "1"
description: Writes its index.
command: [sh, -c, 'echo {i} > out.txt']
parameters: {type: object, properties: {i: {type: integer}}}
outputs: [out.txt]
"""
TOKEN = "bench-token-0123456789"


def repository(root: Path, tasks: int) -> None:
    for folder in ("applications", "datasets", "experiments", "infrastructures"):
        (root / folder).mkdir(parents=True)
    (root / "applications/echo.yaml").write_text(APP)
    (root / "experiments/sweep.yaml").write_text(
        f"name: sweep\napplication: echo@1\nmatrix: {{i: [{', '.join(map(str, range(tasks)))}]}}\n")
    (root / "infrastructures/local.yaml").write_text("name: local\nkind: local\nlimits: {max_parallel: 8}\n")
    bare = root.parent / "remote.git"
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@b"]
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run([*git, "-C", str(root), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(root), "commit", "-qm", "bench"], check=True)
    subprocess.run(["git", "-C", str(root), "remote", "add", "origin", str(bare)], check=True)


def one(tasks: int, gitops: bool) -> tuple[float, int]:
    """Wall seconds of one run, and the GitLab requests it made."""
    with tempfile.TemporaryDirectory() as tmp, GitLabStandIn(TOKEN) as standin:
        root = Path(tmp) / "repo"
        repository(root, tasks)
        env = {k: v for k, v in os.environ.items() if k not in CI_VARS}
        args = ["run", "sweep"]
        if gitops:
            env |= standin.env(MSO_GITLAB_TOKEN=TOKEN)
            args += ["--publish", "--junit", str(Path(tmp) / "runs.xml")]
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "runner", "-C", str(root), *args], env=env,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start, len(standin.requests)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    plain, loop, requests = [], [], []
    for _ in range(a.repeat):
        plain.append(one(a.tasks, False)[0])
        seconds, n = one(a.tasks, True)
        loop.append(seconds)
        requests.append(n)
    print(f"{a.tasks} tasks: plain mso run {statistics.median(plain):.2f} s, with publish + "
          f"GitLab note/statuses {statistics.median(loop):.2f} s, GitLab requests {max(requests)}")
    print(f"gitops_overhead_ratio = {statistics.median(loop) / statistics.median(plain):.2f} "
          f"(goal <= 1.2)")


if __name__ == "__main__":
    main()
