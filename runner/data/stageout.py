"""Stage-out: a task's outputs too large for results/ go to the experiment's `outputs.remote`.

Each lands at `REMOTE:PATH/<run>/<task>/<path>`, by one of two routes:
- direct (the infrastructure says `data_access: direct`): rclone runs on the host, through the
  transport, its settings fed on stdin (rclone.host_command);
- relayed (otherwise): the file comes to this machine first (a temporary file under .mso/,
  deleted after), then rclone uploads it; a local infrastructure's work dir is read in place.
Then the remote's sha256 (read back where the remote keeps none) must equal the one mso recorded
where the task ran. Only then does the output's entry say `stored: remote` with its location;
otherwise it stays `stored: workdir` and the problem is returned, to be said in the task's record.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from runner.data import progress, rclone
from runner.declarations.models import OutputsTarget
from runner.errors import MsoError, StagingError
from runner.transports.base import Transport


@dataclass(frozen=True)
class Target:
    """Where outputs go: `REMOTE:PATH`, and the settings that configure the remote."""

    remote: str
    settings: rclone.Settings

    @classmethod
    def of(cls, outputs: OutputsTarget, where: str) -> "Target":
        return cls(outputs.remote.rstrip("/"), rclone.Settings(outputs.credentials, where))

    def folder(self, run_id: str, task_id: str) -> str:
        """The task's folder on the remote (no trailing slash)."""
        return f"{self.remote}/{run_id}/{task_id}"


@dataclass(frozen=True)
class Source:
    """A task's work dir: on this machine (`transport` None), or on a host through a transport;
    `direct`: rclone runs on that host; `scratch`: where relayed files wait (under .mso/)."""

    work: PurePosixPath
    transport: Transport | None = None
    direct: bool = False
    scratch: Path | None = None

    @property
    def route(self) -> str:
        return "local" if self.transport is None else "direct" if self.direct else "relayed"


def store(entries: list[dict], source: Source, target: Target, run_id: str,
          task_id: str, kind: str = "workdir") -> list[str]:
    """Upload and verify each output stored as `kind` (`workdir`: left in the work dir; `results`:
    copied into results/, mirrored so the task's folder on the remote is whole). Each one verified
    gets its `location`, and one left in the work dir becomes `stored: remote`. The problems, one
    line each (empty when all went)."""
    problems = []
    for entry in entries:
        if entry.get("stored") != kind:
            continue
        dest = f"{target.folder(run_id, task_id)}/{entry['path']}"
        try:
            upload(source, entry["path"], dest, target.settings, entry.get("size"))
            problem = verify(dest, entry["sha256"], target.settings)
        except MsoError as exc:
            problem = f"{entry['path']} was not saved to {dest}: {exc}"
        if problem:
            problems.append(problem)
            continue
        entry["location"] = dest
        if kind == "workdir":
            entry["stored"] = "remote"
    return problems


def upload(source: Source, rel: str, dest: str, settings: rclone.Settings,
           size: int | None = None) -> None:
    """Copy one file of the work dir to `dest` on the remote, by the source's route."""
    path = str(source.work / rel)
    if source.transport is None:
        rclone.copy(path, dest, settings, file=True, label=rel, size=size)
    elif source.direct:
        _direct(source.transport, path, dest, settings, size)
    else:
        _relayed(source, path, rel, dest, settings, size)


def verify(dest: str, sha256: str, settings: rclone.Settings) -> str | None:
    """None when the file on the remote has this sha256; else why not, with both hashes."""
    sums = rclone.sha256sums(dest, settings)
    found = next(iter(sums.values())) if len(sums) == 1 else None
    if found == sha256:
        return None
    return (f"{dest} on the remote does not match the output (sha256 {found or 'unreadable'} "
            f"there, {sha256} where it ran)")


def _direct(transport: Transport, path: str, dest: str, settings: rclone.Settings,
            size: int | None) -> None:
    streams = rclone.STREAMS if size is None or size > rclone.LARGE else []
    text, stdin = rclone.host_command(["copyto", *streams, *progress.flags(), "--", path, dest],
                                      settings)
    result = transport.run(text, stdin=stdin,
                           on_stderr=progress.Watcher(PurePosixPath(path).name, mask=settings.mask))
    if result.code:
        said = rclone.explain(result.stderr, settings, f"copying {path} on {transport.host}",
                              rclone.remote_of(dest))
        raise StagingError(said)


def _relayed(source: Source, path: str, rel: str, dest: str, settings: rclone.Settings,
             size: int | None) -> None:
    assert source.transport is not None
    scratch = source.scratch or Path(tempfile.gettempdir())
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="stageout-") as tmp:
        local = Path(tmp) / PurePosixPath(rel).name
        source.transport.get(path, local)
        rclone.copy(str(local), dest, settings, file=True, label=rel, size=size)
