"""OpenAI Chat Completions request → Anthropic Messages request (protocols.md §3.2).

Dropped on purpose (listed in README.md): `seed`, `presence_penalty`, `frequency_penalty`,
`store`, `metadata`, `service_tier`, message `name`, `stream_options` (the stream translator
takes `include_usage` instead), `prompt_cache_key`, `verbosity`, `strict` on tools,
`reasoning_content` on assistant turns (unsigned, Anthropic would reject it), and sampling
parameters the target model does not take (`runtime.translate.sampling`; named in `dropped`
for the client's `x-relay-dropped` header). Rejected with a 400 naming
the field: `n` > 1, `logprobs`, `top_logprobs`, `logit_bias`, `audio`, non-text `modalities`,
`prediction`, `web_search_options`, audio parts, non-PDF files, unknown tool call ids.
"""

from __future__ import annotations

from typing import Any

from runtime.translate.content_o2a import blocks_of, text_of, tool_result_block, tool_use_block
from runtime.translate.errors import TranslationError
from runtime.translate.ids import tool_id
from runtime.translate.sampling import fit_sampling
from runtime.translate.thinking import (
    MIN_BUDGET,
    effort_to_budget,
    last_tool_turn_lacks_thinking,
    openai_effort_to_anthropic,
)

JSON_OBJECT_INSTRUCTION = "Respond with a single valid JSON object and nothing else."

_REJECTED: dict[str, str] = {
    "top_logprobs": "log probabilities are not available from Anthropic-format upstreams",
    "audio": "audio output is not available from Anthropic-format upstreams",
    "prediction": "predicted outputs are not available from Anthropic-format upstreams",
    "web_search_options": "web search options cannot be carried to Anthropic-format upstreams",
}


def openai_request_to_anthropic(
    body: dict[str, Any],
    *,
    upstream_model: str,
    anthropic_version: str,
    default_max_tokens: int,
    adaptive_thinking: bool = False,
    dropped: list[str] | None = None,
) -> dict[str, Any]:
    """The Anthropic-format body for `body`, or `TranslationError` naming what cannot be carried.

    `adaptive_thinking=True` maps `reasoning_effort` to `thinking: adaptive` plus
    `output_config.effort` (models that support it) instead of a fixed budget. The sampling
    parameters the client set and the target does not take are appended to `dropped`.
    """
    _reject(body)
    system, messages = _messages(body.get("messages"))
    out: dict[str, Any] = {"model": upstream_model, "messages": messages}
    fmt = body.get("response_format")
    fmt_type = fmt.get("type") if isinstance(fmt, dict) else None
    if fmt_type == "json_object":
        system.append(JSON_OBJECT_INSTRUCTION)
    elif fmt_type == "json_schema" and isinstance(fmt, dict):
        schema = fmt.get("json_schema")
        if not isinstance(schema, dict) or not isinstance(schema.get("schema"), dict):
            raise TranslationError("response_format.json_schema.schema", "must be a JSON Schema object")
        out["output_config"] = {"format": {"type": "json_schema", "schema": schema["schema"]}}
    elif fmt_type not in (None, "text"):
        raise TranslationError("response_format.type", f"{fmt_type!r} cannot be carried to Anthropic")
    if system:
        out["system"] = "\n\n".join(system)
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or default_max_tokens
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise TranslationError("max_completion_tokens", "must be a positive integer")
    out["max_tokens"] = max_tokens
    stop = body.get("stop")
    if isinstance(stop, str) and stop:
        out["stop_sequences"] = [stop]
    elif isinstance(stop, list) and stop:
        out["stop_sequences"] = stop
    user = body.get("user") or body.get("safety_identifier")
    if isinstance(user, str) and user:
        out["metadata"] = {"user_id": user}
    _tools(body, out)
    thinking = _thinking(body.get("reasoning_effort"), max_tokens, adaptive_thinking, out)
    kept, lost = fit_sampling(_sampling(body), upstream_model, anthropic_version, thinking)
    out.update(kept)
    if dropped is not None:
        dropped.extend(lost)
    if body.get("stream") is True:
        out["stream"] = True
    return out


def _reject(body: dict[str, Any]) -> None:
    n = body.get("n")
    if isinstance(n, int) and n > 1:
        raise TranslationError("n", "Anthropic-format upstreams return one choice")
    if body.get("logprobs"):
        raise TranslationError(
            "logprobs", "log probabilities are not available from Anthropic-format upstreams"
        )
    if body.get("logit_bias"):
        raise TranslationError("logit_bias", "logit bias cannot be carried to Anthropic-format upstreams")
    modalities = body.get("modalities")
    if isinstance(modalities, list) and any(m != "text" for m in modalities):
        raise TranslationError("modalities", "Anthropic-format upstreams produce text only")
    for field, why in _REJECTED.items():
        if body.get(field) is not None:
            raise TranslationError(field, why)


def _messages(raw: object) -> tuple[list[str], list[dict[str, Any]]]:
    """Hoisted system texts and the Anthropic turns; tool results merge into the next user turn."""
    if not isinstance(raw, list):
        raise TranslationError("messages", "must be an array")
    turns = _Turns()
    for i, message in enumerate(raw):
        try:
            turns.add(message)
        except TranslationError as err:
            raise err.at(f"messages[{i}]") from None
    turns.flush_results()
    return turns.system, turns.messages


class _Turns:
    """The conversation being rebuilt; `add` takes one OpenAI message at a time."""

    def __init__(self) -> None:
        self.system: list[str] = []
        self.messages: list[dict[str, Any]] = []
        self._results: list[dict[str, Any]] = []
        self._call_ids: set[str] = set()
        self._legacy_id = ""

    def flush_results(self) -> None:
        if self._results:
            self.messages.append({"role": "user", "content": self._results})
            self._results = []

    def add(self, message: object) -> None:
        if not isinstance(message, dict):
            raise TranslationError("", "must be an object")
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or call_id not in self._call_ids:
                raise TranslationError("tool_call_id", "matches no earlier tool call")
            self._results.append(tool_result_block(call_id, message.get("content")))
        elif role == "assistant":
            self.flush_results()
            self._assistant(message)
        elif role == "user":
            try:
                blocks = self._results + blocks_of(message.get("content"))
            except TranslationError as err:
                raise err.at("content") from None
            self._results = []
            if blocks:
                plain = len(blocks) == 1 and blocks[0]["type"] == "text"
                self.messages.append({"role": "user", "content": blocks[0]["text"] if plain else blocks})
        elif role in ("system", "developer"):
            try:
                text = text_of(message.get("content"))
            except TranslationError as err:
                raise err.at("content") from None
            if text:
                self.system.append(text)
        elif role == "function":  # legacy: no id, answers the latest function_call
            if not self._legacy_id:
                raise TranslationError("", "a function message must follow an assistant function_call")
            self._results.append(tool_result_block(self._legacy_id, message.get("content")))
        else:
            raise TranslationError("role", f"unsupported role {role!r}")

    def _assistant(self, message: dict[str, Any]) -> None:
        field = "content"
        try:
            blocks = blocks_of(message.get("content"))
            field = "refusal"
            blocks += blocks_of(message.get("refusal"))
            for j, call in enumerate(message.get("tool_calls") or ()):
                field = f"tool_calls[{j}]"
                blocks.append(tool_use_block(call))
                self._call_ids.add(call["id"])
            legacy = message.get("function_call")
            if isinstance(legacy, dict):
                field = "function_call"
                self._legacy_id = tool_id("toolu_")
                blocks.append(tool_use_block({"id": self._legacy_id, "function": legacy}))
        except TranslationError as err:
            raise err.at(field) from None
        if blocks:
            self.messages.append({"role": "assistant", "content": blocks})


def _can_think(out: dict[str, Any]) -> bool:
    """Anthropic refuses thinking with a forced tool choice, and after a tool-use turn that
    carries no signed thinking, which is every tool-use turn an OpenAI client sends back."""
    choice = out.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        return False
    return not last_tool_turn_lacks_thinking(out["messages"])


def _thinking(effort: object, max_tokens: int, adaptive: bool, out: dict[str, Any]) -> bool:
    if not isinstance(effort, str):
        return False
    budget = effort_to_budget(effort)
    if budget is None or not _can_think(out):
        return False
    if adaptive:
        out["thinking"] = {"type": "adaptive"}
        out.setdefault("output_config", {})["effort"] = openai_effort_to_anthropic(effort)
        return True
    budget = min(budget, max_tokens - 1)  # Anthropic requires budget_tokens < max_tokens
    if budget < MIN_BUDGET:
        return False
    out["thinking"] = {"type": "enabled", "budget_tokens": budget}
    return True


def _sampling(body: dict[str, Any]) -> dict[str, float]:
    """The sampling parameters the client set, `temperature` clamped from OpenAI's 0-2 range."""
    wanted: dict[str, float] = {}
    temperature = body.get("temperature")
    if isinstance(temperature, int | float) and not isinstance(temperature, bool):
        wanted["temperature"] = min(max(float(temperature), 0.0), 1.0)
    top_p = body.get("top_p")
    if isinstance(top_p, int | float) and not isinstance(top_p, bool):
        wanted["top_p"] = top_p
    return wanted


def _tools(body: dict[str, Any], out: dict[str, Any]) -> None:
    tools = []
    for field, entries, convert in (
        ("tools", body.get("tools"), _tool),
        ("functions", body.get("functions"), _function),
    ):
        for i, entry in enumerate(entries or ()):
            try:
                tools.append(convert(entry))
            except TranslationError as err:
                raise err.at(f"{field}[{i}]") from None
    if not tools:
        return
    out["tools"] = tools
    choice = _tool_choice(body.get("tool_choice"), "tool_choice")
    if choice is None:
        choice = _legacy_choice(body.get("function_call"))
    if body.get("parallel_tool_calls") is False and (choice is None or choice["type"] != "none"):
        choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
    if choice is not None:
        out["tool_choice"] = choice


def _tool(tool: object) -> dict[str, Any]:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        raise TranslationError("type", "only function tools can be carried to Anthropic")
    try:
        return _function(tool.get("function"))
    except TranslationError as err:
        raise err.at("function") from None


def _function(function: object) -> dict[str, Any]:
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise TranslationError("name", "must be a string")
    parameters = function.get("parameters")
    tool: dict[str, Any] = {"name": function["name"]}
    if isinstance(function.get("description"), str):
        tool["description"] = function["description"]
    tool["input_schema"] = (
        parameters if isinstance(parameters, dict) else {"type": "object", "properties": {}}
    )
    return tool


def _tool_choice(choice: object, path: str) -> dict[str, Any] | None:
    if choice is None:
        return None
    if choice in ("auto", "none"):
        return {"type": choice}
    if choice == "required":
        return {"type": "any"}
    function = choice.get("function") if isinstance(choice, dict) else None
    if isinstance(function, dict) and isinstance(function.get("name"), str):
        return {"type": "tool", "name": function["name"]}
    raise TranslationError(path, f"unsupported tool_choice {choice!r}")


def _legacy_choice(choice: object) -> dict[str, Any] | None:
    if isinstance(choice, dict):
        return _tool_choice({"function": choice}, "function_call")
    return _tool_choice(choice, "function_call")
