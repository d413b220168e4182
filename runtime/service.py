"""One worker's long-lived state: the current snapshot, routing state, transports, log.

The snapshot sits behind one attribute. A request reads it once and keeps that object to
the end, so a reload (`reload()`: load, verify, swap the reference) never changes the
table under a request in flight; routing state is re-synced so cooldowns and windows of
keys whose fingerprint did not change carry over.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from runtime import ratelimit
from runtime.clock import Clock, monotonic
from runtime.errors import ClientFormat
from runtime.incoming import Incoming
from runtime.loader import LoadError, Snapshot, load, manifest_stamp
from runtime.log import Log
from runtime.ratelimit import RateInfo
from runtime.routing_state import Candidate, RoutingState
from runtime.upstream import UpstreamRegistry, UpstreamResponse


class Service:
    max_response_bytes = 64 * 1024 * 1024

    def __init__(self, root: Path, clock: Clock = monotonic, log: Log | None = None) -> None:
        self.root = root
        self.clock = clock
        self.snapshot: Snapshot = load(root)
        self.log = log or Log(self.snapshot.artifact.server.log.level)
        self.state = RoutingState(clock)
        self.state.sync(self.snapshot.artifact)
        self.upstreams = UpstreamRegistry()
        self._stamp = manifest_stamp(root)
        self.reloads = 0

    def changed_on_disk(self) -> bool:
        return manifest_stamp(self.root) != self._stamp

    def reload(self) -> bool:
        """Swap to the folder's current artifact; a broken one is refused and logged."""
        stamp = manifest_stamp(self.root)
        try:
            fresh = load(self.root)
        except LoadError as exc:
            self._stamp = stamp
            self.log.error("reload refused, still serving the previous artifact", reason=str(exc))
            return False
        self._stamp = stamp
        if fresh.manifest_hash == self.snapshot.manifest_hash:
            return False
        self.state.sync(fresh.artifact)
        self.snapshot = fresh
        self.log.set_level(fresh.artifact.server.log.level)
        self.reloads += 1
        self.log.info("artifact reloaded", source_hash=fresh.artifact.source_hash, reloads=self.reloads)
        return True

    def request_headers(
        self, snap: Snapshot, cand: Candidate, target: ClientFormat, inc: Incoming
    ) -> list[tuple[str, str]]:
        module = snap.modules[cand.provider.name]
        if target == "anthropic" and inc.fmt == "anthropic":
            headers = list(inc.forward_headers)
        elif target == "anthropic":
            headers = [("content-type", "application/json"), ("anthropic-version", "2023-06-01")]
        else:
            headers = [("content-type", "application/json")]
        headers.extend(module.STATIC_HEADERS)
        if cand.key is not None:
            value = snap.key_value(cand.key.id)
            if value is not None:
                headers.extend(module.auth_headers(value))
        return headers

    async def open(
        self, snap: Snapshot, cand: Candidate, target: ClientFormat, inc: Incoming, body: bytes
    ) -> UpstreamResponse:
        module = snap.modules[cand.provider.name]
        if cand.provider.api == "simulated":
            url = f"simulated:{target}"
        else:
            url = (module.MESSAGES_URL if target == "anthropic" else module.CHAT_URL) or ""
        upstream = self.upstreams.get(cand.provider)
        return await upstream.open(url, self.request_headers(snap, cand, target, inc), body)

    def rate_info(
        self, snap: Snapshot, cand: Candidate, target: ClientFormat, headers: Mapping[str, str]
    ) -> RateInfo:
        now = self.clock()
        if cand.provider.api == "simulated":
            parse = ratelimit.parse_anthropic if target == "anthropic" else ratelimit.parse_openai
            return parse(headers, now)
        return snap.modules[cand.provider.name].parse_rate_limits(headers, now)

    async def aclose(self) -> None:
        await self.upstreams.aclose()
