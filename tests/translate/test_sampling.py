"""Sampling parameters toward Anthropic-format models: the table and the fitting function
against the refusals Anthropic documents (docs/translation.md, "The current Anthropic API")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.translate import openai_request_to_anthropic
from runtime.translate.sampling import THINKING_TOP_P, accepts, fit_request, fit_sampling, known

MODELS = [
    "claude-3-7-sonnet-20250219",
    "claude-sonnet-4-20250514",
    "claude-opus-4-1-20250805",
    "claude-sonnet-4-5",
    "claude-haiku-4-5-20251001",
    "claude-opus-4-7",
    "us.anthropic.claude-opus-4-7-v1",
    "claude-opus-4-8@20260901",
    "claude-sonnet-5-5",
    "claude-fable-5-2",
    "deepseek-chat",
]


@pytest.mark.parametrize(
    ("model", "rule"),
    [
        ("claude-3-7-sonnet-20250219", "all"),
        ("claude-3-5-haiku-20241022", "all"),
        ("claude-opus-4-20250514", "all"),
        ("claude-opus-4-1-20250805", "one"),
        ("claude-sonnet-4-5-20250929", "one"),
        ("claude-opus-4-6", "one"),
        ("claude-haiku-4-5", "one"),
        ("claude-opus-4-7", "none"),
        ("anthropic.claude-opus-4-7-v1:0", "none"),
        ("claude-opus-4-8@20260901", "none"),
        ("claude-opus-5-5", "none"),
        ("claude-mythos-5-1", "none"),
        ("kimi-k2", "one"),
    ],
)
def test_the_table_places_each_model_id_in_its_family(model: str, rule: str) -> None:
    assert accepts(model, "2023-06-01") == rule


def test_the_2026_10_21_version_takes_no_sampling_parameter_on_any_model() -> None:
    assert {accepts(m, "2026-10-21") for m in MODELS} == {"none"}


def refused(kept: dict[str, float], model: str, version: str, thinking: bool) -> bool:
    """Whether Anthropic would answer 400, as its migration guides state the conditions."""
    rule = accepts(model, version)
    if rule == "none":
        return bool(kept)
    if thinking and ("temperature" in kept or "top_k" in kept):
        return True
    if thinking and "top_p" in kept and not THINKING_TOP_P[0] <= kept["top_p"] <= THINKING_TOP_P[1]:
        return True
    return rule == "one" and "temperature" in kept and "top_p" in kept


WANTED = st.dictionaries(
    st.sampled_from(["temperature", "top_p", "top_k"]), st.floats(0, 1) | st.sampled_from([0.95, 1.0])
)


@given(
    wanted=WANTED,
    model=st.sampled_from(MODELS),
    version=st.sampled_from(["2023-06-01", "2026-10-21"]),
    thinking=st.booleans(),
)
def test_what_is_kept_is_accepted_and_only_what_must_go_is_dropped(
    wanted: dict[str, float], model: str, version: str, thinking: bool
) -> None:
    kept, dropped = fit_sampling(wanted, model, version, thinking)
    assert not refused(kept, model, version, thinking)
    assert kept == {k: v for k, v in wanted.items() if k in kept}
    assert set(dropped) == wanted.keys() - kept.keys() and len(dropped) == len(set(dropped))
    for name in dropped:  # each dropped one was needed: adding it back is refused
        assert refused({**kept, name: wanted[name]}, model, version, thinking)


def test_translation_names_what_it_left_out() -> None:
    body = {"model": "gpt", "temperature": 0.3, "top_p": 0.5, "messages": [{"role": "user", "content": "x"}]}
    dropped: list[str] = []
    out = openai_request_to_anthropic(
        body,
        upstream_model="claude-opus-4-7",
        anthropic_version="2023-06-01",
        default_max_tokens=9,
        dropped=dropped,
    )
    assert "temperature" not in out and "top_p" not in out and dropped == ["temperature", "top_p"]
    dropped.clear()
    out = openai_request_to_anthropic(
        {**body, "reasoning_effort": "high", "top_p": 0.97},
        upstream_model="claude-sonnet-4-5",
        anthropic_version="2023-06-01",
        default_max_tokens=32000,
        dropped=dropped,
    )
    assert out["thinking"]["type"] == "enabled" and out["top_p"] == 0.97 and dropped == ["temperature"]


@given(
    wanted=WANTED,
    model=st.sampled_from(MODELS),
    version=st.sampled_from(["2023-06-01", "2026-10-21"]),
    thinking=st.sampled_from([None, "enabled", "adaptive", "disabled"]),
)
def test_a_passthrough_body_loses_only_the_sampling_its_model_refuses(
    wanted: dict[str, float], model: str, version: str, thinking: str | None
) -> None:
    body: dict[str, object] = {"model": "m", "max_tokens": 5, "future": {"kept": [1]}, **wanted}
    if thinking is not None:
        body["thinking"] = {"type": thinking, "budget_tokens": 1024}
    out, lost = fit_request(body, model, version)
    on = thinking in ("enabled", "adaptive")
    assert not refused({k: v for k, v in out.items() if k in wanted}, model, version, on)
    assert {k: v for k, v in body.items() if k not in lost} == out
    if not lost:
        assert out is body  # nothing re-encoded when nothing goes


def test_only_known_families_are_fitted_in_passthrough() -> None:
    assert [m for m in MODELS if not known(m)] == ["deepseek-chat"]
