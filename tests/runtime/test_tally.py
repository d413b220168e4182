"""The tally's flush leaves a metric exactly as prometheus-client's own inc()/observe()
would have, for any sequence of increments and observations."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from runtime.ops.tally import Family, Tally

BOUNDS = (0.125, 0.5, 1.0, 4.0, 16.0)
values = st.integers(0, 200).map(lambda n: n / 8)
"""Multiples of 1/8, bounds among them: sums are exact whatever the grouping, so the test
compares counts and bucket choice, not float rounding."""
labels = st.sampled_from([("a",), ("b",)])


def _pair() -> tuple[CollectorRegistry, Counter, Histogram]:
    reg = CollectorRegistry()
    return (
        reg,
        Counter("c", "c", ["x"], registry=reg),
        Histogram("h", "h", ["x"], buckets=BOUNDS, registry=reg),
    )


@given(st.lists(st.tuples(labels, values, st.booleans()), max_size=60), st.integers(0, 60))
def test_flushing_a_tally_equals_direct_updates(ops: list[tuple[tuple[str], float, bool]], cut: int) -> None:
    direct_reg, direct_c, direct_h = _pair()
    tally_reg, tally_c, tally_h = _pair()
    tally, counter, histogram = Tally(), Family(tally_c), Family(tally_h)
    for i, (label, value, is_counter) in enumerate(ops):
        if is_counter:
            direct_c.labels(*label).inc(value)
            tally.add(counter, label, value)
        else:
            direct_h.labels(*label).observe(value)
            tally.observe(histogram, label, BOUNDS, value)
        if i == cut:
            tally.flush()  # flushing midway changes nothing
    tally.flush()
    assert _samples(tally_reg) == _samples(direct_reg)


def _samples(reg: CollectorRegistry) -> list[str]:
    return sorted(line for line in generate_latest(reg).decode().splitlines() if "_created" not in line)


def test_nothing_reaches_the_metric_before_a_flush() -> None:
    reg, c, _ = _pair()
    tally = Tally()
    tally.add(Family(c), ("a",), 3)
    assert 'c_total{x="a"}' not in generate_latest(reg).decode()
    tally.flush()
    assert 'c_total{x="a"} 3.0' in generate_latest(reg).decode()
