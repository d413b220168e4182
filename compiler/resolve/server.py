"""Resolve the `server:` block: listen address, client and admin key fingerprints, defaults,
and the browser policy's names and origins written the way browsers send them.

Safety rules enforced here: a listen address others can reach needs client keys (R210); a
client key must be strong enough to guard paid upstream keys (R224: not empty, no
whitespace, at least 16 characters), checked on the value itself whenever it is known, and
never quoted. A key counts as configured unless it is an optional reference that is unset,
so CI without secrets still passes while `${RELAY_API_KEY}` is required (it is reported as
missing instead). The listen address is written as one the server can bind: `localhost`
becomes 127.0.0.1, and a host name is refused (Granian binds addresses, not names).
"""

from __future__ import annotations

import ipaddress
import re

from compiler import codes
from compiler.context import Context
from compiler.language.model import KeysDef, ServerDef
from compiler.resolve.endpoints import is_loopback
from compiler.resolve.keys import ResolvedKey, check_url_secret, fingerprint, resolve_keys
from compiler.resolve.providers import timeouts
from runtime.artifact import (
    Connections,
    Cors,
    LogConfig,
    ResponseModel,
    Server,
    Timeouts,
    UsageStore,
    Webhook,
)

ENV_ONLY = re.compile(r"\$\{[^}]*\}")
"""A secret field written as one environment reference and nothing else."""
MIN_CLIENT_KEY = 16
"""Characters a client key needs at least: guessing it must cost more than the keys it guards."""
KEY_VARIABLE = {"auth": "RELAY_API_KEY", "admin": "RELAY_ADMIN_KEY"}
"""The variable a hint suggests for a literal key: the one the Dockerfile, compose and the
console read for that block."""


def split_listen(listen: str) -> tuple[str, int] | None:
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


def bindable(host: str) -> str | None:
    """`host` as an address to bind (`localhost` read as 127.0.0.1), or None for a name."""
    if host.lower() == "localhost":
        return "127.0.0.1"
    bracketed = host.startswith("[") and host.endswith("]")
    try:
        address = ipaddress.ip_address(host[1:-1] if bracketed else host)
    except ValueError:
        return None
    if address.version == 6 and not bracketed:
        return None
    return host


def weakness(value: str) -> str | None:
    if not value.strip():
        return "is empty"
    if any(c.isspace() for c in value):
        return "contains whitespace"
    if len(value) < MIN_CLIENT_KEY:
        return f"is shorter than {MIN_CLIENT_KEY} characters"
    return None


def check_strength(ctx: Context, block: str, keys: list[ResolvedKey]) -> None:
    for index, key in enumerate(keys):
        known = not key.refs or bool(key.value)  # a literal, or a reference that is set
        reason = weakness(key.value) if known and not key.unknown else None
        if reason is None:
            continue
        source = f" (from {', '.join(key.refs)})" if key.refs else ""
        variable = key.refs[0] if key.refs else KEY_VARIABLE[block]
        ctx.report(
            codes.WEAK_CLIENT_KEY,
            ["server", block, "keys", index],
            f"key {index} of server.{block}.keys{source} {reason}",
            f"use at least {MIN_CLIENT_KEY} random characters from the environment, e.g. "
            f"export {variable}=$(openssl rand -hex 24) and write ${{{variable}}}",
        )


def server_keys(ctx: Context, block: str, keys: KeysDef | None) -> list[ResolvedKey]:
    resolved, diags = resolve_keys(ctx.ds, ["server", block, "keys"], keys.keys if keys else [], ctx.env)
    ctx.diags.extend(diags)
    check_strength(ctx, block, resolved)
    return resolved


def check_listen(ctx: Context, listen: str, client_keys: list[ResolvedKey]) -> str:
    """The address to write into the artifact (unchanged when it is malformed: already reported)."""
    parsed = split_listen(listen)
    if parsed is None:
        ctx.report(
            codes.BAD_LISTEN,
            ["server", "listen"],
            f"{listen!r} is not host:port with a port 1-65535",
            "write e.g. 127.0.0.1:8787",
        )
        return listen
    host = bindable(parsed[0])
    if host is None:
        ctx.report(
            codes.BAD_LISTEN,
            ["server", "listen"],
            f"{parsed[0]!r} is not an IP address: relay binds addresses, not host names",
            f"write 127.0.0.1:{parsed[1]} (this machine), 0.0.0.0:{parsed[1]} (every interface) "
            f"or [::1]:{parsed[1]}; localhost is read as 127.0.0.1",
        )
        return listen
    configured = [k for k in client_keys if k.value or k.missing or k.unknown]
    if not is_loopback(host) and not configured:
        ctx.report(
            codes.OPEN_LISTEN,
            ["server", "listen"],
            f"listening on {listen} without client keys",
            'add server.auth.keys: ["${RELAY_API_KEY}"], or listen on 127.0.0.1',
        )
    return f"{host}:{parsed[1]}"


def resolve_server(ctx: Context, server: ServerDef) -> tuple[Server, list[tuple[str, str]], list[str]]:
    """The artifact server plus the client keys (value and the variable it came from, for
    routing rules' `client_key`) and admin key values, for secrets.json only."""
    clients = server_keys(ctx, "auth", server.auth)
    admins = server_keys(ctx, "admin", server.admin)
    check_url_secret(ctx, ["server", "state"], str(ctx.ds.data["server"].get("state") or ""))
    usage = ctx.ds.data["server"].get("usage")
    if isinstance(usage, dict):
        check_url_secret(ctx, ["server", "usage", "store"], str(usage.get("store") or ""))
    listen = server.listen
    if ("server", "listen") not in ctx.unresolved:
        listen = check_listen(ctx, server.listen, clients)
    client_values = [k.value for k in clients if k.value]
    admin_values = [k.value for k in admins if k.value]
    log = server.log.model_dump() if server.log else {}
    resolved = Server(
        listen=listen,
        auth_required=bool(client_values),
        client_key_fingerprints=tuple(fingerprint(v) for v in client_values),
        admin_key_fingerprints=tuple(fingerprint(v) for v in admin_values),
        state=server.state,
        timeouts=timeouts(Timeouts(), server.timeouts),
        log=LogConfig(**log),
        max_body_bytes=server.max_body_bytes,
        keepalive=server.keepalive,
        max_body_memory=server.max_body_memory,
        connections=Connections(**server.connections.model_dump()) if server.connections else Connections(),
        drain=server.drain,
        webhooks=webhooks(ctx, server),
        usage=UsageStore(**server.usage.model_dump()) if server.usage else UsageStore(),
        hosts=tuple(dict.fromkeys(browser_host(h) for h in server.hosts)),
        cors=Cors(origins=tuple(dict.fromkeys(browser_origin(o) for o in server.cors.origins)))
        if server.cors
        else Cors(),
        response_model=(
            ResponseModel(**server.response_model.model_dump()) if server.response_model else ResponseModel()
        ),
    )
    named = [(k.value, k.refs[0] if k.refs else "") for k in clients if k.value]
    return resolved, named, admin_values


DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def browser_host(name: str) -> str:
    """`name` as relay compares it with a `Host` header: lowercase, no final dot (an
    environment reference not yet expanded stays as written)."""
    return name if "${" in name else name.lower().rstrip(".")


def browser_origin(origin: str) -> str:
    """`origin` as a browser writes it in `Origin`: lowercase, without its scheme's default
    port (an environment reference not yet expanded stays as written)."""
    if "${" in origin:
        return origin
    origin = origin.lower()
    scheme = origin.partition("://")[0]
    port = DEFAULT_PORTS.get(scheme, "")
    return origin[: -len(port)] if port and origin.endswith(port) else origin


def webhooks(ctx: Context, server: ServerDef) -> tuple[Webhook, ...]:
    """The receivers; a credential written into a URL or a literal secret is refused (R204)."""
    written = ctx.ds.data["server"].get("webhooks") or []
    for index, raw in enumerate(written):
        check_url_secret(ctx, ["server", "webhooks", index, "url"], str(raw.get("url") or ""))
        secret = raw.get("secret")
        if secret is not None and not ENV_ONLY.fullmatch(str(secret)):
            ctx.report(
                codes.LITERAL_SECRET,
                ["server", "webhooks", index, "secret"],
                "webhook secret is written literally",
                "put it in an environment variable and write secret: ${WEBHOOK_SECRET}",
            )
    return tuple(
        Webhook(url=h.url, events=tuple(dict.fromkeys(h.events)), secret=h.secret) for h in server.webhooks
    )
