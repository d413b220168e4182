"""The pure `/admin/state` view against a routing state driven by a FakeClock."""

from __future__ import annotations

import asyncio
from typing import Any

from runtime.artifact import Breaker, Limits
from runtime.clock import FakeClock
from runtime.ops.state_view import RelayFacts, state_view
from runtime.routing.state import RoutingState
from tests.routing.routing_helpers import artifact, chain, key, provider, step

FACTS = RelayFacts(
    version="0", started_at=0.0, uptime_s=1.0, pid=1, workers=1, manifest_hash="m", built_at=None, reloads=0
)


def _setup() -> tuple[Any, RoutingState, FakeClock]:
    clock = FakeClock()
    art = artifact(
        provider(
            "groq", (key("groq", "a", limits=Limits(rpm=2)), key("groq", "b")), breaker=Breaker(failures=1)
        ),
        chains=(chain(step("groq")),),
    )
    state = RoutingState(clock)
    state.sync(art)
    return art, state, clock


def _key(view: dict[str, Any], name: str) -> dict[str, Any]:
    keys = view["providers"][0]["keys"]
    found: dict[str, Any] = next(k for k in keys if k["name"] == name)
    return found


def test_a_rate_limited_key_cools_with_reason_and_countdown() -> None:
    art, state, clock = _setup()
    plan = state.plan(art.chains["c"], art.providers, est_tokens=1)
    lease = asyncio.run(state.begin(plan.candidates[0], 1))
    assert lease is not None
    state.fail(lease, "rate_limited", retry_after=12.0)
    state.end(lease, None)
    clock.advance(2.0)
    view = state_view(art, state, FACTS)
    cooled = _key(view, lease.state.slot.split("#")[1])
    assert (cooled["status"], cooled["until_s"]) == ("cooling", 10.0)
    assert "rate limited" in cooled["reason"]
    rpm = cooled["windows"][0] if cooled["name"] == "a" else None
    assert rpm is None or (rpm["name"], rpm["used"], rpm["remaining"]) == ("rpm", 1, 1)
    assert view["chains"][0]["steps"][0]["status"] == "ready"  # the other key still serves
    assert view["chains"][0]["steps"][0]["keys_ready"] == 1
    clock.advance(10.0)
    assert _key(state_view(art, state, FACTS), cooled["name"])["status"] == "ready"


def test_an_open_provider_breaker_is_the_steps_status_until_it_half_opens() -> None:
    art, state, clock = _setup()
    plan = state.plan(art.chains["c"], art.providers, est_tokens=1)
    lease = asyncio.run(state.begin(plan.candidates[0], 1))
    assert lease is not None
    state.fail(lease, "server_error")
    state.end(lease, None)
    view = state_view(art, state, FACTS)
    assert view["providers"][0]["breaker"]["state"] == "open"
    assert view["chains"][0]["steps"][0]["status"] == "breaker_open"
    assert view["chains"][0]["steps"][0]["until_s"] == 30.0
    clock.advance(31.0)
    assert state_view(art, state, FACTS)["providers"][0]["breaker"]["state"] == "half_open"


def test_an_exhausted_window_says_when_it_frees() -> None:
    art, state, _ = _setup()
    for _ in range(2):
        cand = next(
            c
            for c in state.plan(art.chains["c"], art.providers, est_tokens=1).candidates
            if c.key and c.key.name == "a"
        )
        lease = asyncio.run(state.begin(cand, 1))
        assert lease is not None
        state.succeed(lease, 0.1)
        state.end(lease, 1)
    view = state_view(art, state, FACTS)
    a = _key(view, "a")
    assert a["status"] == "exhausted" and 60.0 <= a["until_s"] <= 62.0
    assert a["windows"][0]["remaining"] == 0
    assert view["providers"][0]["health"]["latency_ms"] == 0.0
