"""`GET /metrics`: Prometheus text exposition of every worker's counts (`runtime.ops.metrics`)
plus gauges read from the routing state at scrape time. Guarded like the admin API (admin
keys, else loopback only), with its JSON error shape."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from runtime.errors import ClientFormat, RelayError
from runtime.ops.state_gauges import StateGauges
from runtime.ops.state_view import shared_keys
from runtime.server import admin
from runtime.server.service import Service
from runtime.server.waterfall import Reply


async def metrics(svc: Service, scope: Any, proto: Any, body: bytes, fmt: ClientFormat, rid: str) -> Reply:
    try:
        admin.check_access(svc, scope)
    except RelayError as exc:
        return admin.error_reply(exc)
    svc.publish_metrics()
    artifact = svc.snapshot.artifact
    shared = await svc.state.backend.peek(shared_keys(artifact, svc.state))
    live = StateGauges(artifact, svc.state, svc.facts(), shared)
    return Reply(200, [("content-type", CONTENT_TYPE_LATEST)], svc.metrics.expose([live]))
