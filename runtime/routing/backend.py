"""Where routing state is shared: one small interface, a memory and a Redis implementation.

`RoutingState` keeps every policy and a local view of every key; a backend only decides
whether a reservation is granted and spreads what one process learned to the others. The
memory backend (default) is the local view itself, so nothing but asyncio sits on the hot
path. The Redis backend (`runtime.routing.redis_backend`, imported only when configured) makes one
round trip per `reserve` and sends everything else behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from runtime.clock import Clock, monotonic
from runtime.routing.changes import Hook, ignore
from runtime.routing.health import ProviderHealth
from runtime.routing.keystate import KeyState, Reservation
from runtime.routing.ratelimit import RateInfo


class SharedCounts(NamedTuple):
    """One key's counts across every worker and instance (`StateBackend.peek`)."""

    used: dict[tuple[str, float], float]
    """Units in each window, by (kind "r"/"t", span)."""
    inflight: int


class StateBackend(Protocol):
    hook: Hook
    """Told when the backend degrades or recovers (`RoutingState.on_change` sets it)."""

    async def reserve(
        self,
        state: KeyState,
        health: ProviderHealth,
        now: float,
        tokens: int,
        prompt: int | None,
        force: bool,
    ) -> Reservation | None:
        """Grant one attempt on `state`'s key, or None when any shared limit says no; what
        other processes learned (cooldowns, open breakers, quotas) is applied to the local view.
        `force` (the panic rule) ignores what is only inference: backoffs, breakers, quota countdowns."""
        ...

    def release(self, state: KeyState, reservation: Reservation, tokens_used: int | None) -> None: ...

    def cooled(self, state: KeyState, until: float, reason: str, stated: bool) -> None:
        """A key's cooldown (`stated`) or backoff was set or extended to `until` (local clock)."""
        ...

    def learned(self, state: KeyState, info: RateInfo) -> None: ...

    def tripped(self, provider: str, state: KeyState | None, until: float) -> None:
        """A breaker opened until `until`: the provider's when `state` is None, else the key's."""
        ...

    def recovered(self, provider: str, state: KeyState | None) -> None:
        """The provider (`state` None) or the key answered a probe or a panic attempt: its open
        breaker, and a key's backoff, end now for every process."""
        ...

    def snapshot(self) -> dict[str, object]: ...

    async def peek(self, keys: Sequence[tuple[KeyState, ProviderHealth]]) -> dict[str, SharedCounts]:
        """For the operator's view: adopt what other processes published for these keys and
        return their shared counts by key slot; empty when the local view is the whole truth."""
        ...

    async def close(self) -> None: ...


class MemoryBackend:
    """One process: the local key state is the whole truth."""

    def __init__(self) -> None:
        self.hook: Hook = ignore

    async def reserve(
        self,
        state: KeyState,
        health: ProviderHealth,
        now: float,
        tokens: int,
        prompt: int | None,
        force: bool,
    ) -> Reservation | None:
        return state.reserve(now, tokens, prompt, force=force)

    def release(self, state: KeyState, reservation: Reservation, tokens_used: int | None) -> None:
        state.release(reservation, tokens_used)

    def cooled(self, state: KeyState, until: float, reason: str, stated: bool) -> None:
        pass

    def learned(self, state: KeyState, info: RateInfo) -> None:
        pass

    def tripped(self, provider: str, state: KeyState | None, until: float) -> None:
        pass

    def recovered(self, provider: str, state: KeyState | None) -> None:
        pass

    def snapshot(self) -> dict[str, object]:
        return {"backend": "memory"}

    async def peek(self, keys: Sequence[tuple[KeyState, ProviderHealth]]) -> dict[str, SharedCounts]:
        return {}

    async def close(self) -> None:
        pass


class StateUrlError(ValueError):
    """`server.state` names no backend relay can use; raised before any worker starts."""


def check_state_url(url: str) -> None:
    """Parse `url` as `make_backend` would, without connecting. The message never repeats
    the URL, which may carry a Redis password."""
    if url == "memory":
        return
    from redis.asyncio.connection import parse_url

    try:
        parse_url(url)
    except ValueError as exc:
        raise StateUrlError(f"server.state is not a usable Redis URL: {exc}") from None


def make_backend(url: str, *, clock: Clock = monotonic) -> StateBackend:
    """`memory`, or a `redis://` / `rediss://` / `unix://` URL (`Server.state`); `clock` is
    the routing state's, so shared deadlines convert onto it."""
    if url == "memory":
        return MemoryBackend()
    from runtime.routing.redis_backend import RedisBackend

    return RedisBackend.from_url(url, clock=clock)
