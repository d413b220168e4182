"""Microsoft Azure's two ways of serving models, as pure functions (protocols.md §4.10).

Azure AI Foundry serves Claude with Anthropic's own API under `https://{resource}.services.ai
.azure.com/anthropic`: the usual `/v1/messages` body and SSE, the deployment name as `model`,
betas as Anthropic takes them minus those Foundry rejects (`runtime.upstream.cloud.betas`).
Azure OpenAI serves OpenAI-format deployments: the dated API puts the deployment in the path
(`/openai/deployments/{deployment}/chat/completions?api-version=…`, the body's `model` is
ignored), the v1 API (`/openai/v1/chat/completions`) takes it as `model`. Either way the
`deployment:` map turns the step's model id into the deployment name; a model it does not
list is taken as its own deployment name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import quote

from runtime.upstream.cloud import betas, shape


def foundry_call(
    url: str, headers: Iterable[tuple[str, str]], body: bytes, deployments: Mapping[str, str]
) -> shape.CloudCall:
    parsed = shape.parse(body)
    top = parsed.top
    if parsed.model in deployments:
        top["model"] = shape.raw(deployments[parsed.model])
        body = shape.encode(top)
    out: list[tuple[str, str]] = []
    flags: list[str] = []
    for name, value in headers:
        if name.lower() == "anthropic-beta":
            flags.append(value)
        else:
            out.append((name, value))
    kept = betas.accepted("azure", flags)
    if kept:
        out.append(("anthropic-beta", ",".join(kept)))
    return shape.CloudCall(url, out, body, parsed.stream)


def openai_call(
    url: str, headers: Iterable[tuple[str, str]], body: bytes, deployments: Mapping[str, str]
) -> shape.CloudCall:
    parsed = shape.parse(body)
    deployment = deployments.get(parsed.model, parsed.model)
    if "{deployment}" in url:
        url = shape.fill(url, "deployment", quote(deployment, safe=""))
    elif deployment != parsed.model:
        parsed.top["model"] = shape.raw(deployment)
        body = shape.encode(parsed.top)
    return shape.CloudCall(url, list(headers), body, parsed.stream)
