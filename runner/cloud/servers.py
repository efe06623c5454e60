"""The servers of one run on an `openstack` infrastructure: made (or taken warm from an earlier
run), waited for until ACTIVE with their host keys read from the console and sshd answering,
then deleted (or kept warm for `keep_for`) when the run ends.

What run.json keeps of each (`servers`): id, name, infrastructure, place (the name its tasks run
under: `<infrastructure>.<n>`), address, port, host_keys, created, ready, deleted, kept_until.

Every server carries the tags `mso` and `mso-run-<run id>`, and in its metadata the run id, the
infrastructure, and a lease (a time, renewed while a runner watches the run), so that nothing
leaks when a runner dies: `cleanup` deletes what no live run holds.
"""

from __future__ import annotations

import hashlib
import math
import socket
import time
from datetime import datetime, timezone
from typing import Callable

from runner.cloud.api import Cloud, Found, Server
from runner.declarations.models import Infrastructure
from runner.errors import CloudError, MsoError
from runner.words import plural

TAG, WARM = "mso", "mso-warm"
LEASE = 900.0            # seconds a server is held for its run without a word from its runner
BEGIN, END = "-----BEGIN SSH HOST KEY KEYS-----", "-----END SSH HOST KEY KEYS-----"
Say = Callable[[str], None]


def run_tag(run_id: str) -> str:
    return f"mso-run-{run_id}"


def now() -> str:
    return _stamp(time.time())


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def how_many(infra: Infrastructure, tasks: int, per_server: int) -> int:
    """`count`, else enough servers for the tasks of the widest step (at most max_servers)."""
    spec = infra.openstack
    if spec.count:
        return spec.count
    wanted = max(1, math.ceil(tasks / max(1, per_server)))
    return min(wanted, spec.max_servers) if spec.max_servers else 1


def provision(infra: Infrastructure, run_id: str, tasks: int, say: Say) -> list[dict]:
    """The run's servers, ready: warm ones taken first, the rest made. Whatever was made or
    taken is deleted again when this fails (a quota, a missing image, a server in ERROR or
    still booting after boot_timeout): one CloudError line."""
    cloud = Cloud(infra)
    found = cloud.find()
    per_server = infra.max_parallel or found.vcpus
    n = how_many(infra, tasks, per_server)
    entries: list[dict] = []
    try:   # (a warm server taken when this breaks off carries this run's tag and lease)
        entries += _claim_warm(cloud, infra, found, run_id, n)
        for _ in range(len(entries), n):
            name = f"mso-{run_id}-{len(entries) + 1}"
            sid = cloud.create(name, found, [TAG, run_tag(run_id)], _metadata(infra, found, run_id))
            entries.append(_entry(infra, sid, name, len(entries) + 1))
        warm = sum(1 for e in entries if e.get("warm_from"))
        say(f"{infra.name}: {plural(n, 'server')} for the run"
            + (f", {warm} of them kept warm by an earlier one" if warm else "") + ", booting")
        _wait_ready(cloud, infra, entries)
    except BaseException:
        for e in entries:
            _delete_quietly(cloud, e, say)
        raise
    for e in entries:
        e["max_parallel"] = per_server
    return entries


def _entry(infra: Infrastructure, sid: str, name: str, number: int, **more: str) -> dict:
    return {"id": sid, "name": name, "infrastructure": infra.name,
            "place": f"{infra.name}.{number}", "created": now(), **more}


def _metadata(infra: Infrastructure, found: Found, run_id: str) -> dict[str, str]:
    return {"mso_run": run_id, "mso_infrastructure": infra.name, "mso_kind": _kind(infra, found),
            "mso_lease": str(int(time.time() + LEASE + infra.openstack.boot_timeout))}


def _kind(infra: Infrastructure, found: Found) -> str:
    """What a warm server must have been made of to be taken: image, flavor, network, key pair."""
    made_of = f"{found.image}|{found.flavor}|{found.network}|{infra.openstack.key_pair}"
    return hashlib.sha256(made_of.encode()).hexdigest()[:16]


def _claim_warm(cloud: Cloud, infra: Infrastructure, found: Found, run_id: str,
                n: int) -> list[dict]:
    """Up to n servers an earlier run left warm, made the same way, retagged for this run; one
    that another runner took meanwhile (its metadata names the other run) is left to it."""
    taken = []
    for s in warm(cloud, infra, found):
        if len(taken) == n:
            break
        md = s.metadata
        cloud.set_metadata(s.id, **_metadata(infra, found, run_id), mso_keep_until="0")
        cloud.retag(s.id, run_tag(run_id), WARM)
        again = cloud.server(s.id)
        if again is not None and again.metadata.get("mso_run") == run_id:
            taken.append(_entry(infra, s.id, s.name, len(taken) + 1,
                                warm_from=md.get("mso_warm_from", "")))
    return taken


def warm(cloud: Cloud, infra: Infrastructure, found: Found) -> list[Server]:
    """The servers earlier runs left warm for this infrastructure, made the same way, ACTIVE
    and still within their keep_for."""
    kind = _kind(infra, found)
    return [s for s in cloud.tagged(WARM)
            if s.metadata.get("mso_infrastructure") == infra.name and s.status == "ACTIVE"
            and s.metadata.get("mso_kind") == kind
            and float(s.metadata.get("mso_keep_until", 0)) > time.time()]


def _wait_ready(cloud: Cloud, infra: Infrastructure, entries: list[dict]) -> None:
    """Until every server is ACTIVE, has printed its host keys and its sshd answers."""
    deadline = time.monotonic() + infra.openstack.boot_timeout
    pending, pause = {e["id"]: e for e in entries}, 0.5
    while pending:
        for sid, e in list(pending.items()):
            s = cloud.server(sid)
            if s is None:
                raise CloudError(f"{infra.name}: the server {e['name']} disappeared while booting")
            if s.status == "ERROR":
                raise CloudError(f"{infra.name}: the server {e['name']} went into ERROR: "
                                 f"{s.fault or 'the cloud gave no reason'}")
            if s.status == "ACTIVE" and s.address and _ready(cloud, s, e):
                del pending[sid]
        if pending and time.monotonic() > deadline:
            e = next(iter(pending.values()))
            s = cloud.server(e["id"])
            raise CloudError(f"{infra.name}: the server {e['name']} is still "
                             f"{_booting(s)} after {infra.openstack.boot_timeout:g} s "
                             f"(openstack.boot_timeout in {infra.path})")
        if pending:
            time.sleep(pause)
            pause = min(pause * 1.5, 5.0)


def _booting(s: Server | None) -> str:
    if s is None or s.status != "ACTIVE":
        return s.status if s else "missing"
    return "ACTIVE but has not printed its SSH host keys or does not answer SSH"


def _ready(cloud: Cloud, s: Server, e: dict) -> bool:
    """Whether the server printed its host keys and its sshd answers; noted in `e` when so."""
    keys = host_keys(cloud.console(s.id), s.address or "", s.port)
    if not keys or not answers(s.address or "", s.port):
        return False
    e.update(address=s.address, port=s.port, host_keys=keys, ready=now())
    return True


def host_keys(console: str, address: str, port: int) -> str:
    """known_hosts lines for the server from the keys cloud-init printed on its console."""
    if BEGIN not in console or END not in console:
        return ""
    block = console.rsplit(BEGIN, 1)[1].split(END, 1)[0]
    host = address if port == 22 else f"[{address}]:{port}"
    lines = []
    for line in block.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(("ssh-", "ecdsa-", "sk-")):
            lines.append(f"{host} {parts[0]} {parts[1]}")
    return "\n".join(lines) + "\n" if lines else ""


def answers(address: str, port: int, timeout: float = 3.0) -> bool:
    """Whether an SSH server greets on address:port."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def release(infra: Infrastructure, run_id: str, entries: list[dict], say: Say) -> None:
    """The run ended: its servers deleted, or kept warm for `keep_for` (noted in `entries`)."""
    cloud = Cloud(infra)
    keep = infra.openstack.keep_for
    for e in entries:
        if e.get("deleted") or e.get("kept_until"):
            continue
        if keep:
            until = time.time() + keep
            cloud.set_metadata(e["id"], mso_keep_until=str(int(until)), mso_run="",
                               mso_warm_from=run_id)
            cloud.retag(e["id"], WARM, run_tag(run_id))
            e["kept_until"] = _stamp(until)
        else:
            cloud.delete(e["id"])
            e["deleted"] = now()
    if entries:
        say(f"{infra.name}: {plural(len(entries), 'server')} "
            + (f"kept warm for {keep:g} s" if keep else "deleted"))


def renew(infra: Infrastructure, entries: list[dict]) -> None:
    """Tell the cloud the run's runner is alive: its servers' lease goes on."""
    cloud = Cloud(infra)
    until = str(int(time.time() + LEASE))
    for e in entries:
        if not (e.get("deleted") or e.get("kept_until")):
            cloud.set_metadata(e["id"], mso_lease=until)


def _delete_quietly(cloud: Cloud, e: dict, say: Say) -> None:
    try:
        cloud.delete(e["id"])
        e["deleted"] = now()
    except MsoError as exc:
        say(f"warning: {exc}; delete it by hand, or `mso cloud cleanup` later")


def cleanup(infra: Infrastructure, state_of: Callable[[str], str | None], say: Say,
            dry_run: bool = False) -> list[str]:
    """Delete the infrastructure's servers that no live run holds; their names. A server goes
    when its run's record says it ended, when no record of its run is here and its lease ran
    out (a runner that died before writing one, or stopped watching), or when it was kept warm
    past keep_until. `state_of(run id)` is the run's state in results/, None when not there."""
    cloud, gone, clock = Cloud(infra), [], time.time()
    for s in cloud.tagged(TAG):
        md = s.metadata
        if md.get("mso_infrastructure") != infra.name:
            continue
        why = _orphaned(s, state_of(md.get("mso_run") or ""), clock)
        if why:
            say(f"{infra.name}: {'would delete' if dry_run else 'deleting'} {s.name} ({why})")
            if not dry_run:
                cloud.delete(s.id)
            gone.append(s.name)
    return gone


def _orphaned(s: Server, run_state: str | None, clock: float) -> str | None:
    """Why nothing holds this server any more, or None while something does."""
    md = s.metadata
    if WARM in s.tags:
        return "kept warm past its time" if float(md.get("mso_keep_until", 0)) <= clock else None
    if run_state in ("succeeded", "failed", "cancelled"):
        return f"its run {md.get('mso_run')} has {run_state}"
    if run_state is None and float(md.get("mso_lease", 0)) <= clock:
        return f"no runner has held it for its run {md.get('mso_run') or '(unknown)'} since its lease ran out"
    return None
