"""Commit results/ (and dataset entries) as the bot and push to the branch, race-safe.

When someone pushed meanwhile: fetch, rebase, push again, a bounded number of times with
backoff. Runs write their own folders, so a rebase conflicts only when two runners published
the same run; conflicts.py settles those, and refuses conflicts anywhere else. A rejection is
read from `git push --porcelain` (GitPython's own push neither raises on one nor keeps git's
message). A token comes from an environment variable through GIT_ASKPASS, so it is never in a
command line, a remote URL, a config file or a log."""

from __future__ import annotations

import os
import random
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from runner.errors import PublishError
from runner.publish import conflicts

PATHS = ("results", "datasets")
BOT = ("mso bot", "mso-bot@localhost")


@dataclass(frozen=True)
class Target:
    """Where results are pushed and which environment variable holds the token."""

    remote: str
    token_env: str | None


def target(remote: str | None = None, token_env: str | None = None) -> Target | None:
    """The push target: the remote given, else $MSO_PUSH_URL, else in GitLab CI the project's
    URL without credentials (the runner's origin carries the job token, which git would use
    instead of ours), else origin. The token: the variable named, else MSO_GITLAB_TOKEN when
    set. None in GitLab CI with neither a remote nor a token set, where a push could only fail
    (a fork's merge request gets no protected variables)."""
    env = os.environ
    token_env = token_env or ("MSO_GITLAB_TOKEN" if env.get("MSO_GITLAB_TOKEN") else None)
    remote = remote or env.get("MSO_PUSH_URL")
    if remote is None and env.get("GITLAB_CI") == "true":
        if not (token_env and env.get(token_env)):
            return None
        if token_env != "CI_JOB_TOKEN" and env.get("CI_SERVER_URL") and env.get("CI_PROJECT_PATH"):
            remote = f"{env['CI_SERVER_URL'].rstrip('/')}/{env['CI_PROJECT_PATH']}.git"
    return Target(remote or "origin", token_env)


@dataclass(frozen=True)
class Published:
    commit: str | None
    attempts: int
    pushed: bool


def publish(root: Path, remote: str, branch: str | None, message: str | None, retries: int = 10,
            token_env: str | None = None) -> Published:
    """Commit what changed under results/ and datasets/, push it; return what happened."""
    import git
    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise PublishError(f"{root} is not in a git repository") from None
    branch = branch or _branch(repo)
    message = message or _message(repo, root)
    paths = _onto_branch(repo, root, remote, branch) if _merged_result() else None
    commit = _commit(repo, root, message, paths)
    if commit is None and not _ahead(repo, remote, branch):
        return Published(None, 0, False)
    with _askpass(token_env) as env, repo.git.custom_environment(**env):
        attempts = _push(repo, remote, branch, retries, _relative(repo, root / "results"))
    return Published(repo.head.commit.hexsha, attempts, True)


def _branch(repo) -> str:
    """The branch the pipeline runs for (CI checks out a detached HEAD), else the current one."""
    env = os.environ
    name = (env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or env.get("CI_COMMIT_REF_NAME")
            or env.get("CI_COMMIT_BRANCH"))
    if name:
        return name
    if repo.head.is_detached:
        raise PublishError("HEAD is detached and CI_COMMIT_REF_NAME is not set: give --branch")
    return repo.active_branch.name


def _message(repo, root: Path) -> str:
    """`mso: results of <experiment>/<run>, ...` for the run folders with changes."""
    rel = _relative(repo, root / "results")
    changed = repo.git.status("--porcelain", "--untracked-files=all", "--", rel).splitlines()
    runs = sorted({"/".join(Path(line[3:].strip('"')).relative_to(rel).parts[:2])
                   for line in changed if line[3:].startswith(rel + "/")})
    shown = ", ".join(runs[:5]) + (f" and {len(runs) - 5} more" if len(runs) > 5 else "")
    head = f"mso: results of {shown}" if runs else "mso: results"
    if (root / "datasets").exists():   # entries publish_outputs wrote, committed with them
        data = _relative(repo, root / "datasets")
        added = repo.git.status("--porcelain", "--untracked-files=all", "--", data).splitlines()
        names = sorted({Path(line[3:].strip('"')).stem for line in added
                        if line[3:].endswith(".yaml")})
        if names:
            head += "; datasets " + ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
    return head


def _dirs(repo, root: Path) -> list[str]:
    """results/ and datasets/ (those that exist), relative to the top of the work tree."""
    return [_relative(repo, root / p) for p in PATHS if (root / p).exists()]


def _relative(repo, path: Path) -> str:
    """`path` relative to the top of the work tree, as git names it."""
    return path.resolve().relative_to(Path(repo.working_tree_dir).resolve()).as_posix()


def _merged_result() -> bool:
    return os.environ.get("CI_MERGE_REQUEST_EVENT_TYPE") == "merged_result"


def _onto_branch(repo, root: Path, remote: str, branch: str) -> list[str]:
    """In a merged-results pipeline HEAD merges the target branch into this one, and pushing it
    would merge the target into the branch. So HEAD moves to the branch's own tip (the files
    stay), and only what mso wrote in this job is committed: the files under results/ and
    datasets/ that differ from the pipeline's commit. Returns them."""
    dirs = _dirs(repo, root)
    if not dirs:
        return []
    files = repo.git.diff("--name-only", "HEAD", "--", *dirs).splitlines()
    files += repo.git.ls_files("--others", "--exclude-standard", "--", *dirs).splitlines()
    _fetch(repo, remote, branch)
    repo.git.reset("-q", "--mixed", "FETCH_HEAD")
    return sorted(set(files))


def _commit(repo, root: Path, message: str, files: list[str] | None = None) -> str | None:
    """Commit results/ and datasets/ as the bot (or exactly `files`, with nothing else in the
    index: a merged-results pipeline); the new commit, or None when nothing changed."""
    if files is None:
        paths = _dirs(repo, root)
        repo.git.add("--all", "--", *paths)
        # only paths with staged changes: a folder git has never seen (empty) is no pathspec
        paths = [p for p in paths if repo.git.diff("--cached", "--name-only", "--", p)]
        if not paths:
            return None   # (what else someone staged is theirs to commit)
    else:
        if files:
            with tempfile.NamedTemporaryFile("w", suffix=".paths") as listing:   # no ARG_MAX
                listing.write("".join(f"{f}\n" for f in files))
                listing.flush()
                repo.git.add("--all", f"--pathspec-from-file={listing.name}")
        paths = []   # the index holds the branch's tip plus these files alone
    if not repo.git.diff("--cached", "--name-only"):
        return None
    name, email = os.environ.get("MSO_BOT_NAME", BOT[0]), os.environ.get("MSO_BOT_EMAIL", BOT[1])
    with repo.git.custom_environment(GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email,
                                     GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email):
        repo.git.commit("-m", f"{message}\n\n[skip ci]", *(["--", *paths] if paths else []))
    return repo.head.commit.hexsha


def _ahead(repo, remote: str, branch: str) -> bool:
    """Whether local commits are not on the remote branch yet (a publish cut short before)."""
    try:
        repo.git.fetch(remote, branch)
        return bool(repo.git.rev_list("FETCH_HEAD..HEAD").strip())
    except Exception:  # noqa: BLE001 - a branch the remote does not have yet: push it
        return True


def _push(repo, remote: str, branch: str, retries: int, results: str) -> int:
    """Push; when rejected (someone pushed meanwhile) fetch, rebase and try again."""
    refspec = f"HEAD:refs/heads/{branch}"
    options = ["--push-option=ci.skip"]   # no pipeline for the results commit
    for attempt in range(1, retries + 1):
        code, out, err = repo.git.push("--porcelain", *options, remote, refspec,
                                       with_extended_output=True, with_exceptions=False)
        if code == 0:
            return attempt
        if options and "push options" in err:
            options = []   # a remote without push options: the message's [skip ci] does it
            continue
        if not _raced(code, out, err):
            raise PublishError(f"git push to {remote} failed (exit {code}): {_clean(err + ' ' + out)}")
        _rebase(repo, remote, branch, results)
        time.sleep(min(2.0, 0.1 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5))  # racers: short
    raise PublishError(f"git push to {remote}/{branch} was rejected {retries} times (others "
                       "pushed meanwhile); run `mso publish` again")


def _raced(code: int, out: str, err: str) -> bool:
    """Whether another push won: a rejected ref in the porcelain output, git saying so, or git
    killed by SIGPIPE because the remote hung up on it (a lost ref lock, mid-pack)."""
    return code in (-13, 141) or any(line.startswith("!") for line in out.splitlines()) or \
        any(word in err for word in _RACE)


def _rebase(repo, remote: str, branch: str, results: str) -> None:
    """Rebase onto the remote branch; conflicts in run folders are settled (conflicts.py)."""
    _fetch(repo, remote, branch)
    code, _, err = repo.git.rebase("--autostash", "FETCH_HEAD", with_extended_output=True,
                                   with_exceptions=False)
    if code == 0:
        return
    if not conflicts.rebasing(repo):   # refused before starting (nothing to undo)
        raise PublishError(f"rebasing onto {remote}/{branch} failed: {_clean(err)}")
    conflicts.settle(repo, results, f"{remote}/{branch}")


def _fetch(repo, remote: str, branch: str) -> None:
    """Fetch the branch into FETCH_HEAD."""
    import git
    try:
        repo.git.fetch(remote, branch)
    except git.GitCommandError as exc:
        raise PublishError(f"fetching {branch} from {remote} failed: {_clean(exc.stderr)}") from None


# what git says when another push won the race
_RACE = ("failed to push some refs", "rejected", "cannot lock ref", "fetch first", "non-fast-forward")


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())[:500]


class _askpass:
    """GIT_ASKPASS answering with the token read from an environment variable at push time."""

    def __init__(self, token_env: str | None) -> None:
        self.token_env, self.folder = token_env, None

    def __enter__(self) -> dict[str, str]:
        if not self.token_env:
            return {}
        if not os.environ.get(self.token_env):
            raise PublishError(f"the environment variable {self.token_env} (the push token) is not set")
        self.folder = tempfile.TemporaryDirectory()
        script = Path(self.folder.name) / "askpass"
        # the script holds no secret: it prints the variable git inherits from this process
        script.write_text(f'#!/bin/sh\nprintf "%s" "${self.token_env}"\n')
        script.chmod(stat.S_IRWXU)
        return {"GIT_ASKPASS": str(script), "GIT_TERMINAL_PROMPT": "0"}

    def __exit__(self, *exc) -> None:
        if self.folder is not None:
            self.folder.cleanup()
