"""Rate-limit header dialects (protocols.md §4) normalised into RateInfo."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from runtime.routing.ratelimit import (
    EMPTY,
    RateInfo,
    parse_anthropic,
    parse_cerebras,
    parse_groq,
    parse_none,
    parse_openai,
    parse_openrouter,
)

Parser = Callable[..., RateInfo]
NOW = 1000.0
WALL = 1_755_780_000.0  # 2025-08-21T12:40:00Z
ALL: list[Parser] = [parse_anthropic, parse_openai, parse_groq, parse_cerebras, parse_openrouter, parse_none]

CASES: list[tuple[str, Parser, dict[str, str], RateInfo]] = [
    (
        "anthropic tightest token family, RFC 3339 resets",
        parse_anthropic,
        {
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "49",
            "anthropic-ratelimit-requests-reset": "2025-08-21T12:40:59Z",
            "anthropic-ratelimit-tokens-limit": "90000",
            "anthropic-ratelimit-tokens-remaining": "80000",
            "anthropic-ratelimit-tokens-reset": "2025-08-21T12:40:10Z",
            "anthropic-ratelimit-output-tokens-limit": "8000",
            "anthropic-ratelimit-output-tokens-remaining": "1000",
            "anthropic-ratelimit-output-tokens-reset": "2025-08-21T12:40:05Z",
        },
        RateInfo(
            limit_requests=50,
            remaining_requests=49,
            reset_requests_at=NOW + 59,
            requests_window=60,
            limit_tokens=8000,
            remaining_tokens=1000,
            reset_tokens_at=NOW + 5,
            tokens_window=60,
        ),
    ),
    (
        "anthropic 429 retry-after",
        parse_anthropic,
        {"retry-after": "12", "anthropic-ratelimit-requests-remaining": "0"},
        RateInfo(remaining_requests=0, requests_window=60, retry_after=12.0),
    ),
    (
        "anthropic subscription rejected",
        parse_anthropic,
        {
            "anthropic-ratelimit-unified-status": "rejected",
            "anthropic-ratelimit-unified-reset": str(int(WALL) + 300),
        },
        RateInfo(remaining_requests=0, reset_requests_at=NOW + 300),
    ),
    (
        "openai go durations, no window",
        parse_openai,
        {
            "x-ratelimit-limit-requests": "500",
            "x-ratelimit-remaining-requests": "499",
            "x-ratelimit-reset-requests": "120ms",
            "x-ratelimit-limit-tokens": "30000",
            "x-ratelimit-remaining-tokens": "29000",
            "x-ratelimit-reset-tokens": "6m0s",
            "retry-after-ms": "250",
            "retry-after": "1",
        },
        RateInfo(
            limit_requests=500,
            remaining_requests=499,
            reset_requests_at=NOW + 0.12,
            limit_tokens=30000,
            remaining_tokens=29000,
            reset_tokens_at=NOW + 360,
            retry_after=0.25,
        ),
    ),
    (
        "groq requests per day, tokens per minute",
        parse_groq,
        {
            "x-ratelimit-limit-requests": "14400",
            "x-ratelimit-remaining-requests": "14370",
            "x-ratelimit-reset-requests": "2m59.56s",
            "x-ratelimit-limit-tokens": "18000",
            "x-ratelimit-remaining-tokens": "17997",
            "x-ratelimit-reset-tokens": "7.66s",
        },
        RateInfo(
            limit_requests=14400,
            remaining_requests=14370,
            reset_requests_at=NOW + 179.56,
            requests_window=86400,
            limit_tokens=18000,
            remaining_tokens=17997,
            reset_tokens_at=NOW + 7.66,
            tokens_window=60,
        ),
    ),
    (
        "cerebras windows in names, float seconds",
        parse_cerebras,
        {
            "x-ratelimit-limit-requests-day": "14400",
            "x-ratelimit-remaining-requests-day": "14399",
            "x-ratelimit-reset-requests-day": "33011.38",
            "x-ratelimit-limit-tokens-minute": "60000",
            "x-ratelimit-remaining-tokens-minute": "59000",
            "x-ratelimit-reset-tokens-minute": "11.38",
        },
        RateInfo(
            limit_requests=14400,
            remaining_requests=14399,
            reset_requests_at=NOW + 33011.38,
            requests_window=86400,
            limit_tokens=60000,
            remaining_tokens=59000,
            reset_tokens_at=NOW + 11.38,
            tokens_window=60,
        ),
    ),
    (
        "cerebras ignores groq names",
        parse_cerebras,
        {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"},
        EMPTY,
    ),
    (
        "openrouter epoch ms reset",
        parse_openrouter,
        {
            "x-ratelimit-limit": "20",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(WALL * 1000) + 42_000),
        },
        RateInfo(limit_requests=20, remaining_requests=0, reset_requests_at=NOW + 42),
    ),
    (
        "none reads only retry-after (HTTP date)",
        parse_none,
        {"retry-after": "Thu, 21 Aug 2025 12:40:30 GMT", "x-ratelimit-remaining-requests": "0"},
        RateInfo(retry_after=30.0),
    ),
    (
        "garbage values are ignored, good ones kept",
        parse_openai,
        {
            "x-ratelimit-limit-requests": "-1",
            "x-ratelimit-remaining-requests": "lots",
            "x-ratelimit-reset-requests": "6 minutes",
            "x-ratelimit-remaining-tokens": "12",
            "retry-after": "Thu, 99 Foo",
        },
        RateInfo(remaining_tokens=12),
    ),
]


@pytest.mark.parametrize(("parser", "headers", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_dialects(parser: Parser, headers: dict[str, str], expected: RateInfo) -> None:
    got = parser(headers, NOW, wall=WALL)
    assert msgspec_round(got) == msgspec_round(expected)


def msgspec_round(info: RateInfo) -> tuple[object, ...]:
    return tuple(
        round(v, 6) if isinstance(v, float) else v for v in (getattr(info, f) for f in info.__struct_fields__)
    )


@pytest.mark.parametrize(("parser", "headers", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_dialects_from_aiohttp_headers(parser: Parser, headers: dict[str, str], expected: RateInfo) -> None:
    """As aiohttp hands them over: names in any case, among the response's other headers,
    a repeated name read by its first value."""
    upstream = [("Content-Type", "application/json"), ("X-Request-Id", "r1"), ("Date", "Thu")]
    upstream += [(name.title(), value) for name, value in headers.items()]
    upstream += [(name.upper(), "999") for name in headers]
    got = parser(CIMultiDictProxy(CIMultiDict(upstream)), NOW, wall=WALL)
    assert msgspec_round(got) == msgspec_round(expected)


@pytest.mark.parametrize("parser", ALL)
def test_no_quota_headers_is_empty(parser: Parser) -> None:
    plain = CIMultiDictProxy(CIMultiDict([("Content-Type", "application/json"), ("Content-Length", "2")]))
    assert parser(plain, NOW) is EMPTY
    assert parser({}, NOW) is EMPTY


def test_case_insensitive_multidict() -> None:
    headers = CIMultiDictProxy(CIMultiDict([("X-RateLimit-Remaining-Requests", "3"), ("Retry-After", "2")]))
    info = parse_groq(headers, NOW)
    assert (info.remaining_requests, info.retry_after) == (3, 2.0)


_names = st.sampled_from(
    [
        "retry-after",
        "retry-after-ms",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-tokens",
        "x-ratelimit-reset",
        "x-ratelimit-limit",
        "x-ratelimit-reset-tokens-minute",
        "anthropic-ratelimit-requests-reset",
        "anthropic-ratelimit-tokens-remaining",
        "anthropic-ratelimit-unified-status",
        "anthropic-ratelimit-unified-reset",
    ]
) | st.text(max_size=20)
_values = st.text(max_size=30) | st.sampled_from(
    ["rejected", "1e999", "9" * 30, "0", "NaN", "2m", "2025-13-45T99:99:99Z"]
)


@given(
    st.dictionaries(_names, _values, max_size=8), st.floats(allow_nan=False, allow_infinity=False, width=32)
)
def test_arbitrary_headers_never_raise(headers: Mapping[str, str], now: float) -> None:
    for parser in ALL:
        info = parser(headers, now, wall=WALL)
        for stamp in (info.reset_requests_at, info.reset_tokens_at):
            assert stamp is None or stamp >= now
        assert info.retry_after is None or info.retry_after >= 0


def test_hostile_mapping_is_ignored() -> None:
    class Hostile(dict[str, str]):
        def get(self, *_: object) -> str:
            raise RuntimeError("boom")

    assert parse_openai(Hostile(), NOW) == EMPTY
