"""What a SIGTERM means to `mso run`: in a merge-request pipeline GitLab cancelling the job, so
the runs are cancelled with who and why; elsewhere an interrupt that pauses them. And the
pipeline's run job lets the SIGTERM reach mso (interruptible, exec). With real local tasks; the
same on the test cluster is tests/cluster/test_cancel_follows_mr.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from runner.commands.cancel import by_pipeline
from tests.commands.test_run import _processes_with, _record, _wait_for
from tests.conftest import ROOT, counter_experiment

TEMPLATE = ROOT / "templates" / "pipeline" / "template.yml"


def test_who_and_why_only_in_a_merge_request_pipeline() -> None:
    who, why = by_pipeline({"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "12",
                            "CI_PIPELINE_ID": "9001", "GITLAB_USER_LOGIN": "ana"})
    assert who == "gitlab"   # ana started the pipeline; who stopped it, the job cannot know
    assert why.startswith("pipeline 9001 of merge request !12 was cancelled or superseded")
    for source in ("push", "schedule", "web", None):
        assert by_pipeline({"CI_PIPELINE_SOURCE": source} if source else {}) is None


def _terminated(repo: Path, name: str, env: dict[str, str]) -> subprocess.Popen:
    ledger = counter_experiment(repo, name, ["a", "b"], sleep=60)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CI_", "GITLAB_"))}
    proc = subprocess.Popen([sys.executable, "-m", "runner", "-C", str(repo), "run", name],
                            env={**clean, "PYTHONPATH": str(ROOT), **env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for(lambda: ledger.exists() and len(ledger.read_text().split()) == 2, 30)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=10)
    return proc


def test_sigterm_in_a_merge_request_pipeline_cancels_local_tasks(counter: Path) -> None:
    proc = _terminated(counter, "mr", {"CI_PIPELINE_SOURCE": "merge_request_event",
                                       "CI_MERGE_REQUEST_IID": "7", "CI_PIPELINE_ID": "555"})
    assert proc.returncode == 130
    rec = _record(counter, "mr")
    assert rec["state"] == "cancelled" and rec["cancelled_by"] == "gitlab"
    assert "!7" in rec["reason"] and "pipeline 555" in rec["reason"]
    _wait_for(lambda: not _processes_with("count.py", counter), 10)


def test_sigterm_in_a_branch_pipeline_pauses(counter: Path) -> None:
    proc = _terminated(counter, "branch", {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main"})
    assert proc.returncode == 130
    assert _record(counter, "branch")["state"] == "paused"
    assert _processes_with("count.py", counter), "the tasks go on"
    subprocess.run([sys.executable, "-m", "runner", "-C", str(counter), "cancel", "branch"],
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True)


def _run_job_script() -> str:
    body = TEMPLATE.read_text().split("\n---\n", 1)[1].replace("$[[ inputs.watch-for ]]", "50m")
    job = yaml.safe_load(body)["mso-run"]
    assert job["interruptible"] is True
    return "\n".join(job["script"])


def test_the_run_job_is_interruptible_and_sigterm_reaches_mso(tmp_path: Path) -> None:
    """The job's script under bash, with an `mso` that notes the signals it gets: SIGTERM sent to
    the script's process (as the runner does) reaches mso, for it is exec'd."""
    script = _run_job_script()
    assert script.strip().splitlines()[-2].strip().startswith("exec mso run")
    fake = tmp_path / "mso"
    fake.write_text("#!/bin/bash\ntrap 'echo TERM > got; exit 130' TERM\necho up > started\n"
                    "while :; do sleep 0.05; done\n")
    fake.chmod(0o755)
    shell = subprocess.Popen(["bash", "-c", script], cwd=tmp_path,
                             env={"PATH": f"{tmp_path}:/usr/bin:/bin", "CI_PIPELINE_SOURCE": "merge_request_event"})
    _wait_for(lambda: (tmp_path / "started").exists(), 10)
    time.sleep(0.1)
    shell.send_signal(signal.SIGTERM)   # to the script's own process, not its group
    assert shell.wait(timeout=10) == 130
    assert (tmp_path / "got").read_text() == "TERM\n"
