"""A fake LLM provider the tests start as a real process on 127.0.0.1.

It speaks both wire formats (`POST /v1/messages` Anthropic, `POST .../chat/completions`
OpenAI) and is scripted per request: a test POSTs a list of steps to `/_script`, each
request pops the next one (none left: a normal answer). A step can answer with any
status, headers and body, stream given SSE frames, wait before the first byte, hang,
drop the connection mid-stream, or send garbage. `/_requests` returns what was received
(so tests can check forwarded headers and bodies) and `/_stats` the connections open right
now (so tests can prove a cancelled client request closed its upstream request).

Run: python -m tests.e2e.fake_upstream PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from aiohttp import web

STATE: dict[str, Any] = {"script": [], "requests": [], "open": 0, "peak": 0, "served": 0}


def _anthropic_message(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "msg_fake1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "output_tokens": 3,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def _openai_completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
    }


def _sse(name: str | None, payload: Any) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {data}\n\n".encode()


def default_stream(fmt: str, model: str, text: str) -> list[bytes]:
    if fmt == "anthropic":
        msg = _anthropic_message(model, "")
        msg["content"], msg["stop_reason"] = [], None
        return [
            _sse("message_start", {"type": "message_start", "message": msg}),
            _sse(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            _sse(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
            ),
            _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
            _sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 3},
                },
            ),
            _sse("message_stop", {"type": "message_stop"}),
        ]
    head = {"id": "chatcmpl-fake1", "object": "chat.completion.chunk", "created": 1, "model": model}
    return [
        _sse(
            None,
            {
                **head,
                "choices": [
                    {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                ],
            },
        ),
        _sse(None, {**head, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}),
        _sse(None, {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        _sse(
            None,
            {
                **head,
                "choices": [],
                "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
            },
        ),
        b"data: [DONE]\n\n",
    ]


async def _hold(request: web.Request, limit: float = 120.0) -> None:
    """Stay silent while the peer keeps the connection open (bounded), so `open` in
    /_stats counts exactly the upstream requests a client of ours has not closed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    transport = request.transport  # aiohttp detaches it from the request later; keep our own
    while loop.time() < deadline and transport is not None and not transport.is_closing():
        await asyncio.sleep(0.02)


async def generate(request: web.Request) -> web.StreamResponse:
    fmt = "anthropic" if request.path.endswith("/messages") else "openai"
    raw = await request.read()
    try:
        body = json.loads(raw)
    except ValueError:
        body = {}
    STATE["requests"].append(
        {"path": request.path, "query": request.query_string, "headers": dict(request.headers), "body": body}
    )
    STATE["open"] += 1
    STATE["peak"] = max(STATE["peak"], STATE["open"])
    try:
        step = STATE["script"].pop(0) if STATE["script"] else {}
        return await _answer(request, fmt, body, step)
    finally:
        STATE["open"] -= 1
        STATE["served"] += 1


async def _answer(
    request: web.Request, fmt: str, body: dict[str, Any], step: dict[str, Any]
) -> web.StreamResponse:
    model = str(body.get("model", "fake"))
    if step.get("delay"):
        await asyncio.sleep(step["delay"])
    if step.get("hang"):
        await _hold(request)
        return web.Response(status=204)
    status = int(step.get("status", 200))
    headers = dict(step.get("headers", {}))
    if "frames" in step or (status == 200 and body.get("stream") and "body" not in step):
        frames = (
            [f.encode() for f in step["frames"]]
            if "frames" in step
            else default_stream(fmt, model, step.get("text", "hello"))
        )
        resp = web.StreamResponse(status=status, headers={"content-type": "text/event-stream", **headers})
        await resp.prepare(request)
        for i, frame in enumerate(frames):
            if step.get("drop_after") == i:
                assert request.transport is not None
                request.transport.close()
                return resp
            await resp.write(frame)
            if step.get("frame_delay"):
                await asyncio.sleep(step["frame_delay"])
        if step.get("hang_after"):
            await _hold(request)
        return resp
    if "body" in step:
        payload = step["body"]
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
    else:
        text = step.get("text", "hello")
        data = json.dumps(
            _anthropic_message(model, text) if fmt == "anthropic" else _openai_completion(model, text)
        ).encode()
    headers.setdefault("content-type", "application/json")
    return web.Response(status=status, body=data, headers=headers)


async def script(request: web.Request) -> web.Response:
    STATE["script"] = list(await request.json())
    STATE["requests"] = []
    return web.json_response({"ok": True})


async def requests(request: web.Request) -> web.Response:
    return web.json_response(STATE["requests"])


async def stats(request: web.Request) -> web.Response:
    return web.json_response({k: STATE[k] for k in ("open", "peak", "served")})


def make_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/_script", script)
    app.router.add_get("/_requests", requests)
    app.router.add_get("/_stats", stats)
    app.router.add_post("/v1/messages", generate)
    app.router.add_post("/v1/messages/count_tokens", count)
    app.router.add_post("/{prefix:.*}chat/completions", generate)
    return app


async def count(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"input_tokens": 42})


if __name__ == "__main__":
    web.run_app(
        make_app(),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        print=None,
        access_log=None,
    )
