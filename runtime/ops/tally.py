"""Prometheus increments held in plain lists between flushes.

A prometheus-client increment in multiprocess mode takes a lock and writes the worker's
mmap file (about 3 µs); a request touches a dozen series, which would cost more than the
whole operator budget (benchmarks/ops_bench.py). Here a request only adds to a list per
series (a histogram observation picks its bucket by bisection), and `flush()` moves the
sums into the metrics once per series: every second from the worker's timer, before each
scrape, and at worker exit. A scrape therefore sees other workers' counts as of their last
flush (at most a second old), and never loses or double-counts one. Everything here runs on
the worker's event loop (the request path, its timer, the scrape), so nothing is locked.
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
Cell = list[float]
"""A series' increments since the last flush: a counter's [amount]; a histogram's [sum,
count in bucket 0, bucket 1, …] (buckets not cumulative, the +Inf bucket last)."""


def put(cells: Cell, bounds: Bounds, value: float) -> None:
    """One observation into a histogram's cells."""
    cells[0] += value
    cells[1 + bisect_left(bounds, value)] += 1


class Tally:
    """Each series' cells stay the same list across flushes (a flush zeroes them in place), so
    a caller may keep them (`counter`, `histogram`) and add to them with no lookup at all;
    `add`/`observe` find them by family and labels."""

    __slots__ = ("counters", "histograms", "zeros")

    def __init__(self) -> None:
        self.counters: dict[Series, Cell] = {}
        self.histograms: dict[Histo, Cell] = {}
        self.zeros: set[Series] = set()
        """Series given 0 by `add`: made at the next flush, as `inc(0)` would make them (a
        kept cell nothing was added to makes no series)."""

    def counter(self, series: Series) -> Cell:
        cell = self.counters.get(series)
        if cell is None:
            cell = self.counters[series] = [0.0]
        return cell

    def histogram(self, histo: Histo) -> Cell:
        cells = self.histograms.get(histo)
        if cells is None:
            cells = self.histograms[histo] = [0.0] * (len(histo[2]) + 2)
        return cells

    def add(self, family: Family, labels: Labels, amount: float = 1.0) -> None:
        self.counter((family, labels))[0] += amount
        if not amount:
            self.zeros.add((family, labels))

    def observe(self, family: Family, labels: Labels, bounds: Bounds, value: float) -> None:
        put(self.histogram((family, labels, bounds)), bounds, value)

    def flush(self) -> None:
        """Into the metrics, what changed since the last flush."""
        for (family, labels), cell in self.counters.items():
            if cell[0]:
                family(labels).inc(cell[0])
                cell[0] = 0.0
        for family, labels in self.zeros:
            family(labels)
        self.zeros.clear()
        for (family, labels, _), cells in self.histograms.items():
            if not any(cells[1:]):
                continue
            child = family(labels)
            # prometheus-client's Histogram keeps its sum and per-bucket (non-cumulative)
            # values as `_sum` and `_buckets` (the +Inf bucket last); observe() does the same.
            child._sum.inc(cells[0])
            for i, (bucket, count) in enumerate(zip(child._buckets, cells[1:], strict=True), 1):
                if count:
                    bucket.inc(count)
                    cells[i] = 0.0
            cells[0] = 0.0
