"""Small builders for artifact pieces used by the routing tests."""

from __future__ import annotations

from runtime.artifact import (
    Artifact,
    Breaker,
    Chain,
    Key,
    Limits,
    Provider,
    Queue,
    Routes,
    Server,
    Step,
    Strategy,
)
from runtime.routing.state import RoutingState

NO_LIMITS = Limits()
DEFAULT_BREAKER = Breaker()
NO_QUEUE = Queue()


def key(provider: str, name: str, *, value: str | None = None, limits: Limits = NO_LIMITS) -> Key:
    return Key(id=f"{provider}#{name}", name=name, fingerprint=f"sha256:{value or name}", limits=limits)


def provider(
    name: str,
    keys: tuple[Key, ...] = (),
    *,
    enabled: bool = True,
    reason: str | None = None,
    breaker: Breaker = DEFAULT_BREAKER,
    limits: Limits = NO_LIMITS,
) -> Provider:
    return Provider(
        name=name,
        api="openai",
        base_url=f"http://127.0.0.1/{name}",
        module=name,
        rate_limit_family="openai",
        keys=keys,
        enabled=enabled,
        disabled_reason=reason,
        breaker=breaker,
        limits=limits,
    )


def chain(*steps: Step, strategy: Strategy = "failover", queue: Queue = NO_QUEUE, name: str = "c") -> Chain:
    return Chain(name=name, strategy=strategy, steps=steps, queue=queue)


def step(provider_name: str, model: str = "m", **extra: object) -> Step:
    return Step(provider=provider_name, model=model, **extra)  # type: ignore[arg-type]


def artifact(*providers: Provider, chains: tuple[Chain, ...] = ()) -> Artifact:
    return Artifact(
        format_version=1,
        relay_version="0",
        source_hash="sha256:0",
        sources=(),
        server=Server(),
        providers={p.name: p for p in providers},
        models={},
        chains={c.name: c for c in chains},
        routes=Routes(exact={}),
    )


def assert_cache_exact(state: RoutingState, now: float, tokens: int) -> None:
    """The cached verdict planning uses must equal a fresh computation at every instant."""
    for key_state in state._keys.values():  # white box: the cache is the subject
        cached = key_state.usable(now, tokens)
        key_state.invalidate()
        assert key_state.usable(now, tokens) == cached
