"""Transports survive reloads that leave a provider's connection as it was, found by the
provider's identity first (the same loaded artifact) and by its connection settings after."""

from __future__ import annotations

import asyncio

import msgspec

from runtime.upstream.client import UpstreamRegistry
from tests.routing.routing_helpers import key, provider


def test_a_transport_is_kept_while_the_connection_settings_are() -> None:
    async def check() -> None:
        registry = UpstreamRegistry(drain_seconds=0.0)
        first = provider("p", (key("p", "k1"),))
        kept = registry.get(first)
        assert registry.get(first) is kept
        reloaded = msgspec.structs.replace(first, keys=(key("p", "k2"),))  # a new key, same connection
        assert registry.get(reloaded) is kept
        assert registry.get(first) is kept  # the previous artifact's requests still in flight
        moved = msgspec.structs.replace(first, base_url="http://127.0.0.1/elsewhere")
        fresh = registry.get(moved)
        assert fresh is not kept
        assert registry.get(moved) is fresh
        await asyncio.sleep(0)  # the old transport is retired (closed after the drain)
        await registry.aclose()

    asyncio.run(check())
