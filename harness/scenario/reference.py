"""The scenario reference, docs/scenario-reference.md, made from the schema: every field by its dotted path, its type
in plain words, its default, what it means (the field's docstring in ``harness.scenario.schema``), an example per
section, and every fault kind (``harness.faults.registry``) with what it takes.

Pure text from the schema, the same every time: ``COMMAND`` writes the file, and
tests/unit/test_scenario_reference.py fails when the checked-in one differs (CI runs the unit tests). Plain words
for a type come from the field's ``Written`` (schema.py) where its Python type would not say it, else from the type
and its bounds.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, JsonValue
from pydantic.fields import FieldInfo

from harness.faults.kind import FaultKind
from harness.faults.registry import kind_of, names
from harness.scenario.examples import EXAMPLES, INTRO
from harness.scenario.schema import Scenario, Written, format_duration

COMMAND = "uv run python -m harness.scenario.reference > docs/scenario-reference.md"


def _bare(annotation: Any) -> Any:
    """The type without ``Annotated`` and ``None``: ``PositiveDuration | None`` -> ``timedelta``."""
    if get_origin(annotation) is Annotated:
        return _bare(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return _bare(args[0]) if len(args) == 1 else annotation
    return annotation


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _writtens(annotation: Any, metadata: list[Any]) -> Iterator[Written]:
    """Every ``Written`` of a field: in its metadata, then inside its type (``Annotated`` in a union)."""
    yield from (m for m in metadata if isinstance(m, Written))
    if get_origin(annotation) is Annotated:
        yield from _writtens(get_args(annotation)[0], list(get_args(annotation)[1:]))
    elif get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            yield from _writtens(arg, [])


def _bounds(metadata: list[Any]) -> str:
    low = next((f"{m.ge}" for m in metadata if isinstance(m, Ge)), None)
    high = next((f"{m.le}" for m in metadata if isinstance(m, Le)), None)
    if low is not None and high is not None:
        return f", {low} to {high}"
    words = [f"at least {m.ge}" for m in metadata if isinstance(m, Ge)]
    words += [f"over {m.gt}" for m in metadata if isinstance(m, Gt)]
    words += [f"at most {m.le}" for m in metadata if isinstance(m, Le)]
    words += [f"under {m.lt}" for m in metadata if isinstance(m, Lt)]
    return "".join(f", {w}" for w in words)


def _plain(annotation: Any, metadata: list[Any]) -> str:
    """A type in words: "an integer, 1 to 20", "one of `app`, `daprd`, `both`", "a list of mappings (below)"."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _plain(args[0], [*metadata, *args[1:]])
    if origin in (Union, types.UnionType):
        return ", or ".join(_plain(a, metadata) for a in args if a is not type(None))
    if origin is Literal:
        return "one of " + ", ".join(f"`{v}`" for v in args)
    if origin is list:
        return "a list of mappings (fields below)" if _is_model(args[0]) else f"a list of {_plain(args[0], [])}"
    if origin is dict:
        return f"a mapping of names to {_plain(args[1], [])}"
    if annotation is JsonValue:
        return "any YAML value"
    if _is_model(annotation):
        return "a mapping (fields below)"
    words = {bool: "`true` or `false`", int: "an integer", float: "a number", str: "text", timedelta: "a duration"}
    return words.get(annotation, str(annotation)) + _bounds(metadata)


def type_words(field: FieldInfo) -> str:
    written = next((w.words for w in _writtens(field.annotation, field.metadata) if w.words), "")
    return written or _plain(field.annotation, field.metadata)


def default_words(field: FieldInfo) -> str:
    written = next((w.default for w in _writtens(field.annotation, field.metadata) if w.default), "")
    if written:
        return written
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if _is_model(type(value)):
        return "its fields' defaults"
    if value is None:
        return "not set"
    if value in ([], {}):
        return "none"
    if isinstance(value, timedelta):
        return f"`{format_duration(value)}`"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return f"`{value}`"


def rows(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, str, str, str]]:
    """(dotted path, type, default, meaning) of every field of ``model`` and of the sections inside it."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        yield path, type_words(field), default_words(field), " ".join((field.description or "").split())
        inner = _bare(field.annotation)
        if _is_model(inner):
            yield from rows(inner, f"{path}.")
        elif get_origin(inner) is list and _is_model(get_args(inner)[0]):
            yield from rows(get_args(inner)[0], f"{path}[].")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(lines: Iterator[tuple[str, str, str, str]]) -> list[str]:
    out = ["| field | type | default | meaning |", "|---|---|---|---|"]
    out += [f"| `{path}` | {_cell(kind)} | {_cell(default)} | {_cell(text)} |" for path, kind, default, text in lines]
    return out


def _example(section: str) -> list[str]:
    return ["", "Example:", "", "```yaml", EXAMPLES[section].strip("\n"), "```", ""]


def _kind_row(kind: FaultKind) -> str:
    doc = " ".join((type(kind).__doc__ or "").split("\n\n")[0].split()).replace("``", "`")
    if kind.network:
        target = "the link daprd ↔ scheduler member: an index, `random`, or `all`"
    elif kind.whole:
        target = "none (leave it out): the whole control plane or app"
    elif kind.on_scheduler:
        target = "a scheduler member: an index or `random`"
    elif "replicas" in kind.takes:
        target = "the whole cluster"
    else:
        target = "a replica's `part`: an index, `random`, or `busy`"
    if kind.self_healing:
        heal = "none: done when ready again"
    elif kind.default_heal_s is not None:
        heal = f"after `heal_after`, default `{kind.default_heal_s:g}s`"
    else:
        heal = "after `heal_after`; without it, never"
    takes = sorted(f"`{f}` (required)" for f in kind.takes)
    takes += ["`direction`"] if kind.network else []
    takes += ["`dapr.upgrade_to`"] if kind.upgrade else []
    return f"| `{kind.name}` | {_cell(doc)} | {_cell(target)} | {heal} | {', '.join(takes) or '-'} |"


def fault_kinds() -> list[str]:
    """Every fault kind of ``harness.faults.registry``, in the order the format lists them."""
    return [
        "### Fault kinds",
        "",
        "| kind | what it does | target | healed | takes |",
        "|---|---|---|---|---|",
        *(_kind_row(kind_of(name)) for name in names()),
        "",
    ]


def _sections() -> tuple[list[str], list[str]]:
    """The top-level fields that are values, and those that are sections (a mapping or a list of them)."""
    fields = Scenario.model_fields
    sections = [n for n, f in fields.items() if _is_model(_bare(f.annotation)) or get_origin(_bare(f.annotation))]
    return [n for n in fields if n not in sections], sections


def reference() -> str:
    """docs/scenario-reference.md."""
    values, sections = _sections()
    lines = [
        "# Scenario reference",
        "",
        f"<!-- Made from harness/scenario/schema.py by `{COMMAND}`; do not edit by hand. -->",
        "",
        *INTRO.strip("\n").split("\n"),
        "",
        "## Top level",
        "",
        *_table(row for row in rows(Scenario, "") if row[0] in values),
        *_example("top level"),
    ]
    for name in sections:
        field = Scenario.model_fields[name]
        required = " Required." if field.is_required() else ""
        lines += [f"## `{name}`", "", f"{field.description}{required}", ""]
        lines += _table(rows(_section_model(name), f"{name}[]." if _is_list(name) else f"{name}."))
        lines += _example(name)
        lines += fault_kinds() if name == "faults" else []
    return "\n".join(lines).rstrip("\n") + "\n"


def _is_list(name: str) -> bool:
    return get_origin(_bare(Scenario.model_fields[name].annotation)) is list


def _section_model(name: str) -> type[BaseModel]:
    tp = _bare(Scenario.model_fields[name].annotation)
    model: type[BaseModel] = get_args(tp)[0] if get_origin(tp) is list else tp
    return model


if __name__ == "__main__":
    sys.stdout.write(reference())
