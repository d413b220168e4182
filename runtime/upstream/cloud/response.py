"""A cloud's HTTP response, seen by the request loop as an Anthropic (or OpenAI) response.

Wraps the aiohttp response of `runtime.upstream.client` and keeps its contract (`next_chunk` is
cancellation-safe: the inner call is the only await, and bytes already read are kept in the
reframer until they complete a frame). What the cloud changes is undone here: the status an
error should have for the waterfall, an error body in Anthropic's shape, a count reply in
Anthropic's shape, and Bedrock's event stream turned back into SSE.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from runtime.upstream.client import UpstreamResponse
from runtime.upstream.cloud.bedrock_wire import StreamReframer


class CloudResponse:
    __slots__ = ("_convert", "_inner", "_reframe", "headers", "status")

    def __init__(
        self,
        inner: UpstreamResponse,
        status: int,
        convert: Callable[[bytes], bytes] | None = None,
        reframe: StreamReframer | None = None,
    ) -> None:
        self._inner = inner
        self.status = status
        self.headers: Mapping[str, str] = inner.headers
        self._convert = convert
        """Applied to a whole body (`read`): errors and count replies."""
        self._reframe = reframe

    async def next_chunk(self) -> bytes:
        if self._reframe is None:
            return await self._inner.next_chunk()
        while True:
            data = await self._inner.next_chunk()
            if not data:
                return b""
            out = self._reframe.feed(data)
            if out:
                return out

    async def read(self, limit: int, idle: float) -> bytes:
        return self._converted(await self._inner.read(limit, idle))

    def whole(self, limit: int) -> bytes | None:
        body = self._inner.whole(limit)
        return None if body is None else self._converted(body)

    def _converted(self, body: bytes) -> bytes:
        return body if self._convert is None else self._convert(body)

    def close(self) -> None:
        self._inner.close()
