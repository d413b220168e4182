"""Each chain strategy as a pure policy over the same usable steps."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.artifact import Step
from runtime.routing.strategies import (
    STRATEGIES,
    Context,
    StepView,
    cost,
    latency,
    order,
    round_robin,
    shuffle,
    usage,
)


def view(index: int, headroom: float = 1.0, **step: object) -> StepView:
    return StepView(index, Step(provider=f"p{index}", model="m", **step), [], headroom)  # type: ignore[arg-type]


def indexes(views: list[StepView]) -> list[int]:
    return [v.index for v in views]


VIEWS = [view(0), view(1), view(2)]


@pytest.mark.parametrize(("turn", "expected"), [(0, [0, 1, 2]), (1, [1, 2, 0]), (5, [2, 0, 1])])
def test_round_robin(turn: int, expected: list[int]) -> None:
    assert indexes(round_robin(VIEWS, Context(random.Random(0), turn=turn))) == expected


def test_failover_keeps_order() -> None:
    assert indexes(order("failover", VIEWS, Context(random.Random(0)))) == [0, 1, 2]


def test_shuffle_first_pick_follows_weight() -> None:
    views = [view(0, weight=1.0), view(1, weight=3.0), view(2, weight=0.0)]
    ctx = Context(random.Random(1234))
    firsts = Counter(shuffle(views, ctx)[0].index for _ in range(4000))
    assert firsts[2] == 0
    assert 0.70 < firsts[1] / 4000 < 0.80  # 3 / (1 + 3)
    assert all(indexes(shuffle(views, ctx))[-1] == 2 for _ in range(50))


def test_latency_prefers_unmeasured_then_fastest() -> None:
    measured = {"p0": 0.9, "p1": None, "p2": 0.2}
    ctx = Context(random.Random(0), latency=lambda s: measured[s.provider])
    runs = [indexes(latency(VIEWS, ctx)) for _ in range(400)]
    assert Counter(tuple(r) for r in runs).most_common(1)[0][0] == (1, 2, 0)
    explored = [r for r in runs if r != [1, 2, 0]]
    assert 0 < len(explored) < 60  # a little exploration, not a shuffle
    assert all(sorted(r) == [0, 1, 2] for r in explored)


@pytest.mark.parametrize(
    ("est_output", "expected"),
    [(0, [1, 0, 3, 2]), (500, [0, 3, 1, 2])],
)
def test_cost_cheapest_first_unknown_last(est_output: int, expected: list[int]) -> None:
    views = [
        view(0, cost_input=3.0, cost_output=1.0),
        view(1, cost_input=1.0, cost_output=15.0),
        view(2),
        view(3, cost_input=10.0),
    ]
    assert indexes(cost(views, Context(random.Random(0), est_tokens=1000, est_output=est_output))) == expected


def test_usage_most_headroom_first() -> None:
    views = [view(0, 0.1), view(1, 0.9), view(2, 0.5)]
    assert indexes(usage(views, Context(random.Random(0)))) == [1, 2, 0]


@given(
    st.sampled_from(sorted(STRATEGIES)),
    st.lists(st.tuples(st.floats(0, 1), st.floats(0, 5), st.none() | st.floats(0, 50)), max_size=8),
    st.integers(0, 1000),
)
def test_every_strategy_keeps_every_step(
    strategy: str, specs: list[tuple[float, float, float | None]], seed: int
) -> None:
    views = [view(i, room, weight=w, cost_input=c) for i, (room, w, c) in enumerate(specs)]
    ctx = Context(random.Random(seed), turn=seed, est_tokens=100, latency=lambda s: float(len(s.provider)))
    assert sorted(indexes(order(strategy, views, ctx))) == list(range(len(views)))  # type: ignore[arg-type]
