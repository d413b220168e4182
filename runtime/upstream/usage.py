"""Token usage in one shape for logs and pool accounting, whichever format reported it.

`input` counts the whole prompt (cached or not), as both formats' limits are charged;
`cached` is the part served from or written to the prompt cache, split into `cache_read` and
`cache_write` because the two are priced differently.
"""

from __future__ import annotations

from typing import Any

from runtime.errors import WireFormat
from runtime.translate.usage import responses_usage_to_openai

Usage = dict[str, int]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _count(value: Any) -> int:
    """A token count as the translator reads one (`runtime.translate.usage`): positive ints
    only (and never a JSON `true`)."""
    return value if type(value) is int and value > 0 else 0


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
    read = _int(raw.get("cache_read_input_tokens"))
    write = _int(raw.get("cache_creation_input_tokens"))
    prompt = _int(raw.get("input_tokens")) + read + write
    output = _int(raw.get("output_tokens"))
    return _usage(prompt, output, read, write)


def from_openai(raw: Any) -> Usage | None:
    """What `from_anthropic(openai_usage_to_anthropic(raw))` gives (the translator's own
    mapping, so cache reads and writes, and providers' variants of them, count the same in
    both places; a property test holds the two equal), in one step: once per answer."""
    if not isinstance(raw, dict):
        return None
    prompt = _count(raw.get("prompt_tokens"))
    details = raw.get("prompt_tokens_details")
    if isinstance(details, dict):
        read = _count(details.get("cached_tokens")) or _count(raw.get("prompt_cache_hit_tokens"))
        write = _count(details.get("cache_write_tokens"))
    else:
        read, write = _count(raw.get("prompt_cache_hit_tokens")), 0
    prompt = max(prompt - read - write, 0) + read + write
    output = _count(raw.get("completion_tokens"))
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
