"""`GET /ui` and `/ui/*`: the dashboard's static files (runtime/ui/static), public like any
web page; the data they show sits behind the admin key on `/admin/*`.

Every file is read once, at import, into a table keyed by its name: a request is one
dict lookup, so no path the client sends ever reaches the file system (no traversal to
guard against). Each answer carries an ETag and `no-cache`, so a browser revalidates with
a 304 and a new relay version is seen at the next load.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from runtime.errors import ClientFormat, NotFound
from runtime.server.waterfall import Reply

STATIC = Path(__file__).resolve().parents[1] / "ui" / "static"
PREFIX = "/ui"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".LICENSE": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
}
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
"""The page runs only its own files and talks only to its own relay."""


def _load(folder: Path) -> dict[str, tuple[bytes, list[tuple[str, str]], str]]:
    files: dict[str, tuple[bytes, list[tuple[str, str]], str]] = {}
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        kind = TYPES.get(path.suffix)
        if kind is None or not path.is_file():
            continue
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        headers = [
            ("content-type", kind),
            ("cache-control", "no-cache"),
            ("etag", etag),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
            ("content-security-policy", POLICY),
        ]
        files[path.name] = (body, headers, etag)
    return files


FILES = _load(STATIC)


def is_ui(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


async def serve_ui(svc: Any, scope: Any, proto: Any, body: bytes, fmt: ClientFormat, rid: str) -> Reply:
    name = scope.path[len(PREFIX) :].lstrip("/") or "index.html"
    found = FILES.get(name)
    if found is None:
        raise NotFound(f"no dashboard file {scope.path}; the dashboard is at {PREFIX}/")
    content, headers, etag = found
    if scope.headers.get("if-none-match") == etag:
        return Reply(304, [h for h in headers if h[0] in ("etag", "cache-control")])
    return Reply(200, list(headers), content)
