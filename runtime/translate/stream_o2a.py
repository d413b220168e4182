"""OpenAI-format upstream stream → Anthropic SSE, as an explicit state machine (protocols.md §3.6).

State: at most one open block (`_open_kind`, `_open_index`, `_open_tool`), the next block
index, tool calls by key (the chunk's `index`, else its `id`), the finish reason and usage.
Blocks are numbered 0, 1, 2… in start order and a block never gets a delta after its stop.

Tool arguments. Live mode (default) streams `input_json_delta` as fragments arrive, which is
what Claude Code shows as progress. Arguments that do not start with `{` are held and sent at
the block's close as one delta, rewritten by the tool_args policy (`{}` or `{"_raw": …}`).
Arguments that start with `{` but turn out invalid cannot be retracted: the stream ends with
an `error` event instead of the block's stop (except after `finish_reason: length`, where a
cut-off object is what Anthropic itself sends). A fragment for a tool whose block is already closed
(an upstream interleaving parallel calls) also ends the stream with an error. Buffered mode
(`buffer_tools=True`, per provider) holds every tool call until the end and emits each as
start, one delta, stop: it survives interleaving and invalid JSON, at the cost of live
progress. Text and thinking stream live in both modes.

Errors (an upstream error chunk, a cut connection, `fail`) end the stream with an `error`
event straight after the last delta, leaving the open block unstopped, as Anthropic does.
"""

from __future__ import annotations

from typing import Any

from runtime.translate import anthropic_sse as ev
from runtime.translate import ids
from runtime.translate.call_keys import CallKeys, upstream_id
from runtime.translate.codec import DecodeError, decode, dumps
from runtime.translate.errors import anthropic_error
from runtime.translate.reasons import stop_reason
from runtime.translate.stream_driver import StreamDriver
from runtime.translate.thinking import reasoning_text, synthesized_signature
from runtime.translate.tokens import text_tokens
from runtime.translate.tool_args import arguments_to_input
from runtime.translate.upstream_errors import client_error, message_of, openai_stream_error_status
from runtime.translate.usage import openai_usage_to_anthropic

_NONE, _THINKING, _TEXT, _TOOL = 0, 1, 2, 3
_PENDING, _LIVE, _HELD = 0, 1, 2


class _Tool:
    __slots__ = ("id", "index", "mode", "name", "parts")

    def __init__(self, upstream_id: str | None, name: str) -> None:
        self.id = ids.anthropic_tool_id(upstream_id) if upstream_id else ids.tool_id("toolu_")
        self.name = name
        self.index = -1
        self.mode = _PENDING
        self.parts: list[str] = []


class OpenAIToAnthropicStream(StreamDriver):
    """Feed raw upstream bytes in any split; send what each call returns to the client as is."""

    def __init__(
        self,
        client_model: str,
        input_estimate: int,
        *,
        provider: str = "upstream",
        buffer_tools: bool = False,
        message_id: str | None = None,
    ) -> None:
        super().__init__()
        self._model = client_model
        self._input_estimate = input_estimate
        self._provider = provider
        self._buffer_tools = buffer_tools
        self._id = message_id or ids.message_id()
        self._started = False
        self._next_index = 0
        self._open_kind = _NONE
        self._open_index = -1
        self._open_tool: _Tool | None = None
        self._tools: CallKeys[_Tool] = CallKeys()
        self._held: list[_Tool] = []
        self._any_tool = False
        self._finish: str | None = None
        self._upstream_usage: dict[str, Any] | None = None
        self._out_chars = 0

    @property
    def usage(self) -> dict[str, int]:
        """Anthropic-shaped usage so far; an estimate when the upstream reported none."""
        if self._upstream_usage is not None:
            return openai_usage_to_anthropic(self._upstream_usage)
        return {
            "input_tokens": self._input_estimate,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": text_tokens(self._out_chars),
        }

    @property
    def usage_estimated(self) -> bool:
        return self._upstream_usage is None

    def start(self) -> bytes:
        """`message_start` and a `ping`: send once the upstream answered 200."""
        if self._started:
            return b""
        self._started = True
        usage = {
            "input_tokens": self._input_estimate,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 1,
        }
        return ev.message_start(self._id, self._model, usage) + ev.PING

    def keepalive(self) -> bytes:
        """A `ping` for long upstream silences (the caller owns the timer)."""
        return ev.PING if self._started and not self._done else b""

    def _opening(self) -> list[bytes]:
        return [] if self._started else [self.start()]

    def _eof(self, out: list[bytes]) -> None:
        if self._finish is not None:
            self._complete(out)
        else:
            self._upstream_error(500, "upstream closed the stream before it finished", out)

    def fail(self, error_type: str, message: str) -> bytes:
        """End the stream with an Anthropic `error` event (timeouts, disconnects), the open
        block left open as Anthropic leaves it (see `_upstream_error`)."""
        if self._done:
            return b""
        out = self._opening()
        out.append(ev.error(anthropic_error(error_type, message)))
        self._done = True
        return b"".join(out)

    # upstream events

    def _event(self, data: str, out: list[bytes]) -> None:
        if data == "[DONE]":
            self._complete(out)
            return
        if not data or data.isspace():
            return
        try:
            chunk = decode(data)
        except DecodeError:
            chunk = None
        if not isinstance(chunk, dict):
            self._upstream_error(500, "upstream sent a malformed stream event", out)
            return
        if chunk.get("error"):
            status = openai_stream_error_status(chunk["error"])
            self._upstream_error(status, message_of(chunk) or "upstream error", out)
            return
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._upstream_usage = usage
        choices = chunk.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices else None
        if not isinstance(choice, dict):
            return  # a usage-only chunk
        delta = choice.get("delta") or choice.get("message")
        if isinstance(delta, dict):
            self._delta(delta, out)
            if self._done:
                return
        finish = choice.get("finish_reason")
        if finish == "error":
            self._upstream_error(500, message_of(choice) or "upstream reported an error", out)
        elif isinstance(finish, str) and finish:
            self._finish = finish

    def _delta(self, delta: dict[str, Any], out: list[bytes]) -> None:
        reasoning = reasoning_text(delta)
        if reasoning:
            self._stream_text(_THINKING, reasoning, out)
        content = delta.get("content")
        if content and isinstance(content, str) and not self._done:
            self._stream_text(_TEXT, content, out)
        calls = delta.get("tool_calls")
        if calls and isinstance(calls, list):
            for call in calls:
                if self._done:
                    return
                if isinstance(call, dict):
                    self._tool_fragment(call, out)

    def _stream_text(self, kind: int, text: str, out: list[bytes]) -> None:
        if self._open_kind != kind:
            self._close(out)
            if self._done:
                return
            index = self._open(kind, None)
            out.append(ev.thinking_start(index) if kind == _THINKING else ev.text_start(index))
        self._out_chars += len(text)
        if kind == _THINKING:
            out.append(ev.thinking_delta(self._open_index, text))
        else:
            out.append(ev.text_delta(self._open_index, text))

    def _tool_fragment(self, call: dict[str, Any], out: list[bytes]) -> None:
        function = call.get("function")
        if not isinstance(function, dict):
            function = {}
        tool = self._tools.find(call)
        name = function.get("name")
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            arguments = dumps(arguments)
        elif not isinstance(arguments, str):
            arguments = ""
        if tool is None:
            tool = _Tool(upstream_id(call), name if isinstance(name, str) else "")
            self._tools.add(call, tool)
            self._any_tool = True
            if self._buffer_tools:
                self._held.append(tool)
            else:
                self._close(out)
                if self._done:
                    return
                out.append(ev.tool_start(self._open(_TOOL, tool), tool.id, tool.name))
        elif not tool.name and isinstance(name, str):
            tool.name = name
        if not arguments:
            return
        self._out_chars += len(arguments)
        tool.parts.append(arguments)
        if self._buffer_tools:
            return
        if tool is not self._open_tool:
            if not arguments.isspace():
                self._upstream_error(
                    500,
                    f"tool call {tool.name!r} continued after another block began (use buffered tool mode)",
                    out,
                )
            return
        if tool.mode == _LIVE:
            out.append(ev.input_json_delta(tool.index, arguments))
        elif tool.mode == _PENDING:
            so_far = "".join(tool.parts)
            head = so_far.lstrip()[:1]
            if head == "{":
                tool.mode = _LIVE
                out.append(ev.input_json_delta(tool.index, so_far))
            elif head:
                tool.mode = _HELD

    # blocks

    def _open(self, kind: int, tool: _Tool | None) -> int:
        index = self._next_index
        self._next_index += 1
        self._open_kind, self._open_index, self._open_tool = kind, index, tool
        if tool is not None:
            tool.index = index
        return index

    def _close(self, out: list[bytes]) -> None:
        kind, index, tool = self._open_kind, self._open_index, self._open_tool
        if kind == _NONE:
            return
        self._open_kind, self._open_tool = _NONE, None
        if kind == _THINKING:
            out.append(ev.signature_delta(index, synthesized_signature(self._provider)))
        elif tool is not None and self._tool_tail(tool, out):
            self._upstream_error(500, f"tool call {tool.name!r} has arguments that are not valid JSON", out)
            return
        out.append(ev.block_stop(index))

    def _tool_tail(self, tool: _Tool, out: list[bytes]) -> bool:
        """Emit held arguments; True when live arguments turned out not to be a JSON object."""
        full = "".join(tool.parts)
        if tool.mode != _LIVE:
            tool_input = arguments_to_input(full)
            if tool_input:
                out.append(ev.input_json_delta(tool.index, dumps(tool_input)))
            return False
        try:
            return not isinstance(decode(full), dict) and self._finish != "length"
        except DecodeError:
            return self._finish != "length"

    def _emit_held(self, out: list[bytes]) -> None:
        for tool in self._held:
            index = self._open(_TOOL, tool)
            tool.mode = _HELD
            out.append(ev.tool_start(index, tool.id, tool.name))
            self._close(out)

    # endings

    def _complete(self, out: list[bytes]) -> None:
        self._close(out)
        if self._done:
            return
        self._emit_held(out)
        if self._next_index == 0:  # no content at all: clients cope better with one empty block
            out.append(ev.text_start(0) + ev.block_stop(0))
        usage = self.usage
        delta_usage = {
            "output_tokens": usage["output_tokens"],
            "input_tokens": usage["input_tokens"],
            "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
            "cache_read_input_tokens": usage["cache_read_input_tokens"],
        }
        out.append(ev.message_delta(stop_reason(self._finish, self._any_tool), delta_usage))
        out.append(ev.MESSAGE_STOP)
        self._done = True

    def _upstream_error(self, status: int, message: str, out: list[bytes]) -> None:
        """The `error` event right after the last delta, with no `content_block_stop` for the
        open block: that is Anthropic's own sequence, and clients read it. Claude Code keeps a
        block once it is stopped, and a stream that errs after a stopped block with content is
        a failed turn; with the block still open it retries the request without streaming."""
        _, payload = client_error(status, message, provider=self._provider, target="anthropic")
        out.append(ev.error(payload))
        self._done = True
