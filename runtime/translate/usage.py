"""Token usage between the two shapes (protocols.md §3.4).

Anthropic's `input_tokens` excludes cached input while OpenAI's `prompt_tokens` includes it, so
cache reads and writes move between the total and the detail fields rather than being copied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def token_count(value: Any) -> int:
    """A count as a usage object reports it: positive ints only. A JSON `true` is no count
    (bool is an int in Python) and a negative count is a provider's slip, not a refund."""
    return value if type(value) is int and value > 0 else 0


def _details(usage: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    details = usage.get(key)
    return details if isinstance(details, Mapping) else {}


def openai_usage_to_anthropic(usage: Mapping[str, Any]) -> dict[str, int]:
    prompt = token_count(usage.get("prompt_tokens"))
    details = _details(usage, "prompt_tokens_details")
    # DeepSeek reports cache hits at the top level instead of in the details
    cached = token_count(details.get("cached_tokens")) or token_count(usage.get("prompt_cache_hit_tokens"))
    written = token_count(details.get("cache_write_tokens"))
    return {
        "input_tokens": max(prompt - cached - written, 0),
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cached,
        "output_tokens": token_count(usage.get("completion_tokens")),
    }


def anthropic_usage_to_openai(usage: Mapping[str, Any]) -> dict[str, Any]:
    read = token_count(usage.get("cache_read_input_tokens"))
    written = token_count(usage.get("cache_creation_input_tokens"))
    prompt = token_count(usage.get("input_tokens")) + read + written
    completion = token_count(usage.get("output_tokens"))
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
    prompt = token_count(chat.get("prompt_tokens"))
    completion = token_count(chat.get("completion_tokens"))
    details = _details(chat, "prompt_tokens_details")
    cached = token_count(details.get("cached_tokens")) or token_count(chat.get("prompt_cache_hit_tokens"))
    reasoning = token_count(_details(chat, "completion_tokens_details").get("reasoning_tokens"))
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": cached,
            "cache_write_tokens": token_count(details.get("cache_write_tokens")),
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + completion,
    }


def responses_usage_to_openai(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Responses usage → Chat Completions usage (a Responses-native step's answer to a chat
    or Anthropic client): the inverse of `openai_usage_to_responses`."""
    prompt = token_count(usage.get("input_tokens"))
    completion = token_count(usage.get("output_tokens"))
    details = _details(usage, "input_tokens_details")
    prompt_details: dict[str, int] = {"cached_tokens": token_count(details.get("cached_tokens"))}
    if token_count(details.get("cache_write_tokens")):
        prompt_details["cache_write_tokens"] = token_count(details["cache_write_tokens"])
    reasoning = token_count(_details(usage, "output_tokens_details").get("reasoning_tokens"))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }
