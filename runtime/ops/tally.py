"""Prometheus increments held in plain dicts between flushes.

A prometheus-client increment in multiprocess mode takes a lock and writes the worker's
mmap file (about 3 µs); a request touches a dozen series, which would cost more than the
whole operator budget (benchmarks/ops_bench.py). Here a request only adds to a dict entry
per series (a histogram observation picks its bucket by bisection), and `flush()` moves the
sums into the metrics once per series: every second from the worker's timer, before each
scrape, and at worker exit. A scrape therefore sees other workers' counts as of their last
flush (at most a second old), and never loses or double-counts one.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

Labels = tuple[str, ...]
Bounds = tuple[float, ...]


class Family:
    """A metric's labelled children, each made once (`labels()` takes a lock every call)."""

    __slots__ = ("children", "metric")

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self.children: dict[Labels, Any] = {}

    def __call__(self, labels: Labels) -> Any:
        child = self.children.get(labels)
        if child is None:
            child = self.children[labels] = self.metric.labels(*labels) if labels else self.metric
        return child


Series = tuple[Family, Labels]
"""A counter's child, as the tally keys it."""
Histo = tuple[Family, Labels, Bounds]
"""A histogram's child, with its buckets' upper bounds."""


class Tally:
    """`add`/`observe` name a series by family and labels; `count`/`measure` take the key
    itself, for a caller that keeps its keys (built once, no tuple per increment)."""

    __slots__ = ("counts", "observed")

    def __init__(self) -> None:
        self.counts: dict[Series, float] = {}
        self.observed: dict[Histo, list[float]] = {}
        """Per histogram series: [sum, count in bucket 0, bucket 1, …] (buckets not cumulative)."""

    def add(self, family: Family, labels: Labels, amount: float = 1.0) -> None:
        self.count((family, labels), amount)

    def count(self, series: Series, amount: float = 1.0) -> None:
        counts = self.counts
        counts[series] = counts.get(series, 0.0) + amount

    def observe(self, family: Family, labels: Labels, bounds: Bounds, value: float) -> None:
        self.measure((family, labels, bounds), value)

    def measure(self, histo: Histo, value: float) -> None:
        cells = self.observed.get(histo)
        if cells is None:
            cells = self.observed[histo] = [0.0] * (len(histo[2]) + 2)
        cells[0] += value
        cells[1 + bisect_left(histo[2], value)] += 1

    def flush(self) -> None:
        counts, self.counts = self.counts, {}
        for (family, labels), amount in counts.items():
            family(labels).inc(amount)
        observed, self.observed = self.observed, {}
        for (family, labels, _), cells in observed.items():
            child = family(labels)
            # prometheus-client's Histogram keeps its sum and per-bucket (non-cumulative)
            # values as `_sum` and `_buckets` (the +Inf bucket last); observe() does the same.
            child._sum.inc(cells[0])
            for bucket, count in zip(child._buckets, cells[1:], strict=True):
                if count:
                    bucket.inc(count)
