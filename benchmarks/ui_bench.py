"""The dashboard's speed and its cost to the relay, measured in one run. Prints:

- Live page load with 50 chains × 5 steps × 10 keys (250 providers, 2,500 keys): time from
  navigation until every chain is on screen, and the time of one full Live render, in
  Debian's headless Chromium (median and worst of 5 loads);
- responsiveness while 100 request events a second arrive (Live page, which re-reads the
  state at most once a second, and Requests page, which redraws the feed once a frame):
  the main thread's lag, from a 50 ms timer inside the page, p50/p99/max over 10 s;
- request latency through a real `relay run` at 25 req/s open loop with 0 and with 20 open
  `/admin/events` subscribers, alternating phases in the same run (0, 20, 0, 20) so the
  noise between phases of the same kind shows what "no change beyond noise" means.

The page parts talk to a fake management API on loopback (this file) serving the real
static files (runtime/ui/static via runtime.server.ui) and doc-shaped answers
(tests/faces/fixtures.py), since no real relay has 2,500 keys.

    python -m benchmarks.ui_bench [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
from aiohttp import web

from benchmarks.common import free_port, relay_stack, wait_port
from benchmarks.relay_bench import BODY, DEFS, pct
from runtime.server.ui import FILES
from tests.faces import fixtures
from tests.faces.browser import chromium, tab


def _counted_down(state: dict[str, Any], elapsed: float) -> bytes:
    """The state `elapsed` seconds later, as a relay would report it: every countdown
    (`*_s`) smaller, wrapping round a minute so windows keep resetting."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: (v - elapsed) % 60
                if k.endswith("_s") and k != "uptime_s" and isinstance(v, float)
                else walk(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return json.dumps(walk(state)).encode()


def fake_admin(state: dict[str, Any], rate: float, seconds: float) -> web.Application:
    born = time.monotonic()
    answers = {0: _counted_down(state, 0)}
    """By whole second: counting down 1.6 MB of JSON is the fake's cost, not the page's."""

    async def ui(request: web.Request) -> web.Response:
        found = FILES.get(request.path[len("/ui") :].lstrip("/") or "index.html")
        if found is None:
            return web.Response(status=404)
        body, headers, _ = found
        return web.Response(body=body, headers=dict(headers))

    async def answer_state(request: web.Request) -> web.Response:
        second = int(time.monotonic() - born)
        if second not in answers:
            answers[second] = _counted_down(state, second)
        return web.Response(body=answers[second], content_type="application/json")

    async def usage(request: web.Request) -> web.Response:
        return web.json_response({"error": {"type": "not_found_error", "message": "off"}}, status=404)

    async def events(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-store"})
        await resp.prepare(request)
        await resp.write(b'event: hello\ndata: {"version": "bench"}\n\n')
        start, sent = time.monotonic(), 0
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed * rate)
            while sent < due:
                event = fixtures.request_event(sent, chain=f"chain-{sent % 50}")
                try:
                    await resp.write(b"event: request\ndata: " + json.dumps(event).encode() + b"\n\n")
                except ConnectionError:  # the page was closed
                    return resp
                sent += 1
            await asyncio.sleep(0.01)
        return resp

    app = web.Application()
    app.router.add_get("/ui", ui)
    app.router.add_get("/ui/{name}", ui)
    app.router.add_get("/admin/state", answer_state)
    app.router.add_get("/admin/events", events)
    app.router.add_get("/admin/usage", usage)
    return app


@contextmanager
def serving(app: web.Application) -> Iterator[str]:
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_port(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


FETCH_MS = "performance.getEntriesByType('resource').filter(e => e.name.endsWith('/admin/state'))[0].duration"
LAG_PROBE = """() => { window.__lags = []; let last = performance.now();
  window.__probe = setInterval(() => { const now = performance.now(); window.__lags.push(now - last - 50); last = now; }, 50); }"""


def page_figures(seconds: float) -> None:
    big = fixtures.state(chains=50, steps=5, keys=10)
    state = json.dumps(big).encode()
    print(
        f"state: 50 chains x 5 steps, {len(big['providers'])} providers, 2,500 keys, {len(state) / 1e6:.1f} MB of JSON"
    )
    with chromium() as browser:
        with serving(fake_admin(big, rate=0, seconds=0)) as url:
            loads, renders, fetches = [], [], []
            for _ in range(5):
                with tab(browser) as t:
                    t.page.goto(url + "/ui")
                    t.page.wait_for_selector("article.chain:nth-of-type(50)", state="attached")
                    loads.append(float(t.page.evaluate("performance.now()")))
                    renders.append(float(t.page.evaluate("window.relayDashboard.renderMs")))
                    fetches.append(float(t.page.evaluate(FETCH_MS)))
                    assert not t.errors, t.errors
        print(
            f"Live load until 50 chains shown: median {statistics.median(loads):.0f} ms, worst {max(loads):.0f} ms "
            f"(of which the fake API's 1.6 MB answer: median {statistics.median(fetches):.0f} ms); "
            f"one full render: median {statistics.median(renders):.0f} ms, worst {max(renders):.0f} ms"
        )
        for page in ("live", "requests"):
            with serving(fake_admin(big, rate=100, seconds=seconds + 5)) as url, tab(browser) as t:
                t.page.goto(f"{url}/ui#{page}")
                shown = "article.chain:nth-of-type(50)" if page == "live" else "#feed tbody tr[data-id]"
                t.page.wait_for_selector(shown, state="attached")
                t.page.evaluate(LAG_PROBE)
                seen0 = int(t.page.evaluate("window.relayDashboard.seen"))
                t.page.wait_for_timeout(seconds * 1000)
                lags = [float(x) for x in t.page.evaluate("window.__lags")]
                seen = int(t.page.evaluate("window.relayDashboard.seen")) - seen0
                assert not t.errors, t.errors
            print(
                f"{page:>8} page at 100 events/s: {seen / seconds:.0f} events/s taken; main-thread lag "
                f"p50 {pct(lags, 0.5):.1f} ms, p99 {pct(lags, 0.99):.1f} ms, max {max(lags):.1f} ms"
            )


async def subscribers(url: str, count: int, stop: asyncio.Event) -> None:
    async def one(session: aiohttp.ClientSession) -> None:
        async with session.get(url + "/admin/events") as resp:
            assert resp.status == 200, resp.status
            while not stop.is_set():
                try:
                    await asyncio.wait_for(resp.content.readany(), 0.5)
                except TimeoutError:
                    continue

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
        await asyncio.gather(*(one(session) for _ in range(count)))


async def latency_phase(session: aiohttp.ClientSession, url: str, rate: float, seconds: float) -> list[float]:
    out: list[float] = []
    start = time.perf_counter() + 0.05

    async def one(i: int) -> None:
        at = start + i / rate
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        async with session.post(url, data=BODY, headers={"content-type": "application/json"}) as resp:
            await resp.read()
            assert resp.status == 200, resp.status
        out.append((time.perf_counter() - at) * 1000)

    await asyncio.gather(*(one(i) for i in range(int(rate * seconds))))
    return out


async def subscriber_figures(base: str, seconds: float) -> None:
    url = base + "/v1/chat/completions"
    async with aiohttp.ClientSession() as session:
        await latency_phase(session, url, 25, 2)  # warm up
        for listeners in (0, 20, 0, 20):
            stop = asyncio.Event()
            task = asyncio.create_task(subscribers(base, listeners, stop)) if listeners else None
            await asyncio.sleep(0.3 if listeners else 0)
            lat = await latency_phase(session, url, 25, seconds)
            stop.set()
            if task is not None:
                await task
            print(
                f"25 req/s with {listeners:>2} event subscribers: p50 {pct(lat, 0.5):.2f} ms, p99 {pct(lat, 0.99):.2f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    page_figures(args.seconds)
    with relay_stack(lambda port: DEFS.format(port=port)) as stack:
        asyncio.run(subscriber_figures(f"http://127.0.0.1:{stack.relay_port}", args.seconds))


if __name__ == "__main__":
    main()
