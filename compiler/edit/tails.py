"""Comments that trail a block stay where they are when the block's contents change.

ruamel.yaml keeps the comment lines after a block's last line (a blank line, the next
entry's heading comment) on that block's deepest last element. Reorder a sequence, append a
key or replace a value naively and those lines travel with the element, or vanish with it.
`take` detaches them before an edit, `put` attaches them to whatever is last afterwards, so
the lines after an edited block stay after it, untouched.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

Slot = tuple[Any, Any, int]
"""(collection, key or index, position of the trailing comment in its `ca.items` entry)."""


def _block(node: Any) -> bool:
    return isinstance(node, CommentedMap | CommentedSeq) and len(node) > 0 and not node.fa.flow_style()


def last_slot(node: Any) -> Slot | None:
    """Where the comment after `node`'s last line lives: its deepest last block element."""
    if not _block(node):
        return None
    key = next(reversed(node)) if isinstance(node, CommentedMap) else len(node) - 1
    inner = last_slot(node[key])
    if inner is not None:
        return inner
    return (node, key, 2 if isinstance(node, CommentedMap) else 0)


def _token(slot: Slot) -> CommentToken | None:
    node, key, at = slot
    entry = node.ca.items.get(key)
    return entry[at] if entry is not None and len(entry) > at else None


def _set(slot: Slot, value: str | None) -> None:
    """The token is changed in place when there is one: it keeps its column, so an
    end-of-line comment stays where it was aligned."""
    node, key, at = slot
    entry = node.ca.items.setdefault(key, [None, None, None, None])
    if value is not None and entry[at] is not None:
        entry[at].value = value
    else:
        entry[at] = None if value is None else CommentToken(value, CommentMark(0), None)
    if not any(entry):
        del node.ca.items[key]


def take(node: Any) -> str:
    """Detach what follows the end of `node`'s last line (blank lines, comments); the last
    line's own end-of-line comment stays with it."""
    slot = last_slot(node)
    token = None if slot is None else _token(slot)
    if slot is None or token is None or "\n" not in token.value:
        return ""
    line, tail = token.value.split("\n", 1)
    _set(slot, line + "\n" if line.strip() else None)
    return tail


def put(node: Any, tail: str) -> None:
    """Attach `tail` after `node`'s last line, behind that line's own comment if it has one."""
    slot = last_slot(node)
    if not tail or slot is None:
        return
    token = _token(slot)
    line = token.value if token is not None else "\n"
    _set(slot, line + tail)
