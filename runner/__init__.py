"""mso: a GitOps experiment runner for scientific computing.

The package is in layers, top to bottom; a module imports only from its own package and from
layers below it, never above (import-linter checks it: the contract in pyproject.toml).

    cli                 the `mso` command and its one error boundary (error_handler)
    commands            one module per verb
    publish | book      results back to git and GitLab | the book; neither imports the other:
                        what both read is in `results`, below
    monitor             the watcher: starts what is ready, asks each scheduler once per poll
    runs                a run in progress: create, resume, its one lifecycle, completion
    placement           steps with candidate infrastructures: each one's predicted completion
                        time, the choice, and both in words for the book and the note
    staging             work areas on hosts, stage-in of datasets, collection of outputs
    schedulers          one narrow backend per kind, the job wrapper, the Context that holds a
                        command's transports, schedulers and secret set
    results             reading results/: run records and their files, summaries, the book's
                        page paths, Markdown escapes (for the note, the statuses and the book)
    plan | logs         experiments resolved into frozen task plans | log-line classification
    containers | data | cloud
                        images: recipes, builds, registries, runtimes | datasets: rclone,
                        caches, the catalogue | servers made per run on OpenStack (cloud/api.py
                        is the only module that talks to the cloud)
    declarations        YAML with line numbers, JSON Schemas, frozen records, cross-references
    transports          run commands and move files on a host (local, ssh); plain settings only
    base                errors, state, fsutil, hashing, secrets, junit, gitinfo, failpoints

Schedulers sit above the plan because they turn a planned task into a job script; nothing in the
plan needs a scheduler. Transports sit below the declarations: they take plain connection
settings, and the Context maps an infrastructure's declaration onto them.
"""


import json
import os
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
UNKNOWN = "0+unknown"
# `git describe --long` output: TAG-DISTANCE-gHASH (a tag may hold dashes itself)
_PRE = re.compile(r"[-.]?(?P<kind>a|b|rc)[-.]?(?P<n>\d+)$")
_DESCRIBE = re.compile(r"^v?(?P<tag>.+)-(?P<distance>\d+)-g(?P<node>[0-9a-f]+)$")


def _version() -> str:
    """mso's version: from git when this runner/ is a checkout's (an editable install or a source
    tree: what pip recorded at install time is stale after the next commit), else what pip
    recorded for this copy, else UNKNOWN."""
    if (_ROOT / ".git").exists() and (_ROOT / "pyproject.toml").exists():
        found = _from_git(_ROOT)
        if found:
            return found
    return _installed() or UNKNOWN


def _git(root: Path, *args: str) -> str | None:
    """A git command's stdout in `root`, or None; it takes no lock (GIT_OPTIONAL_LOCKS=0), so an
    mso started beside a `git commit` never makes the commit fail."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=10, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.SubprocessError):   # no git, or a hung one: the fallback says so
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _from_git(root: Path) -> str | None:
    """The version setuptools-scm gives a build of `root` (guess-next-dev, node-and-date): the tag
    at a clean tagged commit; else the tag's last number plus one, .devDISTANCE and +gHASH,
    with .dYYYYMMDD when the tree has uncommitted changes. Before the first tag: 0.1.devN."""
    described = _git(root, "describe", "--tags", "--long", "--abbrev=40", "--match", "*[0-9]*")
    found = _DESCRIBE.match(described or "")
    if found:
        tag, distance, node = found["tag"], int(found["distance"]), found["node"]
    else:
        node, count = _git(root, "rev-parse", "HEAD"), _git(root, "rev-list", "--count", "HEAD")
        if not node or not count:
            return None
        tag, distance = "0.0", int(count)
    dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    if dirty is None:
        return None
    return _scm_version(tag, distance, node, bool(dirty))


def _scm_version(tag: str, distance: int, node: str, dirty: bool) -> str:
    """setuptools-scm's default scheme, for a tag like 1.2.3 or a pre-release 1.2.3-rc.1."""
    tag = _PRE.sub(r"\g<kind>\g<n>", tag)   # PEP 440's spelling: 1.2.3rc1
    if not distance and not dirty:
        return tag
    bumped = re.sub(r"\d+$", lambda m: str(int(m[0]) + 1), tag)
    local = f"+g{node[:9]}" + (f".d{datetime.now(timezone.utc):%Y%m%d}" if dirty else "")
    return f"{bumped}.dev{distance}{local}"


def _installed() -> str | None:
    """What pip recorded, if it installed this very runner/ (not another mso on the path)."""
    from importlib import metadata  # ~30 ms: only when not running from a checkout

    try:
        dist = metadata.distribution("mso")
    except metadata.PackageNotFoundError:
        return None
    ours = Path(str(dist.locate_file("runner/__init__.py"))).resolve() == Path(__file__).resolve()
    return dist.version if ours or _editable_here(dist) else None


def _editable_here(dist) -> bool:  # noqa: ANN001 (importlib.metadata.Distribution)
    """Whether `dist` is an editable install of this checkout (one without git: an unpacked sdist)."""
    try:
        url = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:   # a broken record is no editable install
        return False
    return bool(url.get("dir_info", {}).get("editable")) and url.get("url") == _ROOT.as_uri()


__version__ = _version()
