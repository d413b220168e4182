"""Pricing arithmetic: what a request cost and what it would have cost at the reference."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from runtime.artifact import Price, Step
from runtime.ops.pricing import costs
from runtime.upstream.stream_watch import FrameWatch
from runtime.upstream.usage import from_anthropic, from_openai

prices = st.builds(
    Price,
    input=st.floats(0, 1000),
    output=st.floats(0, 1000),
    cache_read=st.floats(0, 1000),
    cache_write=st.floats(0, 1000),
)
counts = st.integers(0, 2_000_000)


@st.composite
def usages(draw: st.DrawFn) -> dict[str, int]:
    fresh, read, write, output = draw(counts), draw(counts), draw(counts), draw(counts)
    prompt = fresh + read + write
    return {
        "input": prompt,
        "output": output,
        "cached": read + write,
        "total": prompt + output,
        "cache_read": read,
        "cache_write": write,
    }


def test_each_token_kind_has_its_own_price() -> None:
    price = Price(input=3, output=15, cache_read=0.3, cache_write=3.75)
    tokens = {
        "input": 1_000_000 + 2_000_000 + 4_000_000,
        "output": 1_000_000,
        "cache_read": 2_000_000,
        "cache_write": 4_000_000,
    }
    assert math.isclose(price.cost(tokens), 3 + 15 + 0.6 + 15)


@given(prices, usages())
def test_cost_is_the_sum_of_its_parts(price: Price, tokens: dict[str, int]) -> None:
    fresh = tokens["input"] - tokens["cache_read"] - tokens["cache_write"]
    parts = [
        Price(input=price.input).cost({"input": fresh}),
        Price(output=price.output).cost({"output": tokens["output"]}),
        Price(cache_read=price.cache_read).cost(
            {"input": tokens["cache_read"], "cache_read": tokens["cache_read"]}
        ),
        Price(cache_write=price.cache_write).cost(
            {"input": tokens["cache_write"], "cache_write": tokens["cache_write"]}
        ),
    ]
    assert price.cost(tokens) >= 0
    assert math.isclose(price.cost(tokens), sum(parts), rel_tol=1e-9, abs_tol=1e-9)


@given(prices, prices, usages())
def test_saved_is_reference_minus_actual(price: Price, reference: Price, tokens: dict[str, int]) -> None:
    actual, ref = costs(Step(provider="p", model="m", price=price, reference=reference), tokens)
    assert math.isclose(actual, price.cost(tokens)) and math.isclose(ref, reference.cost(tokens))


@given(prices, usages())
def test_without_a_reference_nothing_is_saved(price: Price, tokens: dict[str, int]) -> None:
    actual, ref = costs(Step(provider="p", model="m", price=price), tokens)
    assert actual == ref


def test_unpriced_or_unanswered_requests_cost_nothing() -> None:
    tokens = {"input": 10, "output": 5}
    assert costs(Step(provider="p", model="raw-id"), tokens) == (0.0, 0.0)
    assert costs(None, tokens) == (0.0, 0.0)
    assert costs(Step(provider="p", model="m", price=Price(input=1)), None) == (0.0, 0.0)
    free = Step(provider="p", model="m", price=Price(), reference=Price(input=1, output=1))
    assert costs(free, {"input": 1_000_000, "output": 1_000_000}) == (0.0, 2.0)


def test_usage_splits_cache_reads_from_writes_in_both_formats() -> None:
    anthropic = from_anthropic(
        {
            "input_tokens": 5,
            "output_tokens": 7,
            "cache_read_input_tokens": 60,
            "cache_creation_input_tokens": 30,
        }
    )
    assert anthropic == {
        "input": 95,
        "output": 7,
        "cached": 90,
        "total": 102,
        "cache_read": 60,
        "cache_write": 30,
    }
    openai = from_openai(
        {
            "prompt_tokens": 95,
            "completion_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 60, "cache_write_tokens": 30},
        }
    )
    assert openai is not None and (openai["cache_read"], openai["cache_write"], openai["input"]) == (
        60,
        30,
        95,
    )


def test_a_stream_keeps_message_starts_cache_parts_when_message_delta_omits_them() -> None:
    """Anthropic streams report the prompt (cache parts included) in `message_start` and the
    final output count in `message_delta`; pricing needs both."""
    watch = FrameWatch("anthropic")
    start = {
        "type": "message_start",
        "message": {
            "usage": {
                "input_tokens": 5,
                "output_tokens": 1,
                "cache_read_input_tokens": 60,
                "cache_creation_input_tokens": 30,
            }
        },
    }
    watch.take(b"event: message_start\ndata: " + json.dumps(start).encode() + b"\n\n")
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 42}}
    watch.take(b"event: message_delta\ndata: " + json.dumps(delta).encode() + b"\n\n")
    assert watch.usage == {
        "input": 95,
        "output": 42,
        "cached": 90,
        "total": 137,
        "cache_read": 60,
        "cache_write": 30,
    }
