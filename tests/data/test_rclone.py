"""runner/data/rclone.py against the real remotes: listings, hashes and copies on each, and the
one-line errors a user gets for wrong credentials, an unconfigured remote and a missing path."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from runner.data import rclone
from runner.declarations.construct import _credentials
from runner.errors import StagingError
from tests.data.conftest import PASS_VAR, Remotes


def settings(remotes: Remotes, name: str) -> rclone.Settings:
    return rclone.Settings(_credentials(remotes.credentials[name]), "datasets/x.yaml")


def fill(folder: Path) -> dict[str, str]:
    (folder / "sub").mkdir()
    (folder / "a.bin").write_bytes(os.urandom(70_000))
    (folder / "sub" / "b.txt").write_text("b\n")
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", ["dav", "web", "sftp", "lab"])
def test_every_remote_lists_hashes_and_copies(remotes: Remotes, name: str, tmp_path: Path) -> None:
    disk = {"dav": remotes.webdav, "web": remotes.http, "sftp": remotes.sftp,
            "lab": remotes.local}[name]
    want = fill(disk)
    where = f"{name}:{disk if name == 'lab' else remotes.folder}"
    if name == "sftp":
        where = f"sftp:{disk}"
    s = settings(remotes, name)
    assert sorted(e["Path"] for e in rclone.lsjson(where, s)) == sorted(want)
    assert rclone.sha256sums(where, s) == want
    rclone.copy(where, str(tmp_path / "got"), s, file=False)
    got = {p.relative_to(tmp_path / "got").as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
           for p in (tmp_path / "got").rglob("*") if p.is_file()}
    assert got == want


def test_wrong_credentials_name_the_variable_and_hide_the_secret(
        remotes: Remotes, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fill(remotes.webdav)
    canary = "canary-" + os.urandom(6).hex()
    wrong = subprocess.run(["rclone", "obscure", "-"], input=canary, capture_output=True,
                           text=True, check=True).stdout.strip()
    monkeypatch.setenv(PASS_VAR, wrong)
    s = settings(remotes, "dav")
    for attempt in (lambda: rclone.lsjson(f"dav:{remotes.folder}", s),
                    lambda: rclone.copy(f"dav:{remotes.folder}", str(tmp_path / "x"), s, file=False)):
        with pytest.raises(StagingError) as info:
            attempt()
        text = str(info.value)
        assert "\n" not in text and "refused the credentials" in text
        assert f"RCLONE_CONFIG_DAV_PASS (from ${PASS_VAR})" in text
        assert canary not in text and wrong not in text


def test_an_unset_secret_is_named(remotes: Remotes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASS_VAR)
    with pytest.raises(StagingError, match=f"credentials.RCLONE_CONFIG_DAV_PASS needs the "
                                           f"environment variable {PASS_VAR}, which is not set"):
        rclone.lsjson(f"dav:{remotes.folder}", settings(remotes, "dav"))


def test_an_unconfigured_remote_and_a_missing_path_say_so(remotes: Remotes) -> None:
    s = settings(remotes, "dav")
    assert not s.configures("nope") and s.configures("dav")
    with pytest.raises(StagingError, match="the rclone remote 'nope' is not configured: give its "
                                           "RCLONE_CONFIG_NOPE_TYPE"):
        rclone.lsjson("nope:x", s)
    with pytest.raises(StagingError, match="not found on the remote 'dav'"):
        rclone.lsjson(f"dav:{remotes.folder}/missing", s)


def test_a_host_command_takes_the_settings_on_stdin(remotes: Remotes) -> None:
    """What the direct route runs on a host: the secret never on the command line; run here by
    bash as a host would, it lists the folder."""
    fill(remotes.webdav)
    text, stdin = rclone.host_command(["lsf", "-R", f"dav:{remotes.folder}"],
                                      settings(remotes, "dav"))
    secret = os.environ[PASS_VAR]
    assert secret not in text and f"RCLONE_CONFIG_DAV_PASS={secret}\n" in stdin
    proc = subprocess.run(["bash", "-c", text], input=stdin, capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"]})
    assert proc.returncode == 0, proc.stderr
    assert sorted(proc.stdout.split()) == ["a.bin", "sub/", "sub/b.txt"]


def test_progress_lines_say_share_rate_and_time_left() -> None:
    lines: list[str] = []
    report = rclone.Reporter("big.h5", out=lines.append, every=0)
    report({"sent": 512 << 20, "total": 1 << 30, "transfer_speed": 64 << 20})
    assert lines == ["  moving big.h5: 50% of 1.0 GiB, 64.0 MiB/s, 8 s left"]
