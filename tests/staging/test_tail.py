"""Reading a growing log through a real (local) transport: only new bytes, UTF-8 and secrets
split across reads come out whole and masked."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from runner.secrets import MASK, Secrets
from runner.staging import tail
from runner.staging.tail import Tail, mask_partial, safe_cut
from runner.transports.local import LocalTransport

SECRET = "hunter2-the-secret"
SECRETS = Secrets(frozenset({"S"}), {"S": SECRET})


def _tail(tmp_path: Path) -> tuple[Tail, Path]:
    work = tmp_path / "work dir; $(touch pwned)"   # quoted, never run
    (work / ".mso").mkdir(parents=True)
    return Tail(LocalTransport(), PurePosixPath(work), ".mso/stdout", SECRETS), work / ".mso/stdout"


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


def test_reads_only_what_was_added_and_masks_across_reads(tmp_path: Path) -> None:
    reader, log = _tail(tmp_path)
    assert reader.read() == ""                     # not written yet
    _append(log, b"first line\n")
    assert reader.read() == "first line\n"
    _append(log, b"token " + SECRET[:7].encode())  # half a secret so far
    first = reader.read()
    _append(log, SECRET[7:].encode() + b" end \xc3")
    second = reader.read()
    _append(log, b"\xa9\n")                        # the rest of an 'é'
    third = reader.read() + reader.rest(complete=True)
    assert first + second + third == f"token {MASK} end é\n"
    assert SECRET[:3] not in first + second
    assert reader.shown == len("first line\n") + len(first + second + third)
    assert not (tmp_path / "pwned").exists()


def test_big_files_come_in_chunks(tmp_path: Path, monkeypatch) -> None:
    reader, log = _tail(tmp_path)
    log.write_bytes(b"x" * 10_000 + b"\n")
    monkeypatch.setattr(tail, "CHUNK", 999)
    got = reader.read() + reader.rest(complete=True)
    assert got == "x" * 10_000 + "\n" and reader.offset == 10_001


def test_a_missing_work_dir_is_gone(tmp_path: Path) -> None:
    reader = Tail(LocalTransport(), PurePosixPath(tmp_path / "nope"), ".mso/stdout", SECRETS)
    assert reader.read() is None


def test_safe_cut_never_splits_a_secret() -> None:
    assert safe_cut("abc", []) == 3
    text = "xx" + SECRET + "yy"
    assert safe_cut(text, [SECRET]) == len(text)
    assert safe_cut("a" + SECRET[:5], [SECRET]) == 1             # held: it may go on
    assert safe_cut("a" + SECRET[:5] + "x", [SECRET]) == 7        # it did not
    # a secret whose end is its beginning again: the cut goes before the whole secret
    assert safe_cut("xabab", ["abab"]) == 1
    assert safe_cut("xababa", ["abab"]) == 1
    assert safe_cut("x" + "ab" * 3, ["ababab", "ba"]) == 1


def test_mask_partial_masks_a_secret_s_beginning_at_the_end() -> None:
    assert mask_partial("token " + SECRET[:5], [SECRET]) == "token " + MASK
    assert mask_partial("token hu", [SECRET]) == "token hu"     # too short to tell
    assert mask_partial("plain", [SECRET]) == "plain"


def test_a_truncated_or_replaced_log_is_read_again_from_its_start(tmp_path: Path) -> None:
    """The same reading as the watcher's live tail (runner/staging/live.py)."""
    reader, log = _tail(tmp_path)
    log.write_bytes(b"one\ntwo\n")
    assert reader.read() == "one\ntwo\n"
    log.write_bytes(b"3\n")                        # truncated, then written again
    assert reader.read() == "3\n"
    log.rename(log.with_name("stdout.1"))
    log.write_bytes(b"fresh\n")                    # rotated: a new file under the name
    assert reader.read() == "fresh\n"
