"""The waterfall: execute a plan, one candidate at a time, until one answers.

The plan (which candidates, in which order, which were skipped and why) is decided by
`RoutingState.plan`, a pure policy; this module is the thin async loop around it. A
candidate that fails before the first byte reaches the client is recorded and the next
one is tried, invisibly to the client; after the first byte, failures become an error
event that ends the stream (never a hang, never a silent truncation).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field

import msgspec

from runtime import bridge
from runtime.bridge import StreamAdapter
from runtime.cooldown import FailureKind
from runtime.errors import BadGateway, BadRequest, ClientFormat, GatewayTimeout, RelayError
from runtime.failure import all_failed
from runtime.incoming import Incoming
from runtime.loader import Snapshot
from runtime.outcome import KEY_LEVEL, classify
from runtime.routing_state import Candidate, Lease, Plan
from runtime.service import Service
from runtime.translate import TranslationError
from runtime.upstream import UpstreamConnectError, UpstreamResponse

_ERROR_BODY_LIMIT = 64 * 1024


class Attempt(msgspec.Struct):
    """One try, as it appears in logs, headers and the all-failed error message."""

    provider: str
    model: str
    outcome: str
    status: int | None = None
    detail: str = ""
    ms: float = 0.0
    cooldown_left: float | None = None


class Tail:
    """The rest of a streamed body, pulled as the client takes it.

    `aclose()` always runs `cleanup`, once: a bare async generator closed before its first
    item never runs its `finally`, and then a client that left early would keep the
    attempt's key slot (and a half-open probe) taken for good."""

    __slots__ = ("_cleanup", "_parts")

    def __init__(self, parts: AsyncGenerator[bytes, None] | Tail, cleanup: Callable[[], None]) -> None:
        self._parts = parts
        self._cleanup: Callable[[], None] | None = cleanup

    def __aiter__(self) -> Tail:
        return self

    async def __anext__(self) -> bytes:
        return await self._parts.__anext__()

    async def aclose(self) -> None:
        cleanup, self._cleanup = self._cleanup, None
        try:
            await self._parts.aclose()
        finally:
            if cleanup is not None:
                cleanup()


@dataclass(slots=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    rest: Tail | None = None
    """For streams: the body after `body`; whoever sends it must `aclose()` it."""


@dataclass
class Waterfall:
    service: Service
    snap: Snapshot
    inc: Incoming
    attempts: list[Attempt] = field(default_factory=list)
    provider: str | None = None
    upstream_ms: float = 0.0
    queued_ms: float = 0.0
    """Time spent waiting in the chain's queue for capacity (not relay overhead either)."""
    usage: dict[str, int] | None = None
    started: float = field(default_factory=time.perf_counter)

    async def run(self, plan: Plan, chain_name: str) -> Reply:
        dead_steps: set[int] = set()
        unsupported: list[TranslationError] = []
        for cand in plan.candidates:
            if cand.step_index in dead_steps:
                continue
            try:
                reply, kind = await self._try(cand)
            except TranslationError as exc:
                unsupported.append(exc)
                self._record(cand, "unsupported", None, f"{exc.field}: {exc.message}", 0.0)
                continue
            if reply is not None:
                return reply
            if kind not in KEY_LEVEL:
                dead_steps.add(cand.step_index)
        if unsupported and len(unsupported) == len(self.attempts):
            first = unsupported[0]
            raise BadRequest(
                f"no step of chain {chain_name!r} can take this request: {first.field}: {first.message}",
                param=first.field,
            )
        raise all_failed(chain_name, self.attempts, plan, self.service.clock())

    def _record(self, cand: Candidate, outcome: str, status: int | None, detail: str, ms: float) -> None:
        left = self.service.state.cooldown_left(cand) if outcome != "ok" else None
        self.attempts.append(
            Attempt(
                provider=cand.provider.name,
                model=cand.step.model,
                outcome=outcome,
                status=status,
                detail=self.snap.redactor.text(detail),  # redact: all-failed message and log
                ms=round(ms, 1),
                cooldown_left=left,
            )
        )

    async def _try(self, cand: Candidate) -> tuple[Reply | None, FailureKind | None]:
        svc, inc = self.service, self.inc
        target = bridge.upstream_format(cand.provider.api, inc.fmt)
        if target is None:
            raise TranslationError(
                "model", f"provider api {cand.provider.api!r} is not served by this relay yet"
            )
        body = bridge.request_body(inc, cand.step, cand.provider, target)
        lease = await svc.state.begin(cand, bridge.estimate(inc), affinity=inc.affinity)
        if lease is None:
            self._record(cand, "full", None, "key filled up meanwhile", 0.0)
            return None, "rate_limited"
        try:
            return await self._attempt(cand, lease, target, body)
        except BaseException:  # cancelled (the client left) or a bug: free the key's slot
            svc.state.end(lease, None)
            raise

    async def _attempt(
        self, cand: Candidate, lease: Lease, target: ClientFormat, body: bytes
    ) -> tuple[Reply | None, FailureKind | None]:
        svc, inc = self.service, self.inc
        t0 = time.perf_counter()
        timeouts = cand.provider.timeouts
        try:
            async with asyncio.timeout(timeouts.first_byte):
                resp = await svc.open(self.snap, cand, target, inc, body)
        except TimeoutError:
            return self._failed(cand, lease, "timeout", None, f"no response in {timeouts.first_byte:g}s", t0)
        except UpstreamConnectError as exc:
            return self._failed(cand, lease, "connect", None, str(exc), t0)
        info = svc.rate_info(self.snap, cand, target, resp.headers)
        svc.state.observe(lease, info)
        if resp.status >= 300:
            return await self._upstream_error(cand, lease, resp, target, info.retry_after, t0)
        if inc.stream:
            return await self._stream(cand, lease, resp, target, t0)
        return await self._whole(cand, lease, resp, target, t0)

    def _failed(
        self,
        cand: Candidate,
        lease: Lease,
        kind: FailureKind,
        status: int | None,
        detail: str,
        t0: float,
        retry_after: float | None = None,
    ) -> tuple[None, FailureKind]:
        state = self.service.state
        state.fail(lease, kind, retry_after)
        state.end(lease, None)
        self._record(cand, kind, status, detail, (time.perf_counter() - t0) * 1000)
        if kind == "auth":
            self.service.log.warning(
                "upstream rejected a key",
                provider=cand.provider.name,
                key=cand.key.fingerprint if cand.key else None,
                status=status,
            )
        return None, kind

    async def _upstream_error(
        self,
        cand: Candidate,
        lease: Lease,
        resp: UpstreamResponse,
        target: ClientFormat,
        retry_after: float | None,
        t0: float,
    ) -> tuple[Reply | None, FailureKind | None]:
        try:
            async with asyncio.timeout(cand.provider.timeouts.first_byte):
                body = await resp.read(_ERROR_BODY_LIMIT)
        except (TimeoutError, UpstreamConnectError):
            body = b""
        finally:
            resp.close()
        body = self.snap.redactor.data(body)  # redact: an upstream may echo our key in its error
        kind = classify(resp.status, body)
        assert kind is not None
        if kind != "client_error":
            detail = body[:300].decode("utf-8", "replace")
            return self._failed(cand, lease, kind, resp.status, detail, t0, retry_after)
        self.service.state.end(lease, None)
        self._record(
            cand, "client_error", resp.status, "returned to the client", (time.perf_counter() - t0) * 1000
        )
        self.provider = cand.provider.name
        out = bridge.error_body(resp.status, body, target, self.inc.fmt, cand.provider.name)
        return Reply(resp.status, [("content-type", "application/json")], out), None

    async def _whole(
        self, cand: Candidate, lease: Lease, resp: UpstreamResponse, target: ClientFormat, t0: float
    ) -> tuple[Reply | None, FailureKind | None]:
        try:
            async with asyncio.timeout(cand.provider.timeouts.total):
                raw = await resp.read(self.service.max_response_bytes)
        except TimeoutError:
            resp.close()
            return self._failed(cand, lease, "timeout", resp.status, "response body timed out", t0)
        except UpstreamConnectError as exc:
            resp.close()
            return self._failed(cand, lease, "connect", resp.status, str(exc), t0)
        try:
            out, usage = bridge.response_body(raw, target, self.inc, cand.step)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
            return self._failed(
                cand, lease, "server_error", resp.status, "upstream sent a body that is not JSON", t0
            )
        self._succeeded(cand, lease, t0, usage)
        return Reply(200, [("content-type", "application/json")], out), None

    def _succeeded(self, cand: Candidate, lease: Lease, t0: float, usage: dict[str, int] | None) -> None:
        elapsed = time.perf_counter() - t0
        self.upstream_ms += elapsed * 1000
        self.service.state.succeed(lease, elapsed)
        self.usage = usage
        self.service.state.end(lease, usage.get("total") if usage else None)
        self.provider = cand.provider.name
        self._record(cand, "ok", 200, "", elapsed * 1000)

    async def _stream(
        self, cand: Candidate, lease: Lease, resp: UpstreamResponse, target: ClientFormat, t0: float
    ) -> tuple[Reply | None, FailureKind | None]:
        adapter = bridge.stream_adapter(self.inc, target, cand.step)
        chunks = resp.chunks().__aiter__()
        head = adapter.start()
        first = b""
        try:
            async with asyncio.timeout(cand.provider.timeouts.first_byte):
                while not first:
                    try:
                        chunk = await anext(chunks)
                    except StopAsyncIteration:
                        first = adapter.finish()
                        break
                    first = adapter.feed(chunk)
        except TimeoutError:
            resp.close()
            return self._failed(cand, lease, "timeout", 200, "stream sent nothing in time", t0)
        except UpstreamConnectError as exc:
            resp.close()
            return self._failed(cand, lease, "connect", 200, str(exc), t0)
        if adapter.errored:
            resp.close()
            return self._failed(cand, lease, "overloaded", 200, first[:300].decode("utf-8", "replace"), t0)
        elapsed = time.perf_counter() - t0
        self.upstream_ms += elapsed * 1000
        self.service.state.succeed(lease, elapsed)
        self.provider = cand.provider.name
        self._record(cand, "ok", 200, "", elapsed * 1000)
        rest = Tail(self._pump(cand, lease, resp, chunks, adapter), lambda: self._abandoned(lease, resp))
        return Reply(
            200, [("content-type", "text/event-stream"), ("cache-control", "no-cache")], head + first, rest
        ), None

    async def _pump(
        self,
        cand: Candidate,
        lease: Lease,
        resp: UpstreamResponse,
        chunks: AsyncIterator[bytes],
        adapter: StreamAdapter,
    ) -> AsyncGenerator[bytes, None]:
        """The stream after its first bytes: failures here end it with an error event."""
        idle = cand.provider.timeouts.stream_idle
        try:
            while not adapter.done:
                try:
                    async with asyncio.timeout(idle):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    tail = adapter.finish()
                    if tail:
                        yield tail
                    break
                except TimeoutError:
                    yield adapter.fail(GatewayTimeout(f"{cand.provider.name}: stream idle for {idle:g}s"))
                    break
                except UpstreamConnectError as exc:
                    yield adapter.fail(BadGateway(f"{cand.provider.name}: {exc}"))
                    break
                out = adapter.feed(chunk)
                if adapter.errored:
                    out = self.snap.redactor.data(out)  # redact: an upstream error event
                if out:
                    yield out
        finally:
            resp.close()
            self.usage = adapter.usage
            self.service.state.end(lease, adapter.usage.get("total") if adapter.usage else None)

    def _abandoned(self, lease: Lease, resp: UpstreamResponse) -> None:
        """After the stream's tail closed: a no-op unless it closed before it started."""
        resp.close()
        self.service.state.end(lease, None)


def relay_error_for(exc: Exception) -> RelayError:
    """Anything unexpected still answers in the client's format, never as a traceback."""
    if isinstance(exc, RelayError):
        return exc
    return RelayError(f"internal error in relay: {type(exc).__name__}")
