"""`from_openai` counts usage in one step what the translator's OpenAI → Anthropic mapping
followed by `from_anthropic` counts in two: the same numbers for any usage object."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from runtime.translate.usage import anthropic_usage_to_openai, openai_usage_to_anthropic
from runtime.upstream.usage import from_anthropic, from_openai

# Anything a JSON usage object may hold where a count is expected.
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 2_000_000),
    st.floats(allow_nan=False),
    st.text(max_size=3),
    st.lists(st.integers(), max_size=2),
)
detail_keys = st.sampled_from(["cached_tokens", "cache_write_tokens", "audio_tokens"])
top_keys = st.sampled_from(
    ["prompt_tokens", "completion_tokens", "total_tokens", "prompt_cache_hit_tokens", "extra"]
)
details = st.one_of(values, st.dictionaries(detail_keys, values, max_size=3))
usage_objects = st.builds(
    lambda top, d, has: {**top, "prompt_tokens_details": d} if has else top,
    st.dictionaries(top_keys, values, max_size=5),
    details,
    st.booleans(),
)


@given(usage_objects)
def test_one_step_counts_what_the_translator_and_from_anthropic_count(raw: dict[str, Any]) -> None:
    assert from_openai(raw) == from_anthropic(openai_usage_to_anthropic(raw))


def test_a_json_true_or_a_negative_number_is_no_count_in_any_reader() -> None:
    for odd in (True, -3):
        got = from_openai({"prompt_tokens": odd, "completion_tokens": odd})
        assert got is not None and got["input"] == got["output"] == 0
        got = from_anthropic({"input_tokens": odd, "output_tokens": odd, "cache_read_input_tokens": odd})
        assert got is not None and got["input"] == got["output"] == got["cached"] == 0
        assert openai_usage_to_anthropic({"prompt_tokens": odd})["input_tokens"] == 0
        assert anthropic_usage_to_openai({"input_tokens": odd})["prompt_tokens"] == 0


def test_cached_and_written_tokens_are_part_of_the_prompt() -> None:
    got = from_openai(
        {
            "prompt_tokens": 10,
            "completion_tokens": 2,
            "prompt_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 3},
        }
    )
    assert got == {"input": 10, "output": 2, "cached": 7, "total": 12, "cache_read": 4, "cache_write": 3}


def test_deepseeks_top_level_cache_hits_count_as_reads() -> None:
    got = from_openai({"prompt_tokens": 10, "prompt_cache_hit_tokens": 6})
    assert got is not None and (got["cache_read"], got["input"]) == (6, 10)
