"""Who may read operator data (`/metrics`, and the `/admin/*` API): a caller presenting one
of `server.admin.keys` (constant-time compare; client keys are not admin keys), or, when no
admin keys are configured, any loopback peer and nobody else."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from runtime.errors import Unauthorized
from runtime.server.access import presented_key
from runtime.server.loader import Snapshot


def peer_is_loopback(client: str) -> bool:
    """`client` is Granian's `host:port` (IPv6 hosts may come bracketed)."""
    host = client.rpartition(":")[0].strip("[]") if ":" in client else client
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def admin_ok(snap: Snapshot, scope: Any) -> bool:
    if not snap.artifact.server.admin_key_fingerprints:
        return peer_is_loopback(str(scope.client or ""))
    presented = presented_key(scope.headers)
    if presented is None:
        return False
    candidate = presented.encode()
    ok = False
    for known in snap.secrets.admin_keys:
        ok |= hmac.compare_digest(candidate, known.encode())
    return ok


def require_admin(snap: Snapshot, scope: Any) -> None:
    if not admin_ok(snap, scope):
        raise Unauthorized(
            "invalid or missing admin key: send one of server.admin.keys as x-api-key or Bearer "
            "(without admin keys, only loopback callers are answered)"
        )
