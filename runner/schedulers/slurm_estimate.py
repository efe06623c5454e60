"""Slurm's own estimate of when a task would start: `sbatch --test-only` with the options the
task would get asks slurmctld's scheduler (backfill included) without queueing anything.

The login host's clock says "now" in the same command, and both instants are epoch seconds
(`date +%s`, SLURM_TIME_FORMAT=%s), so the delta is the cluster's own, whatever the time zones
of the cluster and of the runner.
"""

from __future__ import annotations

import re
import shlex

from runner.errors import SchedulerError
from runner.transports.base import Transport

HORIZON = 366 * 86400   # seconds: a later start than this says nothing usable
NOW = "@mso now"   # the line that carries the login host's clock, apart from sbatch's lines
_NOW = re.compile(rf"^{NOW} (\d+)$", re.M)
# sbatch(1)'s info line (slurm_job_will_run); `Unknown` when the scheduler has no start time
# (slurm_make_time_str's word for a time of 0 or INFINITE)
_START = re.compile(r"^sbatch: Job \d+ to start at (\S+)", re.M)
# prefixes of sbatch's refusal lines: its own errors, and slurm_perror("allocation failure")
_REFUSAL = re.compile(r"^(?:sbatch: error: |allocation failure: |Batch job submission failed: )+")


def estimate_command(options: list[str]) -> str:
    """The login host's clock, then sbatch --test-only of a trivial job with these options;
    sbatch's messages on stdout, its exit code the command's."""
    sbatch = shlex.join(["sbatch", "--test-only", *options, "--wrap=true"])
    return f"date {shlex.quote('+' + NOW + ' %s')}; SLURM_TIME_FORMAT=%s {sbatch} 2>&1"


def parse_estimate(code: int, stdout: str, stderr: str = "") -> float | None:
    """estimate_command's output -> seconds until the start (0 when already due), None when
    Slurm has no start time; a SchedulerError in one line when sbatch refused or said nothing
    readable."""
    said = [ln.strip() for ln in (stdout + "\n" + stderr).splitlines()
            if ln.strip() and not ln.startswith(NOW)]
    if code != 0:
        reasons = dict.fromkeys(_REFUSAL.sub("", ln) for ln in said)   # in order, once each
        raise SchedulerError("sbatch --test-only refused the request: "
                             + ("; ".join(reasons) or f"exit code {code}, no message"))
    now, start = _NOW.search(stdout), _START.search(stdout)
    if start and start.group(1) == "Unknown":
        return None
    if not (now and start and start.group(1).isdigit()):
        raise SchedulerError("sbatch --test-only gave no start time: " + (" | ".join(said) or "no output"))
    # a start before `now` (the login host's clock a little ahead of slurmctld's) is now; one
    # centuries away (seen under a filled node: 15 x 2^30 s ahead) is no estimate at all
    ahead = max(0, int(start.group(1)) - int(now.group(1)))
    return float(ahead) if ahead <= HORIZON else None


def estimate(transport: Transport, options: list[str]) -> float | None:
    """Slurm's estimate for a task with these sbatch options, asked through the transport; asked
    again once when it has none (once in a while slurmctld answers a start centuries away)."""
    for _ in range(2):
        answer = transport.run(estimate_command(options))
        found = parse_estimate(answer.code, answer.stdout, answer.stderr)
        if found is not None:
            return found
    return None
