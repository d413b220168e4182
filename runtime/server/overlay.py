"""Lay the environment's values (`Secrets.overrides`) over the committed routing table.

`relay build` commits a routing.json built without reading the environment and writes
what the environment changes as RFC 6901 pointers to replacement values; this puts them
back. Pure, on plain JSON data, run once per load, never per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class OverlayError(ValueError):
    """An override does not fit the document: the two files come from different builds."""


def parse_pointer(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise OverlayError(f"{pointer!r} is not a JSON pointer")
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]


def _step(node: Any, part: str, pointer: str) -> tuple[Any, str | int]:
    if isinstance(node, dict) and part in node:
        return node, part
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node, int(part)
    raise OverlayError(f"{pointer!r} names nothing in routing.json")


def apply(document: Any, overrides: Mapping[str, Any]) -> Any:
    """`document` with each pointed-at value replaced (in place below the root)."""
    for pointer, value in overrides.items():
        parts = parse_pointer(pointer)
        if not parts:
            document = value
            continue
        node = document
        for part in parts[:-1]:
            parent, index = _step(node, part, pointer)
            node = parent[index]
        parent, index = _step(node, parts[-1], pointer)
        parent[index] = value
    return document
