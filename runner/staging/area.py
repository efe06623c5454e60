"""A run's work dir on its infrastructure, seen through a local staging folder.

A local area is its own staging folder. A remote area sends task trees (application files,
inputs, job scripts) as one archive (up to four for a large batch, unpacked side by side), and
fetches finished tasks' small files back as one archive: the wrapper's records are read from it,
logs and outputs land in the staging folder, so the rest of mso reads local files only.
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
from runner.staging import collect, tree
from runner.staging.collect import SMALL, Left
from runner.staging.tree import Tree
from runner.transports.base import Transport

PREPARED = ".prepared"   # in the staging folder: the tasks whose trees are in place, one a line
UNPACK_PART, UNPACKERS = 250, 4   # a batch's trees go in archives of at least this many tasks,
                                   # at most this many, unpacked side by side


class WorkArea(ABC):
    def __init__(self, stage: Path, root: PurePosixPath) -> None:
        self.stage, self.root = stage, root

    def task_dir(self, task_id: str) -> PurePosixPath:
        """A task's work dir on the infrastructure."""
        return self.root / task_id

    def prepared(self) -> set[str]:
        """The tasks whose trees are in place (a line may be cut short by a crash: not counted)."""
        try:
            text = (self.stage / PREPARED).read_text()
        except FileNotFoundError:
            return set()
        return set(text[: text.rfind("\n") + 1].split())

    def _prepared(self, task_ids: list[str]) -> None:
        self.stage.mkdir(parents=True, exist_ok=True)
        with open(self.stage / PREPARED, "a") as fh:
            fh.write("".join(f"{t}\n" for t in task_ids))

    @abstractmethod
    def upload(self, trees: dict[str, Tree]) -> None:
        """Make the tasks' trees exist in their work dirs on the infrastructure."""

    @abstractmethod
    def put(self, local: Path, rel: str) -> None:
        """Copy a local file to a path relative to the work dir (for inputs from another host)."""

    @abstractmethod
    def fetch(self, tasks: list[TaskPlan]) -> dict[str, Left]:
        """What finished tasks left, per task id: what the wrapper recorded and the outputs too
        large to fetch; their logs and small outputs are brought into the staging folder."""

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

    def upload(self, trees: dict[str, Tree]) -> None:
        for tid, t in trees.items():
            t.write(self.stage / tid)
        self._prepared(list(trees))

    def put(self, local: Path, rel: str) -> None:
        tree.place_path(local, self.stage / rel)

    def fetch(self, tasks: list[TaskPlan]) -> dict[str, Left]:
        return {t.id: Left(collect.wrapper_files(self.stage / t.id)) for t in tasks}

    def ended(self, task_ids: list[str]) -> set[str]:
        return {t for t in task_ids if _written(self.stage / t / script.EXIT)}

    def remove(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)


class RemoteArea(WorkArea):
    """The work dir is on another host, reached through a transport."""

    def __init__(self, stage: Path, root: PurePosixPath, transport: Transport) -> None:
        super().__init__(stage, root)
        self.transport = transport

    def upload(self, trees: dict[str, Tree]) -> None:
        if not trees:
            return
        q = shlex.quote
        parts = _parts(list(trees))
        remotes = [f"{self.root}/.upload-{part[0]}.tgz" for part in parts]
        with tempfile.TemporaryDirectory() as tmp:
            self.transport.run(f"mkdir -p {q(str(self.root))}").check("creating the work dir")
            for part, remote in zip(parts, remotes):
                archive = Path(tmp) / "tasks.tgz"
                with open(archive, "wb") as fh:
                    tree.archive({tid: trees[tid] for tid in part}, fh)
                self.transport.put(archive, remote)
        links, pairs = tree.link_command(trees)
        # one command: the archives unpacked side by side (a new inode can take a millisecond
        # on a busy or shared file system, and a large sweep makes thousands), then every
        # dataset input linked from the cache
        unpack = " ".join(f"tar -xzf {q(r)} -C {q(str(self.root))} & p=\"$p $!\";" for r in remotes)
        self.transport.run(f"p=; {unpack} r=0; for i in $p; do wait $i || r=1; done; "
                           f"rm -f {' '.join(map(q, remotes))}; [ $r = 0 ] "
                           f"&& cd {q(str(self.root))} && {links}", stdin=pairs
                           ).check("unpacking the task dirs")
        self._prepared(list(trees))

    def put(self, local: Path, rel: str) -> None:
        target = self.root / rel
        self.transport.run(f"mkdir -p {shlex.quote(str(target.parent))}").check("making a folder")
        self.transport.put(local, str(target))

    def fetch(self, tasks: list[TaskPlan]) -> dict[str, Left]:
        listing = self._list(tasks)
        # an empty stdout or stderr is not kept: nothing to fetch
        small = [p for p, size in listing.items() if size <= SMALL
                 and (size or p.partition("/")[2] not in (script.STDOUT, script.STDERR))]
        large = {p: size for p, size in listing.items() if size > SMALL}
        left = {t.id: Left(collect.Collected()) for t in tasks}
        if small:
            self._download(small, left)
        for tid, entries in self._large_manifest(large).items():
            left[tid].large = entries
        return left

    def ended(self, task_ids: list[str]) -> set[str]:
        cmd = (f"cd {shlex.quote(str(self.root))} && while read -r t; do "
               f"if [ -s \"$t/{script.EXIT}\" ]; then echo \"$t\"; fi; done")
        result = self.transport.run(cmd, stdin="\n".join(task_ids) + "\n").check("checking tasks")
        return set(result.stdout.split()) & set(task_ids)

    def remove(self) -> None:
        # renamed at once, deleted in the background: a 1000-task work dir takes seconds to
        # delete, and nothing waits for it (a name that ends in .removing-PID is never reused)
        q = shlex.quote
        root, gone = q(str(self.root)), q(f"{self.root.parent}/.{self.root.name}.removing-") + "$$"
        self.transport.run(f"if [ -e {root} ]; then mv -- {root} {gone} && "
                           f"{{ rm -rf -- {gone} </dev/null >/dev/null 2>&1 & }}; fi")
        shutil.rmtree(self.stage, ignore_errors=True)
        try:
            self.stage.parent.rmdir()  # the run's staging folder, once its last host is gone
        except OSError:
            pass

    def _list(self, tasks: list[TaskPlan]) -> dict[str, int]:
        """Sizes of every file to collect, by path relative to the work dir.

        The globs go in on stdin, one a line, and expand as unquoted words: pathname expansion
        only, never command substitution (and they were validated to stay inside)."""
        globs = [f"{t.id}/{p}" for t in tasks    # result files too: their metrics are read here
                 for p in (*script.RECORDED, *t.outputs, *(lg.path for lg in t.logs),
                           *(r.file for r in t.results))]
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

    def _download(self, paths: list[str], left: dict[str, Left]) -> None:
        """One archive of the files; the wrapper's records are read from it, the rest (logs,
        outputs) go into the staging folder."""
        q = shlex.quote
        remote = f"{self.root}/.collect.tgz"
        listing = "\n".join(paths) + "\n"
        self.transport.run(f"cd {q(str(self.root))} && tar -czf {q(remote)} -T -",
                           stdin=listing).check("packing results")
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "collect.tgz"
            self.transport.get(remote, local)
            self.transport.run(f"rm -f {q(remote)}")
            self._unpack(local, left)

    def _unpack(self, archive: Path, left: dict[str, Left]) -> None:
        texts: dict[str, dict[str, str]] = {}
        with tarfile.open(archive) as tar:
            for member in tar:
                tid, _, rel = member.name.partition("/")
                if tid not in left:
                    continue
                if rel in script.RECORDS and member.isreg():
                    data = tar.extractfile(member).read()
                    texts.setdefault(tid, {})[rel] = data.decode(errors="replace")
                    continue
                try:
                    tar.extract(member, self.stage, filter="data")
                except tarfile.FilterError:   # a link out of the work dir
                    left[tid].refused.append(rel)
        for tid, found in texts.items():
            left[tid].records = collect.records(found)

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


def _written(path: Path) -> bool:
    """The wrapper's exit code is there: the file is not empty (it is written in one go)."""
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def for_run(stage: Path, root: PurePosixPath, transport: Transport | None) -> WorkArea:
    if transport is None:
        return LocalArea(stage)
    if not str(root).startswith("/"):
        raise StagingError(f"the work root {root} must be an absolute path on the host")
    return RemoteArea(stage, root, transport)


def _parts(task_ids: list[str]) -> list[list[str]]:
    """The task ids in consecutive parts, one archive each: one part below 2 x UNPACK_PART
    tasks, else up to UNPACKERS parts of even size."""
    count = max(1, min(UNPACKERS, len(task_ids) // UNPACK_PART))
    size = -(-len(task_ids) // count)
    return [task_ids[i:i + size] for i in range(0, len(task_ids), size)]

