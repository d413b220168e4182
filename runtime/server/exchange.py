"""Endpoint handlers: one generation exchange from parsed request to reply and log line.

Response headers tell a user what relay did without reading logs: `x-relay-chain`,
`x-relay-provider`, `x-relay-attempts`, `x-relay-overhead-ms` (time spent in relay itself,
upstream waiting and queueing excluded), `x-relay-queued-ms` (time waited for a step of the
chain to recover, when it did), `x-relay-skipped` (why each untried step was passed over) and
`x-relay-route` (the routing rule that picked the chain, when one did).
"""

from __future__ import annotations

import asyncio
import math
import time
import urllib.parse
from collections.abc import Coroutine
from typing import Any

import msgspec

from runtime.clock import Clock
from runtime.errors import (
    ClientFormat,
    ModelNotFound,
    RateLimited,
    RelayError,
    error_body,
    error_headers,
    status_of,
)
from runtime.ops.pricing import costs
from runtime.ops.record import AttemptRecord, RequestRecord, SkipRecord, StateEvent
from runtime.routing.state import Plan
from runtime.rules import Facts
from runtime.server import bridge, failure, incoming
from runtime.server.access import presented_key
from runtime.server.chain_needs import chain_needs
from runtime.server.loader import Snapshot
from runtime.server.service import Service, with_query
from runtime.server.waterfall import Demand, Reply, Tail, Waterfall
from runtime.translate import estimate_tokens, required_capabilities
from runtime.upstream.client import UpstreamConnectError

_encode = msgspec.json.Encoder().encode
_COUNT_TIMEOUT = 10.0


def _skipped(plan: Plan, now: float) -> str:
    parts = []
    for skip in plan.skipped:
        until = f" {math.ceil(skip.until - now)}s" if skip.until is not None and skip.until > now else ""
        parts.append(f"{skip.step.provider}/{skip.step.model}: {skip.reason}{until}")
    return "; ".join(parts)


def _relay_headers(
    wf: Waterfall, chain: str, plan: Plan, clock: Clock, route: str | None
) -> list[tuple[str, str]]:
    overhead = (time.perf_counter() - wf.started) * 1000 - wf.upstream_ms - wf.queued_ms
    wf.overhead_ms = round(max(overhead, 0.0), 3)
    headers = [
        ("x-relay-chain", chain),
        ("x-relay-attempts", str(len(wf.attempts))),
        ("x-relay-overhead-ms", f"{wf.overhead_ms:.2f}"),
    ]
    if wf.queued_ms:
        headers.append(("x-relay-queued-ms", f"{wf.queued_ms:.0f}"))
    if wf.provider:
        headers.append(("x-relay-provider", wf.provider))
    if wf.dropped:
        headers.append(("x-relay-dropped", ", ".join(wf.dropped)))
    if wf.thinking_dropped:
        headers.append(("x-relay-thinking-dropped", str(wf.thinking_dropped)))
    if plan.skipped:
        headers.append(("x-relay-skipped", _skipped(plan, clock()).encode("ascii", "replace").decode()))
    if route is not None:
        headers.append(("x-relay-route", route))
    return headers


class RequestLine(msgspec.Struct):
    """The `request` log line's fields, in the line's order (built positionally: the
    cheapest way to a line per request)."""

    id: str
    chain: str
    route: str | None
    model: str
    stream: bool
    status: int
    provider: str | None
    upstream_model: str | None
    attempts: list[AttemptRecord]
    latency_ms: float
    ttfb_ms: float | None
    queued_ms: float | None
    tokens: dict[str, int] | None


def _finish(
    svc: Service,
    wf: Waterfall,
    chain: str,
    plan: Plan,
    status: int,
    ttfb_ms: float | None,
    route: str | None = None,
) -> None:
    """The request is over: its record goes to the log line and to every ops sink."""
    logged = svc.log.enabled("info")
    if not logged and not svc.feed.active:
        return
    inc, attempts = wf.inc, wf.attempts
    upstream_model = key = None
    for attempt in attempts:
        if attempt.outcome == "ok":
            upstream_model, key = attempt.model, attempt.key
            break
    skipped: list[SkipRecord] = []
    if plan.skipped:
        now = svc.clock()
        skipped = [
            SkipRecord(
                s.step.provider,
                s.step.model,
                s.reason,
                round(s.until - now, 1) if s.until is not None and s.until > now else None,
            )
            for s in plan.skipped
        ]
    actual, reference = costs(wf.step, wf.usage)
    # Positional, in the struct's field order: a record per request built by keyword costs
    # msgspec a microsecond more.
    record = RequestRecord(
        time.time(),  # at
        inc.request_id,  # id
        chain,
        inc.api or inc.fmt,  # format
        inc.model,
        wf.provider,
        upstream_model,
        key,
        status,
        inc.stream,
        attempts,
        skipped,
        round((time.perf_counter() - wf.started) * 1000, 2),  # latency_ms
        ttfb_ms,
        round(wf.queued_ms, 2) if wf.queued_ms else None,  # queued_ms
        wf.usage,  # tokens
        wf.overhead_ms,
        actual,  # cost_usd
        reference - actual,  # saved_usd
        route,
    )
    svc.feed.request(record)
    if logged:
        line = RequestLine(
            record.id,
            chain,
            route,
            record.model,
            record.stream,
            status,
            record.provider,
            record.upstream_model,
            record.attempts,
            record.latency_ms,
            ttfb_ms,
            record.queued_ms,
            record.tokens,
        )
        svc.log.emit_struct(
            "info", "request", line, incoming.prompt(wf.inc, wf.snap.redactor) if svc.log.prompts else None
        )


def refused(svc: Service, fmt: str, rid: str, model: str, status: int, started: float) -> None:
    """A request refused before it had a chain (unreadable, an unknown model): counted too."""
    if not svc.feed.active:
        return
    record = RequestRecord(
        at=time.time(),
        id=rid,
        chain="",
        format=fmt,
        model=model,
        provider=None,
        upstream_model=None,
        key=None,
        status=status,
        stream=False,
        attempts=[],
        skipped=[],
        latency_ms=round((time.perf_counter() - started) * 1000, 2),
        ttfb_ms=None,
        queued_ms=None,
        tokens=None,
    )
    svc.feed.request(record)


async def _queue(svc: Service, wf: Waterfall, demand: Demand) -> Plan:
    """Wait (FIFO, bounded by `queue.max_wait` and `max_depth`) for a step to recover; the
    plan to run either way, empty when waiting did not help. A client that disconnects
    cancels this task, which takes it out of the queue."""
    t0 = time.perf_counter()
    chain = demand.chain.name
    try:
        waited = await demand.wait(svc.state)
    except asyncio.CancelledError:
        svc.log.info("client left the queue", id=wf.inc.request_id, chain=chain)
        raise
    finally:
        wf.queued_ms = (time.perf_counter() - t0) * 1000
    if waited.outcome != "ready":
        svc.log.info("queue gave up", id=wf.inc.request_id, chain=chain, outcome=waited.outcome)
    return waited.plan


class _Failed(Exception):
    def __init__(self, error: RelayError, plan: Plan) -> None:
        self.error = error
        self.plan = plan


async def _run(svc: Service, wf: Waterfall, demand: Demand, plan: Plan) -> tuple[Reply, Plan]:
    """Run the plan (the waterfall itself tries what only relay's inference kept out, last).
    A chain with a queue waits once for its soonest recovery when nothing but the panic rule
    could serve: either from the start, or because every candidate just answered 429 (each
    is cooling down now); when waiting does not help, the panic rule's pick is tried."""
    queue = demand.chain.queue
    waited = False
    while True:
        if queue.max_wait > 0 and not waited and all(c.panic for c in plan.candidates):
            waited = True
            plan = await _queue(svc, wf, demand)
            if not plan.candidates:
                plan = demand.plan(svc.state)
        try:
            return await wf.run(plan, demand.chain.name), plan
        except RelayError as exc:
            failed, plan = plan, demand.plan(svc.state)
            waitable = isinstance(exc, RateLimited) and not waited and queue.max_wait > 0
            if not waitable or any(not c.panic for c in plan.candidates):
                raise _Failed(exc, failed) from None


def _facts(snap: Snapshot, headers: Any, inc: incoming.Incoming) -> Facts:
    """What routing rules may ask, on what parsing the request already did."""
    rules = snap.router.rules
    return Facts(
        fmt=inc.fmt,
        model=inc.model,
        tokens=len(inc.body) // 4,
        stream=inc.stream,
        top=inc.top,
        full=inc.full,
        headers=headers,
        client_key=snap.client_key_name(presented_key(headers)) if rules.needs_client_key else None,
    )


def generate(
    svc: Service, scope: Any, proto: Any, body: bytes, fmt: ClientFormat, rid: str
) -> Coroutine[Any, Any, Reply]:
    """Parse, then `run`'s own coroutine (not one awaiting it: a coroutine layer less per
    request); a body that does not parse raises here, as the handler is called."""
    started = time.perf_counter()
    try:
        inc = incoming.parse(body, scope.headers.items(), fmt, rid, scope.query_string)
    except RelayError as exc:
        refused(svc, fmt, rid, "", status_of(exc, fmt), started)
        raise
    return run(svc, inc, scope.headers, started)


async def run(svc: Service, inc: incoming.Incoming, headers: Any, started: float) -> Reply:
    """One parsed generation request through its chain (also the Responses ingress's core);
    `started`: when the request was read, for the record of one refused before routing."""
    snap = svc.snapshot
    fmt, rid = inc.fmt, inc.request_id
    try:
        facts = _facts(snap, headers, inc) if snap.router.rules else None
        rule = snap.router.rules.first(facts) if facts is not None else None
        chain = snap.artifact.chains[rule.chain] if rule is not None else snap.router.resolve(inc.model)
    except RelayError as exc:
        refused(svc, inc.api or fmt, rid, inc.model, status_of(exc, fmt), started)
        raise
    route = rule.name if rule is not None else None
    providers = snap.artifact.providers
    needs = snap.needs.get(chain.name) or chain_needs(chain, providers)
    output = bridge.estimate_output(inc)
    conversation = inc.conversation() if needs.affinity else None
    smallest = needs.smallest_window
    demand = Demand(
        chain=chain,
        providers=providers,
        est_tokens=bridge.estimate(inc, output),
        est_output=output,
        affinity=f"{chain.name}\0{conversation}" if conversation else None,
        capabilities=(
            (facts.capabilities() if facts is not None else required_capabilities(inc.full(), fmt))
            if needs.capabilities
            else frozenset()
        ),
        context_need=bridge.context_need(inc, smallest, output) if smallest is not None else 0,
    )
    wf = Waterfall(svc, snap, inc, demand)
    try:
        first = demand.plan(svc.state)
        overflow = failure.too_long(chain.name, first, demand.context_need)
        if overflow is not None:
            raise _Failed(overflow, first)
        reply, plan = await _run(svc, wf, demand, first)
    except _Failed as failed:
        cap = chain.queue.retry_after_max
        if cap and failed.error.retry_after is not None and failed.error.retry_after > cap:
            failed.error.retry_after = cap  # the client retries within its limit, not gives up
        status = status_of(failed.error, fmt)
        headers = error_headers(failed.error) + _relay_headers(wf, chain.name, failed.plan, svc.clock, route)
        _finish(svc, wf, chain.name, failed.plan, status, None, route)
        if status >= 429:  # not the client's fault: every step failed or was unavailable
            event = StateEvent(
                at=time.time(), kind="chain_exhausted", chain=chain.name, reason=failed.error.message
            )
            svc.feed.state(event)
        return Reply(status, headers, error_body(failed.error, fmt, rid))
    reply.headers.extend(_relay_headers(wf, chain.name, plan, svc.clock, route))
    if reply.rest is None:  # recorded once sent (app._serve): the client does not wait for it
        status = reply.status
        reply.after = lambda: _finish(svc, wf, chain.name, plan, status, None, route)
        return reply
    ttfb = round((time.perf_counter() - wf.started) * 1000, 2)
    reply.rest = Tail(reply.rest, lambda: _finish(svc, wf, chain.name, plan, 200, ttfb, route))
    return reply


async def count_tokens(
    svc: Service, scope: Any, proto: Any, body: bytes, fmt: ClientFormat, rid: str
) -> Reply:
    """The upstream's own count where a step has a count endpoint, else a local estimate,
    labelled in `x-relay-token-count` so a client can tell which it got."""
    snap = svc.snapshot
    inc = incoming.parse(body, scope.headers.items(), fmt, rid, scope.query_string)
    chain = snap.router.resolve(inc.model)
    plan = svc.state.plan(chain, snap.artifact.providers, est_tokens=0)
    for cand in plan.candidates:
        module = snap.modules[cand.provider.name]
        if bridge.upstream_format(cand.provider, "anthropic") != "anthropic" or not module.COUNT_TOKENS_URL:
            continue
        headers = svc.request_headers(snap, cand, "anthropic", inc)
        try:
            async with asyncio.timeout(_COUNT_TIMEOUT):
                resp = await svc.upstreams.get(cand.provider).open(
                    with_query(module.COUNT_TOKENS_URL, inc.query),
                    headers,
                    inc.body_with_model(cand.step.model),
                )
                counted = await resp.read(64 * 1024, _COUNT_TIMEOUT)
                resp.close()
        except (TimeoutError, UpstreamConnectError):
            continue
        if resp.status == 200:
            return Reply(
                200,
                [
                    ("content-type", "application/json"),
                    ("x-relay-token-count", "upstream"),
                    ("x-relay-provider", cand.provider.name),
                ],
                counted,
            )
    estimate = estimate_tokens(inc.full())
    return Reply(
        200,
        [("content-type", "application/json"), ("x-relay-token-count", "estimate")],
        _encode({"input_tokens": estimate}),
    )


def _model_object(name: str, fmt: ClientFormat) -> dict[str, Any]:
    if fmt == "anthropic":
        return {"type": "model", "id": name, "display_name": name, "created_at": "2025-01-01T00:00:00Z"}
    return {"id": name, "object": "model", "created": 0, "owned_by": "relay"}


async def list_models(
    svc: Service, scope: Any, proto: Any, body: bytes, fmt: ClientFormat, rid: str
) -> Reply:
    """Chains and logical models, in the shape the caller's API expects."""
    names = svc.snapshot.router.listing()
    data = [_model_object(n, fmt) for n in names]
    payload: dict[str, Any]
    if fmt == "anthropic":
        payload = {
            "data": data,
            "has_more": False,
            "first_id": names[0] if names else None,
            "last_id": names[-1] if names else None,
        }
    else:
        payload = {"object": "list", "data": data}
    return Reply(200, [("content-type", "application/json")], _encode(payload))


MODELS_PREFIX = "/v1/models/"


async def retrieve_model(
    svc: Service, scope: Any, proto: Any, body: bytes, fmt: ClientFormat, rid: str
) -> Reply:
    """`GET /v1/models/{id}` (both SDKs' `models.retrieve()`): a name relay serves by what it
    names; one that would only fall through to the default chain is not a model here."""
    name = urllib.parse.unquote(scope.path[len(MODELS_PREFIX) :])
    found = svc.snapshot.router.match(name)
    if found is None or found.kind == "default":
        raise ModelNotFound(f"model {name!r} is not served by this relay", param="model")
    return Reply(200, [("content-type", "application/json")], _encode(_model_object(name, fmt)))
