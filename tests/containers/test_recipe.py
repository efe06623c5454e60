"""The content tag: the same for the same application anywhere, new for any change that matters."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from runner.containers import recipe
from runner.declarations.repository import load_valid
from runner.errors import ContainerError
from tests.conftest import mso

APP = """\
name: heat
version: 1.2.0+lab
description: A solver.
command: [python3, heat.py]
container:
  build:
    dockerfile: applications/heat/Dockerfile
{extra}"""


def make(root: Path, extra: str = "") -> Path:
    (root / "applications" / "heat").mkdir(parents=True)
    (root / "applications" / "heat.yaml").write_text(APP.format(extra=extra))
    (root / "applications" / "heat" / "Dockerfile").write_text(
        "ARG BASE=debian:12\nFROM $BASE\nCOPY heat.py /app/heat.py\n")
    (root / "applications" / "heat" / "heat.py").write_text("print('heat')\n")
    return root


def tag(root: Path) -> str:
    repo = load_valid(root)
    return recipe.content_tag(root, repo.applications["heat"])


def test_the_same_application_gets_the_same_tag_anywhere(tmp_path):
    a = make(tmp_path / "a")
    b = tmp_path / "elsewhere" / "b"
    shutil.copytree(a, b)
    os.utime(b / "applications" / "heat" / "heat.py", (1, 1))   # mtimes never count
    assert tag(a) == tag(b)
    assert tag(a).startswith("1.2.0_lab-") and len(tag(a)) == len("1.2.0_lab-") + 12


@pytest.mark.parametrize("change", ["context", "recipe", "new file", "exec bit"])
def test_any_change_to_what_is_built_gives_a_new_tag(tmp_path, change):
    root = make(tmp_path)
    before = tag(root)
    folder = root / "applications" / "heat"
    if change == "context":
        (folder / "heat.py").write_text("print('heat 2')\n")
    elif change == "recipe":
        (folder / "Dockerfile").write_text("FROM debian:12\nCOPY heat.py /app/heat.py\n")
    elif change == "new file":
        (folder / "data.json").write_text("{}")
    else:
        (folder / "heat.py").chmod(0o755)
    assert tag(root) != before


def test_build_args_count(tmp_path):
    plain = tag(make(tmp_path / "a"))
    with_args = tag(make(tmp_path / "b", "    args: {BASE: 'debian:12-slim'}\n"))
    other = tag(make(tmp_path / "c", "    args: {BASE: 'debian:11'}\n"))
    assert len({plain, with_args, other}) == 3


def test_git_pycache_and_dockerignore_are_left_out(tmp_path):
    root = make(tmp_path)
    before = tag(root)
    folder = root / "applications" / "heat"
    (folder / ".dockerignore").write_text("# junk\n*.log\nscratch/\n!keep.log\n")
    with_ignore = tag(root)
    for junk in (".git/HEAD", "__pycache__/heat.cpython-311.pyc", "run.log", "scratch/x/y.bin",
                 "sub/__pycache__/z.pyc"):
        (folder / junk).parent.mkdir(parents=True, exist_ok=True)
        (folder / junk).write_text("noise")
    assert tag(root) == with_ignore != before   # the .dockerignore itself is context
    (folder / "keep.log").write_text("kept by '!keep.log'")
    assert tag(root) != with_ignore
    assert "keep.log" in recipe.context_files(folder)
    assert "run.log" not in recipe.context_files(folder)


def test_a_declared_context_elsewhere_in_the_repository(tmp_path):
    root = make(tmp_path, "    context: src\n")
    (root / "src").mkdir()
    (root / "src" / "heat.py").write_text("print('from src')\n")
    before = tag(root)
    (root / "applications" / "heat" / "heat.py").write_text("not in the context any more\n")
    assert tag(root) == before
    (root / "src" / "heat.py").write_text("print('changed')\n")
    assert tag(root) != before


def test_recipe_hash_is_the_full_digest_and_needs_a_recipe(tmp_path):
    root = make(tmp_path)
    app = load_valid(root).applications["heat"]
    full = recipe.recipe_hash(root, app)
    assert len(full) == 64 and recipe.content_tag(root, app).endswith(full[:12])
    bare = app.__class__(name="x", version="1", description="", command=("true",), path="x.yaml")
    with pytest.raises(ContainerError, match="no container.build"):
        recipe.recipe_hash(root, bare)


def test_base_images_fill_in_args(tmp_path):
    df = tmp_path / "Dockerfile"
    df.write_text("ARG BASE=debian:12\nARG TAG\nFROM ${BASE}\nFROM --platform=amd64 x/y:$TAG AS b\n")
    assert recipe.base_images(df, {}) == ["debian:12", "x/y:"]
    assert recipe.base_images(df, {"BASE": "r.io/a:1", "TAG": "2"}) == ["r.io/a:1", "x/y:2"]
    definition = tmp_path / "heat.def"
    definition.write_text("Bootstrap: docker\nFrom: {{ BASE }}\n%post\n  true\n")
    assert recipe.base_images(definition, {"BASE": "r.io/a:1"}, definition=True) == ["r.io/a:1"]


@pytest.mark.parametrize("field, value, says", [
    ("dockerfile", "applications/heat/Nope", "'applications/heat/Nope' does not exist"),
    ("dockerfile", "../outside/Dockerfile", "leaves the repository"),
    ("dockerfile", "applications/heat", "is not a file"),
    ("context", "/etc", "leaves the repository"),
    ("context", "applications/heat/heat.py", "is not a folder"),
])
def test_bad_recipe_paths_are_one_line_with_file_and_line(tmp_path, field, value, says):
    root = make(tmp_path)
    text = (root / "applications" / "heat.yaml").read_text()
    if field == "dockerfile":
        text = text.replace("applications/heat/Dockerfile", value)
    else:
        text += f"    context: {value}\n"
    (root / "applications" / "heat.yaml").write_text(text)
    proc = mso("build", repo=root)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith("mso: applications/heat.yaml:") and says in lines[0]
