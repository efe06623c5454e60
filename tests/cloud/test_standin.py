"""The OpenStack stand-in, driven by openstacksdk itself: sign-in, lookups, servers that are
real sshds (host key on the console, a home of their own), tags, metadata, quotas, faults,
deletion and the recorded requests."""

from __future__ import annotations

import base64
import io
import os
import socket
from pathlib import Path

import keystoneauth1.exceptions
import openstack as openstacksdk
import paramiko
import pytest
import requests
from openstack import exceptions

from tests.cloud.openstack_standin import Cloud, KeyPair, new_keypair

pytestmark = pytest.mark.integration     # root, sshd and the test cluster's user


def lookups(conn) -> dict[str, str]:
    """The ids of debian-12, m1.small and private, found as a client finds them."""
    return {"image_id": conn.image.find_image("debian-12", ignore_missing=False).id,
            "flavor_id": conn.compute.find_flavor("m1.small", ignore_missing=False).id,
            "networks": [{"uuid": conn.network.find_network("private",
                                                             ignore_missing=False).id}]}


def boot(conn, name: str, **attrs):
    """Create a server from debian-12 on m1.small in private (attrs override)."""
    return conn.compute.create_server(name=name, **{**lookups(conn), **attrs})


def active(conn, server):
    return conn.compute.wait_for_server(server, interval=0.05, wait=30)


def console_host_keys(output: str) -> list[str]:
    """The lines between cloud-init's BEGIN and END SSH HOST KEY KEYS markers."""
    lines = output.splitlines()
    start = lines.index("-----BEGIN SSH HOST KEY KEYS-----")
    return lines[start + 1:lines.index("-----END SSH HOST KEY KEYS-----")]


def ssh(cloud: Cloud, port: int, key: KeyPair, host_key: str) -> paramiko.SSHClient:
    """Log in as the login user, trusting only `host_key` (as read from the console)."""
    client = paramiko.SSHClient()
    kind, blob = host_key.split()[:2]
    client.get_host_keys().add(f"[127.0.0.1]:{port}", kind,
                               paramiko.Ed25519Key(data=base64.b64decode(blob)))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect("127.0.0.1", port=port, username=cloud.login_user, allow_agent=False,
                   look_for_keys=False, timeout=10,
                   pkey=paramiko.Ed25519Key.from_private_key(io.StringIO(key.private)))
    return client


def run(client: paramiko.SSHClient, command: str) -> str:
    _, stdout, stderr = client.exec_command(command, timeout=10)
    out = stdout.read().decode()
    assert stdout.channel.recv_exit_status() == 0, stderr.read().decode()
    return out.strip()


def test_finds_what_is_registered_and_not_what_is_not(openstack: Cloud) -> None:
    conn = openstack.connect()
    key = new_keypair()
    fingerprint = openstack.add_keypair("mine", key.public)
    tiny = openstack.add_flavor("m1.tiny", 1, 512, 1)
    assert conn.image.find_image("debian-12", ignore_missing=False).name == "debian-12"
    medium = conn.compute.find_flavor("m1.medium", ignore_missing=False)
    assert (medium.vcpus, conn.compute.get_flavor(tiny).ram) == (2, 512)
    small = conn.compute.find_flavor("m1.small", ignore_missing=False)
    assert (small.vcpus, small.ram, small.disk) == (1, 1024, 10)
    assert conn.network.find_network("private", ignore_missing=False).status == "ACTIVE"
    assert conn.compute.find_keypair("mine", ignore_missing=False).fingerprint == fingerprint
    for find, name in ((conn.image.find_image, "debian-11"), (conn.compute.find_flavor, "m9"),
                       (conn.network.find_network, "public"),
                       (conn.compute.find_keypair, "theirs")):
        with pytest.raises(exceptions.ResourceNotFound):
            find(name, ignore_missing=False)
    with pytest.raises(exceptions.NotFoundException, match="Flavor 99 could not be found"):
        conn.compute.get_flavor("99")
    imported = conn.compute.create_keypair(name="imported", public_key=new_keypair().public)
    assert imported.fingerprint.count(":") == 15
    with pytest.raises(exceptions.ConflictException, match="Key pair 'imported' already exists"):
        conn.compute.create_keypair(name="imported", public_key=key.public)


def test_servers_are_sshds_with_their_own_host_key_and_home(openstack: Cloud) -> None:
    conn, key = openstack.connect(), new_keypair()
    openstack.add_keypair("mso", key.public)
    made = [boot(conn, f"node-{i}", key_name="mso", tags=["mso", f"node-{i}"],
                 metadata={"run": "r1"}) for i in range(2)]
    homes = []
    for server, info in zip([active(conn, s) for s in made], reversed(openstack.servers())):
        port = int(server.metadata["ssh_port"])
        assert (server.metadata["run"], server.tags, port) == ("r1", ["mso", server.name],
                                                              info.port)
        assert server.addresses["private"][0]["addr"] == server.access_ipv4 == "127.0.0.1"
        output = conn.compute.get_server_console_output(server)["output"]
        assert console_host_keys(output) == [info.host_key]
        assert len(conn.compute.get_server_console_output(server, length=3)["output"]
                   .splitlines()) == 3
        with ssh(openstack, port, key, console_host_keys(output)[0]) as client:
            assert run(client, "cd && pwd") == run(client, "pwd") == str(info.home)
            assert run(client, "whoami") == openstack.login_user
            assert client.open_sftp().normalize(".") == str(info.home)
        homes.append(info.home)
    assert homes[0] != homes[1]
    assert [s.name for s in conn.compute.servers(tags="node-1")] == ["node-1"]
    assert len(list(conn.compute.servers(details=True, tags="mso"))) == 2


def test_tags_and_metadata_change_while_active_only(openstack: Cloud) -> None:
    conn = openstack.connect()
    openstack.fail_next_build("stuck")
    stuck = boot(conn, "stuck", tags=["a"])
    with pytest.raises(exceptions.ConflictException,
                       match=f"Cannot 'update tag' instance {stuck.id} while it is in "
                             "vm_state building"):
        stuck.add_tag(conn.compute, "b")
    with pytest.raises(exceptions.ConflictException, match="'update metadata'"):
        conn.compute.set_server_metadata(stuck, extra="1")
    server = active(conn, boot(conn, "tagged", tags=["a", "b"], metadata={"k": "v"}))
    server.add_tag(conn.compute, "c")
    server.remove_tag(conn.compute, "a")
    assert conn.compute.get_server(server).tags == ["b", "c"]
    conn.compute.set_server_metadata(server, extra="1")
    # by id: openstacksdk 4.22 pops the key from the object's own copy of the metadata, which
    # set_server_metadata left holding only what it sent, and fails with KeyError
    conn.compute.delete_server_metadata(server.id, ["k"])
    metadata = conn.compute.get_server_metadata(server).metadata
    assert metadata == {"extra": "1", "ssh_port": str(openstack.servers()[0].port)}
    assert [s.name for s in conn.compute.servers(tags="b,c")] == ["tagged"]
    assert {s.name for s in conn.compute.servers(tags_any="a,c")} == {"stuck", "tagged"}
    assert [s.name for s in conn.compute.servers(name="^stu")] == ["stuck"]


def test_quotas_refuse_with_403_or_the_older_413(openstack: Cloud) -> None:
    conn = openstack.connect()
    openstack.set_quota(instances=1)
    openstack.fail_next_build("stuck")         # counts all the same, with no sshd to start
    boot(conn, "first")
    message = "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances"
    with pytest.raises(exceptions.ForbiddenException, match=message):
        boot(conn, "second")
    openstack.quota_status(413)
    with pytest.raises(exceptions.HttpException, match=message) as refused:
        boot(conn, "second")
    assert not isinstance(refused.value, exceptions.ForbiddenException)
    assert refused.value.status_code == 413
    assert refused.value.response.headers["Retry-After"] == "0"
    assert refused.value.response.json()["overLimit"]["code"] == 413
    openstack.quota_status(403)
    openstack.set_quota(instances=-1, cores=2)
    medium = conn.compute.find_flavor("m1.medium", ignore_missing=False)
    with pytest.raises(exceptions.ForbiddenException,
                       match="Quota exceeded for cores: Requested 2, but already used 1 of 2 "
                             "cores"):
        boot(conn, "second", flavor_id=medium.id)
    absolute = conn.compute.get_limits().absolute
    assert (absolute.instances, absolute.instances_used, absolute.total_cores,
            absolute.total_cores_used, absolute.total_ram_used) == (-1, 1, 2, 1, 1024)
    assert [s.name for s in openstack.servers()] == ["first"]


def test_a_build_can_fail_or_never_end(openstack: Cloud) -> None:
    conn = openstack.connect()
    openstack.fail_next_build("error")
    openstack.fail_next_build("stuck")
    failed, stuck = boot(conn, "failed"), boot(conn, "stuck")
    with pytest.raises(exceptions.ResourceFailure, match="transitioned to failure state ERROR"):
        active(conn, failed)
    failed = conn.compute.get_server(failed)
    assert failed.fault["code"] == 500
    assert failed.fault["message"].startswith("No valid host was found.")
    with pytest.raises(exceptions.ConflictException, match=f"Instance {failed.id} is not ready"):
        conn.compute.get_server_console_output(failed)
    with pytest.raises(exceptions.ResourceTimeout):
        conn.compute.wait_for_server(stuck, interval=0.1, wait=openstack.boot_delay + 0.5)
    stuck = conn.compute.get_server(stuck)
    assert (stuck.status, stuck.task_state, "ssh_port" in stuck.metadata) == (
        "BUILD", "spawning", False)
    assert "SSH HOST KEY" not in conn.compute.get_server_console_output(stuck)["output"]
    assert active(conn, boot(conn, "next")).status == "ACTIVE"


def test_deleting_a_server_stops_everything_on_it(openstack: Cloud) -> None:
    conn, key = openstack.connect(), new_keypair()
    openstack.add_keypair("mso", key.public)
    server = active(conn, boot(conn, "doomed", key_name="mso"))
    info = openstack.servers()[0]
    client = ssh(openstack, info.port, key, info.host_key)
    pid = int(run(client, "nohup setsid sleep 600 >/dev/null 2>&1 & echo $!"))
    elsewhere = int(run(client, "cd /; nohup setsid sleep 601 >/dev/null 2>&1 & echo $!"))
    assert os.readlink(f"/proc/{pid}/cwd") == str(info.home)
    openstack.store.deleted_visible = 30
    conn.compute.delete_server(server)
    assert conn.compute.get_server(server).status == "DELETED"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", info.port), timeout=2)
    for gone in (pid, elsewhere):
        assert not Path(f"/proc/{gone}").exists() or "\nState:\tZ" in Path(
            f"/proc/{gone}/status").read_text()
    assert not info.folder.exists() and openstack.servers() == []
    openstack.store.deleted_visible = 0
    conn.compute.wait_for_delete(server, interval=0.05, wait=5)
    with pytest.raises(exceptions.NotFoundException, match=f"Instance {server.id} could not"):
        conn.compute.get_server(server.id)
    client.close()


def test_a_wrong_password_or_no_token_is_401(openstack: Cloud) -> None:
    wrong = openstacksdk.connect(auth={**openstack.auth(), "password": "wrong"},
                                 region_name=openstack.region)
    with pytest.raises(exceptions.SDKException, match="requires authentication"):
        wrong.authorize()
    with pytest.raises(keystoneauth1.exceptions.Unauthorized) as refused:
        wrong.compute.find_flavor("m1.small", ignore_missing=False)
    assert refused.value.http_status == 401
    answer = requests.get(openstack.auth_url.replace("identity", "compute/v2.1/servers"),
                          headers={"X-Auth-Token": "forged"}, timeout=10)
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "The request you have made requires " \
                                                "authentication."
    assert answer.headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_requests_are_recorded_without_secrets(openstack: Cloud) -> None:
    conn = openstack.connect()
    conn.compute.find_flavor("m1.small", ignore_missing=False)
    token = conn.auth_token
    signin, = openstack.calls("POST", "/auth/tokens$")
    assert signin.json()["auth"]["identity"]["password"]["user"]["password"] == "***"
    assert signin.json()["auth"]["identity"]["password"]["user"]["name"] == openstack.username
    assert openstack.calls("GET", "/flavors/detail$")
    for recorded in openstack.requests:
        assert openstack.password not in repr(recorded) and token not in repr(recorded)


def test_clouds_yaml_and_the_environment_both_reach_it(openstack: Cloud, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("OS_")]:
        monkeypatch.delenv(name)
    path = openstack.write_clouds_yaml(tmp_path / "clouds.yaml")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    conn = openstacksdk.connect(cloud="standin")
    assert conn.compute.find_flavor("m1.small", ignore_missing=False).vcpus == 1
    (tmp_path / "empty.yaml").write_text("clouds: {}\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "empty.yaml"))
    for name, value in openstack.env().items():
        monkeypatch.setenv(name, value)
    assert openstacksdk.connect().network.find_network("private", ignore_missing=False)


def test_nova_negotiates_its_microversion(openstack: Cloud) -> None:
    conn = openstack.connect()
    url, token = openstack.auth_url.replace("identity", "compute/v2.1"), conn.auth_token

    def asked(**headers: str) -> requests.Response:
        return requests.get(f"{url}/flavors", headers={"X-Auth-Token": token, **headers},
                            timeout=10)

    assert asked().headers["OpenStack-API-Version"] == "compute 2.1"
    answer = asked(**{"OpenStack-API-Version": "compute 2.60"})
    assert answer.headers["X-OpenStack-Nova-API-Version"] == "2.60"
    assert asked(**{"X-OpenStack-Nova-API-Version": "2.47"}).headers[
        "OpenStack-API-Version"] == "compute 2.47"
    assert asked(**{"OpenStack-API-Version": "compute latest"}).headers[
        "X-OpenStack-Nova-API-Version"] == "2.96"
    assert asked(**{"OpenStack-API-Version": "compute 2.200"}).status_code == 406
    assert "badRequest" in asked(**{"OpenStack-API-Version": "compute two"}).json()
    version = requests.get(f"{url}/", timeout=10).json()["version"]
    assert (version["min_version"], version["version"]) == ("2.1", "2.96")
