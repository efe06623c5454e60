"""Reference pages generated from the JSON Schemas: every field, its type and what it means."""

from __future__ import annotations

from typing import Any, Mapping

from runner.book import schemainfo
from runner.book.context import Context, Page
from runner.declarations import schema
from runner.results import markdown as md

INDEX = "reference/index.md"
KINDS = {"application": "applications/<name>.yaml", "dataset": "datasets/<name>.yaml",
         "infrastructure": "infrastructures/<name>.yaml", "experiment": "experiments/<name>.yaml",
         "run": "results/<experiment>/<run id>/run.json (written by mso)"}


def pages(ctx: Context) -> list[Page]:
    """The reference index and one page per schema."""
    rows = [[md.link(kind.capitalize(), f"{kind}.md"), md.code(where),
             md.code(f"schemas/{kind}.schema.json"), md.trusted(schema.schema(kind)["description"])]
            for kind, where in KINDS.items()]
    index = Page(INDEX, "Reference", "Every field of every file mso reads or writes, generated "
                 "from the JSON Schemas the validator and your editor use.\n\n"
                 + md.table(("Schema", "Files", "Schema file", "Describes"), rows))
    return [index] + [_page(kind) for kind in KINDS]


def inlined(node: Any, base: str, depth: int = 0) -> Any:
    """A schema with every `$ref` replaced by what it points to (in itself or in common)."""
    if isinstance(node, list):
        return [inlined(n, base, depth) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node and depth < 16:   # the shipped schemas have no cycles; 16 is plenty
        where, _, pointer = node["$ref"].partition("#")
        name = where.removesuffix(".schema.json") if where else base
        target: Any = schema.schema(name)
        for key in filter(None, pointer.split("/")):
            target = target[key]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return inlined(merged, name, depth + 1)
    return {k: inlined(v, base, depth) for k, v in node.items()}


def _page(kind: str) -> Page:
    doc = inlined(schema.schema(kind), kind)
    rows = [[md.code(f.path), md.text(schemainfo.type_of(f.node)), "yes" if f.required else "no",
             md.trusted(f.node.get("description", ""))]
            for f in _unique(schemainfo.fields(doc))]
    parts = [md.trusted(doc.get("description", "")),
             f"Files: {md.code(KINDS[kind])}. Schema: {md.code(f'schemas/{kind}.schema.json')} "
             "(JSON Schema 2020-12).", *_conditions(doc),
             md.table(("Field", "Type", "Required", "Description"), rows)]
    return Page(f"reference/{kind}.md", kind.capitalize(), "\n\n".join(parts))


def _unique(fields: Any) -> list[schemainfo.Field]:
    seen: dict[str, schemainfo.Field] = {}
    for f in fields:
        seen.setdefault(f.path, f)
    return list(seen.values())


def _conditions(doc: Mapping[str, Any]) -> list[str]:
    """`if kind is X then required Y` rules, in words."""
    notes = []
    for rule in doc.get("allOf", ()):
        cond, then = rule.get("if", {}).get("properties", {}), rule.get("then", {})
        for key, test in cond.items():
            values = test.get("enum") or [test.get("const")]
            needed = ", ".join(md.code(r) for r in then.get("required", ()))
            if needed:
                notes.append(f"When {md.code(key)} is " + " or ".join(md.code(v) for v in values)
                             + f", these are required too: {needed}.")
    return notes
