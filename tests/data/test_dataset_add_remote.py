"""`mso dataset add REMOTE:PATH` and `mso dataset add URL` against the real remotes, run as a
process: the remote's settings come from the RCLONE_CONFIG_* variables set and the entry names
them (a secret by its variable only); hashes and sizes match the data; wrong credentials are one
line naming the variable, with nothing written."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from runner.declarations import manifest, repository
from tests.conftest import mso
from tests.data.conftest import Remotes


def environment(remotes: Remotes, name: str) -> dict[str, str]:
    """The RCLONE_CONFIG_* variables a person would set to reach the remote."""
    return {var: os.environ[v["env"]] if isinstance(v, dict) else v
            for var, v in remotes.credentials[name].items()}


def fill(folder: Path, n: int = 3) -> dict[str, str]:
    (folder / "sub").mkdir()
    (folder / "big.bin").write_bytes(os.urandom(300_000))
    for i in range(n - 1):
        (folder / "sub" / f"{i}.txt").write_text(f"{i}\n")
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


def entry(repo: Path, name: str) -> dict:
    return yaml.safe_load((repo / "datasets" / f"{name}.yaml").read_text())


def nothing_holds(repo: Path, secret: str) -> None:
    for p in (repo / "datasets").rglob("*"):
        assert not p.is_file() or secret.encode() not in p.read_bytes(), p


@pytest.mark.parametrize("name", ["dav", "sftp", "lab"])
def test_a_remote_folder_gets_its_manifest_and_credentials(example: Path, remotes: Remotes,
                                                           name: str) -> None:
    disk = {"dav": remotes.webdav, "sftp": remotes.sftp, "lab": remotes.local}[name]
    want = fill(disk)
    where = f"{name}:{remotes.folder}/" if name == "dav" else f"{name}:{disk}/"
    env = environment(remotes, name)
    result = mso("dataset", "add", where, "--name", "far", repo=example, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    e = entry(example, "far")
    assert e["location"] == where and e["manifest"] == want
    assert e["size"] == sum(p.stat().st_size for p in disk.rglob("*") if p.is_file())
    for var, value in e["credentials"].items():
        key = var.removeprefix(f"RCLONE_CONFIG_{name.upper()}_")
        assert value == (env[var] if key in ("TYPE", "URL", "VENDOR", "HOST", "PORT")
                         else {"env": var}), var
    assert set(e["credentials"]) == set(env)
    nothing_holds(example, os.environ["MSO_TEST_DAV_PASS"])
    nothing_holds(example, remotes.password)
    repo = repository.load_valid(example)
    assert manifest.content_id(repo.datasets["far"]) == manifest.digest(want)


def test_a_remote_file_gets_its_sha256(example: Path, remotes: Remotes) -> None:
    (remotes.webdav / "one.json").write_text('{"a": 1}\n')
    result = mso("dataset", "add", f"dav:{remotes.folder}/one.json", "--name", "one", "--json",
                 repo=example, timeout=120, env=environment(remotes, "dav"))
    assert result.returncode == 0, result.stdout + result.stderr
    e = entry(example, "one")
    assert e["sha256"] == hashlib.sha256(b'{"a": 1}\n').hexdigest() and e["size"] == 9
    assert "manifest" not in e
    assert remotes.password not in result.stdout + result.stderr


def test_a_folder_named_without_its_slash_is_still_a_folder(example: Path,
                                                            remotes: Remotes) -> None:
    want = fill(remotes.http, 30)
    result = mso("dataset", "add", f"web:{remotes.folder}", "--name", "web-fields",
                 repo=example, timeout=120, env=environment(remotes, "web"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.endswith("manifest in datasets/web-fields.manifest\n")
    assert entry(example, "web-fields")["location"] == f"web:{remotes.folder}/"
    assert manifest.sidecar(example, "web-fields").read_text() == manifest.text(want)
    assert repository.load(example).errors == []


def test_an_http_url_is_hashed_as_it_streams(example: Path, remotes: Remotes) -> None:
    body = os.urandom(2_000_000)
    (remotes.http / "blob.bin").write_bytes(body)
    url = f"{remotes.http_url}/blob.bin"
    result = mso("dataset", "add", url, "--name", "blob", repo=example, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    e = entry(example, "blob")
    assert (e["location"], e["sha256"], e["size"]) == (url, hashlib.sha256(body).hexdigest(),
                                                       len(body))
    assert "credentials" not in e
    missing = mso("dataset", "add", f"{remotes.http_url}/nope.bin", "--name", "nope",
                  repo=example, timeout=120)
    assert missing.returncode == 1
    assert missing.stderr == f"mso: {remotes.http_url}/nope.bin: the server answered 404 Not " \
                             "Found\n"
    assert not (example / "datasets" / "nope.yaml").exists()


def test_wrong_credentials_name_the_variable_and_write_nothing(example: Path,
                                                               remotes: Remotes) -> None:
    (remotes.webdav / "one.json").write_text("{}\n")
    wrong = subprocess.run(["rclone", "obscure", "not-the-password"], capture_output=True,
                           text=True, check=True).stdout.strip()
    env = {**environment(remotes, "dav"), "RCLONE_CONFIG_DAV_PASS": wrong}
    result = mso("dataset", "add", f"dav:{remotes.folder}/one.json", "--name", "one",
                 repo=example, timeout=120, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    assert "refused the credentials" in line and "RCLONE_CONFIG_DAV_PASS" in line, line
    assert wrong not in line and remotes.password not in line
    assert not (example / "datasets" / "one.yaml").exists()


def test_a_missing_remote_path_is_one_line(example: Path, remotes: Remotes) -> None:
    result = mso("dataset", "add", f"dav:{remotes.folder}/nope", "--name", "nope",
                 repo=example, timeout=120, env=environment(remotes, "dav"))
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert "not found on the remote 'dav'" in line, line
    assert not (example / "datasets" / "nope.yaml").exists()


def test_force_reaches_the_remote_with_the_entrys_credentials(example: Path,
                                                              remotes: Remotes) -> None:
    want = fill(remotes.local)
    where = f"lab:{remotes.local}/"
    assert mso("dataset", "add", where, "--name", "near", repo=example, timeout=120,
               env=environment(remotes, "lab")).returncode == 0
    (remotes.local / "sub" / "0.txt").write_text("new\n")
    result = mso("dataset", "add", where, "--name", "near", "--force", repo=example, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    listed = entry(example, "near")["manifest"]
    assert listed == {**want, "sub/0.txt": hashlib.sha256(b"new\n").hexdigest()}
    assert entry(example, "near")["credentials"] == {"RCLONE_CONFIG_LAB_TYPE": "local"}
