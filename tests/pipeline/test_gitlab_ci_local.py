"""The project's real pipeline (.gitlab-ci.yml, which is the CI/CD component in templates/), run
job by job by gitlab-ci-local: validate, plan, build, run on the local infrastructure, publish to a
real bare git remote, book. The fixtures and how the jobs run here are in conftest.py."""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
import yaml

from tests.conftest import add_counter, counter_experiment
from tests.containers.conftest import Registry
from tests.pipeline.conftest import built, git, job_log, pipeline

pytestmark = pytest.mark.integration

CLUSTER = """\
name: cluster
kind: slurm
host: login.cluster.invalid
user: {env: HPC_USER}
key: {env: HPC_SSH_KEY}
known_hosts: {env: HPC_KNOWN_HOSTS}
work_root: /scratch/mso
"""


def registry_variables(registry: Registry, tmp_path: Path) -> tuple[dict, dict]:
    """What GitLab gives every job about the project's registry (here the test registry, in a
    namespace of this test's own): plain variables, and the credentials."""
    image = f"{registry.host}/pipeline-{tmp_path.name.lower()}-{uuid.uuid4().hex[:8]}"
    return ({"CI_REGISTRY": registry.host, "CI_REGISTRY_IMAGE": image,
             "REQUESTS_CA_BUNDLE": str(registry.bundle)},
            {"CI_REGISTRY_USER": registry.user, "CI_REGISTRY_PASSWORD": registry.password})


def manifest_digest(registry: Registry, reference: str) -> str | None:
    name, tag = reference.split("/", 1)[1].rsplit(":", 1)
    res = requests.head(registry.url(f"{name}/manifests/{tag}"), timeout=30,
                        auth=(registry.user, registry.password), verify=str(registry.bundle),
                        headers={"Accept": "application/vnd.oci.image.manifest.v1+json, "
                                           "application/vnd.docker.distribution.manifest.v2+json"})
    return res.headers["Docker-Content-Digest"] if res.status_code == 200 else None


def test_default_branch_pipeline_runs_publishes_and_builds_the_book(project, registry,
                                                                     tmp_path) -> None:
    work, bare = project
    variables, secrets = registry_variables(registry, tmp_path)
    proc = pipeline(work, variables={"MSO_PUSH_URL": str(bare), **variables}, secrets=secrets)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for job in ("mso-validate", "mso-plan", "mso-build", "mso-run", "mso-publish", "pages"):
        assert f"PASS  {job}" in out, out
    # the build job built heat's image, pushed it, and the run job got its digest (an artifact)
    [image] = json.loads(built(work, "mso-build", ".mso/images.json").read_text())["images"].values()
    assert image["reference"].startswith(variables["CI_REGISTRY_IMAGE"] + "/heat:1.2.0-")
    assert image["digest"] == manifest_digest(registry, image["reference"]) is not None
    assert f"heat  pushed      {image['reference']} {image['digest']}" in job_log(work, "mso-build")
    handed = json.loads(built(work, "mso-run", ".mso/images.json").read_text())["images"]["heat"]
    assert handed["pinned"] == image["reference"].rsplit(":", 1)[0] + "@" + image["digest"]
    for log in (work / ".gitlab-ci-local/output").glob("*.log"):
        assert registry.password not in log.read_text(), log.name
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
    assert run_id in (work / "public/experiments/heat-sweep.html").read_text()
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
          "CI_COMMIT_REF_NAME": "feature", "CI_PAGES_DOMAIN": "pages.invalid",
          "CI_MERGE_REQUEST_PROJECT_ID": "1", "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "2"}
    proc = pipeline(work, variables=mr)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for job in ("mso-validate", "mso-plan", "mso-build", "mso-run", "mso-publish", "mso-book-preview"):
        assert f"PASS  {job}" in out, out
    # the images are built, so the recipes are checked, and nothing is pushed
    build = job_log(work, "mso-build")
    assert "mso-build: a merge request from a fork: images are built to check their recipes, " \
           "not pushed" in build
    assert "\nheat  built       localhost/mso/heat:1.2.0-" in build and "pushing" not in build
    handed = json.loads(built(work, "mso-run", ".mso/images.json").read_text())["images"]["heat"]
    assert handed["digest"] is None and handed["builder"] == "ch-image"
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
