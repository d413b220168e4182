"""`POST /v1/responses` (OpenAI's Responses API, what Codex CLI speaks).

A thin shell around the Chat Completions path: the request becomes the chat request it
means (`runtime.translate.responses_request_to_openai`) and runs through `exchange.run` as an
OpenAI-format request, so chains, routing, key pools, failover, queueing, usage rows, metrics
and admin events are the very same code; its answer becomes a Responses object or event
stream on the way out. Error bodies need no change: the Responses API uses the Chat
Completions error object. An `openai-responses` step takes the request as the client sent
it and its answer comes back unchanged (`Reply.responses`), but for `model`. A conversation is named by `prompt_cache_key`, else Codex's
`session-id` header, for affinity. Tools no chat step can run (built-ins such as
`web_search`, `namespace` tools) are dropped and named in `x-relay-dropped-tools`.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from runtime.errors import BadRequest, ClientFormat, NotFound, RelayError, status_of
from runtime.server import exchange, incoming
from runtime.server.service import Service
from runtime.server.waterfall import Reply, Tail
from runtime.translate import (
    ECHOED,
    OpenAIToResponsesStream,
    TranslationError,
    openai_response_to_responses,
    responses_request_to_openai,
)

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder()
_str = msgspec.json.Decoder(str)
_SESSION_HEADERS = ("session-id", "session_id", "conversation_id")


class _ResponsesTail(Tail):
    """The chat stream's rest, each part through the Responses machine; closing it closes
    the chat stream (and so its attempt) underneath."""

    __slots__ = ("_ended", "_machine")

    def __init__(self, inner: Tail, machine: OpenAIToResponsesStream) -> None:
        super().__init__(inner, lambda: None, self._failed)
        self._machine = machine
        self._ended = False

    def _failed(self, err: RelayError) -> bytes:
        return self._machine.fail(err.row.openai_code or err.row.openai_type, err.message)

    async def __anext__(self) -> bytes:
        while not self._ended:
            try:
                part = await super().__anext__()
            except StopAsyncIteration:
                self._ended = True
                out = self._machine.finish()
                if out:
                    return out
                raise
            out = self._machine.feed(part)
            if out:
                return out
        raise StopAsyncIteration


COMPACT_REFUSED = (
    "relay does not serve /v1/responses/compact (OpenAI's server-side compaction: opaque items "
    "only the model that wrote them can read, and a chain may answer from any step); configure "
    "Codex with its own model_provider for relay, as docs/clients.md shows, and it compacts "
    "through /v1/responses"
)


async def compact(svc: Service, scope: Any, proto: Any, body: bytes, fmt: ClientFormat, rid: str) -> Reply:
    """Codex calls this only for OpenAI's own provider (or Azure's); with a provider of its
    own, as relay's docs configure it, it summarises through `/v1/responses` instead."""
    raise NotFound(COMPACT_REFUSED)


def _session(top: dict[str, msgspec.Raw], headers: dict[str, str]) -> str | None:
    raw = top.get("prompt_cache_key")
    if raw is not None:
        try:
            key = _str.decode(raw)
        except msgspec.ValidationError:
            raise BadRequest("prompt_cache_key: expected a string", param="prompt_cache_key") from None
        if key:
            return key
    return next((headers[h] for h in _SESSION_HEADERS if headers.get(h)), None)


async def responses(svc: Service, scope: Any, proto: Any, body: bytes, fmt: ClientFormat, rid: str) -> Reply:
    headers = scope.headers.items()
    started = time.perf_counter()
    try:
        asked = incoming.parse(body, headers, "openai", rid, scope.query_string)
        try:
            translated = responses_request_to_openai(asked.full())
        except TranslationError as exc:
            raise BadRequest(f"{exc.field}: {exc.message}", param=exc.field) from None
        inc = incoming.parse(_encode(translated.body), headers, "openai", rid, scope.query_string)
    except RelayError as exc:
        exchange.refused(svc, "responses", rid, "", status_of(exc, "openai"), started)
        raise
    inc.api = "responses"
    inc.responses = asked
    inc._full = (
        translated.body
    )  # what decoding those bytes would give: an Anthropic step needs no second decode
    session = _session(asked.top, {k.lower(): v for k, v in headers})
    if session is not None:
        inc.session = session
    reply = await exchange.run(svc, inc, scope.headers, started)
    if translated.dropped and not reply.responses:  # a Responses step took every tool
        reply.headers.append(("x-relay-dropped-tools", ", ".join(translated.dropped)))
    if reply.status != 200 or reply.responses:
        return reply
    try:
        return _as_responses(reply, asked)
    except BaseException:  # the client gets an error instead: the exchange is still recorded and ended
        if reply.after is not None:
            reply.after()
        if reply.rest is not None:
            await reply.rest.aclose()
        raise


def _as_responses(reply: Reply, asked: incoming.Incoming) -> Reply:
    """An OpenAI chat answer (whole or streamed) in the Responses API's shape."""
    echo = {name: asked.top[name] for name in ECHOED if name in asked.top}
    if not asked.stream:
        out = openai_response_to_responses(_decode.decode(reply.body), client_model=asked.model, echo=echo)
        reply.body = _encode(out)
        return reply
    machine = OpenAIToResponsesStream(asked.model, echo)
    reply.body = machine.start() + machine.feed(reply.body)
    if reply.rest is None:  # a whole stream held back (it failed before its content began)
        reply.body += machine.finish()
    else:
        reply.rest = _ResponsesTail(reply.rest, machine)
    return reply
