"""The one exception tree of mso.

    MsoError                 a user-facing error: one line, exit 1
    +-- SpecError            a declaration is wrong (carries file, line, breadcrumb)
    |   +-- SpecErrors       several SpecErrors found at once
    +-- StateError           a run record is missing, corrupt or in the wrong state
    +-- TransportError       a command or file transfer to a host failed
    +-- SchedulerError       a scheduler refused or failed an operation
    +-- ContainerError       building, pushing or running a container failed
    +-- CloudError           a cloud refused, or failed to make, delete or find a server
    +-- StagingError         copying data in or out failed, or a checksum did not match
    +-- PublishError         committing results or talking to GitLab failed
    +-- BookError            generating or building the book failed

Anything else that escapes is a bug: exit 3 and a crash log.
"""

from __future__ import annotations

from dataclasses import dataclass


class MsoError(Exception):
    """An error the user can act on; its text is the whole message."""


@dataclass(frozen=True)
class Location:
    """Where in a declaration something is: file, 1-based line and column, breadcrumb."""

    path: str
    line: int = 0
    col: int = 0
    breadcrumb: str = ""

    def __str__(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}:{self.col or 1}"
        return f"{where}: {self.breadcrumb}" if self.breadcrumb else where


class SpecError(MsoError):
    """One problem in one declaration."""

    def __init__(self, where: Location, message: str, hint: str = "") -> None:
        self.where, self.message, self.hint = where, message, hint
        super().__init__(self.render())

    def render(self) -> str:
        text = f"{self.where}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def as_dict(self) -> dict:
        w = self.where
        return {"path": w.path, "line": w.line, "col": w.col, "breadcrumb": w.breadcrumb,
                "message": self.message, "hint": self.hint}


class SpecErrors(MsoError):
    """All the problems found in one pass, sorted by place."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.where.path, e.where.line, e.where.col))
        super().__init__("\n".join(e.render() for e in self.errors))


class StateError(MsoError):
    """A run record is missing, unreadable, or does not allow the operation."""


class TransportError(MsoError):
    """A command or a file transfer to a host failed; `transient` when retrying later may help
    (a reset connection, a timeout), not when it cannot (refused key, unknown host key)."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class SchedulerError(MsoError):
    """The scheduler refused or failed an operation."""


class SubmitLimited(SchedulerError):
    """The site refused a submission for a limit on queued jobs (Slurm's MaxSubmitJobs, PBS's
    max_queued): nothing is wrong with the jobs, they wait for room. `limit`: the site's words
    for the limit; `taken`: by job name, the ids of those the scheduler took before refusing."""

    def __init__(self, limit: str, taken: dict[str, str] | None = None) -> None:
        super().__init__(f"the site's limit on queued jobs ({limit}) refused more")
        self.limit, self.taken = limit, dict(taken or {})


class ContainerError(MsoError):
    """Building, pushing or running a container failed."""


class CloudError(MsoError):
    """A cloud refused or failed an operation on a server (quota, a missing image or flavor,
    a server in ERROR or stuck in BUILD, bad credentials)."""


class StagingError(MsoError):
    """Staging data in or out failed."""


class PublishError(MsoError):
    """Committing results back or reporting to GitLab failed."""


class BookError(MsoError):
    """Generating or building the book failed."""


def command_failed(cmd: list[str] | str, code: int, stdout: str, stderr: str) -> str:
    """Describe a failed subprocess: the command, its exit code and indented output."""
    shown = cmd if isinstance(cmd, str) else " ".join(cmd)
    lines = [f"command failed with exit code {code}: {shown}"]
    for label, text in (("stdout", stdout), ("stderr", stderr)):
        if text.strip():
            body = "\n".join("    " + ln for ln in text.strip().splitlines()[-20:])
            lines.append(f"  {label}:\n{body}")
    return "\n".join(lines)
