"""Never less available than direct (issue 8 §4, §6): the panic rule, the auth penalty,
failures after the first byte, and requests bigger than a key's token window."""

from __future__ import annotations

import asyncio
import random
from typing import cast, get_args

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.artifact import Breaker, Chain, Limits, Provider
from runtime.clock import FakeClock
from runtime.routing.cooldown import AUTH_CAP, AUTH_FIRST, AUTH_GROWTH, FailureKind
from runtime.routing.plan import Candidate, Plan
from runtime.routing.ratelimit import RateInfo
from runtime.routing.state import Lease, RoutingState
from runtime.server import bridge, incoming

from .routing_helpers import artifact, chain, key, provider, step

FIVE = Breaker(failures=5, window=30.0, open_for=30.0)
ONLY = provider("only", (key("only", "k"),), breaker=FIVE)
SPARE = provider("spare", (key("spare", "k"),), breaker=FIVE)
PROVIDERS: dict[str, Provider] = {"only": ONLY, "spare": SPARE}
ONE_STEP = chain(step("only"))
TWO_STEPS = chain(step("only"), step("spare"))


def make() -> tuple[RoutingState, FakeClock]:
    clock = FakeClock()
    state = RoutingState(clock, random.Random(5))
    state.sync(artifact(ONLY, SPARE))
    return state, clock


def begin(state: RoutingState, cand: Candidate) -> Lease | None:
    return asyncio.run(state.begin(cand, 10))


def plan_of(state: RoutingState, c: Chain = ONE_STEP) -> Plan:
    return state.plan(c, PROVIDERS, est_tokens=10)


def failed(state: RoutingState, kind: FailureKind, retry_after: float | None = None) -> None:
    plan = plan_of(state)
    assert plan.candidates, plan.skipped
    lease = begin(state, plan.candidates[0])
    assert lease is not None
    state.fail(lease, kind, retry_after)
    state.end(lease, None)


def offered(plan: Plan) -> list[tuple[str, bool]]:
    return [(c.provider.name, c.panic) for c in plan.candidates]


@pytest.mark.parametrize(
    ("kind", "times"),
    [("overloaded", 1), ("overloaded", 4), ("server_error", 5), ("timeout", 5), ("connect", 5), ("auth", 1)],
)
def test_inferred_exclusion_of_the_only_step_still_offers_it(kind: FailureKind, times: int) -> None:
    """A backoff after 503/529, a breaker opened by five 500s, a rejected key: relay's own
    inference. With nothing else to try, the plan offers the step and begin() admits it."""
    state, _ = make()
    for _ in range(times):
        failed(state, kind)
    plan = plan_of(state)
    assert offered(plan) == [("only", True)] and plan.skipped == ()
    lease = begin(state, plan.candidates[0])
    assert lease is not None
    state.succeed(lease, 0.1)
    state.end(lease, 10)
    assert offered(plan_of(state)) == [("only", False)]  # the answer ended the breaker and backoff


@pytest.mark.parametrize("retry_after", [2.0, None])
def test_a_partial_429_moves_traffic_away_yet_the_only_key_is_still_tried(retry_after: float | None) -> None:
    """Issue 18: one `retry-after: 2` on 30 % of requests excluded the only key for everyone
    (a one-key chain failed 97 % of requests; direct 30 %). A 429 without an exhausted
    counter refuses one request: other steps go first while it lasts, and with nothing else
    left the key is tried (panic) as a direct caller would; an answer ends the cooldown."""
    state, _ = make()
    failed(state, "rate_limited", retry_after)
    assert offered(plan_of(state, TWO_STEPS)) == [("spare", False)]
    plan = plan_of(state)
    assert offered(plan) == [("only", True)]
    lease = begin(state, plan.candidates[0])
    assert lease is not None
    state.succeed(lease, 0.1)
    state.end(lease, 10)
    assert offered(plan_of(state, TWO_STEPS)) == [("only", False), ("spare", False)]


@pytest.mark.parametrize("exclude", ["remaining 0", "429 remaining 0", "payment", "rpm window"])
def test_stated_limits_hold_even_when_nothing_else_can_serve(exclude: str) -> None:
    limits = Limits(rpm=1) if exclude == "rpm window" else Limits()
    limited = provider("only", (key("only", "k", limits=limits),), breaker=FIVE)
    state = RoutingState(FakeClock(), random.Random(0))
    lease = begin(state, state.plan(ONE_STEP, {"only": limited}, est_tokens=10).candidates[0])
    assert lease is not None
    if exclude.endswith("remaining 0"):
        state.observe(lease, RateInfo(remaining_requests=0, reset_requests_at=1000 + 20))
        if exclude.startswith("429"):
            state.fail(lease, "rate_limited", 2.0)
        else:
            state.succeed(lease, 0.1)
    elif exclude == "payment":
        state.fail(lease, "payment")
    state.end(lease, 10)
    plan = state.plan(ONE_STEP, {"only": limited}, est_tokens=10)
    assert plan.candidates == ()
    assert plan.skipped[0].kind == "limited"


def test_panic_only_when_no_step_can_serve_and_then_the_first_in_order() -> None:
    state, _ = make()
    for _ in range(5):
        failed(state, "server_error")  # opens `only`'s breaker
    plan = plan_of(state, TWO_STEPS)
    assert offered(plan) == [("spare", False)]
    assert [(s.reason, s.kind) for s in plan.skipped] == [("breaker open", "unavailable")]
    lease = begin(state, plan.candidates[0])
    assert lease is not None
    state.fail(lease, "overloaded")  # now `spare` backs off too: both out by inference
    state.end(lease, None)
    assert offered(plan_of(state, TWO_STEPS)) == [("only", True)]


def test_panic_skips_a_step_a_stated_limit_keeps_out() -> None:
    state, _ = make()
    for _ in range(5):
        failed(state, "server_error")
    spare = plan_of(state, TWO_STEPS).candidates[0]
    lease = begin(state, spare)
    assert lease is not None
    state.fail(lease, "overloaded")
    state.end(lease, None)
    only = plan_of(state, TWO_STEPS).candidates[0]
    assert only.panic
    lease = begin(state, only)
    assert lease is not None
    state.observe(lease, RateInfo(remaining_requests=0, reset_requests_at=1000 + 60))
    state.fail(lease, "rate_limited", 60.0)  # `only`: the upstream said its quota is gone for 60 s
    state.end(lease, None)
    assert offered(plan_of(state, TWO_STEPS)) == [("spare", True)]


def test_a_failed_panic_attempt_reopens_the_breaker_as_a_probe_would() -> None:
    state, clock = make()
    for _ in range(5):
        failed(state, "server_error")
    clock.advance(20)
    failed(state, "server_error")  # the panic attempt fails: open for another 30 s from now
    snap = state.snapshot()["providers"]
    assert isinstance(snap, dict)
    assert snap["only"]["breaker"] == {"state": "open", "open_s": 30.0, "recent_failures": 0}


def test_one_401_is_a_short_inferred_cooldown_that_grows_while_confirmed() -> None:
    """One 401 used to block the only key for 24 h with `retry-after: 86400`."""
    state, clock = make()
    expected = []
    for strike in range(7):
        failed(state, "auth")
        expected.append(min(AUTH_CAP, AUTH_FIRST * AUTH_GROWTH**strike))
        snap = state.snapshot()["keys"]
        assert isinstance(snap, dict)
        assert snap["only#k"]["cooldown_s"] == expected[-1]
        assert offered(plan_of(state, TWO_STEPS)) == [("spare", False)]  # others first meanwhile
        clock.advance(1)
    assert expected[:4] == [60, 480, 3840, 30720] and expected[-1] == AUTH_CAP
    lease = begin(state, plan_of(state).candidates[0])
    assert lease is not None
    state.succeed(lease, 0.1)  # the key works after all: strikes and cooldown forgotten
    state.end(lease, 10)
    failed(state, "auth")
    snap = state.snapshot()["keys"]
    assert isinstance(snap, dict)
    assert snap["only#k"]["cooldown_s"] == AUTH_FIRST


def test_failures_after_the_first_byte_open_the_breaker() -> None:
    """Issue 8 §6: streams that break after their first event count, and their good first
    events do not clear the failure window."""
    state, _ = make()
    for _ in range(5):
        plan = plan_of(state, TWO_STEPS)
        assert offered(plan)[0] == ("only", False)
        lease = begin(state, plan.candidates[0])
        assert lease is not None
        state.succeed(lease, 0.05)  # first event reached the client
        state.fail(lease, "connect")  # then the upstream dropped the stream
        state.end(lease, None)
    plan = plan_of(state, TWO_STEPS)
    assert offered(plan) == [("spare", False)]
    assert plan.skipped[0].reason == "breaker open"
    snap = state.snapshot()["providers"]
    assert isinstance(snap, dict)
    assert snap["only"]["error_rate"] > 0.6  # 5 of 5 failed: no success counted for them


def test_a_good_stream_still_counts_as_healthy_at_its_end() -> None:
    state, _ = make()
    failed(state, "server_error")
    lease = begin(state, plan_of(state).candidates[0])
    assert lease is not None
    state.succeed(lease, 0.05)
    before = state.snapshot()["providers"]
    state.end(lease, 10)
    after = state.snapshot()["providers"]
    assert isinstance(before, dict) and isinstance(after, dict)
    assert after["only"]["error_rate"] < before["only"]["error_rate"]


TPM = provider("t", (key("t", "k", limits=Limits(tpm=30_000)),))


def test_request_bigger_than_the_token_window_fits_an_empty_window() -> None:
    """Claude Code: ~20k input + max_tokens 64000 against tpm 30000 was skipped forever."""
    state = RoutingState(FakeClock(), random.Random(0))
    c = chain(step("t"))
    plan = state.plan(c, {"t": TPM}, est_tokens=84_000, est_output=64_000)
    assert [cand.panic for cand in plan.candidates] == [False]
    lease = asyncio.run(state.begin(plan.candidates[0], 84_000, est_output=64_000))
    assert lease is not None  # reserved as the whole window
    plan = state.plan(c, {"t": TPM}, est_tokens=84_000, est_output=64_000)
    assert plan.candidates == () and plan.skipped[0].kind == "limited"
    state.end(lease, 21_000)  # what it really used
    assert state.plan(c, {"t": TPM}, est_tokens=9_000, est_output=4_000).candidates


def test_input_alone_over_every_limit_is_never() -> None:
    state = RoutingState(FakeClock(), random.Random(0))
    plan = state.plan(chain(step("t")), {"t": TPM}, est_tokens=36_000, est_output=4_000)
    assert plan.candidates == ()
    (skip,) = plan.skipped
    assert skip.kind == "never" and skip.until is None
    assert skip.reason == "request of ~32000 input tokens exceeds 30000 tokens per 60s"


def test_claude_code_turn_reaches_a_30k_tpm_key() -> None:
    """The estimate is the input plus a realistic output, not max_tokens 64000, and the
    request loop passes its output part, so the turn is planned and admitted."""
    body = msgspec.json.encode(
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 64_000,
            "stream": True,
            "messages": [{"role": "user", "content": "x" * 80_000}],
        }
    )
    inc = incoming.parse(body, [], "anthropic", "r1")
    output = bridge.estimate_output(inc)
    tokens = bridge.estimate(inc, output)
    assert output == bridge.OUTPUT_ESTIMATE and tokens == len(body) // 4 + output
    state = RoutingState(FakeClock(), random.Random(0))
    plan = state.plan(chain(step("t")), {"t": TPM}, est_tokens=tokens, est_output=output)
    assert [c.panic for c in plan.candidates] == [False]
    assert asyncio.run(state.begin(plan.candidates[0], tokens, est_output=output)) is not None


KINDS: tuple[FailureKind, ...] = get_args(FailureKind)
event = st.one_of(
    st.tuples(st.just("fail"), st.sampled_from(KINDS), st.none() | st.floats(0.5, 120)),
    st.tuples(st.just("ok"), st.just("x"), st.none()),
    st.tuples(st.just("broke"), st.sampled_from(KINDS), st.none()),  # failed after its first byte
    st.tuples(st.just("report0"), st.just("x"), st.floats(1, 90)),
    st.tuples(st.just("wait"), st.just("x"), st.floats(0, 200)),
)


@settings(max_examples=200, deadline=None)
@given(st.none() | st.integers(1, 5), st.lists(event, max_size=40))
def test_a_lone_step_is_out_only_by_a_stated_limit_and_windows_still_hold(
    rpm: int | None, events: list[tuple[str, str, float | None]]
) -> None:
    """Whatever relay inferred, a one-step chain is tried unless a limit the upstream or the
    operator stated keeps it out; an offered candidate is admitted; rpm is never exceeded."""
    lone = provider("only", (key("only", "k", limits=Limits(rpm=rpm)),), breaker=Breaker(failures=2))
    clock = FakeClock(0.0)
    state = RoutingState(clock, random.Random(0))
    sent: list[float] = []
    for what, kind, value in events:
        if what == "wait":
            clock.advance(value or 0.0)
            continue
        plan = state.plan(ONE_STEP, {"only": lone}, est_tokens=10)
        if not plan.candidates:
            assert [s.kind for s in plan.skipped] == ["limited"], plan.skipped
            continue
        lease = asyncio.run(state.begin(plan.candidates[0], 10))
        assert lease is not None, plan.candidates[0]
        sent.append(clock())
        if rpm is not None:
            assert sum(1 for t in sent if t > clock() - 60) <= rpm
        if what == "report0":
            state.observe(lease, RateInfo(remaining_requests=0, reset_requests_at=clock() + (value or 1)))
        if what in ("ok", "report0", "broke"):
            state.succeed(lease, 0.1)
        if what in ("fail", "broke"):
            state.fail(lease, cast(FailureKind, kind), value)
        state.end(lease, 10)
