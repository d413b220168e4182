"""The seam between the request loop and whatever answers a step.

aiohttp's client is the hot-path transport (httpx measured several times costlier per
request here, see benchmarks/client_bench.py); the `simulated` provider implements the
same two methods in-process. The loop applies timeouts around these calls, so neither
implementation needs to know them beyond the connect limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable, Mapping
from typing import Protocol

import aiohttp

from runtime.artifact import Provider
from runtime.deadline import Deadline


class UpstreamResponse(Protocol):
    status: int
    headers: Mapping[str, str]

    async def next_chunk(self) -> bytes:
        """The next body bytes as they arrive, b"" at the end. Cancelling a call (a timeout
        that fires to send a keep-alive) loses nothing: the next call picks up the same data."""
        ...

    async def read(self, limit: int, idle: float) -> bytes:
        """The whole body, at most `limit` bytes (the rest is dropped); TimeoutError when no
        byte arrives for `idle` seconds."""
        ...

    def whole(self, limit: int) -> bytes | None:
        """What `read` returns, when the whole body is here already (most answers that are
        not streamed came in with their head): the loop then sets no time limit at all.
        None when some of it is still to come."""
        ...

    def close(self) -> None:
        """Abandon the response; an unread connection is closed, never reused."""
        ...


async def read_body(resp: UpstreamResponse, limit: int, idle: float) -> bytes:
    """`UpstreamResponse.read` for any implementation of `next_chunk`."""
    parts: list[bytes] = []
    size = 0
    while size < limit:
        with Deadline(idle):
            chunk = await resp.next_chunk()
        if not chunk:
            break
        parts.append(chunk[: limit - size])
        size += len(parts[-1])
    return b"".join(parts)


class Upstream(Protocol):
    async def open(self, url: str, headers: list[tuple[str, str]], body: bytes) -> UpstreamResponse:
        """Send a POST and return once the response headers are in."""
        ...

    async def aclose(self) -> None: ...


class UpstreamConnectError(Exception):
    """The request never got a response: refused, reset, DNS, TLS."""


class _AiohttpResponse:
    __slots__ = ("_resp", "headers", "status")

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self._resp = resp
        self.status = resp.status
        self.headers: Mapping[str, str] = resp.headers

    async def next_chunk(self) -> bytes:
        try:
            return await self._resp.content.readany()
        except aiohttp.ClientError as exc:
            raise UpstreamConnectError(f"connection lost mid-body: {type(exc).__name__}") from None

    async def read(self, limit: int, idle: float) -> bytes:
        body = self.whole(limit)
        return body if body is not None else await read_body(self, limit, idle)

    def whole(self, limit: int) -> bytes | None:
        content = self._resp.content
        if content.is_eof() and content.exception() is None:
            return content.read_nowait(limit)
        return None

    def close(self) -> None:
        resp = self._resp
        if not resp.closed:  # closed: read to its end, the connection is back in the pool already
            resp.close()


class AiohttpUpstream:
    """One pooled session per provider, created in the worker's event loop on first use."""

    def __init__(self, provider: Provider) -> None:
        self._connect_timeout = provider.timeouts.connect
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, enable_cleanup_closed=True)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None, connect=self._connect_timeout),
                auto_decompress=True,
                skip_auto_headers=("User-Agent",),
                cookie_jar=aiohttp.DummyCookieJar(),  # one client's Set-Cookie never rides on another's request
            )
        return self._session

    def open(
        self, url: str, headers: list[tuple[str, str]], body: bytes
    ) -> Coroutine[None, None, _AiohttpResponse]:
        """`_request`'s own coroutine, not one awaiting it: a coroutine layer less per request."""
        return self._request("POST", url, headers, body)

    def get(self, url: str, headers: list[tuple[str, str]]) -> Coroutine[None, None, _AiohttpResponse]:
        """A GET: active health probes ask for the models list, which costs no tokens."""
        return self._request("GET", url, headers, None)

    async def _request(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes | None
    ) -> _AiohttpResponse:
        try:
            resp = await self._get_session().request(method, url, data=body, headers=headers)
        except (aiohttp.ClientError, OSError) as exc:
            raise UpstreamConnectError(f"{type(exc).__name__}: {exc}") from None
        return _AiohttpResponse(resp)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class UpstreamRegistry:
    """Transports by provider name; survives reloads so warm connections are kept.

    A provider whose connection settings changed gets a fresh transport; the old one is
    closed after in-flight requests had time to finish.
    """

    def __init__(self, drain_seconds: float = 30.0) -> None:
        self._by_name: dict[str, tuple[Provider, object, Upstream]] = {}
        self._drain = drain_seconds

    def get(self, provider: Provider) -> Upstream:
        entry = self._by_name.get(provider.name)
        if entry is not None and entry[0] is provider:  # the same loaded artifact: nothing changed
            return entry[2]
        signature = (provider.base_url, provider.timeouts.connect, provider.simulate, provider.cloud)
        if entry is not None and entry[1] == signature:
            self._by_name[provider.name] = (provider, signature, entry[2])
            return entry[2]
        upstream: Upstream
        if provider.api == "simulated":
            from runtime.upstream.simulated import SimulatedUpstream

            upstream = SimulatedUpstream(provider)
        elif provider.cloud is not None:
            from runtime.upstream.cloud import cloud_upstream  # botocore / google-auth only when configured

            upstream = cloud_upstream(provider)
        else:
            upstream = AiohttpUpstream(provider)
        if entry is not None:
            self._retire(entry[2])
        self._by_name[provider.name] = (provider, signature, upstream)
        return upstream

    def warm(self, providers: Iterable[Provider]) -> None:
        """Create the transports of cloud providers now, so their credentials are fetched in the
        background before the first request needs them (call inside the running loop)."""
        for provider in providers:
            if provider.cloud is not None and provider.enabled:
                self.get(provider)

    def _retire(self, upstream: Upstream) -> None:
        async def later() -> None:
            await asyncio.sleep(self._drain)
            await upstream.aclose()

        asyncio.get_running_loop().create_task(later())

    async def aclose(self) -> None:
        for _, _, upstream in self._by_name.values():
            await upstream.aclose()
        self._by_name.clear()
