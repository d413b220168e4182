"""The tally's flush leaves a metric exactly as prometheus-client's own inc()/observe()
would have, for any sequence of increments and observations."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from runtime.ops.tally import Family, Tally, put

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


@given(
    st.lists(st.tuples(labels, values.filter(bool), st.booleans()), max_size=60),
    st.sets(st.integers(0, 60)),
)
def test_kept_cells_stay_live_across_flushes(
    ops: list[tuple[tuple[str], float, bool]], cuts: set[int]
) -> None:
    """Cells a caller keeps (as the request metrics do) are added to in place and zeroed by
    each flush; one kept but never added to makes no series."""
    direct_reg, direct_c, direct_h = _pair()
    tally_reg, tally_c, tally_h = _pair()
    tally, counter, histogram = Tally(), Family(tally_c), Family(tally_h)
    cells = {label: tally.counter((counter, label)) for label in (("a",), ("b",), ("never",))}
    buckets = {label: tally.histogram((histogram, label, BOUNDS)) for label in (("a",), ("b",), ("never",))}
    for i, (label, value, is_counter) in enumerate(ops):
        if is_counter:
            direct_c.labels(*label).inc(value)
            cells[label][0] += value
        else:
            direct_h.labels(*label).observe(value)
            put(buckets[label], BOUNDS, value)
        if i in cuts:
            tally.flush()
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
