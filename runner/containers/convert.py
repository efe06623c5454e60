"""Dockerfile <-> Apptainer/Singularity definition, with spython (the Singularity project's own
converter), for `mso recipe convert` and for building a Dockerfile with apptainer."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from runner.errors import ContainerError
from runner.fsutil import write_atomic

KINDS = ("docker", "singularity")
_ARG = re.compile(r"^(\s*ARG\s+)([A-Za-z_][A-Za-z0-9_]*)(=\S*)?\s*$", re.IGNORECASE)
_STAGE = re.compile(r"^\s*Stage:", re.IGNORECASE)


def kind_of(path: Path) -> str:
    """'docker' or 'singularity', from the file's name, else from its first instruction."""
    name = path.name.lower()
    if name.startswith(("dockerfile", "containerfile")) or name.endswith(".dockerfile"):
        return "docker"
    if name.startswith("singularity") or name.endswith((".def", ".recipe")):
        return "singularity"
    for line in _read(path).splitlines():
        word = line.strip().split(":")[0].split(" ")[0].lower()
        if word in ("bootstrap", "from:"):
            return "singularity"
        if word in ("from", "arg"):
            return "docker"
    raise ContainerError(f"{path}: neither a Dockerfile nor a definition file "
                         "(say which with --from docker|singularity)")


def convert(path: Path, to: str, args: dict[str, str] | None = None) -> str:
    """The recipe at `path` written as `to`; build `args` are fixed into a Dockerfile's ARGs
    first (a definition has no ARG defaults for spython to read)."""
    source = kind_of(path)
    if source == to:
        raise ContainerError(f"{path} is already a {_label(to)}")
    text = _read(path)
    text = _with_args(text, args or {}) if source == "docker" else _single_stage(text)
    return _spython(text, source, to, path)


def write(src: Path, out: Path, to: str, force: bool = False,
          args: dict[str, str] | None = None) -> Path:
    """Convert `src` into `out`; an existing `out` is kept unless `force`."""
    text = convert(src, to, args)
    if out.exists() and not force:
        raise ContainerError(f"{out} exists; give --force to replace it, or -o another path")
    write_atomic(out, text)
    return out


def default_output(src: Path, to: str) -> Path:
    """Beside the source: `Singularity.def` or `Dockerfile`."""
    return src.parent / ("Dockerfile" if to == "docker" else "Singularity.def")


def _spython(text: str, source: str, to: str, path: Path) -> str:
    """Run spython's parser and writer on `text`, quietly; its failures become one line."""
    from spython.logger import bot
    from spython.main.parse.parsers import DockerParser, SingularityParser
    from spython.main.parse.writers import DockerWriter, SingularityWriter
    parser, writer = ((DockerParser, SingularityWriter) if source == "docker"
                      else (SingularityParser, DockerWriter))
    level, bot.level = bot.level, 0   # spython's warnings name files relative to our cwd: noise
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".recipe") as fh:
            fh.write(text)
            fh.flush()
            result = writer(parser(fh.name).recipe).convert()
    except (Exception, SystemExit) as exc:   # noqa: BLE001 - spython raises and exits freely
        raise ContainerError(f"{path}: spython could not convert it to a {_label(to)}: "
                             f"{str(exc).strip() or type(exc).__name__}") from None
    finally:
        bot.level = level
    return _single_stage(result) if to == "singularity" else result


def _with_args(text: str, args: dict[str, str]) -> str:
    """A Dockerfile whose `ARG NAME[=default]` lines carry the given values."""
    def fix(line: str) -> str:
        m = _ARG.match(line)
        if not m or m.group(2) not in args:
            return line
        return f"{m.group(1)}{m.group(2)}={args[m.group(2)]}"
    return "\n".join(fix(line) for line in text.splitlines()) + "\n"


def _single_stage(text: str) -> str:
    """A definition without its `Stage:` line when it has one stage: spython writes one after
    `From:` and then cannot read it back (its parser wants no stage, or stages before From)."""
    lines = text.splitlines()
    stages = [i for i, line in enumerate(lines) if _STAGE.match(line)]
    if len(stages) == 1:
        del lines[stages[0]]
    return "\n".join(lines) + "\n"


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        raise ContainerError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ContainerError(f"{path}: cannot read it: {exc}") from None


def _label(kind: str) -> str:
    return "Dockerfile" if kind == "docker" else "Apptainer/Singularity definition"
