"""Torque: the PBS backend with Torque's dialect: `qsub -t` arrays (lists and a `%` slot limit),
`-l nodes=N:ppn=C`, `qstat -f -t` text (no JSON, no -x: finished jobs stay for keep_completed),
its own state letters and exit statuses.
"""

from __future__ import annotations

from runner.schedulers import arrays, script, states
from runner.schedulers.base import Job
from runner.schedulers.pbs import PbsScheduler, passthrough
from runner.spec.models import Resources

class TorqueScheduler(PbsScheduler):
    """qsub -t job arrays, qstat -f -t status, qdel."""

    STATES, EXITS = states.TORQUE, states.TORQUE_EXIT
    # PBS_ARRAYID on Torque; SLURM_ARRAY_TASK_ID under Slurm's Torque wrappers (slurm-wlm-torque)
    INDEX_VARS = ("PBS_ARRAYID", "SLURM_ARRAY_TASK_ID")
    HISTORY = ()
    JSON = False   # Torque's qstat has no JSON output

    def directives(self, res: Resources) -> list[str]:
        infra = self.infra
        queue = infra.queue or infra.partition
        opts = [f"-q {arrays.safe('queue', queue)}"] if queue else []
        opts += [f"-A {arrays.safe('account', infra.account)}"] if infra.account else []
        nodes = res.nodes or 1
        ppn = -(-(res.tasks or 1) // nodes) * (res.cpus_per_task or 1)
        gpus = f":gpus={int(res.gpus)}" if res.gpus else ""
        if res.nodes or res.tasks or res.cpus_per_task or res.gpus:
            opts.append(f"-l nodes={nodes}:ppn={ppn}{gpus}")
        if res.memory:
            opts.append(f"-l mem={arrays.memory_mb(res.memory) * nodes}mb")
        if res.walltime:
            opts.append(f"-l walltime={arrays.hms(script.walltime_seconds(res.walltime))}")
        return opts + passthrough(res.pbs, "torque")[0]

    def array_logs(self, jobs: list[Job]) -> list[str]:
        # a folder: Torque names each element's file <job name>.o<id>-<index>
        return ["-j oe", f"-o {arrays.safe('run dir', str(arrays.run_dir(jobs)))}/{script.META}/"]

    def array_args(self, relative: tuple[int, ...]) -> list[str]:
        limit = f"%{self.infra.max_parallel}" if self.infra.max_parallel else ""
        return [f"-t {arrays.compress(relative)}{limit}"]
