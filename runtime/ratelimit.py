"""Rate-limit header dialects, normalised into one `RateInfo` record (protocols.md §4).

Placeholder signatures: the parsers are implemented with their tests in the rate-limit work.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec


class RateInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What one upstream response said about quota. Deadlines are absolute on the caller's clock."""

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests_at: float | None = None
    requests_window: float | None = None
    """Window the request counters describe in seconds (60, 3600, 86400), when known."""
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens_at: float | None = None
    tokens_window: float | None = None
    retry_after: float | None = None
    """Seconds to wait, from `retry-after-ms` or `retry-after`; wins over computed resets."""


EMPTY = RateInfo()


def parse_anthropic(headers: Mapping[str, str], now: float) -> RateInfo:
    raise NotImplementedError


def parse_openai(headers: Mapping[str, str], now: float) -> RateInfo:
    raise NotImplementedError


def parse_groq(headers: Mapping[str, str], now: float) -> RateInfo:
    raise NotImplementedError


def parse_cerebras(headers: Mapping[str, str], now: float) -> RateInfo:
    raise NotImplementedError


def parse_openrouter(headers: Mapping[str, str], now: float) -> RateInfo:
    raise NotImplementedError


def parse_none(headers: Mapping[str, str], now: float) -> RateInfo:
    raise NotImplementedError
