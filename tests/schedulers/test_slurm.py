"""The Slurm backend without a cluster: parsers from recorded real output, rendering against
golden files, option pass-through with hostile values, array splitting, and the query discipline."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pytest

from runner.errors import SchedulerError, SubmitLimited
from runner.plan.resolve import TaskPlan
from runner.schedulers import accounting, arrays, script, slurm, slurm_query, slurm_status, states
from runner.schedulers.base import Job, JobStatus
from runner.declarations.models import Infrastructure, Resources, freeze
from runner.state import State
from runner.transports.base import Result, Transport
from tests import golden

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "slurm"
RUN = "20261125T150000Z-abcdef12"
ROOT = PurePosixPath("/scratch/mso") / RUN


def fx(name: str) -> str:
    return (FIX / name).read_text()


def jobs(n: int, step: str = "main", res: Resources = Resources(), start: int = 0) -> list[Job]:
    out = []
    for i in range(start, start + n):
        t = TaskPlan(id=f"{step}-{i:04d}", step=step, index=i, application="heat@1.2.0",
                     infrastructure="cluster", parameters=freeze({"nu": i}),
                     argv=("python", "heat.py", "--nu", str(i)), resources=res)
        out.append(Job(t, f"mso.{RUN}.{t.id}", ROOT / t.id))
    return out


def infra(**kw) -> Infrastructure:
    return Infrastructure(**{"name": "cluster", "kind": "slurm", "partition": "debug", **kw})


class Fake(Transport):
    """Answers commands by the first matching pattern; records every command it ran."""

    def __init__(self, answers: list[tuple[str, Result | tuple[int, str, str]]] = (),
                 respond=None) -> None:
        self.answers, self.respond, self.commands, self.stdins = list(answers), respond, [], []

    def run(self, cmd, timeout=None, stdin=None, on_stderr=None) -> Result:
        self.commands.append(cmd)
        self.stdins.append(stdin)
        if self.respond:
            return self.respond(cmd)
        for pattern, answer in self.answers:
            if re.search(pattern, cmd):
                return Result(cmd, *answer) if isinstance(answer, tuple) else answer
        return Result(cmd, 0, "", "")

    def put(self, local, remote): raise AssertionError("not used")
    def get(self, remote, local): raise AssertionError("not used")
    def exists(self, remote): raise AssertionError("not used")
    def close(self): pass


def check_golden(name: str, text: str) -> None:
    golden.check_golden(FIX / "golden" / name, text)


def submitted_script(sched, transport: Fake, batch: list[Job]) -> str:
    """The batch script submit() wrote to the host (the one command given a stdin)."""
    sched.submit(batch)
    (text,) = [stdin for stdin in transport.stdins if stdin is not None]
    return text


# ---- parsers from recorded output ------------------------------------------------------------

def test_parse_submit_single_and_array() -> None:
    for name in ("sbatch_parsable_single.txt", "sbatch_parsable_array.txt"):
        job_id = slurm.parse_submit(0, fx(name), "")
        assert job_id.isdigit() and job_id == fx(name).strip()
    assert slurm.parse_submit(0, "77;othercluster\n", "sbatch: warning: x\n") == "77"


def test_parse_submit_failure_says_command_code_and_stderr() -> None:
    code = int(fx("sbatch_bad_partition.exitcode.txt"))
    with pytest.raises(SchedulerError) as err:
        slurm.parse_submit(code, fx("sbatch_bad_partition.stdout.txt"),
                           fx("sbatch_bad_partition.stderr.txt"), "sbatch --parsable x.sbatch")
    text = str(err.value)
    assert "sbatch --parsable x.sbatch" in text and "exit code 1" in text
    assert "invalid partition specified: nosuch" in text


def test_parse_submit_refuses_output_without_an_id() -> None:
    with pytest.raises(SchedulerError, match="exit code 0"):
        slurm.parse_submit(0, "Submitted batch job\n", "")


def ids_of(text: str) -> dict[str, list[str]]:
    """Job name -> the job ids a recorded `JobID|JobName|...` output gives it (ids change with
    every recording, names do not)."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        fields = line.split("|")
        if len(fields) > 1 and "." not in fields[0]:
            out.setdefault(fields[1], []).append(fields[0])
    return out


def array_id(text: str, name: str) -> str:
    return ids_of(text)[name][0].split("_")[0]


def test_parse_squeue_pending_ranges_and_reasons() -> None:
    text = fx("squeue_pending_running.txt")
    got, ids, arr = slurm_status.parse_squeue(text), ids_of(text), array_id(text, "fx-array")
    for i in (2, 3, 4, 5):
        assert got[f"{arr}_{i}"] == JobStatus(State.QUEUED, "JobArrayTaskLimit")
    assert got[f"{arr}_0"] == got[f"{arr}_1"] == JobStatus(State.RUNNING)
    assert got[ids["fx-begin"][0]] == JobStatus(State.QUEUED, "BeginTime")
    assert got[ids["fx-held"][0]] == JobStatus(State.QUEUED, "JobHeldUser")
    assert got[ids["fx-dependency"][0]] == JobStatus(State.QUEUED, "Dependency")
    assert arr not in got and len(got) == 15


def test_parse_squeue_of_the_wider_format_reads_the_same_columns() -> None:
    wide = slurm_status.parse_squeue(fx("squeue_pending_running_user.txt"))
    assert wide == slurm_status.parse_squeue(fx("squeue_pending_running.txt"))


FINAL = {"fx-completed": JobStatus(State.SUCCEEDED), "fx-long": JobStatus(State.SUCCEEDED),
         "fx-failed": JobStatus(State.FAILED, "exit code 3"),
         "fx-cancel-running": JobStatus(State.CANCELLED, "cancelled by the scheduler or a user (uid 1001)"),
         "fx-cancel-pending": JobStatus(State.CANCELLED, "cancelled by the scheduler or a user (uid 1001)"),
         "fx-timeout": JobStatus(State.FAILED, "walltime exceeded")}


def test_parse_sacct_final_states() -> None:
    text = fx("sacct_completed_failed_cancelled_timeout.txt")
    got = slurm_status.parse_sacct(text)
    uid = re.compile(r"\(uid \d+\)")
    normal = {n: JobStatus(st.state, st.reason and uid.sub("(uid 1001)", st.reason)) for n, st in
              ((name, got[ids[0]]) for name, ids in ids_of(text).items())}
    assert normal == FINAL


def test_parse_sacct_skips_header_and_steps() -> None:
    plain = slurm_status.parse_sacct(fx("sacct_completed_failed_cancelled_timeout.txt"))
    assert slurm_status.parse_sacct(fx("sacct_completed_failed_cancelled_timeout_header.txt")) == plain
    assert slurm_status.parse_sacct(fx("sacct_completed_failed_cancelled_timeout_steps.txt")) == plain


def test_parse_sacct_arrays() -> None:
    text = fx("sacct_array.txt")
    done, arr, mixed = slurm_status.parse_sacct(text), array_id(text, "fx-array"), array_id(text, "fx-array-mixed")
    assert all(done[f"{arr}_{i}"].state == State.SUCCEEDED for i in range(6))
    assert done[f"{mixed}_2"] == JobStatus(State.FAILED, "exit code 5")
    text = fx("sacct_array_in_progress.txt")
    running, arr = slurm_status.parse_sacct(text), array_id(text, "fx-array")
    assert running[f"{arr}_0"].state == State.RUNNING
    assert [running[f"{arr}_{i}"].state for i in (2, 3, 4, 5)] == [State.QUEUED] * 4
    assert slurm_status.parse_sacct(fx("sacct_array_steps.txt")) == done


def test_parse_sacct_requeued_keeps_the_latest_attempt() -> None:
    for name, state in (("sacct_requeued.txt", State.QUEUED), ("sacct_requeued_duplicates.txt", State.QUEUED),
                        ("sacct_requeued_running_again.txt", State.RUNNING)):
        text = fx(name)
        assert slurm_status.parse_sacct(text)[ids_of(text)["fx-requeue"][0]].state == state


def test_parse_sacct_signal_exit() -> None:
    assert slurm_status.parse_sacct("9_1|x|FAILED|0:9|00:00:01|\n")["9_1"].reason == "killed by signal 9"


def test_a_job_killed_over_its_memory_is_out_of_memory() -> None:
    """Recorded: OverMemoryKill (no cgroups) ends it FAILED 0:9, its step's MaxRSS over ReqMem."""
    seen = slurm_status.parse_sacct(fx("sacct_over_memory_kill.txt"))
    assert {j: (s.state, s.reason) for j, s in seen.items()} == {
        "226_0": (State.FAILED, "out of memory"), "226_1": (State.FAILED, "out of memory")}
    # the same SIGKILL well under the request, or a request sacct does not print: not memory
    under = fx("sacct_over_memory_kill.txt").replace("420692K", "9000K").replace("420764K", "")
    assert {s.reason for s in slurm_status.parse_sacct(under).values()} == {"killed by signal 9"}
    no_request = fx("sacct_over_memory_kill.txt").replace("|100M", "|")
    assert {s.reason for s in slurm_status.parse_sacct(no_request).values()} == {"killed by signal 9"}


def test_a_kill_whose_steps_the_accounting_has_not_recorded_is_not_told_yet() -> None:
    """slurmdbd can hold the allocation's end before its batch step's (seen once in CI under
    load: the SIGKILL was recorded as "killed", without the step's peak that makes it memory)."""
    recorded = fx("sacct_over_memory_kill.txt").splitlines()
    step_live = recorded[1].replace("CANCELLED by 0|0:9", "RUNNING|0:0").replace("|420692K|", "||")
    step_live = step_live.replace("2026-12-01T06:26:20", "Unknown")
    seen = slurm_status.parse_sacct("\n".join([recorded[0], step_live, *recorded[2:]]) + "\n")
    assert "226_0" not in seen and seen["226_1"].reason == "out of memory"
    lag = accounting.Lagging(60)
    squeue_says = JobStatus(State.FAILED, "the job failed")
    assert lag.joined("226_0", squeue_says, seen).provisional, "waited for, not recorded as it is"
    # an end that was no kill is taken at once, steps or not
    done = "\n".join([recorded[0].replace("FAILED|0:9", "COMPLETED|0:0"), step_live]) + "\n"
    assert slurm_status.parse_sacct(done)["226_0"].state == State.SUCCEEDED


def test_the_accounting_s_out_of_memory_wins_over_squeue_s_failed() -> None:
    lag = accounting.Lagging(60)
    squeue_says = JobStatus(State.FAILED, "the job failed")
    told = {"5_0": JobStatus(State.FAILED, "out of memory", {"elapsed_s": 5})}
    assert lag.joined("5_0", squeue_says, told) == JobStatus(State.FAILED, "out of memory")


def test_parse_names_and_max_array_size() -> None:
    text = fx("squeue_pending_running.txt")
    names, arr = slurm_status.parse_names(text), int(array_id(text, "fx-array"))
    assert arrays.Listed(arr, 4, "fx-array", f"{arr}_4") in names   # from the pending range
    assert arrays.Listed(arr, 0, "fx-array", f"{arr}_0") in names
    assert {item.name for item in names} == {"fx-array"}   # plain jobs are not array elements
    text = fx("sacct_array.txt")
    mixed = int(array_id(text, "fx-array-mixed"))
    assert arrays.Listed(mixed, 2, "fx-array-mixed", f"{mixed}_2") in slurm_status.parse_names(text)
    assert slurm.parse_max_array_size(fx("scontrol_show_config_maxarraysize.txt")) == 1001
    assert slurm.parse_max_array_size("Other = 3\n") is None


# ---- the state table -------------------------------------------------------------------------

DOCUMENTED = ["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "COMPLETED", "FAILED", "CANCELLED",
              "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE",
              "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "REVOKED", "SIGNALING",
              "SPECIAL_EXIT", "STAGE_OUT", "STOPPED", "SUSPENDED", "RESV_DEL_HOLD"]


def test_every_documented_state_is_in_the_table_with_its_man_page_text() -> None:
    assert sorted(states.SLURM) == sorted(DOCUMENTED)
    assert all(len(n.doc) > 10 for n in states.SLURM.values())


@pytest.mark.parametrize("native", DOCUMENTED)
def test_every_state_maps_alike_in_squeue_and_sacct(native: str) -> None:
    entry = states.SLURM[native]
    from_squeue = slurm_status.parse_squeue(f"7_1|n|{native}|Priority\n")["7_1"]
    from_sacct = slurm_status.parse_sacct(f"7_1|n|{native}|0:0|00:00:01|\n")["7_1"]
    assert from_squeue.state == from_sacct.state == entry.state
    if entry.state in (State.FAILED, State.CANCELLED):
        assert from_sacct.reason, f"{native} ends a job without saying why"


@pytest.mark.parametrize("native,reason", [("TIMEOUT", "walltime exceeded"), ("OUT_OF_MEMORY", "out of memory"),
                                           ("NODE_FAIL", "node failure"),
                                           ("CANCELLED", "cancelled by the scheduler or a user")])
def test_terminal_reasons(native: str, reason: str) -> None:
    assert slurm_status.parse_sacct(f"7|n|{native}|0:0|00:00:01|\n")["7"] == JobStatus(State.FAILED if native != "CANCELLED"
                                                                                else State.CANCELLED, reason)


def test_unknown_state_means_keep_watching() -> None:
    assert slurm_status.parse_squeue("7_1|n|LAUNCH_WEIRD|None\n") == {"7_1": None}
    assert slurm_status.parse_sacct("7_1|n|LAUNCH_WEIRD|0:0|00:00:01|\n") == {}


# ---- rendering ---------------------------------------------------------------------------------

RICH = Resources(nodes=1, tasks=2, cpus_per_task=4, gpus=1, memory="1.5G", walltime="1-02:00:00",
                 slurm=freeze({"qos": "short", "constraint": "intel&ib", "exclusive": True,
                               "mail-type": "END,FAIL", "requeue": False}))


def test_golden_task_script() -> None:
    sched = slurm.SlurmScheduler(infra(account="proj-42", modules=("gcc/12",),
                                       environment=freeze({"OMP_PROC_BIND": "close"})), Fake())
    text = sched.render(jobs(1, res=RICH)[0])
    check_golden("task.sbatch", text.replace(script.__version__, "VERSION"))


def test_golden_array_script() -> None:
    t = Fake([(r"^sbatch", (0, "123\n", ""))])
    sched = slurm.SlurmScheduler(infra(account="proj-42"), t)
    check_golden("array.sbatch", submitted_script(sched, t, jobs(3, res=RICH) + jobs(2, res=RICH, start=7)))


@pytest.mark.parametrize("hostile", ["x\n#SBATCH --uid=0", "$(touch pwned)", "a b", "`id`", "x;rm -rf /",
                                     "'q'", '"q"', "100%", "x\\y", "#x", ""])
def test_hostile_option_values_are_refused_by_name(hostile: str) -> None:
    res = Resources(slurm=freeze({"qos": hostile}))
    with pytest.raises(SchedulerError, match="'qos'"):
        slurm.SlurmScheduler(infra(), Fake()).render(jobs(1, res=res)[0])


def test_hostile_partition_is_refused() -> None:
    with pytest.raises(SchedulerError, match="'partition'"):
        slurm.SlurmScheduler(infra(partition="debug\n#SBATCH --uid=0"), Fake()).render(jobs(1)[0])


@pytest.mark.parametrize("option,hint", [("uid", "only root"), ("wrap", "mso sets this"),
                                         ("export", "environment"), ("dependency", "order"),
                                         ("parsable", "mso sets this"), ("job-name", "names jobs"),
                                         ("time", "resources.walltime"), ("partition", "partition"),
                                         ("array", "matrix"), ("cpu-frq", "did you mean 'cpu-freq'"),
                                         ("frobnicate", "not a documented sbatch option")])
def test_option_mso_sets_or_sbatch_lacks_is_named(option: str, hint: str) -> None:
    res = Resources(slurm=freeze({option: "1"}))
    with pytest.raises(SchedulerError, match=f"'{option}' is not allowed.*{hint}"):
        slurm.directives(infra(), res)


@pytest.mark.parametrize("options,lines", [
    ({"cpu-freq": "Low"}, ["--cpu-freq=Low"]), ({"mem-bind": "local"}, ["--mem-bind=local"]),
    ({"clusters": "msotest"}, ["--clusters=msotest"]), ({"gres-flags": "enforce-binding"},
                                                        ["--gres-flags=enforce-binding"]),
    ({"exclusive": True, "requeue": False}, ["--exclusive"])])
def test_every_other_documented_option_passes(options: dict, lines: list[str]) -> None:
    assert slurm.passthrough(options) == lines


def test_underscored_option_names_are_accepted() -> None:
    assert slurm.passthrough({"mail_type": "END"}) == ["--mail-type=END"]


def test_walltime_and_memory_formats() -> None:
    assert slurm.slurm_time(600) == "00:10:00" and slurm.slurm_time(93784) == "1-02:03:04"
    assert arrays.memory_mb("2G") == 2048 and arrays.memory_mb("512") == 512
    assert arrays.memory_mb("100K") == 1 and arrays.memory_mb("1T") == 1024 ** 2


def test_one_array_must_share_resources_and_a_step() -> None:
    t = Fake()
    sched = slurm.SlurmScheduler(infra(), t)
    with pytest.raises(SchedulerError, match="share resources"):
        sched.submit(jobs(1) + jobs(1, res=Resources(memory="1G"), start=1))
    with pytest.raises(SchedulerError, match="one step"):
        sched.submit(jobs(1) + jobs(1, step="post"))
    assert t.commands == []   # refused before anything reached the host


# ---- submit ----------------------------------------------------------------------------------

def test_submit_writes_one_script_and_submits_one_throttled_array() -> None:
    t = Fake([(r"^sbatch", (0, "123\n", ""))])
    ids = slurm.SlurmScheduler(infra(max_parallel=2, max_array_size=1001), t).submit(jobs(6))
    assert ids == [f"123_{i}" for i in range(6)]
    write, sbatch = t.commands
    assert write.startswith(f"mkdir -p {ROOT}/.mso && cat > {ROOT}/.mso/main.")
    assert "(( i >= 0 && i <= 5 ))" in t.stdins[0] and "--array=0-5%2" in sbatch
    assert f"--job-name=mso.{RUN}.main" in sbatch and sbatch.endswith(".sbatch")


def test_submit_splits_at_max_array_size_and_offsets_the_indices() -> None:
    answers = iter(["200", "201", "202"])
    t = Fake(respond=lambda cmd: Result(cmd, 0, next(answers) + "\n" if cmd.startswith("sbatch") else "", ""))
    ids = slurm.SlurmScheduler(infra(max_array_size=4), t).submit(jobs(10))
    sbatches = [c for c in t.commands if c.startswith("sbatch")]
    assert len(sbatches) == 3
    assert "--array=0-3 " in sbatches[0] and not sbatches[0].endswith(" 4")
    assert f"--job-name=mso.{RUN}.main+4" in sbatches[1] and sbatches[1].endswith(".sbatch 4")
    assert "--array=0-1 " in sbatches[2] and sbatches[2].endswith(" 8")
    assert ids == ["200_0", "200_1", "200_2", "200_3", "201_0", "201_1", "201_2", "201_3", "202_0", "202_1"]


def test_max_array_size_is_asked_of_the_site_once() -> None:
    t = Fake([(r"^scontrol show config", (0, fx("scontrol_show_config_maxarraysize.txt"), "")),
              (r"^sbatch", (0, "5\n", ""))])
    sched = slurm.SlurmScheduler(infra(), t)
    sched.submit(jobs(2))
    sched.submit(jobs(2, start=2))
    assert sum(c.startswith("scontrol") for c in t.commands) == 1


def test_failed_sbatch_raises_with_command_code_and_stderr() -> None:
    t = Fake([(r"^sbatch", (1, "", fx("sbatch_bad_partition.stderr.txt")))])
    with pytest.raises(SchedulerError) as err:
        slurm.SlurmScheduler(infra(max_array_size=100), t).submit(jobs(2))
    text = str(err.value)
    assert "sbatch --parsable" in text and "exit code 1" in text and "invalid partition" in text


def test_a_failed_later_array_cancels_the_earlier_ones() -> None:
    results = iter([Result("sbatch", 0, "300\n", ""),
                    Result("sbatch", 1, "", "sbatch: error: Batch job submission failed: Invalid qos specification")])
    t = Fake(respond=lambda cmd: next(results) if cmd.startswith("sbatch") else Result(cmd, 0, "", ""))
    with pytest.raises(SchedulerError, match="Invalid qos"):
        slurm.SlurmScheduler(infra(max_array_size=2), t).submit(jobs(4))
    assert t.commands[-1] == "scancel 300"


@pytest.mark.parametrize("limit", ["AssocMaxSubmitJobLimit", "AssocGrpSubmitJobsLimit",
                                   "QOSMaxSubmitJobPerUserLimit", "QOSGrpSubmitJobsLimit"])
def test_a_later_array_refused_for_a_submit_limit_keeps_the_earlier_ones(limit: str) -> None:
    results = iter([Result("sbatch", 0, "300\n", ""),
                    Result("sbatch", 1, "", f"sbatch: error: {limit}\nsbatch: error: Batch job "
                           "submission failed: Job violates accounting/QOS policy (job submit "
                           "limit, user's size and/or time limits)\n")])
    t = Fake(respond=lambda cmd: next(results) if cmd.startswith("sbatch") else Result(cmd, 0, "", ""))
    sched = slurm.SlurmScheduler(infra(max_array_size=2), t)
    batch = jobs(4)
    with pytest.raises(SubmitLimited) as err:
        sched.submit(batch)
    assert err.value.taken == {batch[0].name: "300_0", batch[1].name: "300_1"}
    assert not any(c.startswith("scancel") for c in t.commands)
    assert limit in sched.held
    # what it learned: two of mso's jobs were queued when the site said no
    assert sched.admit(batch[2:], queued=2) == [] and sched.admit(batch[2:], queued=0) == batch[2:]


def test_a_policy_refusal_that_is_not_a_submit_limit_is_an_error() -> None:
    t = Fake([(r"^sbatch", (1, "", "sbatch: error: AssocMaxWallDurationPerJobLimit\nsbatch: error: "
                                   "Batch job submission failed: Job violates accounting/QOS policy\n"))])
    with pytest.raises(SchedulerError) as err:
        slurm.SlurmScheduler(infra(), t).submit(jobs(1))
    assert not isinstance(err.value, SubmitLimited)


def test_sbatch_arguments_are_quoted() -> None:
    cmd = slurm.submit_command("/scratch/my runs/x.sbatch", (0, 1), "mso.r.main", 0, None)
    assert cmd == "sbatch --parsable --job-name=mso.r.main --array=0-1 '/scratch/my runs/x.sbatch'"


# ---- status, find, cancel --------------------------------------------------------------------

def by_id(ids: list[str]) -> dict[str, Job]:
    return {i: j for i, j in zip(ids, jobs(len(ids)))}


def status(queue: str, acct: str, queue_code: int = 0, acct_code: int = 0, stderr: str = "") -> tuple:
    """The answer to mso's one status command (squeue, its exit code, sacct), for Fake."""
    return (acct_code, f"{queue}{slurm_query.SQUEUE_EXIT} {queue_code}\n{acct}", stderr)


def test_status_asks_squeue_and_sacct_in_one_command() -> None:
    queue, acct = fx("squeue_pending_running.txt"), fx("sacct_completed_failed_cancelled_timeout.txt")
    arr, names = array_id(queue, "fx-array"), ids_of(acct)
    failed, timeout = names["fx-failed"][0], names["fx-timeout"][0]
    t = Fake([(r"squeue", status(queue, acct))])
    got = slurm.SlurmScheduler(infra(), t).status(by_id([f"{arr}_0", f"{arr}_4", failed, timeout, "99999"]))
    assert len(t.commands) == 1 and "SLURM_BITSTR_LEN=0 sacct -P" in t.commands[0]
    assert got == {f"{arr}_0": JobStatus(State.RUNNING), f"{arr}_4": JobStatus(State.QUEUED, "JobArrayTaskLimit"),
                   timeout: JobStatus(State.RUNNING), failed: JobStatus(State.FAILED, "exit code 3")}


def test_a_job_missing_from_squeue_is_never_taken_as_ended_without_sacct() -> None:
    acct = fx("sacct_array_in_progress.txt")
    arr = array_id(acct, "fx-array")
    t = Fake([(r"squeue", status("", acct))])
    got = slurm.SlurmScheduler(infra(), t).status(by_id([f"{arr}_0", f"{arr}_3", "99999_0"]))
    assert got == {} and any("sacct" in c for c in t.commands)   # pending in sacct's lagging view


def test_squeue_invalid_job_id_is_an_empty_queue() -> None:
    t = Fake([(r"squeue", status("", "5_0|x|COMPLETED|0:0|00:00:01|\n", queue_code=1,
                                 stderr="slurm_load_jobs error: Invalid job id specified\n"))])
    assert slurm.SlurmScheduler(infra(), t).status(by_id(["5_0"])) == {"5_0": JobStatus(State.SUCCEEDED)}


def test_failing_squeue_or_sacct_raises_with_the_command() -> None:
    t = Fake([(r"squeue", status("", "", queue_code=1,
                                 stderr="slurm_load_jobs error: Unable to contact slurm controller\n"))])
    with pytest.raises(SchedulerError, match="(?s)squeue.*Unable to contact"):
        slurm.SlurmScheduler(infra(), t).status(by_id(["5_0"]))
    t = Fake([(r"squeue", status("", "", acct_code=1, stderr="sacct: error: Problem talking to the database\n"))])
    with pytest.raises(SchedulerError, match="(?s)sacct.*Problem talking"):
        slurm.SlurmScheduler(infra(), t).status(by_id(["5_0"]))


def test_without_accounting_jobs_squeue_forgot_are_left_out() -> None:
    queue = "5_0|n|COMPLETED|None\n"   # ended within MinJobAge: slurmctld still tells
    t = Fake([(r"squeue", status(queue, "", acct_code=1, stderr="Slurm accounting storage is disabled\n"))])
    got = slurm.SlurmScheduler(infra(), t).status(by_id(["5_0", "5_1"]))
    assert got == {"5_0": JobStatus(State.SUCCEEDED)}   # 5_1: the wrapper's exit code decides
    assert len(t.commands) == 1   # no look at the wrapper's files


def test_find_adopts_by_array_name_the_latest_submission_winning() -> None:
    queue = f"60_[2-3]|mso.{RUN}.main|PENDING|JobArrayTaskLimit\n61_0|mso.{RUN}.main+4|RUNNING|None\n"
    acct = (f"55_0|mso.{RUN}.main|CANCELLED by 1001|0:0|00:00:00|\n60_0|mso.{RUN}.main|COMPLETED|0:0|00:00:01|\n"
            f"60_1|mso.{RUN}.main|RUNNING|0:0|00:00:01|\n60_[2-3]|mso.{RUN}.main|PENDING|0:0|00:00:00|\n"
            f"99_0|someone-else|COMPLETED|0:0|00:00:01|\n")
    t = Fake([(r"squeue", (0, queue, "")), (r"sacct", (0, acct, ""))])
    found = slurm.SlurmScheduler(infra(max_array_size=4), t).find(jobs(6))
    assert found == {f"mso.{RUN}.main-{i:04d}": f"60_{i}" for i in range(4)} | {f"mso.{RUN}.main-0004": "61_0"}
    assert f"--name=mso.{RUN}.main,mso.{RUN}.main+4" in t.commands[0]
    assert "-S 2026-11-24" in t.commands[1]


def test_find_nothing_submitted() -> None:
    assert slurm.SlurmScheduler(infra(max_array_size=10), Fake()).find(jobs(3)) == {}


def test_find_without_accounting_adopts_what_squeue_lists() -> None:
    t = Fake([(r"squeue", (0, f"70_1|mso.{RUN}.main|RUNNING|None\n", "")),
              (r"sacct", (1, "", "Slurm accounting storage is disabled\n"))])
    found = slurm.SlurmScheduler(infra(max_array_size=10), t).find(jobs(3))
    assert found == {f"mso.{RUN}.main-0001": "70_1"}


def test_cancel_is_one_scancel() -> None:
    t = Fake()
    slurm.SlurmScheduler(infra(), t).cancel(["5_0", "5_1", "6_3"])
    assert t.commands == ["scancel 5_0 5_1 6_3"]


def test_max_parallel_is_left_to_the_array_throttle() -> None:
    batch = jobs(5)
    assert slurm.SlurmScheduler(infra(max_parallel=3, max_array_size=10), Fake()).admit(batch, 4) == batch


def test_a_declared_submit_limit_admits_whole_arrays_that_fit() -> None:
    sched = slurm.SlurmScheduler(infra(max_array_size=4, max_submitted=6), Fake())
    batch = jobs(10)   # arrays of 4, 4 and 2 tasks
    assert sched.admit(batch, 0) == batch[:4]          # the second array does not fit whole
    assert "limits.max_submitted is 6" in sched.held
    assert sched.admit(batch[4:], 2) == batch[4:8]
    assert sched.admit(batch[8:], 5) == [] and sched.admit(batch[8:], 4) == batch[8:]
    assert sched.admit(batch[8:], 4) == batch[8:] and sched.held is None


def test_an_array_larger_than_the_limit_goes_in_halves_of_it() -> None:
    sched = slurm.SlurmScheduler(infra(max_array_size=100, max_submitted=10), Fake())
    batch = jobs(30)
    assert sched.admit(batch, 0) == batch[:10]     # two pieces of 5
    assert sched.admit(batch[10:], 5) == batch[10:15]


# ---- dependencies between steps --------------------------------------------------------------

@pytest.mark.parametrize("relative,after,expected", [
    ((0, 1, 2), [["9_0"], ["9_1"], ["9_2"]], "aftercorr:9"),
    ((0, 1), [["9_0"], []], "afterok:9_0"),
    ((0, 1), [["9_1"], ["9_0"]], "afterok:9_0:9_1"),
    ((0, 1), [["9_0", "8_0"], ["9_1", "8_1"]], "afterok:8_0:8_1:9_0:9_1"),
    ((0, 1), [[], []], ""),
])
def test_dependency_between_steps(relative, after, expected) -> None:
    assert slurm.dependency(relative, after) == expected


def test_submit_command_with_a_dependency_kills_it_if_never_satisfied() -> None:
    cmd = slurm.submit_command("/w/x.sbatch", (0, 1), "mso.r.post", 0, 2, "aftercorr:9")
    assert "--dependency=aftercorr:9 --kill-on-invalid-dep=yes" in cmd
    assert cmd.endswith("/w/x.sbatch")


def test_sacct_is_asked_about_ended_jobs_once_per_accounting_round() -> None:
    t = Fake([(r"squeue", (0, "5_0|x|RUNNING|None|N/A\n@mso squeue exit 0\n", ""))])
    sched = slurm.SlurmScheduler(infra(), t)
    batch = {"5_0": jobs(1)[0]}
    sched.status(batch)
    sched.status(batch)
    assert "--state=" in t.commands[0] and "--state=" not in t.commands[1]
    sched._acct_due = 0.0   # the round's seconds have passed
    sched.status(batch)
    assert "--state=" in t.commands[2]


def test_when_only_the_accounting_is_waited_for_it_is_asked_every_poll() -> None:
    t = Fake([(r"squeue", (0, "5_0|x|COMPLETED|None|2026-12-01T05:00:00\n@mso squeue exit 0\n", ""))])
    sched = slurm.SlurmScheduler(infra(), t)
    batch = {"5_0": jobs(1)[0]}
    assert sched.status(batch)["5_0"].provisional   # sacct has not recorded it
    sched.status(batch)
    assert "--state=" in t.commands[0] and "--state=" in t.commands[1]


def test_a_later_refusal_waits_rather_than_shrinking_the_learned_limit() -> None:
    results = iter([Result("sbatch", 0, "300\n", ""), Result("sbatch", 1, "", "sbatch: error: AssocMaxSubmitJobLimit\n"),
                    Result("sbatch", 1, "", "sbatch: error: AssocMaxSubmitJobLimit\n")])
    t = Fake(respond=lambda cmd: next(results) if cmd.startswith("sbatch") else Result(cmd, 0, "", ""))
    sched = slurm.SlurmScheduler(infra(max_array_size=2), t)
    batch = jobs(6)
    with pytest.raises(SubmitLimited):
        sched.submit(batch[:4])                    # learns: 2 queued when the site said no
    assert sched.admit(batch[2:], 0) == batch[2:4]
    with pytest.raises(SubmitLimited):
        sched.submit(batch[2:4])                   # the site still counts jobs mso does not
    assert sched.limit.cap == 2 and sched.admit(batch[2:], 0) == []   # waits, then tries again
