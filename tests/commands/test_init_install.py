"""A repository made by `mso init` says how to install mso without a GitLab host, and that way works."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, mso
from tests.venvs import new_venv, pip_install


def _install_lines(readme: str) -> list[str]:
    """The `pip install` lines of the README's console blocks, without their comments."""
    return [ln[2:].split("#", 1)[0].strip() for ln in readme.splitlines()
            if ln.startswith("$ ") and " install " in ln]


@pytest.mark.parametrize(("component", "index", "requirement"), [
    ("$CI_SERVER_FQDN/mso/mso/pipeline@1.4.2",
     "https://$CI_SERVER_FQDN/api/v4/projects/mso%2Fmso/packages/pypi/simple", "mso==1.4.2"),
    ("gitlab.example.org:8443/lab/tools/mso/pipeline@1.4",     # the Catalog's shorthand
     "https://gitlab.example.org:8443/api/v4/projects/lab%2Ftools%2Fmso/packages/pypi/simple",
     "mso==1.4.*"),
    ("gitlab.example.org/g/mso/pipeline@~latest",
     "https://gitlab.example.org/api/v4/projects/g%2Fmso/packages/pypi/simple", "mso"),
])
def test_the_readme_installs_from_the_components_package_registry(
        tmp_path: Path, component: str, index: str, requirement: str) -> None:
    """The package registry's PyPI index of the component's project (its path URL-encoded, as
    GitLab's API takes a project), at the component's version; and a wheel, and a checkout."""
    assert mso("init", "lab", "--no-git", "--component", component, repo=tmp_path).returncode == 0
    readme = (tmp_path / "lab" / "README.md").read_text()
    lines = _install_lines(readme)
    assert f'.venv/bin/pip install --index-url {index} "{requirement}"' in lines, lines
    assert "--extra-index-url" not in " ".join(lines)     # a different mso is on PyPI
    assert any(ln.endswith(" /path/to/mso") for ln in lines), lines   # a checkout
    assert any(re.search(r" \./mso-[^ /]+-py3-none-any\.whl$", ln) for ln in lines), lines
    assert "pip wheel --no-deps -w dist /path/to/mso" in readme      # how to make the wheel
    assert "$ . .venv/bin/activate" in readme


def _checkout(dest: Path) -> Path:
    """What a checkout of mso holds for pip: pyproject.toml, README.md and the package."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "runner", dest / "runner",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def test_mso_installed_from_a_path_validates_the_new_repository(tmp_path: Path) -> None:
    """The README's checkout line, followed into a new venv (tests/venvs.py says what it shares)."""
    assert mso("init", "lab", "--no-git", repo=tmp_path).returncode == 0
    lab = tmp_path / "lab"
    line = next(ln for ln in _install_lines((lab / "README.md").read_text())
                if ln.endswith(" /path/to/mso"))
    assert line == ".venv/bin/pip install /path/to/mso"
    python = new_venv(lab / ".venv")
    done = pip_install(python, str(_checkout(tmp_path / "mso-checkout")))
    assert done.returncode == 0, done.stdout + done.stderr
    shutil.rmtree(tmp_path / "mso-checkout")   # installed, not linked: the checkout may go
    where = subprocess.run([str(python), "-c", "import runner; print(runner.__file__)"],
                           cwd=lab, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(lab / ".venv")), where
    valid = subprocess.run([str(lab / ".venv/bin/mso"), "validate"], cwd=lab,
                           capture_output=True, text=True, timeout=120, check=False)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert "valid" in (valid.stdout + valid.stderr).lower()
