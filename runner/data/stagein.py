"""Stage-in, once per run per infrastructure: each dataset its tasks read, into the host's cache
(runner/data/cache.py), verified there by sha256 before any task starts.

Routes (recorded in run.json's `staged`):
    cached    the host has the entry already: nothing moves
    direct    `data_access: direct`: rclone runs on the host through the transport
    relayed   remote -> the runner's cache (runnercache.py) -> SFTP to the host's part
    local     a local infrastructure: the runner's cache is linked (or copied) into the host's
Repository datasets and http(s) URLs go the same way. A URL is read by rclone's `:http:` backend
(the base URL in RCLONE_HTTP_URL): the same retries, multi-thread streams and progress lines as
any remote, and the same command on a host for the direct route (urllib would do neither).
"""

from __future__ import annotations

import hashlib
import shlex
import shutil
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from runner.data import cache, progress, rclone
from runner.data.runnercache import RunnerCache, folder_manifest
from runner.declarations import manifest as manifests
from runner.declarations.models import Dataset
from runner.errors import StagingError
from runner.fsutil import inside, sha256_file
from runner.transports.base import Transport
from runner.words import size_text

Say = Callable[[str], None]
WORDS = {"direct": "moved directly", "relayed": "relayed", "local": "linked"}


@dataclass(frozen=True)
class Host:
    """An infrastructure as stage-in sees it."""

    name: str
    work_root: str           # the runs' work dirs are `<work_root>/<run id>`
    transport: Transport     # a LocalTransport for a local infrastructure
    route: str               # local | direct | relayed


def stage_all(datasets: Iterable[Dataset], repo_root: Path, host: Host, runner: RunnerCache,
              say: Say) -> dict[str, dict]:
    """Every dataset onto the host (one command asks which are there already): what
    RunRecord.staged keeps per dataset, and a line said for each."""
    datasets = list(datasets)
    wants = {ds.name: want_of(ds, repo_root) for ds in datasets}
    known = sorted({w.expect for w in wants.values() if w.expect})
    text, stdin = cache.present_command(host.work_root, known)
    there = cache.parse_present(host.transport.run(text, stdin=stdin), known) if known else set()
    out = {}
    for ds in datasets:
        start, want = time.monotonic(), wants[ds.name]
        if want.expect in there:
            stored, route = cache.Stored(want.expect, 0, True), "cached"
        else:
            stored, route = stage(ds, want, repo_root, host, runner, say)
        out[ds.name] = {"sha256": stored.sha256, "route": "cached" if stored.cached else route,
                        "bytes": stored.bytes, "seconds": round(time.monotonic() - start, 3),
                        "path": cache.entry(host.work_root, stored.sha256)}
        say(line(ds.name, host.name, out[ds.name]))
    return out


def line(name: str, infra: str, rec: dict) -> str:
    """`stage-in: NAME on INFRA: 1.0 GiB moved directly in 9.8 s, verified`."""
    if rec["route"] == "cached":
        return f"stage-in: {name} on {infra}: in the cache, 0 bytes moved"
    return (f"stage-in: {name} on {infra}: {size_text(rec['bytes'])} {WORDS[rec['route']]} in "
            f"{rec['seconds']:.1f} s, verified")


def want_of(ds: Dataset, repo_root: Path) -> cache.Want:
    """What the cache is asked for: a repository dataset is hashed here (it costs no transfer)."""
    folder = manifests.is_folder(ds) or (ds.in_repository and (repo_root / ds.location).is_dir())
    label = f"dataset {ds.name}"
    text = manifests.text(ds.manifest) if ds.manifest is not None else None
    expect = manifests.content_id(ds) if ds.manifest is not None or not folder else None
    if expect is None and ds.in_repository:
        text, expect = _repo_hash(ds, repo_root, folder)
    return cache.Want(cache.key_of(expect, ds.location), expect, folder, text, label)


def _repo_hash(ds: Dataset, root: Path, folder: bool) -> tuple[str | None, str | None]:
    src = _repo_source(ds, root)
    if not folder:
        return None, sha256_file(src) if src.is_file() else None
    text = folder_manifest(src)
    return text, hashlib.sha256(text.encode()).hexdigest()


def stage(ds: Dataset, want: cache.Want, repo_root: Path, host: Host, runner: RunnerCache,
          say: Say | None = None) -> tuple[cache.Stored, str]:
    """One dataset onto the host by its route; (the entry, the route). The direct route's
    progress lines are said as rclone on the host writes its stats."""
    where = ds.path or host.name
    if host.route == "direct" and not ds.in_repository:
        src, settings = source(ds)
        fill, stdin = rclone.host_command(_copy_args(ds, want, src, host), settings)
        res = host.transport.run(cache.store_command(host.work_root, want, fill), stdin=stdin,
                                 on_stderr=progress.Watcher(ds.name, say, settings.mask))
        return cache.parse_store(res, want, f"{where} (on {host.name})", settings,
                                 rclone.remote_of(src)), "direct"
    local, text = fetch(ds, want, repo_root, runner)
    want = cache.Want(local.sha256, local.sha256, want.folder, text, want.label)
    if host.route == "local":
        fill = _link(runner.path(local.sha256), want.folder)
        res = host.transport.run(cache.store_command(host.work_root, want, fill))
        return cache.parse_store(res, want, f"{where} (on {host.name})"), "local"
    return _relay(runner.path(local.sha256), want, host, where), "relayed"


def fetch(ds: Dataset, want: cache.Want, repo_root: Path,
          runner: RunnerCache) -> tuple[cache.Stored, str | None]:
    """The dataset in the runner's cache (moved at most once; verified)."""
    def fill(dest: Path) -> None:
        if ds.in_repository:
            _copy_from_repo(ds, repo_root, dest)
            return
        src, settings = source(ds)
        rclone.copy(src, str(dest) + ("/" if want.folder else ""), settings,
                    file=not want.folder, label=ds.name, size=ds.size)
    return runner.ensure(want, fill, ds.path or ds.name)


def into_cache(ds: Dataset, repo_root: Path, cache_root: Path) -> Path:
    """The dataset in a runner cache under `cache_root` (moved there at most once), verified:
    whether it can still be had as the catalogue says (mso rerun); a StagingError naming both
    hashes when it is not."""
    runner = RunnerCache(cache_root)
    stored, _ = fetch(ds, want_of(ds, repo_root), repo_root, runner)
    return runner.path(stored.sha256)


def source(ds: Dataset) -> tuple[str, rclone.Settings]:
    """The rclone source of a dataset and the settings that reach it (a URL: `:http:`)."""
    if ds.location.startswith(("http://", "https://")):
        url = urlsplit(ds.location)
        return (f":http:{url.path.lstrip('/')}",
                rclone.Settings({"RCLONE_HTTP_URL": f"{url.scheme}://{url.netloc}/"}, ds.path))
    return ds.location, rclone.Settings(ds.credentials, ds.path)


def _copy_args(ds: Dataset, want: cache.Want, src: str, host: Host) -> list[str]:
    dest = cache.part(host.work_root, want.key) + "/data"
    streams = rclone.STREAMS if ds.size is None or ds.size > rclone.LARGE else []
    return ["copy" if want.folder else "copyto", *streams, *progress.flags(), "--", src, dest]


def _link(src: Path, folder: bool) -> str:
    """Fill a local host's part from the runner's cache: hard links, else a copy."""
    s = shlex.quote(str(src))
    if folder:
        return (f'rm -rf "$P/data" && {{ cp -al {s} "$P/data" 2>/dev/null || '
                f'{{ rm -rf "$P/data" && cp -a {s} "$P/data"; }}; }}')
    return f'ln {s} "$P/data" 2>/dev/null || cp -p {s} "$P/data"'


def _relay(src: Path, want: cache.Want, host: Host, where: str) -> cache.Stored:
    """SFTP into this runner's own inbox beside the host's part (a folder's files already there
    at their size are kept, so an upload cut short resumes), then the store command, under the
    lock, takes the inbox as the part, verifies it and moves it in place. The inbox is named
    after this machine and its cache, so two runners relaying the same data at once never write
    into each other's files, and the same runner finds its own again after a crash."""
    q = shlex.quote
    token = hashlib.sha256(f"{socket.gethostname()}\0{src}".encode()).hexdigest()[:12]
    p = f"{cache.part(host.work_root, want.key)}.{token}"
    files = [(f, f.relative_to(src).as_posix()) for f in sorted(src.rglob("*")) if f.is_file()] \
        if want.folder else [(src, "")]
    dirs = sorted({f"{p}/data/{rel}".rsplit("/", 1)[0] for _, rel in files if "/" in rel})
    start = f"if [ -e {q(cache.entry(host.work_root, want.key))} ]; then echo present; exit 0; fi; "
    start += (f"mkdir -p {q(p + '/data')} {' '.join(map(q, dirs))} && cd {q(p + '/data')} && "
             "find . -type f -printf '%s\\t%P\\n'") if want.folder else \
        f"rm -rf {q(p)} && mkdir -p {q(p)}"
    res = host.transport.run(start).check(f"{where}: preparing the data cache on {host.name}")
    if res.stdout.strip() == "present":
        return cache.Stored(want.key, 0, True)
    have = dict(ln.split("\t", 1)[::-1] for ln in res.stdout.splitlines() if "\t" in ln)
    sent = 0
    for path, rel in files:
        size = path.stat().st_size
        if want.folder and have.get(rel) == str(size):
            continue
        host.transport.put(path, f"{p}/data/{rel}" if rel else f"{p}/data")
        sent += size
    take = f'rm -rf "$P/data" && mv -T {q(p + "/data")} "$P/data" && rm -rf {q(p)}'
    res = host.transport.run(cache.store_command(host.work_root, want, take))
    stored = cache.parse_store(res, want, f"{where} (on {host.name})")
    if stored.cached:   # another runner stored it meanwhile: this inbox is not needed
        host.transport.run(f"rm -rf {q(p)}")
    return cache.Stored(stored.sha256, 0 if stored.cached else sent, stored.cached)


def _repo_source(ds: Dataset, root: Path) -> Path:
    """The dataset's path in the repository; nothing in it may lead out (a symlink)."""
    src = Path(root) / ds.location
    if not inside(src, Path(root)):
        raise StagingError(f"{ds.path}: {ds.location} leaves the repository (a symlink?)")
    for entry in src.rglob("*") if src.is_dir() else ():
        if not inside(entry, Path(root)):
            raise StagingError(f"{ds.path}: {entry.relative_to(root)} is a symlink that "
                               "leaves the repository")
    return src


def _copy_from_repo(ds: Dataset, root: Path, dest: Path) -> None:
    src = _repo_source(ds, root)
    if src.is_dir():
        shutil.copytree(src, dest, symlinks=False, dirs_exist_ok=True)
    elif src.is_file():
        shutil.copy2(src, dest)
    else:
        raise StagingError(f"{ds.path}: {ds.location} is not in the repository")
