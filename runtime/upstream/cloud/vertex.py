"""The Vertex AI transport: the request loop's `Upstream`, speaking Vertex underneath.

Per request: reshape the Anthropic request (`vertex_wire.call`) and add the Google access
token the provider's `Refresher` holds (google-auth, refreshed before expiry in the
background), unless the provider has `keys:`, which are then sent as bearer tokens. Google's
own error answers are turned into Anthropic's shape; everything else already is.
"""

from __future__ import annotations

from runtime.artifact import Provider
from runtime.upstream.client import AiohttpUpstream
from runtime.upstream.cloud import vertex_wire
from runtime.upstream.cloud.errors import google_error
from runtime.upstream.cloud.google_token import google_refresher
from runtime.upstream.cloud.response import CloudResponse


class VertexUpstream:
    def __init__(self, provider: Provider) -> None:
        cloud = provider.cloud
        assert cloud is not None
        self._http = AiohttpUpstream(provider)
        self._token = (
            google_refresher(provider.name, cloud.credentials_file) if cloud.credentials != "keys" else None
        )
        if self._token is not None:
            self._token.start_if_running()

    async def open(self, url: str, headers: list[tuple[str, str]], body: bytes) -> CloudResponse:
        call = vertex_wire.call(url, headers, body)
        out = call.headers
        if self._token is not None:
            token = await self._token.current()  # NoCredentials: a connect failure
            out = [*out, ("authorization", "Bearer " + token)]
        resp = await self._http.open(call.url, out, call.body)
        if resp.status >= 300:
            status = resp.status
            return CloudResponse(resp, status, lambda b: google_error(status, b))
        return CloudResponse(resp, resp.status)

    async def aclose(self) -> None:
        if self._token is not None:
            await self._token.aclose()
        await self._http.aclose()
