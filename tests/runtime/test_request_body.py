"""What the step's thinking may carry is worked out only for the one body that reads it:
an Anthropic request passed through to an Anthropic upstream."""

from __future__ import annotations

import json

import pytest

from runtime.artifact import Provider, Step
from runtime.errors import ClientFormat, WireFormat
from runtime.routing.thinking_owners import ThinkingOwners
from runtime.server import bridge, incoming

PROVIDER = Provider(
    name="p", api="openai", base_url="http://127.0.0.1:9", module="p", rate_limit_family="openai"
)
STEP = Step(provider="p", model="up-model")
THOUGHT = {"type": "thinking", "thinking": "hm", "signature": "relay:elsewhere"}
BODIES: dict[ClientFormat, bytes] = {
    "anthropic": json.dumps(
        {
            "model": "m",
            "max_tokens": 16,
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [THOUGHT, {"type": "text", "text": "yes"}]},
                {"role": "user", "content": "and?"},
            ],
        }
    ).encode(),
    "openai": json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode(),
}


@pytest.mark.parametrize("fmt", ["anthropic", "openai"])
@pytest.mark.parametrize("target", ["anthropic", "openai", "responses"])
def test_thinking_is_asked_only_for_an_anthropic_passthrough(fmt: ClientFormat, target: WireFormat) -> None:
    asked: list[bool] = []

    def thinking() -> bridge.Thinking:
        asked.append(True)
        return bridge.Thinking(("account", "family"), ThinkingOwners(), 0.0)

    body = bridge.request_body(incoming.parse(BODIES[fmt], [], fmt, "r"), STEP, PROVIDER, target, thinking)
    assert asked == ([True] if fmt == target == "anthropic" else [])
    if asked:  # and what it said was used: the relay-made signature's block is gone
        assert body.thinking_dropped == 1 and b"relay:elsewhere" not in body.data
