"""Which sampling parameters an Anthropic-format model accepts, so translated requests carry
only those (docs/translation.md, "The current Anthropic API").

Anthropic has narrowed them model by model, each refusal a 400 before any token:
Claude 4.1-4.6 models (`one`) refuse `temperature` together with `top_p` ("cannot both be
specified for this model"); Opus 4.7 and every later model (`none`) refuse all three
("`temperature` is deprecated for this model"); on `anthropic-version: 2026-10-21` every model
does. With thinking on, `temperature` and `top_k` are refused and `top_p` is taken only
between 0.95 and 1. The table is data, matched as a substring of the upstream model id so
Bedrock (`us.anthropic.claude-opus-4-7-v1`) and Vertex (`claude-opus-4-7@…`) ids find their
family; a model it does not know (a newer Claude, or another vendor's Anthropic-format API)
gets `one`, which every current model takes.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

Accepts = Literal["all", "one", "none"]
"""`all`: any combination; `one`: not `temperature` with `top_p`; `none`: no sampling parameter."""

VERSION_WITHOUT_SAMPLING = "2026-10-21"
"""From this `anthropic-version` on, no model takes `temperature`, `top_p` or `top_k`."""

FAMILIES: tuple[tuple[str, Accepts], ...] = (
    (r"claude-(?:opus|sonnet|haiku)-[5-9]|claude-(?:fable|mythos)", "none"),
    (r"claude-opus-4-[7-9](?![0-9])", "none"),
    (r"claude-(?:opus|sonnet|haiku)-4-[1-6](?![0-9])", "one"),
    (r"claude-(?:opus|sonnet)-4-20\d{6}|claude-3", "all"),
)
"""First match wins; the patterns are searched in the model id."""

THINKING_TOP_P = (0.95, 1.0)
"""The `top_p` range a model takes with thinking on."""
SAMPLING = ("temperature", "top_p", "top_k")
THINKING_ON = frozenset({"enabled", "adaptive"})
"""`thinking.type` values that turn thinking on (`disabled` does not)."""


@functools.lru_cache(maxsize=256)
def accepts(model: str, version: str) -> Accepts:
    """The model's sampling rule on `version`; cached, since a table holds few upstream models."""
    if version >= VERSION_WITHOUT_SAMPLING:
        return "none"
    return next((rule for pattern, rule in FAMILIES if re.search(pattern, model)), "one")


@functools.lru_cache(maxsize=256)
def known(model: str) -> bool:
    """Whether the table names the model's family. A same-format request is fitted only then:
    for a model it does not know (another vendor's Anthropic-format API) the client's values
    go as written."""
    return any(re.search(pattern, model) for pattern, _ in FAMILIES)


def fit_request(body: dict[str, Any], model: str, version: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """An Anthropic request as `model` takes it on `version`, and the sampling parameters it
    lost: passthrough to a model the client did not name (a chain's step) must not 400 on a
    parameter the client's own model took."""
    wanted = {
        name: body[name]
        for name in SAMPLING
        if isinstance(body.get(name), int | float) and not isinstance(body.get(name), bool)
    }
    setting = body.get("thinking")
    thinking = isinstance(setting, dict) and setting.get("type") in THINKING_ON
    _, lost = fit_sampling(wanted, model, version, thinking)
    if not lost:
        return body, ()
    return {k: v for k, v in body.items() if k not in lost}, lost


def fit_sampling(
    wanted: dict[str, float], model: str, version: str, thinking: bool
) -> tuple[dict[str, float], tuple[str, ...]]:
    """The sampling parameters of `wanted` the model takes, and the names of those it does
    not (in `wanted`'s order). With `one`, `temperature` is kept over `top_p`: it is what
    OpenAI-format clients set on purpose, `top_p` often a library default."""
    rule = accepts(model, version)
    kept: dict[str, float] = {}
    if rule != "none":
        low, high = THINKING_TOP_P
        kept = {
            name: value
            for name, value in wanted.items()
            if not thinking or (name == "top_p" and low <= value <= high)
        }
        if rule == "one" and "temperature" in kept:
            kept.pop("top_p", None)
    return kept, tuple(name for name in wanted if name not in kept)
