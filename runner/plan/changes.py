"""Which experiments a set of changed files touches (for `mso plan --changed-since REF`)."""

from __future__ import annotations

from pathlib import Path

from runner.errors import MsoError
from runner.declarations.models import Experiment, Repository
from runner.declarations.schema import did_you_mean


def changed_files(root: Path, ref: str) -> set[str]:
    """Files changed since `ref` (committed or not, and new ones), relative to the repository."""
    import git
    try:
        repo = git.Repo(root, search_parent_directories=True)
        repo.commit(ref)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise MsoError(f"{root} is not in a git repository, so --changed-since cannot work") from None
    except (git.BadName, ValueError):
        raise MsoError(f"--changed-since: git knows no revision {ref!r}") from None
    top = Path(repo.working_tree_dir).resolve()
    names = repo.git.diff("--name-only", ref).splitlines()
    names += repo.git.ls_files("--others", "--exclude-standard").splitlines()
    here = root.resolve()
    out = set()
    for name in names:
        path = top / name
        if path.is_relative_to(here):
            out.add(path.relative_to(here).as_posix())
    return out


def touched(exp: Experiment, repo: Repository, files: set[str]) -> list[str]:
    """The changed files this experiment depends on (its own, its applications', datasets',
    infrastructures'), sorted; empty when none."""
    deps = {exp.path}
    for step in exp.steps:
        app = repo.applications.get(step.application)
        if app is not None:
            deps |= {app.path, f"applications/{app.name}"}
        deps |= {repo.infrastructures[p].path for p in step.places if p in repo.infrastructures}
        for binding in [*exp.inputs.values(), *step.inputs.values()]:
            ds = repo.datasets.get(binding.dataset) if binding.dataset else None
            if ds is not None:
                deps |= {ds.path, ds.location} if ds.in_repository else {ds.path}
    roots = {d.rstrip("/") for d in deps}
    return sorted(f for f in files if any(f == d or f.startswith(d + "/") for d in roots))


def select(repo: Repository, names: list[str], root: Path, ref: str | None) -> dict[str, list[str]]:
    """The experiments among `names` to consider, each with the changed files it depends on
    (all of them, with no files, when `ref` is None)."""
    files = changed_files(root, ref) if ref else None
    out = {}
    for name in names:
        why = touched(repo.experiments[name], repo, files) if files is not None else []
        if files is None or why:
            out[name] = why
    return out


def named(repo: Repository, wanted: list[str]) -> list[str]:
    """The experiments named (all when none), refusing unknown names with a suggestion."""
    for name in wanted:
        if name not in repo.experiments:
            hint = did_you_mean(name, sorted(repo.experiments), "experiments")
            raise MsoError(f"no experiment '{name}' in experiments/" + (f" ({hint})" if hint else ""))
    return list(dict.fromkeys(wanted)) or sorted(repo.experiments)
