"""Golden files: hand-written upstream and client inputs in tests/translate/golden/<direction>/,
each `<case>.in.*` beside the exact output we expect in `<case>.out.*`.

Outputs are regenerated only on request (`RELAY_UPDATE_GOLDEN=1 pytest tests/translate/test_golden.py`)
and then reviewed as a diff. Ids and timestamps are pinned so outputs are byte-stable; stream
cases are also fed one byte at a time and must produce the same bytes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runtime.translate.hints import hints_for
from runtime.translate.request_a2o import anthropic_request_to_openai
from runtime.translate.request_o2a import openai_request_to_anthropic
from runtime.translate.request_r2o import responses_request_to_openai
from runtime.translate.response import anthropic_response_to_openai, openai_response_to_anthropic
from runtime.translate.stream_a2o import AnthropicToOpenAIStream
from runtime.translate.stream_o2a import OpenAIToAnthropicStream
from tests.translate.upstreams import drive
from tests.translate.validators import validate_anthropic, validate_openai

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("RELAY_UPDATE_GOLDEN") == "1"


def cases(direction: str) -> list[Path]:
    return sorted((GOLDEN / direction).glob("*.in.*"))


def check(source: Path, actual: bytes) -> None:
    expected = source.with_name(source.name.replace(".in.", ".out."))
    if UPDATE:
        expected.write_bytes(actual)
    assert expected.exists(), f"missing {expected.name}; run with RELAY_UPDATE_GOLDEN=1 and review"
    assert actual == expected.read_bytes()


def dump(value: Any) -> bytes:
    return (json.dumps(value, indent=1, ensure_ascii=False) + "\n").encode()


def a2o_request(case: dict[str, Any]) -> dict[str, Any]:
    opts = case["options"]
    return anthropic_request_to_openai(
        case["body"],
        upstream_model=opts["upstream_model"],
        provider_hints=hints_for(opts["api"], opts["base_url"]),
        model_can_reason=opts.get("model_can_reason", True),
    )


def o2a_request(case: dict[str, Any]) -> dict[str, Any]:
    return openai_request_to_anthropic(case["body"], **case["options"])


JSON_CASES: dict[str, Callable[[Any], dict[str, Any]]] = {
    "request_a2o": a2o_request,
    "request_o2a": o2a_request,
    "request_r2o": lambda body: responses_request_to_openai(body)._asdict(),
    "response_o2a": lambda resp: openai_response_to_anthropic(
        resp, client_model="claude-sonnet-4-6", provider="groq", input_estimate=100, message_id="msg_golden"
    ),
    "response_a2o": lambda resp: anthropic_response_to_openai(
        resp, client_model="gpt-4o", completion_id="chatcmpl-golden", created=1700000000
    ),
}


@pytest.mark.parametrize(
    ("direction", "source"),
    [(d, p) for d in JSON_CASES for p in cases(d)],
    ids=lambda v: v if isinstance(v, str) else v.stem,
)
def test_json_golden(direction: str, source: Path) -> None:
    check(source, dump(JSON_CASES[direction](json.loads(source.read_text()))))


def o2a_stream() -> OpenAIToAnthropicStream:
    return OpenAIToAnthropicStream("claude-sonnet-4-6", 100, provider="groq", message_id="msg_golden")


def a2o_stream() -> AnthropicToOpenAIStream:
    return AnthropicToOpenAIStream(
        "gpt-4o", True, provider="anthropic", completion_id="chatcmpl-golden", created=1700000000
    )


@pytest.mark.parametrize("source", cases("stream_o2a"), ids=lambda p: p.stem)
def test_stream_o2a_golden(source: Path) -> None:
    raw = source.read_bytes()
    out = drive(o2a_stream(), [raw])
    assert drive(o2a_stream(), [raw[i : i + 1] for i in range(len(raw))]) == out
    validate_anthropic(out)
    check(source, out)


@pytest.mark.parametrize("source", cases("stream_a2o"), ids=lambda p: p.stem)
def test_stream_a2o_golden(source: Path) -> None:
    raw = source.read_bytes()
    out = drive(a2o_stream(), [raw])
    assert drive(a2o_stream(), [raw[i : i + 1] for i in range(len(raw))]) == out
    validate_openai(out, include_usage=True)
    check(source, out)


def test_every_golden_input_has_a_test() -> None:
    directions = {p.name for p in GOLDEN.iterdir() if p.is_dir()}
    assert directions == {*JSON_CASES, "stream_o2a", "stream_a2o"}
    for direction in directions:
        inputs = cases(direction)
        outputs = sorted((GOLDEN / direction).glob("*.out.*"))
        assert len(inputs) == len(outputs) > 0, direction
