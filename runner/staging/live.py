"""Reading the new bytes of many growing logs on one host in ONE command (the watcher's live tail).

What each file was read up to goes in on stdin, one `path<TAB>identity<TAB>offset` a line;
the command answers, per file that exists, a header `path<TAB>identity<TAB>size<TAB>start` and a line of
base64: the bytes from `start`. `start` is the offset asked for, unless the file was truncated
(smaller than it) or replaced (another inode: rotated, or deleted and recreated): then 0. A
replaced file is first read to its end where it still is in the same folder (found by its inode,
as `mv log log.1` leaves it), so rotation loses no line; the header then names the old file.
A file is known by `inode:birth time` (stat's %i and %.9W): a log deleted and recreated at once
often gets the same inode back, and its birth time tells them apart (where the file system
records one; elsewhere the inode alone, and a recreated file larger than the offset is read on
from the offset).

Bounds: at most PER_FILE bytes of one file and TOTAL bytes in all per command (the answer is
base64 of at most TOTAL bytes, ~11 MB); what is left is read at the next tick. Files are read
with `dd` and coreutils only: no probe, nothing on the compute node, nothing in the job.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from runner.errors import StagingError

PER_FILE = 1024 * 1024        # bytes of one file per command
TOTAL = 8 * 1024 * 1024       # bytes of all files per command

_SCRIPT = r"""budget={total}; per={per}
while IFS=$'\t' read -r f k o; do
  [ -f "$f" ] && [ ! -L "$f" ] || continue
  st=$(stat -c '%i %s %.9W' -- "$f" 2>/dev/null || stat -c '%i %s 0' -- "$f" 2>/dev/null) \
    || continue
  read -r i s b <<< "$st"; src=$f; i=$i:$b; from=$o
  if [ "$k" != 0 ] && [ "$k" != "$i" ]; then
    from=0
    old=$(find "${{f%/*}}" -maxdepth 1 -inum "${{k%%:*}}" -type f -print -quit 2>/dev/null)
    os=$([ -n "$old" ] && stat -c %s -- "$old" 2>/dev/null || echo 0)
    if [ "$os" -gt "$o" ]; then src=$old; i=$k; s=$os; from=$o; fi
  elif [ "$s" -lt "$o" ]; then from=0
  fi
  n=$((s - from)); [ $n -gt $per ] && n=$per; [ $n -gt $budget ] && n=$budget
  printf '%s\t%s\t%s\t%s\n' "$f" "$i" "$s" "$from"
  if [ $n -gt 0 ]; then
    dd if="$src" bs=65536 iflag=skip_bytes,count_bytes skip="$from" count="$n" status=none \
      | base64 -w0
    budget=$((budget - n))
  fi
  echo
done
exit 0"""


@dataclass(frozen=True)
class Want:
    """A file to read on: its absolute path on the host, the identity (`inode:birth`, or "0"
    for a file not seen yet) and the offset read up to."""

    path: str
    inode: str
    offset: int


@dataclass(frozen=True)
class Chunk:
    """What the command read of one file: from which file (identity), the file's size, where
    the bytes start in it (0 after a truncation or a replacement), the bytes."""

    inode: str
    size: int
    start: int
    data: bytes


def command(per_file: int = PER_FILE, total: int = TOTAL) -> str:
    """The bash command that reads the files named on stdin (see `request`)."""
    return _SCRIPT.format(total=int(total), per=int(per_file))


def request(wants: list[Want]) -> str:
    """The command's stdin; a path with a tab or a newline cannot be asked for (left out)."""
    return "".join(f"{w.path}\t{_word(w.inode)}\t{int(w.offset)}\n" for w in wants
                   if "\t" not in w.path and "\n" not in w.path)


def parse(stdout: str) -> dict[str, Chunk]:
    """The chunks the command printed, by path (a pure function of its output)."""
    lines = stdout.split("\n")
    found: dict[str, Chunk] = {}
    for head, body in zip(lines[0::2], lines[1::2]):
        path, _, rest = head.partition("\t")
        try:
            inode, size, start = rest.split("\t")
            found[path] = Chunk(_word(inode), int(size), int(start),
                                base64.b64decode(body, validate=True))
        except (ValueError, binascii.Error):
            raise StagingError(f"unexpected answer while reading logs: {head[:200]!r}") from None
    return found



def _word(identity: str) -> str:
    """An identity as one safe word ("0" when unknown or odd)."""
    return identity if identity and all(c.isalnum() or c in ":.?" for c in identity) else "0"
