"""The editor endpoints, `/admin/definitions*` (docs/admin-api.md): the dashboard edits the
definition files the running build was made from, checks and previews drafts, saves and
swaps.

The work is the compiler's (ruamel.yaml round-trip edits, checks, builds), and the runtime
never imports the compiler (runtime/README.md, tests/runtime/test_layers.py): each request
runs `python -m compiler.edit` as a child process with one JSON request on stdin and
passes its answer on. A worker stays as small as before; an editor request costs a
process start (a few hundred milliseconds), which is nothing for a person typing. The
request names the folders from this worker's snapshot, never from the caller: a client
chooses files only relative to the definitions folder, and the child refuses any path
outside it. A save that built is then loaded through the ordinary reload path.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from runtime.errors import BadRequest, MethodNotAllowed
from runtime.server.service import Service
from runtime.server.waterfall import Reply

PATH = "/admin/definitions"
ACTIONS = {
    "/admin/definitions/check": "check",
    "/admin/definitions/preview": "preview",
    "/admin/definitions/save": "save",
}
DRAFT_FIELDS = ("files", "edits", "etag", "bases")
"""What a caller may send; the folders come from the running build."""
TIMEOUT_S = 60.0

ReadBody = Callable[[], Awaitable[bytes]]
Reload = Callable[[Service], dict[str, Any]]

_encode = msgspec.json.Encoder().encode
_JSON = [("content-type", "application/json")]
_lock = asyncio.Lock()
"""One editor child at a time per worker: saves never interleave, checks never pile up."""


def handles(path: str) -> bool:
    return path == PATH or path in ACTIONS


def _reply(status: int, body: Any) -> Reply:
    return Reply(status, list(_JSON), _encode(body))


def _error(status: int, kind: str, message: str) -> Reply:
    return _reply(status, {"error": {"type": kind, "message": message}})


def _draft(body: bytes) -> dict[str, Any]:
    if not body:
        raise BadRequest("send the draft as a JSON object: {files?, edits?, etag?, bases?}")
    try:
        draft = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise BadRequest("the body is not valid JSON: send {files?, edits?, etag?, bases?}") from None
    if not isinstance(draft, dict):
        raise BadRequest("the body must be a JSON object: {files?, edits?, etag?, bases?}")
    unknown = sorted(set(draft) - set(DRAFT_FIELDS))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}; fields: {', '.join(DRAFT_FIELDS)}", param=unknown[0])
    return draft


async def _child(request: dict[str, Any]) -> tuple[int, Any]:
    """Run the compiler's editor on one request; its answer, or why there is none."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "compiler.edit",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(_encode(request)), TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return 504, {"error": {"type": "timeout_error", "message": f"the editor took over {TIMEOUT_S:.0f}s"}}
    try:
        answer = msgspec.json.decode(out)
        return int(answer["status"]), answer["body"]
    except (msgspec.DecodeError, KeyError, TypeError, ValueError):
        last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        return 500, {"error": {"type": "api_error", "message": f"the editor failed: {last[0][:300]}"}}


async def answer(svc: Service, scope: Any, read_body: ReadBody, reload: Reload) -> Reply:
    """Access was checked by the caller (`admin.answer`)."""
    path, method = scope.path, scope.method
    if (path == PATH) != (method == "GET") or method not in ("GET", "POST"):
        raise MethodNotAllowed(f"{method} is not allowed on {path}; see docs/admin-api.md")
    snap = svc.snapshot
    if snap.source_dir is None:
        return _error(
            409,
            "invalid_request_error",
            "this build does not say which definitions it was made from (built by an older relay): "
            "run `relay build DIR -o OUT` again",
        )
    request: dict[str, Any] = {"dir": str(snap.source_dir), "out": str(svc.root)}
    if method == "GET":
        request["action"] = "read"
    else:
        request |= _draft(await read_body())
        request["action"] = ACTIONS[path]
    async with _lock:
        status, body = await _child(request)
    if not isinstance(body, dict):
        return _error(500, "api_error", "the editor answered nothing usable")
    body["built_etag"] = svc.snapshot.artifact.source_hash
    if request["action"] == "read":
        body["source_dir"] = str(snap.source_dir)
    if request["action"] == "save" and status == 200:
        body["reload"] = reload(svc)
        body["built_etag"] = svc.snapshot.artifact.source_hash
    return _reply(status, body)
