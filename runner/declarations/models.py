"""Frozen records of validated declarations; nothing after validation touches raw dicts."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# the helpers every record is built with, importable from here as before
from runner.declarations.frozen import EMPTY, LATER, NOT_PLAIN, freeze, plain  # noqa: F401

MAIN = "main"   # the one step of an experiment written without `steps:`


@dataclass(frozen=True)
class EnvRef:
    """A value held by an environment variable; only the variable's name is ever stored."""

    env: str


@dataclass(frozen=True)
class Resources:
    nodes: int | None = None
    tasks: int | None = None
    cpus_per_task: int | None = None
    gpus: int | None = None
    memory: str | None = None
    walltime: str | None = None
    slurm: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    pbs: Mapping[str, Any] = field(default_factory=lambda: EMPTY)

    def over(self, base: "Resources") -> "Resources":
        """These resources, falling back to `base` for what is unset."""
        values = {}
        for f in dataclasses.fields(self):
            mine, theirs = getattr(self, f.name), getattr(base, f.name)
            if isinstance(mine, Mapping):
                values[f.name] = MappingProxyType({**theirs, **mine})
            else:
                values[f.name] = theirs if mine is None else mine
        return Resources(**values)


@dataclass(frozen=True)
class LogFilter:
    """One filter of a log (MSO4SC's format): `action` says how `pattern` applies to a line
    (runner/declarations/patterns.py); `skip` drops the lines it matches; `attributes` are the
    filter's other keys, kept with each line it matches; `where` (any value whose str() is
    `file:line:col`) is where its pattern is written, for messages, and only for them."""

    pattern: str
    severity: str = "INFO"
    verbosity: int = 0
    progress: float | str | None = None
    action: str = field(default="match", metadata=LATER)
    skip: bool = field(default=False, metadata=LATER)
    attributes: Mapping[str, Any] = field(default_factory=lambda: EMPTY, metadata=LATER)
    where: Any = field(default=None, compare=False, repr=False, metadata=NOT_PLAIN)

    def __post_init__(self) -> None:
        if not isinstance(self.attributes, MappingProxyType):   # read back from plan.json
            object.__setattr__(self, "attributes", freeze(dict(self.attributes)))


@dataclass(frozen=True)
class LogSpec:
    """A log file of a task (MSO4SC's `filename`) and its filters; `where`: as LogFilter's."""

    path: str
    filters: tuple[LogFilter, ...] = ()
    where: Any = field(default=None, compare=False, repr=False, metadata=NOT_PLAIN)


@dataclass(frozen=True)
class ImageRegistry:
    """Where images are pushed and pulled when not GitLab's own registry; secrets by name only."""

    image: str                     # HOST[:PORT]/PATH; images go to <image>/<application>:<tag>
    username: EnvRef | None = None
    password: EnvRef | None = None


@dataclass(frozen=True)
class Container:
    """A ready image (`image`), or a recipe to build (`dockerfile` or `definition`)."""

    image: str | None = None
    dockerfile: str | None = None
    definition: str | None = None
    context: str | None = None
    args: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    registry: ImageRegistry | None = None

    @property
    def recipe(self) -> str | None:
        """The recipe's path (relative to the repository), if the image is built."""
        return self.dockerfile or self.definition


@dataclass(frozen=True)
class InputSpec:
    description: str = ""
    optional: bool = False


@dataclass(frozen=True)
class ResultFile:
    """A file of a task holding its result metrics: a JSON object of scalars or a CSV with a
    header (its last row); `fields` keeps only those metrics."""

    file: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Application:
    name: str
    version: str
    description: str
    command: tuple[str, ...]
    parameters: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    inputs: Mapping[str, InputSpec] = field(default_factory=lambda: EMPTY)
    outputs: tuple[str, ...] = ()
    # output path or glob -> fields of that JSON output that vary from run to run (timings):
    # `mso rerun --verify` tells a difference there apart from a changed result
    volatile: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: EMPTY)
    logs: tuple[LogSpec, ...] = ()
    results: tuple[ResultFile, ...] = ()
    environment: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    resources: Resources = Resources()
    container: Container | None = None
    owners: tuple[str, ...] = ()
    license: str | None = None
    homepage: str | None = None
    expected_steps: int | None = None
    path: str = ""

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def defaults(self) -> dict[str, Any]:
        """Parameter defaults from the parameter schema."""
        props = self.parameters.get("properties", EMPTY)
        return {k: p["default"] for k, p in props.items() if isinstance(p, Mapping) and "default" in p}


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    location: str
    sha256: str | None = None
    size: int | None = None
    manifest: Mapping[str, str] | None = None   # a folder's files: relative path -> sha256
    format: str | None = None
    licence: str | None = None
    visibility: str = "public"
    owners: tuple[str, ...] = ()
    access: str | None = None
    # rclone settings: a secret as an EnvRef, a setting that is not secret as its value
    credentials: Mapping[str, EnvRef | str] = field(default_factory=lambda: EMPTY)
    produced_by: Mapping[str, str] | None = None   # experiment, run, task, commit, image
    path: str = ""

    @property
    def in_repository(self) -> bool:
        return is_repo_path(self.location)


def is_repo_path(location: str) -> bool:
    """Whether a dataset location is a path inside the repository (not a URL or an rclone remote)."""
    return "://" not in location and ":" not in location.split("/")[0]


@dataclass(frozen=True)
class SlurmApi:
    """A Slurm site's slurmrestd: where it listens, and the variable holding a JWT for it."""

    url: str
    token: EnvRef


@dataclass(frozen=True)
class OpenStack:
    """An `openstack` infrastructure's cloud and the servers made for each run."""

    image: str
    flavor: str
    network: str
    key_pair: str
    cloud: str | None = None               # an entry of clouds.yaml
    auth: tuple[str, ...] = ()             # or: the OS_* variables holding the credentials
    count: int | None = None
    max_servers: int | None = None
    keep_for: float = 0.0                  # seconds a server is kept for the next run
    boot_timeout: float = 600.0


@dataclass(frozen=True)
class Infrastructure:
    name: str
    kind: str
    description: str = ""
    host: str | None = None
    port: int = 22
    user: str | EnvRef | None = None
    key: EnvRef | None = None
    password: EnvRef | None = None
    known_hosts: EnvRef | None = None
    jump_host: str | None = None
    work_root: str = ".mso/work"
    data_access: str = "relayed"     # or "direct": rclone runs on the host itself
    partition: str | None = None
    queue: str | None = None
    account: str | None = None
    modules: tuple[str, ...] = ()
    container_runtime: str = "none"
    volumes: tuple[str, ...] = ()     # host folders bound into containers: /SRC[:/DST][:ro]
    gpu_vendor: str = "nvidia"
    max_parallel: int | None = None
    max_array_size: int | None = None
    max_submitted: int | None = None   # the site's cap on queued jobs (MaxSubmitJobs)
    max_walltime: str | None = None
    poll_min: float = 1.0
    poll_max: float = 60.0
    keep_workdir: bool = False
    environment: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    # submit, status and cancel through slurmrestd (files still through the SSH transport)
    api: SlurmApi | None = field(default=None, metadata=LATER)
    openstack: OpenStack | None = field(default=None, metadata=LATER)
    # a server mso made: the host keys its console printed (known_hosts lines), not declared
    host_keys: str | None = field(default=None, metadata=LATER)
    # what placement assumes for stage-in there until a copy was measured, bytes per second
    bandwidth: float | None = field(default=None, metadata=LATER)
    path: str = ""

    def secrets(self) -> list[EnvRef]:
        """The environment variables this infrastructure needs to be reached."""
        token = self.api.token if self.api else None
        cloud = [EnvRef(name) for name in self.openstack.auth] if self.openstack else []
        return [v for v in (self.user, self.key, self.password, self.known_hosts, token, *cloud)
                if isinstance(v, EnvRef)]


LOCAL = Infrastructure(name="local", kind="local",
                       description="This machine (the embedded default).", path="(built in)")


@dataclass(frozen=True)
class InputBinding:
    dataset: str | None = None
    step: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class Step:
    name: str
    application: str
    infrastructure: str
    parameters: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    inputs: Mapping[str, InputBinding] = field(default_factory=lambda: EMPTY)
    resources: Resources = Resources()
    needs: tuple[str, ...] = ()
    # `infrastructure: [a, b]`: where it may run, in declared order (`infrastructure` is the
    # first until runner/placement/ chooses); empty when it names one
    candidates: tuple[str, ...] = field(default=(), metadata=LATER)

    @property
    def places(self) -> tuple[str, ...]:
        """Every infrastructure this step may run on."""
        return self.candidates or (self.infrastructure,)


@dataclass(frozen=True)
class OutputsTarget:
    """Where an experiment's outputs too large for `results/` go."""

    remote: str
    credentials: Mapping[str, EnvRef | str] = field(default_factory=lambda: EMPTY)
    licence: str | None = None


@dataclass(frozen=True)
class PlotSpec:
    """A plot on the experiment's page: metric `y` against `x`, a line per value of `group`."""

    x: str
    y: str
    group: str | None = None
    logx: bool = False
    logy: bool = False
    title: str | None = None


@dataclass(frozen=True)
class Experiment:
    name: str
    application: str
    steps: tuple[Step, ...]
    application_version: str | None = None
    infrastructure: str = "local"
    description: str = ""
    owners: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    matrix: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    exclude: tuple[Mapping[str, Any], ...] = ()
    inputs: Mapping[str, InputBinding] = field(default_factory=lambda: EMPTY)
    resources: Resources = Resources()
    keep_workdir: bool | None = None
    tags: tuple[str, ...] = ()
    outputs: OutputsTarget | None = None
    publish_outputs: bool = False
    plots: tuple[PlotSpec, ...] = ()
    path: str = ""
    # as Step.candidates, for the experiment's own list; with it, `auto` (the default) or `first`
    candidates: tuple[str, ...] = field(default=(), metadata=LATER)
    placement: str | None = field(default=None, metadata=LATER)

    @property
    def implicit(self) -> bool:
        """Whether the experiment has no `steps:` (its one step is the experiment itself)."""
        return len(self.steps) == 1 and self.steps[0].name == MAIN

    def applies_to(self, step: Step) -> bool:
        """Whether the experiment-level values (parameters, inputs, resources) reach `step`:
        only steps that run the experiment's application get them."""
        return step.application == self.application

    def bindings(self, step: Step) -> dict[str, InputBinding]:
        """A step's input bindings: the experiment's (if they reach it), then the step's own."""
        bound = dict(self.inputs) if self.applies_to(step) else {}
        bound.update(step.inputs)
        return bound


@dataclass(frozen=True)
class Repository:
    """Every validated declaration of one repository."""

    root: str
    applications: Mapping[str, Application] = field(default_factory=dict)
    datasets: Mapping[str, Dataset] = field(default_factory=dict)
    infrastructures: Mapping[str, Infrastructure] = field(default_factory=dict)
    experiments: Mapping[str, Experiment] = field(default_factory=dict)

    def infrastructure(self, name: str) -> Infrastructure:
        """The named infrastructure; `local` exists even when no file declares it."""
        if name == "local" and name not in self.infrastructures:
            return LOCAL
        return self.infrastructures[name]
