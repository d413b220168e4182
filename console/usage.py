"""`relay usage`: a running relay's usage aggregates (`GET /admin/usage`) as a rich table.

Talks to the relay over HTTP only, through the same admin client as `relay status` and
`relay top` (the admin key from `--admin-key` or RELAY_ADMIN_KEY), so it works against any
relay an operator can reach, and every failure is the same one line naming what to fix.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from console.client import AdminClient

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


async def fetch(url: str | None, key: str | None, since: str, by: str) -> dict[str, Any]:
    """The aggregates, or `AdminError` with one line for the operator."""
    async with AdminClient(url, key) as client:
        return await client.usage(since, by)


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
    if data.get("store"):
        console.print(f"store: {data['store']} (this relay's own; server.usage.store)", highlight=False)
    if data.get("dropped_rows"):
        console.print(
            f"[yellow]{data['dropped_rows']} usage rows were dropped by this worker (store too slow or down)"
        )
