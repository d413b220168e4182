"""The waterfall: execute a plan, one candidate at a time, until one answers.

The plan (which candidates, in which order, which were skipped and why) is decided by
`RoutingState.plan`, a pure policy; this module is the thin async loop around it. Each
candidate is one `Attempt`, begun once and ended once. A candidate that fails before its
content reaches the client is recorded and the next one is tried, invisibly to the client;
after that, failures end the stream with an error event (never a hang, never a silent
truncation) and still count against the provider. When the last candidate fails in a way
the client would have seen going direct (an error event inside a 200 stream), the client
gets exactly that, translated into its format, rather than an error relay made up.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import msgspec

from runtime.artifact import Chain, Provider, Step
from runtime.deadline import Deadline
from runtime.errors import BadGateway, BadRequest, GatewayTimeout, RelayError, WireFormat
from runtime.ops.record import AttemptRecord
from runtime.routing.cooldown import FailureKind
from runtime.routing.plan import Candidate, Plan, Skip
from runtime.routing.state import RoutingState, Waited
from runtime.routing.thinking_owners import owner
from runtime.server import bridge
from runtime.server.attempt import Attempt
from runtime.server.bridge import StreamAdapter
from runtime.server.failure import all_failed
from runtime.server.incoming import Incoming
from runtime.server.loader import Snapshot
from runtime.server.outcome import KEY_LEVEL, classify, classify_stream_error, excerpt
from runtime.server.service import Service
from runtime.translate import TranslationError
from runtime.upstream.client import UpstreamConnectError, UpstreamResponse

_ERROR_BODY_LIMIT = 64 * 1024
_STREAM_HEADERS = (("content-type", "text/event-stream"), ("cache-control", "no-cache"))
_END_WAIT = 0.05
"""Seconds a finished stream waits for its body's end before closing the connection."""
_END_CHUNKS = 4
"""Chunks read past the last event at most (anything an upstream sends after it is dropped)."""


class Tail:
    """The rest of a streamed body, pulled as the client takes it.

    `aclose()` always runs `cleanup`, once: a bare async generator closed before its first
    item never runs its `finally`, and then a client that left early would keep the
    attempt's key slot (and a half-open probe) taken for good.

    `fail` writes the frame that ends the stream with an error in the stream's own format
    (the adapter's, or a wrapper's that changes the format), for a stream cut from outside:
    the shutdown deadline."""

    __slots__ = ("_cleanup", "_fail", "_parts", "_source")

    def __init__(
        self,
        parts: AsyncGenerator[bytes, None] | Tail,
        cleanup: Callable[[], None],
        fail: Callable[[RelayError], bytes] | None = None,
    ) -> None:
        self._parts = parts
        self._cleanup: Callable[[], None] | None = cleanup
        self._fail = fail
        # What iterating pulls from: past plain Tails, which only pass parts on (a stream
        # is wrapped twice, by the waterfall and by the exchange: a coroutine layer less
        # per part each). A subclass that changes parts is a source itself.
        self._source: AsyncIterator[bytes] = parts._source if type(parts) is Tail else parts

    def fail(self, err: RelayError) -> bytes | None:
        """The error frame that ends this stream; None when nothing here knows its format."""
        if self._fail is not None:
            return self._fail(err)
        return self._parts.fail(err) if isinstance(self._parts, Tail) else None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._source if type(self) is Tail else self

    async def __anext__(self) -> bytes:
        return await self._source.__anext__()

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
    responses: bool = False
    """The body is already the Responses API's (an `openai-responses` step passed a
    `/v1/responses` request through): nothing for the ingress to translate."""
    after: Callable[[], None] | None = None
    """For whole bodies: run once the body is handed to the server (the request's record,
    metrics, usage row and log line), so the client is not kept waiting for them; a stream's
    `rest` does the same when it ends."""


class Demand(msgspec.Struct, frozen=True):
    """What one request asks of the routing state, the same for every plan made for it
    (the first, a re-plan after failures, the queue's), so `plan` and `begin` agree.
    A Struct: made once per request, a frozen dataclass's field-by-field setting costs more."""

    chain: Chain
    providers: Mapping[str, Provider]
    est_tokens: int
    est_output: int
    affinity: str | None
    capabilities: frozenset[str]
    context_need: int = 0
    """Tokens a step's context window must hold (`bridge.context_need`)."""

    def plan(self, state: RoutingState) -> Plan:
        return state.plan(
            self.chain,
            self.providers,
            est_tokens=self.est_tokens,
            est_output=self.est_output,
            affinity=self.affinity,
            capabilities=self.capabilities,
            context_need=self.context_need,
        )

    def rescue(self, state: RoutingState, skip: Skip) -> Candidate | None:
        return state.rescue(skip, self.providers, est_tokens=self.est_tokens, est_output=self.est_output)

    async def wait(self, state: RoutingState) -> Waited:
        return await state.wait_for_capacity(
            self.chain,
            self.providers,
            est_tokens=self.est_tokens,
            est_output=self.est_output,
            affinity=self.affinity,
            capabilities=self.capabilities,
            context_need=self.context_need,
        )


class Tried(NamedTuple):
    """What one candidate came to: a reply for the client, or a failure of some kind."""

    reply: Reply | None
    kind: FailureKind | None
    as_direct: Reply | None = None
    """For a failure the client would have seen going direct: exactly what it would have got."""
    cut: bool = False
    """Relay's own `first_byte` ran out, not the upstream: worth one more, patient, try."""
    lost: bool = False
    """The candidate lost its admission between plan and begin (a breaker tripped meanwhile)."""
    retry_after: float | None = None
    """What the upstream's `retry-after` asked for, for the chain's `retry_wait`."""
    resend: bool = False
    """The upstream refused a thinking signature relay could not place: send again without thinking."""


_WAITABLE: frozenset[FailureKind | None] = frozenset({"rate_limited", "overloaded"})


class _LastResorts:
    """What the waterfall tries once its plan is spent, so relay's own inference never fails
    a request the upstream might have answered: a candidate that lost its admission since the
    plan (as a panic candidate, past breakers, never past a stated limit), each skipped step
    only inference kept out (its best key, in chain order, whatever its position), and each
    step relay cut at `first_byte` (again, waiting up to `timeouts.total`)."""

    __slots__ = ("_cut", "_lost", "_revisit", "_skipped", "_slow")

    def __init__(self, plan: Plan) -> None:
        self._skipped = [s for s in plan.skipped if s.kind == "unavailable"]
        self._lost: list[Candidate] = []
        self._cut: list[Candidate] = []
        self._revisit: set[int] = set()
        self._slow: set[int] = set()

    def lost(self, cand: Candidate) -> None:
        self._lost.append(msgspec.structs.replace(cand, panic=True))

    def cut(self, cand: Candidate) -> None:
        if cand.step_index not in self._revisit:
            self._cut.append(cand)

    def revisits(self, cand: Candidate) -> bool:
        """A step tried before and tried again on purpose (lost or cut), dead or not."""
        return cand.step_index in self._revisit

    def was_cut(self, cand: Candidate) -> bool:
        """Tried again because relay cut it at `first_byte`: this time it gets `total`."""
        return cand.step_index in self._slow

    def empty(self, dead: set[int]) -> bool:
        return not (self._lost or self._cut or any(s.step_index not in dead for s in self._skipped))

    def refill(self, queue: deque[Candidate], demand: Demand, state: RoutingState, dead: set[int]) -> bool:
        while self._lost or self._skipped or self._cut:
            if self._lost:
                cand: Candidate | None = self._lost.pop(0)
            elif self._skipped:
                skip = self._skipped.pop(0)
                cand = None if skip.step_index in dead else demand.rescue(state, skip)
            else:
                cand = self._cut.pop(0)
                self._slow.add(cand.step_index)
            if cand is not None:
                self._revisit.add(cand.step_index)
                queue.append(cand)
                return True
        return False


@dataclass(slots=True)
class Waterfall:
    service: Service
    snap: Snapshot
    inc: Incoming
    demand: Demand
    attempts: list[AttemptRecord] = field(default_factory=list)
    provider: str | None = None
    upstream_ms: float = 0.0
    queued_ms: float = 0.0
    """Time spent waiting in the chain's queue for capacity (not relay overhead either)."""
    usage: dict[str, int] | None = None
    overhead_ms: float | None = None
    """Relay's own time until the answer's head, set with the `x-relay-overhead-ms` header."""
    step: Step | None = None
    """The step that answered (its prices price the request)."""
    dropped: tuple[str, ...] = ()
    """Client fields the last request sent upstream left out (`x-relay-dropped`)."""
    started: float = field(default_factory=time.perf_counter)
    thinking_dropped: int = 0
    """Thinking blocks the last attempt's body lost (`bridge.request_body`)."""
    disowned: bool = False
    """An upstream refused a signature relay could not place: drop every thinking block."""

    async def run(self, plan: Plan, chain_name: str) -> Reply:
        """Try the plan's candidates in order, then the last resorts (`_last_resorts`); the
        one tried last waits up to `timeouts.total` for its first byte, not `first_byte`."""
        dead_steps: set[int] = set()
        unsupported: list[TranslationError] = []
        as_direct: Reply | None = None
        queue = deque(plan.candidates)
        resorts = _LastResorts(plan)
        patience = self.demand.chain.retry_wait
        while queue or resorts.refill(queue, self.demand, self.service.state, dead_steps):
            cand = queue.popleft()
            if cand.step_index in dead_steps and not resorts.revisits(cand):
                continue
            patient = (not queue and resorts.empty(dead_steps)) or resorts.was_cut(cand)
            try:
                tried = await self._try(cand, patient)
            except TranslationError as exc:
                unsupported.append(exc)
                self._unsupported(cand, exc)
                continue
            if tried.reply is not None:
                return tried.reply
            if tried.resend:
                self.disowned = True
                queue.appendleft(cand)
                continue
            wait = tried.retry_after
            if patience and wait is not None and 0 < wait <= patience and tried.kind in _WAITABLE:
                patience = 0.0  # the first candidate only, once: the chain prefers it
                await asyncio.sleep(wait)
                queue.appendleft(msgspec.structs.replace(cand, panic=True))
                continue
            patience = 0.0
            as_direct = tried.as_direct
            if tried.lost:
                resorts.lost(cand)
            elif tried.cut:
                resorts.cut(cand)
            if tried.kind not in KEY_LEVEL:
                dead_steps.add(cand.step_index)
        if as_direct is not None:
            return as_direct
        if unsupported and len(unsupported) == len(self.attempts):
            first = unsupported[0]
            raise BadRequest(
                f"no step of chain {chain_name!r} can take this request: {first.field}: {first.message}",
                param=first.field,
            )
        raise all_failed(chain_name, self.attempts, plan, self.service.clock())

    def _unsupported(self, cand: Candidate, exc: TranslationError) -> None:
        self.attempts.append(
            AttemptRecord(
                cand.provider.name, cand.step.model, "unsupported", None, f"{exc.field}: {exc.message}"
            )
        )

    async def _try(self, cand: Candidate, patient: bool) -> Tried:
        svc, inc = self.service, self.inc
        target = bridge.upstream_format(cand.provider, inc.fmt)
        if target is None:
            raise TranslationError(
                "model", f"provider api {cand.provider.api!r} is not served by this relay yet"
            )

        def thinking() -> bridge.Thinking:
            producers = bridge.Disowned() if self.disowned else svc.thinking
            return bridge.Thinking(owner(cand.provider, cand.key, cand.step), producers, svc.clock())

        body, self.dropped, self.thinking_dropped = bridge.request_body(
            inc, cand.step, cand.provider, target, thinking
        )
        need, state = self.demand, svc.state
        lease = await state.begin(cand, need.est_tokens, affinity=need.affinity, est_output=need.est_output)
        if lease is None and not cand.panic:  # a breaker tripped since the plan: try it last
            return Tried(None, "overloaded", lost=True)
        if lease is None:  # a stated limit or the key's concurrency filled up since the plan
            self.attempts.append(
                AttemptRecord(cand.provider.name, cand.step.model, "full", None, "key filled up meanwhile")
            )
            return Tried(None, "rate_limited")
        with Attempt(state, cand, lease, self.attempts) as attempt:
            tried = await self._exchange(attempt, target, body, patient)
        if target == "responses" and inc.responses is not None:
            for reply in (tried.reply, tried.as_direct):
                if reply is not None:
                    reply.responses = True
        return tried

    async def _exchange(self, attempt: Attempt, target: WireFormat, body: bytes, patient: bool) -> Tried:
        svc, cand = self.service, attempt.candidate
        timeouts = cand.provider.timeouts
        wait = timeouts.total if patient else timeouts.first_byte
        try:
            with Deadline(wait):
                resp = await svc.open(self.snap, cand, target, self.inc, body)
        except TimeoutError:
            return self._failed(attempt, "timeout", None, f"no response in {wait:g}s", cut=not patient)
        except UpstreamConnectError as exc:
            return self._failed(attempt, "connect", None, str(exc))
        info = svc.rate_info(self.snap, cand, target, resp.headers)
        attempt.observe(info)
        if resp.status >= 300:
            return await self._upstream_error(attempt, resp, target, info.retry_after)
        if self.inc.stream:
            return await self._stream(attempt, resp, target, wait)
        return await self._whole(attempt, resp, target)

    def _failed(
        self,
        attempt: Attempt,
        kind: FailureKind,
        status: int | None,
        detail: str,
        retry_after: float | None = None,
        as_direct: Reply | None = None,
        cut: bool = False,
    ) -> Tried:
        attempt.failed(kind, status, self.snap.redactor.text(detail), retry_after)  # redact: message and log
        if kind == "auth":
            cand = attempt.candidate
            self.service.log.warning(
                "upstream rejected a key",
                provider=cand.provider.name,
                key=cand.key.fingerprint if cand.key else None,
                status=status,
            )
        return Tried(None, kind, as_direct, cut=cut, retry_after=retry_after)

    async def _upstream_error(
        self, attempt: Attempt, resp: UpstreamResponse, target: WireFormat, retry_after: float | None
    ) -> Tried:
        timeouts = attempt.candidate.provider.timeouts
        try:
            with Deadline(timeouts.first_byte):
                body = await resp.read(_ERROR_BODY_LIMIT, timeouts.stream_idle)
        except (TimeoutError, UpstreamConnectError):
            body = b""
        finally:
            resp.close()
        body = self.snap.redactor.data(body)  # redact: an upstream may echo our key in its error
        kind = classify(resp.status, body)
        assert kind is not None
        if kind != "client_error":
            return self._failed(attempt, kind, resp.status, excerpt(body), retry_after)
        if (
            not self.disowned
            and target == "anthropic"
            and bridge.signature_refused(resp.status, body, self.inc)
        ):
            attempt.returned(resp.status, "a thinking signature was refused: sending again without thinking")
            return Tried(None, None, resend=True)
        attempt.returned(resp.status, "returned to the client")
        self.provider = attempt.candidate.provider.name
        out = bridge.error_body(resp.status, body, target, self.inc.fmt, self.provider)
        return Tried(Reply(resp.status, [("content-type", "application/json")], out), None)

    async def _whole(self, attempt: Attempt, resp: UpstreamResponse, target: WireFormat) -> Tried:
        timeouts = attempt.candidate.provider.timeouts
        limit = self.service.max_response_bytes
        try:
            raw = resp.whole(limit)
            if raw is None:
                with Deadline(timeouts.total):
                    raw = await resp.read(limit, timeouts.stream_idle)
        except TimeoutError:
            return self._failed(attempt, "timeout", resp.status, "response body stalled or timed out")
        except UpstreamConnectError as exc:
            return self._failed(attempt, "connect", resp.status, str(exc))
        finally:
            resp.close()
        try:
            step = attempt.candidate.step
            name = bridge.client_model(self.inc, step, self.snap.artifact.server.response_model)
            out, usage = bridge.response_body(raw, target, self.inc, step, name)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, RecursionError):
            return self._failed(attempt, "server_error", resp.status, "upstream sent a body that is not JSON")
        self._answered(attempt, 200)
        attempt.succeeded(usage)
        self._learn(attempt, bridge.signatures(raw) if target == "anthropic" else [])
        self.usage = usage
        return Tried(Reply(200, [("content-type", "application/json")], out), None)

    def _answered(self, attempt: Attempt, status: int) -> None:
        attempt.answered(status)
        self.upstream_ms += attempt.ttfb * 1000
        self.provider = attempt.candidate.provider.name
        self.step = attempt.candidate.step

    async def _stream(
        self, attempt: Attempt, resp: UpstreamResponse, target: WireFormat, wait: float
    ) -> Tried:
        """Hold the upstream's bytes until its content begins (at most `wait` from the
        start), so a failure before that (an error event, a drop, garbage, silence) can still
        fall over unseen."""
        cand = attempt.candidate
        name = bridge.client_model(self.inc, cand.step, self.snap.artifact.server.response_model)
        adapter = bridge.stream_adapter(self.inc, target, cand.step, name)
        held = [adapter.start()]
        try:
            with Deadline(wait):
                while not adapter.watch.content and not adapter.done:
                    chunk = await resp.next_chunk()
                    held.append(adapter.feed(chunk) if chunk else adapter.finish())
        except TimeoutError:
            resp.close()
            return self._failed(
                attempt,
                "timeout",
                200,
                "stream sent no content in time",
                cut=wait < cand.provider.timeouts.total,
            )
        except UpstreamConnectError as exc:
            resp.close()
            return self._failed(attempt, "connect", 200, str(exc))
        first = b"".join(held)
        if adapter.errored:  # before relay passed anything on: the next step may still serve
            resp.close()
            first = self.snap.redactor.data(first)  # redact: the provider's error event
            return self._held_error(attempt, adapter, Reply(200, list(_STREAM_HEADERS), first))
        self._answered(attempt, 200)
        close = attempt.hand_off()

        def cleanup() -> None:
            resp.close()
            close()

        rest = Tail(self._pump(attempt, resp, adapter), cleanup, adapter.fail)
        return Tried(Reply(200, list(_STREAM_HEADERS), first, rest), None)

    def _held_error(self, attempt: Attempt, adapter: StreamAdapter, as_direct: Reply) -> Tried:
        """A stream that ended in an error before relay passed anything on. Its held bytes
        (whatever content came first, then the error event, translated where needed) are
        what a client going direct would have got: the answer if this was the last step."""
        error = adapter.watch.error
        if error is None:
            kind: FailureKind = "server_error"
            detail = "the stream broke off or sent a malformed event before relay passed anything on"
        else:
            kind = classify_stream_error(adapter.watch.error_status, error)
            detail = excerpt(msgspec.json.encode({"error": error}))
        if kind == "client_error":
            attempt.returned(200, self.snap.redactor.text(detail))
            self.provider = attempt.candidate.provider.name
            return Tried(as_direct, None)
        return self._failed(attempt, kind, 200, detail, as_direct=as_direct)

    async def _pump(
        self, attempt: Attempt, resp: UpstreamResponse, adapter: StreamAdapter
    ) -> AsyncGenerator[bytes, None]:
        """The stream after its content began: keep-alives through upstream silence, and
        failures end it with an error event and count against the provider."""
        provider = attempt.candidate.provider
        idle = provider.timeouts.stream_idle
        ping = self.snap.artifact.server.keepalive
        loop = asyncio.get_running_loop()
        last = loop.time()
        failure: tuple[FailureKind, str] | None = None
        try:
            while not adapter.done:
                silent = loop.time() - last
                wait = idle - silent if ping <= 0 else min(ping, idle - silent)
                try:
                    with Deadline(max(wait, 0.0)):
                        chunk = await resp.next_chunk()
                except TimeoutError:
                    if loop.time() - last >= idle:
                        failure = ("timeout", f"stream idle for {idle:g}s")
                        yield adapter.fail(GatewayTimeout(f"{provider.name}: stream idle for {idle:g}s"))
                        break
                    yield adapter.keepalive()
                    continue
                except UpstreamConnectError as exc:
                    failure = ("connect", str(exc))
                    yield adapter.fail(BadGateway(f"{provider.name}: {exc}"))
                    break
                last = loop.time()
                out = adapter.feed(chunk) if chunk else adapter.finish()
                if adapter.errored:
                    out = self.snap.redactor.data(out)  # redact: an upstream error event
                if out:
                    yield out
            if failure is None and adapter.done:
                await _read_end(resp)
            if failure is None and adapter.errored:
                error = adapter.watch.error
                if error is not None:
                    kind = classify_stream_error(adapter.watch.error_status, error)
                    failure = (kind, excerpt(msgspec.json.encode({"error": error})))
                else:
                    failure = ("server_error", "stream broke off or sent a malformed event")
        finally:
            resp.close()
            self.usage = adapter.usage
            if failure is not None:
                attempt.failed(failure[0], 200, self.snap.redactor.text(failure[1]))
            elif adapter.done:
                attempt.succeeded(adapter.usage)
                self._learn(attempt, adapter.watch.signatures)
            attempt.close()

    def _learn(self, attempt: Attempt, signatures: list[str]) -> None:
        """Remember who made the answer's thinking, so a later turn moved elsewhere drops it."""
        if signatures:
            cand = attempt.candidate
            made_by = owner(cand.provider, cand.key, cand.step)
            self.service.thinking.learn(signatures, made_by, self.service.clock())


async def _read_end(resp: UpstreamResponse) -> None:
    """The stream's last event came: read on to the end of the body (an HTTP/1.1 chunked
    body's closing chunk, usually already in flight) when it follows at once, so the
    connection goes back to the provider's pool rather than being closed by `resp.close()`
    and opened anew (TCP handshake and more CPU) for the next stream."""
    try:
        with Deadline(_END_WAIT):
            for _ in range(_END_CHUNKS):
                if not await resp.next_chunk():
                    return
    except (TimeoutError, UpstreamConnectError):
        pass


def relay_error_for(exc: Exception) -> RelayError:
    """Anything unexpected still answers in the client's format, never as a traceback."""
    if isinstance(exc, RelayError):
        return exc
    return RelayError(f"internal error in relay: {type(exc).__name__}")
