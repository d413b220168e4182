"""What a caller without a key may learn, when client keys are set (`server.auth.keys`).

Only that something is up: `HEAD /` (Claude Code's startup probe) and `GET /health` answer
200, `GET /ready` says `{"status": "ready"}` without the source hash or reload count, and
the dashboard's static files under `/ui` are public (its data is behind the admin key).
Every other method and path is a 401 before routing, so 404 and 405 cannot be used to map
which routes exist. Without client keys relay listens on loopback only, where every caller
is trusted and gets the full answers.
"""

from __future__ import annotations

from typing import Any

from runtime.errors import Unauthorized
from runtime.server.loader import Snapshot
from runtime.server.ui import is_ui

OPEN_PATHS = frozenset({"/health", "/ready"})
ADMIN_PATHS = frozenset({"/metrics"})
"""Guarded by admin keys instead (`runtime.server.admin.check_access`, called by the handler)."""


def presented_key(headers: Any) -> str | None:
    key = headers.get("x-api-key")
    if key:
        return str(key)
    auth = headers.get("authorization") or ""
    if auth[:7].lower() == "bearer ":
        return str(auth[7:].strip())
    return None


def authorized(snap: Snapshot, headers: Any) -> bool:
    if not snap.artifact.server.auth_required:
        return True
    presented = presented_key(headers)
    return presented is not None and snap.client_key_ok(presented)


def require_key(snap: Snapshot, path: str, headers: Any) -> None:
    if (
        path not in OPEN_PATHS
        and path not in ADMIN_PATHS
        and not is_ui(path)
        and not authorized(snap, headers)
    ):
        raise Unauthorized(
            "invalid or missing API key: send one of relay's client keys as x-api-key or Bearer"
        )
