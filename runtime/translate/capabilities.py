"""What a request needs from a model, so the runtime can skip steps that cannot serve it.

Matches `Capability` in runtime/artifact.py. `thinking` means the client asked for reasoning;
the translators drop reasoning parameters for a model that cannot reason (`model_can_reason`),
so a runtime may treat it as a preference rather than a hard requirement: Claude Code asks for
thinking on nearly every request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from runtime.artifact import Capability

_TOOL_BLOCKS = frozenset(("tool_use", "tool_result"))
_IMAGE_TYPES = frozenset(("image", "image_url"))


def _scan_content(messages: Iterable[Any], found: set[Capability]) -> None:
    """Tools in history (a model without tools cannot read tool turns) and images anywhere."""
    for message in messages:
        if not isinstance(message, dict):
            continue
        if message.get("role") in ("tool", "function") or message.get("tool_calls"):
            found.add("tools")
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for block in content:
            kind = block.get("type") if isinstance(block, dict) else None
            if kind in _IMAGE_TYPES:
                found.add("vision")
            elif kind in _TOOL_BLOCKS:
                found.add("tools")
                inner = block.get("content")
                if isinstance(inner, list) and any(
                    isinstance(b, dict) and b.get("type") in _IMAGE_TYPES for b in inner
                ):
                    found.add("vision")


def required_capabilities(body: dict[str, Any], fmt: Literal["anthropic", "openai"]) -> frozenset[Capability]:
    found: set[Capability] = set()
    if body.get("tools") or body.get("functions"):
        found.add("tools")
    messages = body.get("messages")
    if isinstance(messages, list):
        _scan_content(messages, found)
    if body.get("stream") is True:
        found.add("stream")
    if fmt == "anthropic":
        thinking = body.get("thinking")
        if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
            found.add("thinking")
        config = body.get("output_config")
        if isinstance(config, dict) and config.get("format"):
            found.add("json")
    else:
        effort = body.get("reasoning_effort")
        if isinstance(effort, str) and effort != "none":
            found.add("thinking")
        fmt_spec = body.get("response_format")
        if isinstance(fmt_spec, dict) and fmt_spec.get("type") in ("json_object", "json_schema"):
            found.add("json")
    return frozenset(found)
