"""A fresh clone: the README's set-up command, then the README's `mso ...` lines, work as written.

The repository's HEAD is cloned into a temporary folder (its origin removed, so nothing can push
back here). `scripts/demo`, the README's first set-up command, then runs as it is. One step of it
is done beforehand: the install of mso's dependencies into the clone's `.venv/`, which takes
minutes here and needs the network. tests/venvs.py makes that venv new, gives it this test
environment's dependencies through a .pth line and pip-installs the clone into it (editable,
as scripts/venv does); scripts/venv's stamp then says the install is done, and the demo does the
rest itself: validate, run the example sweep, build the book.

Then every `mso` line of the README's Use section runs in that clone, as a person would type it
after the Use section's own first line (`. .venv/bin/activate`): optional `[...]` parts are left
out, a choice of words (`list|cleanup`) is typed as its first, and each placeholder (DIR, FILE,
EXPERIMENT, ...) takes a value from VALUES below. Lines are
skipped only when their verb needs a service this test does not start (NEEDS_SERVICE); each
must exit 0 unless EXPECTED gives its documented code and message, and a server (SERVERS) must
print its address, then stop on Ctrl-C with 130.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
from pathlib import Path

from tests.conftest import ROOT
from tests.venvs import new_venv, pip_install

NEEDS_SERVICE = {
    "build": "an image builder and an OCI registry (tests/containers, tests/cluster)",
    "publish": "a git remote to push to (tests/publish, against a bare remote)",
}
# After the demo nothing is unfinished, so there is nothing to cancel: a user error, said so.
EXPECTED = {"cancel": (1, "no unfinished run")}
SERVERS = {"book serve": "--port 0"}   # port 8000 may be taken on a shared machine
_OPTIONAL = re.compile(r"\s*\[[^\[\]]*\](\.\.\.)?")
_PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9_-]*(\|[A-Z][A-Z0-9_:-]*)*(\.\.\.)?")   # REMOTE:PATH too


def use_section(readme: str) -> tuple[list[str], list[str]]:
    """The Use section's first code line (the PATH line) and its `mso` synopsis lines."""
    section = readme.split("\n## Use\n", 1)[1].split("\n## ", 1)[0]
    code = [ln[4:] for ln in section.splitlines() if ln.startswith("    ")]
    synopses = [ln for ln in code if ln.startswith("mso ")]
    for more in (ln for ln in code if ln.startswith(" ")):
        # a continuation line holds only optional parts (or is a comment)
        assert _bare(more) == "", f"README Use: a required word on a continuation line: {more!r}"
    return code[:1], synopses


def _bare(synopsis: str) -> str:
    """The synopsis without its comment and its optional parts."""
    text = synopsis.split("#", 1)[0]
    while _OPTIONAL.search(text):
        text = _OPTIONAL.sub("", text)
    return text.strip()


def verb_of(synopsis: str) -> str:
    """The words naming the verb: `book serve` in `mso book serve ...`, `cancel` in `mso cancel X`."""
    words = []
    for w in _bare(synopsis).split()[1:]:
        if _PLACEHOLDER.fullmatch(w):
            break
        words.append(w.split("|")[0])
    return " ".join(words)


def command(synopsis: str, values: dict[str, str]) -> list[str]:
    """The line as typed: required words kept, placeholders filled in from `values`."""
    words = _bare(synopsis).split()
    out = []
    for w in words:
        if _PLACEHOLDER.fullmatch(w):
            name = w.removesuffix("...").split("|")[0]
            assert name in values, (f"README Use: {synopsis!r} has the placeholder {name}: give "
                                    "it a value in VALUES of tests/test_readme.py")
            w = values[name]
        else:
            w = w.split("|")[0]   # `list|cleanup`: a choice of words, typed as the first
        out.append(w)
    return out


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          timeout=120).stdout


def fresh_clone(tmp: Path) -> Path:
    """HEAD cloned, without a remote, with .venv made as tests/venvs.py says."""
    clone = tmp / "mso"
    _git(tmp, "clone", "-q", str(ROOT), str(clone))
    _git(clone, "remote", "remove", "origin")
    python = new_venv(clone / ".venv")
    done = pip_install(python, "-e", str(clone))
    assert done.returncode == 0, done.stdout + done.stderr
    (clone / ".venv" / ".mso-installed-examples").touch()   # scripts/venv's stamp
    return clone


def _env() -> dict[str, str]:
    """This environment without what would point mso elsewhere (a venv, PYTHONPATH, secrets)."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "HPC_USER", "HPC_SSH_KEY", "HPC_KNOWN_HOSTS")
    return {k: v for k, v in os.environ.items() if k not in drop}


def _shell(prelude: list[str], words: list[str]) -> list[str]:
    line = " && ".join([*prelude, "exec " + shlex.join(words)])
    return ["bash", "-c", line]


def test_a_fresh_clone_runs_the_readme_as_written(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path)
    readme = (clone / "README.md").read_text()
    setup = readme.split("\n## Set up", 1)[1].split("\n## ", 1)[0]
    assert [ln.strip() for ln in setup.splitlines() if ln.startswith("    ")] == \
        ["scripts/demo", "scripts/test"], "the README's two set-up commands"
    prelude, synopses = use_section(readme)
    assert prelude == [". .venv/bin/activate"], prelude
    demo = subprocess.run(["scripts/demo"], cwd=clone, capture_output=True, text=True,
                          timeout=600, env=_env())
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert demo.stderr.rstrip().splitlines()[-1].strip() == prelude[0], "the demo says it too"
    which = subprocess.run(_shell(prelude, ["bash", "-c", "command -v mso"]), cwd=clone,
                           capture_output=True, text=True, env=_env(), check=True)
    assert which.stdout.strip() == str(clone / ".venv/bin/mso")

    run_dir = max((clone / "results/heat-sweep").iterdir())   # the demo's run: the newest id
    values = {"DIR": str(tmp_path / "new-lab"), "FILE": "applications/heat/Dockerfile",
              "EXPERIMENT": "heat-sweep", "RUN-ID": run_dir.name, "TASK": "main-0000",
              "APP": "heat", "PATH": "experiments/heat-sweep.yaml", "N": "readme-data"}
    ran = []
    for synopsis in synopses:
        words, verb = command(synopsis, values), verb_of(synopsis)
        if verb in NEEDS_SERVICE:
            print(f"skipped (needs {NEEDS_SERVICE[verb]}): {synopsis}")
            continue
        if verb in SERVERS:
            _serve(clone, prelude, words + SERVERS[verb].split())
        else:
            _check(clone, prelude, words, EXPECTED.get(verb, (0, "")))
        ran.append(verb)
    assert {"init", "validate", "run", "status", "book build", "book serve"} <= set(ran), ran


def _check(clone: Path, prelude: list[str], words: list[str], want: tuple[int, str]) -> None:
    done = subprocess.run(_shell(prelude, words), cwd=clone, capture_output=True, text=True,
                          timeout=300, env=_env(), stdin=subprocess.DEVNULL)
    said = done.stdout + done.stderr
    assert done.returncode == want[0], f"{shlex.join(words)}: exit {done.returncode}\n{said}"
    assert want[1] in said and "Traceback" not in said, f"{shlex.join(words)}:\n{said}"


def _serve(clone: Path, prelude: list[str], words: list[str]) -> None:
    proc = subprocess.Popen(_shell(prelude, words), cwd=clone, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())
    try:
        line = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert " at http://127.0.0.1:" in line, f"{shlex.join(words)}: {line!r} {err}"
    assert proc.returncode == 130, err
