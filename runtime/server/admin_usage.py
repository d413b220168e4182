"""`GET /admin/usage`: aggregates from the usage store (docs/admin-api.md).

Query parameters are checked before the store is touched; a bad one is a 400 naming it.
The store is read by a process of its own (`runtime.ops.usage.query`), waited for in a
thread: a slow query never stalls the event loop, and a store file truncated under the
reader (SIGBUS from SQLite's shared memory) ends that process, not the worker. Access and error rendering are `runtime.server.admin`'s.
"""

from __future__ import annotations

import asyncio
import time

import msgspec

from runtime.errors import BadGateway, BadRequest, NotFound
from runtime.ops.usage.query import read
from runtime.ops.usage.report import BY, DEFAULT_SPAN, UsageQuery, parse_when
from runtime.ops.usage.store import describe
from runtime.server.service import Service
from runtime.server.waterfall import Reply

PATH = "/admin/usage"
PARAMS = frozenset({"since", "until", "by", "chain", "provider"})
_encode = msgspec.json.Encoder().encode


def parse_query(params: dict[str, str], now: float) -> UsageQuery:
    """The checked query; raises `BadRequest` naming the first bad parameter."""
    by = params.get("by", "provider")
    if by not in BY:
        raise BadRequest(f"by={by!r} is not one of {', '.join(BY)}", param="by")
    when: dict[str, float] = {}
    for name, default in (("since", now - DEFAULT_SPAN), ("until", now)):
        try:
            when[name] = parse_when(params[name], now) if name in params else default
        except ValueError as exc:
            raise BadRequest(f"{name}: {exc}", param=name) from None
    if when["since"] >= when["until"]:
        raise BadRequest("since must be earlier than until", param="since")
    for name in ("chain", "provider"):
        if name in params and not params[name]:
            raise BadRequest(f"{name} is empty", param=name)
    return UsageQuery(when["since"], when["until"], by, params.get("chain"), params.get("provider"))


async def usage(svc: Service, params: dict[str, str]) -> Reply:
    query = parse_query(params, time.time())
    sink = svc.usage
    if sink is None:
        raise NotFound("the usage store is off (server.usage.store: off)")
    try:
        result = await asyncio.to_thread(read, sink.url, query)
    except Exception as exc:  # StoreError: the store or its reader failed, not the query
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadGateway(f"the usage store cannot be read: {message}") from None
    result["dropped_rows"] = sink.dropped
    result["store"] = describe(sink.url)
    return Reply(200, [("content-type", "application/json")], _encode(result))
