"""Who made a thinking block (account, model family), and affinity preferring that account."""

from __future__ import annotations

import asyncio
import random

import msgspec
import pytest

from runtime.clock import FakeClock
from runtime.routing.state import RoutingState
from runtime.routing.thinking_owners import ThinkingOwners, model_family, owner

from .routing_helpers import artifact, chain, key, provider, step


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5"),
        ("claude-opus-4-1", "claude-opus-4-1"),
        ("claude-opus-4-8", "claude-opus-4-8"),
    ],
)
def test_a_snapshot_and_its_alias_are_one_family(model: str, family: str) -> None:
    assert model_family(model) == family


def test_a_key_is_its_own_account_unless_it_names_one() -> None:
    own, named = key("p", "k1"), msgspec.structs.replace(key("p", "k2"), account="team")
    p = provider("p", (own, named))
    assert owner(p, own, step("p", "claude-x-20250101")) == ("sha256:k1", "claude-x")
    assert owner(p, named, step("p")) == ("team", "m")
    assert owner(provider("cloud"), None, step("cloud")) == ("provider:cloud", "m")


def test_owners_are_bounded_expire_and_keep_no_signature_text() -> None:
    owners = ThinkingOwners(capacity=2, ttl=10.0)
    a, b = ("a", "m"), ("b", "m")
    assert not owners.may_differ(a)
    owners.learn(["s1", "", "s2"], a, now=0.0)
    assert (owners.get("s1", 1.0), owners.get("s2", 1.0), owners.get("", 1.0)) == (a, a, None)
    assert not owners.may_differ(a) and owners.may_differ(b)
    owners.learn(["s3"], b, now=2.0)  # s1 was used least recently: it goes
    assert (owners.get("s1", 3.0), owners.get("s2", 3.0), owners.get("s3", 3.0)) == (None, a, b)
    assert owners.may_differ(a) and len(owners) == 2
    assert owners.get("s2", 10.0) is None and len(owners) == 1  # learned at 0: expired
    assert all(b"s3" not in digest for digest in owners._entries)


def test_affinity_moves_a_conversation_to_another_key_of_its_account_first() -> None:
    """k1 served the conversation; once it is out, k3 (same account) goes before k2 (another
    account), whatever their headroom; a conversation with no account history is untouched."""
    team = [
        msgspec.structs.replace(key("p", n), account=acct)
        for n, acct in [("k1", "x"), ("k2", "y"), ("k3", "x")]
    ]
    p = provider("p", tuple(team))
    clock = FakeClock()
    state = RoutingState(clock, random.Random(1))
    state.sync(artifact(p))
    c, providers = chain(step("p")), {"p": p}
    plan = state.plan(c, providers, est_tokens=1, affinity="conv")
    first = next(cand for cand in plan.candidates if cand.key == team[0])
    lease = asyncio.run(state.begin(first, 1, affinity="conv"))
    assert lease is not None
    state.succeed(lease, 0.1)
    state.end(lease, 1)
    lease = asyncio.run(state.begin(first, 1))
    assert lease is not None
    state.fail(lease, "rate_limited", retry_after=30)
    state.end(lease, None)
    moved = state.plan(c, providers, est_tokens=1, affinity="conv")
    assert [cand.key.name for cand in moved.candidates if cand.key] == ["k3", "k2"]
    fresh = state.plan(c, providers, est_tokens=1, affinity="other")
    assert [cand.key.name for cand in fresh.candidates if cand.key] == ["k2", "k3"]  # the pool's turn
