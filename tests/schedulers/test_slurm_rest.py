"""The slurmrestd backend without a cluster: its parsers from answers recorded on the test cluster
(tests/fixtures/slurmrestd), the token rules, the connect check, and the request discipline
(one request per poll) against a session that replays those answers."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
import requests

from runner.declarations import construct, schema
from runner.declarations.models import EnvRef, Resources, SlurmApi
from runner.declarations.yamlload import parse
from runner.errors import SchedulerError, SubmitLimited, TransportError
from runner.schedulers import context, slurm
from runner.schedulers.slurm_rest import SlurmRestScheduler
from runner.schedulers.slurm_rest_api import RestClient, TokenRefused, answer, refused, token_problem
from runner.schedulers.slurm_rest_jobs import listed, parse_db_jobs, parse_jobs, parse_submit
from runner.schedulers.slurm_rest_submit import minutes, properties
from runner.state import State
from runner.transports.base import Offline
from tests.schedulers.test_slurm import RUN, infra, jobs

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "slurmrestd"
API = SlurmApi("http://rest:6820", EnvRef("SLURM_TOKEN"))


def fx(name: str) -> dict:
    return json.loads((FIX / f"{name}.json").read_text())


def jwt(exp: float) -> str:
    claims = base64.urlsafe_b64encode(json.dumps({"exp": int(exp), "sun": "msotest"}).encode())
    return f"eyJhbGciOiJIUzI1NiJ9.{claims.decode().rstrip('=')}.c2lnbmF0dXJlLXNlY3JldA"


TOKEN = jwt(time.time() + 3600)
# the recording's arrays: A ran 4 elements (0 ok, 1 exit 3, 2 cancelled, 3 ok), H held 5 (%2)
A, H = fx("submit_array")["body"]["job_id"], fx("submit_held")["body"]["job_id"]


# ---- parsers (recorded answers) ----------------------------------------------------------------

def test_slurmctlds_list_gives_every_wanted_element_and_nothing_else() -> None:
    body = fx("jobs_ended")["body"]
    wanted = [f"{A}_{i}" for i in range(4)] + [f"{H}_1", f"{H}_3", "999_0"]
    got = parse_jobs(body, wanted)
    assert set(got) == {f"{A}_0", f"{A}_1", f"{A}_2", f"{A}_3", f"{H}_1"}   # H_3 was cancelled away
    assert got[f"{A}_0"].state == State.SUCCEEDED and got[f"{A}_0"].usage["source"] == "slurmrestd"
    assert (got[f"{A}_1"].state, got[f"{A}_1"].reason) == (State.FAILED, "exit code 3")
    assert got[f"{A}_2"].state == State.CANCELLED
    assert (got[f"{H}_1"].state, got[f"{H}_1"].reason) == (State.QUEUED, "JobHeldUser")


def test_a_pending_arrays_range_stands_for_each_of_its_elements() -> None:
    got = parse_jobs(fx("jobs_pending")["body"], [f"{H}_{i}" for i in range(6)])
    assert sorted(got) == [f"{H}_{i}" for i in range(5)]
    assert parse_jobs(fx("jobs_running")["body"], [f"{A}_2"])[f"{A}_2"].state == State.RUNNING


def test_slurmdbds_list_tells_ended_elements_with_their_usage() -> None:
    got = parse_db_jobs(fx("db_jobs")["body"], [f"{A}_{i}" for i in range(4)])
    assert {j: s.state for j, s in got.items()} == {
        f"{A}_0": State.SUCCEEDED, f"{A}_1": State.FAILED, f"{A}_2": State.CANCELLED, f"{A}_3": State.SUCCEEDED}
    cancelled = next(j for j in fx("db_jobs")["body"]["jobs"] if j["array"]["task_id"] == 2)
    t = cancelled["time"]
    assert got[f"{A}_2"].usage == {"elapsed_s": t["elapsed"], "cpu_s": 0.0, "source": "slurmrestd",
                                   "queue_wait_s": t["start"] - t["submission"]}


def test_both_lists_give_the_elements_of_an_arrays_name() -> None:
    live = listed(fx("jobs_ended")["body"], ["mso.rec.main"])
    ended = listed(fx("db_jobs")["body"], ["mso.rec.main"], db=True)
    assert sorted(x.job_id for x in live) == sorted(x.job_id for x in ended) == [f"{A}_{i}" for i in range(4)]
    assert {(x.array, x.index) for x in live} == {(A, i) for i in range(4)}


def test_submit_answers() -> None:
    assert parse_submit(fx("submit_array")["body"]) == f"{A}"
    assert parse_submit(fx("submit_held")["body"]) == f"{H}"   # a held job's `error` is a notice
    assert parse_submit(fx("submit_bad_partition")["body"]) is None


# ---- tokens and errors ---------------------------------------------------------------------------

def test_a_token_is_judged_without_asking_and_never_quoted() -> None:
    assert token_problem(TOKEN, time.time()) is None
    assert token_problem(jwt(1_000_000_000), time.time()).startswith("expired at 2001-09-09")
    assert "not a JWT" in token_problem("secret-but-not-a-jwt", 0)
    text = str(refused("SLURM_TOKEN", "msotest", "expired at x"))
    assert "scontrol token username=msotest lifespan=" in text and "$SLURM_TOKEN" in text


@pytest.mark.parametrize("status, name", [(401, None), (403, None), (200, "db_bad_token")])
def test_a_refused_token_is_a_token_error(status: int, name: str | None) -> None:
    text = json.dumps(fx(name)["body"]) if name else "Authentication failure"
    with pytest.raises(TokenRefused, match="was refused"):
        answer(status, text, "GET x", lambda why: refused("T", "u", why))


def test_a_path_the_server_lacks_names_the_api_mso_needs() -> None:
    with pytest.raises(SchedulerError, match="openapi/v0.0.38 and openapi/dbv0.0.38"):
        answer(404, "Unable find requested URL.", "GET x", lambda why: refused("T", "u", why))


# ---- a client and a backend against replayed answers ---------------------------------------------

class Response:
    def __init__(self, status: int, body: dict | str) -> None:
        self.status_code, self.text = status, body if isinstance(body, str) else json.dumps(body)


class Replay:
    """A requests.Session answering each path with a recorded answer; it keeps every request."""

    def __init__(self, answers: dict[str, dict | Exception]) -> None:
        self.answers, self.calls = answers, []

    def request(self, method: str, url: str, headers: dict, timeout: float, **kw) -> Response:
        self.calls.append((method, url.split("6820", 1)[1], kw, headers))
        for path, rec in self.answers.items():
            if url.split("?")[0].endswith(path):
                if isinstance(rec, Exception):
                    raise rec
                return Response(rec["status"], rec["body"])
        raise AssertionError(f"no recorded answer for {method} {url}")


CONNECT = {"/slurmdb/v0.0.38/jobs": fx("db_nothing_found"), "/slurm/v0.0.38/ping": fx("ping")}


def client(answers: dict, token: str = TOKEN) -> tuple[RestClient, Replay]:
    session = Replay(answers)
    return RestClient(API, "msotest", environ={"SLURM_TOKEN": token}, session=session), session


def test_connect_checks_the_api_version_and_the_token_once() -> None:
    api, session = client({**CONNECT, "/slurm/v0.0.38/jobs": fx("jobs_ended")})
    api.call("GET", "/slurm/v0.0.38/jobs")
    api.call("GET", "/slurm/v0.0.38/jobs")
    assert [c[1] for c in session.calls] == ["/slurmdb/v0.0.38/jobs", "/slurm/v0.0.38/ping"] + ["/slurm/v0.0.38/jobs"] * 2
    assert session.calls[0][3] == {"X-SLURM-USER-NAME": "msotest", "X-SLURM-USER-TOKEN": TOKEN}


def test_a_server_of_another_version_is_refused_at_connect() -> None:
    ping = fx("ping")
    ping["body"]["meta"]["plugin"]["type"] = "openapi/v0.0.39"
    api, _ = client({**CONNECT, "/slurm/v0.0.38/ping": ping})
    with pytest.raises(SchedulerError, match="not openapi/v0.0.38: mso needs the API of Slurm 22.05"):
        api.call("GET", "/slurm/v0.0.38/jobs")


# a fixed time in the past, not time.time(): the parameters (and so the test ids) must be the same
# on every pytest-xdist worker, which collect in different seconds
@pytest.mark.parametrize("token, why", [("", "is not set"), (jwt(1_700_000_000), "expired at")],
                         ids=["missing", "expired"])
def test_a_missing_or_expired_token_fails_before_any_request(token: str, why: str) -> None:
    api, session = client(CONNECT, token)
    with pytest.raises(TokenRefused, match=why) as err:
        api.call("GET", "/slurm/v0.0.38/jobs")
    assert session.calls == [] and (not token or token not in str(err.value))


def test_an_unreachable_slurmrestd_is_transient() -> None:
    api, _ = client({**CONNECT, "/slurm/v0.0.38/jobs": requests.ConnectionError("refused")})
    api.connect()
    with pytest.raises(TransportError) as err:
        api.call("GET", "/slurm/v0.0.38/jobs")
    assert err.value.transient


def backend(answers: dict) -> tuple[SlurmRestScheduler, Replay]:
    api, session = client({**CONNECT, **answers})
    sched = SlurmRestScheduler(infra(api=API, user="msotest", max_array_size=1001), Offline("h"), client=api)
    return sched, session


def test_status_is_one_request_for_the_jobs_array_while_slurmctld_lists_them() -> None:
    sched, session = backend({f"/slurm/v0.0.38/job/{A}": fx("job_array")})
    sched.api.connect()
    before = len(session.calls)
    got = sched.status({f"{A}_{i}": j for i, j in enumerate(jobs(4))})
    assert [c[1] for c in session.calls[before:]] == [f"/slurm/v0.0.38/job/{A}"] and len(got) == 4


def test_jobs_of_several_arrays_are_one_request_for_every_job() -> None:
    sched, session = backend({"/slurm/v0.0.38/jobs": fx("jobs_ended")})
    sched.api.connect()
    before = len(session.calls)
    wanted = {f"{A}_0": jobs(1)[0], f"{H}_0": jobs(1, step="post")[0]}
    assert {j: s.state for j, s in sched.status(wanted).items()} == {f"{A}_0": State.SUCCEEDED,
                                                                     f"{H}_0": State.QUEUED}
    assert [c[1] for c in session.calls[before:]] == ["/slurm/v0.0.38/jobs"]


def test_jobs_slurmctld_forgot_are_asked_of_slurmdbd_by_array_name() -> None:
    sched, session = backend({f"/slurm/v0.0.38/job/{A}": fx("job_gone"), "/slurmdb/v0.0.38/jobs": fx("db_jobs")})
    got = sched.status({f"{A}_{i}": j for i, j in enumerate(jobs(4))})
    assert got[f"{A}_1"].state == State.FAILED and len(got) == 4
    method, path, kw, _ = session.calls[-1]
    assert path == "/slurmdb/v0.0.38/jobs" and kw["params"]["job_name"] == f"mso.{RUN}.main"


def test_cancel_ignores_jobs_already_gone() -> None:
    sched, session = backend({"/job/999999_1": fx("cancel_gone"), f"/job/{A}_2": fx("cancel")})
    sched.cancel([f"{A}_2", "999999_1"])
    assert [c[:2] for c in session.calls[2:]] == [("DELETE", f"/slurm/v0.0.38/job/{A}_2"),
                                                  ("DELETE", "/slurm/v0.0.38/job/999999_1")]


def test_a_refused_submission_says_what_slurm_said() -> None:
    sched, _ = backend({"/job/submit": fx("submit_bad_partition")})
    sched._batch = ("#!/bin/bash\n", {}, "/w")
    with pytest.raises(SchedulerError, match="Invalid partition name specified"):
        sched._submit_chunk("/w/x.sbatch", slurm.arrays.Chunk(0, (0, 1)), "mso.x.main", [[], []])


def test_a_site_cap_on_queued_jobs_is_only_a_policy_violation_through_slurmrestd() -> None:
    """sbatch names the limit (AssocMaxSubmitJobLimit); slurmrestd says only ESLURM_ACCOUNTING_
    POLICY, which a size or time limit gives too: a failure, not a reason to wait."""
    sched, _ = backend({"/job/submit": fx("submit_policy")})
    sched._batch = ("#!/bin/bash\n", {}, "/w")
    with pytest.raises(SchedulerError, match="accounting/QOS policy") as err:
        sched._submit_chunk("/w/x.sbatch", slurm.arrays.Chunk(0, (0, 1)), "mso.x.main", [[], []])
    assert not isinstance(err.value, SubmitLimited)


def test_the_backend_offers_only_the_schedulers_operations() -> None:
    public = {n for n in dir(SlurmRestScheduler) if not n.startswith("_")}
    assert public <= {"render", "submit", "find", "status", "cancel", "admit", "start_estimate",
                      "chains", "held"}


# ---- sbatch options as slurmrestd's job description ---------------------------------------------

def test_the_options_mso_renders_become_job_description_fields() -> None:
    res = Resources(nodes=1, tasks=2, cpus_per_task=3, memory="1.5G", walltime="1:30:00", gpus=1,
                    slurm={"qos": "normal", "requeue": True, "constraint": "a&b"})
    got = properties(slurm.directives(infra(account="mso"), res) + ["--output=/w/.mso/main.%A_%a.out"])
    assert got == {"partition": "debug", "account": "mso", "nodes": [1], "tasks": 2, "cpus_per_task": 3,
                   "memory_per_node": 1536, "time_limit": 90, "gres": "gpu:1", "qos": "normal",
                   "requeue": True, "constraints": "a&b", "standard_output": "/w/.mso/main.%A_%a.out"}


def test_an_option_without_a_field_is_refused_by_name() -> None:
    with pytest.raises(SchedulerError, match="--propagate has no field in slurmrestd"):
        properties(["--propagate=ALL"])


@pytest.mark.parametrize("text, expected", [("90", 90), ("1:30", 2), ("01:30:00", 90), ("2-0", 2880),
                                            ("1-02:03", 1563), ("0-00:00:01", 1)])
def test_sbatch_times_in_minutes(text: str, expected: int) -> None:
    assert minutes(text) == expected


# ---- the declaration ------------------------------------------------------------------------------

INFRA = ("name: c\nkind: {kind}\nhost: h\nuser: u\nknown_hosts: {{env: K}}\nwork_root: /w\n"
         "api: {{url: 'http://login:6820/', token: {{env: SLURM_TOKEN}}}}\n")


def test_a_slurm_infrastructure_with_api_goes_through_slurmrestd() -> None:
    doc = parse(INFRA.format(kind="slurm"), "c.yaml")
    assert schema.check(doc, "infrastructure") == []
    record = construct.infrastructure(doc)
    assert record.api == SlurmApi("http://login:6820", EnvRef("SLURM_TOKEN"))
    assert EnvRef("SLURM_TOKEN") in record.secrets()
    assert context.backend(record) is SlurmRestScheduler
    assert context.backend(infra()) is slurm.SlurmScheduler


def test_only_slurm_takes_an_api() -> None:
    assert schema.check(parse(INFRA.format(kind="pbs"), "c.yaml"), "infrastructure")
