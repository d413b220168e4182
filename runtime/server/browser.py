"""What a web page in the user's own browser may make relay do (docs/security.md).

Any page the person running relay opens can send requests to 127.0.0.1: the browser stops
it from reading most answers, not from sending them. So every request passes, before
routing:

- **Host** (DNS rebinding: a page on `evil.example` whose name now resolves to 127.0.0.1
  talks to relay as `Host: evil.example`): served are IP literals, `localhost` and
  `*.localhost` (browsers resolve those to loopback themselves), and `server.hosts`.
- **Origin** (sent by browsers on every POST and every CORS request): relay's own origin
  (the `Origin` whose host is the `Host`: the dashboard) is served everywhere; an origin in
  `server.cors.origins` only on `/v1/*`, with CORS headers on its answers and preflights;
  any other origin (`null` included) is refused.
- **Sec-Fetch-Site** when there is no Origin (an `<img>` or `<script>` GET): a request from
  another site that is not a top-level navigation is refused.

And every POST carries `Content-Type: application/json` (`require_json`), so no CORS
"simple request" (text/plain, a form, multipart, a typeless blob) reaches a handler.

`Guard` is built once per build: a request costs two or three header reads and set
lookups, and a `Host` value seen before is one dict lookup.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from runtime.artifact import Server
from runtime.errors import Forbidden, UnsupportedMediaType

Headers = tuple[tuple[str, str], ...]

NO_CORS: Headers = ()
CORS_PREFIX = "/v1/"
"""The client API; the dashboard, `/admin/*` and `/metrics` answer their own origin only."""
ALLOW_METHODS = "GET, POST"
SDK_HEADERS = frozenset(
    {
        "accept",
        "authorization",
        "content-type",
        "idempotency-key",
        "openai-beta",
        "openai-organization",
        "openai-project",
        "x-api-key",
        "x-app",
    }
)
"""Request headers the official Anthropic and OpenAI SDKs and Claude Code send (read from
their sources), besides the prefixes below."""
SDK_PREFIXES = ("anthropic-", "x-stainless-", "x-claude-code-")
"""`anthropic-version`, `-beta`, `-dangerous-direct-browser-access`; the SDKs' telemetry."""
EXPOSE = (
    "request-id, x-request-id, retry-after, retry-after-ms, x-should-retry, x-relay-chain, "
    "x-relay-provider, x-relay-attempts, x-relay-overhead-ms, x-relay-queued-ms, x-relay-skipped, "
    "x-relay-dropped, x-relay-dropped-tools, x-relay-thinking-dropped, x-relay-route"
)
PREFLIGHT_MAX_AGE = "600"
_FOREIGN_SITES = frozenset({"cross-site", "same-site"})
"""`same-site` too: a page on another port of 127.0.0.1 is the same site, not the same origin."""
_HOST_CACHE = 64
"""Distinct `Host` values remembered per build; more are checked each time, never stored."""
_JSON_TYPES = frozenset(
    {"application/json", "application/json; charset=utf-8", "application/json;charset=utf-8"}
)


def hostname(host: str) -> str | None:
    """The name or address in a `Host` value (port, brackets and a final dot removed,
    lowercase), or None when the value is malformed."""
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return None
        name, rest = host[1:end], host[end + 1 :]
        if rest and not (rest[0] == ":" and rest[1:].isdigit()):
            return None
    else:
        name, colon, port = host.partition(":")
        if colon and not port.isdigit():
            return None
    name = name.lower().rstrip(".")
    return name or None


def shown(value: str, limit: int = 100) -> str:
    """A header value fit to quote in a message or log: printable ASCII, bounded, quoted."""
    return "'" + "".join(c if " " <= c <= "~" else "?" for c in value[:limit]) + "'"


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _own(origin: str, host: str) -> bool:
    """`origin` is `http://HOST` or `https://HOST` (no slicing: no allocation)."""
    extra = len(origin) - len(host)
    return (
        (extra == 7 and origin.startswith("http://")) or (extra == 8 and origin.startswith("https://"))
    ) and origin.endswith(host)


class Guard:
    """One build's browser policy, precomputed from `server.hosts` and `server.cors`."""

    def __init__(self, server: Server) -> None:
        self._names = frozenset(h for h in server.hosts if not h.startswith("*"))
        self._suffixes = tuple(h[1:] for h in server.hosts if h.startswith("*."))
        self._seen: dict[str, bool] = {}
        self._cors: dict[str, Headers] = {
            origin: (
                ("access-control-allow-origin", origin),
                ("vary", "Origin"),
                ("access-control-expose-headers", EXPOSE),
            )
            for origin in server.cors.origins
        }

    def host_allowed(self, host: str) -> bool:
        name = hostname(host)
        if name is None:
            return False
        return (
            name == "localhost"
            or name.endswith(".localhost")
            or name in self._names
            or name.endswith(self._suffixes)
            or _is_ip(name)
        )

    def screen(self, headers: Any, path: str) -> Headers:
        """The CORS headers this request's answer carries (none unless an allowed foreign
        origin asks); raises Forbidden for a request a page elsewhere must not make."""
        host = headers.get("host")
        if host is not None:
            ok = self._seen.get(host)
            if ok is None:
                ok = self.host_allowed(host)
                if len(self._seen) < _HOST_CACHE:
                    self._seen[host] = ok
            if not ok:
                raise Forbidden(
                    f"Host {shown(host)} is not served here: relay answers IP addresses, localhost "
                    "and the names in server.hosts (a guard against DNS rebinding)"
                )
        origin = headers.get("origin")
        if origin is None:
            if (
                headers.get("sec-fetch-site") in _FOREIGN_SITES
                and headers.get("sec-fetch-mode") != "navigate"
            ):
                raise Forbidden("requests from pages on other sites are refused (Sec-Fetch-Site)")
            return NO_CORS
        if host is not None and _own(origin, host):
            return NO_CORS
        cors = self._cors.get(origin)
        if cors is None or not path.startswith(CORS_PREFIX):
            where = "" if cors is None else f" on {shown(path)}"
            raise Forbidden(
                f"Origin {shown(origin)} may not call relay{where}: add it to server.cors.origins "
                "(the client API /v1/* only) if a web app there should"
            )
        return cors

    @staticmethod
    def preflight(headers: Any, cors: Headers) -> list[tuple[str, str]]:
        """The answer to an allowed origin's OPTIONS preflight: relay's methods and those of
        the headers asked for that an SDK sends (the browser refuses the request if it needs
        another)."""
        asked = (
            part.strip().lower()
            for part in str(headers.get("access-control-request-headers") or "").split(",")
        )
        allowed = [name for name in asked if name in SDK_HEADERS or name.startswith(SDK_PREFIXES)]
        return [
            cors[0],
            ("vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
            ("access-control-allow-methods", ALLOW_METHODS),
            ("access-control-allow-headers", ", ".join(allowed)),
            ("access-control-max-age", PREFLIGHT_MAX_AGE),
        ]


def is_preflight(method: str, headers: Any) -> bool:
    return method == "OPTIONS" and "access-control-request-method" in headers


def require_json(headers: Any) -> None:
    """A POST's body must be declared JSON; a POST without a body may leave the type out."""
    kind = headers.get("content-type")
    if kind in _JSON_TYPES:
        return
    if kind is None:
        if headers.get("content-length") in (None, "0") and "transfer-encoding" not in headers:
            return
    elif kind.partition(";")[0].strip().lower() == "application/json":
        return
    given = "none" if kind is None else shown(kind, 60)
    raise UnsupportedMediaType(
        f"Content-Type {given} is not accepted: send the body as JSON with Content-Type: application/json"
    )
