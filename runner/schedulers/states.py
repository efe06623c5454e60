"""Native scheduler states and exit statuses mapped to mso's State, one table per scheduler, each
entry beside the words of the scheduler's own man page (squeue(1)/sacct(1) of Slurm 22.05, qstat(1B)
of PBS Professional / OpenPBS, qstat(1) and the job exit status page of Torque 6).

A state that is not in a table means "keep watching", never "done".
"""

from __future__ import annotations

from dataclasses import dataclass

from runner.state import State


@dataclass(frozen=True)
class Native:
    """What a native state means to mso, and the man page's words for it."""

    state: State
    reason: str | None
    doc: str          # the man page's description of the native state


_Q, _R, _OK, _F, _C = State.QUEUED, State.RUNNING, State.SUCCEEDED, State.FAILED, State.CANCELLED

# Slurm: squeue(1) and sacct(1), "JOB STATE CODES" (22.05).
# The reason of a plain failure: it says less than the wrapper's exit code, which replaces it.
GENERIC_FAILURE = "the job failed"
OUT_OF_MEMORY = "out of memory"

SLURM: dict[str, Native] = {
    "BOOT_FAIL": Native(_F, "node failed to boot", "Job terminated due to launch failure, typically due to a hardware failure (e.g. unable to boot the node or block and the job can not be requeued)."),
    "CANCELLED": Native(_C, "cancelled by the scheduler or a user", "Job was explicitly cancelled by the user or system administrator. The job may or may not have been initiated."),
    "COMPLETED": Native(_OK, None, "Job has terminated all processes on all nodes with an exit code of zero."),
    "CONFIGURING": Native(_Q, "nodes are being configured", "Job has been allocated resources, but are waiting for them to become ready for use (e.g. booting)."),
    "COMPLETING": Native(_R, "completing", "Job is in the process of completing. Some processes on some nodes may still be active."),
    "DEADLINE": Native(_F, "deadline reached", "Job terminated on deadline."),
    "FAILED": Native(_F, GENERIC_FAILURE, "Job terminated with non-zero exit code or other failure condition."),
    "NODE_FAIL": Native(_F, "node failure", "Job terminated due to failure of one or more allocated nodes."),
    "OUT_OF_MEMORY": Native(_F, OUT_OF_MEMORY, "Job experienced out of memory error."),
    "PENDING": Native(_Q, None, "Job is awaiting resource allocation."),
    "PREEMPTED": Native(_F, "preempted", "Job terminated due to preemption."),
    "RUNNING": Native(_R, None, "Job currently has an allocation."),
    "RESV_DEL_HOLD": Native(_Q, "held: its reservation was deleted", "Job is being held after requested reservation was deleted."),
    "REQUEUE_FED": Native(_Q, "requeued by the federation", "Job is being requeued by a federation."),
    "REQUEUE_HOLD": Native(_Q, "requeued and held", "Held job is being requeued."),
    "REQUEUED": Native(_Q, "requeued", "Completing job is being requeued. (sacct: Job was requeued.)"),
    "RESIZING": Native(_R, "resizing", "Job is about to change size."),
    "REVOKED": Native(_C, "revoked: a sibling started on another cluster of the federation", "Sibling was removed from cluster due to other cluster starting the job."),
    "SIGNALING": Native(_R, "being signalled", "Job is being signaled."),
    "SPECIAL_EXIT": Native(_Q, "requeued in special-exit state (held until released)", "The job was requeued in a special state. This state can be set by users, typically in EpilogSlurmctld, if the job has terminated with a particular exit value."),
    "STAGE_OUT": Native(_R, "staging out", "Job is staging out files."),
    "STOPPED": Native(_R, "stopped (SIGSTOP), allocation kept", "Job has an allocation, but execution has been stopped with SIGSTOP signal. CPUS have been retained by this job."),
    "SUSPENDED": Native(_Q, "suspended, CPUs released", "Job has an allocation, but execution has been suspended and CPUs have been released for other jobs."),
    "TIMEOUT": Native(_F, "walltime exceeded", "Job terminated upon reaching its time limit."),
}

# PBS Professional / OpenPBS: qstat(1B), "The job's state". F and X end a job: the exit status
# (PBS_PRO_EXIT) tells how.
PBS_PRO: dict[str, Native] = {
    "B": Native(_R, None, "Array job has at least one subjob running"),
    "E": Native(_R, "exiting", "Job is exiting after having run"),
    "F": Native(_OK, None, "Job is finished"),
    "H": Native(_Q, "held", "Job is held"),
    "M": Native(_Q, "moved to another server", "Job was moved to another server"),
    "Q": Native(_Q, None, "Job is queued"),
    "R": Native(_R, None, "Job is running"),
    "S": Native(_Q, "suspended", "Job is suspended"),
    "T": Native(_Q, "being moved", "Job is being moved to new location"),
    "U": Native(_Q, "suspended (cycle harvesting)", "Cycle-harvesting job is suspended due to keyboard activity"),
    "W": Native(_Q, "waiting for its start time", "Job is waiting for its submitter-assigned start time to be reached"),
    "X": Native(_OK, None, "Subjob has completed execution or has been deleted"),
}

# Torque: qstat(1), "the job state". C ends a job: the exit status (TORQUE_EXIT) tells how.
TORQUE: dict[str, Native] = {
    "C": Native(_OK, None, "Job is completed after having run"),
    "E": Native(_R, "exiting", "Job is exiting after having run"),
    "H": Native(_Q, "held", "Job is held"),
    "Q": Native(_Q, None, "Job is queued, eligible to run or routed"),
    "R": Native(_R, None, "Job is running"),
    "T": Native(_Q, "being moved", "Job is being moved to new location"),
    "W": Native(_Q, "waiting for its start time", "Job is waiting for its execution time (-a option) to be reached"),
    "S": Native(_Q, "suspended", "(Unicos only) Job is suspended"),
}

# Negative exit statuses are set by PBS itself, not by the job (OpenPBS src/include/job.h
# JOB_EXEC_*; -24..-29 from PBS Professional 2020+ resource-limit kills).
PBS_PRO_EXIT: dict[int, str] = {
    -1: "job exec failed, before files, no retry (JOB_EXEC_FAIL1)",
    -2: "job exec failed, after files, no retry (JOB_EXEC_FAIL2)",
    -3: "job execution failed, do retry (JOB_EXEC_RETRY)",
    -4: "job aborted on MoM initialization (JOB_EXEC_INITABT)",
    -7: "job restart failed (JOB_EXEC_BADRESRT)",
    -10: "invalid uid/gid for job (JOB_EXEC_FAILUID)",
    -11: "job rerun (JOB_EXEC_RERUN)",
    -12: "job was checkpointed and killed (JOB_EXEC_CHKP)",
    -13: "job failed due to a bad password (JOB_EXEC_FAIL_PASSWORD)",
    -15: "requeued for restart from checkpoint (JOB_EXEC_QUERST)",
    -17: "rejected by a hook, deleted (JOB_EXEC_FAILHOOK_DELETE)",
    -19: "a hook requested the job's deletion (JOB_EXEC_HOOK_DELETE)",
    -20: "mother superior connection failed (JOB_EXEC_RERUN_MS_FAIL)",
    -24: "cpus exceeded (JOB_EXEC_KILL_NCPUS_BURST)",
    -25: "cpus exceeded (JOB_EXEC_KILL_NCPUS_SUM)",
    -26: "out of memory (JOB_EXEC_KILL_VMEM)",
    -27: "out of memory (JOB_EXEC_KILL_MEM)",
    -28: "cpu time exceeded (JOB_EXEC_KILL_CPUT)",
    -29: "walltime exceeded (JOB_EXEC_KILL_WALLTIME)",
}

# Torque 6 admin guide, "Job exit status": the same first codes, then its own limit kills.
TORQUE_EXIT: dict[int, str] = {
    -1: "job exec failed, before files, no retry (JOB_EXEC_FAIL1)",
    -2: "job exec failed, after files, no retry (JOB_EXEC_FAIL2)",
    -3: "job execution failed, do retry (JOB_EXEC_RETRY)",
    -4: "job aborted on MOM initialization (JOB_EXEC_INITABT)",
    -7: "job restart failed (JOB_EXEC_BADRESRT)",
    -8: "exec() of user command failed (JOB_EXEC_CMDFAIL)",
    -9: "could not create or open stdout/stderr files (JOB_EXEC_STDOUTFAIL)",
    -10: "out of memory (JOB_EXEC_OVERLIMIT_MEM)",
    -11: "walltime exceeded (JOB_EXEC_OVERLIMIT_WT)",
    -12: "cpu time exceeded (JOB_EXEC_OVERLIMIT_CPUT)",
}


def slurm(native: str) -> Native | None:
    """The entry for a Slurm state as squeue or sacct print it (`CANCELLED by 1001` included)."""
    words = native.split()
    return SLURM.get(words[0].rstrip("+")) if words else None


def exit_reason(code: int, table: dict[int, str]) -> str | None:
    """Why a batch job with this exit status failed (None: it did not)."""
    if code == 0:
        return None
    if code < 0:
        return table.get(code, f"the batch system could not run it (exit status {code})")
    if code > 256:
        return f"killed by signal {code - 256}"
    return f"exit code {code}"
