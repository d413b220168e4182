"""The RSGI application Granian runs in each worker (RSGI over ASGI: see README, "Server").

Routes are a dict built once; a request costs one lookup to find its handler. Every error
relay answers is rendered in the caller's own format: Anthropic-style under
`/v1/messages`, OpenAI-style under `/v1/chat/completions`, and for other paths whichever
the caller's headers say it speaks.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from runtime.errors import (
    ClientFormat,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RelayError,
    Unauthorized,
    error_body,
    error_headers,
    status_of,
)
from runtime.exchange import MODELS_PREFIX, count_tokens, generate, list_models, retrieve_model
from runtime.incoming import new_request_id
from runtime.loader import ROOT_ENV
from runtime.proxy import Reply, relay_error_for
from runtime.service import Service

POLL_ENV = "RELAY_RELOAD_POLL"
"""Seconds between checks of the manifest for a new build; 0 reloads on SIGHUP only."""

Handler = Callable[[Service, Any, Any, bytes, ClientFormat, str], Awaitable[Reply]]


def _client_format(path: str, headers: Any) -> ClientFormat:
    if path.startswith("/v1/messages"):
        return "anthropic"
    if path.startswith("/v1/chat/"):
        return "openai"
    return "anthropic" if "anthropic-version" in headers else "openai"


def _presented_key(headers: Any) -> str | None:
    key = headers.get("x-api-key")
    if key:
        return str(key)
    auth = headers.get("authorization") or ""
    if auth[:7].lower() == "bearer ":
        return str(auth[7:].strip())
    return None


async def _health(svc: Service, scope: Any, proto: Any, body: bytes, fmt: ClientFormat, rid: str) -> Reply:
    return Reply(200, [("content-type", "application/json")], b'{"status":"ok"}')


async def _ready(svc: Service, scope: Any, proto: Any, body: bytes, fmt: ClientFormat, rid: str) -> Reply:
    art = svc.snapshot.artifact
    text = f'{{"status":"ready","source_hash":"{art.source_hash}","reloads":{svc.reloads}}}'
    return Reply(200, [("content-type", "application/json")], text.encode())


POST_ROUTES: dict[str, Handler] = {
    "/v1/messages": generate,
    "/v1/chat/completions": generate,
    "/v1/messages/count_tokens": count_tokens,
}
GET_ROUTES: dict[str, Handler] = {"/health": _health, "/ready": _ready, "/v1/models": list_models}
OPEN_PATHS = frozenset({"/health", "/ready"})


class RelayApp:
    """Granian calls `__rsgi_init__` once per worker, then `__rsgi__` per request."""

    def __init__(self) -> None:
        self.service: Service | None = None
        self._watcher: asyncio.Task[None] | None = None

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.service = Service(Path(os.environ.get(ROOT_ENV, "generated")))
        self.service.start(loop)
        loop.add_signal_handler(signal.SIGHUP, self._reload_now)
        interval = float(os.environ.get(POLL_ENV, "0.5") or 0)
        if interval > 0:
            self._watcher = loop.create_task(self._watch(interval))

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        if self.service is not None:
            loop.run_until_complete(self.service.aclose())

    def _reload_now(self) -> None:
        if self.service is not None:
            self.service.reload()

    async def _watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            svc = self.service
            if svc is not None and svc.changed_on_disk():
                svc.reload()

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if scope.proto != "http":
            return
        svc = self.service
        assert svc is not None, "__rsgi_init__ runs before any request"
        method, path = scope.method, scope.path
        if method == "HEAD":
            proto.response_empty(200, [])
            return
        fmt = _client_format(path, scope.headers)
        rid = new_request_id()
        task = asyncio.ensure_future(self._serve(svc, scope, proto, fmt, rid))
        gone = asyncio.ensure_future(proto.client_disconnect())
        try:
            await asyncio.wait((task, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not task.done():
                # The client went away: cancelling closes the upstream request too.
                task.cancel()
                await asyncio.wait((task,))

    async def _serve(self, svc: Service, scope: Any, proto: Any, fmt: ClientFormat, rid: str) -> None:
        method, path, headers = scope.method, scope.path, scope.headers
        try:
            handler = self._route(method, path)
            if path not in OPEN_PATHS:
                self._authorize(svc, headers)
            limit = svc.snapshot.artifact.server.max_body_bytes
            body = await _read_body(proto, headers, limit) if method == "POST" else b""
            reply = await handler(svc, scope, proto, body, fmt, rid)
        except RelayError as exc:
            reply = _error_reply(exc, fmt, rid)
        except Exception as exc:  # last resort: a message in the client's format, never a traceback
            svc.log.error("unhandled error", request_id=rid, error=type(exc).__name__, detail=str(exc)[:300])
            reply = _error_reply(relay_error_for(exc), fmt, rid)
        await _send(proto, reply, rid, fmt)

    @staticmethod
    def _route(method: str, path: str) -> Handler:
        table = POST_ROUTES if method == "POST" else GET_ROUTES if method == "GET" else None
        if table is not None and path in table:
            return table[path]
        if path.startswith(MODELS_PREFIX) and len(path) > len(MODELS_PREFIX):
            if method == "GET":
                return retrieve_model
            raise MethodNotAllowed(f"{method} is not allowed on {path}")
        if path in POST_ROUTES or path in GET_ROUTES:
            raise MethodNotAllowed(f"{method} is not allowed on {path}")
        raise NotFound(
            f"no route {method} {path}; relay serves /v1/messages, /v1/chat/completions, /v1/models"
        )

    @staticmethod
    def _authorize(svc: Service, headers: Any) -> None:
        snap = svc.snapshot
        if not snap.artifact.server.auth_required:
            return
        presented = _presented_key(headers)
        if presented is None or not snap.client_key_ok(presented):
            raise Unauthorized(
                "invalid or missing API key: send one of relay's client keys as x-api-key or Bearer"
            )


async def _read_body(proto: Any, headers: Any, limit: int) -> bytes:
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body of {declared} bytes exceeds the {limit}-byte limit")
    parts: list[bytes] = []
    size = 0
    async for chunk in proto:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds the {limit}-byte limit")
        parts.append(chunk)
    return b"".join(parts)


def _error_reply(exc: RelayError, fmt: ClientFormat, rid: str) -> Reply:
    return Reply(status_of(exc, fmt), error_headers(exc), error_body(exc, fmt, rid))


async def _send(proto: Any, reply: Reply, rid: str, fmt: ClientFormat) -> None:
    headers = [*reply.headers, ("request-id", rid)]
    if fmt == "openai":
        headers.append(("x-request-id", rid))
    if reply.rest is None:
        proto.response_bytes(reply.status, headers, reply.body)
        return
    rest = reply.rest
    try:
        transport = proto.response_stream(reply.status, headers)
        await transport.send_bytes(reply.body)
        async for part in rest:
            await transport.send_bytes(part)
    except (OSError, RuntimeError):  # the client went away mid-stream: stop pulling
        pass
    finally:
        await rest.aclose()


app = RelayApp()
