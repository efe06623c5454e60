"""Runs through slurmrestd, for real: the test cluster's slurmrestd (auth/jwt, started by
.ci/services/cluster-up) submits, watches and cancels; files still go over the test sshd. A
counting proxy in front of slurmrestd shows what each poll asks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
import requests

from tests.cluster.test_slurm_runs import _chain, _sacct, _start, _wait
from tests.cluster.test_ssh_runs import _experiment, _record
from tests.conftest import ROOT, mso, unavailable

pytestmark = pytest.mark.integration

PIDFILE = Path("/var/lib/mso-test/started/slurmrestd.pid")


def token(lifespan: int = 900) -> str:
    out = subprocess.run(["scontrol", "token", "username=msotest", f"lifespan={lifespan}"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().split("=", 1)[1]


def declare(repo: Path, url: str) -> None:
    """A `rest` infrastructure: the cluster's declaration plus `api`."""
    text = (repo / "infrastructures" / "cluster.yaml").read_text().replace("name: cluster", "name: rest")
    (repo / "infrastructures" / "rest.yaml").write_text(
        text + f"api: {{url: '{url}', token: {{env: MSO_TEST_SLURM_JWT}}}}\n")


@pytest.fixture
def rest(slurm: Path, cluster_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    if "MSO_TEST_SLURMRESTD_URL" not in cluster_env:
        unavailable("the test cluster has no slurmrestd (run .ci/services/cluster-up)")
    monkeypatch.setenv("MSO_TEST_SLURM_JWT", token())
    declare(slurm, cluster_env["MSO_TEST_SLURMRESTD_URL"])
    return slurm


class Counting(BaseHTTPRequestHandler):
    """Forwards each request to slurmrestd and counts it by method and path."""

    target, url, seen = "", "", Counter()   # slurmrestd's address, the proxy's, the counts

    def _forward(self) -> None:
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        self.seen[(self.command, self.path.split("?")[0])] += 1
        headers = {k: v for k, v in self.headers.items() if k.lower().startswith(("x-slurm", "content-type"))}
        resp = requests.request(self.command, self.target + self.path, headers=headers, data=data, timeout=120)
        self.send_response(resp.status_code)
        self.send_header("Content-Type", resp.headers.get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(resp.content)))
        self.end_headers()
        self.wfile.write(resp.content)

    do_GET = do_POST = do_DELETE = _forward

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy(cluster_env: dict[str, str]) -> Iterator[Counter]:
    Counting.target, Counting.seen = cluster_env["MSO_TEST_SLURMRESTD_URL"], Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Counting.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield Counting.seen
    server.shutdown()


def _squeue() -> str:
    """The test user's jobs slurmctld shows: `ID NAME` lines."""
    return subprocess.run(["squeue", "-h", "-o", "%i %j", "-u", "msotest"], capture_output=True,
                          text=True).stdout


def test_a_sweep_through_slurmrestd_is_one_request_per_poll(rest: Path, proxy: Counter) -> None:
    declare(rest, Counting.url)
    ledger = _experiment(rest, "rsweep", "rest", [f"p{i}" for i in range(6)], sleep=2)
    proc = mso("run", "--json", "rsweep", repo=rest, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rec = _record(rest, "rsweep")
    assert rec["state"] == "succeeded"
    assert Counter(ledger.read_text().split()) == {f"p{i}": 1 for i in range(6)}
    assert len({t["job_id"].split("_")[0] for t in rec["tasks"]}) == 1, "one array"
    stats = json.loads(proc.stdout)["stats"]
    assert proxy[("POST", "/slurm/v0.0.38/job/submit")] == 1
    # every poll is one GET of slurmctld's list (of the run's one array); slurmdbd is asked
    # once, by the check at connect (every job was still listed); no status command over SSH
    array = rec["tasks"][0]["job_id"].split("_")[0]
    assert proxy[("GET", f"/slurm/v0.0.38/job/{array}")] == stats["status_queries"] >= 1, (stats, proxy)
    assert sum(n for (method, _), n in proxy.items() if method == "GET") == stats["status_queries"] + 2
    assert proxy[("GET", "/slurmdb/v0.0.38/jobs")] == proxy[("GET", "/slurm/v0.0.38/ping")] == 1, proxy
    assert stats["status_commands"] == 0, stats
    for t in rec["tasks"]:
        assert t["exit_code"] == 0 and t["outputs"][0]["path"] == "out.txt"


def test_mso_cancel_through_slurmrestd(rest: Path) -> None:
    ledger = _experiment(rest, "rcancel", "rest", ["a", "b", "c"], sleep=600)
    proc = _start(rest, "rcancel")
    try:
        _wait(lambda: ledger.exists() and len(ledger.read_text().split()) == 3, 120)
        run_id = _record(rest, "rcancel")["run_id"]
        assert f"mso.{run_id}." in _squeue()
        done = mso("cancel", "rcancel", repo=rest)
        assert done.returncode == 0, done.stderr
        _wait(lambda: f"mso.{run_id}." not in _squeue(), 30)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    def cancelled() -> int:   # slurmdbd hears of it a little after slurmctld
        return _sacct(["-o", "State", "--name", f"mso.{run_id}.main", "-S", "now-1hour"]).count("CANCELLED")
    _wait(lambda: cancelled() == 3, 60)
    assert _record(rest, "rcancel")["state"] == "cancelled"


def test_steps_wait_in_the_queue_through_slurmrestd(rest: Path) -> None:
    """The second step is submitted with its dependency (aftercorr) while the first runs; what
    waits for a failed task is cancelled by Slurm; status then covers two arrays."""
    exp = rest / "experiments" / "rchain.yaml"
    _chain(rest, "rchain", "ok, bad")
    exp.write_text(exp.read_text().replace("infrastructure: cluster", "infrastructure: rest"))
    proc = mso("run", "rchain", repo=rest, timeout=300)
    assert proc.returncode == 2, proc.stderr
    by_label = {(t["step"], t["parameters"]["label"]): t for t in _record(rest, "rchain")["tasks"]}
    assert by_label[("simulate", "bad")]["state"] == "failed"
    assert by_label[("post", "bad")]["state"] == "cancelled"
    assert by_label[("post", "ok")]["state"] == "succeeded"
    assert by_label[("post", "ok")]["submitted"] < by_label[("simulate", "ok")]["ended"]
    folder = rest / "results" / "rchain" / _record(rest, "rchain")["run_id"]
    assert (folder / by_label[("post", "ok")]["id"] / "out.txt").read_text() == "ok+ok\n"


def _restart_slurmrestd() -> None:
    subprocess.run([str(ROOT / ".ci/services/cluster-up")], check=True, capture_output=True)
    _wait(lambda: requests.get("http://127.0.0.1:6820/openapi/v3", timeout=5).status_code in (200, 401), 60)


def test_slurmrestd_restarted_mid_watch(rest: Path) -> None:
    ledger = _experiment(rest, "rrestart", "rest", ["a", "b", "c", "d"], sleep=10)
    proc = _start(rest, "rrestart")
    try:
        _wait(lambda: ledger.exists() and len(ledger.read_text().split()) == 4, 120)
        os.kill(int(PIDFILE.read_text().split()[0]), signal.SIGTERM)
        time.sleep(8)   # polls meet a refused connection: the run pauses (or a retry outlives it)
    finally:
        _restart_slurmrestd()
    _, err = proc.communicate(timeout=240)
    if _record(rest, "rrestart")["state"] != "succeeded":
        assert "slurmrestd" in err and "unreachable" in err, err
        again = mso("run", "rrestart", repo=rest, timeout=240)
        assert again.returncode == 0, again.stderr
    rec = _record(rest, "rrestart")
    assert rec["state"] == "succeeded"
    assert Counter(ledger.read_text().split()) == {x: 1 for x in "abcd"}, "every task ran once"
    ran = _sacct(["-o", "JobID", "--name", f"mso.{rec['run_id']}.main", "-S", "now-1hour"]).split()
    assert len(ran) == len(set(ran)) == 4, f"one job per task, none submitted twice: {ran}"


def _expired() -> str:
    old = token(lifespan=1)
    time.sleep(2)
    return old


@pytest.mark.parametrize("bad", ["expired", "refused"])
def test_a_bad_token_fails_at_once_and_is_never_written(rest: Path, bad: str, monkeypatch) -> None:
    value = _expired() if bad == "expired" else token()[:-6] + "AAAAAA"   # a signature slurm refuses
    monkeypatch.setenv("MSO_TEST_SLURM_JWT", value)
    _experiment(rest, "rtoken", "rest", ["t"])
    t0 = time.monotonic()
    proc = mso("run", "rtoken", repo=rest, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert time.monotonic() - t0 < 60, "fails at once, does not wait"
    assert "scontrol token username=msotest lifespan=" in proc.stderr and "$MSO_TEST_SLURM_JWT" in proc.stderr
    assert "Traceback" not in proc.stderr
    secret = value.split(".")[2]
    assert secret not in proc.stdout + proc.stderr
    for path in rest.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert secret.encode() not in path.read_bytes(), f"the token is in {path}"
