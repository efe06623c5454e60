"""The cloud's rules without a cloud: host keys read from a console, how many servers a run
gets, which servers cleanup deletes, how tasks are dealt out over servers, and the repository
view in which each server is an `ssh` host."""

from __future__ import annotations

import time

import pytest

from runner.cloud import servers
from runner.cloud.api import Server
from runner.declarations.models import Infrastructure, OpenStack, Repository
from runner.plan.resolve import RunPlan, TaskPlan
from runner.runs import cloudhosts

KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIOmsoTestKeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
CONSOLE = f"""[    0.000000] Linux version 6.1.0
Cloud-init v. 23.1 running 'modules:final'
-----BEGIN SSH HOST KEY FINGERPRINTS-----
256 SHA256:abc root@srv (ED25519)
-----END SSH HOST KEY FINGERPRINTS-----
-----BEGIN SSH HOST KEY KEYS-----
ecdsa-sha2-nistp256 AAAAE2VjZHNh root@srv
ssh-ed25519 {KEY} root@srv
-----END SSH HOST KEY KEYS-----
srv login:
"""


def cloud(**spec) -> Infrastructure:
    base = {"image": "debian-12", "flavor": "m1.small", "network": "private", "key_pair": "mso",
            "cloud": "standin"}
    return Infrastructure(name="cloud", kind="openstack", user="msotest", work_root="w",
                          openstack=OpenStack(**{**base, **spec}), path="infrastructures/cloud.yaml")


def test_host_keys_come_from_cloud_init_s_block_pinned_to_address_and_port() -> None:
    assert servers.host_keys(CONSOLE, "10.0.0.5", 22) == (
        "10.0.0.5 ecdsa-sha2-nistp256 AAAAE2VjZHNh\n10.0.0.5 ssh-ed25519 " + KEY + "\n")
    assert servers.host_keys(CONSOLE, "127.0.0.1", 40022).startswith("[127.0.0.1]:40022 ecdsa")
    # not printed yet (still booting), or a console cut in the middle of the block: no keys
    assert servers.host_keys(CONSOLE.split("-----BEGIN SSH HOST KEY KEYS")[0], "h", 22) == ""
    assert servers.host_keys(CONSOLE.split("-----END SSH HOST KEY KEYS")[0], "h", 22) == ""


def test_how_many_servers() -> None:
    assert servers.how_many(cloud(), tasks=50, per_server=2) == 1              # default: one
    assert servers.how_many(cloud(count=3), tasks=1, per_server=2) == 3
    assert servers.how_many(cloud(max_servers=4), tasks=5, per_server=2) == 3  # ceil(5/2)
    assert servers.how_many(cloud(max_servers=4), tasks=50, per_server=2) == 4


def server(tags=("mso", "mso-run-r1"), **md) -> Server:
    return Server("id1", "mso-r1-1", "ACTIVE", "127.0.0.1", 22,
                  {"mso_infrastructure": "cloud", "mso_run": "r1", **md}, tuple(tags))


@pytest.mark.parametrize("srv, run_state, deleted", [
    (server(mso_lease="9999999999"), "succeeded", True),     # its run ended: nothing holds it
    (server(mso_lease="9999999999"), "cancelled", True),
    (server(mso_lease="0"), "running", False),               # its record says it runs: kept
    (server(mso_lease="0"), "paused", False),                # ... or will resume on it
    (server(mso_lease="9999999999"), None, False),           # no record here, lease current
    (server(mso_lease="1"), None, True),                     # no record, the lease ran out
    (server(("mso", "mso-warm"), mso_keep_until="9999999999", mso_run=""), None, False),
    (server(("mso", "mso-warm"), mso_keep_until="1", mso_run=""), None, True),
])
def test_what_cleanup_deletes(srv: Server, run_state: str | None, deleted: bool) -> None:
    assert bool(servers._orphaned(srv, run_state, time.time())) is deleted


def plan_of(tasks: list[TaskPlan]) -> RunPlan:
    return RunPlan("e", "h" * 64, None, cloud(), tuple(tasks), {})


def task(step: str, i: int, infra: str = "cloud") -> TaskPlan:
    return TaskPlan(id=f"{step}-{i:04d}", step=step, index=i, application="a@1",
                    infrastructure=infra, parameters={}, argv=("true",))


def test_tasks_are_dealt_out_step_by_step_so_a_chain_stays_on_one_server() -> None:
    made = [{"infrastructure": "cloud", "place": f"cloud.{n}"} for n in (1, 2)]
    tasks = [task("a", i) for i in range(3)] + [task("b", i) for i in range(3)] + [task("c", 0, "cluster")]
    dealt = {t.id: t.infrastructure for t in cloudhosts._deal(plan_of(tasks), made)}
    assert dealt == {"a-0000": "cloud.1", "a-0001": "cloud.2", "a-0002": "cloud.1",
                     "b-0000": "cloud.1", "b-0001": "cloud.2", "b-0002": "cloud.1",
                     "c-0000": "cluster"}


def test_each_live_server_is_an_ssh_host_with_its_console_s_keys() -> None:
    repo = Repository("/r", infrastructures={"cloud": cloud(max_servers=2)})
    entries = [{"infrastructure": "cloud", "place": "cloud.1", "address": "127.0.0.1",
                "port": 40022, "host_keys": "[127.0.0.1]:40022 ssh-ed25519 " + KEY + "\n",
                "max_parallel": 2},
               {"infrastructure": "cloud", "place": "cloud.2", "address": "127.0.0.1",
                "port": 40023, "host_keys": "k", "deleted": "2026-12-02T00:00:00Z"}]
    seen = cloudhosts.view(repo, entries)
    host = seen.infrastructure("cloud.1")
    assert (host.kind, host.host, host.port, host.max_parallel) == ("ssh", "127.0.0.1", 40022, 2)
    assert host.host_keys == entries[0]["host_keys"] and host.openstack is None
    assert host.user == "msotest" and host.work_root == "w"
    assert "cloud.2" not in seen.infrastructures            # deleted: not a host any more
    assert seen.infrastructure("cloud") == cloud(max_servers=2)     # the declaration as it was
