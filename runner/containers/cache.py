"""The image cache on an infrastructure: `<work_root>/.images/<digest hex>[.sif]`, filled on the
login side, once per digest, before any job is submitted; compute nodes only read it.

One shell command does it all (a builder and a pure parser of its answer, as for schedulers):
load the infrastructure's modules and set its environment (the runtime's own settings: a CA
bundle, a proxy, a cache folder), check that the runtime's tools exist (the first command on a
host that lacks them says so, before anything is submitted), take a lock per digest (`flock`:
two runners wanting the same image pull it once), and, unless the entry exists, pull into
`<hex>.part/` and `mv` the finished image to its entry. A pull that is interrupted leaves only
`<hex>.part/`, which the next fetch removes: the entry appears whole or not at all.

Registry credentials go down the command's stdin and into shell variables that only the pull's
own environment receives; they are never on a command line, in a file or in a message.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from runner.containers.reference import Reference
from runner.containers.runtime import PASSWORD_VAR, USER_VAR, Runtime
from runner.errors import ContainerError
from runner.transports.base import Result, Transport

FOLDER = ".images"
PULLED, CACHED = "mso-image: pulled", "mso-image: cached"
NO_TOOL, NO_MODULE, NO_FOLDER = 91, 98, 92   # the command's own exit codes
TAIL = 12
MASK = "[MASKED]"


@dataclass(frozen=True)
class HostSetup:
    """What the infrastructure declares for its host side: modules to load, variables to set."""

    modules: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fetched:
    """A cache entry on one host, and whether this fetch pulled it."""

    path: str
    pulled: bool


def entry_path(work_root: str, runtime: Runtime, digest: str) -> str:
    """Where an image of that digest is kept under a work root."""
    return f"{work_root.rstrip('/')}/{FOLDER}/{runtime.entry(digest)}"


def fetch_command(work_root: str, runtime: Runtime, ref: Reference, *, auth: bool,
                  sif: bool = False, setup: HostSetup = HostSetup(),
                  mount_points: tuple[str, ...] = ()) -> str:
    """The one command that makes the cache entry for `ref` (pinned by digest) exist."""
    q = shlex.quote
    hexdigest = ref.digest.split(":", 1)[1]
    folder = f"{work_root.rstrip('/')}/{FOLDER}"
    # absolute: ch-image refuses a relative storage folder
    entry, part = f"{folder}/{runtime.entry(ref.digest)}", f"{folder}/{hexdigest}.part"
    pull = runtime.pull(ref.pinned, f"{part}/image", part, auth, sif)
    lines = [f"module load {q(m)} || {{ echo {q(f'mso: module load {m} failed')} >&2; "
             f"exit {NO_MODULE}; }}" for m in setup.modules]
    lines += [f"export {k}={q(v)}" for k, v in sorted(setup.environment.items())]
    # ch-image refuses to work without USER, which a CI job or a service may not set
    lines.append('export USER="${USER:-$(id -un)}"')
    lines += [f"for t in {' '.join(runtime.tools)}; do command -v \"$t\" >/dev/null 2>&1 || "
              f"{{ echo \"mso: $t: not found\" >&2; exit {NO_TOOL}; }}; done"]
    if auth:
        lines.append(f"IFS= read -r {USER_VAR} && IFS= read -r {PASSWORD_VAR} || exit {NO_FOLDER}")
    lines += [
        f"mkdir -p {q(folder)} && exec 9>>{q(f'{folder}/{hexdigest}.lock')} || exit {NO_FOLDER}",
        # waits while another runner pulls the same digest; then its entry is there
        "if command -v flock >/dev/null 2>&1; then flock 9; fi",
        f"if [ -e {q(entry)} ]; then {_mkdirs(entry, mount_points)}echo {q(CACHED)}; exit 0; fi",
        # what an interrupted pull left (under the lock nobody else is writing it)
        f"rm -rf {q(part)} && mkdir {q(part)} || exit {NO_FOLDER}",
        f"{{ {pull} ; }} && {_mkdirs(part + '/image', mount_points)}mv -T {q(part + '/image')} {q(entry)} "
        f"&& rm -rf {q(part)} && echo {q(PULLED)} && exit 0",
        f"code=$? ; rm -rf {q(part)} ; exit $code",
    ]
    return "\n".join(lines)


def _mkdirs(image: str, mount_points: tuple[str, ...]) -> str:
    """`mkdir -p` of the mount points inside a directory image, chained with `&&`."""
    if not mount_points:
        return ""
    return f"mkdir -p {' '.join(shlex.quote(image + p) for p in mount_points)} && "


def parse_fetch(res: Result, what: str, where: str, hide: tuple[str, ...] = ()) -> bool:
    """Whether the image was pulled (False: it was cached); a ContainerError saying why not."""
    out = res.stdout.strip().splitlines()
    if res.code == 0 and out and out[-1] in (PULLED, CACHED):
        return out[-1] == PULLED
    said = [_masked(line, hide) for line in (res.stderr + res.stdout).strip().splitlines()]
    if res.code == NO_TOOL:
        missing = next((ln.split(":")[1].strip() for ln in said if ln.endswith(": not found")), "?")
        raise ContainerError(f"{where}: {missing} is not found there, so it cannot run images "
                             "(install the runtime, or name its module under `modules:`)")
    if res.code == NO_MODULE:
        raise ContainerError(f"{where}: {said[-1] if said else 'module load failed'}")
    body = "\n".join("    " + ln for ln in said[-TAIL:]) or "    (no output)"
    raise ContainerError(f"{where}: fetching {what} failed (exit code {res.code}); its last "
                         f"lines:\n{body}")


def fetch(transport: Transport, work_root: str, runtime: Runtime, ref: Reference, where: str, *,
          creds: tuple[str, str] | None = None, sif: bool = False,
          setup: HostSetup = HostSetup(), mount_points: tuple[str, ...] = ()) -> Fetched:
    """Make the cache entry for `ref` exist on the host (pulling it at most once)."""
    cmd = fetch_command(work_root, runtime, ref, auth=creds is not None, sif=sif, setup=setup,
                        mount_points=mount_points)
    stdin = f"{creds[0]}\n{creds[1]}\n" if creds else ""   # never the runner's own stdin
    res = transport.run(cmd, stdin=stdin)
    pulled = parse_fetch(res, ref.pinned, where, tuple(creds or ()))
    return Fetched(entry_path(work_root, runtime, ref.digest), pulled)


def _masked(line: str, hide: tuple[str, ...]) -> str:
    for value in hide:
        if value:
            line = line.replace(value, MASK)
    return line
