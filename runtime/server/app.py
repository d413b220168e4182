"""The RSGI application Granian runs in each worker (RSGI over ASGI: see docs/performance.md).

Routes are a dict built once; a request costs one lookup to find its handler. Every error
relay answers is rendered in the caller's own format: Anthropic-style under
`/v1/messages`, OpenAI-style under `/v1/chat/completions`, and for other paths whichever
the caller's headers say it speaks. Order per request: what a browser page may ask
(`runtime.server.browser`: Host, Origin; CORS preflights answered), the key
(`runtime.server.access`), then the route, then a POST's JSON content type and its body
(`runtime.server.body`: size, time, memory budget, gzip), then the handler; all of it, and a
stream's tail, inside the shutdown deadline (`runtime.server.drain`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from runtime.errors import (
    ClientFormat,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    Overloaded,
    RelayError,
    error_body,
    error_headers,
    status_of,
    stream_error_event,
)
from runtime.ops.events import BUFFER, KEEPALIVE, EventHub
from runtime.server import admin, gc_policy, lineage, memory
from runtime.server.access import ADMIN_PATHS, authorized, require_key
from runtime.server.body import read_body
from runtime.server.body_budget import BodyBudget, Hold
from runtime.server.browser import Headers, is_preflight, require_json
from runtime.server.drain import Drain, draining_line, hook_worker_signals, stopping_line
from runtime.server.exchange import MODELS_PREFIX, count_tokens, generate, list_models, retrieve_model
from runtime.server.incoming import new_request_id
from runtime.server.lineage import ROOT_ENV
from runtime.server.loader import Snapshot
from runtime.server.metrics_route import metrics
from runtime.server.responses import compact, responses
from runtime.server.service import Service
from runtime.server.ui import is_ui, serve_ui
from runtime.server.waterfall import Reply, relay_error_for

POLL_ENV = "RELAY_RELOAD_POLL"
"""Seconds between checks of the manifest for a new build; 0 reloads on SIGHUP only."""
EVENTS_KEEPALIVE_ENV = "RELAY_EVENTS_KEEPALIVE"
"""Seconds of silence before `/admin/events` sends a keep-alive comment (tests shorten it)."""
EVENTS_BUFFER_ENV = "RELAY_EVENTS_BUFFER"
"""Frames an `/admin/events` subscriber may fall behind by before it is dropped."""

Handler = Callable[[Service, Any, Any, bytes, ClientFormat, str], Awaitable[Reply]]
_JSON = [("content-type", "application/json")]


def _client_format(path: str, headers: Any) -> ClientFormat:
    if path.startswith("/v1/messages"):
        return "anthropic"
    if path.startswith("/v1/chat/"):
        return "openai"
    return "anthropic" if "anthropic-version" in headers else "openai"


async def _health(svc: Service, scope: Any, proto: Any, body: bytes, fmt: ClientFormat, rid: str) -> Reply:
    return Reply(200, list(_JSON), b'{"status":"ok"}')


async def _ready(svc: Service, scope: Any, proto: Any, body: bytes, fmt: ClientFormat, rid: str) -> Reply:
    snap = svc.snapshot
    if not authorized(snap, scope.headers):
        return Reply(200, list(_JSON), b'{"status":"ready"}')
    text = f'{{"status":"ready","source_hash":"{snap.artifact.source_hash}","reloads":{svc.reloads}}}'
    return Reply(200, list(_JSON), text.encode())


POST_ROUTES: dict[str, Handler] = {
    "/v1/messages": generate,
    "/v1/chat/completions": generate,
    "/v1/responses": responses,
    "/v1/responses/compact": compact,
    "/v1/messages/count_tokens": count_tokens,
}
GET_ROUTES: dict[str, Handler] = {
    "/health": _health,
    "/ready": _ready,
    "/v1/models": list_models,
    "/metrics": metrics,
}
METRICS_INTERVAL = 1.0
"""Seconds between flushes of a worker's metrics tally and live gauges (in flight, queues)."""


def _route(method: str, path: str) -> Handler:
    table = POST_ROUTES if method == "POST" else GET_ROUTES if method == "GET" else None
    if table is not None and path in table:
        return table[path]
    if is_ui(path):
        if method == "GET":
            return serve_ui
        raise MethodNotAllowed(f"{method} is not allowed on {path}; the dashboard's files are read-only")
    if path.startswith(MODELS_PREFIX) and len(path) > len(MODELS_PREFIX):
        if method == "GET":
            return retrieve_model
        raise MethodNotAllowed(f"{method} is not allowed on {path}")
    if path in POST_ROUTES or path in GET_ROUTES:
        raise MethodNotAllowed(f"{method} is not allowed on {path}")
    raise NotFound(
        f"no route {method} {path}; relay serves /v1/messages, /v1/chat/completions, /v1/responses, /v1/models"
    )


def _head_status(svc: Service, scope: Any, path: str, headers: Any) -> int:
    """`HEAD /` is 200 for anyone (Claude Code's probe); any other path answers what GET
    would, without a body."""
    if path == "/":
        return 200
    try:
        if path.startswith(admin.PREFIX):
            admin.check_access(svc, scope)
            admin.route("GET", path)
            return 200
        if path in ADMIN_PATHS:
            admin.check_access(svc, scope)
        require_key(svc.snapshot, path, headers)
        _route("GET", path)
    except RelayError as exc:
        return status_of(exc, "openai")
    return 200


class RelayApp:
    """Granian calls `__rsgi_init__` once per worker, then `__rsgi__` per request."""

    def __init__(self) -> None:
        self.service: Service | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._gauges: asyncio.Task[None] | None = None
        self.drain = Drain()
        self._interrupts = 0
        self.budget = BodyBudget(0, on_idle=memory.trim_after)

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        lineage.die_with_main()
        memory.pin_mmap_threshold()
        events = EventHub(
            buffer=int(os.environ.get(EVENTS_BUFFER_ENV) or BUFFER),
            keepalive=float(os.environ.get(EVENTS_KEEPALIVE_ENV) or KEEPALIVE),
        )
        self.service = Service(Path(os.environ.get(ROOT_ENV, "generated")), events=events)
        self.service.on_swap = self._swapped
        self.service.start(loop)
        self.service.in_flight = lambda: self.drain.in_flight
        self._gauges = loop.create_task(self._publish_metrics())
        self.budget.set_limit(self.service.snapshot.artifact.server.max_body_memory)
        loop.add_signal_handler(signal.SIGHUP, self._reload_now)
        interval = float(os.environ.get(POLL_ENV, "0.5") or 0)
        if interval > 0:
            self._watcher = loop.create_task(self._watch(interval))
        gc_policy.settle()  # last: everything made so far lives as long as the worker
        memory.trim()  # what importing, loading and that collection freed: this worker's idle size

    def _swapped(self, snap: Snapshot) -> None:
        self.budget.set_limit(snap.artifact.server.max_body_memory)
        gc_policy.settle()

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        for task in (self._watcher, self._gauges):
            if task is not None:
                task.cancel()
        if self.service is not None:
            self.service.metrics.retire()
            loop.run_until_complete(self.service.aclose())
            self.service.log.info("worker stopped", log_lines_dropped=self.service.log.dropped)
            self.service.log.close()

    def stop(self, signum: int) -> None:
        """SIGTERM/SIGINT reached this worker (Granian stops accepting right after). A second
        SIGINT (Ctrl-C again; the SIGTERM Granian's main process sends on the first one does
        not count) ends every open request and stream now, each with its error."""
        svc = self.service
        if svc is None:
            return
        streams, requests = self.drain.streams, self.drain.in_flight - self.drain.streams
        if self.drain.started:
            self._interrupts += signum == signal.SIGINT
            if signum == signal.SIGINT and self._interrupts > 1 and not self.drain.expired():
                svc.log.info("shutting down now", in_flight=self.drain.in_flight)
                print(stopping_line(streams, requests), file=sys.stderr, flush=True)
                self.drain.now()
            return
        self._interrupts = int(signum == signal.SIGINT)
        seconds = svc.snapshot.artifact.server.drain
        svc.log.info("shutting down: draining requests", in_flight=self.drain.in_flight, drain_s=seconds)
        print(draining_line(streams, requests, seconds), file=sys.stderr, flush=True)
        svc.events.close()  # admin event streams end now rather than at the drain deadline
        self.drain.begin(seconds)

    def _reload_now(self) -> None:
        if self.service is not None:
            self.service.reload()

    async def _publish_metrics(self) -> None:
        while True:
            await asyncio.sleep(METRICS_INTERVAL)
            if self.service is not None:
                self.service.publish_metrics()

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
        method, path, headers = scope.method, scope.path, scope.headers
        guard = svc.snapshot.guard
        try:
            cors = guard.screen(headers, path)
        except Forbidden as exc:
            _refuse(svc, proto, scope, exc)
            return
        if method == "HEAD":
            proto.response_empty(_head_status(svc, scope, path, headers), [])
            return
        if cors and is_preflight(method, headers):
            proto.response_empty(204, guard.preflight(headers, cors))
            return
        fmt = _client_format(path, headers)
        rid = new_request_id()
        task = asyncio.current_task()
        assert task is not None, "Granian runs each request in an asyncio Task of its own (TaskImpl.asyncio)"
        gone = proto.client_disconnect()
        watch = _Watch(task)
        gone.add_done_callback(watch)
        try:
            await self._serve(svc, scope, proto, fmt, rid, cors)
        except asyncio.CancelledError:
            if not watch.fired or task.uncancel():
                raise  # this request was cancelled by something other than its client leaving
        finally:
            watch.task = None
            gone.remove_done_callback(watch)
            gone.cancel()

    async def _serve(
        self, svc: Service, scope: Any, proto: Any, fmt: ClientFormat, rid: str, cors: Headers
    ) -> None:
        hold = Hold(self.budget)
        try:
            reply = await self._answer(svc, scope, proto, fmt, rid, hold)
            try:
                await self._send(svc, proto, reply, rid, fmt, cors)
            finally:
                if reply.after is not None:
                    self._after(svc, reply.after, rid)
        finally:
            hold.release()

    @staticmethod
    def _after(svc: Service, after: Callable[[], None], rid: str) -> None:
        """What a reply left for after it was sent; an error there is logged, the client
        already has its answer."""
        try:
            after()
        except Exception as exc:
            _log_unhandled(svc, exc, rid)

    async def _answer(
        self, svc: Service, scope: Any, proto: Any, fmt: ClientFormat, rid: str, hold: Hold
    ) -> Reply:
        method, path, headers = scope.method, scope.path, scope.headers
        try:
            with self.drain.scope():
                if path.startswith(admin.PREFIX):  # admin keys, not client keys (runtime.server.admin)
                    limits = svc.snapshot.artifact.server
                    return await admin.answer(svc, scope, lambda: read_body(proto, headers, limits, hold))
                require_key(svc.snapshot, path, headers)
                handler = _route(method, path)
                body = b""
                if method == "POST":
                    require_json(headers)
                    body = await read_body(proto, headers, svc.snapshot.artifact.server, hold)
                return await handler(svc, scope, proto, body, fmt, rid)
        except RelayError as exc:
            return _error_reply(exc, fmt, rid)
        except TimeoutError as exc:
            if not self.drain.expired():
                return self._unhandled(svc, exc, fmt, rid)
            svc.log.warning("request cut at shutdown", id=rid, path=path)
            return _error_reply(_shutting_down("no answer came"), fmt, rid)
        except Exception as exc:
            return self._unhandled(svc, exc, fmt, rid)

    @staticmethod
    def _unhandled(svc: Service, exc: Exception, fmt: ClientFormat, rid: str) -> Reply:
        """Last resort: a message in the client's format, never a traceback."""
        _log_unhandled(svc, exc, rid)
        return _error_reply(relay_error_for(exc), fmt, rid)

    async def _send(
        self, svc: Service, proto: Any, reply: Reply, rid: str, fmt: ClientFormat, cors: Headers
    ) -> None:
        headers = [*reply.headers, ("request-id", rid), *cors]
        if fmt == "openai":
            headers.append(("x-request-id", rid))
        if self.drain.started:
            headers.append(("connection", "close"))
        if reply.rest is None:
            proto.response_bytes(reply.status, headers, reply.body)
            return
        rest = reply.rest
        try:
            transport = proto.response_stream(reply.status, headers)
            await transport.send_bytes(reply.body)
            with self.drain.scope(stream=True):
                async for part in rest:
                    await transport.send_bytes(part)
        except TimeoutError:
            if not self.drain.expired():
                raise
            svc.log.warning("stream cut at shutdown", id=rid)
            err = _shutting_down("the stream was cut")
            frame = rest.fail(err)
            await transport.send_bytes(stream_error_event(err, fmt) if frame is None else frame)
        except (OSError, RuntimeError):  # the client went away mid-stream: stop pulling
            pass
        finally:
            await rest.aclose()


class _Watch:
    """The client went away: cancel the request's task, which closes the upstream request
    too. The request runs in Granian's own task, watched by a callback on the disconnect
    future, rather than in a task of its own awaited beside it (`asyncio.wait`, or a second
    task and its wake-up: 13 and 4 µs per request); `fired` tells this cancellation from
    any other (`Task.uncancel` says whether another is pending as well)."""

    __slots__ = ("fired", "task")

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task: asyncio.Task[Any] | None = task
        self.fired = False

    def __call__(self, _: object) -> None:
        if self.task is not None:  # None: the request had ended when the callback ran
            self.fired = True
            self.task.cancel()


def _shutting_down(what: str) -> Overloaded:
    return Overloaded(
        f"relay is shutting down and {what} before its drain deadline (server.drain); retry",
        retry_after=1.0,
    )


def _refuse(svc: Service, proto: Any, scope: Any, exc: Forbidden) -> None:
    """A request a page elsewhere must not make: 403 before routing, in the caller's format
    (the admin API's own JSON under /admin/), and a log line saying why."""
    method, path = scope.method, scope.path
    svc.log.warning("refused a browser request", method=method, path=path[:200], reason=exc.message)
    if method == "HEAD":
        proto.response_empty(403, [])
        return
    if path.startswith(admin.PREFIX):
        reply = admin.error_reply(exc)
    else:
        reply = _error_reply(exc, _client_format(path, scope.headers), new_request_id())
    proto.response_bytes(reply.status, reply.headers, reply.body)


def _log_unhandled(svc: Service, exc: Exception, rid: str) -> None:
    detail = svc.snapshot.redactor.text(str(exc)[:300])
    svc.log.error("unhandled error", request_id=rid, error=type(exc).__name__, detail=detail)


def _error_reply(exc: RelayError, fmt: ClientFormat, rid: str) -> Reply:
    return Reply(status_of(exc, fmt), error_headers(exc), error_body(exc, fmt, rid))


app = RelayApp()
hook_worker_signals(app.stop)
