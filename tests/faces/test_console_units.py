"""The terminal clients' pure parts: SSE framing, the words for states, the rich tables,
and the client's one-line errors (against httpx.MockTransport standing in for a relay)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from console.client import AdminClient, AdminError
from console.describe import breaker_text, duration, status_text, window_text
from console.sse import SseParser
from console.status import tables
from console.top import feed_row, usage_line
from tests.e2e.procs import free_port
from tests.faces import fixtures

EVENTS = [("request", '{"id": 1}'), ("state", '{"kind": "cooldown_started"}'), ("hello", "a\nb")]
WIRE = ': keep-alive\n\nevent: request\ndata: {"id": 1}\n\nevent: state\r\ndata: {"kind": "cooldown_started"}\r\n\r\nevent: hello\rdata: a\rdata: b\r\r\n'


@given(st.lists(st.integers(min_value=0, max_value=len(WIRE)), max_size=12))
def test_sse_events_come_out_whole_however_the_text_is_cut(cuts: list[int]) -> None:
    parser, got, start = SseParser(), [], 0
    for cut in [*sorted(cuts), len(WIRE)]:
        got += parser.feed(WIRE[start:cut])
        start = cut
    assert got == EVENTS


@pytest.mark.parametrize(
    ("item", "elapsed", "text"),
    [
        ({"status": "ready", "until_s": None}, 0, "ready"),
        (
            {"status": "cooling", "until_s": 12.2, "reason": "429 from upstream"},
            0,
            "cooling 12s: 429 from upstream",
        ),
        (
            {"status": "cooling", "until_s": 12.2, "reason": "429 from upstream"},
            5,
            "cooling 7s: 429 from upstream",
        ),
        ({"status": "cooling", "until_s": 3, "reason": ""}, 10, "cooling 0s"),
        ({"status": "breaker_open", "until_s": 30}, 0, "breaker open 30s"),
        ({"status": "disabled", "until_s": None, "reason": "no key set"}, 0, "disabled: no key set"),
        ({"status": "exhausted", "until_s": 4000}, 0, "exhausted 1h06m"),
    ],
)
def test_status_words_tick_down_locally(item: dict[str, Any], elapsed: float, text: str) -> None:
    assert status_text(item, elapsed) == text


def test_window_and_breaker_words() -> None:
    rpm, tpm, conc = fixtures.key("groq", 0)["windows"]
    assert window_text(rpm) == "28/30 rpm, resets in 42s"
    assert window_text(rpm, 40.0) == "28/30 rpm, resets in 2s"
    assert window_text(tpm) == "5,120/6,000 tpm, resets in 31s (learned)"
    assert window_text(conc) == "0/8 concurrency"
    assert breaker_text({"state": "open", "open_s": 30}, 10) == "open 20s"
    assert breaker_text({"state": "closed", "recent_failures": 2}) == "closed, 2 recent failures"
    assert duration(125) == "2m05s"


def render(state: dict[str, Any]) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(tables(state))
    return console.export_text()


def test_status_tables_show_chains_steps_keys_and_countdowns() -> None:
    text = render(fixtures.state())
    for expected in (
        "relay 0.2.0",
        "free (failover)",
        "groq0/llama-70b",
        "cooling 12s: 429 from upstream",
        "28/30 rpm, resets in 42s",
        "0/64 (this worker)",
    ):
        assert expected in text, expected


def test_status_at_80_columns_cuts_no_name_and_says_keyless() -> None:
    state = fixtures.state()
    state["chains"][0]["name"] = "a-rather-long-chain-name-for-eighty-columns"
    state["chains"][0]["steps"][0]["alias"] = "an-upstream-model-with-a-very-long-identifier-v2"
    state["providers"][0]["keys"] = [{**state["providers"][0]["keys"][0], "name": "", "fingerprint": None}]
    console = Console(width=80, record=True, color_system=None)
    console.print(tables(state))
    text = console.export_text()
    assert "…" not in text and "None" not in text and "(keyless)" in text
    folded = "".join(line.split("│")[2].strip() for line in text.splitlines() if line.count("│") > 3)
    assert "an-upstream-model-with-a-very-long-identifier-v2" in folded


def test_status_tables_say_so_when_there_are_no_chains_or_the_backend_is_degraded() -> None:
    state = fixtures.state()
    state["chains"], state["state_backend"] = [], {"backend": "redis", "degraded": True}
    text = render(state)
    assert "(no chains)" in text
    assert "DEGRADED" in text


def test_feed_rows_and_usage_summary() -> None:
    assert feed_row(fixtures.request_event(1))[1:] == (
        "free",
        "sim-steady",
        "200",
        "130 ms",
        "42",
        "$0.0000",
        "2",
    )
    assert usage_line(fixtures.usage()) == (
        "usage (24 h): 120 requests, 3 errors, 58,000 tokens, cost $0.0000, saved $0.0420"
    )
    assert usage_line({"rows": [], "totals": {"requests": 0}}) == "usage (24 h): no requests recorded yet"
    assert usage_line({"totals": {"requests": 0}, "store": "/s/relay/usage/a-1.sqlite"}) == (
        "usage (24 h): no requests recorded yet · store /s/relay/usage/a-1.sqlite"
    )


def answering(status: int, body: Any) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (401, {"error": {"type": "authentication_error", "message": "no"}}, "refused the admin key (401)"),
        (404, {"error": {"message": "no route GET /admin/state"}}, "not served by this relay (404)"),
        (500, {"error": {"message": "boom"}}, "answered 500: boom"),
        (200, ["not", "an", "object"], "answered list, not an object"),
    ],
)
def test_client_errors_are_one_line(status: int, body: Any, message: str) -> None:
    async def call() -> None:
        async with AdminClient("http://relay.test", "k" * 20, transport=answering(status, body)) as client:
            await client.state()

    with pytest.raises(AdminError, match=re.escape(message)) as caught:
        asyncio.run(call())
    assert "\n" not in str(caught.value)


def test_client_says_when_nothing_listens() -> None:
    async def call() -> None:
        async with AdminClient(f"http://127.0.0.1:{free_port()}", "") as client:
            await client.state()

    with pytest.raises(AdminError, match=r"not reachable at http://127\.0\.0\.1:"):
        asyncio.run(call())


def test_client_sends_the_admin_key_as_bearer_and_never_in_the_url() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=fixtures.state())

    async def call() -> None:
        async with AdminClient(
            "http://relay.test", "admin-key-0123456789", transport=httpx.MockTransport(handler)
        ) as c:
            await c.state()

    asyncio.run(call())
    assert seen[0].headers["authorization"] == "Bearer admin-key-0123456789"
    assert "admin-key" not in str(seen[0].url)


def test_console_reads_a_relay_only_over_http_and_the_runtime_never_imports_it() -> None:
    from tests.runtime.test_layers import RUNTIME, files, offending

    assert offending(RUNTIME, ("console",)) == []
    assert offending(RUNTIME.parent / "console", ("runtime", "compiler")) == []
    assert files(RUNTIME.parent / "console")
