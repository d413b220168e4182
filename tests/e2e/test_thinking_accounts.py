"""Thinking belongs to an account and a model, through a real `relay run` and a fake Anthropic
upstream that answers 400 to a thinking block signed under another account, as the real API
does (`tests.e2e.fake_thinking`). One provider pools three keys: two of account `team-a`, one
its own account. A conversation whose key runs out moves first to the other key of its
account (its thinking stays valid), then, with both out, to the other account: there relay
sends the history without the blocks that account cannot accept and says how many it dropped.
The real Claude Code CLI goes through the same move in a tool loop without seeing a 400.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.claude_code import CLAUDE, INSTALL_HINT, run_claude
from tests.e2e.procs import FakeUpstream, Relay, served

pytestmark = pytest.mark.e2e

DEFS = """\
version: 1
providers:
  anth:
    api: anthropic
    base_url: {url}
    keys:
      - {{key: "${{TA_KEY_1}}", name: a1, account: team-a}}
      - {{key: "${{TA_KEY_2}}", name: b1}}
      - {{key: "${{TA_KEY_3}}", name: a2, account: team-a}}
    timeouts: {{first_byte: 5s}}
chains:
  claude:
    match: ["claude-*"]
    steps: [anth/claude-fake-4]
"""
KEYS = {"TA_KEY_1": "acct-a.one", "TA_KEY_2": "acct-b.one", "TA_KEY_3": "acct-a.two"}
"""The fake's account of a key is its part before the first `.`: a1 and a2 share one."""
EXHAUSTED = {
    "status": 429,
    "headers": {"retry-after": "60"},
    "body": {"type": "error", "error": {"type": "rate_limit_error", "message": "quota exhausted"}},
}
SESSION = {"x-claude-code-session-id": "conv-1", "anthropic-version": "2023-06-01"}


@pytest.fixture
def relay(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    """A fresh relay per test: each one runs its keys out."""
    with served(tmp_path_factory.mktemp("accounts"), DEFS.format(url=fake.url), KEYS) as running:
        yield running


def _events(text: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for frame in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        if "event" in lines and "data" in lines:
            yield lines["event"], json.loads(lines["data"])


def _turn(
    relay: Relay, messages: list[dict[str, Any]], stream: bool
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    """One request of the conversation: the reply and the assistant content it carried."""
    body = {
        "model": "claude-x",
        "max_tokens": 2000,
        "stream": stream,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": messages,
    }
    reply = httpx.post(relay.url + "/v1/messages", json=body, headers=SESSION, timeout=20)
    assert reply.status_code == 200, reply.text
    if not stream:
        return reply, list(reply.json()["content"])
    blocks: dict[int, dict[str, Any]] = {}
    for name, data in _events(reply.text):
        if name == "content_block_start":
            blocks[data["index"]] = dict(data["content_block"])
        elif name == "content_block_delta":
            block, delta = blocks[data["index"]], data["delta"]
            if delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "text_delta":
                block["text"] += delta["text"]
            else:
                block["input"] = delta["partial_json"]
    return reply, [_tool_input(blocks[i]) for i in sorted(blocks)]


def _tool_input(block: dict[str, Any]) -> dict[str, Any]:
    if block["type"] == "tool_use" and isinstance(block.get("input"), str):
        return {**block, "input": json.loads(block["input"])}
    return block


def _keys(fake: FakeUpstream) -> list[str]:
    return [r["headers"]["x-api-key"] for r in fake.requests() if r["path"] == "/v1/messages"]


def _tool(n: int) -> dict[str, Any]:
    return {"id": f"toolu_acct{n}", "name": "Bash", "input": {"command": f"echo {n}"}}


def _result(n: int) -> dict[str, Any]:
    return {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": f"toolu_acct{n}", "content": str(n)}],
    }


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_conversation_keeps_its_thinking_in_its_account_and_drops_it_elsewhere(
    relay: Relay, fake: FakeUpstream, stream: bool
) -> None:
    fake.script({"thinking": "First, list.", "text": "Listing.", "tool_call": _tool(1)})
    reply, first = _turn(relay, [{"role": "user", "content": f"go {stream}"}], stream)
    assert [b["type"] for b in first] == ["thinking", "text", "tool_use"]
    assert _keys(fake) == ["acct-a.one"] and "x-relay-thinking-dropped" not in reply.headers
    history: list[dict[str, Any]] = [
        {"role": "user", "content": f"go {stream}"},
        {"role": "assistant", "content": first},
        _result(1),
    ]

    # a1 runs out: the other key of team-a takes the turn, thinking and all.
    fake.script(EXHAUSTED, {"thinking": "Then, count.", "text": "Counting.", "tool_call": _tool(2)})
    reply, second = _turn(relay, history, stream)
    assert _keys(fake) == ["acct-a.one", "acct-a.two"]
    assert "x-relay-thinking-dropped" not in reply.headers
    assert fake.requests()[-1]["body"]["messages"][1]["content"][0] == first[0]
    history += [{"role": "assistant", "content": second}, _result(2)]

    # a2 runs out too: only the other account is left. Sent as it is, the upstream refuses it.
    direct = httpx.post(
        fake.url + "/v1/messages",
        json={"model": "claude-fake-4", "max_tokens": 2000, "messages": history},
        headers={"x-api-key": KEYS["TA_KEY_2"]},
        timeout=10,
    )
    assert direct.status_code == 400 and "Invalid `signature`" in direct.text
    fake.script(EXHAUSTED, {"text": "Done."})
    reply, third = _turn(relay, history, stream)
    assert _keys(fake) == ["acct-a.two", "acct-b.one"]
    assert third == [{"type": "text", "text": "Done."}]
    assert reply.headers["x-relay-thinking-dropped"] == "2"
    sent = fake.requests()[-1]["body"]
    assert [[b["type"] for b in m["content"]] for m in sent["messages"] if m["role"] == "assistant"] == [
        ["text", "tool_use"],
        ["text", "tool_use"],
    ]
    assert "thinking" not in sent  # its last tool-use turn lost its thinking: thinking is off this once


READ_ID = "toolu_e2eAcct01"


@pytest.mark.skipif(CLAUDE is None, reason=INSTALL_HINT)
def test_claude_code_continues_across_accounts_without_a_400(
    relay: Relay, fake: FakeUpstream, tmp_path: Path
) -> None:
    """The real CLI thinks and reads a file on team-a's key; both of team-a's keys are out when
    the tool's result comes back, so the turn ends on the other account, without team-a's thinking."""
    note = tmp_path / "note.txt"
    note.write_text("the marker is 7f3c-relay\n")
    read = {"id": READ_ID, "name": "Read", "input": {"file_path": str(note)}}
    fake.script(
        {"match": {"contains": READ_ID}, **EXHAUSTED},
        {"match": {"contains": READ_ID}, **EXHAUSTED},
        {"match": {"contains": READ_ID}, "text": "The note holds the marker."},
        {
            "match": {"stream": True},
            "thinking": "Read the note first.",
            "text": "Reading it.",
            "tool_call": read,
        },
    )
    result = run_claude(relay.url, tmp_path, "What does note.txt say?", "--allowedTools", "Read")
    assert result["is_error"] is False, result
    assert result["result"] == "The note holds the marker." and result["num_turns"] == 2
    asked = [r for r in fake.requests() if r["path"] == "/v1/messages"]
    assert [r["headers"]["x-api-key"] for r in asked] == [
        "acct-a.one",
        "acct-a.one",
        "acct-a.two",
        "acct-b.one",
    ]
    kinds = [
        [[b["type"] for b in m["content"]] for m in r["body"]["messages"] if m["role"] == "assistant"]
        for r in asked
    ]
    assert kinds[1] == kinds[2] == [["thinking", "text", "tool_use"]]  # Claude Code sends it back
    assert kinds[3] == [["text", "tool_use"]]  # ...and the other account never sees it


def test_a_signature_relay_never_saw_is_dropped_once_the_upstream_refuses_it(
    relay: Relay, fake: FakeUpstream
) -> None:
    """Thinking made before a restart (or by another worker) has no known producer: it goes
    as it is, and when the upstream refuses it the request is sent once more without it."""
    elsewhere = {"type": "thinking", "thinking": "Earlier.", "signature": "fakesig.acct-b.claude-fake-4.99"}
    history = [
        {"role": "user", "content": "go on"},
        {"role": "assistant", "content": [elsewhere, {"type": "tool_use", **_tool(9)}]},
        _result(9),
    ]
    fake.script({"text": "Carried on."})
    reply, answer = _turn(relay, history, stream=True)
    assert answer == [{"type": "text", "text": "Carried on."}]
    assert (reply.headers["x-relay-thinking-dropped"], reply.headers["x-relay-attempts"]) == ("1", "2")
    first, second = fake.requests()
    assert first["body"]["messages"][1]["content"][0] == elsewhere and "thinking" in first["body"]
    assert [b["type"] for b in second["body"]["messages"][1]["content"]] == ["tool_use"]
    assert "thinking" not in second["body"]


TWO_MODELS = """\
version: 1
providers:
  first:
    api: anthropic
    base_url: {url}
    keys: ["${{TA_KEY_1}}"]
  second:
    api: anthropic
    base_url: {url}
    keys: ["${{TA_KEY_1}}"]
chains:
  claude:
    match: ["claude-*"]
    steps: [first/claude-fake-4-20250101, second/claude-other-4, first/claude-fake-4]
"""


def test_thinking_stays_with_its_model_family_under_one_key(fake: FakeUpstream, tmp_path: Path) -> None:
    """One key (one account) in two providers. Its first step fails: the step of the same
    family (an alias of the snapshot) goes next, out of chain order, thinking kept; when that
    fails too, another model of the same account gets the history without the thinking."""
    with served(tmp_path, TWO_MODELS.format(url=fake.url), KEYS) as relay:
        fake.script({"thinking": "Plan.", "text": "Calling.", "tool_call": _tool(1)})
        _, first = _turn(relay, [{"role": "user", "content": "go"}], stream=True)
        history = [{"role": "user", "content": "go"}, {"role": "assistant", "content": first}, _result(1)]
        server_error = {
            "status": 500,
            "body": {"type": "error", "error": {"type": "api_error", "message": "down"}},
        }
        fake.script(server_error, server_error, {"text": "Other model."})
        reply, _ = _turn(relay, history, stream=False)
        asked = [(r["body"]["model"], len(r["body"]["messages"][1]["content"])) for r in fake.requests()]
        assert asked == [("claude-fake-4-20250101", 3), ("claude-fake-4", 3), ("claude-other-4", 2)]
        assert reply.headers["x-relay-thinking-dropped"] == "1"
