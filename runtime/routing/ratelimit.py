"""Rate-limit header dialects, normalised into one `RateInfo` record (protocols.md §4).

Generated provider modules call the `parse_<family>` matching their `rate_limit_family`.
Headers may be an aiohttp case-insensitive multidict or a plain dict with lower-case names.
Each dialect's header names are a constant set: a parser first picks those the response
carries with one set intersection (case-insensitive, in C, for aiohttp's headers) and returns
`EMPTY` at once when there are none, as on most answers of many providers, instead of
looking up every name it knows. Parsers never raise: a header that cannot be read is
ignored, because an upstream's garbage must not turn a good response into an error. Resets
become absolute deadlines on the caller's clock (`now`); wall-clock resets (RFC 3339, epoch)
are mapped through `wall`, injectable for tests and defaulting to `time.time()`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import NamedTuple

import msgspec

from runtime.routing.durations import (
    epoch_to_deadline,
    parse_go_duration,
    parse_number,
    parse_retry_after,
    parse_retry_after_ms,
    parse_rfc3339,
    parse_seconds,
)


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

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
_COUNT = re.compile(r"\d{1,15}(?:\.\d*)?")


class _Counter(NamedTuple):
    """One quota counter as read from headers, before choosing the tightest of a kind."""

    limit: int | None
    remaining: int | None
    reset_at: float | None
    window: float | None


_NO_COUNTER = _Counter(None, None, None, None)


Headers = dict[str, str]
"""The dialect's headers a response carried, by lower-case name (`_picked`)."""


def _picked(headers: Mapping[str, str], names: frozenset[str]) -> Headers | None:
    """The headers among `names` (lower-case) with their first value, None when there are none."""
    try:
        found = headers.keys() & names
        if not found:
            return None
        picked: Headers = {}
        for key in found:
            value = headers.get(key)
            name = key.lower()
            if isinstance(value, str) and name in names:
                picked[name] = value
    except Exception:  # a hostile Mapping must not break a response
        return None
    return picked


def _count(headers: Headers, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    if len(value) <= 15 and value.isdecimal():  # what `_COUNT` matches, most often: no float needed
        return int(value)
    if not _COUNT.fullmatch(value.strip()):
        return None
    return int(float(value.strip()))


def _reset(headers: Headers, name: str, now: float, read: Callable[[str], float | None]) -> float | None:
    value = headers.get(name)
    seconds = None if value is None else read(value)
    return None if seconds is None else now + seconds


def _tightest(counters: list[_Counter]) -> _Counter:
    """The counter that will run out first: fewest remaining, else the first that says anything."""
    known = [c for c in counters if c.remaining is not None]
    if known:
        return min(known, key=lambda c: c.remaining if c.remaining is not None else 0)
    return next((c for c in counters if c != _NO_COUNTER), _NO_COUNTER)


_RETRY = ("retry-after-ms", "retry-after")


def _retry_after(headers: Headers, wall: float | None) -> float | None:
    """`wall` None: read the wall clock only for an HTTP date (the rare form)."""
    millis = headers.get("retry-after-ms")
    if millis is not None and (seconds := parse_retry_after_ms(millis)) is not None:
        return seconds
    value = headers.get("retry-after")
    if value is None:
        return None
    return parse_retry_after(value, time.time() if wall is None else wall)


def _info(requests: _Counter, tokens: _Counter, retry_after: float | None) -> RateInfo:
    """A counter's window only means something when the counter said anything."""
    requests_window = None if requests[:3] == (None, None, None) else requests.window
    tokens_window = None if tokens[:3] == (None, None, None) else tokens.window
    return RateInfo(
        limit_requests=requests.limit,
        remaining_requests=requests.remaining,
        reset_requests_at=requests.reset_at,
        requests_window=requests_window,
        limit_tokens=tokens.limit,
        remaining_tokens=tokens.remaining,
        reset_tokens_at=tokens.reset_at,
        tokens_window=tokens_window,
        retry_after=retry_after,
    )


def _names(*groups: tuple[str, ...]) -> frozenset[str]:
    return frozenset(_RETRY).union(*groups)


def _triple(prefix: str, suffix: str = "") -> tuple[str, str, str]:
    """The limit, remaining and reset header names of one counter."""
    return f"{prefix}limit{suffix}", f"{prefix}remaining{suffix}", f"{prefix}reset{suffix}"


_ANTHROPIC_KINDS = ("requests", "tokens", "input-tokens", "output-tokens")
_ANTHROPIC_COUNTERS = {kind: _triple(f"anthropic-ratelimit-{kind}-") for kind in _ANTHROPIC_KINDS}
_UNIFIED_STATUS, _UNIFIED_RESET = "anthropic-ratelimit-unified-status", "anthropic-ratelimit-unified-reset"
_ANTHROPIC = _names(*_ANTHROPIC_COUNTERS.values(), (_UNIFIED_STATUS, _UNIFIED_RESET))


def _anthropic_counter(headers: Headers, kind: str, now: float, wall: float) -> _Counter:
    limit, remaining, reset = _ANTHROPIC_COUNTERS[kind]
    stamp = headers.get(reset)
    epoch = None if stamp is None else parse_rfc3339(stamp)
    return _Counter(
        _count(headers, limit),
        _count(headers, remaining),
        None if epoch is None else epoch_to_deadline(epoch, now, wall),
        MINUTE,
    )


def parse_anthropic(headers: Mapping[str, str], now: float, *, wall: float | None = None) -> RateInfo:
    """`anthropic-ratelimit-*` with RFC 3339 resets; the tightest of the token families counts.

    Subscription traffic signals `unified-status: rejected` with an epoch `unified-reset`
    instead; that is read as "no requests left until then".
    """
    picked = _picked(headers, _ANTHROPIC)
    if picked is None:
        return EMPTY
    wall = time.time() if wall is None else wall
    requests = _anthropic_counter(picked, "requests", now, wall)
    tokens = _tightest([_anthropic_counter(picked, k, now, wall) for k in _ANTHROPIC_KINDS[1:]])
    if (picked.get(_UNIFIED_STATUS) or "").strip() == "rejected":
        raw = picked.get(_UNIFIED_RESET)
        epoch = None if raw is None else parse_number(raw)
        reset = None if epoch is None else epoch_to_deadline(epoch, now, wall)
        requests = requests._replace(remaining=0, reset_at=reset, window=None)
    return _info(requests, tokens, _retry_after(picked, wall))


_X_COUNTERS = {kind: _triple("x-ratelimit-", f"-{kind}") for kind in ("requests", "tokens")}
_X = _names(*_X_COUNTERS.values())


def _x_counter(headers: Headers, kind: str, now: float, window: float | None) -> _Counter:
    limit, remaining, reset = _X_COUNTERS[kind]
    return _Counter(
        _count(headers, limit),
        _count(headers, remaining),
        _reset(headers, reset, now, parse_go_duration),
        window,
    )


def _x_ratelimit(
    picked: Headers,
    now: float,
    wall: float | None,
    requests_window: float | None,
    tokens_window: float | None,
) -> RateInfo:
    return _info(
        _x_counter(picked, "requests", now, requests_window),
        _x_counter(picked, "tokens", now, tokens_window),
        _retry_after(picked, wall),
    )


def parse_openai(headers: Mapping[str, str], now: float, *, wall: float | None = None) -> RateInfo:
    """`x-ratelimit-*-{requests,tokens}` with Go-duration resets; the window is not stated."""
    picked = _picked(headers, _X)
    return EMPTY if picked is None else _x_ratelimit(picked, now, wall, None, None)


def parse_groq(headers: Mapping[str, str], now: float, *, wall: float | None = None) -> RateInfo:
    """OpenAI's header names, but Groq's request counters are per day and token counters per minute."""
    picked = _picked(headers, _X)
    return EMPTY if picked is None else _x_ratelimit(picked, now, wall, DAY, MINUTE)


_CEREBRAS_WINDOWS = (("minute", MINUTE), ("hour", HOUR), ("day", DAY))
_CEREBRAS_COUNTERS = {
    kind: [(_triple("x-ratelimit-", f"-{kind}-{suffix}"), window) for suffix, window in _CEREBRAS_WINDOWS]
    for kind in ("requests", "tokens")
}
_CEREBRAS = _names(*(names for counters in _CEREBRAS_COUNTERS.values() for names, _ in counters))


def parse_cerebras(headers: Mapping[str, str], now: float, *, wall: float | None = None) -> RateInfo:
    """Window in the header name (`x-ratelimit-remaining-tokens-minute`), float-second resets."""
    picked = _picked(headers, _CEREBRAS)
    if picked is None:
        return EMPTY

    def counters(kind: str) -> list[_Counter]:
        return [
            _Counter(
                _count(picked, limit),
                _count(picked, remaining),
                _reset(picked, reset, now, parse_seconds),
                window,
            )
            for (limit, remaining, reset), window in _CEREBRAS_COUNTERS[kind]
        ]

    return _info(_tightest(counters("requests")), _tightest(counters("tokens")), _retry_after(picked, wall))


def _openrouter_reset(value: str, now: float, wall: float) -> float | None:
    """Epoch milliseconds as believed (§4.5); epoch seconds or a relative delta are tolerated."""
    number = parse_number(value)
    if number is None:
        return None
    if number >= 1e11:
        return epoch_to_deadline(number / 1000.0, now, wall)
    if number >= 1e9:
        return epoch_to_deadline(number, now, wall)
    return epoch_to_deadline(wall + number, now, wall)


_OPENROUTER_COUNTER = _triple("x-ratelimit-")
_OPENROUTER = _names(_OPENROUTER_COUNTER)


def parse_openrouter(headers: Mapping[str, str], now: float, *, wall: float | None = None) -> RateInfo:
    """Platform 429s carry `X-RateLimit-{Limit,Remaining,Reset}` about requests, plus `retry-after`."""
    picked = _picked(headers, _OPENROUTER)
    if picked is None:
        return EMPTY
    wall = time.time() if wall is None else wall
    limit, remaining, reset = _OPENROUTER_COUNTER
    raw_reset = picked.get(reset)
    requests = _Counter(
        _count(picked, limit),
        _count(picked, remaining),
        None if raw_reset is None else _openrouter_reset(raw_reset, now, wall),
        None,
    )
    return _info(requests, _NO_COUNTER, _retry_after(picked, wall))


_NONE = _names()


def parse_none(headers: Mapping[str, str], now: float, *, wall: float | None = None) -> RateInfo:
    """Providers without quota headers still say `retry-after` on a 429 or 503."""
    picked = _picked(headers, _NONE)
    retry_after = None if picked is None else _retry_after(picked, wall)
    return EMPTY if retry_after is None else RateInfo(retry_after=retry_after)
