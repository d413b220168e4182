"""The real Claude Code CLI, headless, through a real `relay run`: what a new user does first.

The shipped example chains with no keys; a tool round trip (a real Read of a file in the
test's folder, its result sent back under the same id); a stream that fails mid-answer,
which Claude Code recovers from by asking again without streaming. The last two run
through a same-format chain (Anthropic upstream) and a cross-format one (OpenAI upstream),
scripted on the fake upstream.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.claude_code import CLAUDE, INSTALL_HINT, run_claude
from tests.e2e.conftest import UPSTREAM_KEYS
from tests.e2e.procs import FakeUpstream, Relay, served

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(CLAUDE is None, reason=INSTALL_HINT)]

CHAIN = """\
version: 1
providers:
  up:
    api: {api}
    base_url: {url}
    keys: ["${{UP_KEY_A}}"]
    timeouts: {{first_byte: 10s, stream_idle: 10s}}
chains:
  claude:
    match: ["claude-*"]
    steps: [up/model-up]
"""
TOOL_ID = "toolu_e2eRead01"


@pytest.fixture(scope="module", params=["anthropic", "openai"])
def upstream(
    request: pytest.FixtureRequest, fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Relay]]:
    """The `claude` chain on one fake upstream step: same format, then cross format."""
    api = str(request.param)
    url = fake.url if api == "anthropic" else fake.url + "/v1"
    root = tmp_path_factory.mktemp(f"claude-{api}")
    with served(root, CHAIN.format(api=api, url=url), UPSTREAM_KEYS) as relay:
        yield api, relay


def _generation_requests(fake: FakeUpstream) -> list[dict[str, Any]]:
    return [r for r in fake.requests() if not r["path"].endswith("count_tokens")]


def test_example_chains_serve_claude_code_with_no_keys(examples: Relay, tmp_path: Path) -> None:
    result = run_claude(examples.url, tmp_path, "hello")
    assert result["is_error"] is False, result
    assert result["result"] == "Simulated provider sim-steady here. You said: hello"
    assert result["num_turns"] == 1 and result["permission_denials"] == []


SIMULATED_TOOLS = """\
version: 1
providers:
  sim:
    api: simulated
    simulate: {latency: 0s, tokens_per_s: 1000, call_tools: true}
models:
  demo: {capabilities: [tools, stream, thinking], providers: {sim: relay-demo}}
chains:
  claude:
    match: ["claude-*"]
    steps: [sim/demo]
"""


def test_the_simulated_tool_call_is_one_claude_code_runs(tmp_path: Path) -> None:
    """`simulate: {call_tools: true}` with Claude Code's own tools: a Read of the file the
    prompt names, which Claude Code runs unasked (a read in its folder), then the answer."""
    work = tmp_path / "work"
    work.mkdir()
    note = work / "note.txt"
    note.write_text("the marker is 7f3c-relay\n")
    with served(tmp_path / "relay", SIMULATED_TOOLS, {}) as relay:
        result = run_claude(relay.url, work, f"Read {note} please")
    assert result["is_error"] is False, result
    assert result["num_turns"] == 2 and result["permission_denials"] == [], result
    assert result["result"].startswith("Simulated provider sim here. The tool said: ")
    assert "7f3c-relay" in result["result"]


def test_tool_round_trip_keeps_the_tool_use_id(
    upstream: tuple[str, Relay], fake: FakeUpstream, tmp_path: Path
) -> None:
    api, relay = upstream
    note = tmp_path / "note.txt"
    note.write_text("the marker is 7f3c-relay\n")
    read = {"id": TOOL_ID, "name": "Read", "input": {"file_path": str(note)}}
    fake.script(
        {"match": {"contains": TOOL_ID}, "text": "The note holds the marker."},
        {"match": {"stream": True}, "text": "Reading it.", "tool_call": read},
    )
    result = run_claude(relay.url, tmp_path, "What does note.txt say?", "--allowedTools", "Read")
    assert result["is_error"] is False, result
    assert result["result"] == "The note holds the marker." and result["num_turns"] == 2
    first, second = _generation_requests(fake)
    assert TOOL_ID not in str(first["body"])
    messages = second["body"]["messages"]
    if api == "anthropic":
        call = next(b for b in messages[-2]["content"] if b["type"] == "tool_use")
        answer = next(b for b in messages[-1]["content"] if b["type"] == "tool_result")
        assert (call["id"], call["name"], answer["tool_use_id"]) == (TOOL_ID, "Read", TOOL_ID)
        assert "7f3c-relay" in str(answer["content"])
    else:
        call = next(m for m in messages if m.get("tool_calls"))["tool_calls"][0]
        answer = next(m for m in messages if m["role"] == "tool")
        assert (call["id"], call["function"]["name"], answer["tool_call_id"]) == (TOOL_ID, "Read", TOOL_ID)
        assert "7f3c-relay" in str(answer["content"])


@pytest.mark.parametrize("failure", ["error event", "dropped connection"])
def test_a_stream_that_fails_mid_answer_is_recovered_without_streaming(
    upstream: tuple[str, Relay], fake: FakeUpstream, tmp_path: Path, failure: str
) -> None:
    fake.script(
        {"match": {"stream": True}, "error_after_text": "Half an answer", "drop": failure != "error event"},
        {"match": {"stream": False}, "text": "A whole answer."},
    )
    result = run_claude(upstream[1].url, tmp_path, "hello")
    assert result["is_error"] is False, result
    assert result["result"] == "A whole answer."
    assert [bool(r["body"].get("stream")) for r in _generation_requests(fake)] == [True, False]


def test_content_and_error_in_the_first_read_reach_claude_code_as_sent(
    upstream: tuple[str, Relay], fake: FakeUpstream, tmp_path: Path
) -> None:
    fake.script(
        {"match": {"stream": True}, "error_after_text": "Half an answer", "one_write": True},
        {"match": {"stream": False}, "text": "A whole answer."},
    )
    result = run_claude(upstream[1].url, tmp_path, "hello")
    assert result["is_error"] is False, result
    assert result["result"] == "A whole answer."
