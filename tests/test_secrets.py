"""Secrets stay out of what tasks see and out of what mso writes: a local task starts without
the GitLab token and the declared credentials, in a PID namespace of its own where no other
process (not mso, not the shell that started it) can be read; mso writes no secret to a file;
and a secret a task prints anyway is masked in every log mso copies into results/, and so in the
book, the merge-request note, the commit statuses and the JUnit report."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT, mso
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
credentials: {RCLONE_CONFIG_CANARY_TYPE: webdav, RCLONE_CONFIG_CANARY_PASS: {env: DATA_PASS}}
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


# Looks for the canary (given hex-encoded: never as itself, its reverse or its base64), its
# reverse and its base64 (at any alignment, as inside `user:token`) in every process's environ and
# cmdline it can see and in every regular file up to 1 MiB under $HOME, /tmp and the repository
# whose inode changed since the canary was made (`since`, from canary_since()): a file that holds
# it was written after that, and a write sets ctime to now, which no one can set back. The files
# left in /tmp by earlier sessions (hundreds of thousands on a developer's machine) are not read.
SCANNER = """\
import base64, os, stat, sys
canary, since = bytes.fromhex(sys.argv[1]), float(sys.argv[4])
needles = {"plain": [canary], "reversed": [canary[::-1]],
           "base64": [base64.b64encode(bytes(k) + canary)[4:-4] for k in range(3)]}
found, files = [], 0
def look(where, data):
    found.extend(f"{where} {how}" for how, ns in needles.items() if any(n in data for n in ns))
def read(path):
    with open(path, "rb") as fh:
        return fh.read()
pids = [p for p in os.listdir("/proc") if p.isdigit()]
for pid in pids:
    for part in ("environ", "cmdline"):
        try:
            look(f"/proc/{pid}/{part}", read(f"/proc/{pid}/{part}"))
        except OSError:
            pass
for root in (os.environ["HOME"], "/tmp", sys.argv[3]):
    for folder, _, names in os.walk(root):
        for path in (os.path.join(folder, n) for n in names):
            try:
                st = os.lstat(path)
                if stat.S_ISREG(st.st_mode) and st.st_size <= 1 << 20 and st.st_ctime >= since:
                    look(path, read(path))
                    files += 1
            except OSError:
                pass
with open(sys.argv[2], "w") as fh:
    fh.write(f"self {os.getpid()}\\nparent {os.getppid()}\\npids {len(pids)}\\nfiles {files}\\n")
    fh.writelines(f"found {f}\\n" for f in found)
"""
SCAN_APP = """\
name: scanner
version: "1"
description: Looks for a canary token everywhere a task can read.
command: [python3, scan.py, "{canary_hex}", found.txt, "{repo}", "{since}"]
parameters:
  type: object
  properties:
    canary_hex: {type: string}
    repo: {type: string}
    since: {type: number}
outputs: [found.txt]
"""
SECRET_VARS = ("MSO_GITLAB_TOKEN", "DATA_PASS", "LAB_SECRET")   # GitLab's, a dataset's, listed


def canary_since() -> float:
    """The `since` of a scan, taken before its canary is made: 2 s early, as file times come
    from the kernel's coarse clock."""
    return time.time() - 2


def scan(path: Path) -> dict[str, list[str]]:
    """The scanner's report: `key value` lines, by key."""
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        out.setdefault(key, []).append(value)
    return out


def test_a_local_task_cannot_find_the_runners_secrets(example: Path, tmp_path: Path) -> None:
    """The canary sits in mso's environment and in the shell that started it (as in a CI job);
    a task scanning every process and file it can read finds it nowhere. The control: the same
    scanner started by that shell without mso (the canary taken out of its own environment)
    finds it in the shell's environ, and in planted files, reversed and in base64."""
    since = canary_since()
    canary = "mso-canary-" + secrets.token_hex(12)   # new each run: files of earlier runs hold others
    (example / "applications" / "scanner").mkdir()
    (example / "applications" / "scanner.yaml").write_text(SCAN_APP)
    (example / "applications" / "scanner" / "scan.py").write_text(SCANNER)
    (example / "datasets" / "remote-data.yaml").write_text(DATASET)
    (example / "experiments" / "scan.yaml").write_text(
        f"name: scan\napplication: scanner@1\n"
        f"parameters: {{canary_hex: '{canary.encode().hex()}', repo: '{example}', since: {since}}}\n")
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(home), "MSO_SECRET_VARS": "LAB_SECRET",
           **{v: canary for v in SECRET_VARS}}
    # the shell stays the runner's parent (a second command follows), as a CI job's shell does
    run = subprocess.run(["bash", "-c", '"$0" -m runner -C "$1" run scan --json; echo "exit $?" >&2',
                          sys.executable, str(example)], env=env, capture_output=True, text=True, timeout=120)
    assert run.stderr.endswith("exit 0\n"), run.stdout + run.stderr
    [record] = json.loads(run.stdout)["runs"]
    report = scan(example / "results" / "scan" / record["run_id"] / "main-0000" / "found.txt")
    assert "found" not in report, report["found"]
    assert int(report["pids"][0]) <= 8 and int(report["files"][0]) > 0, report   # it did look

    (home / "notes.txt").write_text(canary[::-1])
    (home / "auth.json").write_text(base64.b64encode(f"user:{canary}".encode()).decode())
    out = tmp_path / "control.txt"
    unset = [a for v in SECRET_VARS for a in ("-u", v)]
    control = subprocess.run(["bash", "-c", '"$@"; echo "exit $?" >&2', "bash", "env", *unset,
                              sys.executable, str(example / "applications" / "scanner" / "scan.py"),
                              canary.encode().hex(), str(out), str(example), str(since)],
                             env=env, capture_output=True, text=True, timeout=60)
    assert control.stderr.endswith("exit 0\n"), control.stderr
    report = scan(out)
    shell = report["parent"][0]
    assert f"/proc/{shell}/environ plain" in report["found"], report
    assert f"/proc/{report['self'][0]}/environ plain" not in report["found"], report
    assert {f"{home}/notes.txt reversed", f"{home}/auth.json base64"} <= set(report["found"]), report


def test_an_image_registry_s_credentials_are_secrets(example: Path) -> None:
    """A private registry's username and password variables are kept from tasks and masked."""
    from runner.declarations.repository import load_valid
    from runner.secrets import Secrets
    (example / "applications" / "private.yaml").write_text(
        "name: private\nversion: '1'\ndescription: Runs in a private image.\ncommand: ['true']\n"
        "container:\n  image: 127.0.0.1:5055/lab/private:1\n  registry:\n"
        "    image: 127.0.0.1:5055/lab\n    username: {env: LAB_USER}\n"
        "    password: {env: LAB_TOKEN}\n")
    secrets = Secrets.of(load_valid(example), None)
    assert {"LAB_USER", "LAB_TOKEN"} <= secrets.names()
    env = Secrets(secrets.declared, {"LAB_TOKEN": "glpat-0123456789", "HOME": "/h"})
    assert env.task_environment() == {"HOME": "/h"}
    assert env.mask("token glpat-0123456789 used") == "token [MASKED] used"


def test_a_slurmrestd_token_is_a_secret(example: Path) -> None:
    """The token variable an infrastructure's `api` names is kept from tasks and masked."""
    from runner.declarations.repository import load_valid
    from runner.secrets import Secrets
    (example / "infrastructures" / "rest.yaml").write_text(
        "name: rest\nkind: slurm\nhost: login.example.org\nuser: ana\npartition: debug\n"
        "known_hosts: {env: KH}\nwork_root: /scratch/ana\n"
        "api: {url: 'http://login.example.org:6820', token: {env: REST_TOKEN}}\n")
    secrets = Secrets.of(load_valid(example), None)
    assert "REST_TOKEN" in secrets.names()
    env = Secrets(secrets.declared, {"REST_TOKEN": "eyJhbGciOiJIUzI1NiJ9.x.y", "HOME": "/h"})
    assert env.task_environment() == {"HOME": "/h"}
    assert env.mask("token eyJhbGciOiJIUzI1NiJ9.x.y refused") == "token [MASKED] refused"
