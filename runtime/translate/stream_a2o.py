"""Anthropic-format upstream stream → OpenAI chunks, as an explicit state machine (protocols.md §3.8).

The openai SDK concatenates every string field of every delta except `index` and `type`, so
`role` rides on the first delta only, and a tool call's `id` and `name` on its first fragment
only. `role` waits for the first delta that carries something: a tool-only answer then ends
with `content: null`, as the non-streaming translation says. Text blocks after the first are
joined with a `\\n\\n` delta, also matching the non-streaming join. A tool block that got no
`input_json_delta` sends its start `input` (`{}` at least) at its stop, so `arguments` is
always JSON. Errors become `data: {"error": …}` with no `[DONE]` after them.
"""

from __future__ import annotations

from typing import Any

from runtime.translate.chat_stream import ToOpenAIStream
from runtime.translate.reasons import finish_reason
from runtime.translate.tool_args import input_to_arguments
from runtime.translate.upstream_errors import anthropic_stream_error_status, message_of
from runtime.translate.usage import anthropic_usage_to_openai

_TEXT, _THINKING, _TOOL = 1, 2, 3
_SEPARATOR = "\n\n"


class _Block:
    __slots__ = ("input", "kind", "sent", "tool_index")

    def __init__(self, kind: int, tool_index: int = -1, tool_input: object = None) -> None:
        self.kind = kind
        self.tool_index = tool_index
        self.input = tool_input
        self.sent = False
        """Whether any text or argument bytes of this block went out."""


class AnthropicToOpenAIStream(ToOpenAIStream):
    def _begin(self) -> None:
        self._blocks: dict[int, _Block] = {}
        self._tools = 0
        self._text_sent = False
        self._reasoning_sent = False
        self._usage: dict[str, Any] = {}

    @property
    def usage(self) -> dict[str, Any]:
        """OpenAI-shaped usage so far (from message_start and message_delta)."""
        return anthropic_usage_to_openai(self._usage)

    # upstream events

    def _upstream_event(self, event: dict[str, Any], out: list[bytes]) -> None:
        kind = event.get("type")
        if kind == "content_block_delta":
            self._block_delta(event, out)
        elif kind == "content_block_start":
            self._block_start(event, out)
        elif kind == "content_block_stop":
            self._block_stop(event, out)
        elif kind == "message_start":
            message = event.get("message")
            usage = message.get("usage") if isinstance(message, dict) else None
            if isinstance(usage, dict):
                self._usage.update(usage)
        elif kind == "message_delta":
            self._message_delta(event, out)
        elif kind == "message_stop":
            self._complete(out)
        elif kind == "error":
            err = event.get("error")
            self._error(anthropic_stream_error_status(err), message_of(event) or "upstream error", out)
        # ping and unknown events carry nothing for an OpenAI client

    def _block_start(self, event: dict[str, Any], out: list[bytes]) -> None:
        block = event.get("content_block")
        index = event.get("index")
        if not isinstance(block, dict) or not isinstance(index, int):
            return
        kind = block.get("type")
        if kind == "text":
            self._blocks[index] = _Block(_TEXT)
            self._text(self._blocks[index], block.get("text"), out)
        elif kind == "thinking":
            self._blocks[index] = _Block(_THINKING)
        elif kind == "tool_use":
            k = self._tools
            self._tools += 1
            self._blocks[index] = _Block(_TOOL, k, block.get("input"))
            call = {"index": k, "id": block.get("id"), "type": "function"}
            call["function"] = {"name": block.get("name"), "arguments": ""}
            self._delta({"tool_calls": [call]}, out)

    def _block_delta(self, event: dict[str, Any], out: list[bytes]) -> None:
        delta = event.get("delta")
        index = event.get("index")
        block = self._blocks.get(index) if isinstance(index, int) else None
        if block is None or not isinstance(delta, dict):
            return
        kind = delta.get("type")
        if kind == "text_delta" and block.kind == _TEXT:
            self._text(block, delta.get("text"), out)
        elif kind == "thinking_delta" and block.kind == _THINKING:
            text = delta.get("thinking")
            if text and isinstance(text, str):
                if not block.sent and self._reasoning_sent:
                    text = _SEPARATOR + text
                block.sent = self._reasoning_sent = True
                self._delta({"reasoning_content": text}, out)
        elif kind == "input_json_delta" and block.kind == _TOOL:
            partial = delta.get("partial_json")
            if partial and isinstance(partial, str):
                block.sent = True
                self._delta(
                    {"tool_calls": [{"index": block.tool_index, "function": {"arguments": partial}}]}, out
                )

    def _text(self, block: _Block, text: object, out: list[bytes]) -> None:
        if not text or not isinstance(text, str):
            return
        if not block.sent and self._text_sent:
            text = _SEPARATOR + text
        block.sent = self._text_sent = True
        self._delta({"content": text}, out)

    def _block_stop(self, event: dict[str, Any], out: list[bytes]) -> None:
        index = event.get("index")
        block = self._blocks.get(index) if isinstance(index, int) else None
        if block is not None and block.kind == _TOOL and not block.sent:
            block.sent = True
            arguments = input_to_arguments(block.input)
            self._delta(
                {"tool_calls": [{"index": block.tool_index, "function": {"arguments": arguments}}]}, out
            )

    def _message_delta(self, event: dict[str, Any], out: list[bytes]) -> None:
        usage = event.get("usage")
        if isinstance(usage, dict):
            self._usage.update({k: v for k, v in usage.items() if v is not None})
        delta = event.get("delta")
        if self._finish_sent:
            return
        stop = delta.get("stop_reason") if isinstance(delta, dict) else None
        self._finish(finish_reason(stop), out)
