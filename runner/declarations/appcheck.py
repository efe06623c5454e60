"""Checks of an application's own files: its command's placeholders, its container recipe and
build context, and the links in its folder (copied into every work dir)."""

from __future__ import annotations

import os
import string

from runner.errors import SpecError
from runner.declarations.models import Application
from runner.declarations.paths import links_out, outside, unsafe_path
from runner.declarations.schema import did_you_mean
from runner.declarations.yamlload import Document


def placeholders(app: Application, doc: Document) -> list[SpecError]:
    """Every {placeholder} of the command names a parameter or an input."""
    params = set(app.parameters.get("properties", {}))
    errors = []
    for i, arg in enumerate(app.command):
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(arg) if f is not None]
        except ValueError as exc:
            errors.append(SpecError(doc.where(("command", i)), f"bad placeholder: {exc}",
                                    "write a literal brace as {{ or }}"))
            continue
        for name in fields:
            if name.startswith("inputs."):
                if name[7:] not in app.inputs:
                    errors.append(SpecError(doc.where(("command", i)), f"unknown input '{name[7:]}'",
                                            did_you_mean(name[7:], list(app.inputs), "inputs")))
            elif name not in params:
                errors.append(SpecError(doc.where(("command", i)), f"unknown parameter '{name}'",
                                        did_you_mean(name, sorted(params), "parameters")))
    return errors


def container(app: Application, doc: Document, root: str) -> list[SpecError]:
    """A recipe to build is a file, and its context a folder, inside the repository."""
    c = app.container
    errors = []
    for key in ("dockerfile", "definition", "context"):
        rel = getattr(c, key, None) if c else None
        if rel is None:
            continue
        where = doc.where(("container", "build", key))
        if why := unsafe_path(rel):
            errors.append(SpecError(where, f"{key} {rel!r} leaves the repository: {why}"))
        elif why := outside(root, rel):
            errors.append(SpecError(where, f"{rel!r} {why}",
                                    "paths are relative to the repository's top folder"))
        elif (key == "context") != os.path.isdir(os.path.join(root, rel)):
            wanted = "a folder" if key == "context" else "a file"
            errors.append(SpecError(where, f"{key} {rel!r} is not {wanted}"))
    return errors


def folder_links(app: Application, doc: Document, root: str) -> list[SpecError]:
    """Files of applications/<name>/ are copied into every work dir: none may lead outside."""
    folder = os.path.join(root, "applications", app.name)
    return [SpecError(doc.where(("name",)), f"{os.path.relpath(link, root)} {why}",
                      "copy the file into the repository instead")
            for link, why in links_out(folder, root)]
