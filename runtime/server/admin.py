"""The management API under `/admin/` (docs/admin-api.md, contract v1).

`app.py` hands every `/admin/` path here before client auth, so client keys never open
admin routes and admin keys never count as client keys. Access: with `server.admin.keys`
a request needs one of them (constant-time compare); without, only loopback peers are
answered. Errors are JSON `{"error": {"type", "message", "param"?}}` whatever the caller
speaks. Routes are two dicts built once, plus the `/admin/chains/{name}` prefix.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import msgspec

from runtime.errors import BadRequest, MethodNotAllowed, NotFound, RelayError, Unauthorized
from runtime.explain import explain
from runtime.ops.events import frame
from runtime.ops.state_view import assemble, provider_parts, shared_keys
from runtime.server import admin_editor, admin_usage, lineage
from runtime.server.access import presented_key
from runtime.server.browser import require_json
from runtime.server.service import Service
from runtime.server.waterfall import Reply, Tail

PREFIX = "/admin/"
CHAINS_PREFIX = "/admin/chains/"

AdminHandler = Callable[[Service, Any], Awaitable[Reply]]

_encode = msgspec.json.Encoder().encode
_JSON = [("content-type", "application/json")]
_SSE = [("content-type", "text/event-stream"), ("cache-control", "no-cache"), ("x-accel-buffering", "no")]


def _json(data: Any, status: int = 200) -> Reply:
    return Reply(status, list(_JSON), _encode(data))


def error_reply(exc: RelayError) -> Reply:
    """The contract's error shape: the Anthropic-style type names, an OpenAI-style `param`."""
    error: dict[str, str] = {"type": exc.row.anthropic_type, "message": exc.message}
    if exc.param is not None:
        error["param"] = exc.param
    return _json({"error": error}, exc.row.anthropic_status)


def _loopback(client: str) -> bool:
    """`scope.client` is `host:port` (IPv6 hosts possibly in brackets)."""
    host = client.rsplit(":", 1)[0].strip("[]")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
"""What a reverse proxy adds for the client it relays: a loopback peer carrying one speaks for
somebody else, whom a keyless admin API must not trust (a proxy that adds none of them cannot be
told apart: docs/security.md)."""


def check_access(svc: Service, scope: Any) -> None:
    snap = svc.snapshot
    if not snap.artifact.server.admin_key_fingerprints:  # fail closed: keys named, none loaded
        if not _loopback(str(scope.client)):
            raise Unauthorized("the admin API answers only on loopback unless server.admin.keys is set")
        if any(scope.headers.get(name) for name in PROXY_HEADERS):
            raise Unauthorized(
                "the admin API does not answer through a proxy unless server.admin.keys is set"
            )
        return
    presented = presented_key(scope.headers)
    if presented is None or not snap.admin_key_ok(presented):
        raise Unauthorized(
            "invalid or missing admin key: send one of server.admin.keys as x-api-key or Bearer"
        )


def query(scope: Any, allowed: frozenset[str]) -> dict[str, str]:
    """The query's parameters, one value each; an unknown or repeated one is a 400 naming it."""
    found: dict[str, str] = {}
    for name, values in parse_qs(scope.query_string, keep_blank_values=True).items():
        if name not in allowed:
            raise BadRequest(f"unknown query parameter {name!r}", param=name)
        if len(values) != 1:
            raise BadRequest(f"query parameter {name!r} given more than once", param=name)
        found[name] = values[0]
    return found


_YIELD_EVERY = 8
"""Providers built between yields to the event loop: a few milliseconds at most."""
_CACHE_OVER_S = 0.005
_CACHE_FOR_S = 1.0


class _StateDoc(msgspec.Struct):
    body: bytes
    built: float
    changes: int
    snapshot: object


_docs: dict[int, _StateDoc] = {}
"""Per service (one per worker): the last expensive document, reused for up to a second."""


async def _state(svc: Service, scope: Any) -> Reply:
    """Built provider by provider, yielding to the event loop in between, so a large state
    (thousands of keys) never stalls requests in flight. A document that took more than
    5 ms to build is reused for up to a second unless a state change or reload happened
    since (window counts then lag by under a second; statuses never do); small states are
    always built fresh."""
    query(scope, frozenset())
    snap, now = svc.snapshot, svc.clock()
    doc = _docs.get(id(svc))
    if (
        doc is not None
        and doc.snapshot is snap
        and doc.changes == svc.changes
        and now - doc.built < _CACHE_FOR_S
    ):
        return Reply(200, list(_JSON), doc.body)
    start, changes = time.perf_counter(), svc.changes
    shared = await svc.state.backend.peek(shared_keys(snap.artifact, svc.state))
    at = svc.state.now()
    parts = []
    for i, part in enumerate(provider_parts(snap.artifact, svc.state, at, shared)):
        parts.append(part)
        if i % _YIELD_EVERY == _YIELD_EVERY - 1:
            await asyncio.sleep(0)
    view = assemble(snap.artifact, svc.state, svc.facts(), at, parts)
    hub = svc.events
    view["events"] = {"subscribers": len(hub.subscribers), "dropped": hub.dropped, "scope": "worker"}
    body = _encode(view)
    if time.perf_counter() - start > _CACHE_OVER_S:
        _docs[id(svc)] = _StateDoc(body, now, changes, snap)
    return Reply(200, list(_JSON), body)


async def _events(svc: Service, scope: Any) -> Reply:
    query(scope, frozenset())
    artifact = svc.snapshot.artifact
    hello = frame(
        "hello",
        {
            "at": time.time(),
            "version": artifact.relay_version,
            "source_hash": artifact.source_hash,
            "pid": os.getpid(),
        },
    )
    sub = await svc.subscribe()
    keepalive = svc.events.keepalive

    async def frames() -> AsyncGenerator[bytes, None]:
        while True:
            data = await sub.next(keepalive)
            if data is None:
                return
            yield data

    return Reply(200, list(_SSE), hello, Tail(frames(), lambda: svc.unsubscribe(sub)))


def reload_all(svc: Service) -> dict[str, Any]:
    """This worker reloads now and says its outcome; with several workers the main process
    gets SIGHUP, which it forwards to every worker (this one then finds nothing new)."""
    svc.reload()
    if svc.facts().workers > 1:
        lineage.signal_main(signal.SIGHUP)
    last = svc.last_reload or {}
    return {
        "outcome": last.get("outcome", "unchanged"),
        "source_hash": svc.snapshot.artifact.source_hash,
        "reloads": svc.reloads,
        "detail": last.get("detail", ""),
    }


async def _reload(svc: Service, scope: Any) -> Reply:
    query(scope, frozenset())
    return _json(reload_all(svc))


async def _explain(svc: Service, scope: Any) -> Reply:
    model = query(scope, frozenset({"model"})).get("model", "")
    if not model:
        raise BadRequest("say which model to explain: ?model=NAME", param="model")
    artifact = svc.snapshot.artifact
    found = svc.snapshot.router.match(model)
    text, ok = explain(artifact, model)
    return _json(
        {
            "model": model,
            "resolves": ok,
            "chain": None if found is None or found.kind == "direct" else found.chain.name,
            "kind": None if found is None else found.kind,
            "text": text,
        }
    )


async def _usage(svc: Service, scope: Any) -> Reply:
    return await admin_usage.usage(svc, query(scope, admin_usage.PARAMS))


async def _chain(svc: Service, scope: Any, name: str) -> Reply:
    query(scope, frozenset())
    artifact = svc.snapshot.artifact
    chain = artifact.chains.get(name)
    if chain is None:
        raise NotFound(f"no chain {name!r}; chains: {', '.join(sorted(artifact.chains))}")
    return _json(msgspec.to_builtins(chain))


GET_ROUTES: dict[str, AdminHandler] = {
    "/admin/state": _state,
    "/admin/events": _events,
    "/admin/explain": _explain,
    admin_usage.PATH: _usage,
}
"""Read-only routes."""
POST_ROUTES: dict[str, AdminHandler] = {"/admin/reload": _reload}


def route(method: str, path: str) -> AdminHandler:
    table = GET_ROUTES if method == "GET" else POST_ROUTES if method == "POST" else None
    if table is not None and path in table:
        return table[path]
    if path.startswith(CHAINS_PREFIX) and len(path) > len(CHAINS_PREFIX):
        if method != "GET":
            raise MethodNotAllowed(f"{method} is not allowed on {path}")
        name = path[len(CHAINS_PREFIX) :]
        return lambda svc, scope: _chain(svc, scope, name)
    if path in GET_ROUTES or path in POST_ROUTES:
        raise MethodNotAllowed(f"{method} is not allowed on {path}")
    raise NotFound(f"no admin route {method} {path}; see docs/admin-api.md")


async def answer(svc: Service, scope: Any, read_body: admin_editor.ReadBody) -> Reply:
    """Access, then route, then a write's content type (`runtime.server.browser`), then
    handler; every refusal in the contract's JSON. Only the editor's routes read a body
    (`read_body`, the server's limits applied)."""
    try:
        check_access(svc, scope)
        editor = admin_editor.handles(scope.path)
        handler = None if editor else route(scope.method, scope.path)
        if scope.method == "POST":
            require_json(scope.headers)
        if handler is None:
            return await admin_editor.answer(svc, scope, read_body, reload_all)
        return await handler(svc, scope)
    except RelayError as exc:
        return error_reply(exc)
