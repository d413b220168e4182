"""Thinking and reasoning across providers (protocols.md §3.7).

Signature policy. A thinking block the relay builds from an OpenAI-format upstream's reasoning
text carries the signature `relay:<provider>`: non-empty (clients that treat `""` as "missing"
keep the block), and impossible for a real signature, which is base64 and has no `:`. Such
blocks, and blocks with an empty signature, must never reach a real Anthropic upstream, which
rejects forged signatures with a 400. A genuine signature is valid only in the account and
model family that made it, so a conversation that moves to another key's account, or another
model, must lose those blocks too. `strip_foreign` removes both kinds. When the latest
assistant tool-use turn is left without a leading thinking block while thinking is on,
Anthropic rejects the request too, so `strip_foreign` then switches thinking off for that
one request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Owner = tuple[str, str]
"""Who a signature belongs to: (account, model family) (`runtime.routing.thinking_owners`)."""

SIGNATURE_PREFIX = "relay:"
_THINKING_TYPES = ("thinking", "redacted_thinking")

_EFFORT_BUDGET = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384, "xhigh": 32768, "max": 32768}
MIN_BUDGET = 1024
"""Anthropic's smallest `budget_tokens`."""


def synthesized_signature(provider: str) -> str:
    return SIGNATURE_PREFIX + provider


def is_synthesized_signature(signature: object) -> bool:
    """True for a signature the relay made (or none at all): not acceptable to Anthropic."""
    return not isinstance(signature, str) or not signature or signature.startswith(SIGNATURE_PREFIX)


def budget_to_effort(budget: object) -> str:
    """`reasoning_effort` for a thinking budget: <4096 low, <16384 medium, else high (a relay choice)."""
    if not isinstance(budget, int) or budget < 4096:
        return "low"
    return "medium" if budget < 16384 else "high"


def effort_to_budget(effort: str) -> int | None:
    """Thinking budget for a `reasoning_effort`; None for `none` or unknown values (no thinking)."""
    return _EFFORT_BUDGET.get(effort)


def anthropic_effort_to_openai(effort: object) -> str:
    """`output_config.effort` (low…max) as a `reasoning_effort` every OpenAI-format server knows."""
    return effort if effort in ("low", "medium", "high") else ("high" if effort == "max" else "medium")


def openai_effort_to_anthropic(effort: str) -> str:
    return {"minimal": "low", "xhigh": "max"}.get(effort, effort)


def reasoning_text(obj: Mapping[str, Any]) -> str:
    """Reasoning in a delta or message: `reasoning_content`, `reasoning`, or `reasoning_details`.

    The first non-empty one wins: OpenRouter sends the same text as both `reasoning` and
    `reasoning_details`, and taking both would double it.
    """
    for key in ("reasoning_content", "reasoning"):
        value = obj.get(key)
        if value and isinstance(value, str):
            return value
    details = obj.get("reasoning_details")
    if not details or not isinstance(details, list):
        return ""
    parts = [d.get("text") or d.get("summary") for d in details if isinstance(d, dict)]
    return "".join(p for p in parts if isinstance(p, str))


def thinking_enabled(body: Mapping[str, Any]) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, Mapping) and thinking.get("type") in ("enabled", "adaptive")


def strip_foreign(
    body: dict[str, Any], owner_of: Callable[[str], Owner | None], target: Owner
) -> tuple[dict[str, Any], int]:
    """`body` without the thinking blocks `target` (an account and model family) would reject,
    and how many went: relay-made or unsigned ones, and those `owner_of` knows another owner
    of (by `signature`, or `data` for redacted_thinking). Blocks of unknown origin stay.
    Returns `body` itself when nothing goes; never mutates it."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return body, 0
    out: list[Any] = []
    dropped = 0
    for message in messages:
        is_assistant = isinstance(message, Mapping) and message.get("role") == "assistant"
        content = message.get("content") if is_assistant else None
        if isinstance(content, list):
            kept = [b for b in content if not _foreign(b, owner_of, target)]
            if len(kept) != len(content):
                dropped += len(content) - len(kept)
                if not kept:
                    continue  # an assistant turn that was only thinking says nothing
                message = {**message, "content": kept}
        out.append(message)
    result = {**body, "messages": out} if dropped else body
    if thinking_enabled(result) and last_tool_turn_lacks_thinking(out):
        result = {k: v for k, v in result.items() if k != "thinking"}
    return result, dropped


def _foreign(block: Any, owner_of: Callable[[str], Owner | None], target: Owner) -> bool:
    if not isinstance(block, Mapping):
        return False
    kind = block.get("type")
    if kind == "thinking":
        signature = block.get("signature")
        if is_synthesized_signature(signature):
            return True
    elif kind == "redacted_thinking":
        signature = block.get("data")
    else:
        return False
    made_by = owner_of(signature) if isinstance(signature, str) else None
    return made_by is not None and made_by != target


def last_tool_turn_lacks_thinking(messages: list[Any]) -> bool:
    """True when the latest assistant turn used tools without a leading thinking block.

    Anthropic rejects such a request while thinking is on, because it continues that turn's
    reasoning; relay cannot supply signed blocks, so the request must go without thinking.
    """
    for message in reversed(messages):
        if not isinstance(message, Mapping) or message.get("role") != "assistant":
            continue
        content = message.get("content")
        if not isinstance(content, list):
            return False
        if not any(isinstance(b, Mapping) and b.get("type") == "tool_use" for b in content):
            return False
        first = content[0] if content else None
        return not (isinstance(first, Mapping) and first.get("type") in _THINKING_TYPES)
    return False
