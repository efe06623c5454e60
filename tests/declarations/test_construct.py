"""Every key a schema allows reaches a frozen record: schema and models cannot drift apart."""

from __future__ import annotations

import pytest

from runner.declarations import construct, schema
from runner.declarations.models import (Container, EnvRef, LogFilter, OpenStack, PlotSpec,
                                       Resources, ResultFile, plain)
from runner.declarations.yamlload import parse

RESOURCES = ("{nodes: 1, tasks: 2, cpus_per_task: 3, gpus: 0, memory: 2G, walltime: '00:10:00', "
             "slurm: {qos: short}, pbs: {place: scatter}}")
FULL = {
    "application": f"""\
name: a
version: "1.0"
description: d
owners: [ana]
license: MIT
homepage: https://example.org
container: {{image: "registry/x:1"}}
command: [run, "{{n}}", "{{inputs.data}}"]
parameters: {{type: object, properties: {{n: {{type: integer, default: 1}}}}}}
inputs: {{data: {{description: d, optional: true}}}}
outputs: [out/*.json]
volatile: {{out/*.json: [seconds, "timing.*"]}}
results: [{{file: out/summary.json, fields: [error]}}]
logs: [{{path: a.log, filters: [{{pattern: "^s", severity: OK, verbosity: 1, progress: "+1"}}]}}]
expected_steps: 10
environment: {{OMP_NUM_THREADS: "1"}}
resources: {RESOURCES}
""",
    "dataset": """\
name: d
description: d
location: "remote:bucket/x"
sha256: "0000000000000000000000000000000000000000000000000000000000000000"
size: 1
manifest: {a.txt: "0000000000000000000000000000000000000000000000000000000000000000"}
format: json
licence: CC0-1.0
visibility: private
owners: [ana]
access: write to ana
credentials: {RCLONE_CONFIG_X_PASS: {env: X_PASS}}
produced_by: {experiment: e, run: r1, task: t, commit: abc, image: "sha256:00"}
""",
    "infrastructure": """\
name: c
description: d
kind: slurm
host: login.example.org
port: 2222
user: {env: U}
key: {env: K}
password: {env: P}
known_hosts: {env: H}
jump_host: me@bastion:22
work_root: /scratch
data_access: direct
partition: thin
queue: q
account: acc
modules: [apptainer]
container_runtime: apptainer
volumes: [/data, "/ref:/mnt/ref:ro"]
gpu_vendor: amd
limits: {max_parallel: 2, max_array_size: 100, max_submitted: 500, max_walltime: "1-00:00:00"}
poll_interval: {min: 1, max: 30}
api: {url: "https://login.example.org:6820", token: {env: T}}
keep_workdir: true
environment: {A: b}
""",
    "experiment": f"""\
name: e
description: d
owners: [ana]
application: a@1.0
infrastructure: c
parameters: {{n: 2}}
matrix: {{n: [1, 2], exclude: [{{n: 2}}]}}
inputs: {{data: d}}
resources: {RESOURCES}
steps:
  - name: s
    application: a
    infrastructure: local
    parameters: {{n: 3}}
    inputs: {{data: {{step: t, path: out/x}}}}
    resources: {{tasks: 1}}
    needs: [t]
  - {{name: t}}
keep_workdir: false
tags: [x]
outputs: {{remote: "dav:out", credentials: {{RCLONE_CONFIG_DAV_PASS: {{env: DAV_PASS}}}}, licence: CC0-1.0}}
publish_outputs: true
plots: [{{x: n, y: error, logx: true, logy: false, title: t}}]
""",
}


# keys that no FULL document can hold beside the others (another kind's only)
MORE = {"infrastructure": ["""\
name: o
kind: openstack
user: debian
key: {env: K}
work_root: mso
bandwidth: 1 Gbit/s
openstack: {cloud: c, image: i, flavor: f, network: n, key_pair: k, max_servers: 3,
            keep_for: 30m, boot_timeout: 1h30m}
"""], "experiment": ["""\
name: placed
application: heat
infrastructure: [cluster, cloud]
placement: first
steps:
  - {name: prepare, infrastructure: cluster}
  - {name: solve, needs: [prepare]}
"""]}


@pytest.mark.parametrize("kind", schema.KINDS)
def test_every_schema_key_is_built(kind: str) -> None:
    docs = [parse(text, f"{kind}.yaml") for text in (FULL[kind], *MORE.get(kind, []))]
    for doc in docs:
        assert schema.check(doc, kind) == []
        record = construct.BUILDERS[kind](doc)
        assert plain(record)["name"] == doc.data["name"]
    assert {k for doc in docs for k in doc.data} == set(schema.schema(kind)["properties"]), \
        "cover every key"


def test_an_openstack_declaration_is_built() -> None:
    infra = construct.infrastructure(parse(MORE["infrastructure"][0], "o.yaml"))
    assert infra.openstack == OpenStack(image="i", flavor="f", network="n", key_pair="k",
                                        cloud="c", max_servers=3, keep_for=1800.0,
                                        boot_timeout=5400.0)
    assert infra.secrets() == [EnvRef("K")]
    assert infra.bandwidth == 125e6, "1 Gbit/s in bytes per second"
    assert construct.rate("2.5 MB/s") == 2.5e6 and construct.rate("800kbit/s") == 1e5


def test_candidate_infrastructures_are_built() -> None:
    exp = construct.experiment(parse(MORE["experiment"][0], "placed.yaml"))
    assert (exp.infrastructure, exp.candidates, exp.placement) == \
        ("cluster", ("cluster", "cloud"), "first")
    prepare, solve = exp.steps
    assert (prepare.infrastructure, prepare.candidates, prepare.places) == \
        ("cluster", (), ("cluster",))
    assert (solve.infrastructure, solve.candidates) == ("cluster", ("cluster", "cloud"))
    one = construct.experiment(parse("name: one\napplication: heat\ninfrastructure: c\n", "o.yaml"))
    assert (one.candidates, one.placement, one.steps[0].places) == ((), None, ("c",))


def test_built_values() -> None:
    app = construct.application(parse(FULL["application"], "a.yaml"))
    assert app.container == Container(image="registry/x:1")
    assert dict(app.volatile) == {"out/*.json": ("seconds", "timing.*")}
    assert app.logs[0].filters == (LogFilter("^s", "OK", 1, "+1"),)
    assert app.resources == Resources(1, 2, 3, 0, "2G", "00:10:00", app.resources.slurm,
                                      app.resources.pbs)
    assert dict(app.resources.slurm) == {"qos": "short"}
    assert app.results == (ResultFile("out/summary.json", ("error",)),)
    infra = construct.infrastructure(parse(FULL["infrastructure"], "c.yaml"))
    assert (infra.max_parallel, infra.poll_min, infra.user) == (2, 1.0, EnvRef("U"))
    assert (infra.volumes, infra.gpu_vendor) == (("/data", "/ref:/mnt/ref:ro"), "amd")
    exp = construct.experiment(parse(FULL["experiment"], "e.yaml"))
    assert (exp.application, exp.application_version) == ("a", "1.0")
    assert exp.plots == (PlotSpec("n", "error", None, True, False, "t"),)
    assert exp.matrix == (("n", (1, 2)),) and dict(exp.exclude[0]) == {"n": 2}
    assert [s.infrastructure for s in exp.steps] == ["local", "c"]
    assert exp.steps[0].inputs["data"].step == "t"
