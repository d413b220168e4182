"""The editor endpoints, `/admin/definitions*` (docs/admin-api.md): the dashboard edits the
definition files the running build was made from, checks and previews drafts, saves and
swaps.

The work is the compiler's (ruamel.yaml round-trip edits, checks, builds), and the runtime
never imports the compiler (runtime/README.md, tests/runtime/test_layers.py): each request
talks to `python -m compiler.edit`, a child process started on first use (one JSON
request a line on its stdin, one answer a line back) and passes its answers on. A worker
stays as small as before; the child, with the compiler imported, lives only while the
editor is in use. The request names the folders from this worker's snapshot, never from
the caller: a client chooses files only relative to the definitions folder, and the child
refuses any path outside it. A save that built is loaded through the ordinary reload path.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Coroutine
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
IDLE_S = 300.0
LINE_LIMIT = 64 * 1024 * 1024
"""The longest answer line read back: drafts of a few files of at most 4 MiB each, twice."""

ReadBody = Callable[[], Awaitable[bytes]]
Reload = Callable[[Service], dict[str, Any]]

_encode = msgspec.json.Encoder().encode
_JSON = [("content-type", "application/json")]


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


class _Editor:
    """The compiler's editor as a child process of this worker, started on first use and
    kept while the editor is in use (its imports take about a second; a request then takes
    a few milliseconds more than its work); it ends when idle for `IDLE_S`, or when this
    worker exits (end of its input). One request at a time."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.lock = asyncio.Lock()
        self.idle: asyncio.TimerHandle | None = None

    async def _start(self) -> asyncio.subprocess.Process:
        if self.proc is None or self.proc.returncode is not None:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "compiler.edit",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,  # its words come back in answers, never in logs
                limit=LINE_LIMIT,
            )
        return self.proc

    def _stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None and proc.stdin is not None:
            proc.stdin.close()  # it exits at the end of its input

    async def ask(self, request: dict[str, Any]) -> tuple[int, Any]:
        """One request's answer, or why there is none. A child found dead (killed, out of
        memory) is replaced once; its death never reaches the caller as long as a fresh one
        answers (a save it died in is then refused as stale, or done once)."""
        async with self.lock:
            if self.idle is not None:
                self.idle.cancel()
            try:
                for _ in range(2):
                    answer = await self._once(request)
                    if answer is not None:
                        return answer
                return 500, {
                    "error": {"type": "api_error", "message": "the editor process ended without an answer"}
                }
            finally:
                self.idle = asyncio.get_running_loop().call_later(IDLE_S, self._stop)

    async def _once(self, request: dict[str, Any]) -> tuple[int, Any] | None:
        """The child's answer; None when it is gone before answering."""
        proc = await self._start()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(_encode(request) + b"\n")
            await proc.stdin.drain()
            line = await asyncio.wait_for(proc.stdout.readline(), TIMEOUT_S)
        except TimeoutError:
            self._kill()
            return 504, {
                "error": {"type": "timeout_error", "message": f"the editor took over {TIMEOUT_S:.0f}s"}
            }
        except ValueError:  # a line over LINE_LIMIT
            self._kill()
            return 500, {"error": {"type": "api_error", "message": "the editor's answer is too large"}}
        except OSError:
            line = b""
        try:
            answer = msgspec.json.decode(line)
            return int(answer["status"]), answer["body"]
        except (msgspec.DecodeError, KeyError, TypeError, ValueError):
            self._kill()
            return None

    def _kill(self) -> None:
        """A child that failed is not asked again: the next request starts a fresh one."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            proc.kill()


_editor = _Editor()


_running: set[asyncio.Task[Reply]] = set()


def _to_its_end(work: Coroutine[Any, Any, Reply]) -> Awaitable[Reply]:
    """`work` in a task of its own that runs to its end even when the caller is cancelled
    (its client left, a tab closed): cut between writing to the child and reading its
    answer, the answer would stay in the pipe and be read as the next request's; and a save
    that built must also be loaded."""
    task = asyncio.create_task(work)
    _running.add(task)  # the loop keeps only weak references to tasks
    task.add_done_callback(_running.discard)
    return asyncio.shield(task)


async def _ask(svc: Service, request: dict[str, Any], reload: Reload) -> Reply:
    status, body = await _editor.ask(request)
    if not isinstance(body, dict):
        return _error(500, "api_error", "the editor answered nothing usable")
    body["built_etag"] = svc.snapshot.artifact.source_hash
    if request["action"] == "read":
        body["source_dir"] = request["dir"]
    if request["action"] == "save" and status == 200:
        body["reload"] = reload(svc)
        body["built_etag"] = svc.snapshot.artifact.source_hash
    return _reply(status, body)


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
    return await _to_its_end(_ask(svc, request, reload))
