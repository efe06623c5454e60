"""jsonschema's errors as sentences a scientist reads: the place, what is wrong, a hint.

`oneOf` choices (an image or a recipe, a user name or {env: VAR}, a dataset or a step's output)
are explained by the choice the value was meant to be, judged by its type and its keys.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from runner.errors import SpecError
from runner.declarations.yamlload import Document

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

Keys = Callable[[tuple], tuple]
COMMON = "common.schema.json"


class Ctx:
    """What translating one document's errors needs: the document, the schema, the key mapping."""

    def __init__(self, doc: Document, root: dict, to_keys: Keys = lambda p: p,
                 common: dict | None = None) -> None:
        self.doc, self.root, self.to_keys, self.common = doc, root, to_keys, common or {}

    def error(self, path: tuple, message: str, hint: str = "", on_key: bool = False) -> SpecError:
        return SpecError(self.doc.where(self.to_keys(path), on_key=on_key), message, hint)


def explain(errors: Iterator["ValidationError"], ctx: Ctx) -> list[SpecError]:
    """Every error as a SpecError, a missing key already explained by a typo said once."""
    try:
        found = [e for err in list(errors) for e in _translate(err, ctx)]
    except Exception as exc:  # noqa: BLE001 - jsonschema itself failed on a user's schema
        return [SpecError(ctx.doc.where(()), f"cannot be checked against its schema: {exc}")]
    return _drop_implied(list({e.render(): e for e in found}.values()))


def _drop_implied(errors: list[SpecError]) -> list[SpecError]:
    """A missing key that an unknown key's did-you-mean names is one mistake: say it once."""
    meant = {(e.where.path, e.where.breadcrumb.rpartition(".")[0], e.hint[14:-2])
             for e in errors if e.hint.startswith("did you mean '")}
    out = []
    for e in errors:
        names = re.findall(r"'([^']+)'", e.message) if e.message.startswith("missing") else []
        if not (names and all((e.where.path, e.where.breadcrumb, n) in meant for n in names)):
            out.append(e)
    return out


def _translate(err: "ValidationError", ctx: Ctx) -> Iterator[SpecError]:
    path = tuple(err.absolute_path)
    if err.validator in ("oneOf", "anyOf"):
        yield from _one_of(err, ctx, path)
    elif err.validator == "additionalProperties" and err.validator_value is False \
            and isinstance(err.instance, dict):
        allowed = list(err.schema.get("properties", {}))
        for key in err.instance:
            if key not in allowed and not _matches_patterns(err.schema, key):
                yield ctx.error(path + (key,), f"unknown key '{key}'",
                                did_you_mean(key, allowed, "allowed keys"), on_key=True)
    elif "propertyNames" in err.relative_schema_path:
        yield ctx.error(path + (err.instance,), f"'{err.instance}' is not allowed as a key here",
                        _description(err.schema), on_key=True)
    else:
        message, hint = _message(err, ctx)
        yield ctx.error(path, message, hint)


def _one_of(err: "ValidationError", ctx: Ctx, path: tuple) -> Iterator[SpecError]:
    """One clear sentence for "none (or more than one) of these choices fits"."""
    branches = [_resolve(b, ctx.root, ctx.common) for b in err.validator_value]
    inst, about = err.instance, _description(err.schema)
    if not err.context:  # valid under more than one choice
        keys = [k for b in branches for k in b.get("required", []) if isinstance(inst, dict)
                and k in inst]
        if len(keys) > 1:
            yield ctx.error(path, f"give only one of {_either(keys)}", about)
        else:
            yield ctx.error(path, f"{_short(inst)} fits more than one choice", about)
        return
    by_branch: dict[int, list] = {}
    for e in err.context:
        by_branch.setdefault(e.relative_schema_path[0], []).append(e)
    fitting = [i for i, errs in sorted(by_branch.items())
               if not any(e.validator == "type" and not e.relative_path for e in errs)]
    if not fitting:
        wants = [w for w in unique(_type_words(b) for b in branches) if w]
        said = f"expected {' or '.join(wants)}, got {type_word(inst)}" if wants else \
            f"{_short(inst)} fits none of the choices"
        yield ctx.error(path, said, about)
        return
    if len(fitting) > 1 and isinstance(inst, dict):
        fitting = _closest(fitting, branches, inst)
    if len(fitting) == 1:
        for e in by_branch[fitting[0]]:
            yield from _translate(e, ctx)
        return
    if not isinstance(inst, dict):
        why = unique(e.message for i in fitting for sub in by_branch[i] for e in _translate(sub, ctx))
        yield ctx.error(path, f"fits none of the choices: {'; or '.join(why)}", about)
        return
    yield from _no_branch_fits(ctx, path, [branches[i] for i in fitting], inst, about)


def _closest(fitting: list[int], branches: list[dict], inst: dict) -> list[int]:
    score = {i: len(set(inst) & _keys_of(branches[i])) for i in fitting}
    best = max(score.values())
    return [i for i in fitting if score[i] == best] if best else fitting


def _no_branch_fits(ctx: Ctx, path: tuple, branches: list[dict], inst: dict,
                    about: str) -> Iterator[SpecError]:
    known = sorted(set().union(*(_keys_of(b) for b in branches)))
    unknown = [k for k in inst if k not in known]
    for key in unknown:
        yield ctx.error(path + (key,), f"unknown key '{key}'",
                        did_you_mean(key, known, "allowed keys"), on_key=True)
    present = [k for k in known if k in inst]
    if len(present) > 1:
        yield ctx.error(path, f"{_either(present, 'and')} cannot be combined: give one of them",
                        about)
    elif not unknown:
        firsts = unique(b["required"][0] for b in branches if b.get("required"))
        yield ctx.error(path, f"missing one of the keys {_either(firsts)}", about)


def _keys_of(branch: dict) -> set[str]:
    return set(branch.get("properties", {})) | set(branch.get("required", []))


def _resolve(sub: Any, root: dict, common: dict) -> dict:
    """A choice of a oneOf with its `$ref` followed (to the shipped common file or the root)."""
    for _ in range(8):
        if not isinstance(sub, dict) or not isinstance(sub.get("$ref"), str):
            break
        uri, _, pointer = sub["$ref"].partition("#")
        node: Any = common if uri == COMMON else root if not uri else None
        for part in [p for p in pointer.split("/") if p]:
            node = node.get(part) if isinstance(node, dict) else None
        sub = {**{k: v for k, v in sub.items() if k != "$ref"}, **node} \
            if isinstance(node, dict) else {}
    return sub if isinstance(sub, dict) else {}


def _type_words(branch: dict) -> str:
    t = branch.get("type")
    names = [t] if isinstance(t, str) else t if isinstance(t, list) else []
    return " or ".join(_TYPE_WORDS.get(n, n) for n in names)


def _message(err: "ValidationError", ctx: Ctx) -> tuple[str, str]:
    v, inst, expected = err.validator, err.instance, err.validator_value
    about = _description(err.schema)
    if v == "type":
        return _type_message(expected, inst)
    if v == "required":
        missing = [k for k in expected if isinstance(inst, dict) and k not in inst]
        names = ", ".join(f"'{k}'" for k in missing)
        return f"missing required key{'s' * (len(missing) > 1)} {names}", _condition(err, ctx)
    if v == "enum":
        return (f"{_short(inst)} is not one of: {', '.join(map(str, expected))}",
                did_you_mean(str(inst), [str(e) for e in expected], "choices"))
    if v == "const":
        return f"must be {expected!r}, not {_short(inst)}", about
    if v == "pattern":
        if about:
            return f"{_short(inst)} is not allowed here: {about}", ""
        return f"{_short(inst)} does not match the pattern {expected}", ""
    if v == "format":
        what = "regular expression" if expected == "regex" else expected
        return f"{_short(inst)} is not a valid {what}", about
    if v in _BOUNDS:
        return _BOUNDS[v].format(inst=_short(inst), x=expected), ""
    if v in _SIZES:
        return _size_message(v, inst, expected), ""
    if v == "uniqueItems":
        return f"the list repeats {_short(_first_repeat(inst))}", ""
    if v == "not" and isinstance(expected, dict) and expected.get("required"):
        # a combination of keys that may not go together: the `not` says which, and why
        return _description(expected) or f"{_short(inst)} is not allowed here", ""
    if v is None or v == "not":
        return f"{_short(inst)} is not allowed here", about
    return err.message, about


_BOUNDS = {"minimum": "{inst} is too small: the minimum is {x}",
           "exclusiveMinimum": "{inst} is too small: it must be more than {x}",
           "maximum": "{inst} is too large: the maximum is {x}",
           "exclusiveMaximum": "{inst} is too large: it must be less than {x}",
           "multipleOf": "{inst} is not a multiple of {x}"}
_SIZES = {"minLength": ("at least", "character"), "maxLength": ("at most", "character"),
          "minItems": ("at least", "item"), "maxItems": ("at most", "item"),
          "minProperties": ("at least", "key"), "maxProperties": ("at most", "key")}


def _size_message(v: str, inst: Any, n: int) -> str:
    if n == 1 and v.startswith("min"):
        return "must not be empty"
    bound, unit = _SIZES[v]
    return f"has {len(inst)} {unit}{'s' * (len(inst) != 1)}; {bound} {n} allowed"


def _type_message(expected: Any, inst: Any) -> tuple[str, str]:
    names = [expected] if isinstance(expected, str) else list(expected)
    want = " or ".join(_TYPE_WORDS.get(t, t) for t in names)
    hint = ""
    if "string" in names and isinstance(inst, (int, float)):
        hint = "put the value in quotes to make it a string"
    elif isinstance(inst, str) and {"integer", "number"} & set(names) and _numeric(inst):
        hint = "remove the quotes to make it a number"
    return f"expected {want}, got {type_word(inst)}", hint


def _numeric(text: str) -> bool:
    if text != text.strip():
        return False
    try:
        float(text)
        return True
    except ValueError:
        return False


def _condition(err: "ValidationError", ctx: Ctx) -> str:
    """For a `required` inside `then`: `needed when kind is slurm`, read from the `if`."""
    path = list(err.schema_path)
    if "then" not in path:
        return ""
    node: Any = ctx.root
    for part in path[:path.index("then")]:
        node = node[part] if isinstance(node, (dict, list)) else None
    cond = node.get("if", {}).get("properties", {}) if isinstance(node, dict) else {}
    for key, sub in cond.items():
        values = sub.get("enum") or ([sub["const"]] if "const" in sub else [])
        if values and isinstance(err.instance, dict) and err.instance.get(key) in values:
            return f"needed when {key} is {err.instance[key]}"
    return ""


_TYPE_WORDS = {"object": "a map", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "true or false", "null": "nothing (null)"}


def type_word(value: Any) -> str:
    """A plain word for the type of a loaded YAML value."""
    if value is None:
        return "nothing (null)"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a map"}.get(type(value), type(value).__name__)


def _description(sub: Any) -> str:
    text = sub.get("description", "") if isinstance(sub, dict) else ""
    if not text[1:2].isupper():  # "SSH user" keeps its capitals
        text = text[:1].lower() + text[1:]
    return text.rstrip(".")


def _matches_patterns(sch: dict, key: str) -> bool:
    return any(re.search(p, key) for p in sch.get("patternProperties", {}))


def _first_repeat(items: list) -> Any:
    for i, item in enumerate(items):
        if item in items[:i]:
            return item
    return items


def _either(words: list[str], joiner: str = "or") -> str:
    quoted = [f"'{w}'" for w in words]
    return ", ".join(quoted[:-1]) + f" {joiner} " + quoted[-1] if len(quoted) > 1 else quoted[0]


def unique(items: Iterable[str]) -> list[str]:
    """The items without repeats, in the order they first come."""
    return list(dict.fromkeys(items))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def did_you_mean(word: str, choices: list[str], label: str) -> str:
    """'did you mean X?' when a choice is close, else the list of choices (if short)."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if choices and len(choices) <= 12:
        return f"{label}: {', '.join(sorted(choices))}"
    return ""
