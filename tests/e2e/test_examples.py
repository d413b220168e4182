"""The README's main job: the shipped example chains, built with no keys, serve and fail over."""

from __future__ import annotations

import anthropic
import openai
import pytest

from tests.e2e.procs import Relay

pytestmark = pytest.mark.e2e


def test_free_chain_fails_over_from_the_exhausted_simulated_step(examples: Relay) -> None:
    client = openai.OpenAI(base_url=examples.url + "/v1", api_key="any", max_retries=0)
    served = []
    for _ in range(4):
        raw = client.chat.completions.with_raw_response.create(
            model="free", messages=[{"role": "user", "content": "hi"}]
        )
        served.append(raw.headers["x-relay-provider"])
        assert raw.parse().choices[0].message.content
    assert served == ["sim-burst"] * 3 + ["sim-steady"]
    assert "sim-burst/relay-demo" in raw.headers["x-relay-skipped"]
    assert "groq/llama-3.3-70b-versatile: disabled" in raw.headers["x-relay-skipped"]


def test_claude_code_style_stream_is_served_by_the_claude_chain(examples: Relay) -> None:
    client = anthropic.Anthropic(base_url=examples.url, api_key="any", max_retries=0)
    with client.messages.stream(
        model="claude-sonnet-5-5", max_tokens=64, messages=[{"role": "user", "content": "hello"}]
    ) as stream:
        message = stream.get_final_message()
    assert message.model == "claude-sonnet-5-5" and message.stop_reason == "end_turn"
    assert "sim-steady" in message.content[0].text  # type: ignore[union-attr]
