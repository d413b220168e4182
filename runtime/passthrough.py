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
_USAGE = re.compile(rb'"usage"\s*:\s*\{')
_decode = msgspec.json.Decoder().decode


def _last_frame_end(buf: bytes) -> int:
    """Index just past the last complete frame in `buf`, or 0."""
    end = 0
    for match in _FRAME_END.finditer(buf):
        end = match.end()
    return end


def _frame_data(frame: bytes) -> bytes:
    return b"\n".join(line[5:].strip() for line in frame.splitlines() if line.startswith(b"data:"))


def _frame_kind(frame: bytes) -> bytes | None:
    """The `event:` name of a frame, or for data-only streams the marker of interest."""
    for line in frame.splitlines():
        if line.startswith(b"event:"):
            return line[6:].strip()
        if line.startswith(b"data:"):
            data = line[5:].strip()
            if data == b"[DONE]":
                return b"[DONE]"
            if data.startswith(b'{"error"'):
                return b"error"
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
        self._track(frames)
        if self._rewrite:
            frames = _MODEL.sub(self._replacement, frames, count=1 if self._rewrite_once else 0)
            self._rewrite = not self._rewrite_once
        return frames

    def _track(self, frames: bytes) -> None:
        for frame in _FRAME_END.split(frames):
            kind = _frame_kind(frame)
            if kind == b"error":
                self.done = self.errored = True
            elif kind in (b"message_stop", b"[DONE]"):
                self.done = True
            elif kind in (b"message_start", b"message_delta") or (kind is None and _USAGE.search(frame)):
                self._take_usage(kind, frame)

    def _take_usage(self, kind: bytes | None, frame: bytes) -> None:
        """Usage for accounting: Anthropic splits it over message_start and message_delta."""
        try:
            data = _decode(_frame_data(frame))
        except (msgspec.DecodeError, ValueError):
            return
        if not isinstance(data, dict):
            return
        if kind is None:
            self.usage = from_openai(data.get("usage")) or self.usage
            return
        raw = data.get("message", {}).get("usage") if kind == b"message_start" else data.get("usage")
        update = from_anthropic(raw)
        if update is None:
            return
        if self.usage is None or kind == b"message_start":
            self.usage = update
        else:
            prompt = update["input"] if update["input"] else self.usage["input"]
            self.usage = {**update, "input": prompt, "total": prompt + update["output"]}

    def finish(self) -> bytes:
        """Upstream EOF: nothing more if the stream ended properly, else an error frame."""
        if self.done:
            return b""
        return self.fail(BadGateway("upstream closed the stream before it was complete"))

    def fail(self, err: RelayError) -> bytes:
        self.done = self.errored = True
        return stream_error_event(err, self._fmt)
