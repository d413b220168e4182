"""What a request on a chain has to work out, decided once per loaded artifact.

Some of a request's figures serve only some chains: the input floor only a chain whose
steps state a context window, the required capabilities only a chain whose steps state
theirs, the conversation key (a hash of the opening messages) only a chain where affinity
can move anything, one with more than one candidate (several steps, or a step with several
keys). The loader works this out for every chain (`Snapshot.needs`), so a request on a
one-step, one-key chain computes none of them; a chain built per request (`provider/model`
direct access) is worked out when it is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from runtime.artifact import Artifact, Chain, Provider


class ChainNeeds(NamedTuple):
    smallest_window: int | None
    """The smallest context window a step states; None when none does (nothing to measure)."""
    capabilities: bool
    """Some step states its capabilities: the request's required ones are worked out."""
    affinity: bool
    """More than one candidate: the conversation's last landing may reorder the plan."""


def chain_needs(chain: Chain, providers: Mapping[str, Provider]) -> ChainNeeds:
    steps = chain.steps
    single = providers.get(steps[0].provider) if len(steps) == 1 else None
    return ChainNeeds(
        smallest_window=min((s.context for s in steps if s.context is not None), default=None),
        capabilities=any(s.capabilities is not None for s in steps),
        affinity=len(steps) > 1 or (single is not None and len(single.keys) > 1),
    )


def needs_by_chain(artifact: Artifact) -> dict[str, ChainNeeds]:
    return {name: chain_needs(chain, artifact.providers) for name, chain in artifact.chains.items()}
