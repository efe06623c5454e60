"""Runs on an `openstack` infrastructure through mso, against the stand-in cloud (each server a
real sshd on 127.0.0.1 with a home of its own): servers made per run and deleted after, kept
warm and taken again, never leaked by a killed runner, and one clear line for what a cloud
refuses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.cloud.openstack_standin import Cloud, new_keypair
from tests.cluster.conftest import slurm  # noqa: F401 (the fixture, for the hybrid run)
from tests.cluster.test_ssh_runs import _experiment, _ledger, _record
from tests.conftest import COUNTER_PY, ROOT, mso

pytestmark = pytest.mark.integration

CLOUD = """\
name: cloud
kind: openstack
user: {user}
key: {{env: MSO_CLOUD_KEY}}
work_root: mso-work
poll_interval: {{min: 0.2, max: 1}}
openstack:
  cloud: standin
  image: {image}
  flavor: m1.medium
  network: private
  key_pair: mso
{extra}"""


def with_cloud(repo: Path, cloud: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
               extra: str = "boot_timeout: 20s", image: str = "debian-12") -> Path:
    """The repository with `cloud`, an openstack infrastructure on the stand-in: its key pair
    made for the test, its clouds.yaml entry found through OS_CLIENT_CONFIG_FILE."""
    keys = new_keypair()
    cloud.add_keypair("mso", keys.public)
    key_file = tmp_path / "cloud-key"
    key_file.write_text(keys.private)
    key_file.chmod(0o600)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(cloud.write_clouds_yaml(tmp_path / "clouds.yaml")))
    monkeypatch.setenv("MSO_CLOUD_KEY", str(key_file))
    (repo / "infrastructures" / "cloud.yaml").write_text(
        CLOUD.format(user=cloud.login_user, image=image, extra="".join(f"  {line}\n" for line in extra.splitlines())))
    return repo


def _plan(repo: Path, rec: dict) -> dict:
    return json.loads((repo / "results" / rec["experiment"] / rec["run_id"] / "plan.json").read_text())


def _gone(cloud: Cloud, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while cloud.servers() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not cloud.servers()


def test_a_sweep_runs_on_servers_made_for_it_which_are_deleted_after(
        counter: Path, openstack: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = with_cloud(counter, openstack, tmp_path, monkeypatch, "count: 2")
    ledger = _experiment(repo, "cloudy", "cloud", ["a", "b", "c", "d"])
    proc = mso("run", "cloudy", repo=repo, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr, "the cloud client's deprecation warnings are not shown"
    rec = _record(repo, "cloudy")
    assert rec["state"] == "succeeded"
    assert Counter(ledger.read_text().split()) == {"a": 1, "b": 1, "c": 1, "d": 1}
    made = rec["servers"]
    assert [s["place"] for s in made] == ["cloud.1", "cloud.2"]
    assert all(s["created"] <= s["ready"] <= s["deleted"] for s in made), made
    assert all(s["host_keys"].startswith(f"[127.0.0.1]:{s['port']} ssh-ed25519 ") for s in made)
    plan = _plan(repo, rec)
    # the k-th task of the step on server k mod 2, each server a home of its own
    assert [t["infrastructure"] for t in plan["tasks"]] == ["cloud.1", "cloud.2", "cloud.1", "cloud.2"]
    homes = {n: w.rsplit("/mso-work/", 1)[0] for n, w in plan["work_dirs"].items()}
    assert set(homes) == {"cloud.1", "cloud.2"} and len(set(homes.values())) == 2
    assert all(t["outputs"] for t in rec["tasks"])
    assert _gone(openstack), "the run's servers were deleted when it ended"
    created = [r.json() for r in openstack.calls("POST", r"/servers$")]
    assert [c["server"]["tags"] for c in created] == [["mso", f"mso-run-{rec['run_id']}"]] * 2


def _start(repo: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runner", "-C", str(repo), "run", name],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_runner_killed_mid_run_resumes_on_its_servers_and_leaves_none(
        counter: Path, openstack: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = with_cloud(counter, openstack, tmp_path, monkeypatch, "count: 2")
    ledger = _experiment(repo, "killed", "cloud", ["a", "b", "c"], sleep=3)
    proc = _start(repo, "killed")
    deadline = time.monotonic() + 60
    while not (ledger.exists() and len(ledger.read_text().split()) >= 2):
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr and proc.stderr.read()
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(openstack.servers()) == 2, "a killed runner's servers stay for its run"
    again = mso("run", "killed", repo=repo, timeout=180)
    assert again.returncode == 0, again.stderr
    assert "resuming" in again.stdout + again.stderr
    assert Counter(ledger.read_text().split()) == {"a": 1, "b": 1, "c": 1}
    rec = _record(repo, "killed")
    assert rec["state"] == "succeeded" and all(s.get("deleted") for s in rec["servers"])
    assert _gone(openstack)


@pytest.mark.parametrize("fault, said", [
    ("quota", "over the project's quota (Quota exceeded for instances"),
    ("image", "the cloud has no image 'no-such-image'"),
    ("error", "went into ERROR: No valid host was found"),
    ("stuck", "is still BUILD after 3 s (openstack.boot_timeout"),
])
def test_what_the_cloud_refuses_is_one_line_and_nothing_is_left(
        counter: Path, openstack: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        fault: str, said: str) -> None:
    extra = f"count: 2\nboot_timeout: {'3s' if fault == 'stuck' else '20s'}"
    repo = with_cloud(counter, openstack, tmp_path, monkeypatch, extra,
                      image="no-such-image" if fault == "image" else "debian-12")
    if fault == "quota":
        openstack.set_quota(instances=1)        # the first server is made, the second refused
    elif fault in ("error", "stuck"):
        openstack.fail_next_build(fault)
    _experiment(repo, "refused", "cloud", ["a", "b"])
    proc = mso("run", "refused", repo=repo, timeout=120)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert said in lines[-1] and "Traceback" not in proc.stderr, proc.stderr
    assert not (repo / "results").exists(), "no run was recorded"
    assert _gone(openstack), f"whatever was made was deleted: {openstack.servers()}"


def test_bad_credentials_fail_at_once_without_printing_them(
        counter: Path, openstack: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = with_cloud(counter, openstack, tmp_path, monkeypatch)
    clouds = Path(os.environ["OS_CLIENT_CONFIG_FILE"])
    clouds.write_text(clouds.read_text().replace(openstack.password, "wrong-Passw0rd"))
    _experiment(repo, "denied", "cloud", ["a"])
    proc = mso("run", "denied", repo=repo, timeout=60)
    assert proc.returncode == 1
    assert "refused the credentials" in proc.stderr and "Traceback" not in proc.stderr
    assert "wrong-Passw0rd" not in proc.stdout + proc.stderr
    assert not openstack.servers()


def test_kept_warm_a_server_is_taken_by_the_next_run_then_cleaned_up(
        counter: Path, openstack: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = with_cloud(counter, openstack, tmp_path, monkeypatch, "keep_for: 30m")
    _experiment(repo, "warm", "cloud", ["a"])
    assert mso("run", "warm", repo=repo, timeout=120).returncode == 0
    first = _record(repo, "warm")
    [kept] = openstack.servers()
    assert "mso-warm" in kept.tags and first["servers"][0]["kept_until"]
    again = mso("run", "warm", "--force", repo=repo, timeout=120)
    assert again.returncode == 0, again.stderr
    [_, second] = sorted((repo / "results" / "warm").glob("*/run.json"))
    taken = json.loads(second.read_text())["servers"]
    assert [(s["id"], s["warm_from"]) for s in taken] == [(kept.id, first["run_id"])]
    assert len(openstack.calls("POST", r"/servers$")) == 1, "no second server was made"
    cleanup = mso("cloud", "cleanup", repo=repo)
    assert cleanup.returncode == 0 and "nothing to delete" in cleanup.stdout
    openstack.connect().compute.set_server_metadata(kept.id, mso_keep_until="1")   # its time is up
    cleanup = mso("cloud", "cleanup", repo=repo)
    assert cleanup.returncode == 0 and "kept warm past its time" in cleanup.stdout, cleanup.stdout
    assert _gone(openstack)


def test_servers_of_a_runner_that_died_before_recording_are_deleted_once_their_lease_ends(
        counter: Path, openstack: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = with_cloud(counter, openstack, tmp_path, monkeypatch)
    conn = openstack.connect()
    image = conn.image.find_image("debian-12").id
    flavor = conn.compute.find_flavor("m1.small").id
    net = conn.network.find_network("private").id
    for run, lease in (("20261202T000000Z-aaaaaaaa-00000001", "1"),
                       ("20261202T000000Z-aaaaaaaa-00000002", str(int(time.time()) + 600))):
        conn.compute.create_server(name=f"mso-{run}-1", image_id=image, flavor_id=flavor,
                                   networks=[{"uuid": net}], key_name="mso",
                                   tags=["mso", f"mso-run-{run}"],
                                   metadata={"mso_run": run, "mso_infrastructure": "cloud",
                                             "mso_lease": lease})
    dry = mso("cloud", "cleanup", "--dry-run", repo=repo)
    assert dry.returncode == 0 and dry.stdout.count("would delete") == 1, dry.stdout
    assert "00000001" in dry.stdout and len(openstack.servers()) == 2
    listed = json.loads(mso("cloud", "list", "--json", repo=repo).stdout)
    assert sorted(s["run"][-1] for s in listed) == ["1", "2"]
    _experiment(repo, "after", "cloud", ["a"])
    proc = mso("run", "after", repo=repo, timeout=120)   # cleans up before it starts
    assert proc.returncode == 0, proc.stderr
    assert "deleting mso-20261202T000000Z-aaaaaaaa-00000001-1" in proc.stdout + proc.stderr
    left = [s.name for s in openstack.servers()]
    assert left == ["mso-20261202T000000Z-aaaaaaaa-00000002-1"], "a live lease is left alone"


def _kill_when_running(repo: Path, name: str, ledger: Path, started: int) -> None:
    """Start `mso run NAME` and SIGKILL it once `started` tasks have begun."""
    proc = _start(repo, name)
    deadline = time.monotonic() + 60
    while not (ledger.exists() and len(ledger.read_text().split()) >= started):
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr and proc.stderr.read()
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_cancel_stops_the_tasks_and_deletes_the_servers(
        counter: Path, openstack: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = with_cloud(counter, openstack, tmp_path, monkeypatch, "count: 2")
    ledger = _experiment(repo, "stopped", "cloud", ["a", "b"], sleep=60)
    _kill_when_running(repo, "stopped", ledger, 2)
    proc = mso("cancel", "stopped", repo=repo, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rec = _record(repo, "stopped")
    assert rec["state"] == "cancelled" and all(s.get("deleted") for s in rec["servers"])
    assert _gone(openstack)


def test_a_server_deleted_behind_mso_s_back_fails_its_tasks_on_resume(
        counter: Path, openstack: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = with_cloud(counter, openstack, tmp_path, monkeypatch, "count: 2")
    ledger = _experiment(repo, "lost", "cloud", ["a", "b"], sleep=3)
    _kill_when_running(repo, "lost", ledger, 2)
    second = _record(repo, "lost")["servers"][1]
    openstack.connect().compute.delete_server(second["id"])
    proc = mso("run", "lost", repo=repo, timeout=120)
    assert proc.returncode == 2, proc.stderr          # the run failed: one task's host was lost
    rec = _record(repo, "lost")
    by_id = {t["id"]: t for t in rec["tasks"]}
    assert by_id["main-0000"]["state"] == "succeeded"
    assert by_id["main-0001"]["state"] == "failed"
    assert f"its server {second['name']} is gone" in by_id["main-0001"]["reason"]
    assert [bool(s.get("lost")) for s in rec["servers"]] == [False, True]
    assert _gone(openstack)


def test_hybrid_first_step_on_the_cluster_then_on_two_servers(
        slurm: Path, openstack: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MSO4SC's hybrid case with a cloud it provisions itself: a step on the Slurm cluster, the
    next on two servers made for the run, the first step's outputs carried across by mso."""
    repo = with_cloud(slurm, openstack, tmp_path, monkeypatch, "count: 2")
    app = repo / "applications" / "counter.yaml"
    app.write_text(app.read_text() + "inputs:\n  previous: {description: earlier output, optional: true}\n")
    (repo / "applications" / "counter" / "count.py").write_text(COUNTER_PY.replace(
        'open("out.txt", "w").write(label + "\\n")',
        'import os\nprev = "inputs/previous/out.txt"\n'
        'open("out.txt", "w").write((open(prev).read().strip() + "+" if os.path.exists(prev) else "") + label + "\\n")'))
    ledger = _ledger("cloud-hybrid")
    (repo / "experiments" / "hybrid.yaml").write_text(f"""\
name: hybrid
application: counter
infrastructure: cluster
parameters: {{ledger: '{ledger}'}}
matrix: {{label: [x, y, z]}}
steps:
  - {{name: simulate}}
  - name: post
    infrastructure: cloud
    needs: [simulate]
    inputs: {{previous: {{step: simulate, path: out.txt}}}}
""")
    proc = mso("run", "hybrid", repo=repo, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rec = _record(repo, "hybrid")
    by_id = {t["id"]: t for t in rec["tasks"]}
    assert "_" in by_id["simulate-0000"]["job_id"], "the first step ran as a Slurm array"
    folder = repo / "results" / "hybrid" / rec["run_id"]
    for i, label in enumerate("xyz"):
        assert (folder / f"post-{i:04d}" / "out.txt").read_text() == f"{label}+{label}\n"
    plan = _plan(repo, rec)
    assert set(plan["work_dirs"]) == {"cluster", "cloud.1", "cloud.2"}
    assert Counter(ledger.read_text().split()) == {"x": 2, "y": 2, "z": 2}
    assert all(s.get("deleted") for s in rec["servers"]) and _gone(openstack)
