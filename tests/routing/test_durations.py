"""Time values in rate-limit headers: Go durations, retry-after, RFC 3339."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.routing.durations import (
    MAX_SECONDS,
    epoch_to_deadline,
    format_go_duration,
    parse_go_duration,
    parse_retry_after,
    parse_retry_after_ms,
    parse_rfc3339,
    parse_seconds,
)

WALL = 1_755_780_000.0  # 2025-08-21T12:40:00Z


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("12ms", 0.012),
        ("7.66s", 7.66),
        ("2m59.56s", 179.56),
        ("1h2m3s", 3723.0),
        ("1h", 3600.0),
        ("500us", 0.0005),
        ("3", 3.0),
        (" 6m0s ", 360.0),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["", "m", "s6", "6x", "-1s", "1s junk", "1.2.3s", "inf", "nan", "1e3s", "6m0"]
)
def test_go_duration_garbage_is_none(text: str) -> None:
    assert parse_go_duration(text) is None


def test_go_duration_is_capped() -> None:
    assert parse_go_duration("99999h") == MAX_SECONDS
    assert parse_go_duration("9" * 400 + "s") is None


def _go_reference(value: str) -> float | None:
    """The Go duration grammar read part by part, each part starting where the last ended
    (the reading `parse_go_duration` replaced with one `findall`)."""
    text = value.strip()
    if re.fullmatch(r"\d+(?:\.\d*)?|\.\d+", text):
        return parse_seconds(text)
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    total, pos = 0.0, 0
    for part in re.finditer(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|h|m|s)", text):
        if part.start() != pos:
            return None
        total += float(part.group(1)) * units[part.group(2)]
        pos = part.end()
    if pos == 0 or pos != len(text):
        return None
    return min(total, MAX_SECONDS) if math.isfinite(total) else None


_go_text = st.lists(
    st.sampled_from(
        ["1", "20", "0.5", ".5", "7.", "2", "h", "m", "s", "ms", "us", "µs", "ns", ".", " ", "x", "-"]
    ),
    max_size=8,
).map("".join)


@given(_go_text | st.text(max_size=12))
def test_go_duration_reads_as_part_by_part(text: str) -> None:
    assert parse_go_duration(text) == _go_reference(text)


@given(st.floats(min_value=0, max_value=MAX_SECONDS - 1, allow_nan=False))
def test_go_duration_round_trip(seconds: float) -> None:
    parsed = parse_go_duration(format_go_duration(seconds))
    assert parsed is not None
    assert parsed == pytest.approx(seconds, abs=0.0006)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.02, "20ms"), (360, "6m0s"), (179.56, "2m59.56s"), (3723, "1h2m3s")]
)
def test_format_go_duration(seconds: float, text: str) -> None:
    assert format_go_duration(seconds) == text


@given(st.text(max_size=40))
def test_readers_never_raise(text: str) -> None:
    for value in (
        parse_go_duration(text),
        parse_seconds(text),
        parse_retry_after(text, WALL),
        parse_rfc3339(text),
    ):
        assert value is None or isinstance(value, float)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("7", 7.0),
        ("0.5", 0.5),
        ("Thu, 21 Aug 2025 12:40:30 GMT", 30.0),
        ("Thu, 21 Aug 2025 12:39:00 GMT", 0.0),  # in the past: go now
        ("soon", None),
        ("-3", None),
    ],
)
def test_retry_after(text: str, seconds: float | None) -> None:
    assert parse_retry_after(text, WALL) == seconds


def test_retry_after_ms() -> None:
    assert parse_retry_after_ms("1500") == 1.5
    assert parse_retry_after_ms("x") is None


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        ("2025-08-21T12:40:59Z", WALL + 59),
        ("2025-08-21T14:40:59+02:00", WALL + 59),
        ("2025-08-21T12:40:59", WALL + 59),
        ("2025-08-21T12:40:59.5Z", WALL + 59.5),
        ("yesterday", None),
    ],
)
def test_rfc3339(text: str, epoch: float | None) -> None:
    assert parse_rfc3339(text) == epoch


def test_epoch_to_deadline_clamps() -> None:
    assert epoch_to_deadline(WALL - 10, 5.0, WALL) == 5.0
    assert epoch_to_deadline(WALL + 10, 5.0, WALL) == 15.0
    assert epoch_to_deadline(WALL + 1e12, 5.0, WALL) == 5.0 + MAX_SECONDS
