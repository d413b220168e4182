"""Responses API event stream → Chat Completions chunks, as an explicit state machine (an
`openai-responses` step streaming to a chat client; to an Anthropic client through
`stream_o2a` after this, `Composed`).

Text deltas become `content`, refusal deltas `refusal`, reasoning summary (and reasoning
text) deltas `reasoning_content`, and each `function_call` output item one tool call, keyed
by its `item_id`, its `call_id` and name on the first fragment, arguments as they stream.
`response.completed` / `response.incomplete` end it with the finish chunk (`finish_of`), the
usage chunk when asked for and `[DONE]`; `response.failed`, an `error` event, a malformed
event or EOF before the end become `data: {"error": …}`. Lifecycle and `*.done` events repeat
what the deltas said and carry nothing more for a chat client.
"""

from __future__ import annotations

from typing import Any

from runtime.translate.chat_stream import ToOpenAIStream
from runtime.translate.response_r2o import finish_of
from runtime.translate.upstream_errors import openai_stream_error_status
from runtime.translate.usage import responses_usage_to_openai

_TEXT = {
    "response.output_text.delta": "content",
    "response.refusal.delta": "refusal",
    "response.reasoning_summary_text.delta": "reasoning_content",
    "response.reasoning_text.delta": "reasoning_content",
}


class ResponsesToOpenAIStream(ToOpenAIStream):
    def _begin(self) -> None:
        self._calls: dict[str, int] = {}
        self._usage: dict[str, Any] = {}

    @property
    def usage(self) -> dict[str, Any]:
        """OpenAI-shaped usage (from the final Response)."""
        return responses_usage_to_openai(self._usage)

    def _upstream_event(self, event: dict[str, Any], out: list[bytes]) -> None:
        kind = event.get("type")
        field = _TEXT.get(kind) if isinstance(kind, str) else None
        if field is not None:
            delta = event.get("delta")
            if isinstance(delta, str) and delta:
                self._delta({field: delta}, out)
        elif kind == "response.function_call_arguments.delta":
            index = self._calls.get(str(event.get("item_id")))
            delta = event.get("delta")
            if index is not None and isinstance(delta, str) and delta:
                self._delta({"tool_calls": [{"index": index, "function": {"arguments": delta}}]}, out)
        elif kind == "response.output_item.added":
            self._item(event.get("item"), out)
        elif kind in ("response.completed", "response.incomplete"):
            self._end(event.get("response"), out)
        elif kind == "response.failed":
            response = event.get("response")
            error = response.get("error") if isinstance(response, dict) else None
            self._upstream_error(error, out)
        elif kind == "error":
            self._upstream_error(event, out)

    def _item(self, item: object, out: list[bytes]) -> None:
        if not isinstance(item, dict) or item.get("type") != "function_call":
            return
        index = self._calls[str(item.get("id"))] = len(self._calls)
        call = {"index": index, "id": item.get("call_id"), "type": "function"}
        call["function"] = {"name": item.get("name"), "arguments": ""}
        self._delta({"tool_calls": [call]}, out)

    def _end(self, response: object, out: list[bytes]) -> None:
        response = response if isinstance(response, dict) else {}
        usage = response.get("usage")
        if isinstance(usage, dict):
            self._usage = usage
        self._finish(finish_of(response, bool(self._calls)), out)
        self._complete(out)

    def _upstream_error(self, error: object, out: list[bytes]) -> None:
        error = error if isinstance(error, dict) else {}
        message = error.get("message")
        self._error(
            openai_stream_error_status(error),
            message if isinstance(message, str) and message else "upstream error",
            out,
        )
