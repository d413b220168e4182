"""The Bedrock transport: the request loop's `Upstream`, speaking Bedrock underneath.

Per request: reshape the Anthropic request (`bedrock_wire.call`), sign it with SigV4 using the
credentials the provider's `Refresher` holds (botocore's chain, fetched in the background), or
send the provider's Bedrock API key as a bearer token when it has `keys:`; then hand back a
`CloudResponse` that reads as Anthropic's answer.
"""

from __future__ import annotations

import time

from runtime.artifact import Provider
from runtime.upstream.client import AiohttpUpstream
from runtime.upstream.cloud import bedrock_wire
from runtime.upstream.cloud.aws_credentials import aws_refresher
from runtime.upstream.cloud.errors import bedrock_error, bedrock_status
from runtime.upstream.cloud.response import CloudResponse
from runtime.upstream.cloud.sigv4 import sign

SERVICE = "bedrock"


def amz_date(wall: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(wall))


class BedrockUpstream:
    def __init__(self, provider: Provider) -> None:
        assert provider.cloud is not None and provider.cloud.region is not None
        self._http = AiohttpUpstream(provider)
        self._region = provider.cloud.region
        self._creds = aws_refresher(provider.name) if provider.cloud.credentials == "aws-chain" else None
        if self._creds is not None:
            self._creds.start_if_running()

    async def open(self, url: str, headers: list[tuple[str, str]], body: bytes) -> CloudResponse:
        call = bedrock_wire.call(url, headers, body)
        out = call.headers
        if self._creds is not None:
            creds = await self._creds.current()  # NoCredentials: a connect failure
            out = [*out, *sign(creds, self._region, SERVICE, call.url, out, call.body, amz_date(time.time()))]
        resp = await self._http.open(call.url, out, call.body)
        if resp.status >= 300:
            error_type = resp.headers.get("x-amzn-errortype")
            status = resp.status
            return CloudResponse(
                resp, bedrock_status(status, error_type), lambda b: bedrock_error(status, error_type, b)
            )
        if bedrock_wire.is_count(url):
            return CloudResponse(resp, resp.status, bedrock_wire.count_reply)
        return CloudResponse(
            resp, resp.status, reframe=bedrock_wire.StreamReframer() if call.stream else None
        )

    async def aclose(self) -> None:
        if self._creds is not None:
            await self._creds.aclose()
        await self._http.aclose()
