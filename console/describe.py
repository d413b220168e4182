"""Words for what `/admin/state` says, shared by `relay status` and `relay top` (the web
dashboard says the same in app.js): "28/30 rpm, resets in 42s", "cooling 12s: 429 from
upstream", "breaker open 30s".

Countdowns in the API are seconds from the moment of the answer; `elapsed` (seconds since
then) lets a view tick them down locally between fetches without asking again.
"""

from __future__ import annotations

from typing import Any

STATUS_WORDS = {
    "ready": "ready",
    "cooling": "cooling",
    "exhausted": "exhausted",
    "breaker_open": "breaker open",
    "breaker_half_open": "breaker half-open",
    "busy": "busy",
    "disabled": "disabled",
    "bad_key": "bad key",
}
STATUS_STYLES = {
    "ready": "green",
    "busy": "yellow",
    "cooling": "yellow",
    "exhausted": "red",
    "breaker_open": "red",
    "breaker_half_open": "yellow",
    "disabled": "dim",
    "bad_key": "red",
}


def left(seconds: Any, elapsed: float = 0.0) -> float | None:
    """What remains of a countdown `elapsed` seconds after it was read; None if there is none."""
    if not isinstance(seconds, int | float):
        return None
    return max(0.0, float(seconds) - elapsed)


def duration(seconds: float) -> str:
    """42s, 3m05s, 2h10m: short enough for a table cell."""
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def status_text(item: dict[str, Any], elapsed: float = 0.0) -> str:
    """A step's or key's status with its countdown and reason."""
    status = str(item.get("status") or "unknown")
    words = STATUS_WORDS.get(status, status)
    remaining = left(item.get("until_s"), elapsed)
    if remaining is not None and status != "ready":
        words = f"{words} {duration(remaining)}"
    reason = str(item.get("reason") or "")
    return f"{words}: {reason}" if reason else words


def window_text(window: dict[str, Any], elapsed: float = 0.0) -> str:
    """`28/30 rpm, resets in 42s`; `learned` marks a limit lowered by upstream headers."""
    used, limit, name = window.get("used"), window.get("limit"), window.get("name", "?")
    text = f"{_number(used)}/{_number(limit)} {name}" if limit is not None else f"{_number(used)} {name}"
    remaining = left(window.get("reset_s"), elapsed)
    if remaining is not None:
        text += f", resets in {duration(remaining)}"
    if window.get("limit_source") == "learned":
        text += " (learned)"
    return text


def breaker_text(breaker: dict[str, Any] | None, elapsed: float = 0.0) -> str:
    if not breaker:
        return "-"
    state = str(breaker.get("state", "closed"))
    if state == "open":
        remaining = left(breaker.get("open_s"), elapsed)
        return f"open {duration(remaining)}" if remaining else "open"
    failures = breaker.get("recent_failures") or 0
    return f"{state.replace('_', '-')}, {failures} recent failures" if failures else state.replace("_", "-")


def queue_text(queue: dict[str, Any] | None, scoped: bool = True) -> str:
    """`0/64 (this worker)`; `scoped=False` drops the label where a column is narrow."""
    if not queue:
        return "-"
    depth, most = queue.get("depth", 0), queue.get("max_depth")
    text = f"{depth}/{most}" if most is not None else str(depth)
    return text + " (this worker)" if scoped and queue.get("scope") == "worker" else text


def money(value: Any) -> str:
    return f"${float(value):.4f}" if isinstance(value, int | float) else "-"


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) else str(value if value is not None else "?")
