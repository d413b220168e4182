"""Resolve the `server:` block: listen address, client and admin key fingerprints, defaults.

Safety rule enforced here: a listen address others can reach needs client keys (R210).
A key counts as configured unless it is an optional reference that is unset, so CI without
secrets still passes while `${RELAY_API_KEY}` is required (it is reported as missing instead).
"""

from __future__ import annotations

from compiler import codes
from compiler.context import Context
from compiler.endpoints import is_loopback
from compiler.keys import ResolvedKey, fingerprint, resolve_keys
from compiler.model import KeysDef, ServerDef
from compiler.providers import timeouts
from runtime.artifact import Connections, LogConfig, Server, Timeouts


def split_listen(listen: str) -> tuple[str, int] | None:
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


def server_keys(ctx: Context, block: str, keys: KeysDef | None) -> list[ResolvedKey]:
    resolved, diags = resolve_keys(ctx.ds, ["server", block, "keys"], keys.keys if keys else [], ctx.env)
    ctx.diags.extend(diags)
    return resolved


def check_listen(ctx: Context, listen: str, client_keys: list[ResolvedKey]) -> None:
    parsed = split_listen(listen)
    if parsed is None:
        ctx.report(
            codes.BAD_LISTEN,
            ["server", "listen"],
            f"{listen!r} is not host:port with a port 1-65535",
            "write e.g. 127.0.0.1:8787",
        )
        return
    configured = [k for k in client_keys if k.value or k.missing]
    if not is_loopback(parsed[0]) and not configured:
        ctx.report(
            codes.OPEN_LISTEN,
            ["server", "listen"],
            f"listening on {listen} without client keys",
            'add server.auth.keys: ["${RELAY_API_KEY}"], or listen on 127.0.0.1',
        )


def resolve_server(ctx: Context, server: ServerDef) -> tuple[Server, list[str], list[str]]:
    """The artifact server plus the client and admin key values (for secrets.json only)."""
    clients = server_keys(ctx, "auth", server.auth)
    admins = server_keys(ctx, "admin", server.admin)
    if ("server", "listen") not in ctx.unresolved:
        check_listen(ctx, server.listen, clients)
    client_values = [k.value for k in clients if k.value]
    admin_values = [k.value for k in admins if k.value]
    log = server.log.model_dump() if server.log else {}
    resolved = Server(
        listen=server.listen,
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
    )
    return resolved, client_values, admin_values
