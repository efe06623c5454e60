"""The content-addressed data cache on a host: `<work_root>/.cache/sha256/<hash>`, a read-only
file for a file dataset, a folder for a folder dataset (its files read-only), shared by runs.

As for the image cache (runner/containers/cache.py), one shell command does a step and a pure
parser reads its answer:
- `present_command`: which of a batch of hashes are there already (one command for all);
- `store_command`: under a lock per hash (`flock`: two runners move a dataset once), unless the
  entry exists, fill `<key>.part/data` (rclone on the host, a link or copy of the runner's cache,
  or nothing when the runner sent it by SFTP before), verify it there (`sha256sum`, or
  `sha256sum -c` against a folder's manifest), make its files read-only and `mv` it to its
  entry: the entry appears whole or not at all.
What an interrupted transfer left is taken up by the next one: a folder's part is resumed (rclone
copy skips the files that are complete), a file's part restarts. On a mismatch the part is
removed and the parser names both hashes. Nothing in a part is ever taken for the dataset.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass

from runner.data import progress, rclone
from runner.errors import StagingError
from runner.transports.base import Result

FOLDER = ".cache/sha256"
MARK = "mso-data:"
NO_FOLDER, FILL_FAILED, MISMATCH = 92, 93, 94   # the command's own exit codes
TAIL = 12


@dataclass(frozen=True)
class Want:
    """A dataset as the cache sees it: its lock and part name, the content hash the catalogue
    gives (None: hashed once it has arrived), and a folder's manifest text when known."""

    key: str
    expect: str | None
    folder: bool
    manifest: str | None = None
    label: str = ""          # how messages name it: `dataset NAME (datasets/NAME.yaml)`


@dataclass(frozen=True)
class Stored:
    """A cache entry: its content hash, the bytes that arrived (0 when it was there already)."""

    sha256: str
    bytes: int
    cached: bool


def folder(work_root: str) -> str:
    return f"{str(work_root).rstrip('/')}/{FOLDER}"


def entry(work_root: str, sha256: str) -> str:
    """Where a dataset of that content hash is kept on the host."""
    return f"{folder(work_root)}/{sha256}"


def part(work_root: str, key: str) -> str:
    """Where a transfer lands before it is verified (`<part>/data` is the data itself)."""
    return f"{folder(work_root)}/{key}.part"


def key_of(expect: str | None, location: str) -> str:
    """The lock and part name: the expected hash, else one derived from the location."""
    return expect or "loc-" + hashlib.sha256(location.encode()).hexdigest()


# --- which entries are there ---------------------------------------------------------------

def present_command(work_root: str, hashes: list[str]) -> tuple[str, str]:
    """(command, stdin) that prints the hashes whose entry exists, one a line."""
    text = (f"cd {shlex.quote(folder(work_root))} 2>/dev/null || exit 0; "
            'while read -r h; do if [ -e "$h" ]; then echo "$h"; fi; done')
    return text, "".join(f"{h}\n" for h in hashes)


def parse_present(res: Result, hashes: list[str]) -> set[str]:
    res.check("listing the data cache")
    return set(res.stdout.split()) & set(hashes)


# --- one entry, made whole or not at all ---------------------------------------------------

def store_command(work_root: str, want: Want, fill: str | None) -> str:
    """The command that makes the entry exist: fill the part (None: it is filled already),
    verify it, move it in place. Its last line says `mso-data: stored|cached HASH BYTES`."""
    q = shlex.quote
    top, p = folder(work_root), part(work_root, want.key)
    lines = ["set -o pipefail",
             f"C={q(top)}; P={q(p)}",
             f'mkdir -p "$C" && exec 9>>"$C/{want.key}.lock" || exit {NO_FOLDER}',
             # waits while another runner moves the same data; then its entry is there
             "if command -v flock >/dev/null 2>&1; then flock 9; fi"]
    if want.expect:
        lines.append(f'if [ -e "$C/{want.expect}" ]; then echo "{MARK} cached {want.expect} 0"; '
                     "exit 0; fi")
    if fill is not None:
        lines += _fill(want, fill)
    lines.append(f'[ -e "$P/data" ] || {{ echo "{MARK} nothing arrived" >&2; exit {FILL_FAILED}; }}')
    lines += _verify(want)
    lines += [
        "B=$(find \"$P/data\" -type f -printf '%s\\n' | awk '{s+=$1} END {print s+0}')",
        f'if [ -e "$C/$H" ]; then rm -rf "$P"; echo "{MARK} cached $H $B"; exit 0; fi',
        'find "$P/data" -type f -exec chmod a-w {} + && mv -T "$P/data" "$C/$H" && rm -rf "$P" '
        f'&& echo "{MARK} stored $H $B" && exit 0',
        'code=$?; rm -rf "$P"; exit $code',
    ]
    return "\n".join(lines)


def _fill(want: Want, fill: str) -> list[str]:
    if want.folder:   # resumed: rclone copy skips what is complete
        start = 'mkdir -p "$P/data" && find "$P/data" -name "*.partial" -type f -delete'
    else:             # a file restarts
        start = 'rm -rf "$P" && mkdir -p "$P"'
    undo = "" if want.folder else 'rm -rf "$P"; '
    return [f"{start} || exit {NO_FOLDER}",
            f"{{ {fill}\n}} || {{ {undo}exit {FILL_FAILED}; }}"]


def _verify(want: Want) -> list[str]:
    """Lines that set H to the content hash of the part, or remove it and exit MISMATCH."""
    listing = ("( cd \"$P/data\" && find . -type f -printf '%P\\0' | LC_ALL=C sort -z | "
               "xargs -0r sha256sum -- )")
    if not want.folder:
        lines = ['H=$(sha256sum < "$P/data") && H=${H%% *} || exit ' + str(FILL_FAILED)]
        if want.expect:
            lines.append(f'if [ "$H" != {want.expect} ]; then rm -rf "$P"; '
                         f'echo "{MARK} mismatch $H"; exit {MISMATCH}; fi')
        return lines
    if want.manifest is None:
        return [f'{listing} > "$P/manifest" || exit {FILL_FAILED}',
                'H=$(sha256sum < "$P/manifest") && H=${H%% *} || exit ' + str(FILL_FAILED)]
    count = len(want.manifest.splitlines())
    return [f'printf %s {shlex.quote(want.manifest)} > "$P/manifest" || exit {NO_FOLDER}',
            'if ! ( cd "$P/data" && sha256sum -c --quiet --strict ../manifest >&2 ) || '
            f'[ "$(find "$P/data" -type f | wc -l)" -ne {count} ]; then '
            f'{listing} | sed "s/^/{MARK} got /"; rm -rf "$P"; echo "{MARK} mismatch"; '
            f"exit {MISMATCH}; fi",
            f"H={want.expect}"]


def parse_store(res: Result, want: Want, where: str,
                settings: rclone.Settings | None = None, remote: str | None = None) -> Stored:
    """The entry stored or found; a StagingError that names both hashes on a mismatch, or says
    why the transfer failed (secrets masked)."""
    out = res.stdout.strip().splitlines()
    m = re.fullmatch(rf"{MARK} (stored|cached) ([0-9a-f]{{64}}) (\d+)", out[-1] if out else "")
    if res.code == 0 and m:
        return Stored(m.group(2), int(m.group(3)), m.group(1) == "cached")
    if res.code == MISMATCH:
        raise StagingError(mismatch(want, where, _got(out), _differ(want, out)))
    settings = settings or rclone.Settings()
    if res.code == FILL_FAILED and res.stderr.strip():
        said = rclone.explain(res.stderr, settings, f"moving {want.label or want.key}", remote)
        raise StagingError(f"{where}: {said}")
    said = [settings.mask(ln) for ln in (res.stderr + res.stdout).strip().splitlines()
            if not progress.is_stats(ln)]
    body = "\n".join("    " + ln for ln in said[-TAIL:]) or "    (no output)"
    raise StagingError(f"{where}: staging {want.label or want.key} failed (exit code "
                       f"{res.code}); its last lines:\n{body}")


def mismatch(want: Want, where: str, got: str, files: list[str] | None = None) -> str:
    """The one message for data that is not what the catalogue says."""
    which = f" (files that differ: {', '.join(files[:5])}{' ...' if len(files) > 5 else ''})" \
        if files else ""
    return (f"{where}: {want.label or want.key}: the data that arrived has sha256 {got}, the "
            f"catalogue says {want.expect}{which}; nothing was kept and no task started (fix the "
            "dataset's sha256 or manifest if the data changed on purpose)")


def _got(out: list[str]) -> str:
    """The hash of what arrived: a file's, or that of the manifest of a folder's files."""
    for line in reversed(out):
        if line.startswith(f"{MARK} mismatch "):
            return line.split()[-1]
    got = "".join(ln[len(MARK) + 5:] + "\n" for ln in out if ln.startswith(f"{MARK} got "))
    return hashlib.sha256(got.encode()).hexdigest()


def _differ(want: Want, out: list[str]) -> list[str]:
    """A folder's files whose hash is not the manifest's, or that are missing or extra."""
    if want.manifest is None:
        return []
    have = {ln[len(MARK) + 5:] for ln in out if ln.startswith(f"{MARK} got ")}
    lines = set(want.manifest.splitlines())
    return sorted({ln.split("  ", 1)[-1] for ln in have ^ lines})
