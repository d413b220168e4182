"""Per-chain capacity from configured limits: what a chain can serve before every key is spent.

Sums each limit over the enabled keys of every step (a keyless provider counts once with its
own limits; a simulated one also by its simulated rpm). A key without a given limit makes
that figure unknown for the chain: the sum would be a guess, so it is reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.artifact import Chain, Limits, Provider

METRICS = ("rpm", "rpd", "tpm", "tpd")


@dataclass(frozen=True)
class Capacity:
    chain: str
    steps: int
    enabled_steps: int
    totals: dict[str, int | None]
    """Metric to the summed limit; None when some enabled key has no limit for it."""


def key_limits(provider: Provider) -> list[Limits]:
    if provider.keys:
        return [k.limits for k in provider.keys]
    limits = provider.limits
    if provider.simulate is not None and provider.simulate.rpm is not None:
        rpm = min(x for x in (limits.rpm, provider.simulate.rpm) if x is not None)
        limits = Limits(
            rpm=rpm, rpd=limits.rpd, tpm=limits.tpm, tpd=limits.tpd, concurrency=limits.concurrency
        )
    return [limits]


def chain_capacity(chain: Chain, providers: dict[str, Provider]) -> Capacity:
    live = [providers[s.provider] for s in chain.steps if providers[s.provider].enabled]
    totals: dict[str, int | None] = {}
    for metric in METRICS:
        values = [getattr(limits, metric) for p in live for limits in key_limits(p)]
        totals[metric] = None if not values or None in values else sum(values)
    return Capacity(chain.name, len(chain.steps), len(live), totals)


def capacities(chains: dict[str, Chain], providers: dict[str, Provider]) -> list[Capacity]:
    return [chain_capacity(c, providers) for _, c in sorted(chains.items())]
