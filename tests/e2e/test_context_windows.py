"""Context windows (`models.*.context`) through a real `relay run`: a step whose window cannot
hold the request is skipped before any call, with the reason in `x-relay-skipped`; when no
step can hold it the client gets the 400 that makes Claude Code compact (Anthropic wording,
OpenAI `context_length_exceeded`), and the upstream is never called. The estimate is a floor,
so a request the smaller model would take is not skipped (images count nothing toward it),
and the real Claude Code CLI reads the 400 as "Prompt is too long".
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.e2e.claude_code import CLAUDE, claude_code_body, run_claude
from tests.e2e.conftest import UPSTREAM_KEYS
from tests.e2e.procs import FakeUpstream, Relay, anthropic_client, openai_client, served

pytestmark = pytest.mark.e2e

DEFS = """\
version: 1
providers:
  small:
    api: anthropic
    base_url: {url}
    keys: ["${{UP_KEY_A}}"]
  big:
    api: anthropic
    base_url: {url}
    keys: ["${{UP_KEY_B}}"]
models:
  short:
    context: 2000
    capabilities: [tools, thinking, stream, vision]
    providers: {{small: short-up}}
  long:
    context: 40000
    capabilities: [tools, thinking, stream, vision]
    providers: {{big: long-up}}
chains:
  claude:
    match: ["claude-*"]
    steps: [small/short, big/long]
  tiny:
    steps: [small/short]
"""


@pytest.fixture(scope="module")
def relay(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    with served(tmp_path_factory.mktemp("windows"), DEFS.format(url=fake.url), UPSTREAM_KEYS) as relay:
        yield relay


def _models(fake: FakeUpstream) -> list[str]:
    return [r["body"]["model"] for r in fake.requests()]


def _post(relay: Relay, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(relay.url + "/v1/messages", json=body, timeout=20)


def test_a_request_over_the_first_window_skips_that_step_before_any_call(
    relay: Relay, fake: FakeUpstream
) -> None:
    fake.script()
    resp = _post(relay, claude_code_body(stream=False))  # ~43 kB: a floor of ~7,000 tokens + 4,096
    assert resp.status_code == 200, resp.text
    assert _models(fake) == ["long-up"]
    skipped = resp.headers["x-relay-skipped"]
    assert skipped.startswith("small/short-up: context window 2000 < ~"), skipped
    assert resp.headers["x-relay-provider"] == "big"


def test_the_floor_keeps_a_step_the_request_fits(relay: Relay, fake: FakeUpstream) -> None:
    """9 kB of text is 2,250 tokens at 4 bytes a token, over the 2,000 window, but about
    1,800 in fact (prose runs 4-5 bytes a token): the floor (1,500) leaves the step in, and
    a base64 image, which the model reads as a picture, does not push it out either."""
    image = base64.b64encode(bytes(range(256)) * 1200).decode()  # 400 kB of base64
    body = {
        "model": "claude-test",
        "max_tokens": 100,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": image}},
                    {"type": "text", "text": "Describe this picture of a harbour at dusk. " * 200},
                ],
            }
        ],
    }
    fake.script()
    resp = _post(relay, body)
    assert resp.status_code == 200, resp.text
    assert _models(fake) == ["short-up"] and "x-relay-skipped" not in resp.headers


def _huge(**extra: Any) -> dict[str, Any]:
    return claude_code_body(messages=[{"role": "user", "content": "x y " * 150_000}], **extra)  # 600 kB


def test_no_window_holds_it_anthropic_clients_get_prompt_is_too_long(
    relay: Relay, fake: FakeUpstream
) -> None:
    fake.script()
    with pytest.raises(anthropic.BadRequestError) as caught:
        anthropic_client(relay).messages.create(
            model="claude-test", max_tokens=8000, messages=[{"role": "user", "content": "x y " * 150_000}]
        )
    error = caught.value
    assert error.status_code == 400 and error.body is not None
    message = error.body["error"]["message"]  # type: ignore[index]
    assert error.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert message.startswith("prompt is too long: ") and " tokens > 40000 maximum (" in message
    assert "small/short-up (context window 2000 < ~" in message
    assert fake.requests() == []


def test_a_stream_gets_the_400_before_any_event(relay: Relay, fake: FakeUpstream) -> None:
    fake.script()
    resp = _post(relay, _huge())
    assert resp.status_code == 400 and resp.headers["content-type"] == "application/json"
    assert resp.json()["error"]["message"].startswith("prompt is too long: ")
    assert "x-relay-skipped" in resp.headers and fake.requests() == []


def test_openai_clients_get_context_length_exceeded(relay: Relay, fake: FakeUpstream) -> None:
    fake.script()
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client(relay).chat.completions.create(
            model="tiny", max_tokens=10, messages=[{"role": "user", "content": "x y " * 5000}]
        )
    assert caught.value.status_code == 400 and caught.value.code == "context_length_exceeded"
    assert fake.requests() == []


@pytest.mark.skipif(CLAUDE is None, reason="Claude Code CLI not installed")
def test_claude_code_reads_the_400_as_prompt_too_long(
    relay: Relay, fake: FakeUpstream, tmp_path: Path
) -> None:
    """Its first request is ~80 kB (system prompt and tool definitions): over the `tiny`
    chain's 2,000 tokens, so relay answers 400 and Claude Code names it in its own words."""
    fake.script()
    result = run_claude(relay.url, tmp_path, "hello", "--model", "tiny")
    assert result["is_error"] is True, result
    assert "prompt is too long" in str(result["result"]).lower(), result
    assert fake.requests() == []
