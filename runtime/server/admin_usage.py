"""`GET /admin/usage`: aggregates from the usage store (docs/admin-api.md).

Query parameters are checked before the store is touched; a bad one is a 400 naming it.
The store is read in a thread with its own connection, so a slow query never stalls the
event loop that serves requests.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from typing import Any

import msgspec

from runtime.errors import ClientFormat
from runtime.ops.usage.report import BY, DEFAULT_SPAN, UsageQuery, aggregate, parse_when
from runtime.ops.usage.store import open_store
from runtime.server.service import Service
from runtime.server.waterfall import Reply

PATH = "/admin/usage"
_JSON = [("content-type", "application/json")]
_encode = msgspec.json.Encoder().encode
_KNOWN = {"since", "until", "by", "chain", "provider"}


class BadParam(Exception):
    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def _error(status: int, kind: str, message: str, param: str | None = None) -> Reply:
    error: dict[str, Any] = {"type": kind, "message": message}
    if param is not None:
        error["param"] = param
    return Reply(status, list(_JSON), _encode({"error": error}))


def parse_query(raw: str, now: float) -> UsageQuery:
    """The query string as a `UsageQuery`; raises `BadParam` naming the first bad parameter."""
    params: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(raw, keep_blank_values=True):
        if name not in _KNOWN:
            raise BadParam(name, f"unknown parameter {name!r}; known: {', '.join(sorted(_KNOWN))}")
        if name in params:
            raise BadParam(name, f"{name} is given twice")
        params[name] = value
    by = params.get("by", "provider")
    if by not in BY:
        raise BadParam("by", f"by={by!r} is not one of {', '.join(BY)}")
    when: dict[str, float] = {}
    for name, default in (("since", now - DEFAULT_SPAN), ("until", now)):
        try:
            when[name] = parse_when(params[name], now) if name in params else default
        except ValueError as exc:
            raise BadParam(name, f"{name}: {exc}") from None
    if when["since"] >= when["until"]:
        raise BadParam("since", "since must be earlier than until")
    for name in ("chain", "provider"):
        if name in params and not params[name]:
            raise BadParam(name, f"{name} is empty")
    return UsageQuery(when["since"], when["until"], by, params.get("chain"), params.get("provider"))


def _read(url: str, query: UsageQuery) -> dict[str, Any]:
    store = open_store(url, migrate=False)
    try:
        return aggregate(store, query)
    finally:
        store.close()


async def usage(svc: Service, scope: Any, proto: Any, body: bytes, fmt: ClientFormat, rid: str) -> Reply:
    try:
        query = parse_query(scope.query_string, time.time())
    except BadParam as exc:
        return _error(400, "invalid_request_error", str(exc), exc.param)
    sink = svc.usage
    if sink is None:
        return _error(404, "not_found_error", "the usage store is off (server.usage.store: off)")
    try:
        result = await asyncio.to_thread(_read, sink.url, query)
    except Exception as exc:  # StoreError, sqlite3's or psycopg's: the store failed, not the query
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return _error(503, "api_error", f"the usage store cannot be read: {message}")
    result["dropped_rows"] = sink.dropped
    return Reply(200, list(_JSON), _encode(result))
