"""One worker's long-lived state: the current snapshot, routing state, transports, log.

The snapshot sits behind one attribute. A request reads it once and keeps that object to
the end, so a reload (`reload()`: load, verify, swap the reference) never changes the
table under a request in flight; routing state is re-synced so cooldowns and windows of
keys whose fingerprint did not change carry over. Routing state lives in the backend
`server.state` names (memory, or Redis shared by every worker and instance); switching
backends takes a restart, since state cannot move between them mid-flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.artifact import Provider
from runtime.clock import Clock, monotonic
from runtime.errors import WireFormat
from runtime.ops.events import EventHub, Subscriber
from runtime.ops.feed import Feed
from runtime.ops.metrics import RequestMetrics
from runtime.ops.record import StateEvent, StateKind
from runtime.ops.state_view import RelayFacts
from runtime.ops.usage.sink import UsageSink
from runtime.ops.usage.store import resolve
from runtime.ops.webhooks import Webhooks
from runtime.routing import ratelimit
from runtime.routing.backend import make_backend
from runtime.routing.changes import Change
from runtime.routing.probes import probe_forever
from runtime.routing.ratelimit import RateInfo
from runtime.routing.state import Candidate, RoutingState
from runtime.routing.thinking_owners import ThinkingOwners
from runtime.server import bridge, health_check
from runtime.server.incoming import Incoming
from runtime.server.lineage import WORKERS_ENV
from runtime.server.loader import LoadError, Snapshot, load, manifest_stamp
from runtime.server.log import Log
from runtime.server.outbound import key_slot
from runtime.upstream.client import UpstreamRegistry, UpstreamResponse

if TYPE_CHECKING:
    from runtime.ops.bus import RedisBus

_LEVEL_NAMES = ((logging.ERROR, "error"), (logging.WARNING, "warning"), (logging.INFO, "info"))


class _ToLog(logging.Handler):
    """Routing modules log through `logging` ("relay.*") to stay free of server details;
    this sends their records to the worker's structured log."""

    def __init__(self, log: Log) -> None:
        super().__init__(logging.DEBUG)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        level = next((name for number, name in _LEVEL_NAMES if record.levelno >= number), "debug")
        self.log.emit(level, record.getMessage(), logger=record.name)


def _route_logging(log: Log) -> None:
    logger = logging.getLogger("relay")
    for handler in [h for h in logger.handlers if isinstance(h, _ToLog)]:
        logger.removeHandler(handler)
    logger.addHandler(_ToLog(log))
    logger.setLevel(logging.DEBUG)
    logger.propagate = False


def with_query(url: str, query: str) -> str:
    """`url` with the client's query string appended (same-format passthrough keeps it)."""
    if not query:
        return url
    return f"{url}{'&' if '?' in url else '?'}{query}"


class Service:
    max_response_bytes = 64 * 1024 * 1024

    def __init__(
        self, root: Path, clock: Clock = monotonic, log: Log | None = None, events: EventHub | None = None
    ) -> None:
        self.root = root
        self.clock = clock
        self.snapshot: Snapshot = load(root)
        self.log = log or Log.from_config(self.snapshot.artifact.server.log)
        _route_logging(self.log)
        server = self.snapshot.artifact.server
        self.state = RoutingState(clock, backend=make_backend(server.state, clock=clock))
        self.state.sync(self.snapshot.artifact)
        self.state.on_change(self._changed)
        self._state_url = server.state
        self.upstreams = UpstreamRegistry()
        self.thinking = ThinkingOwners()
        """Who made which thinking signature, so a moved conversation drops what its target rejects."""
        self._stamp = manifest_stamp(root)
        self.reloads = 0
        self.last_reload: dict[str, object] | None = None
        self.on_swap: Callable[[Snapshot], None] | None = None
        """Called after a reload swapped in a new snapshot (the app resizes its body budget)."""
        self.feed = Feed()
        """Finished requests and state changes, for the operator's sinks (`runtime.ops`)."""
        usage = server.usage
        self._usage_url = resolve(usage.store, root)
        self.usage = (
            None if usage.store == "off" else UsageSink(self._usage_url, usage.retention, usage.queue)
        )
        """The usage store's writer; its store is fixed at start (a reload does not move it)."""
        if self.usage is not None:
            self.feed.add(self.usage)
        self.metrics = RequestMetrics(lambda: self.snapshot.artifact)
        self.feed.add(self.metrics)
        self.webhooks = Webhooks(
            lambda: self.snapshot.artifact.server.webhooks, on_result=self.metrics.webhook_result
        )
        self.feed.add(self.webhooks)
        self.in_flight: Callable[[], int] = lambda: 0
        """Requests this worker is serving (the app's drain counter, once it is set)."""
        self.events = events or EventHub()
        self.changes = 0
        """State changes and reloads so far: a cached `/admin/state` older than one is stale."""
        self.started_at = time.time()
        self._started = clock()
        self._ending: dict[str, asyncio.TimerHandle] = {}
        """Per key slot: the timer that reports its cooldown's end."""
        self._bus: RedisBus | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._probes: asyncio.Task[None] | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the worker's background work on `loop` (it may not be running yet)."""
        self._loop = loop
        if self.usage is not None:
            self.usage.start()
        self._start_probes()
        self.webhooks.start(loop)
        loop.call_soon(self.upstreams.warm, self.snapshot.artifact.providers.values())
        if self._state_url != "memory":
            from runtime.ops.bus import RedisBus

            self._bus = RedisBus.from_url(
                self._state_url, self.events.deliver, lambda: bool(self.events.subscribers)
            )
            self.events.publish = self._bus.publish
            self.events.wanted_elsewhere = self._bus.wanted
            self.feed.add(self.events)
            self._bus.start(loop)

    # -- operator's view ----------------------------------------------------------------------

    async def subscribe(self) -> Subscriber:
        """A new admin event subscriber; the hub joins the feed while anyone listens. With
        a bus, once every other worker heard of it (they publish only while someone listens)."""
        if self.events not in self.feed.sinks:
            self.feed.add(self.events)
        sub = self.events.subscribe()
        if self._bus is not None:
            await self._bus.announced()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.events.unsubscribe(sub)
        if self._bus is None and not self.events.listening:  # with a bus, others may still want them
            self.feed.remove(self.events)

    def facts(self) -> RelayFacts:
        stamp = self._stamp
        return RelayFacts(
            version=self.snapshot.artifact.relay_version,
            started_at=self.started_at,
            uptime_s=self.clock() - self._started,
            pid=os.getpid(),
            workers=int(os.environ.get(WORKERS_ENV, "1") or 1),
            manifest_hash=self.snapshot.manifest_hash,
            built_at=None if stamp is None else stamp[2] / 1e9,
            reloads=self.reloads,
            last_reload=self.last_reload,
        )

    def _event(self, kind: StateKind, change: Change | None = None, reason: str = "") -> None:
        self.changes += 1
        until_s = None
        if change is not None and change.until is not None:
            until_s = round(max(0.0, change.until - self.clock()), 3)
        self.feed.state(
            StateEvent(
                at=time.time(),
                kind=kind,
                provider=None if change is None else change.provider,
                key=None if change is None else change.fingerprint,
                until_s=until_s,
                reason=reason if change is None else change.reason,
            )
        )

    def _changed(self, change: Change) -> None:
        """The routing state's hook: publish the change, and watch a cooldown for its end."""
        if not self.feed.active:
            self.changes += 1
            return
        self._event(change.kind, change)
        loop, slot = self._loop, change.slot
        if change.kind != "cooldown_started" or loop is None or slot is None or slot in self._ending:
            return
        self._ending[slot] = loop.call_later(self._left(slot), self._cooled, change)

    def _left(self, slot: str) -> float:
        state = self.state.key_state(slot)
        return 0.0 if state is None else max(0.0, state.out_until() - self.clock())

    def _cooled(self, change: Change) -> None:
        slot = change.slot
        assert slot is not None and self._loop is not None
        left = self._left(slot)
        if left > 0:  # extended meanwhile
            self._ending[slot] = self._loop.call_later(left, self._cooled, change)
            return
        del self._ending[slot]
        if self.feed.active:
            self._event("cooldown_ended", change._replace(until=None, reason=""))

    def _start_probes(self) -> None:
        """Active probes run once any provider has `health.interval`; the loop reads the
        current snapshot each tick, so reloads need no restart of it."""
        providers = self.snapshot.artifact.providers.values()
        if self._loop is None or self._probes is not None:
            return
        if any(p.health.interval is not None for p in providers):
            self._probes = self._loop.create_task(
                probe_forever(self.state, lambda: self.snapshot.artifact.providers, self.probe)
            )

    async def probe(self, provider: Provider) -> bool:
        return await health_check.probe(self.snapshot, self.upstreams, provider)

    def publish_metrics(self) -> None:
        sink = self.usage
        usage = (
            {}
            if sink is None
            else {"written": sink.written, "dropped": sink.dropped, "writer_exits": sink.writer_exits}
        )
        self.metrics.publish(self.in_flight(), self.state.queue_depths(), usage)

    def changed_on_disk(self) -> bool:
        return manifest_stamp(self.root) != self._stamp

    def _reloaded(self, outcome: str, detail: str = "") -> None:
        self.last_reload = {"at": time.time(), "outcome": outcome, "detail": detail}
        if outcome != "unchanged":
            self._event("reload_done" if outcome == "reloaded" else "reload_refused", reason=detail)

    def reload(self) -> bool:
        """Swap to the folder's current artifact; a broken one is refused and logged.
        `last_reload` says what happened (reloaded, unchanged or refused)."""
        stamp = manifest_stamp(self.root)
        try:
            fresh = load(self.root)
        except LoadError as exc:
            self._stamp = stamp
            self.log.error("reload refused, still serving the previous artifact", reason=str(exc))
            self._reloaded("refused", str(exc))
            return False
        self._stamp = stamp
        if fresh.manifest_hash == self.snapshot.manifest_hash:
            self._reloaded("unchanged")
            return False
        self.state.sync(fresh.artifact)
        self.snapshot = fresh
        self.log.configure(fresh.artifact.server.log)
        self.reloads += 1
        self.log.info("artifact reloaded", source_hash=fresh.artifact.source_hash, reloads=self.reloads)
        if fresh.artifact.server.state != self._state_url:
            self.log.warning("server.state changed: restart relay to use the new state backend")
        usage = fresh.artifact.server.usage
        if resolve(usage.store, self.root) != self._usage_url:
            self.log.warning("server.usage.store changed: restart relay to use the new usage store")
        elif self.usage is not None:
            self.usage.retention = usage.retention  # the writer reads it at its next prune
        self._start_probes()
        self.upstreams.warm(fresh.artifact.providers.values())
        self._reloaded("reloaded")
        if self.on_swap is not None:
            self.on_swap(fresh)
        return True

    def request_headers(
        self, snap: Snapshot, cand: Candidate, target: WireFormat, inc: Incoming
    ) -> list[tuple[str, str]]:
        if target == "anthropic" and inc.fmt == "anthropic":
            headers = list(inc.forward_headers)
        elif target == "anthropic":
            headers = [("content-type", "application/json"), ("anthropic-version", bridge.TRANSLATED_VERSION)]
        else:
            headers = [("content-type", "application/json")]
        headers.extend(snap.outbound[cand.provider.name].headers[key_slot(cand.key)])
        return headers

    def open(
        self, snap: Snapshot, cand: Candidate, target: WireFormat, inc: Incoming, body: bytes
    ) -> Coroutine[Any, Any, UpstreamResponse]:
        """The upstream's own `open` coroutine (a coroutine layer less per request)."""
        out = snap.outbound[cand.provider.name]
        url = out.urls[target]
        if inc.query and out.query and bridge.same_format(inc, target):
            url = with_query(url, inc.query)
        upstream = self.upstreams.get(cand.provider)
        return upstream.open(url, self.request_headers(snap, cand, target, inc), body)

    def rate_info(
        self, snap: Snapshot, cand: Candidate, target: WireFormat, headers: Mapping[str, str]
    ) -> RateInfo:
        now = self.clock()
        if cand.provider.api == "simulated":
            parse = ratelimit.parse_anthropic if target == "anthropic" else ratelimit.parse_openai
            return parse(headers, now)
        return snap.modules[cand.provider.name].parse_rate_limits(headers, now)

    async def aclose(self) -> None:
        """Worker shutdown: stop probing, flush shared state, close transports."""
        if self._probes is not None:
            self._probes.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probes
        for timer in self._ending.values():
            timer.cancel()
        await self.webhooks.aclose()
        self.events.close()
        if self._bus is not None:
            await self._bus.close()
        await self.state.close()
        await self.upstreams.aclose()
        if self.usage is not None:
            await asyncio.to_thread(self.usage.stop)
