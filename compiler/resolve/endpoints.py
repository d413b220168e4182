"""Per-provider decisions made at build time: URLs, auth header style, rate-limit dialect, module name.

Pure functions of the definitions, so the generated module holds constants and the runtime
decides nothing per request.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from runtime.artifact import Api, Cloud, RateLimitFamily

AuthStyle = str
DEFAULT_AUTH: dict[str, AuthStyle] = {
    "anthropic": "x-api-key",
    "openai": "bearer",
    "openai-responses": "bearer",
    "ollama": "bearer",
    "azure": "api-key",
    "bedrock": "bearer",
    "vertex": "bearer",
    "simulated": "none",
}
_HOST_FAMILIES: tuple[tuple[str, RateLimitFamily], ...] = (
    ("anthropic.com", "anthropic"),
    ("groq.com", "groq"),
    ("cerebras.ai", "cerebras"),
    ("openrouter.ai", "openrouter"),
    ("api.openai.com", "openai"),
)
_API_FAMILIES: dict[str, RateLimitFamily] = {
    "anthropic": "anthropic",
    "openai": "openai",
    "openai-responses": "openai",
    "azure": "openai",
}
SERVED: frozenset[str] = frozenset(
    {"anthropic", "openai", "openai-responses", "ollama", "simulated", "bedrock", "vertex", "azure"}
)
LOOPBACK_HOSTS = ("localhost", "::1")


@dataclass(frozen=True)
class Urls:
    messages: str | None = None
    count_tokens: str | None = None
    chat: str | None = None
    models: str | None = None
    responses: str | None = None


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def rate_limit_family(setting: str, api: Api, base_url: str) -> RateLimitFamily:
    if setting != "auto":
        return setting  # type: ignore[return-value]
    host = host_of(base_url)
    for suffix, family in _HOST_FAMILIES:
        if host == suffix or host.endswith("." + suffix):
            return family
    return _API_FAMILIES.get(api, "none")


def _strip_v1(path: str) -> str:
    path = path.rstrip("/")
    return path[: -len("/v1")] if path.endswith("/v1") else path


def _join(base_url: str, suffix: str, strip_v1: bool = False) -> str:
    """`suffix` appended to the path of `base_url`, keeping its query (`?api_key=…`) after it."""
    parts = urlsplit(base_url)
    path = _strip_v1(parts.path) if strip_v1 else parts.path.rstrip("/")
    return urlunsplit(parts._replace(path=path + suffix))


def cloud_urls(api: Api, base_url: str, cloud: Cloud) -> Urls:
    """Templates the cloud transports fill in per request (`{model}`, `{deployment}`)."""
    base = base_url.rstrip("/")
    if api == "bedrock":
        return Urls(base + "/model/{model}/invoke", base + "/model/{model}/count-tokens")
    if api == "vertex":
        models = f"{_strip_v1(base)}/v1/projects/{cloud.project}/locations/{cloud.region}/publishers/anthropic/models"
        return Urls(models + "/{model}:rawPredict", models + "/count-tokens:rawPredict")
    if cloud.wire == "anthropic":
        root = _strip_v1(base)
        return Urls(root + "/v1/messages", root + "/v1/messages/count_tokens")
    root = base.removesuffix("/v1").removesuffix("/openai")
    if cloud.api_version is None:
        return Urls(chat=root + "/openai/v1/chat/completions")
    return Urls(
        chat=f"{root}/openai/deployments/{{deployment}}/chat/completions?api-version={cloud.api_version}"
    )


def urls(api: Api, base_url: str, cloud: Cloud | None = None) -> Urls:
    if cloud is not None:
        return cloud_urls(api, base_url, cloud)
    if api == "anthropic":
        return Urls(
            _join(base_url, "/v1/messages", True),
            _join(base_url, "/v1/messages/count_tokens", True),
            None,
            _join(base_url, "/v1/models", True),
        )
    if api == "openai":
        return Urls(chat=_join(base_url, "/chat/completions"), models=_join(base_url, "/models"))
    if api == "openai-responses":
        return Urls(responses=_join(base_url, "/responses"), models=_join(base_url, "/models"))
    if api == "ollama":
        return Urls(
            chat=_join(base_url, "/v1/chat/completions", True), models=_join(base_url, "/v1/models", True)
        )
    return Urls()


def module_name(provider: str) -> str:
    stem = re.sub(r"[^a-z0-9_]", "_", provider.lower())
    return stem + "_" if keyword.iskeyword(stem) else stem
