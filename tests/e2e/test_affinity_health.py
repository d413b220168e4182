"""Conversation affinity, circuit breakers and active probes through a real `relay run`."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RelayFactory
from tests.e2e.procs import FakeUpstream, Relay, wait_until

pytestmark = pytest.mark.e2e

TWO = """\
version: 1
providers:
  anth_a:
    api: anthropic
    base_url: {url}
    keys: ["${{UP_KEY_A}}"]
    timeouts: {{first_byte: 2s}}
    breaker: {{failures: 1, window: 30s, open_for: 60s}}
{health}
  anth_b:
    api: anthropic
    base_url: {url}
    keys: ["${{UP_KEY_B}}"]
    timeouts: {{first_byte: 2s}}
chains:
  claude:
    match: ["claude-*"]
    strategy: {strategy}
    steps: [anth_a/claude-up-a, anth_b/claude-up-b]
"""

SERVER_ERROR = {"status": 500, "body": {"type": "error", "error": {"type": "api_error", "message": "boom"}}}


def _defs(fake: FakeUpstream, strategy: str = "failover", probe: bool = False) -> dict[str, str]:
    health = "    health: {interval: 200ms}" if probe else ""
    return {"r.yaml": TWO.format(url=fake.url, strategy=strategy, health=health)}


def _ask(relay: Relay, messages: list[dict[str, Any]], session: str | None = None) -> httpx.Response:
    headers = {"anthropic-version": "2023-06-01"}
    if session is not None:
        headers["x-claude-code-session-id"] = session
    body = {"model": "claude-x", "max_tokens": 5, "system": "be brief", "messages": messages}
    reply = httpx.post(relay.url + "/v1/messages", json=body, headers=headers, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply


def _provider(relay: Relay, messages: list[dict[str, Any]], session: str | None = None) -> str:
    return _ask(relay, messages, session).headers["x-relay-provider"]


HI = [{"role": "user", "content": "hi"}]
LATER = [*HI, {"role": "assistant", "content": "hello"}, {"role": "user", "content": "more"}]


def test_a_conversation_sticks_to_its_provider_under_round_robin(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    with start_relay(_defs(fake, "round-robin")) as relay:
        fake.script()
        # Round-robin alternates a, b, a, b...; each pair below starts on "a" and would go to
        # "b" next, unless the conversation sticks.
        assert _provider(relay, HI, session="s1") == "anth_a"
        assert _provider(relay, [{"role": "user", "content": "other"}], session="s1") == "anth_a"
        assert _provider(relay, [{"role": "user", "content": "no session"}]) == "anth_a"
        later = [{"role": "user", "content": "no session"}, *LATER[1:]]
        assert _provider(relay, later) == "anth_a"  # same opening, no header: same conversation
        assert _provider(relay, HI, session="s2") == "anth_a"
        assert _provider(relay, HI, session="s3") == "anth_b"  # a new conversation takes its turn

        fake.script(SERVER_ERROR)  # "a" fails: the conversation moves deliberately, then stays
        assert _provider(relay, LATER, session="s1") == "anth_b"
        assert [_provider(relay, LATER, session="s1") for _ in range(2)] == ["anth_b", "anth_b"]


def test_an_open_breaker_is_skipped_and_named(fake: FakeUpstream, start_relay: RelayFactory) -> None:
    with start_relay(_defs(fake)) as relay:
        fake.script(SERVER_ERROR)
        assert _provider(relay, HI) == "anth_b"  # failures: 1 opens anth_a's breaker
        fake.script()
        reply = _ask(relay, HI)
        assert reply.headers["x-relay-provider"] == "anth_b"
        assert "anth_a/claude-up-a: breaker open 60s" in reply.headers["x-relay-skipped"]
        assert [r["body"]["model"] for r in fake.requests()] == ["claude-up-b"]


def test_an_active_probe_closes_the_breaker_early_without_user_traffic(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    sessions = (f"s{n}" for n in itertools.count())  # new conversations: none sticks to anth_b
    with start_relay(_defs(fake, probe=True)) as relay:
        fake.script(SERVER_ERROR)
        assert _provider(relay, HI, next(sessions)) == "anth_b"  # open for 60 s, but for the probes
        fake.script()
        wait_until(
            lambda: _provider(relay, HI, next(sessions)) == "anth_a", "breaker closed by a probe", timeout=5
        )
        paths = {r["path"] for r in fake.requests()}
        assert paths == {"/v1/messages"}  # probes asked for the models list, not a generation


def test_affinity_stays_within_its_chain(fake: FakeUpstream, start_relay: RelayFactory) -> None:
    """A conversation served by step 2 of one chain does not skip step 1 of another."""
    defs = _defs(fake)["r.yaml"] + '  other:\n    match: ["other-*"]\n    steps: [anth_b/up-b]\n'
    with start_relay({"r.yaml": defs}) as relay:
        body = {"max_tokens": 5, "messages": HI}
        headers = {"x-claude-code-session-id": "s1"}
        served = [
            httpx.post(relay.url + "/v1/messages", json={**body, "model": m}, headers=headers, timeout=10)
            for m in ("other-x", "claude-x")
        ]
        assert [r.headers["x-relay-provider"] for r in served] == ["anth_b", "anth_a"]
