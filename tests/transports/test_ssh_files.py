"""Files through the SSH transport's one SFTP client, against the real test sshd."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from runner.errors import TransportError
from runner.transports.ssh import SSHTransport

pytestmark = pytest.mark.integration


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_put_get_round_trip(ssh: SSHTransport, remote_dir: str, tmp_path: Path) -> None:
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(3_000_000))
    ssh.put(src, f"{remote_dir}/data.bin")
    assert ssh.run(f"sha256sum {remote_dir}/data.bin").stdout.split()[0] == sha256(src)
    back = tmp_path / "back.bin"
    ssh.get(f"{remote_dir}/data.bin", back)
    assert sha256(back) == sha256(src)
    assert ssh.run(f"ls -A {remote_dir}").stdout == "data.bin\n"  # no temporary left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["back.bin", "data.bin"]


def test_put_replaces_an_existing_file(ssh: SSHTransport, remote_dir: str,
                                       tmp_path: Path) -> None:
    src = tmp_path / "f.txt"
    for text in ("first\n", "second\n"):
        src.write_text(text)
        ssh.put(src, f"{remote_dir}/f.txt")
    assert ssh.run(f"cat {remote_dir}/f.txt").stdout == "second\n"


def test_names_with_spaces_and_quotes(ssh: SSHTransport, remote_dir: str,
                                      tmp_path: Path) -> None:
    src = tmp_path / "a b'c.txt"
    src.write_text("x")
    ssh.put(src, f"{remote_dir}/a b'c $(id).txt")
    assert ssh.exists(f"{remote_dir}/a b'c $(id).txt")


def test_exists(ssh: SSHTransport, remote_dir: str) -> None:
    ssh.run(f"touch {remote_dir}/f; ln -s {remote_dir}/nowhere {remote_dir}/dangling")
    assert ssh.exists(f"{remote_dir}/f") and ssh.exists(remote_dir)
    assert ssh.exists(f"{remote_dir}/dangling")
    assert not ssh.exists(f"{remote_dir}/missing")
    assert not ssh.exists(f"{remote_dir}/missing/deeper")


def test_put_into_a_missing_folder_fails_at_once(ssh: SSHTransport, remote_dir: str,
                                                 tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_text("x")
    with pytest.raises(TransportError, match="cannot put") as err:
        ssh.put(src, f"{remote_dir}/no/such/dir/f")
    assert err.value.transient is False


def test_put_of_a_missing_local_file_fails_at_once(ssh: SSHTransport, remote_dir: str,
                                                   tmp_path: Path) -> None:
    with pytest.raises(TransportError, match="No such file") as err:
        ssh.put(tmp_path / "missing", f"{remote_dir}/f")
    assert err.value.transient is False
    assert ssh.run(f"ls -A {remote_dir}").stdout == ""


def test_get_of_a_missing_file_leaves_nothing(ssh: SSHTransport, remote_dir: str,
                                              tmp_path: Path) -> None:
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(TransportError, match="cannot get") as err:
        ssh.get(f"{remote_dir}/missing", target)
    assert err.value.transient is False
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
