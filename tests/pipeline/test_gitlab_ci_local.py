"""The project's real pipeline (.gitlab-ci.yml, which is the CI/CD component in templates/), run
job by job by gitlab-ci-local: validate, plan, run on the local infrastructure, publish to a real
bare git remote, book. One difference from GitLab, because no container engine runs here: the
`image:` line of the component is dropped, so the jobs run in the shell, as on a shell runner.
With --shell-isolation every job starts from its own copy of the checkout plus the artifacts of
earlier jobs, as on GitLab."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE, ROOT, add_counter, counter_experiment, require

pytestmark = pytest.mark.integration

GCL = Path(os.environ.get("MSO_GITLAB_CI_LOCAL", ROOT / ".ci/node/node_modules/.bin/gitlab-ci-local"))
IMAGE_LINE = "  image: $[[ inputs.image ]]\n"
PROJECT_URL = "https://gitlab.invalid/mso/mso.git"   # only names the project for gitlab-ci-local
CLUSTER = """\
name: cluster
kind: slurm
host: login.cluster.invalid
user: {env: HPC_USER}
key: {env: HPC_SSH_KEY}
known_hosts: {env: HPC_KNOWN_HOSTS}
work_root: /scratch/mso
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """A checkout of the example repository with mso's pipeline, and its bare remote."""
    require(GCL.exists(), "gitlab-ci-local", ".ci/services/gitlab-ci-local-up")
    require((ROOT / ".venv/bin/mso").exists(), "mso in .venv", "scripts/venv test")
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(bare, "config", "receive.advertisePushOptions", "true")
    hook = bare / "hooks" / "pre-receive"
    hook.write_text('#!/bin/sh\nenv | grep "^GIT_PUSH_OPTION_" >> "$GIT_DIR/push-options"\ncat >/dev/null\n')
    hook.chmod(0o755)
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    for name in (*EXAMPLE, "book", "templates"):
        shutil.copytree(ROOT / name, work / name)
    for name in ("mkdocs.yml", ".gitlab-ci.yml"):
        shutil.copy(ROOT / name, work / name)
    component = work / "templates/pipeline/template.yml"
    text = component.read_text()
    assert text.count(IMAGE_LINE) == 1
    component.write_text(text.replace(IMAGE_LINE, ""))
    # the jobs find mso installed (the component's before_script installs it only when absent)
    (work / ".mso-venv").symlink_to(ROOT / ".venv")
    (work / ".gitignore").write_text(".gitlab-ci-local/\n.cache/\npublic/\n*.xml\nmso-plan.md\n"
                                     "preview.env\n")
    git(work, "add", "-A")
    git(work, "-c", "user.name=ana", "-c", "user.email=ana@example.org", "commit", "-qm", "example")
    git(work, "push", "-q", "origin", "main")
    git(work, "remote", "add", "gcl-origin", PROJECT_URL)
    git(work, "remote", "set-head", "origin", "main")
    return work, bare


def pipeline(work: Path, *args: str, variables: dict[str, str]) -> subprocess.CompletedProcess:
    cmd = [str(GCL), "--shell-executor-no-image", "--shell-isolation", "--no-color",
           *(f"--variable={k}={v}" for k, v in variables.items()), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CI_", "GITLAB_", "MSO_"))}
    return subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=300, env=env)


def built(work: Path, job: str, name: str) -> Path:
    return work / ".gitlab-ci-local/builds" / job / name


def job_log(work: Path, job: str) -> str:
    return (work / ".gitlab-ci-local/output" / f"{job}.log").read_text()


def test_default_branch_pipeline_runs_publishes_and_builds_the_book(project) -> None:
    work, bare = project
    proc = pipeline(work, variables={"MSO_PUSH_URL": str(bare)})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for job in ("mso-validate", "mso-plan", "mso-run", "mso-publish", "pages"):
        assert f"PASS  {job}" in out, out
    # results came back to the branch as the bot's commit, pushed with ci.skip
    log = git(bare, "log", "--format=%an|%s", "main").splitlines()
    assert log[0].startswith("mso bot|mso: results of heat-sweep/"), log
    assert any(line.startswith("mso bot|mso: run records after submitting") for line in log), log
    assert "GIT_PUSH_OPTION_0=ci.skip" in (bare / "push-options").read_text()
    run_id = log[0].split("heat-sweep/")[1].split(",")[0]
    record = json.loads(git(bare, "show", f"main:results/heat-sweep/{run_id}/run.json"))
    assert record["state"] == "succeeded" and len(record["tasks"]) == 6
    # GitLab's reports: validation and the runs as JUnit test cases
    # (gitlab-ci-local keeps reports in the job's folder, where GitLab would collect them)
    runs = ET.parse(built(work, "mso-run", "mso-runs.xml")).getroot()
    assert runs.get("tests") == "6" and runs.get("failures") == "0"
    assert ET.parse(built(work, "mso-validate", "mso-validate.xml")).getroot().get("failures") == "0"
    # the book for GitLab Pages holds the run
    assert run_id in (work / "public/experiments/heat-sweep/index.html").read_text()
    # no GitLab API token here: said once, in one line
    assert job_log(work, "mso-run").count("MSO_GITLAB_TOKEN is not set") == 1


def test_a_fork_merge_request_shows_the_dry_run_and_submits_nothing(project) -> None:
    work, bare = project
    base = git(work, "rev-parse", "HEAD").strip()
    git(work, "checkout", "-q", "-b", "feature")
    (work / "infrastructures/cluster.yaml").write_text(CLUSTER)
    exp = yaml.safe_load((work / "experiments/heat-sweep.yaml").read_text())
    exp.update(name="heat-cluster", infrastructure="cluster")
    (work / "experiments/heat-cluster.yaml").write_text(yaml.safe_dump(exp))
    git(work, "add", "-A")
    git(work, "-c", "user.name=bo", "-c", "user.email=bo@example.org", "commit", "-qm", "cluster")
    mr = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "merge_request_event",
          "CI_MERGE_REQUEST_IID": "7", "CI_MERGE_REQUEST_DIFF_BASE_SHA": base,
          "CI_COMMIT_REF_NAME": "feature", "CI_PAGES_DOMAIN": "pages.invalid"}
    proc = pipeline(work, variables=mr)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for job in ("mso-validate", "mso-plan", "mso-run", "mso-publish", "mso-book-preview"):
        assert f"PASS  {job}" in out, out
    assert "PASS  pages" not in out    # Pages only from the default branch
    plan = (work / "mso-plan.md").read_text()
    assert "heat-cluster" in plan and "| heat-sweep |" not in plan   # only what changed
    run = job_log(work, "mso-run")
    assert "heat-cluster: dry run only, HPC_KNOWN_HOSTS, HPC_SSH_KEY, HPC_USER not set" in run
    assert "fork" in run and "#SBATCH" in run          # why, and the dry run's job scripts
    assert not built(work, "mso-run", "results").exists()
    assert "results are not pushed" in job_log(work, "mso-publish")
    assert git(bare, "branch", "--list", "feature") == ""      # nothing came back
    preview = built(work, "mso-book-preview", "preview.env").read_text()
    assert preview.startswith("MSO_BOOK_PREVIEW=https://") and "/artifacts/public/index.html" in preview


def test_a_run_outliving_its_ci_job_is_resumed_by_the_scheduled_pipeline(project, tmp_path) -> None:
    """The run job stops watching after `watch-for`, its jobs go on, the records are in git; the
    next scheduled pipeline (a new checkout of the branch) resumes and finishes the run."""
    work, bare = project
    scratch = tmp_path / "scratch"       # like a cluster's scratch: outlives the CI job's folder
    (work / "infrastructures/local.yaml").write_text(f"name: local\nkind: local\nwork_root: {scratch}\n")
    add_counter(work)
    (work / "experiments/heat-sweep.yaml").unlink()
    ledger = counter_experiment(work, "slow", ["a", "b"], sleep=6)
    ci = yaml.safe_load((work / ".gitlab-ci.yml").read_text())
    ci["include"][0]["inputs"]["watch-for"] = "2s"
    (work / ".gitlab-ci.yml").write_text(yaml.safe_dump(ci))
    git(work, "add", "-A")
    git(work, "-c", "user.name=ana", "-c", "user.email=ana@example.org", "commit", "-qm", "slow")
    git(work, "push", "-q", "origin", "main")
    first = pipeline(work, variables={"MSO_PUSH_URL": str(bare)})
    assert first.returncode == 0, first.stdout + first.stderr
    assert "waiting (jobs go on; `mso run` resumes)" in job_log(work, "mso-run")
    [path] = [p for p in git(bare, "ls-tree", "-r", "--name-only", "main").split()
              if p.endswith("/run.json")]
    assert json.loads(git(bare, "show", f"main:{path}"))["state"] == "paused"
    # the schedule checks out the branch as it is now (the artifacts copied here go away)
    git(work, "fetch", "-q", "origin", "main")
    git(work, "reset", "-q", "--hard", "FETCH_HEAD")
    git(work, "clean", "-qfd", "-e", ledger.name)
    second = pipeline(work, variables={"MSO_PUSH_URL": str(bare), "CI_PIPELINE_SOURCE": "schedule"})
    assert second.returncode == 0, second.stdout + second.stderr
    run = job_log(work, "mso-run")
    assert "slow: resuming" in run and "started" not in run.replace("slow: resuming", "")
    record = json.loads(git(bare, "show", f"main:{path}"))
    assert record["state"] == "succeeded"
    assert sorted(ledger.read_text().split()) == ["a", "b"]      # nothing ran twice
