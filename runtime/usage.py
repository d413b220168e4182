"""Token usage in one shape for logs and pool accounting, whichever format reported it.

`input` counts the whole prompt (cached or not), as both formats' limits are charged.
"""

from __future__ import annotations

from typing import Any

Usage = dict[str, int]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def from_anthropic(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    cached = _int(raw.get("cache_read_input_tokens")) + _int(raw.get("cache_creation_input_tokens"))
    prompt = _int(raw.get("input_tokens")) + cached
    output = _int(raw.get("output_tokens"))
    return {"input": prompt, "output": output, "cached": cached, "total": prompt + output}


def from_openai(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt = _int(raw.get("prompt_tokens"))
    output = _int(raw.get("completion_tokens"))
    details = raw.get("prompt_tokens_details")
    cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
    return {
        "input": prompt,
        "output": output,
        "cached": cached,
        "total": _int(raw.get("total_tokens")) or prompt + output,
    }
