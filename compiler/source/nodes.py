"""Position-carrying YAML containers: plain dicts and lists that remember where they were written.

They are `dict`/`list` subclasses, so jsonschema and pydantic take them as they are, and a
diagnostic found at any phase can be traced back to `file:line:col` through `locate`.
Positions are 1-based `(line, col)` pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Pos = tuple[int, int]


class YMap(dict[str, Any]):
    __slots__ = ("key_pos", "pos", "val_pos")

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self.key_pos: dict[str, Pos] = {}
        self.val_pos: dict[str, Pos] = {}

    def put(self, key: str, value: Any, key_pos: Pos, val_pos: Pos) -> None:
        self[key] = value
        self.key_pos[key] = key_pos
        self.val_pos[key] = val_pos


class YSeq(list[Any]):
    __slots__ = ("item_pos", "pos")

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self.item_pos: list[Pos] = []

    def put(self, value: Any, pos: Pos) -> None:
        self.append(value)
        self.item_pos.append(pos)


def locate(root: Any, parts: Sequence[str | int], at_key: bool = False) -> Pos:
    """Where the node at `parts` was written; the deepest known place when the path is cut short.

    A container is pointed at by its key (that is the line a user looks for); a scalar by its
    value, unless `at_key` asks for the key itself (unknown keys, duplicate names).
    """
    node, pos = root, getattr(root, "pos", (1, 1))
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, YMap) and isinstance(part, str) and part in node:
            child = node[part]
            scalar = not isinstance(child, YMap | YSeq)
            pos = node.val_pos[part] if scalar and not (last and at_key) else node.key_pos[part]
        elif isinstance(node, YSeq) and isinstance(part, int) and 0 <= part < len(node):
            child = node[part]
            pos = node.item_pos[part]
        else:
            return pos
        node = child
    return pos
