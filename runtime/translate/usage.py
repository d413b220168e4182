"""Token usage between the two shapes (protocols.md §3.4).

Anthropic's `input_tokens` excludes cached input while OpenAI's `prompt_tokens` includes it, so
cache reads and writes move between the total and the detail fields rather than being copied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def _details(usage: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    details = usage.get(key)
    return details if isinstance(details, Mapping) else {}


def openai_usage_to_anthropic(usage: Mapping[str, Any]) -> dict[str, int]:
    prompt = _int(usage.get("prompt_tokens"))
    details = _details(usage, "prompt_tokens_details")
    # DeepSeek reports cache hits at the top level instead of in the details
    cached = _int(details.get("cached_tokens")) or _int(usage.get("prompt_cache_hit_tokens"))
    written = _int(details.get("cache_write_tokens"))
    return {
        "input_tokens": max(prompt - cached - written, 0),
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cached,
        "output_tokens": _int(usage.get("completion_tokens")),
    }


def anthropic_usage_to_openai(usage: Mapping[str, Any]) -> dict[str, Any]:
    read = _int(usage.get("cache_read_input_tokens"))
    written = _int(usage.get("cache_creation_input_tokens"))
    prompt = _int(usage.get("input_tokens")) + read + written
    completion = _int(usage.get("output_tokens"))
    details: dict[str, int] = {"cached_tokens": read}
    if written:
        details["cache_write_tokens"] = written
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": details,
    }


def openai_usage_to_responses(chat: Mapping[str, Any]) -> dict[str, Any]:
    """Chat Completions usage → Responses usage: `input_tokens` includes cached and written
    tokens in both, so only the details move (cache reads, cache writes, reasoning)."""
    prompt = _int(chat.get("prompt_tokens"))
    completion = _int(chat.get("completion_tokens"))
    details = _details(chat, "prompt_tokens_details")
    cached = _int(details.get("cached_tokens")) or _int(chat.get("prompt_cache_hit_tokens"))
    reasoning = _int(_details(chat, "completion_tokens_details").get("reasoning_tokens"))
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": cached,
            "cache_write_tokens": _int(details.get("cache_write_tokens")),
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + completion,
    }


def responses_usage_to_openai(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Responses usage → Chat Completions usage (a Responses-native step's answer to a chat
    or Anthropic client): the inverse of `openai_usage_to_responses`."""
    prompt = _int(usage.get("input_tokens"))
    completion = _int(usage.get("output_tokens"))
    details = _details(usage, "input_tokens_details")
    prompt_details: dict[str, int] = {"cached_tokens": _int(details.get("cached_tokens"))}
    if _int(details.get("cache_write_tokens")):
        prompt_details["cache_write_tokens"] = _int(details["cache_write_tokens"])
    reasoning = _int(_details(usage, "output_tokens_details").get("reasoning_tokens"))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }
