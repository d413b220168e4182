"""A fake OpenAI-format upstream that answers as a seeded fault schedule says.

`POST /{lane}/{slug}/{step}/v1/chat/completions`: the schedule is `fault_schedules.parse(slug)`,
the request's index is its first message's text (`r17`), and the answer is the schedule's
fault for (step, request, how many calls this lane already made for it). `GET /_calls?lane=&slug=`
returns every call with its fault, and the quota windows the upstream stated (and kept), so
the runner can tell a justified refusal from one relay made up.

Run: python -m benchmarks.fault_upstream PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import defaultdict
from typing import Any

from aiohttp import web

from benchmarks.fault_schedules import EXHAUSTED_FOR, LATE, SLOW, Fault, parse

Calls = list[dict[str, Any]]
CALLS: defaultdict[tuple[str, str], Calls] = defaultdict(list)
EXHAUSTED: defaultdict[tuple[str, str, int], list[tuple[float, float]]] = defaultdict(list)
"""(lane, slug, step) → quota windows (start, end) on the monotonic clock, which every
process on the machine shares."""


def _completion(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "fine"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None, usage: bool = False) -> bytes:
    body: dict[str, Any] = {
        "id": "chatcmpl-fault",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage:
        body["usage"] = {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def _error(status: int, headers: dict[str, str]) -> web.Response:
    body = {"error": {"message": f"scheduled {status}", "type": "scheduled", "code": status}}
    return web.json_response(body, status=status, headers=headers)


def _drop(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.close()


async def handle(request: web.Request) -> web.StreamResponse:
    lane, slug, step = request.match_info["lane"], request.match_info["slug"], int(request.match_info["step"])
    sched = parse(slug)
    body = await request.json()
    req = int(str(body["messages"][0]["content"])[1:])
    calls = CALLS[(lane, slug)]
    call = sum(1 for c in calls if c["step"] == step and c["req"] == req)
    now = time.monotonic()
    windows = EXHAUSTED[(lane, slug, step)]
    fault: Fault = sched.fault(step, req, call)
    if windows and windows[-1][1] > now:
        fault = "429_exhausted"  # the quota it stated still holds: an honest upstream
    elif fault == "429_exhausted":
        windows.append((now, now + EXHAUSTED_FOR))
    calls.append({"step": step, "req": req, "call": call, "fault": fault, "t": now})
    model = str(body.get("model", "m"))
    if fault == "429":
        return _error(429, {"retry-after": str(sched.retry_after(step, req, call))})
    if fault == "429_exhausted":
        left = max(0.0, windows[-1][1] - now)
        return _error(
            429,
            {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": f"{max(left, 0.001):.3f}s"},
        )
    if fault in ("500", "503", "529"):
        return _error(int(fault), {})
    if fault == "reset":
        _drop(request)
        return web.Response()
    if fault == "late":
        await asyncio.sleep(LATE)
    if not body.get("stream"):
        return await _whole(request, model, fault)
    return await _stream(request, model, fault)


async def _whole(request: web.Request, model: str, fault: Fault) -> web.StreamResponse:
    data = json.dumps(_completion(model)).encode()
    if fault not in ("drop_before", "drop_after", "slow_body"):
        return web.Response(body=data, content_type="application/json")
    resp = web.StreamResponse(headers={"content-type": "application/json"})
    resp.content_length = len(data)
    await resp.prepare(request)
    third = len(data) // 3
    for part in (data[:third], data[third : 2 * third], data[2 * third :]):
        await resp.write(part)
        if fault != "slow_body":
            _drop(request)  # cut short: the length promised more
            return resp
        await asyncio.sleep(SLOW)
    await resp.write_eof()
    return resp


async def _stream(request: web.Request, model: str, fault: Fault) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await resp.prepare(request)
    await resp.write(_chunk(model, {"role": "assistant", "content": ""}))
    if fault == "drop_before":
        _drop(request)
        return resp
    for word in ("fi", "ne"):
        await resp.write(_chunk(model, {"content": word}))
        if fault == "slow_body":
            await asyncio.sleep(SLOW)
    if fault == "drop_after":
        _drop(request)
        return resp
    await resp.write(_chunk(model, {}, "stop"))
    await resp.write(_chunk(model, {}, usage=True))
    if fault != "no_done":
        await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp


async def calls(request: web.Request) -> web.Response:
    lane, slug = request.query["lane"], request.query["slug"]
    steps = parse(slug).steps
    windows = {str(s): EXHAUSTED.get((lane, slug, s), []) for s in range(steps)}
    return web.json_response({"calls": CALLS.get((lane, slug), []), "exhausted": windows})


def app() -> web.Application:
    application = web.Application()
    application.router.add_post("/{lane}/{slug}/{step}/v1/chat/completions", handle)
    application.router.add_get("/_calls", calls)
    return application


if __name__ == "__main__":
    web.run_app(app(), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
