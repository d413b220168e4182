"""Prometheus counters and histograms of finished requests, fed by the ops `Feed`.

A sink here runs on the request path, so it only increments: each labelled child is looked
up once and cached (prometheus-client's own `labels()` takes a lock and rebuilds a tuple on
every call), and with `relay run` every increment is a write into this worker's mmap file
(prometheus-client's multiprocess mode, directory made and removed by `serve.py`), so a
scrape answered by any worker sums every worker's requests exactly once.

Label values are bounded by the artifact: a chain, provider or model name becomes a label
only when the served build defines it; anything else (a direct `provider/model` a client
made up) is counted under `other`, so clients cannot grow the series set.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from runtime.artifact import Artifact
from runtime.ops import METRICS_DIR_ENV
from runtime.ops.record import RequestRecord, StateEvent

OTHER = "other"
TOKEN_KINDS = ("input", "output", "cached")
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
OVERHEAD_BUCKETS = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1)
RELOAD_RESULTS = {"reload_done": "reloaded", "reload_refused": "refused"}


class Vocabulary:
    """The label values one artifact allows."""

    __slots__ = ("artifact", "chains", "models", "providers")

    def __init__(self, artifact: Artifact) -> None:
        self.artifact = artifact
        self.chains = frozenset(artifact.chains)
        self.providers = frozenset(artifact.providers)
        steps = {(s.provider, s.model) for chain in artifact.chains.values() for s in chain.steps}
        listed = {(p, m) for info in artifact.models.values() for p, m in info.providers.items()}
        self.models = frozenset(steps | listed)

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


class _Cached:
    """A metric's labelled children, each made once."""

    __slots__ = ("children", "metric")

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self.children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *labels: str) -> Any:
        child = self.children.get(labels)
        if child is None:
            child = self.children[labels] = self.metric.labels(*labels)
        return child


class RequestMetrics:
    """Feed sink: counts every finished request and state change; `expose()` renders the
    text format for `GET /metrics`, with whatever scrape-time collectors are passed in."""

    def __init__(self, artifact: Callable[[], Artifact]) -> None:
        self._artifact = artifact
        self._words = Vocabulary(artifact())
        self.registry = CollectorRegistry(auto_describe=False)
        reg = self.registry
        self.requests = _Cached(
            Counter(
                "relay_requests",
                "Finished requests by chain, answering provider, client format and HTTP status.",
                ["chain", "provider", "format", "status"],
                registry=reg,
            )
        )
        self.attempts = _Cached(
            Counter(
                "relay_attempts",
                "Upstream attempts by provider and outcome.",
                ["provider", "outcome"],
                registry=reg,
            )
        )
        self.latency = _Cached(
            Histogram(
                "relay_request_latency_seconds",
                "Whole request time, to the last byte of the answer.",
                ["chain"],
                buckets=LATENCY_BUCKETS,
                registry=reg,
            )
        )
        self.ttfb = _Cached(
            Histogram(
                "relay_time_to_first_byte_seconds",
                "Time to the first byte of a streamed answer.",
                ["chain"],
                buckets=LATENCY_BUCKETS,
                registry=reg,
            )
        )
        self.overhead = Histogram(
            "relay_overhead_seconds",
            "Time spent in relay itself until the answer's head: upstream waiting and queueing excluded.",
            buckets=OVERHEAD_BUCKETS,
            registry=reg,
        )
        self.tokens = _Cached(
            Counter(
                "relay_tokens",
                "Tokens by provider, upstream model and kind (input includes cached).",
                ["provider", "model", "kind"],
                registry=reg,
            )
        )
        self.cost = _Cached(
            Counter("relay_cost_usd", "What the answers cost, in USD.", ["chain", "provider"], registry=reg)
        )
        self.saved = _Cached(
            Counter(
                "relay_saved_usd",
                "Reference (paid service) cost minus actual cost, in USD.",
                ["chain", "provider"],
                registry=reg,
            )
        )
        self.events = _Cached(
            Counter("relay_state_events", "State changes by kind.", ["kind", "provider"], registry=reg)
        )
        self.reloads = _Cached(Counter("relay_reloads", "Reloads by result.", ["result"], registry=reg))
        self.webhooks = _Cached(
            Counter(
                "relay_webhook_deliveries",
                "Webhook deliveries by result: sent, failed (gave up after retries), dropped (queue full).",
                ["result"],
                registry=reg,
            )
        )
        self.in_flight = Gauge(
            "relay_in_flight",
            "Requests being served, all workers.",
            multiprocess_mode="livesum",
            registry=reg,
        )
        self.queue_depth = _Cached(
            Gauge(
                "relay_queue_depth",
                "Requests waiting in a chain's queue, all workers.",
                ["chain"],
                multiprocess_mode="livesum",
                registry=reg,
            )
        )

    def _vocabulary(self) -> Vocabulary:
        artifact = self._artifact()
        if artifact is not self._words.artifact:
            self._words = Vocabulary(artifact)
        return self._words

    def request(self, record: RequestRecord) -> None:
        words = self._vocabulary()
        chain = words.chain(record.chain)
        provider = words.provider(record.provider)
        self.requests(chain, provider, record.format, str(record.status)).inc()
        for attempt in record.attempts:
            self.attempts(words.provider(attempt.provider), attempt.outcome).inc()
        self.latency(chain).observe(record.latency_ms / 1000)
        if record.ttfb_ms is not None:
            self.ttfb(chain).observe(record.ttfb_ms / 1000)
        if record.overhead_ms is not None:
            self.overhead.observe(record.overhead_ms / 1000)
        if record.tokens:
            model = words.model(record.provider, record.upstream_model)
            for kind in TOKEN_KINDS:
                count = record.tokens.get(kind)
                if count:
                    self.tokens(provider, model, kind).inc(count)
        if record.cost_usd:
            self.cost(chain, provider).inc(record.cost_usd)
        if record.saved_usd:
            self.saved(chain, provider).inc(record.saved_usd)

    def state(self, event: StateEvent) -> None:
        self.events(event.kind, self._vocabulary().provider(event.provider)).inc()
        result = RELOAD_RESULTS.get(event.kind)
        if result is not None:
            self.reloads(result).inc()

    def webhook_result(self, result: str) -> None:
        self.webhooks(result).inc()

    def worker_gauges(self, in_flight: int, depths: Mapping[str, int]) -> None:
        """This worker's share of the live gauges (published on a timer and at each scrape)."""
        self.in_flight.set(in_flight)
        for chain in self._vocabulary().chains:
            self.queue_depth(chain).set(depths.get(chain, 0))

    @staticmethod
    def retire() -> None:
        """At worker exit: its live gauges stop counting (its counters stay: they happened)."""
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
