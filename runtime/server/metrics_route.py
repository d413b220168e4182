"""`GET /metrics`: Prometheus text exposition of every worker's counts (`runtime.ops.metrics`)
plus gauges read at scrape time. Guarded like the admin API (`admin_access`)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from runtime.errors import ClientFormat
from runtime.server.admin_access import require_admin
from runtime.server.service import Service
from runtime.server.waterfall import Reply


async def metrics(svc: Service, scope: Any, proto: Any, body: bytes, fmt: ClientFormat, rid: str) -> Reply:
    require_admin(svc.snapshot, scope)
    svc.publish_gauges()
    return Reply(200, [("content-type", CONTENT_TYPE_LATEST)], svc.metrics.expose())
