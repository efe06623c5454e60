"""`mso validate [PATH...]`: check every declaration, report all errors at once."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check declarations against the schemas and each other")
    p.add_argument("paths", nargs="*", type=Path,
                   help="only report on these files (the whole repository is still loaded, "
                        "for references)")
    p.add_argument("--junit", type=Path, metavar="FILE", help="also write a JUnit report")
    p.add_argument("--data", action="store_true",
                   help="also check that each dataset kept in the repository still has its "
                        "declared sha256 (hashes are cached in .mso/cache/)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # here, not at the top: `mso --help` stays fast
    from runner.declarations import crossref, datacheck, repository

    root: Path = args.repo
    repository.require_root(root)
    loaded = repository.load(root)
    files, errors = loaded.files, loaded.errors
    if args.data:
        errors = errors + datacheck.errors(loaded.repo)
    if args.paths:
        files, extra = _selected(args.paths, root)
        errors = [e for e in errors if e.where.path in files] + extra
    errors.sort(key=lambda e: (e.where.path, e.where.line, e.where.col))
    warnings = [w for w in crossref.warnings(loaded.repo) if w.split(":", 1)[0] in files]
    datasets = datacheck.checked(loaded.repo) if args.data else None
    if args.junit:
        _write_junit(args.junit, files, errors)
    if args.json:
        print(json.dumps({"ok": not errors, "files": len(files), "datasets": datasets,
                          "errors": [e.as_dict() for e in errors], "warnings": warnings}, indent=2))
    else:
        _say(files, errors, warnings, datasets)
    return 1 if errors else 0


def _say(files: list[str], errors: list, warnings: list[str], datasets: int | None) -> None:
    from runner.words import plural

    for err in errors:
        print(err.render())
    for line in warnings:
        print(line, file=sys.stderr)
    what = plural(len(files), "file")
    if datasets is not None:
        what += f" and the data of {plural(datasets, 'dataset')}"
    verdict = plural(len(errors), "error") if errors else "all valid"
    print(f"mso: {what} checked, {verdict}", file=sys.stderr)


def _selected(paths: list[Path], root: Path) -> tuple[list[str], list]:
    """The given paths as the repository shows them, and an error for each that is no declaration."""
    from runner.errors import Location, SpecError
    from runner.declarations import repository

    files, errors = [], []
    for path in paths:
        full = path if path.is_absolute() else Path.cwd() / path
        if not full.exists() and not path.is_absolute():
            full = root / path  # given relative to the repository (`mso -C repo validate x.yaml`)
        if not full.exists() and not full.is_symlink():
            errors.append(SpecError(Location(str(path)), "no such file"))
        elif repository.kind_of(full, root) is None:
            errors.append(SpecError(Location(str(path)), "not a declaration",
                                    "declarations are YAML files directly inside "
                                    + ", ".join(f"{f}/" for f in repository.FOLDERS.values())))
        else:
            files.append(repository.relative(full, root).as_posix())
    return list(dict.fromkeys(files)), errors


def _write_junit(path: Path, files: list[str], errors: list) -> None:
    from runner import junit

    cases = []
    for f in sorted(set(files) | {e.where.path for e in errors}):
        mine = [e.render() for e in errors if e.where.path == f]
        cases.append(junit.Case("mso.validate", f, failure=mine[0] if mine else "",
                                details="\n".join(mine)))
    junit.write(path, "mso validate", cases)
