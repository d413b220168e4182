"""What goes upstream for a provider and key that no request changes, laid out once per load.

Each request used to look its provider's module up twice, build the table of its URLs,
read the key's value and call the module's `auth_headers` for it. None of that depends on
the request: the loader lays out, per provider, its URL for each wire format and, per key,
the static headers and the key's auth headers in the order they are sent
(`Snapshot.outbound`), so a request appends one tuple.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from runtime.artifact import Artifact, Key, Provider, Secrets
from runtime.errors import WireFormat
from runtime.upstream.provider_module import ProviderModule

Headers = tuple[tuple[str, str], ...]


class Outbound(NamedTuple):
    urls: Mapping[WireFormat, str]
    """The create endpoint for each wire format; "" where the provider has none."""
    query: bool
    """Whether a same-format request's query string is passed on (not to `simulated`)."""
    headers: Mapping[str, Headers]
    """By key id ("" for a keyless provider): the module's static headers, then the key's."""


def key_slot(key: Key | None) -> str:
    """The key's entry in `Outbound.headers`."""
    return "" if key is None else key.id


def fixed_headers(module: ProviderModule, secrets: Secrets, key: Key | None) -> Headers:
    """The headers every request to this provider with this key carries."""
    headers = list(module.STATIC_HEADERS)
    value = None if key is None else secrets.keys.get(key.id)
    if value is not None:
        headers.extend(module.auth_headers(value))
    return tuple(headers)


def outbound(provider: Provider, module: ProviderModule, secrets: Secrets) -> Outbound:
    if provider.api == "simulated":
        urls: dict[WireFormat, str] = {f: f"simulated:{f}" for f in ("anthropic", "openai", "responses")}
    else:
        urls = {
            "anthropic": module.MESSAGES_URL or "",
            "openai": module.CHAT_URL or "",
            "responses": module.RESPONSES_URL or "",
        }
    headers = {key_slot(key): fixed_headers(module, secrets, key) for key in provider.keys or (None,)}
    return Outbound(urls, provider.api != "simulated", headers)


def outbound_by_provider(
    artifact: Artifact, modules: Mapping[str, ProviderModule], secrets: Secrets
) -> dict[str, Outbound]:
    return {name: outbound(p, modules[name], secrets) for name, p in artifact.providers.items()}
