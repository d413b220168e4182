"""`relay status`: a running relay's state as rich tables, once or refreshed (`--watch`).

`tables` is pure (state in, renderables out) so tests assert on the rendered text;
`run` is the thin shell that fetches, prints and maps failures to one line and exit 1.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from console.client import AdminClient, AdminError
from console.describe import STATUS_STYLES, breaker_text, duration, queue_text, status_text, window_text


def _status(item: dict[str, Any], elapsed: float) -> Text:
    return Text(status_text(item, elapsed), style=STATUS_STYLES.get(str(item.get("status")), ""))


def header(state: dict[str, Any]) -> Text:
    relay, artifact = state.get("relay", {}), state.get("artifact", {})
    backend = state.get("state_backend", {})
    line = (
        f"relay {relay.get('version', '?')} · up {duration(float(relay.get('uptime_s') or 0))} · "
        f"build {str(artifact.get('source_hash', '?'))[:19]} · reloads {artifact.get('reloads', 0)} · "
        f"state {backend.get('backend', '?')}"
    )
    text = Text(line, style="bold")
    if backend.get("degraded"):
        text.append("  state backend DEGRADED: per-worker state only", style="bold red")
    return text


def _columns(table: Table, *names: str) -> None:
    """Nothing is ever cut with an ellipsis (names, key variables in a status): a narrow
    console (80 columns, or a pipe) folds a cell onto more lines instead."""
    for name in names:
        table.add_column(name, overflow="fold")


def _key_label(key: dict[str, Any]) -> str:
    return " ".join(str(part) for part in (key.get("name"), key.get("fingerprint")) if part) or "(keyless)"


def _step_name(step: dict[str, Any]) -> str:
    return f"{step.get('provider')}/{step.get('alias') or step.get('model')}"


def chains_table(state: dict[str, Any], elapsed: float = 0.0, only: str | None = None) -> Table:
    table = Table(title="Chains", expand=True, title_justify="left")
    chains = [c for c in state.get("chains", []) if only is None or c.get("name") == only]
    names = [f"{c.get('name')} ({c.get('strategy', '?')})" for c in chains]
    _columns(table, "chain", "step", "status", "keys ready", "queue")
    if not chains:
        table.add_row("(no chains)", "", "", "", "")
    for chain, name in zip(chains, names, strict=True):
        queue = queue_text(chain.get("queue"))
        for i, step in enumerate(chain.get("steps", [])):
            table.add_row(
                name if i == 0 else "",
                _step_name(step),
                _status(step, elapsed),
                f"{step.get('keys_ready', '?')}/{step.get('keys', '?')}",
                queue if i == 0 else "",
            )
    return table


def keys_table(state: dict[str, Any], elapsed: float = 0.0) -> Table:
    table = Table(title="Providers and keys", expand=True, title_justify="left")
    providers = state.get("providers", [])
    _columns(table, "provider", "breaker", "key", "status", "windows")
    for provider in providers:
        name = str(provider.get("name"))
        if not provider.get("enabled", True):
            reason = provider.get("disabled_reason") or "disabled"
            table.add_row(name, "-", "-", Text(f"disabled: {reason}", style="dim"), "")
            continue
        breaker = breaker_text(provider.get("breaker"), elapsed)
        keys = provider.get("keys", []) or [{}]
        for i, key in enumerate(keys):
            windows = "\n".join(window_text(w, elapsed) for w in key.get("windows", [])) or "-"
            table.add_row(
                name if i == 0 else "",
                breaker if i == 0 else "",
                _key_label(key) if key else "-",
                _status(key, elapsed) if key else Text("no keys", style="dim"),
                windows,
            )
    return table


def tables(state: dict[str, Any], elapsed: float = 0.0) -> Group:
    return Group(header(state), chains_table(state, elapsed), keys_table(state, elapsed))


async def _view(client: AdminClient, every: float) -> RenderableType:
    try:
        return tables(await client.state())
    except AdminError as exc:
        return Text(f"relay status: {exc} (retrying every {every:g}s)", style="red")


async def _watch(client: AdminClient, console: Console, every: float) -> None:
    """In a terminal, one screen redrawn in place; piped, one snapshot after another."""
    if not console.is_terminal:
        while True:
            console.print(await _view(client, every))
            console.file.flush()
            await asyncio.sleep(every)
    with Live(console=console, auto_refresh=False) as live:
        while True:
            live.update(await _view(client, every), refresh=True)
            await asyncio.sleep(every)


async def _main(url: str | None, admin_key: str | None, watch: float | None, console: Console) -> int:
    async with AdminClient(url, admin_key) as client:
        if watch:
            await _watch(client, console, watch)
            return 0
        started = time.monotonic()
        state = await client.state()
        console.print(tables(state, time.monotonic() - started))
    return 0


def run(url: str | None, admin_key: str | None, watch: float | None, console: Console | None = None) -> int:
    out = console or Console()
    try:
        return asyncio.run(_main(url, admin_key, watch, out))
    except AdminError as exc:
        Console(stderr=True).print(f"relay status: {exc}", style="red", highlight=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        return 0
