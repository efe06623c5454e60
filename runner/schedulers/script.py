"""The job wrapper every scheduler runs: it records start, end, exit code and peak memory in files
inside the task's work dir, so a run's state never depends on a scheduler or a runner remembering it.
"""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath

from runner import __version__
from runner.containers import runtime
from runner.containers.runtime import Image
from runner.plan.resolve import TaskPlan

META = ".mso"            # the wrapper's files, inside the task's work dir
SCRIPT = f"{META}/job.sh"
EXIT = f"{META}/exit_code"
STDOUT, STDERR = f"{META}/stdout", f"{META}/stderr"
STARTED, ENDED = f"{META}/started", f"{META}/ended"

# The largest resident set of the command and its descendants (kB on Linux) goes to PEAK: GNU
# time costs ~2 ms a task; the Python fallback ~100 ms; without either the command runs unmeasured.
PEAK = f"{META}/peak_memory_kb"
# The CPU time (user and system) of everything the job script started, by bash's `times` builtin
# (no process; its last line: `0m1.250s 0m0.031s`). Older wrappers left no such file.
CPU = f"{META}/cpu_times"
RECORDS = (EXIT, STARTED, ENDED, PEAK, CPU)    # the wrapper's records of the task
RECORDED = (*RECORDS, STDOUT, STDERR)    # what collection fetches back
_MEASURE = (
    "import os,resource,subprocess,sys\n"
    "p=subprocess.run(sys.argv[1:])\n"
    f'open("{PEAK}","w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n'
    "sys.exit(p.returncode if p.returncode>=0 else 128-p.returncode)"
)

# The shell's own clock (printf's %(...)T, bash >= 4.2): no `date` process per task. Seconds since
# the epoch, whatever the host's TZ; collection writes them as UTC ISO 8601.
_NOW = "printf '%(%s)T\\n' -1"

_TIME = re.compile(r"^(?:(\d+)-)?(\d+):(\d\d):(\d\d)$")
_TIMES = re.compile(r"^(\d+)m(\d+)[.,](\d+)s (\d+)m(\d+)[.,](\d+)s$")


def walltime_seconds(walltime: str) -> int:
    """`1-02:03:04` -> seconds."""
    m = _TIME.match(walltime)
    if not m:
        raise ValueError(f"bad walltime {walltime!r}")
    days, h, mi, s = (int(x or 0) for x in m.groups())
    return ((days * 24 + h) * 60 + mi) * 60 + s


def cpu_seconds(times: str | None) -> float | None:
    """User plus system seconds of the children, from `times`' last line (`0m1.250s 0m0.031s`;
    a comma in some locales); None when there is no such line."""
    lines = (times or "").strip().splitlines()
    m = _TIMES.match(lines[-1].strip()) if lines else None
    if not m:
        return None
    um, us, uf, sm, ss, sf = m.groups()
    user = int(um) * 60 + float(f"{us}.{uf}")
    return round(user + int(sm) * 60 + float(f"{ss}.{sf}"), 3)


def _step_inputs(task: TaskPlan) -> list[str]:
    """Outputs of an earlier step on the same host are copied by the job itself, so it can be
    submitted before that step has ended (a scheduler dependency holds it until then)."""
    q = shlex.quote
    lines = []
    for i in task.inputs:
        if i.step_task and i.same_place:
            src, dst = f"../{i.step_task}/{i.step_path}", str(PurePosixPath(i.target).parent)
            lines.append(f"mkdir -p {q(dst)} && cp -r {q(src)} {q(i.target)} || "
                         f"fail 96 {q(f'input {i.name}: {src} is missing')}")
    return lines


def command(task: TaskPlan, work_dir: PurePosixPath, image: Image | None = None) -> list[str]:
    """The task's command: on the host, or through the image's runtime (a clean environment plus
    the application's, the work dir bound and current, GPUs if asked, one container per MPI rank)."""
    if image is None:
        return list(task.argv)
    res = task.resources
    run = runtime.Task(task.argv, str(work_dir), task.environment, gpus=res.gpus or 0,
                       ranks=res.tasks or res.nodes or 1)
    return runtime.get(image.runtime).exec(image, run)


def render(task: TaskPlan, work_dir: PurePosixPath, header: list[str], modules: tuple[str, ...] = (),
           environment: dict[str, str] | None = None, timeout: str | None = None,
           label: str = "", image: Image | None = None) -> str:
    """The whole job script; every value from a declaration is quoted. With an image, the host
    side (modules, the infrastructure's environment, timing, exit code, peak memory) stays
    outside the container and only the command runs in it."""
    q = shlex.quote
    own = {} if image else dict(task.environment)   # in a container: the runtime passes it
    env = {**own, **(environment or {})}
    lines = ["#!/bin/bash", *header, f"# mso {__version__}: {label or task.id}", "set -u",
             f"fail() {{ echo \"mso: $2\" >&2; echo \"$1\" > {EXIT}; exit \"$1\"; }}",
             f"cd {q(str(work_dir))} || exit 97",
             f"{_NOW} > {STARTED}"]
    lines += _step_inputs(task)
    lines += [f"module load {q(m)} || fail 98 {q('module load ' + m + ' failed')}" for m in modules]
    lines += [f"export {k}={q(v)}" for k, v in sorted(env.items())]
    if image:   # the runtimes refuse to work without USER, which a CI job may not set
        lines.append('export USER="${USER:-$(id -un)}"')
    cmd = shlex.join(command(task, work_dir, image))
    if timeout:
        cmd = f"timeout --kill-after=10 {walltime_seconds(timeout)} {cmd}"
    lines += [
        "if [ -x /usr/bin/time ]; then",
        f"  /usr/bin/time -f %M -o {PEAK} {cmd} > {STDOUT} 2> {STDERR}",
        "elif command -v python3 >/dev/null 2>&1; then",
        f"  python3 -c {q(_MEASURE)} {cmd} > {STDOUT} 2> {STDERR}",
        "else",
        f"  {cmd} > {STDOUT} 2> {STDERR}",
        "fi",
        "code=$?",
        f"{_NOW} > {ENDED}",
        f"times > {CPU}",
        # one short write: the file counts once it is not empty (`[ -s ]`), so no rename
        f'echo "$code" > {EXIT}',
        'exit "$code"',
    ]
    return "\n".join(lines) + "\n"
