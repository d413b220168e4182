"""Active health probes (`health.interval`): a background loop, cheap checks, no user traffic.

The check itself (a models list or a one-token request through the provider's transport)
is injected by the server, so this loop stays free of I/O details and testable with a fake.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from runtime.artifact import Provider
from runtime.routing.state import RoutingState

Check = Callable[[Provider], Awaitable[bool]]
"""True when the provider answered the probe sensibly; its own timeouts apply."""

log = logging.getLogger("relay.probes")


async def probe_once(state: RoutingState, providers: Mapping[str, Provider], check: Check) -> int:
    """Probe every provider that is due, concurrently; returns how many were probed."""
    due = state.probes_due(providers)

    async def one(provider: Provider) -> None:
        try:
            ok = await check(provider)
        except Exception as exc:  # a probe that blows up is a failed probe, never a crash
            log.debug("probe of %s failed: %s", provider.name, exc)
            ok = False
        state.record_probe(provider, ok)

    await asyncio.gather(*(one(p) for p in due))
    return len(due)


async def probe_forever(
    state: RoutingState,
    providers: Callable[[], Mapping[str, Provider]],
    check: Check,
    *,
    tick: float = 1.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Run until cancelled; `providers` is read each tick so a hot reload is followed."""
    while True:
        await probe_once(state, providers(), check)
        await sleep(tick)
