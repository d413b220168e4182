"""Token usage in one shape for logs and pool accounting, whichever format reported it.

`input` counts the whole prompt (cached or not), as both formats' limits are charged;
`cached` is the part served from or written to the prompt cache, split into `cache_read` and
`cache_write` because the two are priced differently.
"""

from __future__ import annotations

from typing import Any

from runtime.errors import WireFormat
from runtime.translate.usage import responses_usage_to_openai, token_count

Usage = dict[str, int]


def _usage(prompt: int, output: int, read: int, write: int) -> Usage:
    """The one shape every format's usage ends in (`prompt` counts cache reads and writes)."""
    return {
        "input": prompt,
        "output": output,
        "cached": read + write,
        "total": prompt + output,
        "cache_read": read,
        "cache_write": write,
    }


def from_anthropic(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    read = token_count(raw.get("cache_read_input_tokens"))
    write = token_count(raw.get("cache_creation_input_tokens"))
    prompt = token_count(raw.get("input_tokens")) + read + write
    output = token_count(raw.get("output_tokens"))
    return _usage(prompt, output, read, write)


def from_openai(raw: Any) -> Usage | None:
    """What `from_anthropic(openai_usage_to_anthropic(raw))` gives (the translator's own
    mapping, so cache reads and writes, and providers' variants of them, count the same in
    both places; a property test holds the two equal), in one step: once per answer."""
    if not isinstance(raw, dict):
        return None
    prompt = token_count(raw.get("prompt_tokens"))
    details = raw.get("prompt_tokens_details")
    if isinstance(details, dict):
        read = token_count(details.get("cached_tokens")) or token_count(raw.get("prompt_cache_hit_tokens"))
        write = token_count(details.get("cache_write_tokens"))
    else:
        read, write = token_count(raw.get("prompt_cache_hit_tokens")), 0
    prompt = max(prompt - read - write, 0) + read + write
    output = token_count(raw.get("completion_tokens"))
    return _usage(prompt, output, read, write)


def from_responses(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    return from_openai(responses_usage_to_openai(raw))


def of(fmt: WireFormat, raw: Any) -> Usage | None:
    """Usage reported in `fmt`'s own shape, normalised."""
    if fmt == "responses":
        return from_responses(raw)
    return from_anthropic(raw) if fmt == "anthropic" else from_openai(raw)
