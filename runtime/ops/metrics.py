"""Prometheus counters and histograms of finished requests, fed by the ops `Feed`.

A sink here runs on the request path, so it only adds to a `Tally` (plain lists), flushed
into the metrics every second and before each scrape. With `relay run` the metrics write
each worker's mmap file (prometheus-client's multiprocess mode, directory made and removed
by `serve.py`), so a scrape answered by any worker sums every worker's requests exactly once.

Label values are bounded by the artifact: a chain, provider or model name becomes a label
only when the served build defines it; anything else (a direct `provider/model` a client
made up) is counted under `other`, so clients cannot grow the series set.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from runtime.artifact import Artifact
from runtime.memo import remember
from runtime.ops import METRICS_DIR_ENV
from runtime.ops.record import RequestRecord, StateEvent
from runtime.ops.tally import Cell, Family, Tally, put

OTHER = "other"
TOKEN_KINDS = ("input", "output", "cache_read", "cache_write")
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
OVERHEAD_BUCKETS = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1)
RELOAD_RESULTS = {"reload_done": "reloaded", "reload_refused": "refused"}
MEMO = 1024
"""Kinds of request, attempt or token series whose tally keys are remembered, per memo and
artifact; a full memo starts over, so values no artifact bounds (an upstream's status)
cannot grow it."""

Kind = tuple[str, str | None, str, int, str, str | None]
"""What a request's series depend on: chain, provider, format, status, outcome, route."""


class Vocabulary:
    """The label values one artifact allows."""

    __slots__ = ("artifact", "chains", "models", "providers", "routes")

    def __init__(self, artifact: Artifact) -> None:
        self.artifact = artifact
        self.chains = frozenset(artifact.chains)
        self.providers = frozenset(artifact.providers)
        steps = {(s.provider, s.model) for chain in artifact.chains.values() for s in chain.steps}
        listed = {(p, m) for info in artifact.models.values() for p, m in info.providers.items()}
        self.models = frozenset(steps | listed)
        self.routes = frozenset(rule.name for rule in artifact.routes.rules)

    def route(self, name: str | None) -> str:
        if name is None:
            return ""
        return name if name in self.routes else OTHER

    def chain(self, name: str) -> str:
        return name if name in self.chains else OTHER

    def provider(self, name: str | None) -> str:
        if name is None:
            return "none"
        return name if name in self.providers else OTHER

    def model(self, provider: str | None, model: str | None) -> str:
        if model is None:
            return "none"
        return model if (provider, model) in self.models else OTHER


def outcome(record: RequestRecord) -> str:
    """What the client got, as one word: an error status is "error"; a 200 whose last attempt
    failed (a stream cut after its content began, or an error event passed on) is "broken"."""
    if record.status >= 400:
        return "error"
    if record.attempts and record.attempts[-1].outcome != "ok":
        return "broken"
    return "ok"


class _RequestSeries:
    """The cells one kind of finished request adds to."""

    __slots__ = ("cost", "latency", "requests", "saved", "ttfb")

    def __init__(self, requests: Cell, latency: Cell, ttfb: Cell, cost: Cell, saved: Cell) -> None:
        self.requests = requests
        self.latency = latency
        self.ttfb = ttfb
        self.cost = cost
        self.saved = saved


class _Keys:
    """The tally cells a record adds to, by the record's raw values, found once per artifact:
    a finished request then costs a dict lookup per kind of series and an addition in place,
    instead of label lookups, tuple builds and a lookup per series."""

    __slots__ = ("attempts", "metrics", "requests", "tokens", "words")

    def __init__(self, metrics: RequestMetrics, words: Vocabulary) -> None:
        self.metrics = metrics
        self.words = words
        self.requests: dict[Kind, _RequestSeries] = {}
        self.attempts: dict[tuple[str, str], Cell] = {}
        self.tokens: dict[tuple[str | None, str | None], tuple[tuple[str, Cell], ...]] = {}

    def request(self, kind: Kind) -> _RequestSeries:
        chain, provider, fmt, status, result, route = kind
        m, words = self.metrics, self.words
        counter, histogram = m.tally.counter, m.tally.histogram
        by_chain = (words.chain(chain),)
        spent = (by_chain[0], words.provider(provider))
        made = _RequestSeries(
            counter((m.requests, (*spent, fmt, str(status), result, words.route(route)))),
            histogram((m.latency, by_chain, LATENCY_BUCKETS)),
            histogram((m.ttfb, by_chain, LATENCY_BUCKETS)),
            counter((m.cost, spent)),
            counter((m.saved, spent)),
        )
        return remember(self.requests, kind, made, MEMO)

    def attempt(self, pair: tuple[str, str]) -> Cell:
        provider, result = pair
        labels = (self.words.provider(provider), result)
        m = self.metrics
        return remember(self.attempts, pair, m.tally.counter((m.attempts, labels)), MEMO)

    def token(self, pair: tuple[str | None, str | None]) -> tuple[tuple[str, Cell], ...]:
        provider, model = pair
        labels = (self.words.provider(provider), self.words.model(provider, model))
        m = self.metrics
        made = tuple((kind, m.tally.counter((m.tokens, (*labels, kind)))) for kind in TOKEN_KINDS)
        return remember(self.tokens, pair, made, MEMO)


class RequestMetrics:
    """Feed sink: counts every finished request and state change; `expose()` renders the
    text format for `GET /metrics`, with whatever scrape-time collectors are passed in."""

    def __init__(self, artifact: Callable[[], Artifact]) -> None:
        self._artifact = artifact
        self.tally = Tally()
        self.registry = CollectorRegistry(auto_describe=False)
        reg = self.registry
        self.requests = Family(
            Counter(
                "relay_requests",
                "Finished requests by chain, answering provider, client format, HTTP status, outcome "
                "(ok; error: an error status; broken: a 200 whose answer failed, such as a stream cut "
                "after its content began) and the routing rule that picked the chain (empty: the model name did).",
                ["chain", "provider", "format", "status", "outcome", "route"],
                registry=reg,
            )
        )
        self.attempts = Family(
            Counter(
                "relay_attempts",
                "Upstream attempts by provider and outcome.",
                ["provider", "outcome"],
                registry=reg,
            )
        )
        self.latency = Family(
            Histogram(
                "relay_request_latency_seconds",
                "Whole request time, to the last byte of the answer.",
                ["chain"],
                buckets=LATENCY_BUCKETS,
                registry=reg,
            )
        )
        self.ttfb = Family(
            Histogram(
                "relay_time_to_first_byte_seconds",
                "Time to the first byte of a streamed answer.",
                ["chain"],
                buckets=LATENCY_BUCKETS,
                registry=reg,
            )
        )
        self.overhead = Family(
            Histogram(
                "relay_overhead_seconds",
                "Time spent in relay itself until the answer's head: upstream waiting and queueing excluded.",
                buckets=OVERHEAD_BUCKETS,
                registry=reg,
            )
        )
        self.tokens = Family(
            Counter(
                "relay_tokens",
                "Tokens by provider, upstream model and kind (input includes cache reads and writes).",
                ["provider", "model", "kind"],
                registry=reg,
            )
        )
        self.cost = Family(
            Counter("relay_cost_usd", "What the answers cost, in USD.", ["chain", "provider"], registry=reg)
        )
        self.saved = Family(
            Counter(
                "relay_saved_usd",
                "Reference (paid service) cost minus actual cost, in USD.",
                ["chain", "provider"],
                registry=reg,
            )
        )
        self.events = Family(
            Counter("relay_state_events", "State changes by kind.", ["kind", "provider"], registry=reg)
        )
        self.reloads = Family(Counter("relay_reloads", "Reloads by result.", ["result"], registry=reg))
        self.webhooks = Family(
            Counter(
                "relay_webhook_deliveries",
                "Webhook deliveries by result: sent, failed (gave up after retries), dropped (queue full).",
                ["result"],
                registry=reg,
            )
        )
        self.usage_rows = Family(
            Counter(
                "relay_usage_rows",
                "Usage store rows by result: written, dropped (queue full: the store is slow or unreachable).",
                ["result"],
                registry=reg,
            )
        )
        self.usage_writer_exits = Family(
            Counter(
                "relay_usage_writer_exits",
                "Usage writer processes that ended unasked (a store file truncated under SQLite ends "
                "its writer with SIGBUS); each is restarted with backoff, its unwritten rows dropped.",
                registry=reg,
            )
        )
        self._usage_seen: dict[str, int] = {}
        self.in_flight = Gauge(
            "relay_in_flight",
            "Requests being served, all workers.",
            multiprocess_mode="livesum",
            registry=reg,
        )
        self.queue_depth = Family(
            Gauge(
                "relay_queue_depth",
                "Requests waiting in a chain's queue, all workers.",
                ["chain"],
                multiprocess_mode="livesum",
                registry=reg,
            )
        )
        self._overhead = self.tally.histogram((self.overhead, (), OVERHEAD_BUCKETS))
        self._made = _Keys(self, Vocabulary(artifact()))

    def _keys(self) -> _Keys:
        artifact = self._artifact()
        if artifact is not self._made.words.artifact:
            self._made = _Keys(self, Vocabulary(artifact))
        return self._made

    def _vocabulary(self) -> Vocabulary:
        return self._keys().words

    def request(self, record: RequestRecord) -> None:
        keys = self._keys()
        kind = (record.chain, record.provider, record.format, record.status, outcome(record), record.route)
        series = keys.requests.get(kind) or keys.request(kind)
        series.requests[0] += 1
        for attempt in record.attempts:
            pair = (attempt.provider, attempt.outcome)
            (keys.attempts.get(pair) or keys.attempt(pair))[0] += 1
        put(series.latency, LATENCY_BUCKETS, record.latency_ms / 1000)
        if record.ttfb_ms is not None:
            put(series.ttfb, LATENCY_BUCKETS, record.ttfb_ms / 1000)
        if record.overhead_ms is not None:
            put(self._overhead, OVERHEAD_BUCKETS, record.overhead_ms / 1000)
        tokens = record.tokens
        if tokens:
            model = (record.provider, record.upstream_model)
            for name, cell in keys.tokens.get(model) or keys.token(model):
                count = tokens.get(name)
                if count:
                    cell[0] += count
        if record.cost_usd:
            series.cost[0] += record.cost_usd
        if record.saved_usd:
            series.saved[0] += record.saved_usd

    def state(self, event: StateEvent) -> None:
        self.tally.add(self.events, (event.kind, self._vocabulary().provider(event.provider)))
        result = RELOAD_RESULTS.get(event.kind)
        if result is not None:
            self.tally.add(self.reloads, (result,))

    def webhook_result(self, result: str) -> None:
        self.tally.add(self.webhooks, (result,))

    def publish(self, in_flight: int, depths: Mapping[str, int], usage_rows: Mapping[str, int] = {}) -> None:
        """Flush this worker's tally and set its share of the live gauges (every second
        from the worker's timer, and before each scrape). `usage_rows`: the usage sink's
        running totals (`written`, `dropped`, `writer_exits`), counted here by their growth."""
        for result, total in usage_rows.items():
            grown = total - self._usage_seen.get(result, 0)
            if grown > 0:
                if result == "writer_exits":
                    self.tally.add(self.usage_writer_exits, (), grown)
                else:
                    self.tally.add(self.usage_rows, (result,), grown)
                self._usage_seen[result] = total
        self.tally.flush()
        self.in_flight.set(in_flight)
        for chain in self._vocabulary().chains:
            self.queue_depth((chain,)).set(depths.get(chain, 0))

    def retire(self) -> None:
        """At worker exit: the last counts are flushed (they stay: they happened) and the
        worker's live gauges stop counting."""
        self.tally.flush()
        if os.environ.get(METRICS_DIR_ENV):
            mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    def expose(self, live: Sequence[Collector] = ()) -> bytes:
        """The text exposition: every worker's counts (multiprocess mode) or this process's."""
        if os.environ.get(METRICS_DIR_ENV):
            registry = CollectorRegistry(auto_describe=False)
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        else:
            registry = self.registry
        text = generate_latest(registry)
        if not live:
            return text
        extra = CollectorRegistry(auto_describe=False)
        for collector in live:
            extra.register(collector)
        return text + generate_latest(extra)
