"""`mso init`: a scaffolded repository validates, runs its example, builds its book, and is
written whole or not at all, never over a file that was there."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from runner import __version__, cli
from runner.commands import init
from runner.declarations.repository import KIND_OF_FOLDER
from tests.conftest import ROOT, mso

CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
EXPERIMENT = "diffusion-convergence"


def _tree(root: Path) -> dict[str, bytes | str]:
    """Every file (content) and symlink (target) under root, but .git."""
    out: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == ".git" or rel.startswith(".git/"):
            continue
        if path.is_symlink():
            out[rel] = "-> " + os.readlink(path)
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out


def _summaries(repo: Path) -> dict[tuple[float, int], dict]:
    [record_path] = (repo / "results" / EXPERIMENT).glob("*/run.json")
    record = json.loads(record_path.read_text())
    assert record["state"] == "succeeded" and len(record["tasks"]) == 4
    out = {}
    for task in record["tasks"]:
        folder = record_path.parent / task["id"]
        for output in task["outputs"]:
            data = (folder / output["path"]).read_bytes()
            assert output["sha256"] == hashlib.sha256(data).hexdigest()
        log = [json.loads(x) for x in (folder / "diffusion.log.jsonl").read_text().splitlines()]
        assert log[-1]["severity"] == "OK" and log[-1]["progress"] == 100
        out[task["parameters"]["nu"], task["parameters"]["n"]] = json.loads(
            (folder / "out" / "summary.json").read_text())
    return out


def test_scaffold_validates_runs_its_example_and_builds_its_book(tmp_path: Path) -> None:
    made = mso("init", "lab", "--name", "Diffusion lab; rm -rf / & *co*", repo=tmp_path)
    assert made.returncode == 0, made.stderr
    repo = tmp_path / "lab"
    assert "initialised a git repository" in made.stdout
    checked = mso("validate", repo=repo)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ran = mso("run", repo=repo)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    runs = _summaries(repo)
    assert set(runs) == {(nu, n) for nu in (0.5, 1.0) for n in (16, 32)}
    for s in runs.values():
        assert s["relative_error"] < 0.01 and abs(s["max"] - s["exact_max"]) < 0.01
    for nu in (0.5, 1.0):  # second order: half the spacing, about a quarter of the error
        assert 3 < runs[nu, 16]["max_error"] / runs[nu, 32]["max_error"] < 5
    built = mso("book", "build", "--strict", repo=repo)
    assert built.returncode == 0, built.stderr
    [run_id] = [p.name for p in (repo / "results" / EXPERIMENT).iterdir()]
    page = (repo / "site" / "experiments" / f"{EXPERIMENT}.html").read_text()
    assert run_id in page
    assert (repo / "site" / "runs" / EXPERIMENT / run_id / "index.html").is_file()
    home = (repo / "site" / "index.html").read_text()
    assert '>Diffusion lab; rm -rf / &amp; *co*<a class="headerlink"' in home  # the title, as text
    # the work dirs and the site are ignored; results/ is to be committed
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo,
                            capture_output=True, text=True, check=True).stdout
    assert "results/" in status and ".mso/" not in status and "site/" not in status


@pytest.mark.parametrize("component", [None, "gitlab.example.org:8443/group/mso/pipeline@~latest"])
def test_gitlab_ci_includes_the_component_and_passes_gitlabs_schema(
        tmp_path: Path, component: str | None) -> None:
    args = ["init", "new", "--no-git"] + (["--component", component] if component else [])
    assert mso(*args, repo=tmp_path).returncode == 0
    ci = tmp_path / "new" / ".gitlab-ci.yml"
    # a released mso includes its own version; a build between releases, the latest release
    released = re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", __version__)
    want = component or f"$CI_SERVER_FQDN/mso/mso/pipeline@{__version__ if released else '~latest'}"
    # no inputs: the component's jobs run in mso's job image of its version, which has mso
    assert yaml.safe_load(ci.read_text()) == {"include": [{"component": want}]}
    proc = subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.gitlab-ci", str(ci)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("ref", ["", "no-version", "host/p/c@1 ; rm -rf /", "'x/y@1'", "a/b@1\nc: d",
                                 "/mso/mso/pipeline@1"])  # the last: $CI_SERVER_FQDN expanded away
def test_a_bad_component_reference_is_refused(tmp_path: Path, ref: str) -> None:
    proc = mso("init", "new", "--component", ref, repo=tmp_path)
    assert proc.returncode == 1 and "--component" in proc.stderr
    assert ("single quotes" in proc.stderr) == ref.startswith("/")
    assert not (tmp_path / "new").exists()


def test_a_folder_holding_one_of_its_files_is_refused_and_left_untouched(tmp_path: Path) -> None:
    repo = tmp_path / "mine"
    (repo / "experiments").mkdir(parents=True)
    (repo / "README.md").write_text("my own readme\n")
    (repo / "experiments" / f"{EXPERIMENT}.yaml").write_text("mine too\n")
    before = _tree(repo)
    proc = mso("init", "mine", repo=tmp_path)
    assert proc.returncode == 1
    assert "README.md" in proc.stderr and f"experiments/{EXPERIMENT}.yaml" in proc.stderr
    assert "nothing was written" in proc.stderr and "Traceback" not in proc.stderr
    assert _tree(repo) == before and not (repo / ".git").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"], "a staging folder was left"


def test_force_adds_the_missing_files_and_keeps_the_others(tmp_path: Path) -> None:
    repo = tmp_path / "mine"
    repo.mkdir()
    (repo / "README.md").write_text("my own readme\n")
    proc = mso("init", "mine", "--force", "--json", "--no-git", repo=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["kept"] == ["README.md"] and "README.md" not in out["files"]
    assert (repo / "README.md").read_text() == "my own readme\n"
    assert (repo / "mkdocs.yml").is_file() and out["git"] == "skipped"


def test_a_folder_with_other_files_is_filled_in(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me\n")
    proc = mso("init", "--no-git", repo=tmp_path)  # DIR defaults to the current folder
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "notes.txt").read_text() == "keep me\n"
    assert (tmp_path / "applications" / "diffusion.yaml").is_file()


@pytest.mark.parametrize("force", [False, True])
def test_a_file_or_link_where_a_folder_goes_is_refused_even_with_force(
        tmp_path: Path, force: bool) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    repo = tmp_path / "mine"
    repo.mkdir()
    (repo / "applications").write_text("a file\n")
    (repo / "schemas").symlink_to(elsewhere)
    before = _tree(repo)
    proc = mso("init", "mine", *(["--force"] if force else []), repo=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "applications" in proc.stderr and "schemas" in proc.stderr
    assert _tree(repo) == before and not any(elsewhere.iterdir())


@pytest.mark.parametrize("name", ["my lab", ";rm -rf ~", "../x", "$(touch pwned)",
                                  "Smith & Jones: lab #1 \\ `v2` *[x](y)*", "'single' quotes",
                                  "{{mso:component}}", "Ünïcode ラボ"])
def test_a_hostile_name_is_only_ever_a_title(tmp_path: Path, name: str) -> None:
    proc = mso("init", "new", "--name", name, "--no-git", repo=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]
    repo = tmp_path / "new"
    assert yaml.safe_load((repo / "mkdocs.yml").read_text())["site_name"] == name
    title = (repo / "README.md").read_text().splitlines()[0]
    assert title == "# " + init.markdown_text(name)
    assert mso("validate", repo=repo).returncode == 0


@pytest.mark.parametrize("name", ["", "   ", "two\nlines", "tab\there", "x" * 101,
                                  "<script>alert(1)</script>", 'a "quoted" name'])
def test_a_name_that_is_no_title_is_refused(tmp_path: Path, name: str) -> None:
    proc = mso("init", "new", "--name", name, repo=tmp_path)
    assert proc.returncode == 1 and "--name" in proc.stderr and "Traceback" not in proc.stderr
    assert not any(tmp_path.iterdir())


def test_json_lists_the_files_written_and_git_is_not_nested(tmp_path: Path) -> None:
    proc = mso("init", "outer", "--json", repo=tmp_path)
    out = json.loads(proc.stdout)
    repo = tmp_path / "outer"
    assert out["ok"] and out["git"] == "initialised" and out["root"] == str(repo)
    assert sorted(out["files"]) == sorted(_tree(repo)) and out["kept"] == []
    assert {".gitignore", ".gitlab-ci.yml", ".pre-commit-config.yaml", "README.md", "mkdocs.yml",
            "book/index.md", "schemas/experiment.schema.json"} <= set(out["files"])
    inner = json.loads(mso("init", "outer/sub", "--json", repo=tmp_path).stdout)
    assert inner["git"] == "inside" and not (repo / "sub" / ".git").exists()


def test_every_file_is_rendered_and_the_dataset_checksum_is_right() -> None:
    files = init.scaffold("T", "h/p/c@1")
    assert not [rel for rel, data in files.items() if b"{{mso:" in data]
    spec = yaml.safe_load(files["datasets/sine-modes.yaml"])
    data = files[spec["location"]]
    assert spec["sha256"] == hashlib.sha256(data).hexdigest() and spec["size"] == len(data)
    for rel, data in files.items():
        if rel.endswith((".yml", ".yaml")):
            assert isinstance(yaml.safe_load(data), dict), rel
    declarations = [(rel, data) for rel, data in files.items()
                    if rel.count("/") == 1 and rel.split("/")[0] in KIND_OF_FOLDER]
    assert len(declarations) == 4
    for rel, data in declarations:
        schema = f"schemas/{KIND_OF_FOLDER[rel.split('/')[0]]}.schema.json"
        assert schema in files
        assert data.startswith(f"# yaml-language-server: $schema=../{schema}\n".encode())


@pytest.mark.parametrize("exists", [False, True])
def test_a_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture, exists: bool) -> None:
    target = tmp_path / "new"
    if exists:
        target.mkdir()
        (target / "notes.txt").write_text("mine\n")
    before = _tree(tmp_path)
    real_open, calls = os.open, []

    def failing_open(path, flags, mode=0o777, **kw):
        calls.append(path)
        if len(calls) == 7:
            raise OSError(28, "No space left on device", str(path))
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(init.os, "open", failing_open)
    assert cli.main(["-C", str(tmp_path), "init", "new", "--no-git"]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert _tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == (["new"] if exists else [])
    if exists:
        assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]


def test_the_wheel_ships_the_templates(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "runner", src / "runner",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                           "--disable-pip-version-check", "-w", str(tmp_path / "dist"), str(src)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [wheel] = (tmp_path / "dist").glob("mso-*.whl")
    shipped = {n.removeprefix("runner/templates/init/") for n in zipfile.ZipFile(wheel).namelist()
               if n.startswith("runner/templates/init/")}
    base = ROOT / "runner" / "templates" / "init"
    wanted = {p.relative_to(base).as_posix() for p in base.rglob("*")
              if p.is_file() and "__pycache__" not in p.parts}
    assert shipped == wanted


def _owners(codeowners: str, path: str) -> list[str] | None:
    """The owners GitLab reads for `path`: the last matching line wins (gitignore patterns)."""
    import pathspec   # mkdocs's own dependency: gitignore-style matching, as GitLab documents

    found = None
    for line in codeowners.splitlines():
        if line.strip() and not line.startswith("#"):
            pattern, *owners = line.split()
            if pathspec.GitIgnoreSpec.from_lines([pattern]).match_file(path):
                found = owners
    return found


@pytest.mark.parametrize("owners", [[], ["@ana", "@lab/hpc-team", "bo.smith@example.org",
                                         "@@developer"]])
def test_codeowners_gives_the_applications_and_every_recipe_to_the_owners(
        tmp_path: Path, owners: list[str]) -> None:
    args = [a for o in owners for a in ("--owner", o)]
    proc = mso("init", "new", "--no-git", "--json", *args, repo=tmp_path)
    assert proc.returncode == 0, proc.stderr
    want = owners or ["@@maintainer", "@@owner"]
    assert json.loads(proc.stdout)["owners"] == want and "CODEOWNERS" in json.loads(proc.stdout)["files"]
    text = (tmp_path / "new" / "CODEOWNERS").read_text()
    owned = ["applications/diffusion.yaml", "applications/diffusion/diffusion.py",
             "applications/heat/Dockerfile", "applications/solver/solver.def",
             "containers/Dockerfile", "recipes/solver.def", "lab/Containerfile",
             "recipes/mpi.Dockerfile", ".gitlab-ci.yml", "CODEOWNERS"]
    for path in owned:
        assert _owners(text, path) == want, path
    for path in ["experiments/diffusion-convergence.yaml", "datasets/sine-modes.yaml",
                 "results/x/run.json", "README.md", "book/index.md"]:
        assert _owners(text, path) is None, path


@pytest.mark.parametrize("owner", ["ana", "@", "@@admin", "@ana @bo", "@ana\n", "#@ana",
                                   "@ana/", "@{{mso:owners}}", "not an@email"])
def test_an_owner_gitlab_cannot_read_is_refused(tmp_path: Path, owner: str) -> None:
    proc = mso("init", "new", "--owner", "@ana", "--owner", owner, repo=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "--owner" in proc.stderr
    assert not any(tmp_path.iterdir())


def test_an_existing_codeowners_is_kept(tmp_path: Path) -> None:
    (tmp_path / "CODEOWNERS").write_text("* @me\n")
    proc = mso("init", "--force", "--no-git", "--json", "--owner", "@ana", repo=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["kept"] == ["CODEOWNERS"]
    assert (tmp_path / "CODEOWNERS").read_text() == "* @me\n"
