"""mso's own pipeline (.gitlab-ci.yml) and its release jobs.

GitLab's CI schema (check-jsonschema's vendored copy) accepts the pipeline, the component with the
inputs mso's pipeline gives it, and the .gitlab-ci.yml that `mso init` writes. gitlab-ci-local
then works on a copy of this checkout made into a release commit (tagged 1.2.3, with its CHANGELOG
entry and the component's default image of that version): it lists the jobs each kind of
pipeline gets, runs the lint job, and runs a tag pipeline's release-check and package with
MSO_RELEASE_DRY_RUN=1, which print the upload command instead of uploading (no GitLab server
runs here). As in tests/pipeline/, jobs run in the shell: the copy's jobs have no `image:` line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, mso, require
from tests.pipeline.conftest import GCL, PROJECT_URL, git, job_log, pipeline
from tests.test_ci_config import check, component_documents, interpolated

TAG = "1.2.3"
PROJECT_ID = "4242"
REGISTRY = "127.0.0.1:5055"     # only a name in the jobs' variables: nothing is pushed
TOKEN = "job-token-canary-5b1e0c"
IMAGE_DEFAULT = re.compile(r'^      default: "\$CI_REGISTRY/mso/mso/job:([^"]+)"$', re.M)


def project_stages() -> tuple[list[str], list[str]]:
    own = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())["stages"]
    head, body = component_documents()
    names = yaml.safe_load(head)["spec"]["inputs"]
    return own, yaml.safe_load(interpolated(body, {n: "x" for n in names}))["stages"]


def test_gitlab_accepts_the_pipeline_the_component_as_mso_includes_it_and_inits(
        tmp_path: Path) -> None:
    own = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())
    [include] = own["include"]
    head, body = component_documents()
    spec = yaml.safe_load(head)["spec"]["inputs"]
    inputs = {name: include["inputs"].get(name, v.get("default")) for name, v in spec.items()}
    (tmp_path / "component-as-included.yml").write_text(interpolated(body, inputs))
    assert mso("init", "lab", "--no-git", "--component",
               f"$CI_SERVER_FQDN/mso/mso/pipeline@{TAG}", repo=tmp_path).returncode == 0
    check(ROOT / ".gitlab-ci.yml", tmp_path / "component-as-included.yml",
          tmp_path / "lab" / ".gitlab-ci.yml")
    # mso's stages hold the component's, in their order, between its tests and its release
    stages, component = project_stages()
    assert [s for s in stages if s in component] == component
    assert stages[0] == "test" and stages[-1] == "release"


def test_the_components_default_image_is_the_newest_release_in_the_changelog() -> None:
    head, _ = component_documents()
    [image_version] = IMAGE_DEFAULT.findall(head)
    releases = re.findall(r"^## \[([0-9][^\]]*)\] - [0-9]{4}-[0-9]{2}-[0-9]{2}",
                          (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert releases, "CHANGELOG.md has no release entry"
    assert image_version == releases[0], (
        f"templates/pipeline/template.yml's image default is job:{image_version}, the newest "
        f"release in CHANGELOG.md is {releases[0]}: a release changes both")


def test_the_coverage_regex_reads_pytest_covs_total_line(tmp_path: Path) -> None:
    """pytest-cov's real report, on a few of mso's own tests, as the test job prints it."""
    job = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())[".test"]
    pattern = job["coverage"]
    assert pattern.startswith("/") and pattern.endswith("/")
    addopts = job["variables"]["PYTEST_ADDOPTS"].replace("xml:coverage.xml",
                                                         f"xml:{tmp_path / 'coverage.xml'}")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *addopts.split(), "tests/test_state.py"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = [m for line in proc.stdout.splitlines() if (m := re.search(pattern[1:-1], line))]
    assert len(found) == 1 and found[0].string.startswith("TOTAL"), proc.stdout
    assert found[0].group(1) == found[0].string.split()[-1]          # the percentage itself
    assert "<coverage " in (tmp_path / "coverage.xml").read_text()  # Cobertura, for GitLab


def _copy_checkout(dest: Path) -> None:
    """This checkout's files, as the working tree has them: what git tracks and what is new."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], capture_output=True, text=True, check=True)
    for rel in filter(None, listed.stdout.split("\0")):
        source = ROOT / rel
        if source.is_symlink() or source.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel, follow_symlinks=False)


def _release_commit(work: Path) -> None:
    """What a release commit changes: the component's default image, a CHANGELOG entry, the
    README's badges. And what only this machine needs: no job image (no container engine here)."""
    component = work / "templates/pipeline/template.yml"
    text, count = IMAGE_DEFAULT.subn(f'      default: "$CI_REGISTRY/mso/mso/job:{TAG}"',
                                     component.read_text())
    assert count == 1
    component.write_text(text)
    changelog = work / "CHANGELOG.md"
    text = changelog.read_text()
    assert text.count("## [Unreleased]\n") == 1
    changelog.write_text(text.replace("## [Unreleased]\n", "## [Unreleased]\n\n"
                                      f"## [{TAG}] - 2026-12-01\n\n### Added\n\n"
                                      "- The release pipeline's own test.\n", 1))
    subprocess.run([sys.executable, str(work / "scripts/badges"), PROJECT_URL, "--branch", "main"],
                   check=True, capture_output=True, timeout=60)
    ci = work / ".gitlab-ci.yml"
    text, count = re.subn(r"(?m)^  image: .*\n", "", ci.read_text())
    assert count >= 4
    ci.write_text(text)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this checkout as a new git repository: the release commit, tagged TAG."""
    require(GCL.exists(), "gitlab-ci-local", ".ci/services/gitlab-ci-local-up")
    work = tmp_path_factory.mktemp("release") / "mso"
    work.mkdir()
    _copy_checkout(work)
    _release_commit(work)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "-c", "user.name=ana", "-c", "user.email=ana@example.org", "commit", "-qm", TAG)
    git(work, "tag", TAG)
    git(work, "remote", "add", "gcl-origin", PROJECT_URL)
    return work


def listed(work: Path, **variables: str) -> set[str]:
    """The jobs gitlab-ci-local would run, given the pipeline's variables."""
    proc = subprocess.run([str(GCL), "--list", *(f"--variable={k}={v}" for k, v in variables.items())],
                          cwd=work, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("name "))
    return {line.split()[0] for line in lines[header + 1:] if line.strip()}


A_TAG = {"CI_COMMIT_TAG": TAG, "CI_COMMIT_BRANCH": ""}   # GitLab sets no branch on a tag
EXPERIMENTS = {"mso-validate", "mso-plan", "mso-build", "mso-run", "mso-publish"}
RELEASE = {"release-check", "package", "job-image", "release"}


@pytest.mark.integration
def test_which_jobs_a_branch_and_a_tag_pipeline_get(release: Path) -> None:
    branch = listed(release)
    assert {"test", "lint"} | EXPERIMENTS <= branch and not branch & (RELEASE | {"test-full"})
    assert listed(release, **A_TAG) == {"test", "lint", "release-check", "package", "release"}
    # with a privileged runner: the whole suite there, and the release's job image
    assert listed(release, **A_TAG, MSO_PRIVILEGED_RUNNER="mso-root") == {
        "test-full", "lint", "release-check", "package", "job-image", "release"}
    assert "test-full" in listed(release, MSO_PRIVILEGED_RUNNER="mso-root") - {"test"}
    # a dry run makes no release
    assert "release" not in listed(release, **A_TAG, MSO_RELEASE_DRY_RUN="1")


@pytest.mark.integration
def test_the_lint_job_runs_the_layers_contract_and_ruff(release: Path) -> None:
    cache = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True,
                           text=True, check=True).stdout.strip()
    proc = pipeline(release, "lint", variables={"PIP_CACHE_DIR": cache})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "PASS  lint" in out, out
    log = job_log(release, "lint")
    assert "layers point one way KEPT" in log and "All checks passed!" in log, log


def tag_pipeline(work: Path, *jobs: str, **variables: str) -> subprocess.CompletedProcess:
    """Jobs of a tag pipeline, with the project's variables as GitLab would give them."""
    return pipeline(work, *jobs, variables={
        **A_TAG, "CI_PROJECT_ID": PROJECT_ID, "CI_PROJECT_URL": PROJECT_URL.removesuffix(".git"),
        "CI_DEFAULT_BRANCH": "main", "CI_API_V4_URL": "https://gitlab.invalid/api/v4",
        "CI_REGISTRY": REGISTRY, "CI_REGISTRY_IMAGE": f"{REGISTRY}/mso/mso", **variables},
        secrets={"CI_JOB_TOKEN": TOKEN})


@pytest.mark.integration
def test_a_tag_pipeline_checks_the_tag_builds_the_version_and_prints_the_upload(
        release: Path) -> None:
    proc = tag_pipeline(release, "release-check", "package", MSO_RELEASE_DRY_RUN="1")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "PASS  release-check" in out and "PASS  package" in out, out
    # the release's description is the CHANGELOG's entry
    notes = release / ".gitlab-ci-local/builds/release-check/release-notes.md"
    entry = subprocess.run([sys.executable, str(release / "scripts/changelog"), TAG],
                           capture_output=True, text=True, check=True).stdout
    assert notes.read_text() == entry and "The release pipeline's own test." in entry
    # the sdist and the wheel are the tag's version, and the upload names them
    dist = release / ".gitlab-ci-local/builds/package/dist"
    files = sorted(p.name for p in dist.iterdir())
    assert files == [f"mso-{TAG}-py3-none-any.whl", f"mso-{TAG}.tar.gz"], files
    with zipfile.ZipFile(dist / files[0]) as wheel:
        assert f"\nVersion: {TAG}\n" in wheel.read(f"mso-{TAG}.dist-info/METADATA").decode()
    upload = ("package: dry run, not uploaded: TWINE_USERNAME=gitlab-ci-token "
              "TWINE_PASSWORD=[masked] twine upload --non-interactive --repository-url "
              f"https://gitlab.invalid/api/v4/projects/{PROJECT_ID}/packages/pypi "
              + " ".join(f"dist/{name}" for name in files))
    assert upload in job_log(release, "package").splitlines(), job_log(release, "package")
    for log in (release / ".gitlab-ci-local/output").glob("*.log"):
        assert TOKEN not in log.read_text(), log.name
    assert TOKEN not in out


@pytest.mark.integration
@pytest.mark.parametrize(("tag", "variables", "says"), [
    ("v1.2.3", {"MSO_RELEASE_DRY_RUN": "1"}, "'v1.2.3' is not a release version"),
    ("1.2.4", {"MSO_RELEASE_DRY_RUN": "1"}, "CHANGELOG.md has no entry for 1.2.4"),
    # 0.1.0 has its entry, but the component's image is the release commit's, job:1.2.3
    ("0.1.0", {"MSO_RELEASE_DRY_RUN": "1"},
     "release-check: templates/pipeline/template.yml's image input must default to "
     '"$CI_REGISTRY/mso/mso/job:0.1.0"'),
    (TAG, {}, "set the CI/CD variable MSO_PRIVILEGED_RUNNER to its tag"),
    # the README's badges are those of the project the release commit was made for
    (TAG, {"MSO_RELEASE_DRY_RUN": "1", "CI_PROJECT_URL": "https://gitlab.invalid/fork/mso"},
     "README.md's badges are not those of https://gitlab.invalid/fork/mso (main): "
     "run scripts/badges and commit README.md"),
])
def test_release_check_refuses_a_tag_it_cannot_release(release: Path, tag: str,
                                                       variables: dict, says: str) -> None:
    proc = tag_pipeline(release, "release-check", CI_COMMIT_TAG=tag, **variables)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "FAIL  release-check" in out, out
    assert says in job_log(release, "release-check"), job_log(release, "release-check")


@pytest.mark.parametrize(("origin", "project"), [
    ("git@gitlab.invalid:lab/tools/mso.git", "https://gitlab.invalid/lab/tools/mso"),
    ("ssh://git@gitlab.invalid:2222/lab/mso.git", "https://gitlab.invalid/lab/mso"),
    ("https://ana:secret@gitlab.invalid:8443/lab/mso.git", "https://gitlab.invalid:8443/lab/mso"),
])
def test_the_readmes_badges_are_written_from_the_projects_remote(
        tmp_path: Path, origin: str, project: str) -> None:
    """scripts/badges in a clone whose origin is the project: the README's block gets the
    pipeline and coverage badges of that project's default branch, and --check agrees."""
    (tmp_path / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts/badges", tmp_path / "scripts/badges")
    shutil.copy2(ROOT / "README.md", tmp_path / "README.md")
    git(tmp_path, "init", "-q", "-b", "trunk")
    git(tmp_path, "remote", "add", "origin", origin)
    git(tmp_path, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CI_")}
    badges = [str(tmp_path / "scripts/badges")]
    before = (tmp_path / "README.md").read_text()
    done = subprocess.run(badges, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    readme = (tmp_path / "README.md").read_text()
    block = readme.split("<!-- badges -->\n", 1)[1].split("<!-- /badges -->", 1)[0]
    assert block == (f"[![pipeline status]({project}/badges/trunk/pipeline.svg)]"
                     f"({project}/-/commits/trunk)\n"
                     f"[![coverage report]({project}/badges/trunk/coverage.svg)]"
                     f"({project}/-/commits/trunk)\n")
    assert readme.replace(block, "") == before.replace(
        before.split("<!-- badges -->\n", 1)[1].split("<!-- /badges -->", 1)[0], "")
    assert "secret" not in readme + done.stdout            # no credentials from the remote
    assert subprocess.run([*badges, "--check"], env=env, timeout=60).returncode == 0
    other = subprocess.run([*badges, "--check", "https://gitlab.invalid/else/mso"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert other.returncode == 1 and other.stderr.count("\n") == 1
    assert "run scripts/badges and commit README.md" in other.stderr


def test_without_a_project_address_badges_says_what_to_give(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts/badges", tmp_path / "scripts/badges")
    shutil.copy2(ROOT / "README.md", tmp_path / "README.md")
    git(tmp_path, "init", "-q")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CI_")}
    proc = subprocess.run([str(tmp_path / "scripts/badges")], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 1 and proc.stderr == (
        "scripts/badges: no project address: give PROJECT_URL, or add the GitLab project as "
        "the git remote origin\n")
    assert (tmp_path / "README.md").read_text() == (ROOT / "README.md").read_text()
