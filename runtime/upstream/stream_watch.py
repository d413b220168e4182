"""What relay must know about an upstream event stream, whatever it does with the bytes.

One `FrameWatch` per upstream stream, fed the upstream's own frames in its own format. It
answers the questions the request loop asks: has real content begun (until then a failure
can still fall over to the next step unseen, so the loop holds the bytes back), has the
stream ended properly, did the upstream report an error in-band (its type and message, so
the failure is classified like the same error would be as a status code), what usage it
reported, and is every frame well-formed. A line that is none of `data:`, `event:`, `id:`,
`retry:` or a `:` comment is garbage: an SSE parser ignores it, so a client going direct
would never see it, and relay drops it rather than pass it on (`clean_frame`). A `data:`
payload that is not a JSON object is malformed: SDKs fail on it, so the stream ends there.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from runtime.errors import WireFormat
from runtime.translate.upstream_errors import anthropic_stream_error_status, openai_stream_error_status
from runtime.upstream.usage import Usage, from_anthropic, from_openai, from_responses

FRAME_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_LINE = re.compile(rb"\r\n|\n|\r")
_FIELDS = (b"data:", b"event:", b"id:", b"retry:", b":")
_decode = msgspec.json.Decoder().decode

_ANTHROPIC_CONTENT = frozenset(
    {b"content_block_start", b"content_block_delta", b"content_block_stop", b"message_delta", b"message_stop"}
)
_SIGNED = frozenset({"signature_delta", "thinking", "redacted_thinking"})
_RESPONSES_QUIET = frozenset({b"response.created", b"response.in_progress", b"response.queued"})
"""Responses events that come before any output: every other one is content."""
_RESPONSES_END = frozenset({b"response.completed", b"response.incomplete"})
_OPENAI_CONTENT_KEYS = ("content", "tool_calls", "reasoning_content", "reasoning", "refusal", "function_call")


class Malformed(Exception):
    """A frame that is not well-formed SSE or whose data is not a JSON object."""


def last_frame_end(buf: bytes) -> int:
    """Index just past the last complete frame in `buf`, or 0."""
    end = 0
    for match in FRAME_END.finditer(buf):
        end = match.end()
    return end


def cut_frames(buf: bytes) -> tuple[list[bytes], int]:
    """The complete frames in `buf` (each without its blank-line terminator) and the index
    just past the last (0: none yet). A stream on line feeds only, nearly every one, is cut
    with `bytes.split` (2.8 against 4.9 µs an Anthropic event through the passthrough, chunk
    by chunk); CR framing takes the general terminator scan."""
    if b"\r" in buf:
        end = last_frame_end(buf)
        return split_frames(buf[:end]), end
    frames = buf.split(b"\n\n")
    return frames, len(buf) - len(frames.pop())


def split_frames(frames: bytes) -> list[bytes]:
    """Complete frames (each without its blank-line terminator)."""
    out = []
    start = 0
    for match in FRAME_END.finditer(frames):
        out.append(frames[start : match.start()])
        start = match.end()
    return out


def _lines(frame: bytes) -> tuple[bytes | None, bytes, bool]:
    """The frame's event name, joined data, and whether it has garbage lines. Nearly every
    frame is `data: …` (OpenAI) or `event: …` then `data: …` (Anthropic), on line feeds: those are
    cut directly: 0.84 against 1.51 µs an Anthropic event, 0.57 against 1.11 an OpenAI chunk,
    paid once per event of every stream."""
    end = frame.find(b"\n")
    if b"\r" not in frame:
        if end < 0:
            if frame.startswith(b"data:"):
                return None, frame[5:].strip(), False
        elif (
            frame.startswith(b"event:")
            and frame.startswith(b"data:", end + 1)
            and frame.find(b"\n", end + 1) < 0
        ):
            return frame[6:end].strip(), frame[end + 6 :].strip(), False
    return _scan(frame)


def _scan(frame: bytes) -> tuple[bytes | None, bytes, bool]:
    name: bytes | None = None
    data: list[bytes] = []
    garbage = False
    for line in _LINE.split(frame):
        if line.startswith(b"data:"):
            data.append(line[5:].strip())
        elif line.startswith(b"event:"):
            name = line[6:].strip()
        elif line and not line.startswith(_FIELDS):
            garbage = True
    return name, b"\n".join(data), garbage


def clean_frame(frame: bytes) -> bytes:
    """`frame` without its garbage lines (b"" when nothing is left)."""
    return b"\n".join(line for line in _LINE.split(frame) if line.startswith(_FIELDS))


class FrameWatch:
    """Tracks one upstream stream frame by frame (frames must be whole: see `last_frame_end`)."""

    __slots__ = (
        "content",
        "done",
        "error",
        "error_status",
        "finished",
        "fmt",
        "response",
        "sequence",
        "signatures",
        "usage",
    )

    def __init__(self, fmt: WireFormat) -> None:
        self.fmt = fmt
        self.content = False
        """Real content began (or the stream ended): past this point a failure is mid-stream."""
        self.done = False
        self.finished = False
        """An OpenAI choice gave its finish reason: a clean end of the body after it completes
        the stream even without `data: [DONE]`, as the SDKs read it."""
        self.error: dict[str, Any] | None = None
        """The upstream's in-band error object (`{"type": …, "message": …}`), if it sent one."""
        self.error_status = 0
        """The status that error stands for (its type, or the `code` OpenRouter puts there)."""
        self.usage: Usage | None = None
        self.signatures: list[str] = []
        """Thinking signatures an Anthropic stream carried (redacted blocks' `data` too), so
        relay knows which account and model made them (`runtime.routing.thinking_owners`)."""
        self.response: dict[str, Any] | None = None
        """Responses streams: the latest Response object an event carried (`response.created`
        first), so an error relay ends the stream with names the same response."""
        self.sequence = -1
        """Responses streams: the latest `sequence_number`; relay's own events continue it."""

    def take(self, frame: bytes) -> bool:
        """Account for one whole frame; True when it has garbage lines to drop (`clean_frame`).
        Raises Malformed when its data is not a JSON object."""
        name, data, garbage = _lines(frame)
        if not data:
            return garbage  # comments and keep-alives
        if data == b"[DONE]":
            self.done = self.content = True
            return garbage
        try:
            event = _decode(data)
        except msgspec.DecodeError:
            raise Malformed from None
        if not isinstance(event, dict):
            raise Malformed
        if self.fmt == "openai":
            self._openai(event)
        elif self.fmt == "responses":
            self._responses(name or str(event.get("type", "")).encode(), event)
        else:
            self._anthropic(name or str(event.get("type", "")).encode(), event)
        return garbage

    def _openai(self, event: dict[str, Any]) -> None:
        if "error" in event:
            self._failed(event["error"])
            return
        if event.get("usage"):
            self.usage = from_openai(event["usage"]) or self.usage
        choices = event.get("choices")
        if isinstance(choices, list) and choices:
            if not self.content:
                self.content = any(_openai_has_content(c) for c in choices)
            if not self.finished:
                self.finished = any(isinstance(c, dict) and c.get("finish_reason") for c in choices)

    def _anthropic(self, kind: bytes, event: dict[str, Any]) -> None:
        if kind == b"error":
            self._failed(event.get("error"))
            return
        if kind in _ANTHROPIC_CONTENT:
            self.content = True
        if kind == b"message_stop":
            self.done = True
        elif kind == b"message_start":
            message = event.get("message")
            if isinstance(message, dict):
                self.usage = from_anthropic(message.get("usage")) or self.usage
        elif kind == b"message_delta":
            self._add_final_usage(from_anthropic(event.get("usage")))
        elif kind == b"content_block_delta":
            self._signed(event.get("delta"), "signature")
        elif kind == b"content_block_start":
            self._signed(event.get("content_block"), "signature", "data")

    def _signed(self, part: Any, *fields: str) -> None:
        if isinstance(part, dict) and part.get("type") in _SIGNED:
            for name in fields:
                value = part.get(name)
                if value and isinstance(value, str):
                    self.signatures.append(value)

    def _responses(self, kind: bytes, event: dict[str, Any]) -> None:
        sequence = event.get("sequence_number")
        if isinstance(sequence, int):
            self.sequence = sequence
        response = event.get("response")
        if isinstance(response, dict):
            self.response = response
        if kind == b"error":
            self._failed(event)
        elif kind == b"response.failed":
            error = response.get("error") if isinstance(response, dict) else None
            self._failed(error if isinstance(error, dict) else {"message": "the upstream response failed"})
        elif kind in _RESPONSES_END:
            self.done = self.content = True
            if isinstance(response, dict):
                self.usage = from_responses(response.get("usage")) or self.usage
        elif kind not in _RESPONSES_QUIET:
            self.content = True

    def _failed(self, error: Any) -> None:
        self.done = True
        self.error = error if isinstance(error, dict) else {"message": str(error)}
        status_of = anthropic_stream_error_status if self.fmt == "anthropic" else openai_stream_error_status
        self.error_status = status_of(self.error)

    def _add_final_usage(self, update: Usage | None) -> None:
        """`message_delta` usage is cumulative output; input (and its cache parts) may be
        absent there, and then `message_start`'s stand."""
        if update is None:
            return
        prompt = update if update["input"] or self.usage is None else self.usage
        self.usage = {
            **update,
            **{k: prompt[k] for k in ("input", "cached", "cache_read", "cache_write")},
            "total": prompt["input"] + update["output"],
        }


def _openai_has_content(choice: Any) -> bool:
    if not isinstance(choice, dict):
        return False
    if choice.get("finish_reason"):
        return True
    delta = choice.get("delta")
    return isinstance(delta, dict) and any(delta.get(k) for k in _OPENAI_CONTENT_KEYS)
