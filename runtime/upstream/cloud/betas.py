"""Which `anthropic-beta` flags each cloud takes: Claude Code sends many, clouds reject some.

Bedrock and Vertex answer 400 "invalid beta flag" to a flag they do not know, and Claude
Code's flag set changes with every release, so both take an allow-list: what their
documentation lists for Claude, and nothing else. Azure AI Foundry runs Anthropic's own API and
takes the header as Anthropic does, minus a deny-list of flags reported rejected there.
`advanced-tool-use-2025-11-20` is Anthropic's name for the tool-search beta that Bedrock and
Vertex call `tool-search-tool-2025-10-19`, so it is renamed rather than dropped.

| flag | bedrock | vertex | azure (Foundry) |
|---|---|---|---|
| interleaved-thinking-2025-05-14 | kept | kept | kept |
| context-1m-2025-08-07 | kept | kept | kept |
| context-management-2025-06-27 | kept | kept | kept |
| computer-use-2024-10-22, -2025-01-24, -2025-11-24 | kept | kept (not 2024) | kept |
| tool-search-tool-2025-10-19 (and advanced-tool-use-2025-11-20 renamed to it) | kept | kept | kept as sent |
| effort-2025-11-24 | kept | dropped | kept |
| token-efficient-tools-2025-02-19, output-128k-2025-02-19, fine-grained-tool-streaming-2025-05-14 | kept | dropped | dropped |
| dev-full-thinking-2025-05-14, tool-examples-2025-10-29 | kept | dropped | kept |
| web-search-2025-03-05 | dropped | kept | kept |
| oauth-2025-04-20 (relay authenticates with its own credential), claude-code-20250219, anything else | dropped | dropped | kept unless listed below |
| fast-mode-2026-02-01, advisor-tool-2026-03-01, compact-2026-01-12, mcp-servers-2025-12-04 | dropped | dropped | dropped |
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Literal

Cloud = Literal["bedrock", "vertex", "azure"]

_RENAMED = {"advanced-tool-use-2025-11-20": "tool-search-tool-2025-10-19"}
_COMMON = frozenset(
    {
        "interleaved-thinking-2025-05-14",
        "context-1m-2025-08-07",
        "context-management-2025-06-27",
        "computer-use-2025-01-24",
        "computer-use-2025-11-24",
        "tool-search-tool-2025-10-19",
    }
)
_ALLOWED: dict[str, frozenset[str]] = {
    "bedrock": _COMMON
    | {
        "computer-use-2024-10-22",
        "effort-2025-11-24",
        "token-efficient-tools-2025-02-19",
        "output-128k-2025-02-19",
        "fine-grained-tool-streaming-2025-05-14",
        "dev-full-thinking-2025-05-14",
        "tool-examples-2025-10-29",
    },
    "vertex": _COMMON | {"web-search-2025-03-05"},
}
_FOUNDRY_DROPPED = frozenset(
    {
        "oauth-2025-04-20",
        "token-efficient-tools-2025-02-19",
        "output-128k-2025-02-19",
        "fine-grained-tool-streaming-2025-05-14",
        "fast-mode-2026-02-01",
        "advisor-tool-2026-03-01",
        "compact-2026-01-12",
        "mcp-servers-2025-12-04",
    }
)


def split(values: Iterable[str]) -> list[str]:
    """Flags from header values (comma-separated) or body list items, in order, once each."""
    seen: dict[str, None] = {}
    for value in values:
        for flag in value.split(","):
            if flag := flag.strip():
                seen[flag] = None
    return list(seen)


def accepted(cloud: Cloud, flags: Iterable[str]) -> list[str]:
    """The flags `cloud` takes, in the order given, renamed where it names them differently."""
    values = tuple(flags)
    return list(_accepted(cloud, values)) if values else []


@lru_cache(maxsize=256)
def _accepted(cloud: Cloud, values: tuple[str, ...]) -> tuple[str, ...]:
    """A client sends the same few beta headers over and over: worked out once each."""
    if cloud == "azure":
        return tuple(f for f in split(values) if f not in _FOUNDRY_DROPPED)
    allowed = _ALLOWED[cloud]
    out: dict[str, None] = {}
    for flag in split(values):
        flag = _RENAMED.get(flag, flag)
        if flag in allowed:
            out[flag] = None
    return tuple(out)
