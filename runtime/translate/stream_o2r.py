"""Chat Completions stream → Responses API events, as an explicit state machine.

Output items open as their first delta arrives and close when another kind of item starts
or the stream ends: reasoning (`reasoning_content` and the other reasoning fields, sent as a
summary), then the message, then function calls (keyed as `call_keys` says; their
arguments stream as `function_call_arguments.delta`). The end is `response.completed`, or
`response.incomplete` after a `length` or `content_filter` finish, carrying the accumulated
output and usage; an upstream error, a malformed event or EOF before a finish is
`response.failed` with the error, after whatever was already sent. Every event carries its
`sequence_number`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.translate import ids
from runtime.translate.call_keys import CallKeys, upstream_id
from runtime.translate.codec import DecodeError, decode, encode
from runtime.translate.responses_shape import (
    call_item,
    envelope,
    failed_event,
    message_item,
    output_text,
    reasoning_item,
    summary_text,
)
from runtime.translate.sse import OPENAI_KEEPALIVE
from runtime.translate.stream_driver import StreamDriver
from runtime.translate.thinking import reasoning_text
from runtime.translate.usage import openai_usage_to_responses

_REASONING, _MESSAGE, _CALL = 1, 2, 3


_DELTAS = {
    _REASONING: (b"response.reasoning_summary_text.delta", b',"summary_index":0', b""),
    _MESSAGE: (b"response.output_text.delta", b',"content_index":0', b',"logprobs":[]'),
    _CALL: (b"response.function_call_arguments.delta", b"", b""),
}
"""Per kind: the delta event's name and the fields around `delta`. Deltas are most of a
stream, so each item renders its delta event around the text from bytes made once."""


class _Item:
    __slots__ = ("call_id", "head", "id", "index", "kind", "mid", "name", "parts", "tail")

    def __init__(self, kind: int, item_id: str, index: int, call_id: str = "", name: str = "") -> None:
        self.kind = kind
        self.id = item_id
        self.index = index
        self.call_id = call_id
        self.name = name
        self.parts: list[str] = []
        event, where, after = _DELTAS[kind]
        self.head = b"event: " + event + b'\ndata: {"type":"' + event + b'","sequence_number":'
        self.mid = (
            b',"item_id":'
            + encode(item_id)
            + b',"output_index":'
            + str(index).encode()
            + where
            + b',"delta":'
        )
        self.tail = after + b"}\n\n"


class OpenAIToResponsesStream(StreamDriver):
    """Feed the chat stream's bytes in any split; send what each call returns as is."""

    def __init__(
        self,
        client_model: str,
        echo: Mapping[str, Any],
        *,
        response_id: str | None = None,
        created: int | None = None,
    ) -> None:
        super().__init__()
        self._model = client_model
        self._echo = echo
        self._id = response_id or ids.responses_id("resp_")
        self._created = created
        self._seq = 0
        self._output: list[dict[str, Any]] = []
        self._open: list[_Item] = []
        self._calls: CallKeys[_Item] = CallKeys()
        self._finish: object = None
        self._usage: dict[str, Any] = {}

    @property
    def usage(self) -> dict[str, Any]:
        """Responses-shaped usage so far."""
        return openai_usage_to_responses(self._usage)

    def _send_delta(self, item: _Item, text: str, out: list[bytes]) -> None:
        item.parts.append(text)
        out.append(item.head + str(self._seq).encode() + item.mid + encode(text) + item.tail)
        self._seq += 1

    def _send(self, name: str, payload: dict[str, Any], out: list[bytes]) -> None:
        payload = {"type": name, "sequence_number": self._seq, **payload}
        self._seq += 1
        out.append(b"event: " + name.encode() + b"\ndata: " + encode(payload) + b"\n\n")

    def _response(self, status: str) -> dict[str, Any]:
        return envelope(
            self._id,
            self._created,
            self._model,
            self._echo,
            status,
            self._output,
            self._finish,
            self._usage if status != "in_progress" else None,
        )

    def start(self) -> bytes:
        out: list[bytes] = []
        self._send("response.created", {"response": self._response("in_progress")}, out)
        self._send("response.in_progress", {"response": self._response("in_progress")}, out)
        return b"".join(out)

    def keepalive(self) -> bytes:
        return OPENAI_KEEPALIVE if not self._done else b""

    def feed(self, chunk: bytes) -> bytes:
        if chunk == OPENAI_KEEPALIVE:  # the chat stream's own keep-alive, passed on
            return chunk if not self._done else b""
        return super().feed(chunk)

    def fail(self, error_type: str, message: str) -> bytes:
        if self._done:
            return b""
        out: list[bytes] = []
        self._failed(error_type, message, out)
        return b"".join(out)

    # chat events

    def _event(self, data: str, out: list[bytes]) -> None:
        if data == "[DONE]":
            self._complete(out)
            return
        try:
            event = decode(data)
        except DecodeError:
            event = None
        if not isinstance(event, dict):
            self._failed("server_error", "upstream sent a malformed stream event", out)
            return
        error = event.get("error")
        if error is not None:
            error = error if isinstance(error, dict) else {"message": str(error)}
            code = error.get("code") or error.get("type") or "server_error"
            self._failed(str(code), str(error.get("message") or "upstream error"), out)
            return
        usage = event.get("usage")
        if isinstance(usage, dict):
            self._usage = usage
        choices = event.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices else None
        if not isinstance(choice, dict):
            return
        delta = choice.get("delta")
        if isinstance(delta, dict):
            self._delta(delta, out)
        if choice.get("finish_reason") is not None:
            self._finish = choice["finish_reason"]

    def _delta(self, delta: dict[str, Any], out: list[bytes]) -> None:
        reasoning = reasoning_text(delta)
        if reasoning:
            self._reasoning(reasoning, out)
        for key in ("content", "refusal"):
            text = delta.get(key)
            if isinstance(text, str) and text:
                self._text(text, out)
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for call in calls:
                if isinstance(call, dict):
                    self._call(call, out)

    def _current(self, kind: int) -> _Item | None:
        return self._open[-1] if self._open and self._open[-1].kind == kind else None

    def _add(self, item: _Item, shape: dict[str, Any], out: list[bytes]) -> None:
        """Open an item; calls stay open beside each other (parallel calls may interleave),
        anything else closes what was open."""
        if not (item.kind == _CALL and self._current(_CALL) is not None):
            self._close_all(out)
        self._open.append(item)
        self._output.append(shape)
        self._send("response.output_item.added", {"output_index": item.index, "item": shape}, out)

    def _reasoning(self, text: str, out: list[bytes]) -> None:
        item = self._current(_REASONING)
        if item is None:
            item = _Item(_REASONING, ids.responses_id("rs_"), len(self._output))
            self._add(item, reasoning_item(item.id, None), out)
            where = {"item_id": item.id, "output_index": item.index, "summary_index": 0}
            self._send("response.reasoning_summary_part.added", {**where, "part": summary_text("")}, out)
        self._send_delta(item, text, out)

    def _message(self, out: list[bytes]) -> _Item:
        item = self._current(_MESSAGE)
        if item is None:
            item = _Item(_MESSAGE, ids.responses_id("msg_"), len(self._output))
            self._add(item, message_item(item.id, "", "in_progress"), out)
            where = {"item_id": item.id, "output_index": item.index, "content_index": 0}
            self._send("response.content_part.added", {**where, "part": output_text("")}, out)
        return item

    def _text(self, text: str, out: list[bytes]) -> None:
        self._send_delta(self._message(out), text, out)

    def _call(self, call: dict[str, Any], out: list[bytes]) -> None:
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        item = self._calls.find(call)
        if item is not None and item not in self._open:
            self._failed(
                "server_error", "upstream sent arguments for a function call it had already ended", out
            )
            return
        if item is None:
            name = function.get("name")
            item = _Item(
                _CALL,
                ids.responses_id("fc_"),
                len(self._output),
                upstream_id(call) or ids.responses_id("call_"),
                name if isinstance(name, str) else "",
            )
            self._add(item, call_item(item.id, item.call_id, item.name, "", "in_progress"), out)
            self._calls.add(call, item)
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            self._send_delta(item, arguments, out)

    def _close(self, item: _Item, out: list[bytes]) -> None:
        text = "".join(item.parts)
        if item.kind == _REASONING:
            where = {"item_id": item.id, "output_index": item.index, "summary_index": 0}
            self._send("response.reasoning_summary_text.done", {**where, "text": text}, out)
            self._send("response.reasoning_summary_part.done", {**where, "part": summary_text(text)}, out)
            shape = reasoning_item(item.id, text)
        elif item.kind == _MESSAGE:
            where = {"item_id": item.id, "output_index": item.index, "content_index": 0}
            self._send("response.output_text.done", {**where, "text": text, "logprobs": []}, out)
            self._send("response.content_part.done", {**where, "part": output_text(text)}, out)
            shape = message_item(item.id, text)
        else:
            if not text:  # arguments are always JSON, in the deltas too
                text = "{}"
                self._send_delta(item, text, out)
            where = {"item_id": item.id, "output_index": item.index}
            self._send(
                "response.function_call_arguments.done", {**where, "arguments": text, "name": item.name}, out
            )
            shape = call_item(item.id, item.call_id, item.name, text)
        self._output[item.index] = shape
        self._send("response.output_item.done", {"output_index": item.index, "item": shape}, out)

    def _close_all(self, out: list[bytes]) -> None:
        for item in self._open:
            self._close(item, out)
        self._open = []

    def _complete(self, out: list[bytes]) -> None:
        if not any(shape["type"] in ("message", "function_call") for shape in self._output):
            self._message(out)  # an answer with no content is one empty message, as non-streaming
        self._close_all(out)
        response = self._response("completed")
        self._send(f"response.{response['status']}", {"response": response}, out)
        self._done = True

    def _failed(self, code: str, message: str, out: list[bytes]) -> None:
        out.append(failed_event(self._response("failed"), self._seq, code, message))
        self._seq += 1
        self._done = True

    def _eof(self, out: list[bytes]) -> None:
        if self._finish is not None:
            self._complete(out)
        else:
            self._failed("server_error", "upstream closed the stream before it finished", out)
