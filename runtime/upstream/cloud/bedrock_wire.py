"""Amazon Bedrock's wire format for Claude, as pure functions (protocols.md §4.8).

Requests: InvokeModel (`/model/{id}/invoke`) or InvokeModelWithResponseStream
(`…/invoke-with-response-stream`), the model id in the path (`:` kept, `/` of an ARN
encoded), the Anthropic body without `model` and `stream`, with `anthropic_version:
bedrock-2023-05-31` and the accepted betas as the body's `anthropic_beta` list (Bedrock reads
no `anthropic-*` header). CountTokens (`/model/{id}/count-tokens`) takes that same body
base64-encoded inside `{"input": {"invokeModel": {"body": …}}}` and answers `{"inputTokens": n}`.

Responses: a whole answer is Anthropic's JSON; a stream is AWS event-stream messages whose
`chunk` payloads are `{"bytes": base64(one Anthropic stream event)}`. `StreamReframer` turns
them back into the SSE frames api.anthropic.com would have sent, and exception messages into
an SSE `error` event (`runtime.upstream.cloud.errors`), so the loop handles Bedrock like Anthropic.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import quote

import msgspec

from runtime.translate.sse import anthropic_event
from runtime.upstream.cloud import betas, shape
from runtime.upstream.cloud.errors import anthropic_error, bedrock_stream_error
from runtime.upstream.cloud.eventstream import Decoder, FrameError

VERSION = "bedrock-2023-05-31"
STREAM_SUFFIX = "-with-response-stream"
EVENTSTREAM = "application/vnd.amazon.eventstream"


def model_path(model: str) -> str:
    return quote(model, safe=":")


_VERSION = shape.raw(VERSION)


def invoke_body(parsed: shape.Parsed, header_betas: list[str]) -> bytes:
    top = parsed.top
    top.pop("model", None)
    top.pop("stream", None)
    top.setdefault("anthropic_version", _VERSION)
    flags = betas.accepted("bedrock", [*header_betas, *shape.body_betas(top)])
    if flags:
        top["anthropic_beta"] = shape.raw(flags)
    else:
        top.pop("anthropic_beta", None)
    return shape.encode(top)


def is_count(template: str) -> bool:
    return shape.url_without_query(template).endswith("/count-tokens")


@lru_cache(maxsize=256)
def _url(template: str, model: str) -> tuple[str, bool]:
    """The request URL (without the stream suffix) and whether it is a count."""
    return shape.fill(shape.url_without_query(template), "model", model_path(model)), is_count(template)


def call(template: str, headers: Iterable[tuple[str, str]], body: bytes) -> shape.CloudCall:
    """The Bedrock request for what relay would have sent to Anthropic at `template`."""
    parsed = shape.parse(body)
    split = shape.split_headers(headers)
    url, counting = _url(template, parsed.model)
    if counting:
        parsed.top.setdefault("max_tokens", shape.raw(1))  # InvokeModel requires it; a count ignores it
    invoke = invoke_body(parsed, split.betas)
    if counting:
        counted = {"input": {"invokeModel": {"body": base64.b64encode(invoke).decode()}}}
        return shape.CloudCall(
            url, [("content-type", "application/json"), *split.kept], shape.encode(counted), False
        )
    if parsed.stream:
        url += STREAM_SUFFIX
    accept = EVENTSTREAM if parsed.stream else "application/json"
    out = [("content-type", "application/json"), ("accept", accept), *split.kept]
    return shape.CloudCall(url, out, invoke, parsed.stream)


class _Count(msgspec.Struct):
    inputTokens: int


def count_reply(body: bytes) -> bytes:
    """Bedrock's `{"inputTokens": n}` as Anthropic's `{"input_tokens": n}`."""
    try:
        count = msgspec.json.decode(body, type=_Count)
    except msgspec.MsgspecError:
        return body
    return b'{"input_tokens":%d}' % count.inputTokens


class _Part(msgspec.Struct):
    data: str = msgspec.field(name="bytes")


_part = msgspec.json.Decoder(_Part).decode
_TYPE = re.compile(rb'\A\s*\{\s*"type"\s*:\s*"([a-z_]{1,40})"')


class _Typed(msgspec.Struct):
    type: str = ""


_typed = msgspec.json.Decoder(_Typed).decode


def event_type(event: bytes) -> str:
    match = _TYPE.match(event)
    if match is not None:
        return match.group(1).decode()
    return _typed(event).type


class StreamReframer:
    """Bedrock event-stream bytes in, Anthropic SSE bytes out; incremental and pure."""

    __slots__ = ("_decoder", "broken")

    def __init__(self) -> None:
        self._decoder = Decoder()
        self.broken = False
        """The framing broke: an error event was emitted and the rest is ignored."""

    @property
    def pending(self) -> int:
        return self._decoder.pending

    def feed(self, data: bytes) -> bytes:
        if self.broken:
            return b""
        try:
            messages = self._decoder.feed(data)
        except FrameError as exc:
            self.broken = True
            return anthropic_event(
                "error", anthropic_error("api_error", f"bedrock: malformed event stream ({exc})")
            )
        out: list[bytes] = []
        for headers, payload in messages:
            if self.broken:
                break
            kind = headers.get(":message-type")
            if kind == "event" and headers.get(":event-type") == "chunk":
                out.append(self._chunk(payload))
            elif kind == "exception":
                out.append(bedrock_stream_error(str(headers.get(":exception-type", "")), payload))
            elif kind == "error":
                message = f"{headers.get(':error-code', 'error')!s}: {headers.get(':error-message', '')!s}"
                out.append(anthropic_event("error", anthropic_error("api_error", f"bedrock: {message}")))
        return b"".join(out)

    def _chunk(self, payload: bytes) -> bytes:
        try:
            event = binascii.a2b_base64(_part(payload).data)
            return anthropic_event(event_type(event), event)
        except (msgspec.MsgspecError, binascii.Error, ValueError):
            self.broken = True
            return anthropic_event("error", anthropic_error("api_error", "bedrock: malformed chunk payload"))
