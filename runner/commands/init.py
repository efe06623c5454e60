"""`mso init [DIR]`: scaffold a new experiment repository that runs with the mso CI/CD component.

The files come from the package (runner/templates/init/, and the schemas from runner/schemas/).
Nothing is ever overwritten: a new folder is written beside its place and renamed into it, so it
appears whole or not at all; in an existing folder every target is checked first, then each file
is created exclusively (O_EXCL), and what was created is removed again if one fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from runner import __version__
from runner.results import markdown as md
from runner.errors import MsoError

COMPONENT = "$CI_SERVER_FQDN/mso/mso/pipeline@{version}"
_RELEASE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")                 # a released mso, not a dev build
_SEMVER = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?")  # a component's version
_PARTIAL = re.compile(r"[0-9]+(\.[0-9]+)?")
EXPERIMENT = "diffusion-convergence"
DOT = "dot-"  # package data keeps no dot files: templates/init/dot-gitignore becomes .gitignore
MAX_NAME = 100
_TOKEN = re.compile(r"\{\{mso:([a-z_]+)\}\}")
# HOST/PROJECT/PATH/COMPONENT@VERSION, written as a plain YAML scalar: no quotes, spaces or '#'.
_COMPONENT = re.compile(r"^[A-Za-z0-9$][^\s\"'\\#@]*/[^\s\"'\\#@/]+@[^\s\"'\\#@/]+$")
_UNSAFE_IN_HTML = '<>"'  # mkdocs-material puts site_name unescaped into text and attributes
# CODEOWNERS: the project's direct Maintainers and Owners (GitLab's roles as code owners, 17.9+)
OWNERS = ("@@maintainer", "@@owner")
_OWNER = re.compile(r"(@@(developer|maintainer|owner)s?"          # a role of direct members
                    r"|@[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*"  # user, group
                    r"|[A-Za-z0-9_.+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)")        # an email


def add(sub) -> None:
    """Register `mso init`."""
    p = sub.add_parser(
        "init", help="scaffold a new experiment repository",
        description="Write a new experiment repository into DIR (created when missing): one "
        "example application, dataset, infrastructure and experiment, the schemas for editors, "
        "a README, the book's mkdocs.yml, a .gitlab-ci.yml that includes the mso CI/CD "
        "component and a CODEOWNERS for the applications and their recipes. A folder that already has any of these files is refused, unless --force.")
    p.add_argument("dir", nargs="?", default=Path("."), type=Path, metavar="DIR",
                   help="the new repository (default: the current folder)")
    p.add_argument("--name", help="its title, for the README and the book (default: DIR's name)")
    p.add_argument("--component", metavar="REF",
                   help="the CI/CD component to include (default: "
                        f"{default_component()}; between releases, the latest release)")
    p.add_argument("--owner", action="append", metavar="OWNER",
                   help="who must approve changes to the applications and their container "
                        "recipes, written into CODEOWNERS: @user, @group/subgroup, an email, or "
                        "a role @@developer, @@maintainer, @@owner; repeat for more (default: "
                        + " ".join(OWNERS) + ")")
    p.add_argument("--force", action="store_true",
                   help="in a folder that already has some of the files, write only the missing "
                        "ones; existing files are never overwritten")
    p.add_argument("--no-git", action="store_true",
                   help="do not `git init` (by default a folder outside any git repository gets one)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Scaffold the repository; 0 when its files are there."""
    target = Path(os.path.abspath(Path(args.repo) / args.dir))
    name = checked_name(args.name) if args.name is not None else _name_of(target)
    component = checked_component(default_component() if args.component is None
                                  else args.component)
    owners = tuple(dict.fromkeys(checked_owner(o) for o in args.owner)) if args.owner else OWNERS
    files = scaffold(name, component, owners)
    kept = _check(target, files, args.force)
    written = [rel for rel in files if rel not in kept]
    _write(target, {rel: files[rel] for rel in written})
    git = ("skipped", "no git init (--no-git)") if args.no_git else _git_init(target)
    if args.json:
        print(json.dumps({"ok": True, "root": str(target), "name": name, "component": component,
                          "owners": list(owners), "files": written, "kept": kept, "git": git[0]},
                         indent=2))
    else:
        _report(target, written, kept, git)
    return 0


def checked_name(name: str, what: str = "--name") -> str:
    """The repository's title: one line of printable text (it is only ever a title, never a path)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise MsoError(f"{what} {name!r}: give one line of printable text, at most {MAX_NAME} "
                       "characters (it is the title of the README and of the book)")
    if set(name) & set(_UNSAFE_IN_HTML):
        raise MsoError(f"{what} {name!r}: {', '.join(_UNSAFE_IN_HTML)} are not allowed "
                       "(the book's theme writes the title into its HTML as it is)")
    return name


def _name_of(target: Path) -> str:
    return checked_name(target.name, "the folder's name (give a title with --name)")


def checked_component(ref: str) -> str:
    """A CI/CD component reference, HOST/PROJECT/COMPONENT@VERSION."""
    if not _COMPONENT.fullmatch(ref):
        hint = " (in single quotes, or the shell expands $CI_SERVER_FQDN)" * ref.startswith("/")
        raise MsoError(f"--component {ref!r}: expected HOST/PROJECT/COMPONENT@VERSION, without "
                       f"spaces or quotes, e.g. '{default_component()}'{hint}")
    return ref


def checked_owner(owner: str) -> str:
    """A code owner as GitLab's CODEOWNERS names one: @user, @group/sub, @@role or an email."""
    if not _OWNER.fullmatch(owner):
        raise MsoError(f"--owner {owner!r}: expected @user, @group/subgroup, an email address, or "
                       "a role of the project's members (@@developer, @@maintainer, @@owner)")
    return owner


def scaffold(name: str, component: str, owners: tuple[str, ...] = OWNERS) -> dict[str, bytes]:
    """Every file of the new repository: its path (POSIX, relative) and its content."""
    project, version = component.rsplit("@", 1)
    values = {"name_yaml": json.dumps(name, ensure_ascii=False), "name_md": md.text(name),
              "owners": " ".join(owners),
              "component": component, "project": project.rsplit("/", 1)[0],
              "ref_version": version, "version": __version__, **pip_source(component)}
    files = {rel: _render(data, values) for rel, data in _templates()}
    schemas = resources.files("runner").joinpath("schemas")
    for item in sorted(schemas.iterdir(), key=lambda t: t.name):
        if item.name.endswith(".schema.json"):
            files[f"schemas/{item.name}"] = item.read_bytes()
    return dict(sorted(files.items()))


def default_component() -> str:
    """The component of this mso's release; a build between releases takes the latest release."""
    return COMPONENT.format(version=__version__ if _RELEASE.fullmatch(__version__) else "~latest")


def pip_source(component: str) -> dict[str, str]:
    """Where pip gets mso: the package registry (PyPI format) of the component's project, at the
    component's version (`index` and `requirement`); ~latest, a branch or a commit pin nothing."""
    project, ref = component.rsplit("@", 1)
    host, _, path = project.rsplit("/", 1)[0].partition("/")
    index = f"https://{host}/api/v4/projects/{quote(path, safe='')}/packages/pypi/simple"
    if _SEMVER.fullmatch(ref):
        pin = f"=={ref}"
    elif _PARTIAL.fullmatch(ref):     # the CI/CD Catalog's @1 and @1.2: the latest of those
        pin = f"=={ref}.*"
    else:
        pin = ""
    return {"index": index, "requirement": "mso" + pin}


markdown_text = md.text   # `text` shown as itself in Markdown (and HTML): no markup, no tags


def _templates(base: Traversable | None = None, prefix: str = "") -> Iterator[tuple[str, bytes]]:
    """(relative path, bytes) of every file under runner/templates/init/."""
    base = base or resources.files("runner").joinpath("templates", "init")
    for item in sorted(base.iterdir(), key=lambda t: t.name):
        rel = prefix + (("." + item.name[len(DOT):]) if item.name.startswith(DOT) else item.name)
        if item.name == "__pycache__" or item.name.endswith(".pyc"):
            continue
        if item.is_dir():
            yield from _templates(item, rel + "/")
        else:
            yield rel, item.read_bytes()


def _render(data: bytes, values: dict[str, str]) -> bytes:
    """Fill in `{{mso:KEY}}` in one pass (a value holding a token is not expanded again)."""
    if b"{{mso:" not in data:
        return data
    return _TOKEN.sub(lambda m: values[m[1]], data.decode("utf-8")).encode("utf-8")


def _check(target: Path, files: dict[str, bytes], force: bool) -> list[str]:
    """The files that are already there (kept with --force); raise when any is in the way."""
    if os.path.lexists(target) and not target.is_dir():
        raise MsoError(f"{target} exists and is not a folder: nothing was written")
    existing, blocked = [], set()
    for rel in files:
        parts = PurePosixPath(rel).parts
        for i in range(1, len(parts)):
            folder = target.joinpath(*parts[:i])
            if folder.is_symlink() or (os.path.lexists(folder) and not folder.is_dir()):
                blocked.add("/".join(parts[:i]))
                break
        else:
            if os.path.lexists(target / rel):
                existing.append(rel)
    if blocked:
        raise MsoError(f"{target}: {_some(sorted(blocked))} must be a folder (not a file or a "
                       "link) to hold the new files: nothing was written")
    if existing and not force:
        raise MsoError(f"{target} already has {_some(existing)}: nothing was written (mso init "
                       "never overwrites a file; choose a new or empty folder, or --force to "
                       "write only the missing files and keep these)")
    return existing


def _some(paths: list[str], shown: int = 5) -> str:
    """The first few paths, and how many more."""
    more = len(paths) - shown
    return ", ".join(paths[:shown]) + (f" and {more} more" if more > 0 else "")


def _write(target: Path, files: dict[str, bytes]) -> None:
    """Write `files` under `target` completely or not at all; never overwrite one."""
    try:
        if os.path.lexists(target):
            _write_into(target, files)
        else:
            _write_new(target, files)
    except OSError as exc:
        where = exc.filename or target
        raise MsoError(f"cannot write {where}: {exc.strerror or exc}; nothing was left "
                       "behind") from None


def _write_new(target: Path, files: dict[str, bytes]) -> None:
    """Write into a temporary folder beside `target`, then rename it: it appears whole."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.mso-init-", dir=target.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; a repository is not
        _write_into(staging, files)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_into(root: Path, files: dict[str, bytes]) -> None:
    """Create each file exclusively; on any failure remove what this call created."""
    made: list[Path] = []
    try:
        for rel, data in files.items():
            path = root / rel
            missing = [p for p in reversed(path.parents) if p.is_relative_to(root)
                       and not os.path.lexists(p)]
            for folder in missing:
                folder.mkdir()
                made.append(folder)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            made.append(path)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
    except BaseException:
        for path in reversed(made):
            if path.is_dir() and not path.is_symlink():
                path.rmdir()
            else:
                path.unlink()
        raise


def _git_init(target: Path) -> tuple[str, str]:
    """`git init` unless `target` is in a git repository already: (status, what happened)."""
    try:
        import git
    except ImportError as exc:  # GitPython refuses to import when git is not installed
        return "unavailable", f"git is not available ({str(exc).splitlines()[0]}): no git init"
    try:
        found = git.Repo(target, search_parent_directories=True)
        return "inside", f"already inside the git repository at {found.working_tree_dir}"
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        pass
    try:
        git.Repo.init(target)
    except (git.GitCommandError, OSError) as exc:
        return "failed", f"git init failed: {str(exc).strip().splitlines()[-1]}"
    return "initialised", "initialised a git repository (nothing committed yet)"


def _report(target: Path, written: list[str], kept: list[str], git: tuple[str, str]) -> None:
    """What was done, and what to do next."""
    print(f"mso: init: wrote {len(written)} file{'s' * (len(written) != 1)} into {target}")
    if kept:
        print(f"mso: init: kept {len(kept)} existing file{'s' * (len(kept) != 1)} as they were: "
              f"{_some(kept)}")
    print(f"mso: init: {git[1]}")
    print("next:\n"
          f"  cd {shlex.quote(os.path.relpath(target))}\n"
          f"  mso validate && mso run {EXPERIMENT} && mso book build\n"
          "  git add -A && git commit -m 'mso init', then push to a GitLab project: "
          "the pipeline runs there")
