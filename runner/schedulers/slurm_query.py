"""The Slurm status query: one command per poll, squeue about the jobs' arrays, then sacct about
only those of the jobs squeue does not show live (ended, or no longer listed).

squeue answers from slurmctld, cheaply. sacct answers from slurmdbd and is dear: with steps (the
only way an allocation's TotalCPU is their sum) a whole 1000-element array costs 0.4-0.7 s of
the database's time, taken from the jobs it runs beside, and a list of element ids about 4.5 ms
an id. What is cheap is a time window: the elements of an array that ended since a given time
(`--state=<the ended states> -S <time>`) cost about 0.07 s however many. So the remote shell
reads squeue's answer (with awk) for the jobs mso asked about:
- those squeue shows ended: sacct gets their arrays, from the earliest of their end times
  (squeue's `%e`) on;
- those squeue no longer lists (a restart after MinJobAge): sacct gets them by id, or their
  whole array when many of one array are gone;
- those pending or running: nothing. A poll where nothing ended runs no sacct at all.
"""

from __future__ import annotations

import shlex
from collections import defaultdict

from runner.schedulers import arrays, states

# The formats of the recorded fixtures (tests/fixtures/slurm): the parsers read columns by
# position (squeue's end time, last, is read only by the pick below).
SQUEUE_FORMAT = "%i|%j|%T|%r|%e"
SACCT_FIELDS = ("JobID,JobName,State,ExitCode,Elapsed,MaxRSS,"
                "Submit,Start,End,ElapsedRaw,TotalCPU,ConsumedEnergyRaw,ReqMem")
SQUEUE_EXIT = "@mso squeue exit"   # the line between squeue's and sacct's answers in one command
# more unlisted elements of one array than this: sacct is asked about the whole array (cheaper)
WHOLE_ARRAY_FROM = 64

ENDED = sorted(name for name, native in states.SLURM.items() if native.state.terminal)

# want: space-separated `123`, `123_4` or `123_[0-2,5]`; stdin: squeue's `%i|%j|%T|%r|%e` lines.
# Prints three words, `-` for none: the earliest end time of the wanted jobs squeue shows ended,
# their arrays (comma-separated), and the wanted jobs squeue does not list (ids or arrays).
_PICK = r"""
function mark(tok, set, value,   u, base, list, n, parts, i, r, lohi, k) {
  u = index(tok, "_")
  if (!u) { set[tok] = value; return }
  base = substr(tok, 1, u - 1); list = substr(tok, u + 1)
  sub(/%.*/, "", list); gsub(/\[/, "", list); gsub(/\]/, "", list)
  n = split(list, parts, ",")
  for (i = 1; i <= n; i++) {
    r = split(parts[i], lohi, "-")
    for (k = lohi[1] + 0; k <= lohi[r] + 0; k++) set[base "_" k] = value
  }
}
function word(s) { return s == "" ? "-" : substr(s, 2) }
BEGIN { FS = "|"; n = split(want, w, " "); for (i = 1; i <= n; i++) mark(w[i], wanted, 1) }
NF >= 5 && $3 ~ /^(ENDED)$/ && $5 ~ /^[0-9][0-9][0-9][0-9]-[0-9]/ { mark($1, ended, $5); next }
NF >= 3 { mark($1, live, 1) }
END {
  since = ""
  for (id in wanted) {
    if (id in live) continue
    a = id; sub(/_.*/, "", a)
    if (id in ended) {
      if (since == "" || ended[id] < since) since = ended[id]
      if (!(a in windowed)) { windowed[a] = 1; arrays = arrays "," a }
    } else { gone[a] = gone[a] "," id; count[a]++ }
  }
  for (a in gone) ids = ids "," (count[a] > MANY ? a : substr(gone[a], 2))
  print (since == "" ? "-" : since), word(arrays), word(ids)
}
""".replace("ENDED", "|".join(ENDED)).replace("MANY", str(WHOLE_ARRAY_FROM))


def _arrays(job_ids: list[str]) -> list[str]:
    return sorted({j.split("_")[0] for j in job_ids}, key=lambda a: (len(a), a))


def squeue_command(job_ids: list[str]) -> str:
    """One squeue for the arrays of all these jobs (full ranges: SLURM_BITSTR_LEN=0). With
    --states=all it also tells the final state of jobs that ended less than MinJobAge ago,
    straight from slurmctld: sacct, fed by slurmdbd, lags seconds behind."""
    return "SLURM_BITSTR_LEN=0 " + shlex.join(["squeue", "-h", "--states=all", "-o", SQUEUE_FORMAT,
                                               "--jobs=" + ",".join(_arrays(job_ids))])


def sacct_command(job_ids: list[str]) -> str:
    """One sacct for these jobs, parsable, no header, latest attempt only. With their steps (no
    -X): only then is an allocation's TotalCPU the sum of its steps' (with -X it reads 0)."""
    return "SLURM_BITSTR_LEN=0 " + shlex.join(["sacct", *_SACCT_ARGS, "--jobs=" + ",".join(job_ids)])


_SACCT_ARGS = ["-P", "-n", "-o", SACCT_FIELDS]


def wanted(job_ids: list[str]) -> str:
    """The jobs as the awk program reads them: `123`, or an array's elements as `123_[0-2,5]`."""
    singles, elements = [], defaultdict(list)
    for j in job_ids:
        base, _, index = j.partition("_")
        if index.isdigit():
            elements[base].append(int(index))
        else:
            singles.append(j)
    return " ".join(singles + [f"{b}_[{arrays.compress(tuple(ix))}]" for b, ix in sorted(elements.items())])


def status_command(job_ids: list[str], ended: bool = True) -> str:
    """squeue, then sacct for the jobs squeue does not show live, in one round trip: `squeue's
    lines`, a `@mso squeue exit N` line, `sacct's lines`; the command fails when a sacct did
    (it succeeds when nothing needed asking). With `ended` False, sacct is not asked about the
    jobs squeue shows ended (only about those it no longer lists)."""
    sacct = "SLURM_BITSTR_LEN=0 " + shlex.join(["sacct", *_SACCT_ARGS])
    windowed = (f"[ \"$1\" = - ] || {sacct} --state={','.join(ENDED)} -S \"$1\" -E now "
                f"--jobs=\"$2\" || r=$?; ") if ended else ""
    return (f"q=$({squeue_command(job_ids)}); c=$?; [ -z \"$q\" ] || printf '%s\\n' \"$q\"; "
            f"echo {shlex.quote(SQUEUE_EXIT)} $c; "
            f"set -- $(printf '%s\\n' \"$q\" | awk -v want={shlex.quote(wanted(job_ids))} "
            f"{shlex.quote(_PICK)}); r=0; "
            f"{windowed}[ \"$3\" = - ] || {sacct} --jobs=\"$3\" || r=$?; [ $r = 0 ]")


def split_status(stdout: str) -> tuple[str, int | None, str]:
    """status_command's output -> (squeue's stdout, squeue's exit code or None, sacct's stdout)."""
    head, sep, tail = stdout.partition(SQUEUE_EXIT)
    if not sep:
        return head, None, ""
    code, _, rest = tail.partition("\n")
    return head, int(code) if code.strip().isdigit() else None, rest
