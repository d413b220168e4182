"""Conversation affinity: send a conversation back to the provider and key it started on.

Prompt caches are per provider (often per key) and thinking signatures are only valid where
they were made, so a conversation moves only when its candidate cannot serve. Entries are
bounded (least recently used go first) and expire, so the map cannot grow without limit.

A conversation is named by Claude Code's `x-claude-code-session-id` when sent, else by
what stays fixed across its turns: the system prompt and the first message (OpenAI bodies:
the first system or developer message and the first user message). Only those raw values
are read; the rest of the body is never decoded for this.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import msgspec

from runtime.routing.expiring import Expiring
from runtime.routing.thinking_owners import Owner

_raw_list = msgspec.json.Decoder(list[msgspec.Raw])
_any = msgspec.json.Decoder()
_encode = msgspec.json.Encoder().encode


class _Role(msgspec.Struct):
    role: str = ""


_role = msgspec.json.Decoder(_Role)
_OPENAI_SYSTEM = frozenset({"system", "developer"})

CAPACITY = 50_000
TTL = 3600.0
"""Prompt caches live minutes, not hours: an hour-old conversation has nothing warm left."""


class Landing(NamedTuple):
    """Where a conversation's last successful attempt went."""

    provider: str
    slot: str
    since: float
    """When the conversation landed on this candidate (successes there do not move it)."""
    owner: Owner
    """The account and model family of that candidate: where its thinking is valid."""


class AffinityMap:
    """Affinity key → the `Landing` of its last successful attempt (expiring from that success)."""

    __slots__ = ("_entries",)

    def __init__(self, capacity: int = CAPACITY, ttl: float = TTL) -> None:
        self._entries: Expiring[str, Landing] = Expiring(capacity, ttl)

    def get(self, key: str, now: float) -> Landing | None:
        return self._entries.get(key, now)

    def remember(self, key: str, provider: str, slot: str, owner: Owner, now: float) -> None:
        old = self._entries.peek(key)
        if old is not None and old.slot == slot and old.provider == provider:
            landing = old if old.owner == owner else old._replace(owner=owner)  # most often: the same
        else:
            landing = Landing(provider, slot, now, owner)
        self._entries.put(key, landing, now)

    def __len__(self) -> int:
        return len(self._entries)


def conversation_key(top: Mapping[str, msgspec.Raw], openai: bool, session: str | None) -> str | None:
    """A short stable id for the request's conversation, None when it has no first message
    (or an unreadable one; the upstream will say what is wrong with it)."""
    digest = hashlib.blake2b(digest_size=16)
    if session:
        digest.update(b"session\0" + session.encode())
        return digest.hexdigest()
    try:
        messages = _raw_list.decode(top["messages"]) if "messages" in top else []
        if openai:
            parts = _openai_opening(messages)
        else:
            parts = [top["system"], *messages[:1]] if "system" in top else messages[:1]
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if not messages:
        return None
    for part in parts:
        digest.update(_stable(part))
        digest.update(b"\0")
    return digest.hexdigest()


def _openai_opening(messages: list[msgspec.Raw]) -> list[msgspec.Raw]:
    system: msgspec.Raw | None = None
    for raw in messages:
        role = _role.decode(raw).role
        if role in _OPENAI_SYSTEM and system is None:
            system = raw
        elif role == "user":
            return [raw] if system is None else [system, raw]
    return messages[:1]


def _stable(raw: msgspec.Raw) -> bytes:
    """The value's bytes, without `cache_control` markers: clients move those to the newest
    turns, so the first message's bytes change between turns only there."""
    data = bytes(raw)
    if b'"cache_control"' not in data:
        return data
    return _encode(_without_cache_control(_any.decode(data)))


def _without_cache_control(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_cache_control(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_without_cache_control(v) for v in value]
    return value
