"""An application's recipe and build context, and the content tag that names its image.

The tag is `<version>-<12 hex>`: a SHA-256 over the recipe's bytes, every file of the build
context (relative paths, contents, the executable bit) and the build args. No time stamp and
no absolute path enters it, so an unchanged application gets the same tag on any machine, and
the registry can be asked whether that image exists before anything is built.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from runner.declarations.models import Application, Container
from runner.errors import ContainerError
from runner.fsutil import sha256_file

FORMAT = b"mso-image-v1"   # bump when what the hash covers changes: every tag changes with it
SKIPPED = frozenset({".git", "__pycache__"})
_TAG_UNSAFE = re.compile(r"[^\w.-]")


def container_of(app: Application) -> Container:
    """The application's recipe declaration; a ContainerError when it builds no image."""
    c = app.container
    if c is None or c.recipe is None:
        raise ContainerError(f"{app.path}: {app.name} has no container.build recipe")
    return c


def recipe_path(root: Path, app: Application) -> Path:
    """The recipe file; a ContainerError (with the declaration's file) when it is missing."""
    rel = container_of(app).recipe
    path = Path(root) / rel
    if not path.is_file():
        key = "dockerfile" if app.container.dockerfile else "definition"
        raise ContainerError(f"{app.path}: container.build.{key}: {rel!r} does not exist "
                             "(paths are relative to the repository's top folder)")
    return path


def context_path(root: Path, app: Application) -> Path:
    """The build context: the declared folder, else the recipe's folder."""
    c = container_of(app)
    if c.context is None:
        return recipe_path(root, app).parent
    path = Path(root) / c.context
    if not path.is_dir():
        raise ContainerError(f"{app.path}: container.build.context: {c.context!r} is not a folder "
                             "(paths are relative to the repository's top folder)")
    return path


def recipe_hash(root: Path, app: Application) -> str:
    """SHA-256 (hex) of the recipe, the build context and the build args: the image's content."""
    c = container_of(app)
    h = hashlib.sha256(FORMAT + b"\0")
    kind = b"dockerfile" if c.dockerfile else b"definition"
    h.update(kind + b"\0" + sha256_file(recipe_path(root, app)).encode() + b"\n")
    context = context_path(root, app)
    for rel in context_files(context):
        h.update(_entry(context / rel, rel))
    for key, value in sorted(c.args.items()):
        h.update(b"A" + key.encode() + b"\0" + value.encode() + b"\n")
    return h.hexdigest()


def content_tag(root: Path, app: Application) -> str:
    """`<version>-<12 hex>`: the tag an application's image is pushed under."""
    version = _TAG_UNSAFE.sub("_", app.version)
    return f"{version}-{recipe_hash(root, app)[:12]}"


def _entry(path: Path, rel: str) -> bytes:
    """What one context file adds to the hash: a link by its target, a file by its content."""
    if path.is_symlink():
        return b"L" + rel.encode() + b"\0" + os.readlink(path).encode() + b"\n"
    executable = b"x" if os.access(path, os.X_OK) else b"-"
    return b"F" + rel.encode() + b"\0" + executable + sha256_file(path).encode() + b"\n"


def context_files(context: Path) -> list[str]:
    """Relative paths of the files the builder is sent, sorted; .git, __pycache__ and what
    the context's .dockerignore excludes are left out."""
    ignore = _ignore_patterns(context / ".dockerignore")
    found = []
    for base, dirs, files in os.walk(context):
        here = Path(base)
        links = [d for d in dirs if (here / d).is_symlink()]   # sent as links, not followed
        dirs[:] = [d for d in dirs if d not in SKIPPED and d not in links]
        for name in files + links:
            rel = (here / name).relative_to(context).as_posix()
            if not _ignored(rel, ignore):
                found.append(rel)
    return sorted(set(found))


def _ignore_patterns(path: Path) -> list[tuple[bool, re.Pattern]]:
    """(negated, pattern) per line of a .dockerignore, in order (the last match decides)."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        out.append((negated, re.compile(_glob_regex(pattern) + r"\Z")))
    return out


def _glob_regex(pattern: str) -> str:
    """A .dockerignore glob as a regex: `*` and `?` stay within a folder, `**` crosses them."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        else:
            ch = pattern[i]
            out.append({"*": "[^/]*", "?": "[^/]"}.get(ch, re.escape(ch)))
            i += 1
    return "".join(out)


def _ignored(rel: str, patterns: list[tuple[bool, re.Pattern]]) -> bool:
    """Whether the last pattern matching `rel` or one of its folders excludes it."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    ignored = False
    for negated, pattern in patterns:
        if any(pattern.match(p) for p in prefixes):
            ignored = not negated
    return ignored


_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)", re.IGNORECASE)
_ARG = re.compile(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?", re.IGNORECASE)
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_HEADER = re.compile(r"^\s*From:\s*(.+?)\s*$", re.IGNORECASE)


def base_images(path: Path, args: dict[str, str], definition: bool = False) -> list[str]:
    """The images a recipe starts FROM, with its ARGs filled in (the build args win)."""
    values: dict[str, str] = {}
    found = []
    for line in path.read_text(errors="replace").splitlines():
        if definition:
            if m := _HEADER.match(line):
                found.append(re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda v: args.get(v[1], ""), m[1]))
        elif m := _ARG.match(line):
            values[m[1]] = args.get(m[1], m[2] or "")
        elif m := _FROM.match(line):
            found.append(_VAR.sub(lambda v: values.get(v[1], args.get(v[1], "")), m[1]))
    return found


def resolve_from(text: str, args: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A Dockerfile with the ARGs before its first FROM filled into the FROM lines and dropped,
    and the build args still used by the ARGs that remain. (ch-image 0.31 fails with a TypeError
    on a FROM of a host:port reference when ARGs precede it, and refuses unused build args.)"""
    values: dict[str, str] = {}
    out, seen_from, passed = [], False, {}
    for line in text.splitlines():
        arg, base = _ARG.match(line), _FROM.match(line)
        if arg and not seen_from:
            values[arg[1]] = args.get(arg[1], arg[2] or "")
            continue
        if base:
            seen_from = True
            image = _VAR.sub(lambda v: values.get(v[1], args.get(v[1], "")), base[1])
            line = line[:base.start(1)] + image + line[base.end(1):]
        elif arg and arg[1] in args:
            passed[arg[1]] = args[arg[1]]
        elif arg and arg[2] is None and values.get(arg[1]):
            passed[arg[1]] = values[arg[1]]   # `ARG X` in a stage takes the global default
        out.append(line)
    return "\n".join(out) + "\n", passed
