"""The browser policy as a pure function of headers (`runtime.server.browser`): which Host,
Origin, Sec-Fetch-Site and Content-Type values pass, which are refused, and that no header
value, however odd, does anything but pass or raise Forbidden / UnsupportedMediaType."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.artifact import Cors, Server
from runtime.errors import Forbidden, UnsupportedMediaType
from runtime.server.browser import Guard, hostname, is_preflight, require_json

ALLOWED = "https://chat.example.com"


def guard() -> Guard:
    return Guard(Server(hosts=("relay.example.com", "*.corp.example"), cors=Cors(origins=(ALLOWED,))))


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("127.0.0.1:8787", "127.0.0.1"),
        ("[::1]:8787", "::1"),
        ("[::1]", "::1"),
        ("Relay.Example.COM.", "relay.example.com"),
        ("localhost", "localhost"),
        ("x:notaport", None),
        ("[::1", None),
        ("[::1]x", None),
        (":8787", None),
    ],
)
def test_the_name_in_a_host_value(host: str, name: str | None) -> None:
    assert hostname(host) == name


@pytest.mark.parametrize(
    ("host", "served"),
    [
        ("127.0.0.1:8787", True),
        ("10.1.2.3", True),
        ("[::1]:8787", True),
        ("[2001:db8::1]:443", True),
        ("localhost:8787", True),
        ("app.localhost", True),
        ("relay.example.com", True),
        ("RELAY.example.com:8787", True),
        ("a.corp.example", True),
        ("a.b.corp.example:1", True),
        ("corp.example", False),
        ("evil.example:8787", False),
        ("relay.example.com.evil.example", False),
        ("2130706433", False),
        ("127.0.0.1.nip.io", False),
        ("", False),
    ],
)
def test_hosts(host: str, served: bool) -> None:
    g = guard()
    for _ in range(2):  # the second answer comes from the per-build cache
        if served:
            assert g.screen({"host": host}, "/v1/messages") == ()
        else:
            with pytest.raises(Forbidden, match=r"server\.hosts"):
                g.screen({"host": host}, "/v1/messages")


@pytest.mark.parametrize(
    ("headers", "path", "outcome"),
    [
        ({"host": "127.0.0.1:8787"}, "/admin/reload", "plain"),
        ({"host": "127.0.0.1:8787", "origin": "http://127.0.0.1:8787"}, "/admin/reload", "plain"),
        ({"host": "relay.example.com", "origin": "https://relay.example.com"}, "/admin/state", "plain"),
        ({"host": "127.0.0.1:8787", "origin": "http://127.0.0.1:9999"}, "/v1/messages", "refused"),
        ({"host": "127.0.0.1:8787", "origin": "http://127.0.0.1:8787.evil"}, "/v1/messages", "refused"),
        ({"host": "127.0.0.1:8787", "origin": "null"}, "/v1/messages", "refused"),
        ({"origin": "http://127.0.0.1:8787"}, "/v1/messages", "refused"),
        ({"host": "127.0.0.1:8787", "origin": ALLOWED}, "/v1/messages", "cors"),
        ({"host": "127.0.0.1:8787", "origin": ALLOWED}, "/v1/models", "cors"),
        ({"host": "127.0.0.1:8787", "origin": ALLOWED}, "/admin/state", "refused"),
        ({"host": "127.0.0.1:8787", "origin": ALLOWED}, "/metrics", "refused"),
        ({"host": "127.0.0.1:8787", "origin": ALLOWED + ":443"}, "/v1/messages", "refused"),
        ({"host": "127.0.0.1:8787", "sec-fetch-site": "cross-site"}, "/v1/models", "refused"),
        ({"host": "127.0.0.1:8787", "sec-fetch-site": "same-site"}, "/admin/state", "refused"),
        (
            {"host": "127.0.0.1:8787", "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"},
            "/ui/",
            "plain",
        ),
        ({"host": "127.0.0.1:8787", "sec-fetch-site": "same-origin"}, "/admin/state", "plain"),
        ({"host": "127.0.0.1:8787", "sec-fetch-site": "none"}, "/admin/state", "plain"),
    ],
)
def test_origins(headers: dict[str, str], path: str, outcome: str) -> None:
    g = guard()
    if outcome == "refused":
        with pytest.raises(Forbidden):
            g.screen(headers, path)
        return
    cors = g.screen(headers, path)
    assert (dict(cors).get("access-control-allow-origin") == ALLOWED) == (outcome == "cors")
    assert (cors == ()) == (outcome == "plain")


def test_a_preflight_allows_the_sdk_headers_asked_for_and_no_others() -> None:
    g = guard()
    headers = {
        "host": "127.0.0.1:8787",
        "origin": ALLOWED,
        "access-control-request-method": "POST",
        "access-control-request-headers": "Anthropic-Dangerous-Direct-Browser-Access, x-stainless-os, "
        "openai-organization,content-type,authorization,x-forwarded-for,cookie",
    }
    cors = g.screen(headers, "/v1/chat/completions")
    assert is_preflight("OPTIONS", headers) and not is_preflight("POST", headers)
    answer = dict(g.preflight(headers, cors))
    assert answer["access-control-allow-origin"] == ALLOWED
    assert answer["access-control-allow-headers"] == (
        "anthropic-dangerous-direct-browser-access, x-stainless-os, openai-organization, content-type, authorization"
    )
    assert answer["access-control-allow-methods"] == "GET, POST"


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ({"content-type": "application/json"}, True),
        ({"content-type": "application/json; charset=utf-8"}, True),
        ({"content-type": "APPLICATION/JSON ;charset=UTF-8"}, True),
        ({}, True),  # no body: curl -X POST /admin/reload
        ({"content-length": "0"}, True),
        ({"content-length": "12"}, False),
        ({"transfer-encoding": "chunked"}, False),
        ({"content-type": "text/plain"}, False),
        ({"content-type": "text/plain;charset=UTF-8"}, False),
        ({"content-type": "application/x-www-form-urlencoded"}, False),
        ({"content-type": "multipart/form-data; boundary=x"}, False),
        ({"content-type": "application/jsonx"}, False),
        ({"content-type": ""}, False),
    ],
)
def test_post_bodies_must_be_declared_json(headers: dict[str, str], ok: bool) -> None:
    if ok:
        require_json(headers)
    else:
        with pytest.raises(UnsupportedMediaType, match="Content-Type: application/json"):
            require_json(headers)


def test_the_host_cache_stays_bounded() -> None:
    g = guard()
    for i in range(1000):
        with pytest.raises(Forbidden):
            g.screen({"host": f"evil{i}.example"}, "/")
    assert len(g._seen) == 64


HEADER_TEXT = st.text(max_size=80)


@given(host=HEADER_TEXT, origin=st.none() | HEADER_TEXT, site=st.none() | HEADER_TEXT, path=HEADER_TEXT)
def test_any_header_values_pass_or_are_refused(
    host: str, origin: str | None, site: str | None, path: str
) -> None:
    headers = {"host": host}
    if origin is not None:
        headers["origin"] = origin
    if site is not None:
        headers["sec-fetch-site"] = site
    try:
        cors = guard().screen(headers, path)
    except Forbidden as exc:
        assert len(exc.message) < 400
        return
    assert hostname(host) is not None
    assert origin is None or cors != () or origin in (f"http://{host}", f"https://{host}")


@given(kind=HEADER_TEXT)
def test_any_content_type_passes_only_when_it_is_json(kind: str) -> None:
    try:
        require_json({"content-type": kind})
    except UnsupportedMediaType as exc:
        assert len(exc.message) < 200
        return
    assert kind.split(";")[0].strip().lower() == "application/json"
