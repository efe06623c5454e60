"""The Slurm backend through slurmrestd (an infrastructure with `api`): the same job arrays, names
and ids as runner/schedulers/slurm.py, but submitted, watched and cancelled by REST requests
(runner/schedulers/slurm_rest_api.py) instead of sbatch, squeue, sacct and scancel over SSH.
Files (batch scripts, work dirs, results) still move through the transport.

Status is one request per poll: slurmctld's list of the jobs' array (of every job when they
belong to several; filtered on mso's ids here), and only when it no longer lists some of them (they ended more than MinJobAge ago) a second one to
slurmdbd, by the names of their arrays.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from runner.declarations.models import EnvRef, Infrastructure, Resources
from runner.errors import SchedulerError, SubmitLimited
from runner.schedulers import arrays, script, slurm
from runner.schedulers.base import Job, JobStatus
from runner.schedulers.slurm_rest_api import NOTHING_FOUND, SLURM, SLURMDB, RestClient, errors, failure
from runner.schedulers.slurm_rest_jobs import listed, parse_db_jobs, parse_jobs, parse_submit
from runner.schedulers.slurm_rest_submit import body, properties
from runner.transports.base import Offline, Transport

GONE = frozenset({2017, 2021})   # ESLURM_INVALID_JOB_ID, ESLURM_ALREADY_DONE: nothing to cancel
FORGOTTEN = frozenset({2017})    # a job slurmctld no longer lists: slurmdbd is asked


def user_name(infra: Infrastructure) -> str:
    """The user the token is for: the infrastructure's SSH user (read now when from a variable)."""
    from runner.transports.credentials import env_value
    user = infra.user
    return env_value(user.env, "SSH user name") if isinstance(user, EnvRef) else str(user or "")


class SlurmRestScheduler(slurm.SlurmScheduler):
    """Job arrays through slurmrestd: POST job/submit, GET jobs (+ slurmdb jobs), DELETE job."""

    def __init__(self, infra: Infrastructure, transport: Transport, client: RestClient | None = None) -> None:
        super().__init__(infra, transport)
        if infra.api is None:
            raise SchedulerError(f"{infra.path}: infrastructure '{infra.name}' declares no `api`")
        self.api = client or RestClient(infra.api, lambda: user_name(infra))
        self._batch: tuple[str, dict, str] | None = None   # the batch being submitted
        if not isinstance(transport, Offline):   # a bad token or server fails the command at once
            self.api.connect()                   # (a dry run renders scripts without either)

    def status(self, jobs: dict[str, Job]) -> dict[str, JobStatus]:
        if not jobs:
            return {}
        seen = parse_jobs(self.api.call("GET", self._listing(jobs), ok=FORGOTTEN), jobs)
        out = {j: st for j, st in seen.items() if st is not None}
        gone = {j: job for j, job in jobs.items() if j not in seen}
        if gone:   # only what ended is taken: one still running there is the wrapper's to tell
            out.update({j: st for j, st in self._accounted(gone).items() if st.ended})
        return out

    def cancel(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            self.api.call("DELETE", f"{SLURM}/job/{job_id}", ok=GONE)

    def start_estimate(self, res: Resources) -> float | None:
        # slurmrestd (v0.0.38) has no test-only submission, and the login host it is reached
        # beside need not have sbatch: no estimate, rather than sbatch's through the transport
        return None

    @staticmethod
    def _listing(job_ids: Iterable[str]) -> str:
        """What one poll asks: the jobs' array when they all belong to one (slurmctld lists only
        it, however many jobs the cluster holds), else every job of the cluster."""
        groups = {j.split("_")[0] for j in job_ids}
        return f"{SLURM}/job/{groups.pop()}" if len(groups) == 1 else f"{SLURM}/jobs"

    def _accounted(self, jobs: dict[str, Job]) -> dict[str, JobStatus]:
        """slurmdbd's statuses of jobs slurmctld no longer lists, asked by their arrays' names."""
        names = self._names(list(jobs.values()))
        start = min(arrays.run_start(j.name) for j in jobs.values())
        answer = self.api.call("GET", f"{SLURMDB}/jobs", ok=frozenset({NOTHING_FOUND}),
                               params={"job_name": ",".join(sorted(names)), "start_time": start})
        return parse_db_jobs(answer, jobs)

    def _names(self, jobs: list[Job]) -> set[str]:
        """Every array name these jobs (of any runs and steps) may have been submitted under."""
        groups: dict[tuple[str, str], list[Job]] = defaultdict(list)
        for j in jobs:
            groups[(j.name.rsplit(".", 1)[0], j.task.step)].append(j)
        return {n for group in groups.values() for n in arrays.name_offsets(group, self._max_array_size())}

    def _script(self, jobs: list[Job]) -> str:
        """The batch script (written to the host as for sbatch), and its options as slurmrestd's
        job description: slurmrestd ignores `#SBATCH` lines."""
        text = super()._script(jobs)
        run = arrays.run_dir(jobs)
        options = self._directives(jobs[0].task.resources)
        options += self._array_logs(f"{run}/{script.META}", jobs[0].task.step)
        self._batch = (text, properties(options), str(run))
        return text

    def _submit_chunk(self, path: str, chunk: arrays.Chunk, name: str, after: list[list[str]]) -> str:
        if self._batch is None:
            raise SchedulerError(f"{name}: no batch script rendered before submitting")
        text, fields, cwd = self._batch
        request = body(text, fields, cwd, name, chunk, self.infra.max_parallel,
                       slurm.dependency(chunk.relative, after))
        status, answer = self.api.send("POST", f"{SLURM}/job/submit", json=request)
        job_id = parse_submit(answer)
        if job_id is None:
            said = "\n".join([t for _, t in errors(answer)] + [answer.get("job_submit_user_msg") or ""])
            try:   # the words of a site's cap on queued jobs, as sbatch's parser knows them
                slurm.parse_submit(1, "", said)
            except SubmitLimited:
                raise
            except SchedulerError:
                raise failure(f"submitting {name}", status, answer) from None
        return job_id

    def _listed(self, names: list[str], start: str) -> list[arrays.Listed]:
        live = listed(self.api.call("GET", f"{SLURM}/jobs"), names)
        ended = self.api.call("GET", f"{SLURMDB}/jobs", ok=frozenset({NOTHING_FOUND}),
                              params={"job_name": ",".join(names), "start_time": start})
        return live + listed(ended, names, db=True)
