"""A fake LLM provider the tests start as a real process on 127.0.0.1.

It speaks the three wire formats (`POST /v1/messages` Anthropic, `POST .../chat/completions`
OpenAI, `POST .../responses` OpenAI's Responses API) and is scripted per request: a test POSTs a list of steps to `/_script`, each
request pops the next one (none left: a normal answer). A step can answer with any
status, headers and body, stream given SSE frames (with a delay between them), wait before
the first byte, hang, stall after the first bytes of a body, drop the connection
mid-stream, or send garbage. `/_requests` returns what was received
(so tests can check forwarded headers and bodies, and by the client's port which connection
carried it) and `/_stats` the connections open right
now (so tests can prove a cancelled client request closed its upstream request).

Steps can also say what to answer rather than how, in whichever format and mode (stream or
not) the request uses, so one script serves a same-format and a cross-format chain:
`text`, `tool_call: {id, name, input}` (a tool-use turn), and `error_after_text` (a stream
that sends that text, pauses `pause` seconds, then an in-stream error with the text block
still open, as real upstreams fail; with `drop: true` the connection just closes instead).
`one_write: true` sends a whole stream in one write, so the peer reads it all at once. For clients that send several requests per turn
(Claude Code), a step with `match: {stream: bool, contains: str}` is taken only by the
first request it matches (`contains`: a substring of the raw body); other requests skip it.
`thinking: TEXT` starts an Anthropic answer with a thinking block signed for the request's
account and model, and a request whose history holds a block signed for another is answered
400 as the real API does (`tests.e2e.fake_thinking`).

Run: python -m tests.e2e.fake_upstream PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from aiohttp import web

from tests.e2e import fake_thinking

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


_USAGE_O = {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}


def _thinking_frames(thought: tuple[str, str]) -> list[bytes]:
    """A thinking block as the real API streams it: text deltas, then its signature in one delta."""
    block = {"type": "thinking", "thinking": "", "signature": ""}
    deltas = [
        {"type": "thinking_delta", "thinking": thought[0]},
        {"type": "signature_delta", "signature": thought[1]},
    ]
    return [
        _sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}),
        *(
            _sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": d})
            for d in deltas
        ),
        _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ]


def _anthropic_frames(
    model: str,
    text: str,
    tool: dict[str, Any] | None,
    error: str | None,
    thought: tuple[str, str] | None = None,
) -> list[bytes]:
    msg = _anthropic_message(model, "")
    msg["content"], msg["stop_reason"] = [], None
    at = 0 if thought is None else 1
    frames = [
        _sse("message_start", {"type": "message_start", "message": msg}),
        *(_thinking_frames(thought) if thought is not None else []),
        _sse(
            "content_block_start",
            {"type": "content_block_start", "index": at, "content_block": {"type": "text", "text": ""}},
        ),
        _sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": at, "delta": {"type": "text_delta", "text": text}},
        ),
    ]
    if error is not None:
        return [*frames, _sse("error", {"type": "error", "error": {"type": "api_error", "message": error}})]
    frames.append(_sse("content_block_stop", {"type": "content_block_stop", "index": at}))
    if tool is not None:
        block = {"type": "tool_use", "id": tool["id"], "name": tool["name"], "input": {}}
        partial = {"type": "input_json_delta", "partial_json": json.dumps(tool["input"])}
        frames += [
            _sse(
                "content_block_start",
                {"type": "content_block_start", "index": at + 1, "content_block": block},
            ),
            _sse("content_block_delta", {"type": "content_block_delta", "index": at + 1, "delta": partial}),
            _sse("content_block_stop", {"type": "content_block_stop", "index": at + 1}),
        ]
    delta = {"stop_reason": "tool_use" if tool else "end_turn", "stop_sequence": None}
    return [
        *frames,
        _sse("message_delta", {"type": "message_delta", "delta": delta, "usage": {"output_tokens": 3}}),
        _sse("message_stop", {"type": "message_stop"}),
    ]


def _openai_call(tool: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": tool["id"],
        "type": "function",
        "function": {"name": tool["name"], "arguments": json.dumps(tool["input"])},
    }


def _openai_frames(model: str, text: str, tool: dict[str, Any] | None, error: str | None) -> list[bytes]:
    head = {"id": "chatcmpl-fake1", "object": "chat.completion.chunk", "created": 1, "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _sse(None, {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    frames = [chunk({"role": "assistant", "content": ""}), chunk({"content": text})]
    if error is not None:
        return [*frames, _sse(None, {"error": {"message": error, "type": "server_error", "code": None}})]
    if tool is not None:
        frames.append(chunk({"tool_calls": [{"index": 0, **_openai_call(tool)}]}))
    return [
        *frames,
        chunk({}, "tool_calls" if tool else "stop"),
        _sse(None, {**head, "choices": [], "usage": _USAGE_O}),
        b"data: [DONE]\n\n",
    ]


_USAGE_R = {
    "input_tokens": 10,
    "input_tokens_details": {"cached_tokens": 4},
    "output_tokens": 3,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 13,
}


def _responses_items(text: str, tool: dict[str, Any] | None) -> list[dict[str, Any]]:
    content = [{"type": "output_text", "text": text, "annotations": []}]
    items: list[dict[str, Any]] = []
    if text or tool is None:
        items.append(
            {
                "type": "message",
                "id": "msg_fake1",
                "status": "completed",
                "role": "assistant",
                "content": content,
            }
        )
    if tool is not None:
        arguments = json.dumps(tool["input"])
        call = {"type": "function_call", "id": "fc_fake1", "call_id": tool["id"], "name": tool["name"]}
        items.append({**call, "arguments": arguments, "status": "completed"})
    return items


def _response(model: str, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
    usage = _USAGE_R if status == "completed" else None
    return {
        "id": "resp_fake1",
        "object": "response",
        "created_at": 1,
        "status": status,
        "model": model,
        "output": output,
        "error": None,
        "usage": usage,
    }


def _responses_frames(model: str, text: str, tool: dict[str, Any] | None, error: str | None) -> list[bytes]:
    """A Responses event stream as OpenAI sends it: every event named, numbered in sequence."""
    events: list[dict[str, Any]] = []

    def add(kind: str, **fields: Any) -> None:
        events.append({"type": kind, "sequence_number": len(events), **fields})

    add("response.created", response=_response(model, "in_progress", []))
    add("response.in_progress", response=_response(model, "in_progress", []))
    items = _responses_items(text, tool)
    for index, item in enumerate(items):
        where = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            add(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "content": []},
            )
            part = {"type": "output_text", "text": "", "annotations": []}
            add("response.content_part.added", **where, content_index=0, part=part)
            add("response.output_text.delta", **where, content_index=0, delta=text)
            if error is not None:
                failed = {
                    **_response(model, "failed", []),
                    "error": {"code": "server_error", "message": error},
                }
                add("response.failed", response=failed)
                return [_sse(e["type"], e) for e in events]
            add("response.output_text.done", **where, content_index=0, text=text)
            add("response.content_part.done", **where, content_index=0, part=item["content"][0])
        else:
            add(
                "response.output_item.added",
                output_index=index,
                item={**item, "arguments": "", "status": "in_progress"},
            )
            add("response.function_call_arguments.delta", **where, delta=item["arguments"])
            add("response.function_call_arguments.done", **where, arguments=item["arguments"])
        add("response.output_item.done", output_index=index, item=item)
    add("response.completed", response=_response(model, "completed", items))
    return [_sse(e["type"], e) for e in events]


_FRAMES = {"anthropic": _anthropic_frames, "openai": _openai_frames, "responses": _responses_frames}


def default_stream(
    fmt: str,
    model: str,
    text: str,
    tool: dict[str, Any] | None = None,
    thought: tuple[str, str] | None = None,
) -> list[bytes]:
    """`thought`: (thinking text, signature) for an Anthropic answer that starts by thinking."""
    if fmt == "anthropic":
        return _anthropic_frames(model, text, tool, None, thought)
    return _FRAMES[fmt](model, text, tool, None)


def whole_answer(
    fmt: str,
    model: str,
    text: str,
    tool: dict[str, Any] | None = None,
    thought: tuple[str, str] | None = None,
) -> dict[str, Any]:
    if fmt == "anthropic":
        message = _anthropic_message(model, text)
        if thought is not None:
            message["content"].insert(
                0, {"type": "thinking", "thinking": thought[0], "signature": thought[1]}
            )
        if tool is not None:
            message["content"].append({"type": "tool_use", **tool})
            message["stop_reason"] = "tool_use"
        return message
    if fmt == "responses":
        return _response(model, "completed", _responses_items(text, tool))
    completion = _openai_completion(model, text)
    if tool is not None:
        choice = completion["choices"][0]
        choice["message"]["tool_calls"] = [_openai_call(tool)]
        choice["finish_reason"] = "tool_calls"
    return completion


async def _hold(request: web.Request, limit: float = 120.0) -> None:
    """Stay silent while the peer keeps the connection open (bounded), so `open` in
    /_stats counts exactly the upstream requests a client of ours has not closed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    transport = request.transport  # aiohttp detaches it from the request later; keep our own
    while loop.time() < deadline and transport is not None and not transport.is_closing():
        await asyncio.sleep(0.02)


async def generate(request: web.Request) -> web.StreamResponse:
    path = request.path
    fmt = (
        "anthropic"
        if path.endswith("/messages")
        else "responses"
        if path.endswith("/responses")
        else "openai"
    )
    raw = await request.read()
    try:
        body = json.loads(raw)
    except ValueError:
        body = {}
    STATE["requests"].append(
        {
            "path": request.path,
            "query": request.query_string,
            "headers": dict(request.headers),
            "body": body,
            "raw": raw.decode("utf-8", "replace"),
            "peer": _peer_port(request),
        }
    )
    STATE["open"] += 1
    STATE["peak"] = max(STATE["peak"], STATE["open"])
    try:
        foreign = fake_thinking.rejection(body, request.headers) if fmt == "anthropic" else None
        if foreign is not None:  # refused before any scripted step is taken
            return web.json_response(foreign, status=400)
        return await _answer(request, fmt, body, _take_step(body, raw))
    finally:
        STATE["open"] -= 1
        STATE["served"] += 1


def _peer_port(request: web.Request) -> int | None:
    """The client's port: one port across requests is one connection, reused."""
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    return int(peer[1]) if peer else None


def _matches(step: dict[str, Any], body: dict[str, Any], raw: bytes) -> bool:
    match = step.get("match") or {}
    if "stream" in match and bool(body.get("stream")) != match["stream"]:
        return False
    return "contains" not in match or match["contains"].encode() in raw


def _take_step(body: dict[str, Any], raw: bytes) -> dict[str, Any]:
    """The first scripted step this request matches (removed from the script), else {}."""
    script: list[dict[str, Any]] = STATE["script"]
    for i, step in enumerate(script):
        if _matches(step, body, raw):
            return script.pop(i)
    return {}


async def _answer(
    request: web.Request, fmt: str, body: dict[str, Any], step: dict[str, Any]
) -> web.StreamResponse:
    model = str(body.get("model", "fake"))
    if step.get("delay"):
        await asyncio.sleep(step["delay"])
    if step.get("hang"):
        await _hold(request)
        return web.Response(status=204)
    if step.get("stall_body"):  # headers and a first piece of the body, then silence
        stalled = web.StreamResponse(status=200, headers={"content-type": "application/json"})
        await stalled.prepare(request)
        await stalled.write(b'{"id": "msg_stalled", ')
        await _hold(request)
        return stalled
    status = int(step.get("status", 200))
    headers = dict(step.get("headers", {}))
    text, tool = step.get("text", "hello"), step.get("tool_call")
    thought = (step["thinking"], fake_thinking.sign(request.headers, model)) if "thinking" in step else None
    if "frames" in step or (status == 200 and body.get("stream") and "body" not in step):
        if "frames" in step:
            frames = [f.encode() for f in step["frames"]]
        elif "error_after_text" in step:
            frames = _FRAMES[fmt](model, step["error_after_text"], None, "upstream failed mid-stream")
        else:
            frames = default_stream(fmt, model, text, tool, thought)
        resp = web.StreamResponse(status=status, headers={"content-type": "text/event-stream", **headers})
        await resp.prepare(request)
        if step.get("one_write"):  # the whole stream in one read of the peer's
            await resp.write(b"".join(frames))
            return resp
        failing = "error_after_text" in step
        for i, frame in enumerate(frames):
            if failing and i == len(frames) - 1:
                await asyncio.sleep(step.get("pause", 0.3))
            if step.get("drop_after") == i or (failing and step.get("drop") and i == len(frames) - 1):
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
        data = json.dumps(whole_answer(fmt, model, text, tool, thought)).encode()
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
    app.router.add_post("/{prefix:.*}responses", generate)
    return app


async def count(request: web.Request) -> web.Response:
    body = await request.json()
    STATE["requests"].append(
        {"path": request.path, "query": request.query_string, "headers": dict(request.headers), "body": body}
    )
    return web.json_response({"input_tokens": 42})


if __name__ == "__main__":
    web.run_app(
        make_app(),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        print=None,
        access_log=None,
    )
