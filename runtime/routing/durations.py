"""Lenient readers for the time values upstreams put in headers (protocols.md §2.7, §4).

Every reader returns None for anything it cannot read: a malformed header from an upstream
must cost us one piece of advice, never a request. Values are capped so a garbage number
cannot park a key for a century.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_SECONDS = 8 * 86400.0
"""Longest wait any header may impose: a week and a day covers every real quota window."""

_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|h|m|s)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")


def _bounded(seconds: float) -> float | None:
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_SECONDS)


def parse_number(value: str) -> float | None:
    """A finite non-negative decimal, uncapped: epoch timestamps are read with this."""
    text = value.strip()
    if not _PLAIN_NUMBER.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def parse_seconds(value: str) -> float | None:
    """A non-negative decimal number of seconds, as in `retry-after: 7` or Cerebras' `11.38`."""
    number = parse_number(value)
    return None if number is None else _bounded(number)


def parse_go_duration(value: str) -> float | None:
    """Seconds in a Go duration such as `6m0s`, `20ms` or `2m59.56s`; a bare number is seconds.

    The alternation lists `ms` before `m` so `20ms` is never read as 20 minutes plus junk.
    The parts are found in one `findall`; they cover the text with nothing between them
    exactly when their lengths add up to its length. A duration ends in a unit letter
    (s, m or h), anything else can only be a bare number.
    """
    text = value.strip()
    if not text.endswith(("s", "m", "h")):
        return parse_seconds(text)
    total = 0.0
    length = 0
    for number, unit in _GO_PART.findall(text):
        total += float(number) * _GO_UNITS[unit]
        length += len(number) + len(unit)
    if length != len(text):
        return None
    return _bounded(total)


def format_go_duration(seconds: float) -> str:
    """The Go spelling of a non-negative duration, for the `x-ratelimit-reset-*` headers relay emits."""
    millis = max(0, round(seconds * 1000))
    if millis < 1000:
        return f"{millis}ms"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def parse_rfc3339(value: str) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp (`2025-08-21T12:40:59Z`); naive times are UTC."""
    try:
        stamp = datetime.fromisoformat(value.strip())
    except (ValueError, TypeError):
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    try:
        return stamp.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def parse_retry_after(value: str, wall: float) -> float | None:
    """Seconds to wait from `retry-after`: delta-seconds, or an HTTP date relative to `wall`."""
    seconds = parse_seconds(value)
    if seconds is not None:
        return seconds
    try:
        stamp = parsedate_to_datetime(value.strip())
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    try:
        return _bounded(max(0.0, stamp.timestamp() - wall))
    except (OverflowError, OSError, ValueError):
        return None


def parse_retry_after_ms(value: str) -> float | None:
    """Seconds from `retry-after-ms` (OpenAI, Azure), which wins over `retry-after` when present."""
    millis = parse_seconds(value)
    return None if millis is None else millis / 1000.0


def epoch_to_deadline(epoch: float, now: float, wall: float) -> float | None:
    """Map a wall-clock instant onto the caller's monotonic clock, clamped to [now, now + MAX_SECONDS]."""
    delta = _bounded(max(0.0, epoch - wall))
    return None if delta is None else now + delta
