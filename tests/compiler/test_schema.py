"""The committed JSON Schema is generated from the pydantic models and agrees with them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from compiler.language.model import DefinitionFile
from compiler.schema import SCHEMA_PATH, generate, main, render, schema


def test_committed_schema_is_the_generated_one() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(generate()), "run: python -m compiler.schema"


def test_check_flag_reports_stale(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "relay.schema.json"
    stale.write_text("{}\n")
    monkeypatch.setattr("compiler.schema.SCHEMA_PATH", stale)
    assert main(["--check"]) == 1
    assert main([]) == 0 and main(["--check"]) == 0


def test_schema_is_draft_2020_12_and_valid() -> None:
    found = schema()
    assert found["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(found)


def properties(node: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{path}.{name}", sub
        for key, sub in node.items():
            yield from properties(sub, f"{path}.{key}")
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            yield from properties(sub, f"{path}[{index}]")


def test_every_property_has_a_description() -> None:
    found = list(properties(schema()))
    assert len(found) > 50
    assert [path for path, sub in found if not sub.get("description")] == []


AGREEMENT = [
    ({"version": 1}, True),
    ({"version": 1, "providers": {"p": {"api": "openai", "base_url": "https://x.example/v1"}}}, True),
    ({"version": 1, "providers": {"p": {"api": "simulated", "simulate": {"latency": "250ms"}}}}, True),
    (
        {
            "version": 1,
            "chains": {"c": {"steps": ["p/m", {"use": "p/n", "weight": 2}], "queue": {"max_wait": 3}}},
        },
        True,
    ),
    (
        {"version": 1, "models": {"m": {"providers": {"p": {"id": "x", "cost": {"input": 0, "output": 1}}}}}},
        True,
    ),
    ({"version": 1, "server": {"listen": "[::1]:8080", "state": "redis://h:6379/0"}}, True),
    ({"version": 2}, False),
    ({"version": 1, "extra": 1}, False),
    ({"version": 1, "providers": {"p": {"api": "grpc"}}}, False),
    ({"version": 1, "providers": {"p": {"api": "openai", "limits": {"rpm": 0}}}}, False),
    ({"version": 1, "providers": {"1p": {"api": "openai"}}}, False),
    ({"version": 1, "chains": {"c": {"steps": ["no-slash"]}}}, False),
    ({"version": 1, "chains": {"c": {"queue": {"max_wait": "soon"}}}}, False),
    ({"version": 1, "server": {"listen": "nohost"}}, False),
    ({"version": 1, "models": {"m": {"capabilities": ["mind-reading"]}}}, False),
]


@pytest.mark.parametrize(("document", "valid"), AGREEMENT)
def test_schema_and_models_agree(document: dict[str, Any], valid: bool) -> None:
    schema_ok = Draft202012Validator(schema()).is_valid(document)
    try:
        DefinitionFile.model_validate(document)
        model_ok = True
    except ValidationError:
        model_ok = False
    assert (schema_ok, model_ok) == (valid, valid)
