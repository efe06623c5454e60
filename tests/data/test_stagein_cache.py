"""The host's data cache command, run by bash on this machine (the same text goes to a cluster
through ssh): an entry appears whole or not at all, once, verified; a folder's part resumes, a
file's restarts; the parser names both hashes on a mismatch."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from runner.data import cache
from runner.errors import StagingError
from runner.transports.local import LocalTransport

FILES = {"a.txt": b"alpha\n", "sub/b.bin": b"\0beta"}


def _manifest(files: dict[str, bytes]) -> str:
    return "".join(f"{hashlib.sha256(d).hexdigest()}  {p}\n" for p, d in sorted(files.items()))


def _folder_want(files: dict[str, bytes] = FILES) -> cache.Want:
    text = _manifest(files)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return cache.Want(digest, digest, True, text, "dataset tree")


def _source(tmp_path: Path, files: dict[str, bytes] = FILES) -> Path:
    src = tmp_path / "src"
    for rel, data in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)
    return src


def _copy_missing(src: Path, log: Path) -> str:
    """A fill that copies only the files the part lacks (as rclone copy does), logging each."""
    return (f'cd {src} && for f in $(find . -type f); do [ -e "$P/data/$f" ] || '
            f'{{ mkdir -p "$P/data/$(dirname $f)" && cp $f "$P/data/$f" && echo $f >> {log}; }}; '
            "done")


def test_a_folder_entry_is_verified_read_only_and_listed(tmp_path: Path) -> None:
    want, src, t = _folder_want(), _source(tmp_path), LocalTransport()
    res = t.run(cache.store_command(str(tmp_path / "w"), want, _copy_missing(src, tmp_path / "log")))
    stored = cache.parse_store(res, want, "here")
    entry = Path(cache.entry(str(tmp_path / "w"), want.expect))
    assert stored == cache.Stored(want.expect, 11, False)
    assert (entry / "sub" / "b.bin").read_bytes() == b"\0beta"
    assert not (entry / "a.txt").stat().st_mode & 0o222 and (entry / "sub").stat().st_mode & 0o200
    assert not list((tmp_path / "w" / ".cache" / "sha256").glob("*.part"))
    text, stdin = cache.present_command(str(tmp_path / "w"), [want.expect, "f" * 64])
    assert cache.parse_present(t.run(text, stdin=stdin), [want.expect, "f" * 64]) == {want.expect}
    again = cache.parse_store(t.run(cache.store_command(str(tmp_path / "w"), want, "false")),
                              want, "here")
    assert again == cache.Stored(want.expect, 0, True), "there already: the fill never runs"


def test_a_folder_part_is_resumed_and_a_file_part_restarts(tmp_path: Path) -> None:
    want, src, t = _folder_want(), _source(tmp_path), LocalTransport()
    work = str(tmp_path / "w")
    part = Path(cache.part(work, want.key)) / "data"
    part.mkdir(parents=True)
    (part / "a.txt").write_bytes(b"alpha\n")         # complete before an interruption
    log = tmp_path / "log"
    cache.parse_store(t.run(cache.store_command(work, want, _copy_missing(src, log))), want, "x")
    assert log.read_text().split() == ["./sub/b.bin"], "only what was missing moved"

    data = b"x" * 1000
    fwant = cache.Want(hashlib.sha256(data).hexdigest(), hashlib.sha256(data).hexdigest(), False)
    fpart = Path(cache.part(work, fwant.key))
    fpart.mkdir()
    (fpart / "data").write_bytes(b"x" * 10)            # cut short
    (tmp_path / "f").write_bytes(data)
    res = t.run(cache.store_command(work, fwant, f'cat {tmp_path / "f"} >> "$P/data"'))
    assert cache.parse_store(res, fwant, "x").bytes == 1000 and not fpart.exists()


def test_a_mismatch_removes_the_part_and_names_both_hashes(tmp_path: Path) -> None:
    want = _folder_want()
    src = _source(tmp_path, {**FILES, "a.txt": b"alphA\n"})
    res = LocalTransport().run(cache.store_command(str(tmp_path / "w"), want,
                                                   _copy_missing(src, tmp_path / "log")))
    got = hashlib.sha256(_manifest({**FILES, "a.txt": b"alphA\n"}).encode()).hexdigest()
    with pytest.raises(StagingError) as caught:
        cache.parse_store(res, want, "datasets/tree.yaml (on box)")
    said = str(caught.value)
    assert want.expect in said and got in said and "dataset tree" in said and "a.txt" in said
    assert not [p for p in (tmp_path / "w" / ".cache" / "sha256").iterdir()
                if not p.name.endswith(".lock")], "no entry, no part"


def test_two_runners_move_a_dataset_once(tmp_path: Path) -> None:
    data = b"y" * 5000
    digest = hashlib.sha256(data).hexdigest()
    want = cache.Want(digest, digest, False)
    (tmp_path / "f").write_bytes(data)
    fill = f'sleep 0.5 && echo moved >> {tmp_path / "log"} && cp {tmp_path / "f"} "$P/data"'
    results = []

    def one() -> None:
        res = LocalTransport().run(cache.store_command(str(tmp_path / "w"), want, fill))
        results.append(cache.parse_store(res, want, "x"))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert (tmp_path / "log").read_text() == "moved\n"
    assert sorted(r.cached for r in results) == [False, True]


def test_two_runners_relaying_the_same_data_at_once_both_get_it_verified(tmp_path: Path) -> None:
    """Each runner uploads into its own inbox (its machine and cache name it), and the store
    command takes one under the lock: the other finds the entry there and removes its inbox."""
    from runner.data import stagein
    want = _folder_want()
    host = stagein.Host("here", str(tmp_path / "w"), LocalTransport(), "relayed")
    sources = [_source(tmp_path / f"runner{i}") for i in range(2)]
    results: list = []
    threads = [threading.Thread(target=lambda s=s: results.append(
        stagein._relay(s, want, host, "datasets/tree.yaml"))) for s in sources]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(r.cached for r in results) == [False, True]
    assert {r.sha256 for r in results} == {want.expect}
    entry = Path(cache.entry(host.work_root, want.expect))
    assert (entry / "a.txt").read_bytes() == b"alpha\n"
    # nothing is left beside the entry: no part, no inbox
    assert sorted(p.name for p in entry.parent.iterdir() if not p.name.endswith(".lock")) == \
        [want.expect]
