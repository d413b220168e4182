"""The Azure transport: Claude on Azure AI Foundry, or Azure OpenAI deployments.

Per request: reshape (`azure_wire`: the deployment name in the body or the path, Foundry's
betas), and add an Entra ID bearer token held by the provider's `Refresher` when the provider
has no `keys:` (otherwise its keys travel as `api-key` / `x-api-key` like any provider's).
Both services answer in the format they speak, errors included, so the response passes as is;
Azure's `retry-after-ms` and `x-ratelimit-remaining-*` headers are read by the provider's
generated rate-limit parser like OpenAI's.
"""

from __future__ import annotations

from runtime.artifact import Provider
from runtime.upstream.client import AiohttpUpstream, UpstreamResponse
from runtime.upstream.cloud import azure_wire
from runtime.upstream.cloud.entra import FOUNDRY_SCOPE, OPENAI_SCOPE, entra_refresher


class AzureUpstream:
    def __init__(self, provider: Provider) -> None:
        cloud = provider.cloud
        assert cloud is not None
        self._http = AiohttpUpstream(provider)
        self._deployments = cloud.deployments
        self._shape = azure_wire.foundry_call if cloud.wire == "anthropic" else azure_wire.openai_call
        scope = FOUNDRY_SCOPE if cloud.wire == "anthropic" else OPENAI_SCOPE
        self._token = entra_refresher(provider.name, scope) if cloud.credentials == "entra-id" else None
        if self._token is not None:
            self._token.start_if_running()

    async def open(self, url: str, headers: list[tuple[str, str]], body: bytes) -> UpstreamResponse:
        call = self._shape(url, headers, body, self._deployments)
        out = call.headers
        if self._token is not None:
            token = await self._token.current()  # NoCredentials: a connect failure
            out = [*out, ("authorization", "Bearer " + token)]
        return await self._http.open(call.url, out, call.body)

    async def aclose(self) -> None:
        if self._token is not None:
            await self._token.aclose()
        await self._http.aclose()
