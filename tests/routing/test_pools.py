"""Key pools: sliding windows, learned limits, headroom choice, and the never-exceed property."""

from __future__ import annotations

import asyncio
import random
import tracemalloc
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.artifact import Limits
from runtime.clock import FakeClock
from runtime.routing.ratelimit import RateInfo
from runtime.routing.state import Lease, RoutingState
from runtime.routing.windows import LearnedQuota, SlidingWindow

from .routing_helpers import assert_cache_exact, chain, key, provider, step


def test_sliding_window_counts_whole_buckets() -> None:
    """Span 60 → 1 s buckets; a unit counts until its whole bucket is more than 60 s old."""
    window = SlidingWindow(60, 3)
    for t in (0.5, 10.0, 20.0):
        window.add(t, 1)
    assert window.room(60.9) == 0
    assert window.free_at(59.9, 1) == 61.0
    assert window.free_at(59.9, 2) == 71.0
    assert window.free_at(59.9, 4) is None
    assert window.next_expiry() == 61.0
    assert window.room(61.0) == 1


def test_sliding_window_adjust_only_while_inside() -> None:
    window = SlidingWindow(60, 1000)
    early = window.add(0, 500)
    late = window.add(30, 500)
    same_bucket = window.add(30.5, 7)
    window.adjust(late, 100)
    assert window.used(30) == 607
    assert window.used(61) == 107
    window.adjust(early, 900)  # already expired: must not count again
    assert window.used(61) == 107
    window.adjust(same_bucket, 0)
    assert window.used(61) == 100


def test_day_window_memory_is_fixed_per_key() -> None:
    """Issue 9 §10: a day window at 100 req/s used to keep ~121 bytes per request for 24 h."""
    window = SlidingWindow(86400, 10**9)
    now = 0.0
    for _ in range(2000):  # warm: the first buckets exist
        window.add(now, 1)
        now += 0.01
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(50_000):  # 500 s more at 100 req/s
        window.add(now, 1)
        now += 0.01
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 4096, grown
    assert window.used(now) == 52_000


def test_learned_cap_never_raises_configured() -> None:
    window = SlidingWindow(60, 10)
    window.cap(100)
    assert window.limit == 10
    window.cap(4)
    assert window.limit == 4
    window.reconfigure(3)
    assert window.limit == 3


def test_learned_quota_without_reset_expires() -> None:
    quota = LearnedQuota()
    quota.learn(0, 10, 0, None)
    assert quota.left(59) == 0
    assert quota.left(60) is None


def test_most_headroom_key_first_even_against_turn_order() -> None:
    pool = provider("p", (key("p", "a", limits=Limits(rpm=10)), key("p", "b", limits=Limits(rpm=2))))
    state = RoutingState(FakeClock(), random.Random(0))
    for _ in range(3):
        plan = state.plan(chain(step("p")), {"p": pool}, est_tokens=1)
        assert [c.key.name for c in plan.candidates if c.key] == ["a", "b"]
        assert asyncio.run(state.begin(plan.candidates[0], 1)) is not None


def test_equal_keys_take_turns() -> None:
    pool = provider("p", (key("p", "a", limits=Limits(rpm=10)), key("p", "b", limits=Limits(rpm=10))))
    state = RoutingState(FakeClock(), random.Random(0))
    used = []
    for _ in range(4):
        lease = asyncio.run(
            state.begin(state.plan(chain(step("p")), {"p": pool}, est_tokens=1).candidates[0], 1)
        )
        assert lease is not None and lease.candidate.key is not None
        used.append(lease.candidate.key.name)
    assert used == ["a", "b", "a", "b"]


def test_groq_headers_lower_window_limits() -> None:
    pool = provider("g", (key("g", "a", limits=Limits(rpd=1000, tpm=50_000)),))
    clock = FakeClock()
    state = RoutingState(clock, random.Random(0))
    c = chain(step("g"))
    lease = asyncio.run(state.begin(state.plan(c, {"g": pool}, est_tokens=10).candidates[0], 10))
    assert lease is not None
    state.observe(
        lease, RateInfo(limit_requests=2, requests_window=86400, limit_tokens=6000, tokens_window=60)
    )
    state.end(lease, 10)
    snap = state.snapshot()["keys"]
    assert isinstance(snap, dict)
    assert snap["g#a"]["windows"] == {
        "requests/86400s": {"used": 1, "limit": 2},
        "tokens/60s": {"used": 10, "limit": 6000},
    }
    assert state.plan(c, {"g": pool}, est_tokens=6000).skipped[0].reason == "no capacity for ~6000 tokens"


def test_preflight_skips_key_without_room_for_this_request() -> None:
    small = key("p", "small", limits=Limits(tpm=6000))
    big = key("p", "big", limits=Limits(tpm=200_000))
    pool = provider("p", (small, big))
    state = RoutingState(FakeClock(), random.Random(0))
    plan = state.plan(chain(step("p")), {"p": pool}, est_tokens=80_000)
    assert [c.key for c in plan.candidates] == [big]


LIMIT_FIELDS = ("rpm", "rpd", "tpm", "tpd", "concurrency")
limits_strategy = st.builds(
    Limits,
    rpm=st.none() | st.integers(1, 6),
    rpd=st.none() | st.integers(1, 12),
    tpm=st.none() | st.integers(50, 400),
    tpd=st.none() | st.integers(100, 900),
    concurrency=st.none() | st.integers(1, 3),
)
event = st.one_of(
    st.tuples(st.just("request"), st.integers(1, 200), st.integers(0, 100)),
    st.tuples(st.just("finish"), st.integers(0, 10), st.integers(0, 100)),
    st.tuples(st.just("wait"), st.integers(0, 90), st.integers(0, 0)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(limits_strategy, min_size=1, max_size=3), st.lists(event, max_size=60))
def test_no_key_ever_exceeds_its_configured_limits(
    pool_limits: list[Limits], events: list[tuple[str, int, int]]
) -> None:
    keys = tuple(key("p", f"k{i}", limits=lim) for i, lim in enumerate(pool_limits))
    pool = provider("p", keys)
    c = chain(step("p"))
    clock = FakeClock(0.0)
    state = RoutingState(clock, random.Random(0))
    inflight: list[tuple[Lease, list[float]]] = []
    history: dict[str, list[list[float]]] = defaultdict(list)  # key → [start, tokens] with actual tokens

    def check(name: str, limits: Limits, now: float) -> None:
        log = history[name]
        for field, span, index in (
            ("rpm", 60, None),
            ("rpd", 86400, None),
            ("tpm", 60, 1),
            ("tpd", 86400, 1),
        ):
            limit = getattr(limits, field)
            if limit is not None:
                inside = [e for e in log if e[0] > now - span]
                used = len(inside) if index is None else sum(e[1] for e in inside)
                assert used <= limit, (field, used, limit)
        if limits.concurrency is not None:
            assert (
                sum(1 for lease, _ in inflight if lease.candidate.key == keys_by[name]) <= limits.concurrency
            )

    keys_by = {k.id: k for k in keys}
    for kind, a, b in events:
        assert_cache_exact(state, clock(), a)
        if kind == "wait":
            clock.advance(a)
        elif kind == "request":
            plan = state.plan(c, {"p": pool}, est_tokens=a)
            for cand in plan.candidates:
                lease = asyncio.run(state.begin(cand, a))
                if lease is not None:
                    assert cand.key is not None
                    entry = [clock(), float(a)]
                    history[cand.key.id].append(entry)
                    inflight.append((lease, entry))
                    check(cand.key.id, cand.key.limits, clock())
                    break
        elif inflight:
            lease, entry = inflight.pop(a % len(inflight))
            used = b * entry[1] // 100  # actual usage never above the estimate
            entry[1] = used
            state.end(lease, int(used))


quota_event = st.one_of(
    st.tuples(st.just("request"), st.integers(1, 200), st.integers(0, 100)),
    st.tuples(st.just("finish"), st.integers(0, 10), st.sampled_from(["ok", "server_error", "drop"])),
    st.tuples(st.just("said"), st.none() | st.integers(0, 3), st.none() | st.integers(0, 500)),
    st.tuples(st.just("wait"), st.integers(0, 90), st.just(0)),
)


@settings(max_examples=150, deadline=None)
@given(st.none() | limits_strategy, st.lists(quota_event, max_size=60))
def test_cached_verdict_stays_exact_with_learned_quotas(
    limits: Limits | None, events: list[tuple[str, int | None, object]]
) -> None:
    """A reservation on a key nothing counts leaves its cached verdict as it was: whatever the
    upstream says about its quota, between and during requests, the cache equals a fresh look."""
    pool = provider("p", (key("p", "k", limits=limits or Limits()),))
    c = chain(step("p"))
    clock = FakeClock(0.0)
    state = RoutingState(clock, random.Random(0))
    inflight: list[Lease] = []
    for kind, a, b in events:
        assert_cache_exact(state, clock(), 1)
        if kind == "wait":
            clock.advance(a or 0)
        elif kind == "request":
            for cand in state.plan(c, {"p": pool}, est_tokens=a or 1).candidates:
                lease = asyncio.run(state.begin(cand, a or 1))
                if lease is not None:
                    inflight.append(lease)
                    break
        elif kind == "said" and inflight:
            info = RateInfo(remaining_requests=a, reset_requests_at=clock() + 30, remaining_tokens=b)
            state.observe(inflight[-1], info)
        elif kind == "finish" and inflight:
            lease = inflight.pop((a or 0) % len(inflight))
            if b == "ok":
                state.succeed(lease, 0.1)
            elif b == "server_error":
                state.fail(lease, "server_error")
            state.end(lease, 10)
    assert_cache_exact(state, clock(), 1)


@pytest.mark.parametrize("field", LIMIT_FIELDS)
def test_each_limit_alone_blocks(field: str) -> None:
    limits = Limits(**{field: 1 if field in ("rpm", "rpd", "concurrency") else 10})
    pool = provider("p", (key("p", "k", limits=limits),))
    state = RoutingState(FakeClock(), random.Random(0))
    c = chain(step("p"))
    lease = asyncio.run(state.begin(state.plan(c, {"p": pool}, est_tokens=10).candidates[0], 10))
    assert lease is not None
    assert state.plan(c, {"p": pool}, est_tokens=10).candidates == ()
