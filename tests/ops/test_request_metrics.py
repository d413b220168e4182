"""What a finished request adds to the metrics: the keys `RequestMetrics` remembers per kind
of request give exactly the exposition of labelling each record afresh and updating
prometheus-client directly, across a reload that changes the label vocabulary and past the
point where a memo starts over."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.artifact import Artifact, Routes, Rule
from runtime.ops import METRICS_DIR_ENV, metrics
from runtime.ops.metrics import TOKEN_KINDS, RequestMetrics, Vocabulary, outcome
from runtime.ops.record import AttemptRecord, RequestRecord
from tests.ops import usage_rows
from tests.routing.routing_helpers import artifact, chain, provider, step

FIRST = artifact(
    provider("a"),
    provider("b"),
    chains=(chain(step("a", "m1"), step("b", "m2"), name="c1"), chain(step("b", "m3"), name="c2")),
)
SECOND = Artifact(  # a reload: c2 and b gone, a rule added
    **{
        **{f: getattr(FIRST, f) for f in FIRST.__struct_fields__},
        "providers": {"a": FIRST.providers["a"]},
        "chains": {"c1": FIRST.chains["c1"]},
        "routes": Routes(exact={}, rules=(Rule(name="r1", chain="c1"),)),
    }
)

names = st.sampled_from
seconds_ms = st.integers(0, 3200).map(lambda n: n * 125.0)
"""Milliseconds that are whole eighths of a second (overheads: 1024ths): sums are exact in any
grouping, so both sides agree to the last digit whenever the tally flushes."""
money = st.sampled_from([0.0, 0.25, 1.5])
attempts = st.builds(
    AttemptRecord,
    provider=names(["a", "b", "x"]),
    model=names(["m1", "m2"]),
    outcome=names(["ok", "error", "timeout"]),
)
records = st.builds(
    RequestRecord,
    at=st.just(0.0),
    id=st.just("req"),
    chain=names(["c1", "c2", "zz", ""]),
    format=names(["anthropic", "openai", "responses"]),
    model=st.just("m"),
    provider=names([None, "a", "b", "x"]),
    upstream_model=names([None, "m1", "m2", "m3", "mx"]),
    key=st.none(),
    status=names([200, 400, 429, 500, 503]),
    stream=st.booleans(),
    attempts=st.lists(attempts, max_size=3),
    skipped=st.just([]),
    latency_ms=seconds_ms,
    ttfb_ms=st.none() | seconds_ms,
    queued_ms=st.none(),
    tokens=st.none() | st.dictionaries(names([*TOKEN_KINDS, "cached", "total"]), st.integers(0, 5000)),
    overhead_ms=st.none() | st.integers(0, 120).map(lambda n: n * 125 / 128),
    cost_usd=money,
    saved_usd=money,
    route=names([None, "r1", "rx"]),
)


def _direct(m: RequestMetrics, words: Vocabulary, r: RequestRecord) -> None:
    """Each record labelled afresh, straight into prometheus-client."""
    chain_, provider_ = words.chain(r.chain), words.provider(r.provider)
    m.requests.metric.labels(
        chain_, provider_, r.format, str(r.status), outcome(r), words.route(r.route)
    ).inc()
    for a in r.attempts:
        m.attempts.metric.labels(words.provider(a.provider), a.outcome).inc()
    m.latency.metric.labels(chain_).observe(r.latency_ms / 1000)
    if r.ttfb_ms is not None:
        m.ttfb.metric.labels(chain_).observe(r.ttfb_ms / 1000)
    if r.overhead_ms is not None:
        m.overhead.metric.observe(r.overhead_ms / 1000)
    for kind in TOKEN_KINDS:
        if r.tokens and r.tokens.get(kind):
            model = words.model(r.provider, r.upstream_model)
            m.tokens.metric.labels(provider_, model, kind).inc(r.tokens[kind])
    if r.cost_usd:
        m.cost.metric.labels(chain_, provider_).inc(r.cost_usd)
    if r.saved_usd:
        m.saved.metric.labels(chain_, provider_).inc(r.saved_usd)


def _exposition(m: RequestMetrics) -> list[str]:
    return sorted(line for line in m.expose().decode().splitlines() if "_created" not in line)


@pytest.fixture(autouse=True)
def _one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(METRICS_DIR_ENV, raising=False)  # this registry, not mmap files


@given(st.lists(records, max_size=40), st.lists(records, max_size=20))
def test_remembered_keys_give_the_exposition_of_fresh_labels(
    before: list[RequestRecord], after: list[RequestRecord]
) -> None:
    served = [FIRST]
    tallied, direct = RequestMetrics(lambda: served[0]), RequestMetrics(lambda: served[0])
    for batch, served[0] in ((before, FIRST), (after, SECOND)):
        words = Vocabulary(served[0])
        for record in batch:
            tallied.request(record)
            _direct(direct, words, record)
        for m in (tallied, direct):
            m.publish(0, {})  # as the worker's timer does, between a reload's two sides
    assert _exposition(tallied) == _exposition(direct)


def test_a_memo_starts_over_when_full_and_counts_stay_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "MEMO", 8)
    tallied, direct = RequestMetrics(lambda: FIRST), RequestMetrics(lambda: FIRST)
    words = Vocabulary(FIRST)
    for i in range(60):
        record = usage_rows.record(0.0, provider="a", chain="c1", status=200 + i % 20)  # 20 kinds
        tallied.request(record)
        _direct(direct, words, record)
        assert len(tallied._keys().requests) <= 8
    for m in (tallied, direct):
        m.publish(0, {})
    assert _exposition(tallied) == _exposition(direct)
    assert (
        'relay_requests_total{chain="c1",format="openai",outcome="ok",provider="a",route="",status="205"} 3.0'
        in (tallied.expose().decode())
    )
