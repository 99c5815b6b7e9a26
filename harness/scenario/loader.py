"""Reading a scenario file into a ``Scenario``: YAML (a key given twice is an error, with its line), ``--set``
overrides checked against the schema before they are applied, and pydantic's errors turned into one short line
each, naming the file, the field path, the bad value and what would be valid ("did you mean ...?").
"""

from __future__ import annotations

import copy
import difflib
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, JsonValue, ValidationError
from pydantic_core import ErrorDetails

from harness.scenario.schema import MAX_ERRORS, REQUIRED_SECTIONS, Invalid, Scenario, ScenarioError, show


def entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


# --- loading ---------------------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (PyYAML keeps the last one silently)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool):
            continue  # an unhashable key: construct_mapping reports it
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {show(key)}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> Any:
    """A date YAML cannot make (2027-13-01) stays the text it is, for the schema to refuse with its field path;
    PyYAML would raise a bare ValueError."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def parse_yaml(text: str, where: str) -> Any:
    """YAML text as data; ``ScenarioError`` (exit 3) naming the line of what is wrong, or a key given twice."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ScenarioError(f"{where}: {at}not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{where}: not valid YAML: {exc}") from None


def load_scenario(path: Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read, override (``key.path=value``) and validate a scenario file. Raises ``ScenarioError``."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise ScenarioError(f"{where}: is a directory, not a scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{where}: cannot read it: {exc}") from None
    return parse_scenario(parse_yaml(text, where), where, overrides, base=path.resolve().parent)


def parse_scenario(
    data: object, where: str = "<scenario>", overrides: Sequence[str] = (), base: Path | None = None
) -> Scenario:
    """Validate scenario data already read (``where`` names it in messages). ``data`` is not modified. ``base``:
    the scenario file's directory, which a relative ``app.cwd`` is taken from (absent with ``app.command``: it)."""
    if data is None:
        raise ScenarioError(f"{where}: the file is empty; a scenario needs the sections {', '.join(REQUIRED_SECTIONS)}")
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{where}: expected a mapping of sections ({', '.join(REQUIRED_SECTIONS)}, ...), got {show(data)}"
        )
    raw = copy.deepcopy(data)
    touched: dict[str, str] = {}
    for item in overrides:
        touched[_apply_override(raw, item, where)] = item
    if base is not None:
        _own_app_cwd(raw, base)
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(field_errors(exc, where, touched)) from None


def _own_app_cwd(raw: dict[str, Any], base: Path) -> None:
    """``app.cwd`` made absolute from the scenario file's directory (the run dir's copy then runs alike)."""
    app = raw.get("app")
    if not isinstance(app, dict) or not isinstance(app.get("command"), str):
        return
    cwd = app.get("cwd")
    if cwd is None:
        app["cwd"] = str(base)
    elif isinstance(cwd, str) and not Path(cwd).is_absolute():
        app["cwd"] = str((base / cwd).resolve())


# --- --set overrides -------------------------------------------------------------------------------------------


def _override_value(text: str) -> Any:
    """A ``--set`` value as a YAML scalar (5 is an int, true a bool); text YAML cannot read ("@every 2s") as is."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError:
        return text


def _apply_override(raw: dict[str, Any], item: str, where: str) -> str:
    key, sep, text = item.partition("=")
    keys = key.strip().split(".")
    if not sep or not all(keys):
        raise ScenarioError(f"{where}: --set {item!r}: expected key=value, e.g. cluster.replicas=5")
    _, problem = _schema(keys)
    if problem:
        raise ScenarioError(f"{where}: --set {item}: {problem}")
    node: Any = raw
    for depth, seg in enumerate(keys):
        last = depth == len(keys) - 1
        here = ".".join(keys[:depth]) or "the scenario"
        if isinstance(node, list):
            index = int(seg)
            if index >= len(node):
                raise ScenarioError(f"{where}: --set {item}: {here} has {entries(len(node))}, so no index {index}")
            if last:
                node[index] = _override_value(text)
            node = node[index]
        elif isinstance(node, dict):
            if last:
                node[seg] = _override_value(text)
            elif node.get(seg) is None:
                if keys[depth + 1].isdigit():
                    raise ScenarioError(f"{where}: --set {item}: {'.'.join(keys[: depth + 1])} has no entries")
                node[seg] = {}
            node = node[seg]
        else:
            raise ScenarioError(f"{where}: --set {item}: {here} is {show(node)} in the file, not a section")
    return key.strip()


def _unwrap(tp: Any) -> Any:
    """``X | None`` → ``X``."""
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _schema(keys: Sequence[str | int], root: type[BaseModel] = Scenario) -> tuple[Any, str]:
    """The type at a field path of ``root``, and what is wrong with the path ("" if nothing); below free-form data:
    Any."""
    tp: Any = root
    for depth, seg in enumerate(keys):
        tp = _unwrap(tp)
        here = ".".join(str(k) for k in keys[:depth])
        if _is_model(tp):
            if seg not in tp.model_fields:
                return None, _unknown_key(str(seg), here, tp)
            tp = tp.model_fields[seg].annotation
        elif get_origin(tp) is list:
            if not str(seg).isdigit():
                return None, f"{here} is a list: give an index, e.g. {here}.0"
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict or tp is JsonValue:
            return Any, ""
        else:
            return None, f"{here} is a single value, not a section"
    return _unwrap(tp), ""


def _model_at(loc: Sequence[str | int], root: type[BaseModel]) -> type[BaseModel] | None:
    tp, _ = _schema(loc, root)
    return tp if _is_model(tp) else None


def _unknown_key(key: str, here: str, model: type[BaseModel] | None) -> str:
    valid = list(model.model_fields) if model is not None else []
    what = "section" if not here else "key"
    text = f"unknown {what} {key!r}" + (f" in {here}" if here else "")
    close = difflib.get_close_matches(key, valid, n=1)
    if close:
        text += f" (did you mean {close[0]!r}?)"
    return text + (f"; valid {what}s: {', '.join(valid)}" if valid else "")


# --- pydantic errors → our lines -------------------------------------------------------------------------------

_EXPECTED = {
    "int_type": "an integer",
    "string_type": "a string",
    "bool_type": "true or false",
    "float_type": "a number",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
}
_BOUNDS = {"greater_than_equal": "at least", "greater_than": "greater than", "less_than_equal": "at most"}


def _dotted(loc: Sequence[str | int]) -> str:
    return ".".join(str(part) for part in loc)


def _describe(err: ErrorDetails, root: type[BaseModel]) -> tuple[str, str]:
    """(field path, the message line without the file) for one pydantic error."""
    loc, kind, value, ctx = err["loc"], err["type"], err["input"], err.get("ctx", {})
    path = _dotted(loc)
    if kind == "extra_forbidden":
        return path, _unknown_key(str(loc[-1]), _dotted(loc[:-1]), _model_at(loc[:-1], root))
    if kind == "missing":
        if len(loc) == 1:
            required = [name for name, f in root.model_fields.items() if f.is_required()]
            return path, f"missing section {loc[0]!r} (required sections: {', '.join(required)})"
        return path, f"{_dotted(loc[:-1])}: missing key {loc[-1]!r}"
    if kind == "value_error" and isinstance(ctx.get("error"), ValueError):
        error = ctx["error"]
        if isinstance(error, Invalid) and error.field:
            path = f"{path}.{error.field}" if path else error.field
        return path, f"{path or 'the scenario'}: {error}"
    if kind in _EXPECTED:
        return path, f"{path}: expected {_EXPECTED[kind]}, got {show(value)}"
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()))
        return path, f"{path}: {show(value)} is not valid: must be {_BOUNDS[kind]} {bound}"
    if kind == "literal_error":
        choices = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return path, f"{path}: {show(value)} is not valid: must be one of {choices}"
    return path, f"{path}: {err['msg']}"


def _misspelt(errors: list[ErrorDetails], root: type[BaseModel]) -> set[tuple[str | int, ...]]:
    """Locations of missing keys that an unknown key beside them is a misspelling of (reported once, as unknown)."""
    found: set[tuple[str | int, ...]] = set()
    for err in errors:
        if err["type"] == "extra_forbidden" and (model := _model_at(err["loc"][:-1], root)) is not None:
            close = difflib.get_close_matches(str(err["loc"][-1]), list(model.model_fields), n=1)
            found.update((*err["loc"][:-1], name) for name in close)
    return found


def field_errors(
    exc: ValidationError, where: str, touched: dict[str, str] | None = None, root: type[BaseModel] = Scenario
) -> str:
    """pydantic's errors for a file of ``root``'s format, one line each naming the file and the field path
    (``touched``: the ``--set`` overrides, named where they caused a problem)."""
    lines = []
    errors = exc.errors()
    misspelt = _misspelt(errors, root)
    for err in errors:
        if err["type"] == "missing" and tuple(err["loc"]) in misspelt:
            continue
        path, line = _describe(err, root)
        origin = next(
            (item for key, item in (touched or {}).items() if path == key or path.startswith(key + ".")), None
        )
        lines.append(f"{where}: {line}" + (f" (from --set {origin})" if origin else ""))
    if len(lines) > MAX_ERRORS:
        lines = [*lines[:MAX_ERRORS], f"{where}: ... and {len(lines) - MAX_ERRORS} more problems"]
    return "\n".join(lines)
