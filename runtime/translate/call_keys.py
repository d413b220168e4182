"""Which call a chat stream's tool-call fragment belongs to, for both machines that read chat
streams (`stream_o2a`, `stream_o2r`): keyed by `index`, else `id`, else it continues the
latest call; a new `id` on a known index is a new call (Ollama sends whole calls that way,
one per chunk, all at index 0)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def upstream_id(call: Mapping[str, Any]) -> str | None:
    found = call.get("id")
    return found if isinstance(found, str) and found else None


class CallKeys(Generic[T]):
    """The calls seen so far, each with the upstream id it came with (None: it had none)."""

    __slots__ = ("_by_key", "_latest")

    def __init__(self) -> None:
        self._by_key: dict[object, tuple[T, str | None]] = {}
        self._latest: tuple[T, str | None] | None = None

    @staticmethod
    def _key(call: Mapping[str, Any]) -> object:
        index = call.get("index")
        return index if isinstance(index, int) else upstream_id(call)

    def find(self, call: Mapping[str, Any]) -> T | None:
        """The call this fragment continues; None when it starts a new one (then `add` it)."""
        key = self._key(call)
        found = self._by_key.get(key) if key is not None else self._latest
        if found is None:
            return None
        new_id, known_id = upstream_id(call), found[1]
        return None if new_id and known_id and new_id != known_id else found[0]

    def add(self, call: Mapping[str, Any], item: T) -> None:
        entry = (item, upstream_id(call))
        key = self._key(call)
        if key is not None:
            self._by_key[key] = entry
        self._latest = entry
