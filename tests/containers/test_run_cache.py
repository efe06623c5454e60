"""The image cache's fetch command run for real by bash on this machine (flock, mv, kill), with a
runtime whose "pull" is a slow copy: one pull per digest whoever asks, an interrupted pull leaves
no entry, a missing tool is one line. (The real Charliecloud pull on the test cluster, killed
mid-way too, is in tests/cluster/test_containers.py.)"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from runner.containers import cache, runtime
from runner.containers.reference import parse
from runner.errors import ContainerError
from runner.transports.local import LocalTransport

DIGEST = "sha256:" + "cd" * 32
REF = parse("registry.example.org/lab/app:1").with_digest(DIGEST)


class SlowCopy(runtime.Charliecloud):
    """A "runtime" whose pull writes 20 files 0.05 s apart, counting its pulls in a
    ledger and saving the credentials its environment was given (to show how they arrive)."""

    name, tools = "slowcopy", ("bash", "mkdir")

    def __init__(self, ledger: Path, tools: tuple[str, ...] = ("bash", "mkdir"), fail: bool = False):
        self.ledger, self.tools, self.fail = ledger, tools, fail

    def pull(self, pinned, dest, scratch, auth, sif=False):
        q = shlex.quote
        creds = f'PW="${runtime.PASSWORD_VAR}" ' if auth else ""
        if self.fail:
            return "echo 'layer 3: connection reset' >&2; false"
        return (f"echo pull >> {q(str(self.ledger))} && mkdir {q(dest)} && {creds}bash -c "
                + q(f'echo "$PW" > {q(dest)}/delivered; for i in $(seq 20); do echo $i > '
                    f'{q(dest)}/layer$i; sleep 0.05; done'))


def fetch(tmp: Path, rt: runtime.Runtime, creds=None) -> cache.Fetched:
    return cache.fetch(LocalTransport(), str(tmp / "root"), rt, REF, "infrastructure 'here'",
                       creds=creds, mount_points=("/work",))


def pulls(ledger: Path) -> int:
    return len(ledger.read_text().splitlines()) if ledger.exists() else 0


def test_one_pull_then_the_cache(tmp_path: Path) -> None:
    rt = SlowCopy(tmp_path / "ledger")
    first, second = fetch(tmp_path, rt), fetch(tmp_path, rt)
    assert first.pulled and not second.pulled and first.path == second.path
    entry = Path(first.path)
    assert entry == tmp_path / "root" / ".images" / ("cd" * 32)
    assert len(list(entry.glob("layer*"))) == 20 and (entry / "work").is_dir()   # a mount point
    assert pulls(tmp_path / "ledger") == 1
    assert not list(entry.parent.glob("*.part")), "the scratch folder is removed"


def test_runners_asking_at_once_pull_once(tmp_path: Path) -> None:
    rt = SlowCopy(tmp_path / "ledger")
    results: list[cache.Fetched] = []
    threads = [threading.Thread(target=lambda: results.append(fetch(tmp_path, rt)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert pulls(tmp_path / "ledger") == 1
    assert sorted(r.pulled for r in results) == [False, False, False, True]


def test_an_interrupted_pull_leaves_no_entry_and_the_next_fetch_pulls_whole(tmp_path: Path) -> None:
    rt = SlowCopy(tmp_path / "ledger")
    root = str(tmp_path / "root")
    cmd = cache.fetch_command(root, rt, REF, auth=False)
    proc = subprocess.Popen(["bash", "-c", cmd], stdin=subprocess.DEVNULL, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    part = Path(root) / ".images" / f"{'cd' * 32}.part" / "image"
    deadline = time.monotonic() + 10
    while not (part / "layer3").exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the pull never started"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)   # the process group this test started, mid-pull
    proc.wait()
    entry = Path(cache.entry_path(root, rt, DIGEST))
    assert not entry.exists() and part.exists(), "half an image, and only under .part"
    again = fetch(tmp_path, rt)
    assert again.pulled and len(list(entry.glob("layer*"))) == 20
    assert not part.parent.exists() and pulls(tmp_path / "ledger") == 2


def test_credentials_arrive_on_stdin_never_on_the_command_line(tmp_path: Path) -> None:
    secret = "s3cret-registry-pw"
    seen: list[str] = []

    class Recording(LocalTransport):
        def run(self, cmd, timeout=None, stdin=None, on_stderr=None):
            seen.append(cmd)
            return super().run(cmd, timeout, stdin, on_stderr=on_stderr)

    rt = SlowCopy(tmp_path / "ledger")
    got = cache.fetch(Recording(), str(tmp_path / "root"), rt, REF, "here", creds=("u", secret))
    assert (Path(got.path) / "delivered").read_text().strip() == secret
    assert seen and all(secret not in c for c in seen)


def test_a_missing_tool_is_one_line(tmp_path: Path) -> None:
    rt = SlowCopy(tmp_path / "ledger", tools=("bash", "mso-no-such-runtime"))
    with pytest.raises(ContainerError) as err:
        fetch(tmp_path, rt)
    assert str(err.value) == ("infrastructure 'here': mso-no-such-runtime is not found there, so "
                              "it cannot run images (install the runtime, or name its module "
                              "under `modules:`)")
    assert not (tmp_path / "root" / ".images").exists(), "found before anything is made"


def test_a_failed_pull_says_why_and_leaves_nothing(tmp_path: Path) -> None:
    rt = SlowCopy(tmp_path / "ledger", fail=True)
    with pytest.raises(ContainerError, match="(?s)failed \\(exit code 1\\).*connection reset"):
        fetch(tmp_path, rt, creds=("u", "pw-in-no-message"))
    assert [p.name for p in (tmp_path / "root" / ".images").iterdir()] == [f"{'cd' * 32}.lock"]
