"""Secrets stay out of what tasks see and out of what mso writes: a local task starts without
the GitLab token and the declared credentials, and a secret a task prints anyway is masked in
every log mso copies into results/, and so in the book, the merge-request note, the commit
statuses and the JUnit report."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import mso
from tests.publish.gitlab_standin import CI_VARS, NOTE, NOTES, GitLabStandIn

CANARY = "canary-7f3e2b9d41c6a05e"
APP = """\
name: leaky
version: "1"
description: Prints what it can see of the environment, and a secret it was handed in a file.
command: [python3, leak.py, "{secret_file}", "{code}"]
parameters:
  type: object
  properties:
    secret_file: {type: string}
    code: {type: integer, default: 0}
logs:
  - path: leak.log
    filters:
      - {pattern: "^token", severity: WARNING}
"""
LEAK = """\
import os, sys
secret = open(sys.argv[1]).read().strip()
seen = {k: os.environ.get(k, "(unset)") for k in ("MSO_GITLAB_TOKEN", "CI_JOB_TOKEN", "DATA_PASS")}
print("env", seen)
print("token", secret, file=sys.stderr)
with open("leak.log", "w") as fh:
    fh.write(f"token {secret}\\n")
sys.exit(int(sys.argv[2]))
"""
DATASET = """\
name: remote-data
description: Data behind an rclone remote whose password is a secret.
location: "canary:data.json"
sha256: "0000000000000000000000000000000000000000000000000000000000000000"
credentials: {RCLONE_CONFIG_CANARY_PASS: {env: DATA_PASS}}
visibility: private
"""


def leaky(example: Path, code: int = 0) -> dict[str, str]:
    """Add the leaky application, a dataset with a secret credential and an experiment; the
    environment that holds the canary everywhere mso might pick it up."""
    (example / "applications" / "leaky").mkdir()
    (example / "applications" / "leaky.yaml").write_text(APP)
    (example / "applications" / "leaky" / "leak.py").write_text(LEAK)
    (example / "datasets" / "remote-data.yaml").write_text(DATASET)
    secret_file = example.parent / "handed.txt"          # outside the repository
    secret_file.write_text(CANARY + "\n")
    (example / "experiments" / "leak.yaml").write_text(
        f"name: leak\napplication: leaky@1\nparameters: {{secret_file: '{secret_file}', code: {code}}}\n")
    return {"MSO_GITLAB_TOKEN": CANARY, "CI_JOB_TOKEN": CANARY + "-job", "DATA_PASS": CANARY + "-data",
            "MSO_SECRET_VARS": "HANDED", "HANDED": CANARY}


def assert_nowhere(*folders: Path, texts: tuple[str, ...] = ()) -> None:
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert CANARY.encode() not in path.read_bytes(), path
    assert not any(CANARY in t for t in texts)


def test_tasks_start_without_secrets_and_printed_secrets_are_masked(example: Path) -> None:
    proc = mso("run", "leak", "--json", repo=example, env=leaky(example))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [run] = json.loads(proc.stdout)["runs"]
    task = example / "results" / "leak" / run["run_id"] / "main-0000"
    stdout = (task / "stdout.txt").read_text()
    assert "'MSO_GITLAB_TOKEN': '(unset)'" in stdout and "'CI_JOB_TOKEN': '(unset)'" in stdout
    assert "'DATA_PASS': '(unset)'" in stdout       # a dataset's credential
    assert (task / "stderr.txt").read_text() == "token [MASKED]\n"
    assert (task / "leak.log").read_text() == "token [MASKED]\n"
    assert "[MASKED]" in (task / "leak.log.jsonl").read_text()
    book = mso("book", "build", "--site", str(example.parent / "site"), repo=example)
    assert book.returncode == 0, book.stderr
    assert_nowhere(example / "results", example.parent / "site",
                   texts=(proc.stdout, proc.stderr, book.stdout, book.stderr))


def test_a_failing_run_in_a_pipeline_tells_gitlab_without_the_canary(example: Path) -> None:
    """The run fails with the secret on its last log line: the note's first error line, the
    status and the JUnit failure carry the log, masked; and they move as the run does."""
    env = {k: "" for k in CI_VARS} | leaky(example, code=3)
    junit = example.parent / "runs.xml"
    with GitLabStandIn(CANARY) as standin:
        proc = mso("run", "leak", "--junit", str(junit), repo=example, env=env | standin.env())
        assert proc.returncode == 2, proc.stdout + proc.stderr
        history = standin.status_history("mso/leak")
        assert history[0] in ("pending", "running") and history[-1] == "failed", history
        [note] = standin.notes[7]
        assert "❌ failed" in note["body"] and r"main-0000: token \[MASKED\]" in note["body"]
        assert len(standin.calls("POST", NOTES)) == 1     # created once, then updated in place
        assert all(r.path.endswith(f"/notes/{note['id']}") for r in standin.calls("PUT", NOTE))
        bodies = tuple(f"{r.path}{r.query}{r.headers}{r.body}" for r in standin.requests)
    assert "token [MASKED]" in junit.read_text()
    assert_nowhere(example / "results", texts=(proc.stdout, proc.stderr, junit.read_text(), *bodies))
