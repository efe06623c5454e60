"""The PBS Professional and Torque backends without a server: parsers from the outputs recorded
from Slurm's Torque wrappers and from documented PBS/Torque formats, golden scripts, the
option pass-through, array submission and the query discipline."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import SchedulerError, SubmitLimited
from runner.schedulers import arrays, pbs, script, states
from runner.schedulers.base import JobStatus
from runner.schedulers.torque import TorqueScheduler
from runner.declarations.models import Infrastructure, Resources, freeze
from runner.state import State
from runner.transports.base import Result
from tests import golden
from tests.schedulers.test_slurm import RUN, Fake, jobs, submitted_script

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "pbs"
PUB = FIX / "published"


def fx(name: str, folder: Path = FIX) -> str:
    return (folder / name).read_text()


def recorded(base: str) -> tuple[int, str, str]:
    """A failed command's recording: (exit code, stdout, stderr)."""
    return int(fx(f"{base}.exitcode.txt")), fx(f"{base}.stdout.txt"), fx(f"{base}.stderr.txt")


def infra(**kw) -> Infrastructure:
    return Infrastructure(**{"name": "cluster", "kind": "pbs", "queue": "workq", **kw})


def check_golden(name: str, text: str) -> None:
    golden.check_golden(FIX / "golden" / name, text)


# ---- submission output and ids ---------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [(fx("qsub.txt"), fx("qsub.txt").strip()),
                                           (fx("qsub_array.txt"), fx("qsub_array.txt").strip()),
                                           (fx("pbspro_qsub_array.txt", PUB), "1234[].pbs01"),
                                           (fx("torque_qsub_array.txt", PUB), "2001[].torque01.example.org")])
def test_parse_submit(text: str, expected: str) -> None:
    assert pbs.parse_submit(0, text, "") == expected


def test_failed_qsub_says_command_code_and_stderr() -> None:
    with pytest.raises(SchedulerError) as err:
        pbs.parse_submit(170, "", "qsub: Unknown queue\n", "qsub -N x job.pbs")
    assert all(s in str(err.value) for s in ("qsub -N x job.pbs", "exit code 170", "Unknown queue"))


@pytest.mark.parametrize("job_id,index,element", [("1234[].pbs01", 5, "1234[5].pbs01"), ("20", 3, "20[3]"),
                                                  ("2001[].t.example.org", 0, "2001[0].t.example.org")])
def test_element_ids(job_id: str, index: int, element: str) -> None:
    assert pbs.element(job_id, index) == element
    assert pbs.parent(element) == (job_id if "[" in job_id else f"{job_id}[]")
    assert pbs.key(element) == (job_id.split("[")[0].split(".")[0], str(index))


# ---- qstat from Slurm's Torque wrappers (recorded) -----------------------------------------------

def test_wrapper_qstat_full_running_and_ended() -> None:
    running = pbs.parse_qstat_full(fx("qstat_f_running.txt"))
    ((job_id, attrs),) = running.items()
    assert job_id == fx("qsub.txt").strip()
    assert attrs["job_state"] == "R" and attrs["Resource_List.walltime"] == "00:10:00"
    assert attrs["Job_Name"] == "fx-pbs" and attrs["Account_Name"] == "mso"
    assert pbs.statuses(running, states.TORQUE, states.TORQUE_EXIT) == {job_id: JobStatus(State.RUNNING)}
    for name in ("qstat_f_cancelled.txt", "qstat_f_completed_array_task.txt"):
        (st,) = pbs.statuses(pbs.parse_qstat_full(fx(name)), states.TORQUE, states.TORQUE_EXIT).values()
        assert st.ended and st.state is None   # C without an exit status: the wrapper's code decides


@pytest.mark.parametrize("base", ["qstat_f_unknown", "qstat_f_array_index"])
def test_wrapper_qstat_of_an_id_it_does_not_know_leaves_the_job_out(base: str) -> None:
    t = Fake([(r"^qstat", recorded(base))])
    assert TorqueScheduler(infra(), t).status({"20[0]": jobs(1)[0]}) == {}   # not an error either
    assert t.commands == ["qstat -f -t '20[]'"]   # and no look at the wrapper's files


# ---- qstat of PBS Professional and Torque (documented formats) ------------------------------------

def test_pbspro_json_array() -> None:
    got = pbs.statuses(pbs.parse_qstat_json(fx("pbspro_qstat_f_json_array.json", PUB)),
                       states.PBS_PRO, states.PBS_PRO_EXIT)
    assert got["1234[].pbs01"] == JobStatus(State.RUNNING)
    assert got["1234[0].pbs01"] == JobStatus(State.SUCCEEDED)
    assert got["1234[1].pbs01"] == JobStatus(State.FAILED, "exit code 3")
    assert got["1234[2].pbs01"] == JobStatus(State.FAILED, "walltime exceeded")
    assert got["1234[3].pbs01"] == JobStatus(State.CANCELLED, "cancelled by the scheduler or a user")
    assert got["1234[4].pbs01"] == JobStatus(State.RUNNING)
    assert got["1234[5].pbs01"] == JobStatus(State.QUEUED)


def test_pbspro_json_nested_attributes_are_flattened() -> None:
    attrs = pbs.parse_qstat_json(fx("pbspro_qstat_f_json_array.json", PUB))["1234[2].pbs01"]
    assert attrs["resources_used.walltime"] == "00:01:03" and attrs["Resource_List.walltime"] == "00:01:00"


def test_unreadable_json_is_a_scheduler_error() -> None:
    with pytest.raises(SchedulerError, match="JSON"):
        pbs.parse_qstat_json('{"Jobs": {"1.s": {"Variable_List": "a\\q"}}')


def test_pbspro_text_with_wrapped_values() -> None:
    records = pbs.parse_qstat_full(fx("pbspro_qstat_f_finished.txt", PUB))
    job = records["1240.pbs01"]
    assert job["comment"].endswith("(node01:ncpus=1:mem=2097152kb) and failed")
    assert job["Variable_List"].endswith("PBS_O_SYSTEM=Linux,PBS_O_QUEUE=workq,PBS_O_HOST=login01")
    assert job["Submit_arguments"].endswith("/scratch/mso/20261125T150000Z-abcdef12/post-0000/.mso/job.sh")
    got = pbs.statuses(records, states.PBS_PRO, states.PBS_PRO_EXIT)
    assert got["1240.pbs01"] == JobStatus(State.FAILED, "out of memory (JOB_EXEC_KILL_MEM)")
    assert got["1241.pbs01"] == JobStatus(State.QUEUED, "held")


def test_torque_subjobs() -> None:
    got = pbs.statuses(pbs.parse_qstat_full(fx("torque_qstat_f_t.txt", PUB)), states.TORQUE, states.TORQUE_EXIT)
    ids = [f"2001[{i}].torque01.example.org" for i in range(6)]
    assert [got[i] for i in ids] == [
        JobStatus(State.SUCCEEDED), JobStatus(State.FAILED, "exit code 3"),
        JobStatus(State.FAILED, "walltime exceeded"), JobStatus(State.FAILED, "killed by signal 15"),
        JobStatus(State.RUNNING), JobStatus(State.QUEUED)]


# ---- the state and exit-status tables ------------------------------------------------------------

@pytest.mark.parametrize("table,letters", [(states.PBS_PRO, "BEFHMQRSTUWX"), (states.TORQUE, "CEHQRTWS")])
def test_every_documented_letter_is_mapped(table, letters: str) -> None:
    assert sorted(table) == sorted(letters) and all(n.doc for n in table.values())
    for letter, entry in table.items():
        got = pbs.statuses({"1.s": {"job_state": letter, "Exit_status": "0"}}, table, {})["1.s"]
        assert got.state == entry.state


def test_unknown_letter_means_keep_watching() -> None:
    assert pbs.statuses({"1.s": {"job_state": "Z"}}, states.PBS_PRO, {}) == {"1.s": None}


@pytest.mark.parametrize("code,pbspro,torque", [
    (0, None, None), (3, "exit code 3", "exit code 3"), (271, "killed by signal 15", "killed by signal 15"),
    (-29, "walltime exceeded (JOB_EXEC_KILL_WALLTIME)", "the batch system could not run it (exit status -29)"),
    (-11, "job rerun (JOB_EXEC_RERUN)", "walltime exceeded (JOB_EXEC_OVERLIMIT_WT)"),
    (-10, "invalid uid/gid for job (JOB_EXEC_FAILUID)", "out of memory (JOB_EXEC_OVERLIMIT_MEM)")])
def test_exit_statuses_per_flavour(code: int, pbspro, torque) -> None:
    assert states.exit_reason(code, states.PBS_PRO_EXIT) == pbspro
    assert states.exit_reason(code, states.TORQUE_EXIT) == torque


def test_a_deleted_queued_job_without_exit_status_is_cancelled() -> None:
    st = pbs.outcome({"job_state": "F", "substate": "91"}, states.PBS_PRO_EXIT)
    assert st == JobStatus(State.CANCELLED, "cancelled by the scheduler or a user")


# ---- rendering ---------------------------------------------------------------------------------

RICH = Resources(nodes=2, tasks=8, cpus_per_task=2, gpus=1, memory="4G", walltime="1-02:00:00",
                 pbs=freeze({"place": "scatter:excl", "project": "heat", "ompthreads": 2}))


def test_golden_pbspro_scripts() -> None:
    t = Fake([(r"^qsub", (0, "1[].pbs01\n", ""))])
    sched = pbs.PbsScheduler(infra(account="proj-42", modules=("gcc/12",)), t)
    check_golden("task.pbs", sched.render(jobs(1, res=RICH)[0]).replace(script.__version__, "VERSION"))
    check_golden("array.pbs", submitted_script(sched, t, jobs(3, res=RICH)))


def test_golden_torque_scripts() -> None:
    res = Resources(nodes=2, tasks=8, cpus_per_task=2, gpus=1, memory="4G", walltime="1-02:00:00",
                    pbs=freeze({"qos": "long", "feature": "ib"}))
    t = Fake([(r"^qsub", (0, "1[].torque01\n", ""))])
    sched = TorqueScheduler(infra(account="proj-42"), t)
    check_golden("task.torque", sched.render(jobs(1, res=res)[0]).replace(script.__version__, "VERSION"))
    check_golden("array.torque", submitted_script(sched, t, jobs(3, res=res)))


@pytest.mark.parametrize("hostile", ["x\n#PBS -u root", "$(touch pwned)", "a b", "`id`", "x;y", "'q'", ""])
def test_hostile_values_are_refused_by_name(hostile: str) -> None:
    res = Resources(pbs=freeze({"project": hostile}))
    with pytest.raises(SchedulerError, match="'project'"):
        pbs.PbsScheduler(infra(), Fake()).render(jobs(1, res=res)[0])


@pytest.mark.parametrize("sched", [pbs.PbsScheduler, TorqueScheduler])
@pytest.mark.parametrize("option,hint", [("walltime", "resources.walltime"), ("u", "not a documented"),
                                         ("export", "environment"), ("queue", "queue"),
                                         ("job-name", "names jobs"), ("depend", "order"),
                                         ("hold", "mso sets this"), ("grop-list", "did you mean 'group-list'")])
def test_option_mso_sets_or_qsub_lacks_is_named(sched, option: str, hint: str) -> None:
    res = Resources(pbs=freeze({option: "x"}))
    with pytest.raises(SchedulerError, match=f"'{option}' is not allowed.*{hint}"):
        sched(infra(), Fake()).render(jobs(1, res=res)[0])


def test_every_other_documented_qsub_option_passes() -> None:
    assert pbs.passthrough({"stagein": "a@h:b", "join": "oe", "vnode": "n1", "keep": "oe"}) == (
        ["-j oe", "-k oe", "-W stagein=a@h:b"], ["vnode=n1"])
    assert pbs.passthrough({"numa": "tasks=2", "join": "oe", "vmem": "2gb"}, "torque") == (
        ["-j oe", "-L tasks=2", "-l vmem=2gb"], [])


def test_select_statement() -> None:
    assert pbs.select(Resources(), []) is None
    assert pbs.select(Resources(cpus_per_task=4), []) == "1:ncpus=4"
    assert pbs.select(Resources(nodes=2, tasks=3, memory="1G"), []) == "2:ncpus=2:mpiprocs=2:mem=1024mb"


# ---- submit, status, find, cancel ----------------------------------------------------------------

def test_pbspro_submit_one_throttled_array() -> None:
    t = Fake([(r"^qsub", (0, "1234[].pbs01\n", ""))])
    ids = pbs.PbsScheduler(infra(max_parallel=2), t).submit(jobs(6))
    assert ids == [f"1234[{i}].pbs01" for i in range(6)]
    assert t.commands[0].startswith("mkdir -p /scratch/mso/") and "(( i >= 0 && i <= 5 ))" in t.stdins[0]
    assert t.commands[1].startswith(f"qsub -N mso.{RUN}.main -J 0-5 -W max_run_subjobs=2 /scratch/mso/")


def test_pbspro_single_task_and_offsets() -> None:
    t = Fake([(r"^qsub", (0, "77[].pbs01\n", ""))])
    assert pbs.PbsScheduler(infra(), t).submit(jobs(1)) == ["77[0].pbs01"]
    assert " -J 0-1 " in t.commands[1]   # PBS Pro arrays hold two or more: index 1 is a no-op
    t = Fake([(r"^qsub", (0, "78[].pbs01\n", ""))])
    assert pbs.PbsScheduler(infra(max_array_size=4), t).submit(jobs(1, start=5)) == ["78[1].pbs01"]
    assert f"-N mso.{RUN}.main+4 -J 1-2 -v MSO_ARRAY_OFFSET=4 " in t.commands[1]


def test_torque_submit_lists_and_slot_limit() -> None:
    t = Fake([(r"^qsub", (0, "2001[].torque01\n", ""))])
    picked = [j for j in jobs(6) if j.task.index in (0, 1, 2, 5)]
    ids = TorqueScheduler(infra(max_parallel=2), t).submit(picked)
    assert ids == ["2001[0].torque01", "2001[1].torque01", "2001[2].torque01", "2001[5].torque01"]
    assert " -t 0-2,5%2 " in t.commands[1]


def test_a_failed_later_array_deletes_the_earlier_ones() -> None:
    results = iter([Result("qsub", 0, "90[].s\n", ""), Result("qsub", 38, "", "qsub: Unauthorized Request")])
    t = Fake(respond=lambda cmd: next(results) if cmd.startswith("qsub") else Result(cmd, 0, "", ""))
    with pytest.raises(SchedulerError, match="Unauthorized"):
        pbs.PbsScheduler(infra(max_array_size=3), t).submit(jobs(5))
    assert t.commands[-1] == "qdel '90[].s'"


def test_pbspro_status_is_one_qstat_of_the_arrays() -> None:
    t = Fake([(r"^qstat", (153, fx("pbspro_qstat_f_json_array.json", PUB), "qstat: Unknown Job Id 9[].pbs01\n"))])
    wanted = {f"1234[{i}].pbs01": j for i, j in enumerate(jobs(6))}
    got = pbs.PbsScheduler(infra(), t).status(wanted)
    assert t.commands == ["qstat -f -F json -x -t '1234[].pbs01'"]
    assert got["1234[1].pbs01"] == JobStatus(State.FAILED, "exit code 3") and len(got) == 6


def test_jobs_qstat_forgot_are_left_out() -> None:
    wanted = {f"5[{i}].s": j for i, j in enumerate(jobs(2))} | {"1234[0].pbs01": jobs(1)[0]}
    t = Fake([(r"^qstat", (153, fx("pbspro_qstat_f_json_array.json", PUB), "qstat: Unknown Job Id 5[].s\n"))])
    got = pbs.PbsScheduler(infra(), t).status(wanted)
    assert got == {"1234[0].pbs01": JobStatus(State.SUCCEEDED)}   # 5[0], 5[1]: the wrapper's code decides
    assert len(t.commands) == 1   # one qstat, no look at the wrapper's files


def test_an_ended_job_without_exit_status_is_for_the_wrapper_to_decide() -> None:
    st = pbs.outcome({"job_state": "C"}, states.TORQUE_EXIT)
    assert st.state is None and st.ended and "no exit status" in st.reason
    # a limit the scheduler names still says how, exit status or not
    assert pbs.outcome({"job_state": "F", "comment": "Job exceeded walltime"}, {}).state == State.FAILED


def test_unreadable_json_falls_back_to_text_once() -> None:
    t = Fake([(r"-F json", (0, "{not json", "")), (r"^qstat", (0, fx("pbspro_qstat_f_finished.txt", PUB), ""))])
    sched = pbs.PbsScheduler(infra(), t)
    got = sched.status({"1240.pbs01": jobs(1)[0]})
    assert got["1240.pbs01"].state == State.FAILED
    sched.status({"1240.pbs01": jobs(1)[0]})
    assert sum("-F json" in c for c in t.commands) == 1


def test_failing_qstat_raises_with_the_command() -> None:
    t = Fake([(r"^qstat", (1, "", "qstat: cannot connect to server pbs01 (errno=111)\n"))])
    with pytest.raises(SchedulerError, match="(?s)exit code 1: qstat -f.*cannot connect"):
        pbs.PbsScheduler(infra(), t).status({"1[0].s": jobs(1)[0]})


def test_torque_status_is_text_without_history() -> None:
    t = Fake([(r"^qstat", (0, fx("torque_qstat_f_t.txt", PUB), ""))])
    wanted = {f"2001[{i}].torque01.example.org": j for i, j in enumerate(jobs(6))}
    got = TorqueScheduler(infra(), t).status(wanted)
    assert t.commands == ["qstat -f -t '2001[].torque01.example.org'"]
    assert got["2001[2].torque01.example.org"] == JobStatus(State.FAILED, "walltime exceeded")


def test_find_adopts_subjobs_of_arrays_found_by_name() -> None:
    t = Fake([(r"qselect", (0, fx("pbspro_qselect.txt", PUB), "")),
              (r"^qstat", (0, fx("pbspro_qstat_f_json_array.json", PUB), ""))])
    found = pbs.PbsScheduler(infra(), t).find(jobs(6))
    assert found == {f"mso.{RUN}.main-{i:04d}": f"1234[{i}].pbs01" for i in range(6)}
    assert t.commands[0] == f"echo '# mso.{RUN}.main' ; qselect -x -N mso.{RUN}.main"
    assert t.commands[1] == "qstat -f -F json -x -t '1234[].pbs01' '1250[].pbs01'"


def test_subjobs_take_their_arrays_name_by_sequence_number() -> None:
    named = {"1234[].pbs01": "mso.r.main", "1250[].pbs01": "mso.r.main+4"}
    ids = ["1234[].pbs01.example.org", "1234[2].pbs01.example.org", "1250[0].pbs01", "77[0].pbs01"]
    assert pbs.subjobs(ids, named) == [   # not the array itself, nor a subjob of another array
        arrays.Listed(1234, 2, "mso.r.main", "1234[2].pbs01.example.org"),
        arrays.Listed(1250, 0, "mso.r.main+4", "1250[0].pbs01")]


def test_cancel_is_one_qdel_and_ignores_finished_jobs() -> None:
    t = Fake([(r"^qdel", (35, "", "qdel: Job has finished 5[0].s\n"))])
    pbs.PbsScheduler(infra(), t).cancel(["5[0].s", "5[1].s"])
    assert t.commands == ["qdel '5[0].s' '5[1].s'"]


def test_max_parallel_is_left_to_the_array() -> None:
    batch = jobs(5)
    assert pbs.PbsScheduler(infra(max_parallel=3), Fake()).admit(batch, 4) == batch


@pytest.mark.parametrize("stderr", [
    "qsub: would exceed queue workq's per-user limit of jobs in 'Q' state",
    "qsub: would exceed complex's per-user limit of jobs in 'Q' state",
    "qsub: Maximum number of jobs already in queue workq",
    "qsub: submit error (Maximum number of jobs already in queue for user MSG=total number of "
    "current user's jobs exceeds the queue limit: user u@h, queue batch)"])
def test_a_queued_jobs_limit_keeps_what_was_taken(stderr: str) -> None:
    results = iter([(0, "300[].s\n", ""), (38, "", stderr + "\n")])
    t = Fake(respond=lambda cmd: Result(cmd, *next(results)) if cmd.startswith("qsub")
             else Result(cmd, 0, "", ""))
    sched = pbs.PbsScheduler(infra(max_array_size=2), t)
    batch = jobs(4)
    with pytest.raises(SubmitLimited) as err:
        sched.submit(batch)
    assert err.value.taken == {batch[0].name: "300[0].s", batch[1].name: "300[1].s"}
    assert not any(c.startswith("qdel") for c in t.commands) and "limit" in sched.held
