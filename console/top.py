"""`relay top`: the dashboard's Live page in a terminal (works over SSH), with the request
feed and a usage summary. Keys: p pause the feed, r reload, f filter by chain, q quit.

Reads only the management API through `console.client`: `/admin/state` every few seconds
(countdowns tick locally in between), `/admin/events` as it comes, `/admin/usage` now and
then. Every failure is a line in the banner, never a traceback; the app keeps retrying.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Static

from console.client import AdminClient, AdminError
from console.describe import breaker_text, money, queue_text, status_text, window_text
from console.status import header

FEED_ROWS = 200


def feed_row(event: dict[str, Any]) -> tuple[str, ...]:
    tokens = event.get("tokens") or {}
    at = event.get("at")
    clock = time.strftime("%H:%M:%S", time.localtime(at)) if isinstance(at, int | float) else "-"
    return (
        clock,
        str(event.get("chain") or "-"),
        str(event.get("provider") or "-"),
        str(event.get("status", "-")),
        f"{float(event.get('latency_ms') or 0):.0f} ms",
        str(tokens.get("total", "-")),
        money(event.get("cost_usd")),
        str(len(event.get("attempts") or [])),
    )


def usage_line(usage: dict[str, Any]) -> str:
    totals = usage.get("totals") or {}
    where = f" · store {usage['store']}" if usage.get("store") else ""
    if not totals.get("requests"):
        return f"usage (24 h): no requests recorded yet{where}"
    tokens = int(totals.get("input_tokens") or 0) + int(totals.get("output_tokens") or 0)
    return (
        f"usage (24 h): {totals['requests']:,} requests, {totals.get('errors', 0):,} errors, "
        f"{tokens:,} tokens, cost {money(totals.get('cost_usd'))}, saved {money(totals.get('saved_usd'))}{where}"
    )


class RelayTop(App[None]):
    TITLE = "relay top"
    CSS = """
    #banner { height: auto; padding: 0 1; }
    #panes { height: 1fr; }
    #chains, #keys { width: 1fr; }
    #feed { height: 1fr; }
    #usage { height: 1; padding: 0 1; }
    .error { color: red; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pause", "pause feed"),
        Binding("r", "reload", "reload"),
        Binding("f", "filter", "filter chain"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, client: AdminClient, refresh_s: float = 2.0) -> None:
        super().__init__()
        self.client = client
        self.refresh_s = refresh_s
        self.state: dict[str, Any] | None = None
        self.read_at = 0.0
        self.problem = ""
        self.chain_filter: str | None = None
        self.paused = False
        self.feed: deque[dict[str, Any]] = deque(maxlen=FEED_ROWS)
        self.held = 0
        self.last_reload = ""
        self._feed_dirty = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("connecting…", id="banner")
        with Horizontal(id="panes"):
            yield DataTable(id="chains", zebra_stripes=True)
            yield DataTable(id="keys", zebra_stripes=True)
        yield DataTable(id="feed", zebra_stripes=True)
        yield Static("usage: …", id="usage")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#chains", DataTable).add_columns("chain", "step", "status", "keys", "queue")
        self.query_one("#keys", DataTable).add_columns("provider", "key", "status", "windows", "breaker")
        self.query_one("#feed", DataTable).add_columns(
            "time", "chain", "provider", "status", "latency", "tokens", "cost", "attempts"
        )
        self.set_interval(1.0, self.tick)
        self.set_interval(self.refresh_s, self.fetch_state)
        self.set_interval(30.0, self.fetch_usage)
        self.run_worker(self.fetch_state(), exclusive=False)
        self.run_worker(self.fetch_usage(), exclusive=False)
        self.run_worker(self.follow_events(), exclusive=False)

    async def on_unmount(self) -> None:
        await self.client.aclose()

    async def fetch_state(self) -> None:
        try:
            self.state = await self.client.state()
            self.read_at = time.monotonic()
            self.problem = ""
        except AdminError as exc:
            self.problem = str(exc)
        self.render_live()

    async def fetch_usage(self) -> None:
        try:
            line = usage_line(await self.client.usage())
        except AdminError as exc:
            line = "usage store not available" if exc.status == 404 else f"usage: {exc}"
        self.query_one("#usage", Static).update(line)

    async def follow_events(self) -> None:
        while True:
            try:
                async for name, data in self.client.events():
                    self.take_event(name, data)
            except AdminError as exc:
                self.problem = f"events: {exc}"
                self.render_banner()
            await asyncio.sleep(self.refresh_s)

    def take_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "request":
            if self.paused:
                self.held += 1
                return
            self.feed.appendleft(data)
            self._feed_dirty = True
        elif name == "state":
            self.run_worker(self.fetch_state(), exclusive=False)

    def tick(self) -> None:
        self.render_live()
        if self._feed_dirty:
            self.render_feed()

    def render_banner(self) -> None:
        banner = self.query_one("#banner", Static)
        bits = []
        if self.paused:
            bits.append(f"feed paused ({self.held} held)")
        if self.chain_filter:
            bits.append(f"filter: {self.chain_filter}")
        if self.problem:
            banner.update(f"[red]{self.problem}[/red]")
        elif self.state is not None:
            banner.update(header(self.state).markup + ("  " + " · ".join(bits) if bits else ""))

    def render_live(self) -> None:
        self.render_banner()
        if self.state is None:
            return
        elapsed = time.monotonic() - self.read_at
        chains = self.query_one("#chains", DataTable)
        chains.clear()
        shown = [c for c in self.state.get("chains", []) if self.chain_filter in (None, c.get("name"))]
        if not shown:
            chains.add_row("(no chains served)", "", "", "", "")
        for chain in shown:
            for i, step in enumerate(chain.get("steps", [])):
                chains.add_row(
                    str(chain.get("name")) if i == 0 else "",
                    f"{step.get('provider')}/{step.get('alias') or step.get('model')}",
                    status_text(step, elapsed),
                    f"{step.get('keys_ready', '?')}/{step.get('keys', '?')}",
                    queue_text(chain.get("queue"), scoped=False) if i == 0 else "",
                )
        keys = self.query_one("#keys", DataTable)
        keys.clear()
        for provider in self.state.get("providers", []):
            for key in provider.get("keys", []):
                keys.add_row(
                    str(provider.get("name")),
                    str(key.get("name", "-")),
                    status_text(key, elapsed),
                    "; ".join(window_text(w, elapsed) for w in key.get("windows", [])) or "-",
                    breaker_text(provider.get("breaker"), elapsed),
                )

    def render_feed(self) -> None:
        self._feed_dirty = False
        table = self.query_one("#feed", DataTable)
        table.clear()
        for event in self.feed:
            if self.chain_filter in (None, event.get("chain")):
                table.add_row(*feed_row(event))

    def action_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            self.held = 0
        self.render_banner()

    def action_filter(self) -> None:
        """Cycle: all chains, then each chain in turn, then all again."""
        names = [str(c.get("name")) for c in (self.state or {}).get("chains", [])]
        if not names:
            return
        at = names.index(self.chain_filter) + 1 if self.chain_filter in names else 0
        self.chain_filter = names[at] if at < len(names) else None
        self.render_live()
        self.render_feed()

    async def action_reload(self) -> None:
        try:
            outcome = await self.client.reload()
            self.last_reload = f"reload: {outcome.get('outcome')} {outcome.get('detail') or ''}".strip()
            self.notify(self.last_reload)
        except AdminError as exc:
            self.last_reload = f"reload failed: {exc}"
            self.notify(self.last_reload, severity="error")
        await self.fetch_state()


def run(url: str | None, admin_key: str | None) -> int:
    RelayTop(AdminClient(url, admin_key)).run()
    return 0
