"""A whole run through the Context with a transport of the test's own (no monkeypatching): every
command goes through it, the secret set travels with the context, and a run resumes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from runner.declarations.models import EnvRef, Infrastructure
from runner.declarations.repository import load_valid
from runner.monitor.watcher import Watcher
from runner.plan import resolve
from runner.runs import create, lifecycle, resume
from runner.schedulers.context import Context, connect
from runner.secrets import Secrets
from runner.state import State
from runner.transports.base import Offline, Result, Transport
from tests.conftest import counter_experiment

CANARY = "canary-secret-4d8e1c"


class Recording(Transport):
    """The real transport underneath, every command written down."""

    def __init__(self, inner: Transport) -> None:
        self.inner, self.lines = inner, []

    def run(self, cmd: str, timeout: float | None = None, stdin: str | None = None,
            on_stderr=None) -> Result:
        self.lines.append(cmd)
        return self.inner.run(cmd, timeout, stdin, on_stderr=on_stderr)

    def put(self, local, remote):
        self.inner.put(local, remote)

    def get(self, remote, local):
        self.inner.get(remote, local)

    def exists(self, remote):
        return self.inner.exists(remote)

    def close(self):
        self.inner.close()


def test_a_run_goes_through_the_context_s_transport(counter: Path, monkeypatch) -> None:
    monkeypatch.setenv("MSO_CANARY", CANARY)   # an environment variable, not a patch of code
    ledger = counter_experiment(counter, "count", ["a", "b"])
    made: list[Recording] = []

    def recording(infra, secrets):
        made.append(Recording(connect(infra, secrets)))
        return made[-1]

    repo = load_valid(counter)
    with Context(Secrets(frozenset({"MSO_CANARY"})), connect=recording) as ctx:
        run = create.create(ctx, repo, resolve.plan(repo, repo.experiments["count"]), {})
        Watcher([run]).run()
        lifecycle.close(run)
    assert run.record.state == State.SUCCEEDED
    assert sorted(ledger.read_text().split()) == ["a", "b"]
    assert len(made) == 1 and any("setsid" in line for line in made[0].lines)
    # tasks start without the variables the context's secret set names
    assert "MSO_CANARY" not in made[0].inner.env and "PATH" in made[0].inner.env


def test_a_paused_run_resumes_in_a_new_context_without_running_twice(counter: Path) -> None:
    ledger = counter_experiment(counter, "count", ["a", "b", "c"], sleep=0.5)
    repo = load_valid(counter)
    with Context() as ctx:
        run = create.create(ctx, repo, resolve.plan(repo, repo.experiments["count"]), {})
        Watcher([run], lambda submits: False).run()     # submit, then stop watching
        lifecycle.pause(run, "the test stopped watching")
    [(folder, record)] = resume.unfinished(repo, "count")
    with Context() as ctx:
        again = resume.resume(ctx, repo, folder, record)
        Watcher([again]).run()
    assert again.record.state == State.SUCCEEDED
    assert sorted(ledger.read_text().split()) == ["a", "b", "c"]


def test_declarations_of_one_login_share_one_connection() -> None:
    made: list[str] = []

    def counting(infra, secrets):
        made.append(infra.name)
        return Recording(Offline(infra.host))

    base = Infrastructure(name="debug", kind="slurm", host="login.example.org", user="ana",
                          key=EnvRef("KEY"), partition="debug")
    with Context(connect=counting) as ctx:
        first = ctx.transport(base)
        assert ctx.transport(replace(base, name="long", partition="long", account="p42")) is first
        assert ctx.transport(replace(base, name="pbs", kind="pbs")) is first
        assert ctx.transport(replace(base, name="bob", user="bob")) is not first
        assert ctx.transport(replace(base, name="port", port=2222)) is not first
        ctx.scheduler(base), ctx.scheduler(replace(base, name="long", partition="long"))
    assert made == ["debug", "bob", "port"]
