"""Torque: the PBS backend with Torque's dialect: `qsub -t` arrays (lists and a `%` slot limit),
`-l nodes=N:ppn=C`, `qstat -f -t` text (no JSON, no -x: finished jobs stay for keep_completed),
its own state letters and exit statuses. Queue, account and walltime lines are PBS's own.
"""

from __future__ import annotations

from runner.declarations.models import Infrastructure, Resources
from runner.schedulers import arrays, pbs, states


def directives(infra: Infrastructure, res: Resources) -> list[str]:
    """The qsub options every task of a step shares (Torque)."""
    nodes = res.nodes or 1
    ppn = -(-(res.tasks or 1) // nodes) * (res.cpus_per_task or 1)
    gpus = f":gpus={int(res.gpus)}" if res.gpus else ""
    opts = pbs.queue_account(infra)
    if res.nodes or res.tasks or res.cpus_per_task or res.gpus:
        opts.append(f"-l nodes={nodes}:ppn={ppn}{gpus}")
    if res.memory:
        opts.append(f"-l mem={arrays.memory_mb(res.memory) * nodes}mb")
    return opts + pbs.walltime(res) + pbs.passthrough(res.pbs, "torque")[0]


class TorqueScheduler(pbs.PbsScheduler):
    """qsub -t job arrays, qstat -f -t status, qdel."""

    _STATES, _EXITS = states.TORQUE, states.TORQUE_EXIT
    # PBS_ARRAYID on Torque; SLURM_ARRAY_TASK_ID under Slurm's Torque wrappers (slurm-wlm-torque)
    _INDEX_VARS = ("PBS_ARRAYID", "SLURM_ARRAY_TASK_ID")
    _HISTORY = ()
    _JSON = False   # Torque's qstat has no JSON output

    def _directives(self, res: Resources) -> list[str]:
        return directives(self.infra, res)

    def _array_logs(self, logs: str, step: str) -> list[str]:
        return ["-j oe", f"-o {logs}/"]   # a folder: Torque names each file <job name>.o<id>-<index>

    def _array(self, relative: tuple[int, ...]) -> list[str]:
        limit = f"%{self.infra.max_parallel}" if self.infra.max_parallel else ""
        return ["-t", f"{arrays.compress(relative)}{limit}"]
