"""The scenario reference (issue 13, item 7): docs/scenario-reference.md is made from the schema and checked in; this
is the check CI runs that it is current. Every field is documented (a docstring in harness/scenario/schema.py) and
every section's example is a valid scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel

from harness.faults.registry import names
from harness.scenario import reference
from harness.scenario.examples import BASE, EXAMPLES
from harness.scenario.loader import parse_scenario
from harness.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "docs" / "scenario-reference.md"


def test_the_checked_in_reference_is_current() -> None:
    assert CHECKED_IN.read_text() == reference.reference(), (
        f"docs/scenario-reference.md is not what the schema makes: run `{reference.COMMAND}` and commit it"
    )


def models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """``model`` and every section model inside it."""
    found = [model]
    for field in model.model_fields.values():
        inner = reference._bare(field.annotation)
        inner = get_args(inner)[0] if get_origin(inner) is list else inner
        if reference._is_model(inner) and inner not in found:
            found += [m for m in models(inner) if m not in found]
    return found


def test_every_field_of_every_section_is_described() -> None:
    missing = [
        f"{m.__name__}.{name}"
        for m in models(Scenario)
        for name, field in m.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert missing == [], f"fields without a docstring in harness/scenario/schema.py: {missing}"


def test_the_reference_names_every_field_kind_and_section() -> None:
    text = reference.reference()
    paths = [path for path, *_ in reference.rows(Scenario, "")]
    assert len(paths) > 60 and len(set(paths)) == len(paths)
    assert "| `expect.lateness_p99_ms` | an integer, over 0 | not set | Fail a source whose lateness p99" in text
    assert "| `sources.jobs[].fanout.count` | an integer, 1 to 1000 | required |" in text
    for kind in names():
        assert f"| `{kind}` |" in text
    assert set(EXAMPLES) == {"top level", *[n for n in Scenario.model_fields if f"## `{n}`" in text]}


@pytest.mark.parametrize("section", list(EXAMPLES))
def test_each_example_is_a_valid_scenario(section: str) -> None:
    """Laid over the smallest scenario, each example loads (parse_scenario raises ScenarioError if not)."""
    example: dict[str, Any] = yaml.safe_load(EXAMPLES[section])
    assert set(example) <= set(Scenario.model_fields)
    assert section == "top level" or section in example
    parse_scenario({**BASE, **example}, f"the {section} example")


def test_a_type_and_a_default_in_words() -> None:
    """The words for types no ``Written`` names, from the type and its bounds."""

    class Probe(BaseModel):
        count: int = 3
        ratio: float | None = None
        mode: list[str] = []

    fields = Probe.model_fields
    assert [reference.type_words(f) for f in fields.values()] == ["an integer", "a number", "a list of text"]
    assert [reference.default_words(f) for f in fields.values()] == ["`3`", "not set", "none"]
