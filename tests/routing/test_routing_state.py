"""RoutingState: the waterfall's plan, cooldowns, learned limits and hot-reload carry-over."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

from runtime.artifact import Limits, Provider
from runtime.clock import FakeClock
from runtime.routing.cooldown import AUTH_FIRST, PAYMENT_COOLDOWN
from runtime.routing.plan import Plan
from runtime.routing.ratelimit import RateInfo, parse_groq
from runtime.routing.state import MEMO_LIMIT, Lease, RoutingState

from .routing_helpers import artifact, chain, key, provider, step

A = provider("a", (key("a", "k1"), key("a", "k2"), key("a", "k3")))
B = provider("b", (key("b", "k1"),))
PROVIDERS = {"a": A, "b": B}
CHAIN = chain(step("a"), step("b"))


def make(seed: int = 7) -> tuple[RoutingState, FakeClock]:
    clock = FakeClock()
    state = RoutingState(clock, random.Random(seed))
    state.sync(artifact(A, B, chains=(CHAIN,)))
    return state, clock


def slots(plan: Plan) -> list[str]:
    return [c.key.id if c.key else c.provider.name for c in plan.candidates]


def run(state: RoutingState, plan: Plan, index: int = 0, tokens: int = 10) -> Lease:
    lease = asyncio.run(state.begin(plan.candidates[index], tokens))
    assert lease is not None
    return lease


def attempt(state: RoutingState, index: int = 0, tokens: int = 10) -> Lease:
    return run(state, state.plan(CHAIN, PROVIDERS, est_tokens=tokens), index, tokens)


def test_failover_order_keys_in_turn() -> None:
    state, _ = make()
    firsts = []
    for _ in range(4):
        lease = attempt(state)
        firsts.append(lease.candidate.key.id if lease.candidate.key else "")
        state.succeed(lease, 0.1)
        state.end(lease, 10)
    assert firsts == ["a#k1", "a#k2", "a#k3", "a#k1"]
    assert slots(state.plan(CHAIN, PROVIDERS, est_tokens=1)) == ["a#k2", "a#k3", "a#k1", "b#k1"]


def test_cooldown_from_retry_after() -> None:
    state, clock = make()
    lease = attempt(state)
    state.fail(lease, "rate_limited", retry_after=30)
    state.end(lease, None)
    assert "a#k1" not in slots(state.plan(CHAIN, PROVIDERS, est_tokens=1))
    clock.advance(29.9)
    assert "a#k1" not in slots(state.plan(CHAIN, PROVIDERS, est_tokens=1))
    clock.advance(0.2)
    assert "a#k1" in slots(state.plan(CHAIN, PROVIDERS, est_tokens=1))


def test_cooldown_from_reset_headers_on_429() -> None:
    state, clock = make()
    lease = attempt(state)
    headers = {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "7.66s"}
    state.observe(lease, parse_groq(headers, clock()))
    state.fail(lease, "rate_limited")
    state.end(lease, None)
    clock.advance(7.6)
    assert "a#k1" not in slots(state.plan(CHAIN, PROVIDERS, est_tokens=1))
    clock.advance(0.1)
    assert "a#k1" in slots(state.plan(CHAIN, PROVIDERS, est_tokens=1))


def test_backoff_grows_with_seeded_jitter() -> None:
    state, clock = make(seed=42)
    waits = []
    for _ in range(5):
        plan = state.plan(CHAIN, PROVIDERS, est_tokens=1)
        index = slots(plan).index("b#k1")
        lease = run(state, plan, index)
        state.fail(lease, "rate_limited")
        state.end(lease, None)
        snap = state.snapshot()["keys"]
        assert isinstance(snap, dict)
        waits.append(snap["b#k1"]["cooldown_s"])
        clock.advance(waits[-1] + 0.001)
    rng = random.Random(42)
    expected = [round(2**n / 2 + rng.random() * 2**n / 2, 3) for n in range(5)]
    assert waits == expected
    assert all(later > earlier for earlier, later in itertools.pairwise(waits))


def test_success_resets_backoff() -> None:
    state, clock = make(seed=1)
    lease = attempt(state, index=3)
    state.fail(lease, "overloaded")
    state.end(lease, None)
    clock.advance(60)
    lease = attempt(state, index=3)
    state.succeed(lease, 0.2)
    state.end(lease, 5)
    lease = attempt(state, index=3)
    state.fail(lease, "overloaded")
    snap = state.snapshot()["keys"]
    assert isinstance(snap, dict)
    assert snap["b#k1"]["cooldown_s"] <= 1.0


def test_proactive_skip_until_reset_then_eligible() -> None:
    state, clock = make()
    lease = attempt(state, index=3)
    state.observe(lease, RateInfo(remaining_requests=0, reset_requests_at=clock() + 20))
    state.succeed(lease, 0.1)
    state.end(lease, 10)
    plan = state.plan(CHAIN, PROVIDERS, est_tokens=1)
    assert "b#k1" not in slots(plan)
    assert [(s.step_index, s.until) for s in plan.skipped] == [(1, clock() + 20)]
    assert plan.skipped[0].reason.startswith("key exhausted")
    clock.advance(20)
    assert "b#k1" in slots(state.plan(CHAIN, PROVIDERS, est_tokens=1))


def exhaust(state: RoutingState, lease: Lease, reset_at: float) -> None:
    """A 429 that says the key's quota is gone until `reset_at`: a stated limit."""
    state.observe(lease, RateInfo(remaining_requests=0, reset_requests_at=reset_at))
    state.fail(lease, "rate_limited")


def test_step_with_all_keys_cooling_is_skipped_with_soonest_recovery() -> None:
    state, clock = make()
    for seconds in (40, 10, 25):
        plan = state.plan(CHAIN, PROVIDERS, est_tokens=1)
        lease = run(state, plan)
        exhaust(state, lease, clock() + seconds)
        state.end(lease, None)
    plan = state.plan(CHAIN, PROVIDERS, est_tokens=1)
    assert slots(plan) == ["b#k1"]
    assert plan.skipped[0].reason.endswith("(all 3 keys)")
    assert plan.skipped[0].until == plan.soonest_recovery == clock() + 10
    lease = run(state, plan)
    exhaust(state, lease, clock() + 5)
    assert state.soonest_recovery(CHAIN, PROVIDERS) == clock() + 5


@pytest.mark.parametrize(
    ("kind", "cooldown", "alert"),
    [
        ("auth", AUTH_FIRST, True),
        ("payment", PAYMENT_COOLDOWN, True),
        ("server_error", 0.0, False),
        ("timeout", 0.0, False),
        ("context", 0.0, False),
        ("client_error", 0.0, False),
    ],
)
def test_failure_penalties(kind: str, cooldown: float, alert: bool) -> None:
    state, _ = make()
    lease = attempt(state)
    message = state.fail(lease, kind)  # type: ignore[arg-type]
    state.end(lease, None)
    snap = state.snapshot()["keys"]
    assert isinstance(snap, dict)
    assert snap["a#k1"]["cooldown_s"] == cooldown
    assert (message is not None) == alert
    if message:
        assert "a#k1" in message and "sha256:k1" in message


def test_disabled_provider_and_missing_capability_are_skipped() -> None:
    state, _ = make()
    off = provider("off", (key("off", "k"),), enabled=False, reason="every key optional and unset")
    vision = step("b", capabilities=("tools", "vision"))
    plan = state.plan(
        chain(step("off"), step("a", capabilities=("tools",)), vision, step("ghost")),
        {**PROVIDERS, "off": off},
        est_tokens=1,
        capabilities=frozenset({"vision"}),
    )
    assert slots(plan) == ["b#k1"]
    assert [(s.step_index, s.reason, s.until) for s in plan.skipped] == [
        (0, "disabled: every key optional and unset", None),
        (1, "lacks capability vision", None),
        (3, "unknown provider ghost", None),
    ]
    assert plan.soonest_recovery is None


def test_keyless_provider_is_one_candidate_with_state() -> None:
    sim = provider("sim")
    state = RoutingState(FakeClock(), random.Random(0))
    plan = state.plan(chain(step("sim")), {"sim": sim}, est_tokens=1)
    assert [(c.provider.name, c.key) for c in plan.candidates] == [("sim", None)]
    lease = run(state, plan)
    exhaust(state, lease, 1003.0)
    assert state.plan(chain(step("sim")), {"sim": sim}, est_tokens=1).candidates == ()


def test_sync_carries_state_for_unchanged_fingerprints_and_drops_changed() -> None:
    state, _clock = make()
    for _ in range(3):
        lease = attempt(state)
        state.fail(lease, "rate_limited", retry_after=100)
        state.end(lease, None)
    renamed = key("a", "renamed", value="k1")  # same value under a new name: state follows the value
    rotated = key("a", "k2", value="new-secret")
    a2 = provider("a", (renamed, rotated))
    state.sync(artifact(a2, B))
    plan = state.plan(CHAIN, {"a": a2, "b": B}, est_tokens=1)
    assert slots(plan) == ["a#k2", "b#k1"]
    snap = state.snapshot()["keys"]
    assert isinstance(snap, dict)
    assert sorted(snap) == ["a#k2", "a#renamed", "b#k1"]
    assert snap["a#renamed"]["cooldown_s"] == 100


def test_token_window_preflight_and_reconcile() -> None:
    limited = provider("t", (key("t", "k", limits=Limits(tpm=1000)),))
    state = RoutingState(FakeClock(), random.Random(0))
    c = chain(step("t"))
    lease = run(state, state.plan(c, {"t": limited}, est_tokens=900), tokens=900)
    plan = state.plan(c, {"t": limited}, est_tokens=200)
    assert plan.candidates == () and plan.skipped[0].reason == "no capacity for ~200 tokens"
    state.end(lease, 300)  # actual usage was lower than the estimate
    assert len(state.plan(c, {"t": limited}, est_tokens=200).candidates) == 1


def test_begin_refuses_when_key_filled_since_plan() -> None:
    limited = provider("t", (key("t", "k", limits=Limits(concurrency=1)),))
    state = RoutingState(FakeClock(), random.Random(0))
    plan = state.plan(chain(step("t")), {"t": limited}, est_tokens=1)
    first = asyncio.run(state.begin(plan.candidates[0], 1))
    assert first is not None
    assert asyncio.run(state.begin(plan.candidates[0], 1)) is None
    state.end(first, None)
    state.end(first, None)  # idempotent
    assert asyncio.run(state.begin(plan.candidates[0], 1)) is not None


def test_snapshot_is_json_and_secret_free() -> None:
    import msgspec

    state, _ = make()
    lease = attempt(state)
    state.fail(lease, "auth")
    blob = msgspec.json.encode(state.snapshot())
    assert b"a#k1" in blob


def test_providers_unchanged_object_identity_reuses_candidates() -> None:
    state, _ = make()
    p1 = state.plan(CHAIN, PROVIDERS, est_tokens=1)
    p2 = state.plan(CHAIN, PROVIDERS, est_tokens=1)
    assert {id(c) for c in p1.candidates} == {id(c) for c in p2.candidates}
    assert isinstance(p1.candidates[0].provider, Provider)


def test_cooldown_left() -> None:
    state, clock = make()
    lease = attempt(state)
    assert state.cooldown_left(lease.candidate) is None
    state.fail(lease, "rate_limited", retry_after=12)
    clock.advance(2)
    assert state.cooldown_left(lease.candidate) == 10


def test_chains_built_per_request_do_not_grow_the_state() -> None:
    """`provider/model` direct access builds a chain (a new step) per request, under any
    name a client sends: the state's memos (candidates per step, a round-robin counter per
    chain name) stay bounded instead of holding every step ever asked for."""
    state, _ = make()
    for i in range(MEMO_LIMIT + 10):
        plan = state.plan(chain(step("a", f"model-{i}"), name=f"a/model-{i}"), PROVIDERS, est_tokens=10)
        assert plan.candidates[0].step.model == f"model-{i}"
    assert len(state._candidates) <= MEMO_LIMIT
    assert len(state._turns) <= MEMO_LIMIT
    assert slots(state.plan(CHAIN, PROVIDERS, est_tokens=10))  # the artifact's chains plan as before
