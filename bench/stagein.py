#!/usr/bin/env python3
"""Stage-in of a 1 GiB dataset from the WebDAV remote onto the test cluster, `data_access:
direct` (rclone runs on the cluster's host through mso's ssh transport), verified there.

The dataset (random bytes) is made once in the WebDAV server's folder and reused by later runs
of this bench. Every figure comes from the same run of the bench, on fresh work roots:

- stagein_ratio: mso's figure is the stage-in's own `seconds` in run.json's `staged` (taken
  around the one command that locks, runs rclone, checks sha256sum, makes the entry read-only
  and moves it in place; the job that then reads the data is not in it). The reference is the
  same work done by hand on the same route: as the cluster user over ssh, `rclone copyto` into
  a fresh folder, then `sha256sum`, timed inside that shell (no ssh connect in it). One untimed
  copy by hand first warms the server's page cache for both.
- a second run of the same experiment (`mso run --force`): the bytes it moved (goal 0);
- a 100-task sweep that reads the dataset, on a fresh work root: the transfers it made (goal 1).

    .venv/bin/python bench/stagein.py
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

from common import ROOT, cluster, mso, repository

SIZE = 1 << 30
APP = """name: reads
version: "1"
description: Checks that its input is there.
command: ["test", "-s", "{inputs.a}", "-a", "{i}", "-ge", "0"]
parameters: {type: object, properties: {i: {type: integer}}}
inputs: {a: {description: the dataset}}
"""
EXPERIMENT = ("name: bench\napplication: reads\ninfrastructure: cluster\nmatrix: {{i: {points}}}\n"
              "inputs: {{a: big}}\n")


def facts() -> dict[str, str]:
    env = cluster()
    subprocess.run([str(ROOT / ".ci/services/data-up")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {**env, **dict(ln.split("=", 1) for ln in
                          Path("/var/lib/mso-test/env").read_text().splitlines() if "=" in ln)}


def dataset(env: dict[str, str]) -> str:
    """The 1 GiB file on the WebDAV remote (made once, with its sha256 beside it)."""
    folder = Path(env["MSO_TEST_WEBDAV_DIR"]) / "bench-stagein"
    data, digest = folder / "one-gib.bin", folder / "one-gib.sha256"
    if data.exists() and data.stat().st_size == SIZE and digest.exists():
        return digest.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    with open(data.with_suffix(".tmp"), "wb") as fh:
        for _ in range(SIZE >> 24):
            chunk = os.urandom(1 << 24)
            h.update(chunk)
            fh.write(chunk)
    os.replace(data.with_suffix(".tmp"), data)
    digest.write_text(h.hexdigest() + "\n")
    return h.hexdigest()


def write_repo(root: Path, env: dict[str, str], sha: str, points: int, work: str) -> dict:
    menv = repository(root, env, APP, EXPERIMENT.format(points=list(range(points))))
    infra = root / "infrastructures" / "cluster.yaml"
    infra.write_text(infra.read_text().replace("work_root: mso-bench", f"work_root: {work}")
                     + "data_access: direct\n")
    (root / "datasets" / "big.yaml").write_text(
        f"name: big\ndescription: 1 GiB of random bytes\nlocation: dav:bench-stagein/one-gib.bin\n"
        f"sha256: {sha}\nsize: {SIZE}\ncredentials:\n  RCLONE_CONFIG_DAV_TYPE: webdav\n"
        f"  RCLONE_CONFIG_DAV_URL: {env['MSO_TEST_WEBDAV_URL']}\n  RCLONE_CONFIG_DAV_VENDOR: other\n"
        f"  RCLONE_CONFIG_DAV_USER: {env['MSO_TEST_WEBDAV_USER']}\n"
        "  RCLONE_CONFIG_DAV_PASS: {env: BENCH_DAV_PASS}\n")
    return {**menv, "BENCH_DAV_PASS": obscured(env)}


def obscured(env: dict[str, str]) -> str:
    password = Path(env["MSO_TEST_WEBDAV_PASSWORD_FILE"]).read_text().strip()
    return subprocess.run(["rclone", "obscure", "-"], input=password, capture_output=True,
                          text=True, check=True).stdout.strip()


def ssh(env: dict[str, str], command: str, stdin: str = "") -> str:
    proc = subprocess.run(["ssh", "-i", env["MSO_TEST_SSH_KEY_FILE"], "-p", env["MSO_TEST_SSH_PORT"],
                           "-o", f"UserKnownHostsFile={env['MSO_TEST_KNOWN_HOSTS_FILE']}",
                           "-o", "BatchMode=yes", f"{env['MSO_TEST_SSH_USER']}@{env['MSO_TEST_SSH_HOST']}",
                           command], input=stdin, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"ssh {command[:80]!r} failed: {proc.stderr[-2000:]}")
    return proc.stdout


def by_hand(env: dict[str, str], sha: str) -> float:
    """rclone copyto + sha256sum as the cluster user, into a fresh folder: seconds (in-shell)."""
    script = (
        'IFS= read -r p && export RCLONE_CONFIG_DAV_PASS="$p" RCLONE_CONFIG_DAV_TYPE=webdav '
        f"RCLONE_CONFIG_DAV_URL={env['MSO_TEST_WEBDAV_URL']} RCLONE_CONFIG_DAV_VENDOR=other "
        f"RCLONE_CONFIG_DAV_USER={env['MSO_TEST_WEBDAV_USER']} && d=$(mktemp -d ~/bench-hand.XXXX) "
        "&& t0=$(date +%s.%N) && rclone --config /dev/null copyto dav:bench-stagein/one-gib.bin "
        '"$d/f" && s=$(sha256sum "$d/f") && t1=$(date +%s.%N) && rm -rf "$d" && '
        'echo "${s%% *} $t0 $t1"')
    got, t0, t1 = ssh(env, script, obscured(env) + "\n").split()
    if got != sha:
        raise SystemExit(f"by hand: sha256 {got}, expected {sha}")
    return float(t1) - float(t0)


def run(root: Path, menv: dict, *args: str) -> dict:
    proc = mso(root, menv, "run", "bench", *args)
    _, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"mso run failed ({proc.returncode}):\n{err[-3000:]}")
    records = sorted((root / "results" / "bench").glob("*/run.json"))
    return json.loads(records[-1].read_text())


def main() -> None:
    env = facts()
    sha = dataset(env)
    work = f"mso-bench-stagein-{os.getpid()}"
    try:
        by_hand(env, sha)   # warms the server's page cache
        with tempfile.TemporaryDirectory() as tmp:
            menv = write_repo(Path(tmp), env, sha, 1, work)
            first = run(Path(tmp), menv)["staged"]["cluster"]["big"]
            hand = by_hand(env, sha)
            second = run(Path(tmp), menv, "--force")["staged"]["cluster"]
        with tempfile.TemporaryDirectory() as tmp:
            menv = write_repo(Path(tmp), env, sha, 100, work + "-sweep")
            sweep = run(Path(tmp), menv)["staged"]["cluster"]
    finally:
        ssh(env, f"rm -rf ~/{work} ~/{work}-sweep")
    assert first["route"] == "direct" and first["sha256"] == sha, first
    print(f"first run: {first['bytes']} bytes moved directly in {first['seconds']:.2f} s, verified")
    print(f"by hand (rclone copyto + sha256sum, same route): {hand:.2f} s")
    print(f"second run: {sum(e['bytes'] for e in second.values())} bytes moved (goal 0)")
    print(f"100-task sweep: {sum(e['route'] != 'cached' for e in sweep.values())} transfer(s) "
          "(goal 1)")
    print(f"stagein_ratio = {first['seconds'] / hand:.2f} (goal <= 1.3)")


if __name__ == "__main__":
    main()
