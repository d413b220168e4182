"""The attacks of issue 17 made from a real page in Debian's headless Chromium: a page served
by a test server on another loopback port (another origin) tries a text/plain fetch, a
typeless blob, a form POST, image and script GETs and a JSON fetch on relay's default setup
(loopback, no client keys, no admin keys), and a page on a name rebound to 127.0.0.1 reads
relay with its own Host. Every request reaches relay (its log names each refusal), the fake
upstream counts zero calls and no reload happened; the dashboard at /ui still reads the
state, reloads and runs the test console from its own origin."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.procs import FakeUpstream, Relay, free_port, served_on_fake, wait_until
from tests.faces.browser import Tab, chromium, tab

pytestmark = pytest.mark.e2e

DEFS = """\
version: 1
providers:
  fakeup:
    api: openai
    base_url: {url}/v1
    keys: ["${{FAKE_UP_KEY}}"]
    timeouts: {{first_byte: 5s, stream_idle: 5s}}
chains:
  free:
    steps: [fakeup/fake-model]
"""
ENV = {"FAKE_UP_KEY": "test-upstream-key-attacks"}
REBOUND = "rebound.test"

ATTACK = """<!doctype html><html><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<form id="f1" method="POST" enctype="text/plain" target="sink1" action="{relay}/v1/chat/completions">
<input name='{{"model":"free","messages":[{{"role":"user","content":"hi"}}],"x":"' value='"}}'></form>
<form id="f2" method="POST" target="sink2" action="{relay}/admin/reload"><input name="a" value="1"></form>
<script>
const relay = "{relay}";
const chat = JSON.stringify({{model: "free", messages: [{{role: "user", content: "hi"}}]}});
const tries = [
  fetch(relay + "/v1/chat/completions", {{method: "POST", mode: "no-cors", headers: {{"content-type": "text/plain"}}, body: chat}}),
  fetch(relay + "/v1/messages", {{method: "POST", mode: "no-cors", body: new Blob([chat])}}),
  fetch(relay + "/admin/reload", {{method: "POST", mode: "no-cors", body: "{{}}"}}),
  fetch(relay + "/v1/chat/completions", {{method: "POST", headers: {{"content-type": "application/json"}}, body: chat}}),
  fetch(relay + "/admin/state").then((r) => r.text()),
];
for (const [tag, path] of [["img", "/admin/state"], ["img", "/v1/models"], ["script", "/admin/state"], ["script", "/metrics"]]) {{
  const el = document.createElement(tag);
  tries.push(new Promise((done) => {{ el.onload = el.onerror = done; }}));
  el.src = relay + path;
  document.body.appendChild(el);
}}
document.getElementById("f1").submit();
document.getElementById("f2").submit();
Promise.allSettled(tries).then((results) => {{
  window.results = results.map((r) => r.status === "fulfilled" ? String(r.value && r.value.type || r.value) : "rejected: " + r.reason);
}});
</script></body></html>"""


class _Page(http.server.BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Relay, FakeUpstream]]:
    with served_on_fake(tmp_path_factory.mktemp("attacks"), DEFS, ENV) as pair:
        yield pair


@pytest.fixture(scope="module")
def browser(stack: tuple[Relay, FakeUpstream]) -> Iterator[Any]:
    with chromium(f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1") as b:
        yield b


@pytest.fixture
def page(browser: Any) -> Iterator[Tab]:
    with tab(browser) as opened:
        yield opened


@pytest.fixture
def attacker(stack: tuple[Relay, FakeUpstream]) -> Iterator[str]:
    """The attack page on another loopback port: another origin, same machine."""
    relay, _ = stack
    handler = type("Attack", (_Page,), {"page": ATTACK.format(relay=relay.url).encode()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        thread.join()


def _reloads(relay: Relay) -> object:
    return httpx.get(relay.url + "/admin/state").json()["artifact"]["last_reload"]


def _refusals(relay: Relay) -> list[str]:
    return [line for line in relay.output().splitlines() if "refused a browser request" in line]


def test_a_page_on_another_origin_reaches_nothing(
    stack: tuple[Relay, FakeUpstream], page: Tab, attacker: str
) -> None:
    relay, fake = stack
    served_before, refused_before = fake.stats()["served"], len(_refusals(relay))
    page.page.goto(attacker)
    page.page.wait_for_function("window.results !== undefined")
    results = page.page.evaluate("window.results")
    assert results[3].startswith("rejected") and results[4].startswith("rejected"), (
        results
    )  # CORS blocks reading
    # 5 fetches + 2 forms + 2 images + 2 scripts, each seen by relay and refused there
    wait_until(
        lambda: len(_refusals(relay)) - refused_before >= 11, "relay refusing every attack", timeout=10
    )
    refused = _refusals(relay)[refused_before:]
    assert all("Origin 'http://127.0.0.1:" in line or "Sec-Fetch-Site" in line for line in refused), refused
    assert fake.stats()["served"] == served_before
    assert _reloads(relay) is None


def test_a_rebound_name_cannot_read_relay(stack: tuple[Relay, FakeUpstream], page: Tab) -> None:
    """The page's origin is http://rebound.test:PORT, whose name now points at 127.0.0.1:
    its script (run here after the page loaded, as the attacker's would after rebinding)
    reads and writes relay as same-origin requests, with its own name in Host."""
    relay, fake = stack
    served_before = fake.stats()["served"]
    rebound = relay.url.replace("127.0.0.1", REBOUND)
    landed = page.page.goto(rebound + "/")
    assert landed is not None and landed.status == 403
    read = page.page.evaluate(
        """async () => {
          const out = [];
          for (const path of ["/admin/state", "/metrics", "/v1/models", "/ui/"]) {
            const r = await fetch(path); out.push([r.status, (await r.text()).slice(0, 200)]);
          }
          const g = await fetch("/v1/chat/completions", {method: "POST", headers: {"content-type": "application/json"},
            body: JSON.stringify({model: "free", messages: [{role: "user", content: "hi"}]})});
          out.push([g.status, await g.text()]);
          const r = await fetch("/admin/reload", {method: "POST"});
          out.push([r.status, await r.text()]);
          return out;
        }"""
    )
    assert [status for status, _ in read] == [403] * 6, read
    assert all("server.hosts" in body and "uptime" not in body for _, body in read), read
    assert fake.stats()["served"] == served_before
    assert _reloads(relay) is None


def test_the_dashboard_works_without_admin_keys_from_its_own_origin(
    stack: tuple[Relay, FakeUpstream], page: Tab
) -> None:
    relay, fake = stack
    page.page.goto(f"{relay.url}/ui#chains")
    page.page.wait_for_selector("#conn.ok")
    page.page.click("#reload")
    page.page.wait_for_selector("#reload-out:has-text('unchanged')")
    page.page.goto(f"{relay.url}/ui#console")
    fake.script({"text": "answered through the dashboard", "match": {"stream": True}})
    page.page.fill("#console-model", "free")
    page.page.fill("#console-prompt", "hello")
    page.page.click("#console-send")
    page.page.wait_for_selector("#console-meta[data-provider]", state="attached")
    assert "answered through the dashboard" in str(page.page.inner_text("#console-out"))
    assert page.errors == []
