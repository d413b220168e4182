"""What `relay run` checks before it binds: the build, the listen policy, the extras, the
state URL and the usage store, each problem refused in one line.

`runtime.server.serve` runs these in a short-lived fork, not in its own interpreter.
Granian forks every worker from the main process, so each page the main process has
touched counts again in every worker's resident memory; checking a build reaches msgspec,
the artifact types, the loader (and through the router, translation), sqlite3, and the
Redis client for a Redis state, none of which the main process needs once the checks
have passed. The workers import what they use themselves.
"""

from __future__ import annotations

import math
from pathlib import Path

from runtime import extras
from runtime.artifact import Artifact, Server, UsageStore
from runtime.ops.usage.store import StoreError, open_store, resolve
from runtime.routing.backend import StateUrlError, check_state_url
from runtime.server.listen import ListenError, is_loopback, parse_listen
from runtime.server.loader import LoadError, load

KILL_MARGIN = 5.0
"""Seconds past the drain (and the last idle connection's timeout) before a worker is killed."""

REFUSED = (LoadError, ListenError, extras.MissingExtra, StateUrlError, StoreError)
"""What `check` raises for a build or a command line relay refuses to serve."""


def check_policy(server: Server, host: str, workers: int) -> None:
    """Refusals that protect users: public listening without keys, split memory state."""
    if not is_loopback(host) and not server.auth_required:
        raise ListenError(
            f"refusing to listen on {host}: it is not a loopback address and server.auth.keys is empty; "
            "add client keys (server.auth.keys) and rebuild, or listen on 127.0.0.1"
        )
    if workers > 1 and server.state == "memory":
        raise ListenError(
            f"refusing --workers {workers} with state: memory: each worker would keep its own cooldowns and "
            "rate windows, so together they would exceed provider limits; use --workers 1, or set "
            "server.state: redis://127.0.0.1:6379/0 so every worker shares one state"
        )


def check_usage_store(usage: UsageStore, root: Path) -> None:
    """Open (and migrate) the usage store once before serving: a path relay cannot write or
    a PostgreSQL it cannot reach is refused now, in one line, not found out per worker."""
    if usage.store != "off":
        open_store(resolve(usage.store, root)).close()


def check_extras(artifact: Artifact) -> None:
    """A build made where an extra was installed, served where it is not: one line, not a
    worker's ImportError on the first request."""
    lines = extras.missing(list(artifact.providers.values()), artifact.server)
    if lines:
        raise extras.MissingExtra("; ".join(lines))


def kill_timeout(server: Server) -> int:
    return math.ceil(server.drain + server.connections.header_timeout + KILL_MARGIN)


def check(root: Path, listen: str | None, workers: int) -> tuple[str, int, Server]:
    """The address to serve on and the build's server settings; raises one of `REFUSED`."""
    artifact = load(root).artifact
    server = artifact.server
    host, port = parse_listen(listen or server.listen)
    check_policy(server, host, workers)
    check_extras(artifact)
    check_state_url(server.state)
    check_usage_store(server.usage, root)
    return host, port, server
