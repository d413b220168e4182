"""Gauges read at scrape time from the same view `/admin/state` serves (`state_view`), so
`/metrics` and the admin API never disagree: per key window used, limit and remaining;
key status and cooldown; provider breakers; Redis degraded; the served build.

Made for one scrape (a prometheus-client custom collector): nothing here runs per request.
With `server.state: redis://` the key parts are the shared state, whichever worker answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from runtime.artifact import Artifact
from runtime.ops.state_view import RelayFacts, Shared, state_view
from runtime.routing.state import RoutingState

KEY_STATUSES = (
    "ready",
    "cooling",
    "exhausted",
    "breaker_open",
    "breaker_half_open",
    "busy",
    "disabled",
    "bad_key",
)
BREAKER_VALUES = {"closed": 0.0, "half_open": 1.0, "open": 2.0}
"""`relay_breaker_state`: 0 closed, 1 half-open (a probe is in flight), 2 open."""


class StateGauges(Collector):
    __slots__ = ("artifact", "facts", "routing", "shared")

    def __init__(
        self, artifact: Artifact, routing: RoutingState, facts: RelayFacts, shared: Shared | None = None
    ) -> None:
        self.artifact = artifact
        self.routing = routing
        self.facts = facts
        self.shared = shared

    def collect(self) -> Iterator[Metric]:
        view = state_view(self.artifact, self.routing, self.facts, self.shared)
        yield from _windows(view["providers"])
        yield from _keys(view["providers"])
        breaker = GaugeMetricFamily(
            "relay_breaker_state",
            "Provider circuit breaker: 0 closed, 1 half-open, 2 open.",
            labels=["provider"],
        )
        for provider in view["providers"]:
            breaker.add_metric([provider["name"]], BREAKER_VALUES.get(provider["breaker"]["state"], 0.0))
        yield breaker
        degraded = GaugeMetricFamily(
            "relay_redis_degraded",
            "1 while the shared Redis state is unreachable and relay runs on local state.",
        )
        degraded.add_metric([], 1.0 if view["state_backend"]["degraded"] else 0.0)
        yield degraded
        info = InfoMetricFamily("relay_build", "The artifact being served.")
        info.add_metric([], {"version": self.facts.version, "source_hash": self.artifact.source_hash})
        yield info


def _windows(providers: list[dict[str, Any]]) -> Iterator[Metric]:
    labels = ["provider", "key", "window"]
    families = {
        field: GaugeMetricFamily(f"relay_key_window_{field}", f"Per key rate window: {field}.", labels=labels)
        for field in ("used", "limit", "remaining")
    }
    for provider in providers:
        for key in provider["keys"]:
            for window in key.get("windows", ()):
                for field, family in families.items():
                    family.add_metric([provider["name"], key["id"], window["name"]], float(window[field]))
    yield from families.values()


def _keys(providers: list[dict[str, Any]]) -> Iterator[Metric]:
    status = GaugeMetricFamily(
        "relay_key_status",
        "1 for the key's current status, 0 for the others.",
        labels=["provider", "key", "status"],
    )
    cooldown = GaugeMetricFamily(
        "relay_key_unavailable_seconds",
        "Seconds until the key is usable again (cooldown, exhausted window, open breaker); 0 when ready.",
        labels=["provider", "key"],
    )
    for provider in providers:
        for key in provider["keys"]:
            for name in KEY_STATUSES:
                status.add_metric([provider["name"], key["id"], name], 1.0 if key["status"] == name else 0.0)
            cooldown.add_metric([provider["name"], key["id"]], float(key["until_s"] or 0.0))
    yield status
    yield cooldown
