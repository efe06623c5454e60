"""A run's work dir on its infrastructure, seen through a local staging folder.

Task trees (application files, inputs, job scripts) are built in the staging folder; a remote
area uploads them as one archive and fetches finished tasks' small files back as one archive,
so the rest of mso reads and writes local files only.
"""

from __future__ import annotations

import shlex
import shutil
import tarfile
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path, PurePosixPath

from runner.errors import StagingError
from runner.plan.resolve import TaskPlan
from runner.schedulers import script
from runner.staging import stagein
from runner.staging.collect import SMALL
from runner.transports.base import Transport


class WorkArea(ABC):
    def __init__(self, stage: Path, root: PurePosixPath) -> None:
        self.stage, self.root = stage, root

    def task_dir(self, task_id: str) -> PurePosixPath:
        """A task's work dir on the infrastructure."""
        return self.root / task_id

    @abstractmethod
    def upload(self, task_ids: list[str]) -> None:
        """Make the staged task trees exist on the infrastructure."""

    @abstractmethod
    def put(self, local: Path, rel: str) -> None:
        """Copy a local file to a path relative to the work dir (for inputs from another host)."""

    @abstractmethod
    def fetch(self, tasks: list[TaskPlan]) -> dict[str, list[dict]]:
        """Bring finished tasks' wrapper files, logs and small outputs into the staging folder;
        return, per task id, the outputs too large to fetch (path, size, sha256)."""

    @abstractmethod
    def remove(self) -> None:
        """Remove the run's work dir."""

    @abstractmethod
    def ended(self, task_ids: list[str]) -> set[str]:
        """Tasks whose wrapper has written its exit code (one cheap check for all)."""


class LocalArea(WorkArea):
    """The work dir is on this machine: staging is the work dir itself."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, PurePosixPath(root))

    def upload(self, task_ids: list[str]) -> None:
        pass

    def put(self, local: Path, rel: str) -> None:
        stagein.place_path(local, self.stage / rel)

    def fetch(self, tasks: list[TaskPlan]) -> dict[str, list[dict]]:
        return {}

    def ended(self, task_ids: list[str]) -> set[str]:
        return {t for t in task_ids if (self.stage / t / script.EXIT).exists()}

    def remove(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)


class RemoteArea(WorkArea):
    """The work dir is on another host, reached through a transport."""

    def __init__(self, stage: Path, root: PurePosixPath, transport: Transport) -> None:
        super().__init__(stage, root)
        self.transport = transport

    def upload(self, task_ids: list[str]) -> None:
        if not task_ids:
            return
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "tasks.tgz"
            with tarfile.open(archive, "w:gz") as tar:
                for tid in task_ids:
                    tar.add(self.stage / tid, arcname=tid)
            remote = f"{self.root}/.upload-{task_ids[0]}.tgz"
            q = shlex.quote
            self.transport.run(f"mkdir -p {q(str(self.root))}").check("creating the work dir")
            self.transport.put(archive, remote)
            self.transport.run(f"tar -xzf {q(remote)} -C {q(str(self.root))} && rm -f {q(remote)}"
                               ).check("unpacking the task dirs")

    def put(self, local: Path, rel: str) -> None:
        target = self.root / rel
        self.transport.run(f"mkdir -p {shlex.quote(str(target.parent))}").check("making a folder")
        self.transport.put(local, str(target))

    def fetch(self, tasks: list[TaskPlan]) -> dict[str, list[dict]]:
        listing = self._list(tasks)
        small = [p for p, size in listing.items() if size <= SMALL]
        large = {p: size for p, size in listing.items() if size > SMALL}
        if small:
            self._download(small)
        return self._large_manifest(large)

    def ended(self, task_ids: list[str]) -> set[str]:
        cmd = (f"cd {shlex.quote(str(self.root))} && while read -r t; do "
               f"if [ -e \"$t/{script.EXIT}\" ]; then echo \"$t\"; fi; done")
        result = self.transport.run(cmd, stdin="\n".join(task_ids) + "\n").check("checking tasks")
        return set(result.stdout.split()) & set(task_ids)

    def remove(self) -> None:
        self.transport.run(f"rm -rf {shlex.quote(str(self.root))}")
        shutil.rmtree(self.stage, ignore_errors=True)
        try:
            self.stage.parent.rmdir()  # the run's staging folder, once its last host is gone
        except OSError:
            pass

    def _list(self, tasks: list[TaskPlan]) -> dict[str, int]:
        """Sizes of every file to collect, by path relative to the work dir.

        The globs go in on stdin, one a line, and expand as unquoted words: pathname expansion
        only, never command substitution (and they were validated to stay inside)."""
        globs = [f"{t.id}/{p}" for t in tasks
                 for p in (*script.RECORDED, *t.outputs, *(lg.path for lg in t.logs))]
        cmd = (f"cd {shlex.quote(str(self.root))} && shopt -s nullglob globstar && IFS=$'\\n' && "
               "files=() && while read -r g; do for f in $g; do if [ -f \"$f\" ]; then "
               "files+=(\"$f\"); fi; done; done && if [ ${#files[@]} -gt 0 ]; then stat -c $'%s\\t%n' -- \"${files[@]}\"; fi")
        result = self.transport.run(cmd, stdin="\n".join(globs) + "\n").check("listing outputs")
        sizes = {}
        for line in result.stdout.splitlines():
            size, _, path = line.partition("\t")
            if size.isdigit() and path:
                sizes[path] = int(size)
        return sizes

    def _download(self, paths: list[str]) -> None:
        q = shlex.quote
        remote = f"{self.root}/.collect.tgz"
        listing = "\n".join(paths) + "\n"
        self.transport.run(f"cd {q(str(self.root))} && tar -czf {q(remote)} -T -",
                           stdin=listing).check("packing results")
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "collect.tgz"
            self.transport.get(remote, local)
            self.transport.run(f"rm -f {q(remote)}")
            with tarfile.open(local) as tar:
                tar.extractall(self.stage, filter="data")

    def _large_manifest(self, large: dict[str, int]) -> dict[str, list[dict]]:
        if not large:
            return {}
        q = shlex.quote
        result = self.transport.run(f"cd {q(str(self.root))} && sha256sum " +
                                    " ".join(q(p) for p in large)).check("hashing large outputs")
        out: dict[str, list[dict]] = {}
        for line in result.stdout.splitlines():
            digest, _, path = line.partition("  ")
            tid, _, rel = path.partition("/")
            out.setdefault(tid, []).append({"path": rel, "size": large[path], "sha256": digest,
                                            "stored": "workdir"})
        return out


def for_run(stage: Path, root: PurePosixPath, transport: Transport | None) -> WorkArea:
    if transport is None:
        return LocalArea(stage)
    if not str(root).startswith("/"):
        raise StagingError(f"the work root {root} must be an absolute path on the host")
    return RemoteArea(stage, root, transport)
