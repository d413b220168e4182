"""What a page in the user's browser can make relay do, asked the way curl would (httpx):
every request a page on another origin could send, and every rebinding-style Host, is
refused before an upstream is called or state changes; the SDKs' own requests, relay's own
origin and the origins the operator allows still work, with CORS answers for the latter.
(tests/faces/test_browser_attacks.py makes the same attacks from a real Chromium page.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import BASIC, UPSTREAM_KEYS
from tests.e2e.procs import FakeUpstream, Relay, served_on_fake

pytestmark = pytest.mark.e2e

ALLOWED = "http://chat.test:3000"
GUARDED = BASIC.replace(
    "version: 1\n",
    f'version: 1\nserver:\n  hosts: [relay.test, "*.relay.test"]\n  cors: {{{{origins: ["{ALLOWED}"]}}}}\n',
)
CHAT = {"model": "free", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "claude-x", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
BODY = b'{"model":"free","messages":[{"role":"user","content":"hi"}]}'


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Relay, FakeUpstream]]:
    """Loopback, no client keys, no admin keys: relay's default, the one pages can reach."""
    with served_on_fake(tmp_path_factory.mktemp("guard"), GUARDED, UPSTREAM_KEYS) as pair:
        yield pair


def port(relay: Relay) -> str:
    return relay.url.rsplit(":", 1)[1]


def unchanged(relay: Relay, fake: FakeUpstream, served_before: int) -> None:
    """No upstream call, no reload since the attack began."""
    assert fake.stats()["served"] == served_before
    assert httpx.get(relay.url + "/admin/state").json()["artifact"]["last_reload"] is None


SIMPLE_BODIES = [
    ("text/plain", BODY),
    ("text/plain;charset=UTF-8", BODY),
    ("application/x-www-form-urlencoded", b"a=" + BODY),
    (
        "multipart/form-data; boundary=x",
        b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\n",
    ),
    (None, BODY),
]


@pytest.mark.parametrize(
    ("kind", "body"), SIMPLE_BODIES, ids=["text", "text-utf8", "form", "multipart", "none"]
)
@pytest.mark.parametrize(
    ("path", "style"),
    [
        ("/v1/chat/completions", "openai"),
        ("/v1/messages", "anthropic"),
        ("/v1/messages/count_tokens", "anthropic"),
        ("/admin/reload", "admin"),
    ],
)
def test_simple_request_bodies_get_415_in_the_callers_format(
    stack: tuple[Relay, FakeUpstream], path: str, style: str, kind: str | None, body: bytes
) -> None:
    relay, fake = stack
    before = fake.stats()["served"]
    headers = {"content-type": kind} if kind else {}
    resp = httpx.post(relay.url + path, content=body, headers=headers)
    assert resp.status_code == 415, resp.text
    error = resp.json()["error"]
    assert "Content-Type: application/json" in error["message"]
    assert (resp.json().get("type") == "error") == (style == "anthropic")
    if style == "openai":
        assert error["code"] == "unsupported_media_type"
    unchanged(relay, fake, before)


@pytest.mark.parametrize("kind", ["text/plain", "application/x-www-form-urlencoded", "application/json"])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/admin/reload"])
@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:9", "null"])
def test_other_origins_are_refused_before_anything_happens(
    stack: tuple[Relay, FakeUpstream], path: str, kind: str, origin: str
) -> None:
    relay, fake = stack
    before = fake.stats()["served"]
    body = BODY if path != "/v1/messages" else BODY.replace(b'"free"', b'"claude-x","max_tokens":5')
    resp = httpx.post(relay.url + path, content=body, headers={"content-type": kind, "origin": origin})
    assert resp.status_code == 403, resp.text
    assert "server.cors.origins" in resp.json()["error"]["message"]
    assert not any(h.startswith("access-control-") for h in resp.headers)
    unchanged(relay, fake, before)


@pytest.mark.parametrize(
    "path", ["/admin/state", "/metrics", "/v1/models", "/ui/", "/ready", "/admin/events"]
)
@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "relay.test.evil.example:{port}"])
def test_a_rebound_host_name_reads_nothing(stack: tuple[Relay, FakeUpstream], path: str, host: str) -> None:
    relay, _ = stack
    resp = httpx.get(relay.url + path, headers={"host": host.format(port=port(relay))})
    assert resp.status_code == 403
    assert "server.hosts" in resp.json()["error"]["message"]
    assert httpx.head(relay.url + "/", headers={"host": host.format(port=port(relay))}).status_code == 403


@pytest.mark.parametrize(
    ("path", "style"), [("/v1/chat/completions", "openai"), ("/v1/messages", "anthropic")]
)
def test_a_rebound_host_cannot_generate(stack: tuple[Relay, FakeUpstream], path: str, style: str) -> None:
    relay, fake = stack
    before = fake.stats()["served"]
    body = CHAT if style == "openai" else MESSAGES
    resp = httpx.post(relay.url + path, json=body, headers={"host": f"evil.example:{port(relay)}"})
    assert resp.status_code == 403
    payload = resp.json()
    if style == "anthropic":
        assert payload["type"] == "error" and payload["error"]["type"] == "permission_error"
    else:
        assert payload["error"]["code"] == "forbidden"
    unchanged(relay, fake, before)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:{port}",
        "localhost:{port}",
        "LOCALHOST",
        "[::1]:{port}",
        "relay.test:{port}",
        "a.relay.test",
    ],
)
def test_addresses_localhost_and_listed_names_are_served(
    stack: tuple[Relay, FakeUpstream], host: str
) -> None:
    relay, _ = stack
    assert (
        httpx.get(relay.url + "/v1/models", headers={"host": host.format(port=port(relay))}).status_code
        == 200
    )


def test_a_cross_site_subresource_get_is_refused_but_a_navigation_is_not(
    stack: tuple[Relay, FakeUpstream],
) -> None:
    relay, _ = stack
    for site in ("cross-site", "same-site"):
        img = httpx.get(
            relay.url + "/admin/state", headers={"sec-fetch-site": site, "sec-fetch-mode": "no-cors"}
        )
        assert img.status_code == 403
        link = httpx.get(relay.url + "/ui/", headers={"sec-fetch-site": site, "sec-fetch-mode": "navigate"})
        assert link.status_code == 200
    own = httpx.get(
        relay.url + "/admin/state", headers={"sec-fetch-site": "same-origin", "sec-fetch-mode": "cors"}
    )
    assert own.status_code == 200


def test_relays_own_origin_is_served_without_cors_headers(stack: tuple[Relay, FakeUpstream]) -> None:
    relay, fake = stack
    fake.script({})
    resp = httpx.post(relay.url + "/v1/chat/completions", json=CHAT, headers={"origin": relay.url})
    assert resp.status_code == 200 and not any(h.startswith("access-control-") for h in resp.headers)


def test_an_allowed_origin_gets_cors_answers_on_the_client_api_only(
    stack: tuple[Relay, FakeUpstream],
) -> None:
    relay, fake = stack
    asked = (
        "anthropic-dangerous-direct-browser-access,anthropic-version,content-type,x-api-key,"
        "x-stainless-os,x-stainless-retry-count,authorization,x-evil"
    )
    preflight = httpx.options(
        relay.url + "/v1/messages",
        headers={
            "origin": ALLOWED,
            "access-control-request-method": "POST",
            "access-control-request-headers": asked,
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert preflight.headers["access-control-allow-methods"] == "GET, POST"
    allowed = preflight.headers["access-control-allow-headers"].split(", ")
    assert allowed == asked.split(",")[:-1]  # every header an SDK sends, not x-evil
    fake.script({})
    answer = httpx.post(relay.url + "/v1/chat/completions", json=CHAT, headers={"origin": ALLOWED})
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == ALLOWED
    assert "x-relay-provider" in answer.headers["access-control-expose-headers"]
    missing = httpx.post(
        relay.url + "/v1/chat/completions", json={**CHAT, "model": "nope"}, headers={"origin": ALLOWED}
    )
    assert missing.status_code == 404 and missing.headers["access-control-allow-origin"] == ALLOWED
    for path in ("/admin/state", "/metrics", "/ui/"):
        assert httpx.get(relay.url + path, headers={"origin": ALLOWED}).status_code == 403
    admin = httpx.options(
        relay.url + "/admin/reload", headers={"origin": ALLOWED, "access-control-request-method": "POST"}
    )
    assert admin.status_code == 403 and "access-control-allow-origin" not in admin.headers
    other = httpx.options(
        relay.url + "/v1/messages",
        headers={"origin": "http://evil.example", "access-control-request-method": "POST"},
    )
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
    assert httpx.options(relay.url + "/v1/messages").status_code == 405  # no preflight: as before


@pytest.mark.parametrize(
    "kind", ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"]
)
def test_json_bodies_and_bodiless_admin_writes_are_served(
    stack: tuple[Relay, FakeUpstream], kind: str
) -> None:
    relay, fake = stack
    fake.script({})
    resp = httpx.post(relay.url + "/v1/chat/completions", content=BODY, headers={"content-type": kind})
    assert resp.status_code == 200, resp.text


def test_admin_writes_from_curl_and_from_the_dashboards_origin_work(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with served_on_fake(tmp_path_factory.mktemp("guard-admin"), GUARDED, UPSTREAM_KEYS) as (relay, _):
        plain = httpx.post(relay.url + "/admin/reload")  # curl -X POST: no body, no type
        own = httpx.post(relay.url + "/admin/reload", headers={"origin": relay.url})
        typed = httpx.post(relay.url + "/admin/reload", json={})
        assert [r.status_code for r in (plain, own, typed)] == [200, 200, 200]
        assert all(r.json()["outcome"] == "unchanged" for r in (plain, own, typed))


def test_an_upstream_html_error_page_is_described_not_quoted(stack: tuple[Relay, FakeUpstream]) -> None:
    relay, fake = stack
    page: dict[str, Any] = {
        "status": 502,
        "headers": {"content-type": "text/html"},
        "body": "<html><body><script>alert('x')</script><h1>502 Bad Gateway</h1></body></html>",
    }
    fake.script(page, page)
    resp = httpx.post(relay.url + "/v1/chat/completions", json=CHAT)
    assert resp.status_code == 502
    message = resp.json()["error"]["message"]
    assert "an HTML page (" in message and "<" not in message and "script" not in message
