"""The call an active health probe makes (`health.interval`): cheap, and never user traffic.

A models list costs no tokens, so it is preferred; a provider without one gets a one-token
generation. The probe goes through the provider's own transport (warm connections, same
base URL) but not through routing state: no window, quota or concurrency slot is used, and
only the provider's health hears the verdict (`RoutingState.record_probe`).
"""

from __future__ import annotations

import asyncio

import msgspec

from runtime.artifact import Provider
from runtime.server.loader import Snapshot
from runtime.upstream.client import AiohttpUpstream, UpstreamConnectError, UpstreamRegistry, UpstreamResponse

PROBE_TIMEOUT = 10.0
"""Upper bound on one probe, whatever the provider's first-byte timeout says."""

_encode = msgspec.json.Encoder().encode


class ProbeCall(msgspec.Struct, frozen=True):
    url: str
    headers: list[tuple[str, str]]
    body: bytes | None
    """None: a GET of the models list."""


def probe_call(snap: Snapshot, provider: Provider) -> ProbeCall | None:
    """What to send to show `provider` answers, with its first key; None when it has no
    endpoint to ask."""
    module = snap.modules[provider.name]
    headers: list[tuple[str, str]] = []
    if provider.api == "anthropic":
        headers.append(("anthropic-version", "2023-06-01"))
    headers.extend(module.STATIC_HEADERS)
    value = snap.key_value(provider.keys[0].id) if provider.keys else None
    if value is not None:
        headers.extend(module.auth_headers(value))
    if module.MODELS_URL:
        return ProbeCall(module.MODELS_URL, headers, None)
    url = module.MESSAGES_URL or module.CHAT_URL
    chains = snap.artifact.chains.values()
    model = next((s.model for chain in chains for s in chain.steps if s.provider == provider.name), None)
    if not url or not model:
        return None
    headers.append(("content-type", "application/json"))
    body = {"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": "ping"}]}
    return ProbeCall(url, headers, _encode(body))


def answered(status: int) -> bool:
    """Any answer below 500 means the provider is up: a 401 or 404 is about the probe, not
    about the provider's health, and a 429 is a quota the key windows already track."""
    return status < 500


async def probe(snap: Snapshot, upstreams: UpstreamRegistry, provider: Provider) -> bool:
    """True when `provider` answered in time; in-process providers are always up."""
    upstream = upstreams.get(provider)
    call = probe_call(snap, provider)
    if call is None or provider.api == "simulated":
        return True
    try:
        async with asyncio.timeout(min(provider.timeouts.first_byte, PROBE_TIMEOUT)):
            resp: UpstreamResponse
            if call.body is None and isinstance(upstream, AiohttpUpstream):
                resp = await upstream.get(call.url, call.headers)
            else:
                resp = await upstream.open(call.url, call.headers, call.body or b"")
            resp.close()
    except (TimeoutError, UpstreamConnectError):
        return False
    return answered(resp.status)
