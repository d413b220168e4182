"""The chat side both stream translators towards Chat Completions share (`stream_a2o` from
Anthropic, `stream_r2o` from the Responses API): chunk framing, where `role` rides, the
finish chunk, the usage chunk, `[DONE]`, and errors as `data: {"error": …}` with no
`[DONE]` after them (the openai SDK raises those as an `APIError`; a stream that just stops
would look complete to it). Subclasses read their upstream's events and call `_delta`,
`_finish`, `_complete` and `_error`; they own `usage` (OpenAI-shaped).
"""

from __future__ import annotations

import time
from typing import Any

from runtime.translate import ids
from runtime.translate.codec import DecodeError, decode, encode
from runtime.translate.errors import ANTHROPIC_TYPE_STATUS, openai_error, row
from runtime.translate.sse import OPENAI_DONE, OPENAI_KEEPALIVE
from runtime.translate.stream_driver import StreamDriver
from runtime.translate.upstream_errors import client_error


class ToOpenAIStream(StreamDriver):
    """Feed raw upstream bytes in any split; send what each call returns to the client as is."""

    def __init__(
        self,
        client_model: str,
        include_usage: bool,
        *,
        provider: str = "upstream",
        completion_id: str | None = None,
        created: int | None = None,
    ) -> None:
        super().__init__()
        self._include_usage = include_usage
        self._provider = provider
        stamp = int(time.time()) if created is None else created
        head = {
            "id": completion_id or ids.completion_id(),
            "object": "chat.completion.chunk",
            "created": stamp,
            "model": client_model,
        }
        self._head = b"data: " + encode(head)[:-1]
        self._prefix = self._head + b',"choices":[{"index":0,"delta":'
        self._role_sent = False
        self._finish_sent = False
        self._begin()

    def _begin(self) -> None:
        """The subclass's own state, set up at construction."""
        raise NotImplementedError

    def _event(self, data: str, out: list[bytes]) -> None:
        try:
            event = decode(data)
        except DecodeError:
            event = None
        if not isinstance(event, dict):
            self._error(500, "upstream sent a malformed stream event", out)
            return
        self._upstream_event(event, out)

    def _upstream_event(self, event: dict[str, Any], out: list[bytes]) -> None:
        """One upstream event, a JSON object."""
        raise NotImplementedError

    @property
    def usage(self) -> dict[str, Any]:
        raise NotImplementedError

    def start(self) -> bytes:
        return b""  # the role rides on the first delta

    def keepalive(self) -> bytes:
        return OPENAI_KEEPALIVE if not self._done else b""

    def _eof(self, out: list[bytes]) -> None:
        if self._finish_sent:
            self._complete(out)
        else:
            self._error(500, "upstream closed the stream before it finished", out)

    def fail(self, error_type: str, message: str) -> bytes:
        """End the stream with an error chunk carrying the relay's own `message`.

        `error_type` may be an Anthropic error type name (mapped through the §3.9 table) or
        an OpenAI `type`, used as given.
        """
        if self._done:
            return b""
        status = ANTHROPIC_TYPE_STATUS.get(error_type)
        if status is None:
            payload = openai_error(message, error_type, None)
        else:
            kind = row(status)
            payload = openai_error(message, kind.openai_type, kind.openai_code)
        self._done = True
        return b"data: " + encode(payload) + b"\n\n"

    def _delta(self, delta: dict[str, Any], out: list[bytes]) -> None:
        if not self._role_sent:
            self._role_sent = True
            delta = {"role": "assistant", **delta}
        out.append(self._prefix + encode(delta) + b',"finish_reason":null}]}\n\n')

    def _finish(self, reason: str, out: list[bytes]) -> None:
        self._finish_sent = True
        delta = b"{}"
        if not self._role_sent:  # an empty answer: role and empty content in the finish chunk
            self._role_sent = True
            delta = b'{"role":"assistant","content":""}'
        out.append(self._prefix + delta + b',"finish_reason":"' + reason.encode() + b'"}]}\n\n')

    def _complete(self, out: list[bytes]) -> None:
        if not self._finish_sent:
            self._finish("stop", out)
        if self._include_usage:
            out.append(self._head + b',"choices":[],"usage":' + encode(self.usage) + b"}\n\n")
        out.append(OPENAI_DONE)
        self._done = True

    def _error(self, status: int, message: str, out: list[bytes]) -> None:
        _, payload = client_error(status, message, provider=self._provider, target="openai")
        out.append(b"data: " + encode(payload) + b"\n\n")
        self._done = True
