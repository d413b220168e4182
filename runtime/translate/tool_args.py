"""Tool arguments: OpenAI's JSON-string `arguments` against Anthropic's `input` object.

Invalid-JSON policy. Arguments that are not a JSON object (invalid JSON, a bare array or
number) become `{"_raw": "<the string>"}` instead of an error: the client's tool validation then
fails the call and tells the model, which retries, while an error response would kill the turn
and a retry would likely fail the same way. Empty, whitespace-only and `null` arguments are `{}`.
`_raw` is unwrapped again when the input goes back to an OpenAI-format upstream, so the model
sees its own string.
"""

from __future__ import annotations

from typing import Any

from runtime.translate.codec import DecodeError, decode, dumps

RAW_KEY = "_raw"


def arguments_to_input(arguments: object) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments  # a few servers send the object itself
    if not isinstance(arguments, str):
        return {}
    text = arguments.strip()
    if not text or text == "null":
        return {}
    try:
        value = decode(text)
    except DecodeError:
        return {RAW_KEY: arguments}
    return value if isinstance(value, dict) else {RAW_KEY: arguments}


def input_to_arguments(tool_input: object) -> str:
    if isinstance(tool_input, dict):
        raw = tool_input.get(RAW_KEY)
        if len(tool_input) == 1 and isinstance(raw, str):
            return raw
        return dumps(tool_input)
    return "{}"
