"""The Slurm status query: one command per poll, squeue about the jobs' arrays, then sacct about
only those of the jobs squeue does not show live (ended, or no longer listed).

squeue answers from slurmctld, cheaply. sacct answers from slurmdbd and is dear: with steps (the
only way an allocation's TotalCPU is their sum) a whole 1000-element array costs about 0.4 s of
the database's time on every poll, taken from the jobs it runs beside; a list of element ids
costs about 4.5 ms each. So the remote shell picks (with awk, from squeue's answer) the jobs
mso asked about that squeue does not show pending or running, and sacct is asked about those by
id, or about their whole array when many of one array ended at once. A poll where nothing ended
runs no sacct at all.
"""

from __future__ import annotations

import shlex
from collections import defaultdict

from runner.schedulers import arrays, states

# The formats of the recorded fixtures (tests/fixtures/slurm): the parsers read columns by position.
SQUEUE_FORMAT = "%i|%j|%T|%r"
SACCT_FIELDS = ("JobID,JobName,State,ExitCode,Elapsed,MaxRSS,"
                "Submit,Start,End,ElapsedRaw,TotalCPU,ConsumedEnergyRaw")
SQUEUE_EXIT = "@mso squeue exit"   # the line between squeue's and sacct's answers in one command
# more ended elements of one array than this: sacct is asked about the whole array (cheaper)
WHOLE_ARRAY_FROM = 64

_ENDED = "|".join(sorted(name for name, native in states.SLURM.items() if native.state.terminal))

# want: space-separated `123`, `123_4` or `123_[0-2,5]`; stdin: squeue's `%i|...|%T|...` lines;
# prints the comma-separated job ids for sacct (empty when every wanted job is live)
_PICK = r"""
function mark(tok, set,   u, base, list, n, parts, i, r, lohi, k) {
  u = index(tok, "_")
  if (!u) { set[tok] = 1; return }
  base = substr(tok, 1, u - 1); list = substr(tok, u + 1)
  sub(/%.*/, "", list); gsub(/\[/, "", list); gsub(/\]/, "", list)
  n = split(list, parts, ",")
  for (i = 1; i <= n; i++) {
    r = split(parts[i], lohi, "-")
    for (k = lohi[1] + 0; k <= lohi[r] + 0; k++) set[base "_" k] = 1
  }
}
BEGIN { FS = "|"; n = split(want, w, " "); for (i = 1; i <= n; i++) mark(w[i], wanted) }
NF >= 3 && $3 !~ /^(ENDED)$/ { mark($1, live) }
END {
  for (id in wanted) if (!(id in live)) {
    a = id; sub(/_.*/, "", a); ids[a] = ids[a] "," id; count[a]++
  }
  out = ""
  for (a in ids) out = out "," (count[a] > MANY ? a : substr(ids[a], 2))
  print substr(out, 2)
}
""".replace("ENDED", _ENDED).replace("MANY", str(WHOLE_ARRAY_FROM))


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


def status_command(job_ids: list[str]) -> str:
    """squeue, then sacct for the jobs squeue does not show live, in one round trip: `squeue's
    lines`, a `@mso squeue exit N` line, `sacct's lines`; the command's exit code is sacct's (0
    when nothing needed asking)."""
    sacct = "SLURM_BITSTR_LEN=0 " + shlex.join(["sacct", *_SACCT_ARGS])
    return (f"q=$({squeue_command(job_ids)}); c=$?; [ -z \"$q\" ] || printf '%s\\n' \"$q\"; "
            f"echo {shlex.quote(SQUEUE_EXIT)} $c; "
            f"j=$(printf '%s\\n' \"$q\" | awk -v want={shlex.quote(wanted(job_ids))} {shlex.quote(_PICK)}); "
            f"[ -z \"$j\" ] || {sacct} --jobs=\"$j\"")


def split_status(stdout: str) -> tuple[str, int | None, str]:
    """status_command's output -> (squeue's stdout, squeue's exit code or None, sacct's stdout)."""
    head, sep, tail = stdout.partition(SQUEUE_EXIT)
    if not sep:
        return head, None, ""
    code, _, rest = tail.partition("\n")
    return head, int(code) if code.strip().isdigit() else None, rest
