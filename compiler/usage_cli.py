"""`relay usage`: a running relay's usage aggregates (`GET /admin/usage`) as a rich table.

Talks to the relay over HTTP only (the admin key from `--admin-key` or RELAY_ADMIN_KEY), so
it works against any relay an operator can reach. Every failure is one line naming what to
fix: the relay unreachable, the key refused, a bad query value.
"""

from __future__ import annotations

from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

DEFAULT_URL = "http://127.0.0.1:8787"
KEY_ENV = "RELAY_ADMIN_KEY"
TIMEOUT = 10.0
_COLUMNS = (
    ("requests", "requests"),
    ("errors", "errors"),
    ("input_tokens", "input tok"),
    ("output_tokens", "output tok"),
    ("cached_tokens", "cached tok"),
    ("cost_usd", "cost $"),
    ("list_cost_usd", "reference $"),
    ("saved_usd", "saved $"),
)


class UsageError(Exception):
    """One line for the operator; `relay usage` prints it and exits 1."""


def fetch(url: str, key: str | None, since: str, by: str, timeout: float = TIMEOUT) -> dict[str, Any]:
    base = url.rstrip("/")
    headers = {"authorization": f"Bearer {key}"} if key else {}
    try:
        resp = httpx.get(
            f"{base}/admin/usage", params={"since": since, "by": by}, headers=headers, timeout=timeout
        )
    except httpx.TransportError as exc:
        raise UsageError(
            f"cannot reach relay at {base}: {exc or type(exc).__name__} (is it running? --url)"
        ) from None
    if resp.status_code == 401:
        raise UsageError(
            f"relay at {base} refused the admin key (401): pass --admin-key or set {KEY_ENV} "
            "to one of server.admin.keys"
        )
    try:
        body: Any = resp.json()
    except ValueError:
        body = None
    if resp.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else resp.text[:200]
        raise UsageError(f"relay at {base} answered {resp.status_code}: {message}")
    return body


def _cell(name: str, value: Any) -> str:
    if name.endswith("_usd"):
        return f"{float(value or 0):.4f}"
    return f"{int(value or 0):,}"


def table(data: dict[str, Any]) -> Table:
    by = str(data.get("by", "group"))
    out = Table(title=f"relay usage by {by}", title_justify="left")
    out.add_column(by)
    for _, header in _COLUMNS:
        out.add_column(header, justify="right")
    out.add_column("p50 ms", justify="right")
    for row in data.get("rows", []):
        p50 = row.get("latency_ms_p50")
        out.add_row(
            str(row.get("group")),
            *(_cell(name, row.get(name)) for name, _ in _COLUMNS),
            "-" if p50 is None else f"{p50:.0f}",
        )
    totals = data.get("totals", {})
    out.add_section()
    out.add_row("total", *(_cell(name, totals.get(name)) for name, _ in _COLUMNS), "")
    return out


def show(data: dict[str, Any], console: Console) -> None:
    console.print(table(data))
    if data.get("dropped_rows"):
        console.print(
            f"[yellow]{data['dropped_rows']} usage rows were dropped by this worker (store too slow or down)"
        )
