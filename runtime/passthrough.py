"""Same-format streams: upstream SSE bytes go to the client unchanged, frame by frame.

Two things are done to them. The `model` field is rewritten to the name the client asked
for (a chain or alias) when it differs from the upstream id: only in `message_start` for
Anthropic, in every chunk for OpenAI, where each chunk carries it. And the stream's end is
tracked, so an upstream that closes without `message_stop` / `[DONE]` gives the client a
proper error event instead of a silently truncated answer.

Frames are emitted whole: a partial frame at a chunk boundary waits for its end, which
also lets a failure before the first complete frame fall over to the next step unseen.
"""

from __future__ import annotations

import re

import msgspec

from runtime.errors import BadGateway, ClientFormat, RelayError, stream_error_event
from runtime.usage import Usage, from_anthropic, from_openai

_FRAME_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_MODEL = re.compile(rb'("model"\s*:\s*)"(?:[^"\\]|\\.)*"')
_decode = msgspec.json.Decoder().decode


def _last_frame_end(buf: bytes) -> int:
    """Index just past the last complete frame in `buf`, or 0."""
    end = 0
    for match in _FRAME_END.finditer(buf):
        end = match.end()
    return end


def _frame_data(frame: bytes) -> bytes:
    return b"\n".join(line[5:].strip() for line in frame.splitlines() if line.startswith(b"data:"))


def _event_name(frame: bytes) -> bytes | None:
    for line in frame.splitlines():
        if line.startswith(b"event:"):
            return line[6:].strip()
    return None


class PassthroughStream:
    """Adapter for a client and upstream that speak the same format."""

    def __init__(self, fmt: ClientFormat, client_model: str, upstream_model: str) -> None:
        self._fmt = fmt
        self._buf = b""
        self._replacement = b'\\1"' + msgspec.json.encode(client_model)[1:-1].replace(b"\\", b"\\\\") + b'"'
        self._rewrite = client_model != upstream_model
        self._rewrite_once = fmt == "anthropic"
        self.done = False
        self.errored = False
        self.usage: Usage | None = None

    def start(self) -> bytes:
        return b""

    def feed(self, chunk: bytes) -> bytes:
        if self.done:
            return b""
        self._buf += chunk
        end = _last_frame_end(self._buf)
        if not end:
            return b""
        frames, self._buf = self._buf[:end], self._buf[end:]
        bad = self._track(frames)
        tail = b""
        if bad is not None:
            frames = frames[:bad]
            tail = self.fail(BadGateway("upstream sent a malformed stream event"))
        if self._rewrite and frames:
            frames = _MODEL.sub(self._replacement, frames, count=1 if self._rewrite_once else 0)
            self._rewrite = not self._rewrite_once
        return frames + tail

    def _track(self, frames: bytes) -> int | None:
        """Follow the stream's state; the offset of the first malformed frame, if any."""
        start = 0
        for match in _FRAME_END.finditer(frames):
            if not self._take(frames[start : match.start()]):
                return start
            start = match.end()
        return None

    def _take(self, frame: bytes) -> bool:
        data = _frame_data(frame)
        if not data:
            return True  # comments and keep-alives
        if data == b"[DONE]":
            self.done = True
            return True
        try:
            event = _decode(data)
        except msgspec.DecodeError:
            return False
        if not isinstance(event, dict):
            return False
        if self._fmt == "openai":
            if "error" in event:
                self.done = self.errored = True
            elif event.get("usage"):
                self.usage = from_openai(event["usage"]) or self.usage
            return True
        kind = _event_name(frame) or str(event.get("type", "")).encode()
        if kind == b"error":
            self.done = self.errored = True
        elif kind == b"message_stop":
            self.done = True
        elif kind == b"message_start":
            self.usage = from_anthropic(event.get("message", {}).get("usage")) or self.usage
        elif kind == b"message_delta":
            self._add_final_usage(from_anthropic(event.get("usage")))
        return True

    def _add_final_usage(self, update: Usage | None) -> None:
        """`message_delta` usage is cumulative output; input may be absent there."""
        if update is None:
            return
        prompt = update["input"] or (self.usage["input"] if self.usage else 0)
        self.usage = {**update, "input": prompt, "total": prompt + update["output"]}

    def finish(self) -> bytes:
        """Upstream EOF: nothing more if the stream ended properly, else an error frame."""
        if self.done:
            return b""
        return self.fail(BadGateway("upstream closed the stream before it was complete"))

    def fail(self, err: RelayError) -> bytes:
        self.done = self.errored = True
        return stream_error_event(err, self._fmt)
