"""What the loader works out per chain equals what a request used to work out itself, and
a chain it marks as needing no conversation key never has two candidates to reorder."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from runtime.artifact import Chain, Provider, Step
from runtime.clock import FakeClock
from runtime.routing.state import RoutingState
from runtime.server.chain_needs import chain_needs
from runtime.server.loader import load
from tests.routing.routing_helpers import artifact, chain, key, provider
from tests.runtime.test_loader import build

PROVIDERS = tuple(
    provider(name, tuple(key(name, f"k{i}") for i in range(count)), enabled=enabled)
    for name, count, enabled in (("none", 0, True), ("one", 1, True), ("two", 2, True), ("off", 2, False))
)
BY_NAME: dict[str, Provider] = {p.name: p for p in PROVIDERS}

steps = st.builds(
    Step,
    provider=st.sampled_from([*BY_NAME, "unknown"]),
    model=st.sampled_from(["m", "n"]),
    context=st.none() | st.integers(1, 10**6),
    capabilities=st.none() | st.just(()) | st.just(("tools",)),
)
chains = st.lists(steps, max_size=4).map(lambda s: chain(*s))


@given(chains)
def test_a_chains_needs_are_what_each_request_computed(c: Chain) -> None:
    needs = chain_needs(c, BY_NAME)
    assert needs.smallest_window == min((s.context for s in c.steps if s.context is not None), default=None)
    assert needs.capabilities == any(s.capabilities is not None for s in c.steps)


@given(chains)
def test_a_chain_without_affinity_never_plans_two_candidates(c: Chain) -> None:
    """Affinity only reorders a plan of two or more candidates (`RoutingState._stick`): on a
    chain the loader says needs none, a fresh state, every key usable, plans at most one."""
    state = RoutingState(FakeClock(), random.Random(0))
    state.sync(artifact(*PROVIDERS, chains=(c,)))
    plan = state.plan(c, BY_NAME, est_tokens=1, affinity="c\0conversation")
    if len(plan.candidates) > 1:
        assert chain_needs(c, BY_NAME).affinity


def test_the_loader_works_out_every_chain(tmp_path: Path) -> None:
    build(tmp_path / "artifact")
    snap = load(tmp_path / "artifact")
    assert snap.needs and snap.needs.keys() == snap.artifact.chains.keys()
    for name, found in snap.needs.items():
        assert found == chain_needs(snap.artifact.chains[name], snap.artifact.providers)
